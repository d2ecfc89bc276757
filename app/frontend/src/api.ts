// The backend's notes API, behind an interface so components can be tested with a fake.

export interface Note {
  id: number;
  title: string;
  body: string;
  created_at: string;
  updated_at: string;
}

export interface NotePage {
  items: Note[];
  total: number;
  limit: number;
  offset: number;
}

export interface NewNote {
  title: string;
  body: string;
}

export interface NotesApi {
  list(limit: number, offset: number): Promise<NotePage>;
  create(note: NewNote): Promise<Note>;
  remove(id: number): Promise<void>;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

type Fetch = typeof fetch;

/** The HTTP implementation; `fetchFn` is injected so tests need no network. */
export class HttpNotesApi implements NotesApi {
  constructor(
    private readonly baseUrl = "/api",
    private readonly fetchFn: Fetch = (...args) => fetch(...args),
  ) {}

  async list(limit: number, offset: number): Promise<NotePage> {
    const query = new URLSearchParams({ limit: String(limit), offset: String(offset) });
    return this.request<NotePage>(`/notes?${query}`);
  }

  async create(note: NewNote): Promise<Note> {
    return this.request<Note>("/notes", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(note),
    });
  }

  async remove(id: number): Promise<void> {
    await this.request<void>(`/notes/${id}`, { method: "DELETE" });
  }

  private async request<T>(path: string, init?: RequestInit): Promise<T> {
    const response = await this.fetchFn(`${this.baseUrl}${path}`, init);
    if (!response.ok) {
      throw new ApiError(response.status, await errorMessage(response));
    }
    return (response.status === 204 ? undefined : await response.json()) as T;
  }
}

async function errorMessage(response: Response): Promise<string> {
  // FastAPI sends {"detail": "..."} or, for validation errors, {"detail": [{msg: ...}]}.
  try {
    const payload = (await response.json()) as { detail?: unknown };
    if (typeof payload.detail === "string") return payload.detail;
    if (Array.isArray(payload.detail)) {
      return payload.detail.map((d: { msg?: string }) => d.msg ?? "invalid").join("; ");
    }
  } catch {
    // Not JSON (a proxy error page, for instance): fall back to the status line.
  }
  return `request failed: ${response.status} ${response.statusText}`.trim();
}
