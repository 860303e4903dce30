// Records real exchanges between this package and a BFF with the simulator as its tenant, for the unit tests.
//
//   BFF_POLL_MIN_INTERVAL=0 python scripts/run_dev.py --port P --sim-port S &
//   node test/record.mjs http://127.0.0.1:P http://127.0.0.1:S     (after `npm run build`)
//
// Each scenario is one file under test/exchanges/: the requests the client made (method, path, the headers that
// matter, body) and the answers it got (status, Retry-After, body). Cookies are kept by this recorder and left
// out of the files: they are the BFF's business, not the client's.
import { writeFileSync } from "node:fs";
import { createBffClient } from "../dist/index.js";

const [bffUrl, simUrl] = process.argv.slice(2);
const sim = (method, path) => fetch(simUrl + path, { method }).then((r) => (r.status === 204 ? null : r.json()));

function recorder() {
  const exchange = [];
  let cookie = "";
  const recordingFetch = async (url, init = {}) => {
    const headers = new Headers(init.headers);
    if (cookie) headers.set("Cookie", cookie);
    const response = await fetch(url, { ...init, headers });
    const set = response.headers.getSetCookie();
    for (const line of set) {
      const [pair, ...attributes] = line.split(";");
      const expired = attributes.some((a) => /max-age=0/i.test(a.trim()));
      cookie = expired ? "" : pair;
    }
    const text = response.status === 204 ? "" : await response.text();
    exchange.push({
      request: {
        method: init.method ?? "GET",
        path: url.slice(bffUrl.length),
        csrf: headers.get("X-CSRF"),
        body: init.body === undefined ? undefined : JSON.parse(init.body),
      },
      response: {
        status: response.status,
        retryAfter: response.headers.get("Retry-After"),
        body: text === "" ? undefined : JSON.parse(text),
      },
    });
    return new Response(text === "" ? null : text, { status: response.status, headers: response.headers });
  };
  return { exchange, fetch: recordingFetch };
}

async function scenario(name, run) {
  await sim("POST", "/_sim/reset");
  const rec = recorder();
  const bff = createBffClient({ baseUrl: bffUrl, fetch: rec.fetch, pollInterval: 300 });
  let outcome;
  try {
    const user = await run(bff);
    outcome = { user };
  } catch (error) {
    outcome = { error: { name: error.name, status: error.status, code: error.code, retryAfter: error.retryAfter } };
  }
  writeFileSync(new URL(`exchanges/${name}.json`, import.meta.url), JSON.stringify({ outcome, exchange: rec.exchange }, null, 2) + "\n");
  console.log(name, JSON.stringify(outcome));
}

const password = (value) => (c) => ({ mechanism: c.mechanisms[0].id, answer: value });

await scenario("push-number", (bff) => {
  let polls = 0;
  return bff.login("demo@example.com", {
    challenge: (c) =>
      c.index === 0 ? password("Demo-pass-1")(c) : { mechanism: c.mechanisms.find((m) => m.label === "Mobile Authenticator").id, action: "start_oob" },
    pending: () => {
      if (++polls === 1) setTimeout(() => sim("POST", "/_sim/oob/demo@example.com/approve"), 700);
    },
  });
});

await scenario("email-code", (bff) =>
  bff.login("email@example.com", {
    challenge: (c) => (c.index === 0 ? password("email-pass-1")(c) : { mechanism: c.mechanisms[0].id, action: "start_oob" }),
    pending: (p) => {
      setTimeout(async () => p.answer((await sim("GET", "/_sim/code/email@example.com")).code), 700);
    },
  }),
);

await scenario("security-questions", (bff) =>
  bff.login("sqmulti@example.com", {
    challenge: (c) => {
      const m = c.mechanisms[0];
      if (!m.questions) return password("sqmulti-pass-1")(c);
      const answers = { "In which city were you born?": "Lyon", "What was your first car?": "Beetle" };
      return { mechanism: m.id, answer: Object.fromEntries(m.questions.map((q) => [q.id, answers[q.text]])) };
    },
  }),
);

await scenario("federated-pin", (bff) =>
  bff.login("fedpin@partner.example", {
    challenge: () => {
      throw new Error("no challenge expected");
    },
    redirect: async (r) => {
      await new Promise((done) => setTimeout(done, 700));
      return (await sim("POST", "/_sim/idp/fedpin@partner.example/complete")).pin;
    },
  }),
);

await scenario("wrong-password", (bff) => bff.login("alice@example.com", { challenge: password("not-her-password") }));

await fetch(simUrl + "/_sim/config", {
  method: "POST",
  headers: { "Content-Type": "application/json" },
  body: JSON.stringify({ lockout_threshold: 1, lockout_seconds: 45 }),
}).then(() => undefined);
await (async () => {
  // The lockout's first failure happens before the recording starts.
  const bff = createBffClient({ baseUrl: bffUrl, fetch: recorder().fetch });
  await bff.login("alice@example.com", { challenge: password("wrong") }).catch(() => undefined);
})();
{
  const rec = recorder();
  const bff = createBffClient({ baseUrl: bffUrl, fetch: rec.fetch });
  let outcome;
  try {
    await bff.login("alice@example.com", { challenge: password("alice-pass-1") });
  } catch (error) {
    outcome = { error: { name: error.name, status: error.status, code: error.code, retryAfter: error.retryAfter } };
  }
  writeFileSync(new URL("exchanges/locked-out.json", import.meta.url), JSON.stringify({ outcome, exchange: rec.exchange }, null, 2) + "\n");
  console.log("locked-out", JSON.stringify(outcome));
}
await sim("POST", "/_sim/reset");
