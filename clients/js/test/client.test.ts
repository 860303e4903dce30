// The rest of the client: the session, logout, sessions, fetch/api, and errors as BffError.
import { describe, expect, it } from "vitest";
import { BffError, createBffClient } from "../src/index.js";

interface Call {
  url: string;
  init: RequestInit;
}

function answering(status: number, body?: unknown, headers: Record<string, string> = {}) {
  const calls: Call[] = [];
  const fetch = async (url: RequestInfo | URL, init: RequestInit = {}) => {
    calls.push({ url: String(url), init });
    return new Response(body === undefined ? null : JSON.stringify(body), { status, headers });
  };
  return { calls, fetch };
}

describe("client", () => {
  it("session() is null when signed out and camelCase when signed in", async () => {
    const out = answering(401, { error: "unauthenticated", message: "No session." });
    expect(await createBffClient({ fetch: out.fetch }).session()).toBeNull();
    expect(out.calls[0].url).toBe("/auth/session");
    expect(out.calls[0].init.credentials).toBe("same-origin");
    const user = { id: "u1", username: "jane" };
    const signedIn = answering(200, { authenticated: true, user, expires_at: "a", idle_expires_at: "b", login: "oauth" });
    expect(await createBffClient({ fetch: signedIn.fetch }).session({ slide: false })).toEqual({
      user,
      expiresAt: "a",
      idleExpiresAt: "b",
      login: "oauth",
    });
    expect(signedIn.calls[0].url).toBe("/auth/session?slide=false");
  });

  it("session() throws a BffError for anything but 401", async () => {
    const down = answering(503, { error: "store_unavailable", message: "Try again." }, { "Retry-After": "5" });
    const error = await createBffClient({ fetch: down.fetch }).session().catch((e) => e);
    expect(error).toBeInstanceOf(BffError);
    expect([error.status, error.code, error.message, error.retryAfter]).toEqual([503, "store_unavailable", "Try again.", 5]);
  });

  it("logout: 204 gives no end-session URL, an OAuth session's 200 gives the tenant's", async () => {
    const api = answering(204);
    expect(await createBffClient({ fetch: api.fetch }).logout()).toEqual({ endSessionUrl: null });
    expect(new Headers(api.calls[0].init.headers).get("X-CSRF")).toBe("1");
    const oauth = answering(200, { end_session_url: "https://tenant/OAuth2/EndSession/app" });
    expect(await createBffClient({ fetch: oauth.fetch }).logout()).toEqual({ endSessionUrl: "https://tenant/OAuth2/EndSession/app" });
  });

  it("sessions.list maps to camelCase; revoke is false for someone else's id", async () => {
    const list = answering(200, [
      { id: "s1", current: true, created_at: "c", last_seen_at: "l", user_agent: "UA", ip: "1.2.3.4", login: "api" },
    ]);
    expect(await createBffClient({ fetch: list.fetch }).sessions.list()).toEqual([
      { id: "s1", current: true, createdAt: "c", lastSeenAt: "l", userAgent: "UA", ip: "1.2.3.4", login: "api" },
    ]);
    const gone = answering(404, { error: "not_found", message: "No such session." });
    expect(await createBffClient({ fetch: gone.fetch }).sessions.revoke("a/b")).toBe(false);
    expect(gone.calls[0].url).toBe("/auth/sessions/a%2Fb");
    expect(gone.calls[0].init.method).toBe("DELETE");
  });

  it("api() is fetch('/api' + path): JSON body, X-CSRF on unsafe methods only, the Response as is", async () => {
    const ok = answering(403, { error: "not_allowed", message: "No." });
    const bff = createBffClient({ baseUrl: "https://bff.example.com/", fetch: ok.fetch });
    const response = await bff.api("/UPRest/GetUPData", { method: "POST", body: {} });
    expect(response.status).toBe(403);
    const headers = new Headers(ok.calls[0].init.headers);
    expect(ok.calls[0].url).toBe("https://bff.example.com/api/UPRest/GetUPData");
    expect([headers.get("X-CSRF"), headers.get("Content-Type"), ok.calls[0].init.body]).toEqual(["1", "application/json", "{}"]);
    expect(ok.calls[0].init.credentials).toBe("include");
    await bff.fetch("/svc/orders/items/42");
    expect(ok.calls[1].url).toBe("https://bff.example.com/svc/orders/items/42");
    expect(new Headers(ok.calls[1].init.headers).get("X-CSRF")).toBeNull();
  });

  it("an unreachable BFF is a BffError with status 0; oauthLoginUrl encodes return_to", async () => {
    const bff = createBffClient({
      baseUrl: "https://bff.example.com",
      fetch: async () => {
        throw new TypeError("Failed to fetch");
      },
    });
    const error = await bff.options().catch((e) => e);
    expect([error instanceof BffError, error.status, error.code]).toEqual([true, 0, "network_error"]);
    expect(bff.oauthLoginUrl("/after?x=1")).toBe("https://bff.example.com/auth/oauth/login?return_to=%2Fafter%3Fx%3D1");
    expect(createBffClient({ fetch: bff.fetch as typeof fetch }).oauthLoginUrl()).toBe("/auth/oauth/login?return_to=%2F");
  });
});
