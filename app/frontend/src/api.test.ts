import { describe, expect, it } from "vitest";
import { ApiError, HttpNotesApi } from "./api";

type Call = { url: string; init?: RequestInit };

/** A fetch that records its calls and answers with the given responses in order. */
function fakeFetch(...responses: Response[]) {
  const calls: Call[] = [];
  const fn = async (input: RequestInfo | URL, init?: RequestInit) => {
    calls.push({ url: String(input), init });
    const next = responses.shift();
    if (!next) throw new Error("unexpected request");
    return next;
  };
  return { calls, fn: fn as typeof fetch };
}

const json = (body: unknown, status = 200) =>
  new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });

describe("HttpNotesApi", () => {
  it("lists with limit and offset", async () => {
    const page = { items: [], total: 0, limit: 5, offset: 10 };
    const { calls, fn } = fakeFetch(json(page));
    expect(await new HttpNotesApi("/api", fn).list(5, 10)).toEqual(page);
    expect(calls[0].url).toBe("/api/notes?limit=5&offset=10");
  });

  it("creates with a JSON POST", async () => {
    const note = { id: 1, title: "t", body: "b", created_at: "x", updated_at: "x" };
    const { calls, fn } = fakeFetch(json(note, 201));
    expect(await new HttpNotesApi("/api", fn).create({ title: "t", body: "b" })).toEqual(note);
    expect(calls[0].init?.method).toBe("POST");
    expect(JSON.parse(String(calls[0].init?.body))).toEqual({ title: "t", body: "b" });
  });

  it("deletes and accepts an empty 204", async () => {
    const { calls, fn } = fakeFetch(new Response(null, { status: 204 }));
    await expect(new HttpNotesApi("/api", fn).remove(7)).resolves.toBeUndefined();
    expect([calls[0].url, calls[0].init?.method]).toEqual(["/api/notes/7", "DELETE"]);
  });

  it("turns a detail string into an ApiError", async () => {
    const { fn } = fakeFetch(json({ detail: "note 7 not found" }, 404));
    const error = await new HttpNotesApi("/api", fn).remove(7).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect([(error as ApiError).status, (error as ApiError).message]).toEqual([404, "note 7 not found"]);
  });

  it("joins validation messages", async () => {
    const detail = [{ msg: "too short" }, { msg: "extra field" }];
    const { fn } = fakeFetch(json({ detail }, 422));
    await expect(new HttpNotesApi("/api", fn).create({ title: "", body: "" })).rejects.toThrow(
      "too short; extra field",
    );
  });

  it("falls back to the status line for a non-JSON error page", async () => {
    const page = new Response("<html>bad gateway</html>", { status: 502, statusText: "Bad Gateway" });
    const { fn } = fakeFetch(page);
    await expect(new HttpNotesApi("/api", fn).list(1, 0)).rejects.toThrow(
      "request failed: 502 Bad Gateway",
    );
  });
});
