// The API login's step loop (api.md §2): every subtle part lives here, once, so an SPA only draws screens.
import { BffError, INVALID_RESPONSE } from "./errors.js";
import type { Transport } from "./transport.js";
import type { Challenge, ChallengeAnswer, LoginHandlers, PendingInfo, Step, User } from "./types.js";

/** The BFF refuses a second step of one login while one is in flight; such a refusal is retried after this. */
const STEP_BUSY_PAUSE_MS = 250;
const STEP_BUSY_TRIES = 40;
/** Answers of a poll that mean "try again later", not "the login is over". */
const TRANSIENT = new Set([0, 429, 502, 503, 504]);

const CHOOSE_AGAIN = Symbol("choose again");
type Next = Step | typeof CHOOSE_AGAIN;

function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException("The login was cancelled.", "AbortError");
}

/** A wait that ends early when woken (a typed code, "choose again", an abort). */
class Sleeper {
  private wake: (() => void) | null = null;
  private timer: ReturnType<typeof setTimeout> | undefined;

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.wake = resolve;
      this.timer = setTimeout(resolve, ms);
    });
  }

  interrupt(): void {
    clearTimeout(this.timer);
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }
}

interface QueuedAnswer {
  code: string;
  done: () => void;
}

export class LoginRun {
  private readonly sleeper = new Sleeper();
  private readonly queue: QueuedAnswer[] = [];
  private chooseAgainAsked = false;
  private readonly signal: AbortSignal | undefined;

  constructor(
    private readonly transport: Transport,
    private readonly pollInterval: number,
    private readonly handlers: LoginHandlers,
  ) {
    this.signal = handlers.signal;
  }

  async run(username: string): Promise<User> {
    const signal = this.signal;
    if (signal?.aborted) {
      throw abortReason(signal);
    }
    const onAbort = (): void => this.sleeper.interrupt();
    signal?.addEventListener("abort", onAbort);
    let started = false;
    try {
      const first = await this.step("/auth/login", { username });
      started = true;
      return await this.follow(first);
    } catch (error) {
      if (signal?.aborted) {
        // The BFF forgets the login and cleans up at the tenant; the caller gets the abort, not a side effect.
        await this.cancel();
        throw abortReason(signal);
      }
      if (started && !(error instanceof BffError && (error.code === "login_failed" || error.code === "no_login_in_progress"))) {
        // Whatever ended this login here also ends it at the BFF, so no half-done state lingers there.
        await this.cancel();
      }
      throw error;
    } finally {
      signal?.removeEventListener("abort", onAbort);
      for (const queued of this.queue.splice(0)) {
        queued.done();
      }
    }
  }

  private async follow(first: Step): Promise<User> {
    let step: Step = first;
    let challenge: Challenge | undefined;
    let previous: string | undefined;
    for (;;) {
      let next: Next;
      switch (step.status) {
        case "authenticated":
          return step.user;
        case "challenge":
          challenge = step.challenge;
          previous = undefined;
          next = await this.answerChallenge(challenge, previous);
          break;
        case "pending":
          previous = step.mechanism;
          next = await this.wait(step.mechanism, false, step, challenge);
          break;
        case "redirect":
          next = await this.federated(step, challenge);
          break;
        default:
          throw new BffError(200, INVALID_RESPONSE, "The service sent a step this client does not know.");
      }
      while (next === CHOOSE_AGAIN) {
        if (challenge === undefined) {
          throw new BffError(200, INVALID_RESPONSE, "There is no challenge to choose again from.");
        }
        next = await this.answerChallenge(challenge, previous);
      }
      step = next;
    }
  }

  private async answerChallenge(challenge: Challenge, previous: string | undefined): Promise<Step> {
    const choice: ChallengeAnswer = await this.unlessAborted(
      Promise.resolve(this.handlers.challenge(challenge, { previous })),
    );
    if ("action" in choice) {
      return this.step("/auth/advance", { mechanism: choice.mechanism, action: "start_oob" });
    }
    return this.step("/auth/advance", { mechanism: choice.mechanism, answer: choice.answer });
  }

  /** A federated user: the page opens the IdP's URL; this polls, and sends the PIN the page may hand back. */
  private async federated(step: Step & { status: "redirect" }, challenge: Challenge | undefined): Promise<Next> {
    const pin = this.handlers.redirect?.({ url: step.url, mechanism: step.mechanism, pin: step.pin });
    if (typeof pin === "string") {
      this.enqueue(pin);
    } else if (pin !== undefined && pin !== null) {
      Promise.resolve(pin).then(
        (value) => {
          if (typeof value === "string" && value !== "") {
            this.enqueue(value);
          }
        },
        () => undefined,
      );
    }
    return this.wait(step.mechanism, true, undefined, challenge);
  }

  private enqueue(code: string): Promise<void> {
    return new Promise((done) => {
      this.queue.push({ code, done });
      this.sleeper.interrupt();
    });
  }

  /**
   * Wait on a pending mechanism: poll every `pollInterval` ms, send typed codes between polls (never beside
   * one), and come back with the next step that is not this one pending.
   */
  private async wait(mechanism: string, federated: boolean, first: Step | undefined, challenge: Challenge | undefined): Promise<Next> {
    this.chooseAgainAsked = false;
    const details = challenge?.mechanisms.find((m) => m.id === mechanism);
    let shown: string | undefined;
    const show = (step: Step): void => {
      if (step.status !== "pending") {
        return;
      }
      const key = JSON.stringify([step.mechanism, step.prompt ?? null, step.number ?? null]);
      if (key === shown) {
        return;
      }
      shown = key;
      const info: PendingInfo = {
        mechanism: step.mechanism,
        details,
        federated,
        prompt: step.prompt ?? details?.prompt ?? undefined,
        number: step.number ?? undefined,
        answer: (code) => this.enqueue(code),
        chooseAgain: () => {
          this.chooseAgainAsked = true;
          this.sleeper.interrupt();
        },
      };
      this.handlers.pending?.(info);
    };
    if (first !== undefined) {
      show(first);
    }
    let delay = this.pollInterval;
    for (;;) {
      if (this.queue.length === 0 && !this.chooseAgainAsked) {
        await this.sleeper.sleep(delay);
      }
      this.throwIfAborted();
      if (this.chooseAgainAsked) {
        this.chooseAgainAsked = false;
        return CHOOSE_AGAIN;
      }
      delay = this.pollInterval;
      let next: Step;
      const queued = this.queue.shift();
      if (queued !== undefined) {
        try {
          next = await this.step("/auth/advance", { mechanism, answer: queued.code });
        } finally {
          queued.done();
        }
      } else {
        try {
          next = await this.step("/auth/poll", {});
        } catch (error) {
          if (error instanceof BffError && TRANSIENT.has(error.status) && !this.signal?.aborted) {
            delay = Math.max(this.pollInterval, (error.retryAfter ?? 0) * 1000);
            this.handlers.retrying?.(error, delay);
            continue;
          }
          throw error;
        }
      }
      if (next.status !== "pending" || next.mechanism !== mechanism) {
        // A new step (the next challenge, another mechanism, signed in): "choose again" came too late for it.
        this.chooseAgainAsked = false;
        return next;
      }
      show(next);
    }
  }

  /** One step call; a `409 step_in_progress` (another tab, a double click) is retried, never surfaced. */
  private async step(path: string, body: object): Promise<Step> {
    for (let tries = 1; ; tries++) {
      this.throwIfAborted();
      try {
        const step = await this.transport.call<Step>("POST", path, body, this.signal);
        if (step === null || typeof step !== "object" || typeof step.status !== "string") {
          throw new BffError(200, INVALID_RESPONSE, "The service sent an answer this client does not understand.");
        }
        return step;
      } catch (error) {
        if (!(error instanceof BffError && error.code === "step_in_progress") || tries >= STEP_BUSY_TRIES) {
          throw error;
        }
      }
      await this.sleeper.sleep(STEP_BUSY_PAUSE_MS);
    }
  }

  private throwIfAborted(): void {
    if (this.signal?.aborted) {
      throw abortReason(this.signal);
    }
  }

  /** `promise`, or the abort's reason as soon as the signal fires (a callback waiting on a person may never settle). */
  private unlessAborted<T>(promise: Promise<T>): Promise<T> {
    const signal = this.signal;
    if (signal === undefined) {
      return promise;
    }
    return new Promise<T>((resolve, reject) => {
      const onAbort = (): void => reject(abortReason(signal));
      if (signal.aborted) {
        onAbort();
        return;
      }
      signal.addEventListener("abort", onAbort, { once: true });
      promise.then(
        (value) => {
          signal.removeEventListener("abort", onAbort);
          resolve(value);
        },
        (error: unknown) => {
          signal.removeEventListener("abort", onAbort);
          reject(error);
        },
      );
    });
  }

  private async cancel(): Promise<void> {
    try {
      await this.transport.call("POST", "/auth/cancel", {});
    } catch {
      // Best effort: the BFF forgets an abandoned login at BFF_LOGIN_TIMEOUT anyway.
    }
  }
}
