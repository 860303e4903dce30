import type { BffErrorCode } from "./types.js";

/**
 * Every error answer of the BFF, and every failure to reach it, as one type a UI can branch on:
 * `status` (0 when the BFF could not be reached), `code` (the answer's `error` field), `message`, and
 * `retryAfter` (seconds) when the answer had one.
 */
export class BffError extends Error {
  readonly status: number;
  readonly code: BffErrorCode;
  readonly retryAfter: number | undefined;

  constructor(status: number, code: BffErrorCode, message: string, retryAfter?: number) {
    super(message);
    this.name = "BffError";
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter;
  }
}

/** Codes this package gives for failures that are not the BFF's own error answers. */
export const NETWORK_ERROR = "network_error";
export const INVALID_RESPONSE = "invalid_response";

function seconds(value: unknown): number | undefined {
  return typeof value === "number" && Number.isFinite(value) && value >= 0 ? value : undefined;
}

function retryAfterHeader(value: string | null): number | undefined {
  if (value === null || value.trim() === "") {
    return undefined;
  }
  if (/^\d+$/.test(value.trim())) {
    return Number.parseInt(value, 10);
  }
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, Math.ceil((date - Date.now()) / 1000));
}

/** The BffError for a non-2xx answer; reads its JSON body when it has one. */
export async function errorFrom(response: Response): Promise<BffError> {
  let body: unknown = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  const fields = body !== null && typeof body === "object" ? (body as Record<string, unknown>) : {};
  const code = typeof fields.error === "string" ? fields.error : `http_${response.status}`;
  const message =
    typeof fields.message === "string" && fields.message !== "" ? fields.message : `HTTP ${response.status}`;
  const retryAfter = seconds(fields.retry_after) ?? retryAfterHeader(response.headers.get("Retry-After"));
  return new BffError(response.status, code, message, retryAfter);
}
