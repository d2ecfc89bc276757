import { type FormEvent, useCallback, useEffect, useState } from "react";
import type { Note, NotesApi } from "./api";

export const PAGE_SIZE = 20;

type Load = { state: "loading" } | { state: "ready" } | { state: "failed"; message: string };

export function App({ api }: { api: NotesApi }) {
  const [notes, setNotes] = useState<Note[]>([]);
  const [total, setTotal] = useState(0);
  const [offset, setOffset] = useState(0);
  const [load, setLoad] = useState<Load>({ state: "loading" });
  const [actionError, setActionError] = useState<string | null>(null);

  const refresh = useCallback(async () => {
    try {
      const page = await api.list(PAGE_SIZE, offset);
      setNotes(page.items);
      setTotal(page.total);
      setLoad({ state: "ready" });
    } catch (error) {
      setLoad({ state: "failed", message: messageOf(error) });
    }
  }, [api, offset]);

  useEffect(() => {
    void refresh();
  }, [refresh]);

  const run = async (action: () => Promise<unknown>) => {
    setActionError(null);
    try {
      await action();
      await refresh();
    } catch (error) {
      setActionError(messageOf(error));
    }
  };

  return (
    <main>
      <h1>Notes</h1>
      <NoteForm onCreate={(title, body) => run(() => api.create({ title, body }))} />
      {actionError && (
        <p role="alert" className="error">
          {actionError}
        </p>
      )}
      <NoteList load={load} notes={notes} onDelete={(id) => run(() => api.remove(id))} />
      <Pager offset={offset} total={total} onMove={setOffset} />
    </main>
  );
}

function NoteForm({ onCreate }: { onCreate: (title: string, body: string) => Promise<void> }) {
  const [title, setTitle] = useState("");
  const [body, setBody] = useState("");
  const [busy, setBusy] = useState(false);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    await onCreate(title.trim(), body);
    setBusy(false);
    setTitle("");
    setBody("");
  };

  return (
    <form aria-label="New note" onSubmit={submit}>
      <label>
        Title
        <input value={title} maxLength={200} required onChange={(e) => setTitle(e.target.value)} />
      </label>
      <label>
        Body
        <textarea value={body} maxLength={10000} onChange={(e) => setBody(e.target.value)} />
      </label>
      <button type="submit" disabled={busy || title.trim() === ""}>
        Add note
      </button>
    </form>
  );
}

function NoteList(props: { load: Load; notes: Note[]; onDelete: (id: number) => void }) {
  const { load, notes, onDelete } = props;
  if (load.state === "loading") return <p aria-busy="true">Loading notes…</p>;
  if (load.state === "failed") {
    return (
      <p role="alert" className="error">
        Could not load notes: {load.message}
      </p>
    );
  }
  if (notes.length === 0) return <p className="empty">No notes yet. Add the first one above.</p>;
  return (
    <ul aria-label="Notes">
      {notes.map((note) => (
        <li key={note.id}>
          <h2>{note.title}</h2>
          {note.body && <p>{note.body}</p>}
          <button type="button" onClick={() => onDelete(note.id)} aria-label={`Delete ${note.title}`}>
            Delete
          </button>
        </li>
      ))}
    </ul>
  );
}

function Pager(props: { offset: number; total: number; onMove: (offset: number) => void }) {
  const { offset, total, onMove } = props;
  if (total <= PAGE_SIZE) return null;
  return (
    <nav aria-label="Pages">
      <button type="button" disabled={offset === 0} onClick={() => onMove(offset - PAGE_SIZE)}>
        Newer
      </button>
      <span>
        {offset + 1}–{Math.min(offset + PAGE_SIZE, total)} of {total}
      </span>
      <button
        type="button"
        disabled={offset + PAGE_SIZE >= total}
        onClick={() => onMove(offset + PAGE_SIZE)}
      >
        Older
      </button>
    </nav>
  );
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
