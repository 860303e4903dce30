// The public types: the BFF's own shapes come from its /openapi.json (generated/openapi.ts, `npm run gen:types`);
// the camelCase views are what this package hands out.
import type { components } from "./generated/openapi.js";

type Schemas = components["schemas"];

/** A step of the API login, as /auth/login, /auth/advance and /auth/poll answer it. */
export type Step = Schemas["ChallengeStep"] | Schemas["PendingStep"] | Schemas["RedirectStep"] | Schemas["AuthenticatedStep"];
export type ChallengeStep = Schemas["ChallengeStep"];
export type PendingStep = Schemas["PendingStep"];
export type RedirectStep = Schemas["RedirectStep"];
export type AuthenticatedStep = Schemas["AuthenticatedStep"];
/** One challenge of the tenant: pick one of its mechanisms. */
export type Challenge = Schemas["ChallengeView"];
/** `kind`: `text` (answer it), `oob` (start it, then wait), `text_oob` (start it, then wait or type a code). */
export type Mechanism = Schemas["MechanismView"];
export type MechanismKind = Mechanism["kind"];
/** One part of a multi-part security question; answer with `{[question.id]: text}`. */
export type Question = Schemas["QuestionView"];
export type User = Schemas["UserView"];
export type LoginMode = Schemas["LoginOptions"]["login_modes"][number];
/** The `error` field of every error answer (`login_failed`, `rate_limited`, `unauthenticated`, ...). */
export type ErrorCode = Schemas["ErrorBody"]["error"];
/**
 * `BffError.code`: the BFF's codes, this client's own two (`network_error`: the BFF could not be reached;
 * `invalid_response`: an answer it does not understand), and any code a newer BFF may add.
 */
export type BffErrorCode = ErrorCode | "network_error" | "invalid_response" | (string & {});
export type ErrorBody = Schemas["ErrorBody"];

export interface BffClientOptions {
  /** The BFF's origin: `""` (the default) for the same origin, or e.g. `"https://bff.example.com"`. */
  baseUrl?: string;
  /** The fetch to use (default: the global one). In Node, hand one that keeps cookies. */
  fetch?: typeof fetch;
  /** Milliseconds between polls of a pending step (default 2000). */
  pollInterval?: number;
  /** `credentials` of every call (default: `same-origin` without `baseUrl`, `include` with one). */
  credentials?: RequestCredentials;
}

export interface Options {
  loginModes: LoginMode[];
}

export interface SessionInfo {
  user: User;
  expiresAt: string;
  idleExpiresAt: string;
  login: LoginMode;
}

export interface SessionListEntry {
  id: string;
  current: boolean;
  createdAt: string;
  lastSeenAt: string;
  userAgent: string;
  ip: string;
  login: LoginMode;
}

export interface LogoutResult {
  /** For an OAuth session: the tenant's own sign-out page, to end its browser session too. */
  endSessionUrl: string | null;
}

/** What the `challenge` callback answers: a mechanism answered, or an out-of-band one started. */
export type ChallengeAnswer =
  | { mechanism: string; answer: string | Record<string, string> }
  | { mechanism: string; action: "start_oob" };

export interface PendingInfo {
  /** The BFF's id of the mechanism being waited on. */
  mechanism: string;
  /** That mechanism as the last challenge described it (absent for a federated login). */
  details: Mechanism | undefined;
  /** `true` while a federated user signs in at their identity provider. */
  federated: boolean;
  prompt: string | undefined;
  /** The number to tap on the phone (push number matching), when the tenant sent one. */
  number: string | undefined;
  /**
   * Send a typed code (an emailed or texted one, or a federated PIN) while polling goes on. It waits for the poll
   * in flight, never overlapping it. Resolves once the answer was handled; a wrong code ends the login, and the
   * `login()` promise rejects with the `BffError`.
   */
  answer(code: string): Promise<void>;
  /** Leave this mechanism: polling stops and the `challenge` callback is asked again with the same challenge. */
  chooseAgain(): void;
}

export interface RedirectInfo {
  url: string;
  mechanism: string;
  /** The tenant wants the PIN the identity provider's page shows. */
  pin: boolean;
}

export interface ChallengeContext {
  /** The mechanism of this challenge that was chosen last, when the user came back with `chooseAgain()`. */
  previous: string | undefined;
}

export interface LoginHandlers {
  /** Choose and answer a mechanism (or start an out-of-band one). Called for each challenge. */
  challenge(challenge: Challenge, context: ChallengeContext): ChallengeAnswer | Promise<ChallengeAnswer>;
  /** A step is waiting (push, email link, federated sign-in); called when it starts and when its prompt or number changes. */
  pending?(pending: PendingInfo): void;
  /**
   * A federated user: open `url` in a new window. Return (or resolve to) the PIN when `pin` is true and the user
   * typed it; return nothing to keep polling until the identity provider is done.
   */
  redirect?(redirect: RedirectInfo): string | undefined | void | Promise<string | undefined | void>;
  /** A transient failure while waiting (rate limit, BFF unreachable): the client waits `waitMs` and tries again. */
  retrying?(error: import("./errors.js").BffError, waitMs: number): void;
  /** Aborting it cancels the login at the BFF (`POST /auth/cancel`); `login()` then rejects with the signal's reason. */
  signal?: AbortSignal;
}
