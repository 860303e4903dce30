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
const NEVER = new Promise<never>(() => undefined);

function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((done) => (resolve = done));
  return { promise, resolve };
}

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
  private readonly signal: AbortSignal | undefined;
  /** The step call in flight (or the last one): the next one starts only after it, never beside it. */
  private lane: Promise<unknown> = Promise.resolve();
  /** A poll left on the wire by "choose again": its answer still counts if it ends the wait (signed in). */
  private orphan: Promise<Step | undefined> | undefined;

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
    const asked = Promise.resolve(this.handlers.challenge(challenge, { previous })).then((choice) => ({ choice }));
    const orphan = this.orphan;
    this.orphan = undefined;
    const late = orphan?.then((step) => (step === undefined ? NEVER : { step }));
    const outcome = await this.unlessAborted(late === undefined ? asked : Promise.race([asked, late]));
    if ("step" in outcome) {
      // The poll the person walked away from came back with the end of the wait (approved after all).
      return outcome.step;
    }
    const choice: ChallengeAnswer = outcome.choice;
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
    const chosen = deferred<typeof CHOOSE_AGAIN>();
    let choosing = false;
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
          choosing = true;
          chosen.resolve(CHOOSE_AGAIN);
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
      if (this.queue.length === 0 && !choosing) {
        await this.sleeper.sleep(delay);
      }
      this.throwIfAborted();
      if (choosing) {
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
        const polling = this.step("/auth/poll", {});
        const polled = await Promise.race([
          polling.then(
            (step) => ({ step }),
            (error: unknown) => ({ error }),
          ),
          chosen.promise,
        ]);
        if (polled === CHOOSE_AGAIN) {
          // The list comes back at once; this poll finishes on its own, before any step the person picks next.
          this.orphan = polling.then(
            (step) => (step.status === "pending" && step.mechanism === mechanism ? undefined : step),
            () => undefined,
          );
          return CHOOSE_AGAIN;
        }
        if ("error" in polled) {
          const error = polled.error;
          if (error instanceof BffError && TRANSIENT.has(error.status) && !this.signal?.aborted) {
            delay = Math.max(this.pollInterval, (error.retryAfter ?? 0) * 1000);
            this.handlers.retrying?.(error, delay);
            continue;
          }
          throw error;
        }
        next = polled.step;
      }
      if (next.status !== "pending" || next.mechanism !== mechanism) {
        // A new step (the next challenge, another mechanism, signed in).
        return next;
      }
      show(next);
    }
  }

  /** One step call, queued behind the one in flight. */
  private step(path: string, body: object): Promise<Step> {
    const call = this.lane.then(() => this.stepNow(path, body));
    this.lane = call.catch(() => undefined);
    return call;
  }

  /** A `409 step_in_progress` (another tab, a double click) is retried after a pause, never surfaced. */
  private async stepNow(path: string, body: object): Promise<Step> {
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
