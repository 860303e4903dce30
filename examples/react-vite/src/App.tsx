import { useEffect, useState } from "react";
import { BffError, type Challenge, type PendingInfo, type SessionListEntry, type User } from "cyberark-bff-client";
import { bff } from "./bff";

// What the login waits for, shown by <LoginStep>; `reply` hands the person's answer back to the package.
type Step =
  | { kind: "challenge"; challenge: Challenge; reply: (choice: Choice) => void }
  | { kind: "pending"; pending: PendingInfo }
  | { kind: "redirect"; url: string; pin: boolean; reply: (pin: string) => void };
type Choice = { mechanism: string; answer: string | Record<string, string> } | { mechanism: string; action: "start_oob" };

function explain(error: unknown): string {
  if (!(error instanceof BffError)) return "Something went wrong.";
  if (error.code === "login_failed") return "Sign-in failed. Check what you entered and start again.";
  if (error.code === "rate_limited") return `Too many attempts. Try again in ${error.retryAfter ?? 60} seconds.`;
  return error.message;
}

export function App() {
  const [user, setUser] = useState<User | null | undefined>(undefined);
  const [step, setStep] = useState<Step | null>(null);
  const [error, setError] = useState("");
  const [cancel, setCancel] = useState<AbortController | null>(null);

  useEffect(() => {
    bff.session().then((s) => setUser(s?.user ?? null), (e) => setError(explain(e)));
  }, []);

  // A step the person answers: show it, and resolve when they did.
  const ask = <T,>(show: (reply: (value: T) => void) => Step) => new Promise<T>((reply) => setStep(show(reply)));

  async function signIn(username: string) {
    const controller = new AbortController();
    setCancel(controller);
    setError("");
    // The ten-line login: the package runs the steps, polling, waits and retries; these callbacks draw them.
    try {
      const signedIn = await bff.login(username, {
        challenge: (challenge) => ask<Choice>((reply) => ({ kind: "challenge", challenge, reply })),
        pending: (pending) => setStep({ kind: "pending", pending }),
        redirect: ({ url, pin }) => {
          window.open(url, "_blank", "noopener");
          return ask<string>((reply) => ({ kind: "redirect", url, pin, reply }));
        },
        signal: controller.signal,
      });
      setUser(signedIn);
    } catch (e) {
      if (!controller.signal.aborted) setError(explain(e));
    }
    setStep(null);
    setCancel(null);
  }

  if (user === undefined) return <p>Loading…</p>;
  return (
    <main>
      <h1>CyberArk BFF: React example</h1>
      {error && <p role="alert">{error}</p>}
      {user ? (
        <Home user={user} onSignedOut={() => setUser(null)} />
      ) : step ? (
        <>
          <LoginStep step={step} />
          <button type="button" onClick={() => cancel?.abort()}>Start over</button>
        </>
      ) : (
        <SignIn onSubmit={signIn} />
      )}
    </main>
  );
}

function SignIn({ onSubmit }: { onSubmit: (username: string) => void }) {
  const [name, setName] = useState("");
  return (
    <section>
      <h2>Sign in</h2>
      <form onSubmit={(e) => { e.preventDefault(); onSubmit(name.trim()); }}>
        <label>Username <input value={name} onChange={(e) => setName(e.target.value)} autoComplete="username" required /></label>
        <button type="submit">Continue</button>
      </form>
      <p><a href={bff.oauthLoginUrl("/")}>Sign in with CyberArk</a></p>
    </section>
  );
}

function LoginStep({ step }: { step: Step }) {
  const [text, setText] = useState<Record<string, string>>({});
  if (step.kind === "challenge") {
    return (
      <section>
        <h2>Verify it is you ({step.challenge.index + 1} of {step.challenge.count})</h2>
        {step.challenge.mechanisms.map((m) =>
          m.kind !== "text" ? (
            <button key={m.id} type="button" onClick={() => step.reply({ mechanism: m.id, action: "start_oob" })}>{m.label}</button>
          ) : (
            <form key={m.id} onSubmit={(e) => {
              e.preventDefault();
              step.reply({ mechanism: m.id, answer: m.questions ? Object.fromEntries(m.questions.map((q) => [q.id, text[q.id] ?? ""])) : text[m.id] ?? "" });
            }}>
              {(m.questions ?? [{ id: m.id, text: m.label }]).map((q) => (
                <label key={q.id}>{q.text} <input type={m.name === "UP" ? "password" : "text"} value={text[q.id] ?? ""} onChange={(e) => setText({ ...text, [q.id]: e.target.value })} required /></label>
              ))}
              <button type="submit">Verify</button>
            </form>
          ),
        )}
      </section>
    );
  }
  if (step.kind === "pending") {
    const { pending } = step;
    return (
      <section>
        <h2>Waiting for you</h2>
        <p>{pending.prompt}</p>
        {pending.number && <p>Tap <strong data-testid="number">{pending.number}</strong> on your phone.</p>}
        {pending.details?.kind === "text_oob" && (
          <form onSubmit={(e) => { e.preventDefault(); void pending.answer(text.code ?? ""); }}>
            <label>Or enter the code <input value={text.code ?? ""} onChange={(e) => setText({ ...text, code: e.target.value })} /></label>
            <button type="submit">Verify code</button>
          </form>
        )}
        <button type="button" onClick={() => pending.chooseAgain()}>Choose another method</button>
      </section>
    );
  }
  return (
    <section>
      <h2>Continue at your identity provider</h2>
      <p><a href={step.url} target="_blank" rel="noopener noreferrer">Open the sign-in page</a></p>
      {step.pin && (
        <form onSubmit={(e) => { e.preventDefault(); step.reply(text.pin ?? ""); }}>
          <label>PIN <input value={text.pin ?? ""} onChange={(e) => setText({ ...text, pin: e.target.value })} /></label>
          <button type="submit">Continue</button>
        </form>
      )}
    </section>
  );
}

function Home({ user, onSignedOut }: { user: User; onSignedOut: () => void }) {
  const [apps, setApps] = useState<string>("");
  const [sessions, setSessions] = useState<SessionListEntry[]>([]);
  const refresh = () => bff.sessions.list().then(setSessions, () => onSignedOut());
  useEffect(() => { void refresh(); }, []);

  async function loadApps() {
    // Any tenant API the BFF's allow-list lets through; a Response, as fetch gives.
    const response = await bff.api("/UPRest/GetUPData", { method: "POST", body: {} });
    const data = await response.json();
    setApps(response.ok ? `${data.Result.Apps.length} apps` : `HTTP ${response.status}`);
  }
  async function logout() {
    const { endSessionUrl } = await bff.logout();
    onSignedOut();
    if (endSessionUrl) window.location.assign(endSessionUrl);
  }

  return (
    <section>
      <h2>Signed in as <span data-testid="user">{user.display_name ?? user.username}</span></h2>
      <p>{user.email} at {user.tenant}</p>
      <p><button type="button" onClick={loadApps}>Call /api</button> <output data-testid="apps">{apps}</output></p>
      <h3>Your sessions</h3>
      <ul data-testid="sessions">
        {sessions.map((s) => (
          <li key={s.id}>
            {s.userAgent.slice(0, 40)} from {s.ip}{s.current ? " (this one)" : ""}{" "}
            {!s.current && <button type="button" onClick={() => bff.sessions.revoke(s.id).then(refresh)}>Revoke</button>}
          </li>
        ))}
      </ul>
      <button type="button" onClick={logout}>Sign out</button>
    </section>
  );
}
