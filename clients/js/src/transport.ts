import { BffError, INVALID_RESPONSE, NETWORK_ERROR, errorFrom } from "./errors.js";

/** `init` of `bff.fetch`: a fetch `RequestInit` whose `body` may also be a plain object (sent as JSON). */
export interface BffRequestInit extends Omit<RequestInit, "body"> {
  body?: BodyInit | null | object;
}

const SAFE = new Set(["GET", "HEAD", "OPTIONS"]);

function isBodyInit(body: unknown): body is BodyInit {
  return (
    typeof body === "string" ||
    (typeof Blob !== "undefined" && body instanceof Blob) ||
    (typeof FormData !== "undefined" && body instanceof FormData) ||
    (typeof URLSearchParams !== "undefined" && body instanceof URLSearchParams) ||
    (typeof ReadableStream !== "undefined" && body instanceof ReadableStream) ||
    body instanceof ArrayBuffer ||
    ArrayBuffer.isView(body)
  );
}

/** One way to the BFF: its origin, the cookie, `X-CSRF` on every unsafe call, JSON bodies. */
export class Transport {
  readonly baseUrl: string;
  private readonly fetchFn: typeof fetch;
  private readonly credentials: RequestCredentials;

  constructor(baseUrl: string, fetchFn: typeof fetch | undefined, credentials: RequestCredentials | undefined) {
    this.baseUrl = baseUrl.replace(/\/+$/, "");
    const chosen = fetchFn ?? globalThis.fetch;
    if (typeof chosen !== "function") {
      throw new TypeError("cyberark-bff-client: no fetch; pass one as createBffClient({fetch})");
    }
    // Called unbound, a browser's fetch throws "Illegal invocation".
    this.fetchFn = (input, init) => chosen.call(globalThis, input, init);
    this.credentials = credentials ?? (this.baseUrl === "" ? "same-origin" : "include");
  }

  url(path: string): string {
    if (!path.startsWith("/")) {
      throw new TypeError(`cyberark-bff-client: a path starts with "/": ${JSON.stringify(path)}`);
    }
    return this.baseUrl + path;
  }

  /** The raw answer, whatever its status; a failure to reach the BFF is a BffError with status 0. */
  async send(path: string, init: BffRequestInit = {}): Promise<Response> {
    const method = (init.method ?? "GET").toUpperCase();
    const headers = new Headers(init.headers);
    if (!SAFE.has(method)) {
      headers.set("X-CSRF", "1");
    }
    let body: BodyInit | null | undefined;
    if (init.body === undefined || init.body === null || isBodyInit(init.body)) {
      body = init.body;
    } else {
      body = JSON.stringify(init.body);
      if (!headers.has("Content-Type")) {
        headers.set("Content-Type", "application/json");
      }
    }
    const { body: _given, ...rest } = init;
    const request: RequestInit = { ...rest, method, headers, credentials: init.credentials ?? this.credentials };
    if (body !== undefined) {
      request.body = body;
    }
    try {
      return await this.fetchFn(this.url(path), request);
    } catch (error) {
      if (init.signal?.aborted || (error instanceof DOMException && error.name === "AbortError")) {
        throw error;
      }
      throw new BffError(0, NETWORK_ERROR, "The service cannot be reached.");
    }
  }

  /** A JSON call of the BFF's own API: the parsed body of a 2xx answer (null for 204), else a BffError. */
  async call<T>(method: string, path: string, body?: object, signal?: AbortSignal): Promise<T> {
    const init: BffRequestInit = { method, headers: { Accept: "application/json" }, cache: "no-store" };
    if (body !== undefined) {
      init.body = body;
    }
    if (signal !== undefined) {
      init.signal = signal;
    }
    const response = await this.send(path, init);
    if (!response.ok) {
      throw await errorFrom(response);
    }
    if (response.status === 204) {
      return null as T;
    }
    try {
      return (await response.json()) as T;
    } catch {
      throw new BffError(response.status, INVALID_RESPONSE, "The service sent an answer that is not JSON.");
    }
  }
}
