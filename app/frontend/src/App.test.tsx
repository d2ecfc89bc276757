import { cleanup, fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { afterEach, describe, expect, it } from "vitest";
import { ApiError, type NewNote, type Note, type NotePage, type NotesApi } from "./api";
import { App } from "./App";

/** An in-memory NotesApi with the backend's ordering (newest first) and paging. */
class FakeNotesApi implements NotesApi {
  notes: Note[] = [];
  failList: Error | null = null;
  failCreate: Error | null = null;
  private nextId = 1;

  constructor(titles: string[] = []) {
    for (const title of titles) this.add({ title, body: "" });
  }

  async list(limit: number, offset: number): Promise<NotePage> {
    if (this.failList) throw this.failList;
    const newestFirst = [...this.notes].reverse();
    return { items: newestFirst.slice(offset, offset + limit), total: this.notes.length, limit, offset };
  }

  async create(note: NewNote): Promise<Note> {
    if (this.failCreate) throw this.failCreate;
    return this.add(note);
  }

  async remove(id: number): Promise<void> {
    const before = this.notes.length;
    this.notes = this.notes.filter((n) => n.id !== id);
    if (this.notes.length === before) throw new ApiError(404, `note ${id} not found`);
  }

  private add(note: NewNote): Note {
    const stamp = new Date(Date.UTC(2026, 10, 26, 9, 0, this.nextId)).toISOString();
    const created = { id: this.nextId++, ...note, created_at: stamp, updated_at: stamp };
    this.notes.push(created);
    return created;
  }
}

afterEach(cleanup);

const titles = () =>
  within(screen.getByRole("list", { name: "Notes" }))
    .getAllByRole("heading")
    .map((h) => h.textContent);

describe("App", () => {
  it("shows the empty state when there are no notes", async () => {
    render(<App api={new FakeNotesApi()} />);
    expect(screen.getByText("Loading notes…")).toBeTruthy();
    expect(await screen.findByText(/No notes yet/)).toBeTruthy();
    expect(screen.queryByRole("list")).toBeNull();
  });

  it("lists notes newest first", async () => {
    render(<App api={new FakeNotesApi(["first", "second"])} />);
    await screen.findByRole("list", { name: "Notes" });
    expect(titles()).toEqual(["second", "first"]);
  });

  it("creates a note, lists it and clears the form", async () => {
    const api = new FakeNotesApi();
    render(<App api={api} />);
    await screen.findByText(/No notes yet/);
    const title = screen.getByLabelText("Title") as HTMLInputElement;
    fireEvent.change(title, { target: { value: "  water the plants " } });
    fireEvent.change(screen.getByLabelText("Body"), { target: { value: "the ferns too" } });
    fireEvent.click(screen.getByRole("button", { name: "Add note" }));
    await screen.findByRole("heading", { name: "water the plants" });
    expect(api.notes.map((n) => [n.title, n.body])).toEqual([["water the plants", "the ferns too"]]);
    expect(title.value).toBe("");
    expect(screen.getByText("the ferns too")).toBeTruthy();
  });

  it("does not submit a blank title", async () => {
    render(<App api={new FakeNotesApi()} />);
    await screen.findByText(/No notes yet/);
    fireEvent.change(screen.getByLabelText("Title"), { target: { value: "   " } });
    const add = screen.getByRole("button", { name: "Add note" }) as HTMLButtonElement;
    expect(add.disabled).toBe(true);
  });

  it("deletes a note", async () => {
    const api = new FakeNotesApi(["keep", "drop"]);
    render(<App api={api} />);
    fireEvent.click(await screen.findByRole("button", { name: "Delete drop" }));
    await waitFor(() => expect(titles()).toEqual(["keep"]));
    expect(api.notes.map((n) => n.title)).toEqual(["keep"]);
  });

  it("shows an error when the notes cannot be loaded", async () => {
    const api = new FakeNotesApi();
    api.failList = new ApiError(502, "request failed: 502 Bad Gateway");
    render(<App api={api} />);
    const alert = await screen.findByRole("alert");
    expect(alert.textContent).toBe("Could not load notes: request failed: 502 Bad Gateway");
  });

  it("shows the backend's message when a create fails, and keeps the list", async () => {
    const api = new FakeNotesApi(["existing"]);
    api.failCreate = new ApiError(422, "String should have at most 200 characters");
    render(<App api={api} />);
    await screen.findByRole("list", { name: "Notes" });
    fireEvent.change(screen.getByLabelText("Title"), { target: { value: "too long" } });
    fireEvent.click(screen.getByRole("button", { name: "Add note" }));
    const alert = await screen.findByRole("alert");
    expect(alert.textContent).toBe("String should have at most 200 characters");
    expect(titles()).toEqual(["existing"]);
  });

  it("pages through more notes than fit on one page", async () => {
    const api = new FakeNotesApi(Array.from({ length: 25 }, (_, i) => `note ${i + 1}`));
    render(<App api={api} />);
    expect(await screen.findByText("1–20 of 25")).toBeTruthy();
    expect(titles()[0]).toBe("note 25");
    fireEvent.click(screen.getByRole("button", { name: "Older" }));
    expect(await screen.findByText("21–25 of 25")).toBeTruthy();
    expect(titles()).toEqual(["note 5", "note 4", "note 3", "note 2", "note 1"]);
  });
});
