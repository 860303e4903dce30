import { BffError } from "./errors.js";
import { LoginRun } from "./login.js";
import { Transport, type BffRequestInit } from "./transport.js";
import type { components } from "./generated/openapi.js";
import type {
  BffClientOptions,
  LoginHandlers,
  LogoutResult,
  Options,
  SessionInfo,
  SessionListEntry,
  User,
} from "./types.js";

type Schemas = components["schemas"];

export const DEFAULT_POLL_INTERVAL = 2000;

export interface BffClient {
  /** The login modes the BFF offers (`GET /auth/options`). */
  options(): Promise<Options>;
  /** The API login: resolves to the signed-in user, rejects with a `BffError` (or the signal's abort reason). */
  login(username: string, handlers: LoginHandlers): Promise<User>;
  /** The URL to navigate to for the OAuth login; the BFF comes back to `returnTo` (a path, default `/`). */
  oauthLoginUrl(returnTo?: string): string;
  /** The session, or `null` when signed out. */
  session(options?: { slide?: boolean }): Promise<SessionInfo | null>;
  logout(): Promise<LogoutResult>;
  sessions: {
    list(): Promise<SessionListEntry[]>;
    /** Ends one of the caller's sessions; `false` when it was not (or no longer) one of them. */
    revoke(id: string): Promise<boolean>;
  };
  /** `fetch` of a tenant API through the BFF's proxy: `bff.api(p, init)` is `bff.fetch("/api" + p, init)`. */
  api(path: string, init?: BffRequestInit): Promise<Response>;
  /** `fetch` of any BFF path with the cookie and `X-CSRF`; a plain-object `body` is sent as JSON. Never throws on a status. */
  fetch(path: string, init?: BffRequestInit): Promise<Response>;
  readonly baseUrl: string;
}

export function createBffClient(options: BffClientOptions = {}): BffClient {
  const transport = new Transport(options.baseUrl ?? "", options.fetch, options.credentials);
  const pollInterval = options.pollInterval ?? DEFAULT_POLL_INTERVAL;

  return {
    baseUrl: transport.baseUrl,

    async options() {
      const body = await transport.call<Schemas["LoginOptions"]>("GET", "/auth/options");
      return { loginModes: body.login_modes };
    },

    login(username, handlers) {
      return new LoginRun(transport, pollInterval, handlers).run(username);
    },

    oauthLoginUrl(returnTo = "/") {
      return transport.url("/auth/oauth/login?return_to=" + encodeURIComponent(returnTo));
    },

    async session({ slide = true } = {}) {
      try {
        const body = await transport.call<Schemas["SessionState"]>("GET", slide ? "/auth/session" : "/auth/session?slide=false");
        return { user: body.user, expiresAt: body.expires_at, idleExpiresAt: body.idle_expires_at, login: body.login };
      } catch (error) {
        if (error instanceof BffError && error.status === 401) {
          return null;
        }
        throw error;
      }
    },

    async logout() {
      const body = await transport.call<Schemas["LoggedOut"] | null>("POST", "/auth/logout");
      return { endSessionUrl: body?.end_session_url ?? null };
    },

    sessions: {
      async list() {
        const body = await transport.call<Schemas["SessionListItem"][]>("GET", "/auth/sessions");
        return body.map((s) => ({
          id: s.id,
          current: s.current,
          createdAt: s.created_at,
          lastSeenAt: s.last_seen_at,
          userAgent: s.user_agent,
          ip: s.ip,
          login: s.login,
        }));
      },
      async revoke(id) {
        try {
          await transport.call("DELETE", "/auth/sessions/" + encodeURIComponent(id));
          return true;
        } catch (error) {
          if (error instanceof BffError && error.status === 404) {
            return false;
          }
          throw error;
        }
      },
    },

    api(path, init) {
      return transport.send("/api" + (path.startsWith("/") ? path : "/" + path), init);
    },

    fetch(path, init) {
      return transport.send(path, init);
    },
  };
}
