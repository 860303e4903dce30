// The login driver against exchanges recorded from the real BFF and simulator (test/record.mjs).
import { describe, expect, it } from "vitest";
import { BffError, createBffClient, type Challenge, type PendingInfo } from "../src/index.js";
import { BASE, Replay, recording, withInserted, type Exchange } from "./replay.js";

function client(replay: Replay, pollInterval = 1) {
  return createBffClient({ baseUrl: BASE, fetch: replay.fetch, pollInterval });
}

const first = (answer: string) => (c: Challenge) => ({ mechanism: c.mechanisms[0].id, answer });

function until(condition: () => boolean): Promise<void> {
  return new Promise((resolve) => {
    const check = () => (condition() ? resolve() : setTimeout(check, 1));
    check();
  });
}

const busy: Exchange = {
  request: { method: "POST", path: "/auth/poll", csrf: "1", body: {} },
  response: { status: 409, retryAfter: null, body: { error: "step_in_progress", message: "A step of this login is in flight." } },
};

describe("login", () => {
  it("push with number matching: starts the push, shows the number once, polls until approved", async () => {
    const rec = recording("push-number");
    const replay = new Replay(rec.exchange);
    const pending: PendingInfo[] = [];
    const user = await client(replay).login("demo@example.com", {
      challenge: (c) => (c.index === 0 ? first("Demo-pass-1")(c) : { mechanism: c.mechanisms[0].id, action: "start_oob" }),
      pending: (p) => pending.push(p),
    });
    expect(user).toEqual(rec.outcome.user);
    expect(replay.remaining).toBe(0);
    expect(pending).toHaveLength(1);
    expect(pending[0].number).toMatch(/^\d{2}$/);
    expect(pending[0].details?.label).toBe("Mobile Authenticator");
    expect(replay.maxInFlight).toBe(1);
    // Every step is a POST with X-CSRF, and a split-origin client sends the cookie.
    expect(replay.sent.every((r) => r.headers.get("X-CSRF") === "1" && r.credentials === "include")).toBe(true);
  });

  it("an emailed code typed while polling waits for the poll in flight, then replaces the next poll", async () => {
    const rec = recording("email-code");
    const replay = new Replay(rec.exchange);
    const release = replay.hold(4); // the second poll
    let typed: Promise<void> | undefined;
    const login = client(replay).login("email@example.com", {
      challenge: (c) => (c.index === 0 ? first("email-pass-1")(c) : { mechanism: c.mechanisms[0].id, action: "start_oob" }),
      pending: (p) => {
        void until(() => replay.sent.length === 5).then(() => {
          typed = p.answer((rec.exchange[5].request.body as { answer: string }).answer);
        });
      },
    });
    await until(() => typed !== undefined);
    await new Promise((r) => setTimeout(r, 20));
    expect(replay.sent).toHaveLength(5); // the code waits: the poll is still on the wire
    release();
    expect(await login).toEqual(rec.outcome.user);
    await typed;
    expect(replay.sent.map((r) => r.path).slice(-2)).toEqual(["/auth/poll", "/auth/advance"]);
    expect(replay.maxInFlight).toBe(1);
  });

  it("multi-part security questions are answered with one text per question id", async () => {
    const rec = recording("security-questions");
    const replay = new Replay(rec.exchange);
    const answers: Record<string, string> = { "In which city were you born?": "Lyon", "What was your first car?": "Beetle" };
    const user = await client(replay).login("sqmulti@example.com", {
      challenge: (c) => {
        const m = c.mechanisms[0];
        if (!m.questions) return first("sqmulti-pass-1")(c);
        return { mechanism: m.id, answer: Object.fromEntries(m.questions.map((q) => [q.id, answers[q.text]])) };
      },
    });
    expect(user).toEqual(rec.outcome.user);
    const last = replay.sent.at(-1)!.body as { answer: Record<string, string> };
    expect(Object.values(last.answer).sort()).toEqual(["Beetle", "Lyon"]);
  });

  it("a federated user: polls while the IdP page is open, then sends the PIN the redirect callback returns", async () => {
    const rec = recording("federated-pin");
    const replay = new Replay(rec.exchange);
    const release = replay.hold(2);
    const pin = rec.exchange[3].request.body as { answer: string };
    const seen: string[] = [];
    const user = await client(replay).login("fedpin@partner.example", {
      challenge: () => {
        throw new Error("no challenge in a federated login");
      },
      redirect: async (r) => {
        seen.push(`${r.url} pin=${r.pin}`);
        await until(() => replay.sent.length === 3);
        setTimeout(release, 5);
        return pin.answer;
      },
    });
    expect(user).toEqual(rec.outcome.user);
    expect(seen).toEqual([`${(rec.exchange[0].response.body as { url: string }).url} pin=true`]);
    expect(replay.maxInFlight).toBe(1);
  });

  it("a wrong password is a BffError login_failed, and the client does not call cancel for a login the BFF ended", async () => {
    const rec = recording("wrong-password");
    const replay = new Replay(rec.exchange);
    const error = await client(replay).login("alice@example.com", { challenge: first("not-her-password") }).catch((e) => e);
    expect(error).toBeInstanceOf(BffError);
    expect({ status: error.status, code: error.code }).toEqual({ status: 401, code: "login_failed" });
    expect(replay.remaining).toBe(0);
  });

  it("a tenant lockout is a BffError rate_limited with retryAfter in seconds", async () => {
    const rec = recording("locked-out");
    const replay = new Replay(rec.exchange);
    const error = await client(replay).login("alice@example.com", { challenge: first("alice-pass-1") }).catch((e) => e);
    expect(error).toBeInstanceOf(BffError);
    expect([error.status, error.code, error.retryAfter]).toEqual([429, "rate_limited", 45]);
  });

  it("a 409 step_in_progress is retried after a pause, never surfaced", async () => {
    const rec = recording("push-number");
    const replay = new Replay(withInserted(rec.exchange, 4, busy, busy));
    const user = await client(replay).login("demo@example.com", {
      challenge: (c) => (c.index === 0 ? first("Demo-pass-1")(c) : { mechanism: c.mechanisms[0].id, action: "start_oob" }),
    });
    expect(user).toEqual(rec.outcome.user);
    expect(replay.remaining).toBe(0);
  });

  it("a 429 while polling waits retry_after (not the poll interval), then polls on", async () => {
    const rec = recording("push-number");
    const limited: Exchange = {
      request: { method: "POST", path: "/auth/poll", csrf: "1", body: {} },
      response: { status: 429, retryAfter: "1", body: { error: "rate_limited", message: "Too many requests.", retry_after: 1 } },
    };
    const replay = new Replay(withInserted(rec.exchange, 3, limited));
    const waits: number[] = [];
    const started = Date.now();
    const user = await client(replay).login("demo@example.com", {
      challenge: (c) => (c.index === 0 ? first("Demo-pass-1")(c) : { mechanism: c.mechanisms[0].id, action: "start_oob" }),
      retrying: (e, ms) => waits.push(e.retryAfter!, ms),
    });
    expect(user).toEqual(rec.outcome.user);
    expect(waits).toEqual([1, 1000]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(990);
  });

  it("polls at the pollInterval pace", async () => {
    const rec = recording("push-number");
    const replay = new Replay(rec.exchange);
    const started = Date.now();
    await client(replay, 150).login("demo@example.com", {
      challenge: (c) => (c.index === 0 ? first("Demo-pass-1")(c) : { mechanism: c.mechanisms[0].id, action: "start_oob" }),
    });
    // Three polls, each after a wait of 150 ms.
    expect(Date.now() - started).toBeGreaterThanOrEqual(3 * 150 - 5);
  });

  it("aborting the signal while pending cancels the login at the BFF and rejects with the abort", async () => {
    const rec = recording("push-number");
    const cancel: Exchange = {
      request: { method: "POST", path: "/auth/cancel", csrf: "1", body: {} },
      response: { status: 204, retryAfter: null },
    };
    const replay = new Replay([...rec.exchange.slice(0, 4), cancel]);
    const controller = new AbortController();
    const error = await client(replay, 50)
      .login("demo@example.com", {
        challenge: (c) => (c.index === 0 ? first("Demo-pass-1")(c) : { mechanism: c.mechanisms[0].id, action: "start_oob" }),
        pending: () => void until(() => replay.sent.length === 4 && replay.inFlight === 0).then(() => controller.abort()),
        signal: controller.signal,
      })
      .catch((e) => e);
    expect(error).toBeInstanceOf(DOMException);
    expect(error.name).toBe("AbortError");
    expect(replay.sent.map((r) => r.path).at(-1)).toBe("/auth/cancel");
    expect(replay.remaining).toBe(0);
  });

  it("chooseAgain during a poll in flight: the poll's pending answer does not revive polling", async () => {
    const rec = recording("push-number");
    const [login, password, push] = rec.exchange;
    const emailStart: Exchange = {
      request: { method: "POST", path: "/auth/advance", csrf: "1", body: { mechanism: "EMAIL", action: "start_oob" } },
      response: rec.exchange.at(-1)!.response,
    };
    const firstPoll = rec.exchange[3];
    const replay = new Replay([login, password, push, firstPoll, emailStart]);
    const release = replay.hold(3);
    const contexts: (string | undefined)[] = [];
    let chosen = 0;
    const user = await client(replay).login("demo@example.com", {
      challenge: (c, ctx) => {
        if (c.index === 0) return first("Demo-pass-1")(c);
        contexts.push(ctx.previous);
        // Asked again at once, while the poll the person walked away from is still on the wire.
        if (chosen === 1) expect(replay.inFlight).toBe(1);
        return chosen++ === 0 ? { mechanism: c.mechanisms[0].id, action: "start_oob" } : { mechanism: "EMAIL", action: "start_oob" };
      },
      pending: (p) => {
        void until(() => replay.sent.length === 4).then(() => {
          p.chooseAgain();
          release();
        });
      },
    });
    expect(user).toEqual(rec.outcome.user);
    expect(contexts).toEqual([undefined, (push.request.body as { mechanism: string }).mechanism]);
    expect(replay.remaining).toBe(0);
  });

  it("chooseAgain while the approving poll is on the wire: that poll's authenticated answer still signs in", async () => {
    const rec = recording("push-number");
    const [login, password, push] = rec.exchange;
    const replay = new Replay([login, password, push, rec.exchange.at(-1)!]);
    const release = replay.hold(3);
    let asked = 0;
    const user = await client(replay).login("demo@example.com", {
      challenge: (c) => {
        if (c.index === 0) return first("Demo-pass-1")(c);
        if (asked++ === 0) return { mechanism: c.mechanisms[0].id, action: "start_oob" };
        return new Promise(() => undefined); // the person is still looking at the list
      },
      pending: (p) => {
        void until(() => replay.sent.length === 4).then(() => {
          p.chooseAgain();
          setTimeout(release, 5);
        });
      },
    });
    expect(user).toEqual(rec.outcome.user);
    expect(asked).toBe(2);
  });
});
