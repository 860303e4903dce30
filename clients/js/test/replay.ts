// A fetch that plays a recorded exchange back (test/exchanges/, made by test/record.mjs against the real BFF):
// each request must be the recorded one, in order, and gets the recorded answer.
import { readFileSync } from "node:fs";
import { expect } from "vitest";

export interface Exchange {
  request: { method: string; path: string; csrf: string | null; body?: unknown };
  response: { status: number; retryAfter: string | null; body?: unknown };
}

export interface Recording {
  outcome: { user?: Record<string, unknown>; error?: { status: number; code: string; retryAfter?: number } };
  exchange: Exchange[];
}

export function recording(name: string): Recording {
  return JSON.parse(readFileSync(new URL(`exchanges/${name}.json`, import.meta.url), "utf8")) as Recording;
}

export const BASE = "https://bff.example.test";

export interface SentRequest {
  method: string;
  path: string;
  headers: Headers;
  credentials: RequestCredentials | undefined;
  body: unknown;
}

export class Replay {
  readonly sent: SentRequest[] = [];
  inFlight = 0;
  maxInFlight = 0;
  /** Set to hold the answer of the request with this index until the returned function is called. */
  private holds = new Map<number, Promise<void>>();

  constructor(private readonly exchange: Exchange[]) {}

  hold(index: number): () => void {
    let release!: () => void;
    this.holds.set(index, new Promise<void>((resolve) => (release = resolve)));
    return release;
  }

  get remaining(): number {
    return this.exchange.length - this.sent.length;
  }

  fetch = async (input: RequestInfo | URL, init: RequestInit = {}): Promise<Response> => {
    const url = String(input);
    expect(url.startsWith(BASE)).toBe(true);
    const index = this.sent.length;
    const headers = new Headers(init.headers);
    const body = typeof init.body === "string" ? JSON.parse(init.body) : init.body;
    const sent = { method: init.method ?? "GET", path: url.slice(BASE.length), headers, credentials: init.credentials, body };
    this.sent.push(sent);
    const recorded = this.exchange[index];
    expect(recorded, `request ${index} (${sent.method} ${sent.path}) was not in the recording`).toBeDefined();
    expect({ method: sent.method, path: sent.path, body: sent.body }).toEqual({
      method: recorded.request.method,
      path: recorded.request.path,
      body: recorded.request.body,
    });
    expect(headers.get("X-CSRF")).toBe(recorded.request.csrf);
    this.inFlight += 1;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      if (init.signal?.aborted) {
        throw new DOMException("aborted", "AbortError");
      }
      await (this.holds.get(index) ?? Promise.resolve());
      await new Promise((resolve) => setTimeout(resolve, 1));
    } finally {
      this.inFlight -= 1;
    }
    const out = new Headers();
    if (recorded.response.body !== undefined) {
      out.set("Content-Type", "application/json");
    }
    if (recorded.response.retryAfter !== null) {
      out.set("Retry-After", recorded.response.retryAfter);
    }
    const text = recorded.response.body === undefined ? null : JSON.stringify(recorded.response.body);
    return new Response(text, { status: recorded.response.status, headers: out });
  };
}

/** A copy of a recording's exchange with `extra` put in before index `at` (a busy step, a rate limit...). */
export function withInserted(exchange: Exchange[], at: number, ...extra: Exchange[]): Exchange[] {
  return [...exchange.slice(0, at), ...extra, ...exchange.slice(at)];
}
