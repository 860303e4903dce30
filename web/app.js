// The demo SPA: drives the BFF's login steps (spec api.md §2), shows the user, their apps and sessions.
// Rules kept here on purpose: only /auth and /api are called, always same-origin with the cookie; every
// non-GET carries X-CSRF: 1; text from the tenant is only ever set with textContent, never parsed as HTML;
// only http(s) URLs from the tenant become links or images.

const POLL_MS = 2000;

const $ = (id) => document.getElementById(id);

const VIEWS = ["loading", "view-username", "view-challenge", "view-redirect", "view-home"];

// Bumped on every change of view, so a poll or answer that returns late cannot act on a screen that moved on.
let generation = 0;
let pollTimer = null;
let challenge = null; // the last challenge step's challenge object
let mechanism = null; // the mechanism the user is on
let federated = null; // a federated login's redirect step: {mechanism, pin}
let homeShown = false;

// HTTP ------------------------------------------------------------------------------------------------

/** One call to the BFF; resolves to {status, data, retryAfter}; status 0 when the BFF cannot be reached. */
// `make run` names its simulator in a header of the BFF's answers; elsewhere the hint names no port.
let simulatorUrl = null;

async function call(method, path, body) {
  const headers = { Accept: "application/json" };
  const init = { method, headers, credentials: "same-origin", cache: "no-store" };
  if (method !== "GET" && method !== "HEAD") {
    headers["X-CSRF"] = "1";
  }
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch {
    return { status: 0, data: null, retryAfter: null };
  }
  let data = null;
  if (response.status !== 204) {
    try {
      data = await response.json();
    } catch {
      data = null;
    }
  }
  simulatorUrl = response.headers.get("X-BFF-Dev-Simulator") || simulatorUrl;
  const header = Number.parseInt(response.headers.get("Retry-After") || "", 10);
  const fromBody = data && Number.isFinite(data.retry_after) ? data.retry_after : null;
  const retryAfter = fromBody ?? (Number.isFinite(header) ? header : null);
  return { status: response.status, data, retryAfter };
}

function errorCode(result) {
  return result.data && typeof result.data.error === "string" ? result.data.error : "";
}

// Screen helpers --------------------------------------------------------------------------------------

function show(view) {
  generation += 1;
  stopPolling();
  federated = null;
  for (const id of VIEWS) {
    $(id).hidden = id !== view;
  }
  homeShown = view === "view-home";
}

// The status line is also the screen readers' live region. `quiet`: announced, not shown, because the
// page already shows the same words where they belong (a prompt, the number to tap).
function say(text, quiet = false) {
  const status = $("status");
  status.textContent = text;
  status.classList.toggle("visually-hidden", quiet);
}

function showError(text) {
  const box = $("error");
  box.textContent = text;
  box.hidden = !text;
}

function clear(node) {
  while (node.firstChild) {
    node.removeChild(node.firstChild);
  }
}

function element(tag, text, attributes = {}) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) {
    node.textContent = String(text);
  }
  for (const [name, value] of Object.entries(attributes)) {
    node.setAttribute(name, value);
  }
  return node;
}

/** An absolute http(s) URL from the tenant, or null: javascript:, data:, relative paths never become links. */
function safeUrl(value) {
  if (typeof value !== "string" || value === "") {
    return null;
  }
  try {
    const url = new URL(value);
    return url.protocol === "https:" || url.protocol === "http:" ? url.href : null;
  } catch {
    return null;
  }
}

/** The message to show for an error answer; returns true when the view changed. */
function handleFailure(result, { loginStep = false } = {}) {
  const code = errorCode(result);
  if (result.status === 0) {
    showError("The service cannot be reached. Check your connection and try again.");
    return false;
  }
  if (result.status === 429) {
    const wait = result.retryAfter ?? 60;
    showError(`Too many attempts. Try again in ${wait} seconds.`);
    return false;
  }
  if (code === "login_failed") {
    showUsername();
    showError("Sign-in failed. Check what you entered and start again.");
    return true;
  }
  if (code === "no_login_in_progress") {
    showUsername();
    showError("The sign-in was interrupted or took too long. Start again.");
    return true;
  }
  if (result.status === 401 && !loginStep) {
    showUsername();
    showError("You are signed out. Sign in again.");
    return true;
  }
  const message = result.data && typeof result.data.message === "string" ? result.data.message : "";
  showError(message || `Something went wrong (HTTP ${result.status}). Try again.`);
  return false;
}

// Login -----------------------------------------------------------------------------------------------

// The login modes the BFF offers (GET /auth/options); the API login until it answers.
let loginModes = ["api"];

function showUsername() {
  show("view-username");
  homeShown = false;
  const api = loginModes.includes("api");
  const oauth = loginModes.includes("oauth");
  $("username-form").hidden = !api;
  $("oauth-signin").hidden = !oauth;
  $("modes-or").hidden = !(api && oauth);
  if (api) {
    $("username").focus();
  }
}

/** Ask which logins the BFF offers; the OAuth one is a navigation that comes back to this page. */
async function loadOptions() {
  const result = await call("GET", "/auth/options");
  if (result.status === 200 && result.data && Array.isArray(result.data.login_modes)) {
    loginModes = result.data.login_modes;
  }
  const back = window.location.pathname + window.location.search.replace(/[?&]login_error=[^&]*/, "");
  $("oauth-link").href = "/auth/oauth/login?return_to=" + encodeURIComponent(back.startsWith("/") ? back : "/");
}

// The codes /auth/oauth/callback puts in ?login_error= (api.md §2), and what the user is told.
const LOGIN_ERRORS = {
  access_denied: "Sign-in was cancelled at CyberArk.",
  state_mismatch: "That sign-in took too long or came from another tab. Try again.",
  login_failed: "Sign-in with CyberArk failed. Try again.",
};

/** Show (once) the failure the OAuth callback reported, and take it out of the address bar. */
function showLoginError() {
  const params = new URLSearchParams(window.location.search);
  const code = params.get("login_error");
  if (code === null) {
    return;
  }
  params.delete("login_error");
  const rest = params.toString();
  history.replaceState(null, "", window.location.pathname + (rest ? "?" + rest : ""));
  showError(LOGIN_ERRORS[code] || LOGIN_ERRORS.login_failed);
}

async function submitUsername(event) {
  event.preventDefault();
  const username = $("username").value.trim();
  if (!username) {
    return;
  }
  showError("");
  say("Starting sign-in…");
  const result = await call("POST", "/auth/login", { username });
  continueLogin(result);
}

// The answer to a login call: the next step, or the failure shown where the step was.
function continueLogin(result) {
  if (result.status !== 200) {
    say("");
    handleFailure(result, { loginStep: true });
    return;
  }
  handleStep(result.data);
}

function handleStep(step) {
  if (!step || typeof step.status !== "string") {
    showError("The service sent an answer this page does not understand. Start again.");
    return;
  }
  if (step.status === "challenge") {
    showChallenge(step.challenge);
  } else if (step.status === "pending") {
    showPending(step);
  } else if (step.status === "redirect") {
    showRedirect(step);
  } else if (step.status === "authenticated") {
    showHome(step.user);
  } else {
    showError("The service sent an answer this page does not understand. Start again.");
  }
}

function showChallenge(next) {
  challenge = next;
  mechanism = null;
  show("view-challenge");
  $("challenge-title").textContent =
    next.count > 1 ? `Verify it is you: step ${next.index + 1} of ${next.count}` : "Verify it is you";
  const mechanisms = Array.isArray(next.mechanisms) ? next.mechanisms : [];
  if (mechanisms.length === 1) {
    chooseMechanism(mechanisms[0]);
    return;
  }
  showChoice();
}

function resetChallengeParts() {
  for (const id of ["choice", "answer-form", "pending", "code-form", "other-method"]) {
    $(id).hidden = true;
  }
}

function showChoice() {
  // A poll already on its way for the mechanism left behind must not restart polling behind the list.
  generation += 1;
  const gen = generation;
  stopPolling();
  resetChallengeParts();
  const list = $("choice-list");
  clear(list);
  for (const option of challenge.mechanisms) {
    const item = element("li");
    const button = element("button", option.label || option.name, { type: "button" });
    button.addEventListener("click", () => {
      if (gen === generation) {
        chooseMechanism(option);
      }
    });
    item.appendChild(button);
    list.appendChild(item);
  }
  $("choice").hidden = false;
  // The legend already says "Choose how to verify": the status line says where the login stands.
  say(challenge.count > 1 ? `Step ${challenge.index + 1} of ${challenge.count}.` : "", true);
  const first = list.querySelector("button");
  if (first) {
    first.focus();
  }
}

async function chooseMechanism(option) {
  generation += 1;
  mechanism = option;
  resetChallengeParts();
  $("other-method").hidden = challenge.mechanisms.length < 2;
  showError("");
  if (option.kind === "text") {
    showAnswerForm(option);
    return;
  }
  // oob and text_oob: start it at the tenant, then poll (and, for text_oob, offer a code input).
  const gen = generation;
  say("Sending…");
  const result = await call("POST", "/auth/advance", { mechanism: option.id, action: "start_oob" });
  if (gen !== generation) {
    return;
  }
  continueLogin(result);
}

const SECRET_NAMES = new Set(["UP", "RESET"]);

function showAnswerForm(option) {
  const fields = $("answer-fields");
  clear(fields);
  $("answer-prompt").textContent = option.prompt || option.label || option.name;
  const questions = Array.isArray(option.questions) ? option.questions : [];
  if (questions.length > 0) {
    questions.forEach((question, index) => {
      const id = `answer-part-${index}`;
      fields.appendChild(element("label", question.text, { for: id }));
      const input = element("input", null, { id, type: "text", autocomplete: "off", required: "" });
      input.dataset.questionId = question.id;
      fields.appendChild(input);
    });
  } else {
    fields.appendChild(element("label", option.label || option.name, { for: "answer" }));
    // The prompt above the field describes it; it is shown once, not again in the status line.
    const attributes = { id: "answer", required: "", maxlength: "1024", "aria-describedby": "answer-prompt" };
    if (SECRET_NAMES.has(option.name)) {
      attributes.type = "password";
      attributes.autocomplete = option.name === "RESET" ? "new-password" : "current-password";
    } else {
      attributes.type = "text";
      attributes.autocomplete = "off";
    }
    fields.appendChild(element("input", null, attributes));
  }
  $("answer-form").hidden = false;
  say("");
  fields.querySelector("input").focus();
}

async function submitAnswer(event) {
  event.preventDefault();
  if (!mechanism) {
    return;
  }
  const inputs = Array.from($("answer-fields").querySelectorAll("input"));
  let answer;
  if (Array.isArray(mechanism.questions) && mechanism.questions.length > 0) {
    answer = {};
    for (const input of inputs) {
      answer[input.dataset.questionId] = input.value;
    }
  } else {
    answer = inputs[0].value;
  }
  await sendAnswer(answer);
}

async function submitCode(event) {
  event.preventDefault();
  if (!mechanism) {
    return;
  }
  await sendAnswer($("code").value.trim());
}

async function sendAnswer(answer) {
  const gen = generation;
  showError("");
  say("Checking…");
  const result = await call("POST", "/auth/advance", { mechanism: mechanism.id, answer });
  if (gen !== generation) {
    return;
  }
  continueLogin(result);
}

function showPending(step) {
  if (federated && step.mechanism === federated.mechanism) {
    // A federated login still waiting for the identity provider: stay on its screen, keep polling.
    $("redirect-text").textContent = step.prompt || $("redirect-text").textContent;
    schedulePoll(POLL_MS);
    return;
  }
  const current =
    challenge && Array.isArray(challenge.mechanisms)
      ? challenge.mechanisms.find((option) => option.id === step.mechanism)
      : null;
  if (current) {
    mechanism = current;
  }
  if ($("view-challenge").hidden) {
    show("view-challenge");
  }
  resetChallengeParts();
  $("other-method").hidden = !challenge || challenge.mechanisms.length < 2;
  $("pending-prompt").textContent = step.prompt || (mechanism && mechanism.prompt) || "";
  const hasNumber = typeof step.number === "string" && step.number !== "";
  $("pending-number").textContent = hasNumber ? step.number : "";
  $("pending-number-box").hidden = !hasNumber;
  $("pending").hidden = false;
  if (mechanism && mechanism.kind === "text_oob") {
    const wasHidden = $("code-form").hidden;
    $("code-form").hidden = false;
    if (wasHidden) {
      $("code").value = "";
    }
  }
  showDemoApprove($("username").value.trim() || "USER");
  say(hasNumber ? `Waiting for approval. Tap ${step.number} on your device.` : "Waiting for approval.", true);
  schedulePoll(POLL_MS);
}

function showDemoApprove(username) {
  const base = simulatorUrl || "SIMULATOR_URL";
  $("demo-approve-command").textContent = `curl -X POST ${base}/_sim/oob/${username}/approve`;
}

function schedulePoll(delay) {
  stopPolling();
  const gen = generation;
  pollTimer = window.setTimeout(() => poll(gen), delay);
}

function stopPolling() {
  if (pollTimer !== null) {
    window.clearTimeout(pollTimer);
    pollTimer = null;
  }
}

async function poll(gen) {
  pollTimer = null;
  if (gen !== generation) {
    return;
  }
  const result = await call("POST", "/auth/poll", {});
  if (gen !== generation) {
    return;
  }
  if (result.status === 200 && result.data && result.data.status === "pending" && federated) {
    schedulePoll(POLL_MS);
    return;
  }
  if (result.status === 200 && result.data && result.data.status === "pending") {
    // Keep the code the user may be typing: refresh only the prompt and number, then poll again.
    const hasNumber = typeof result.data.number === "string" && result.data.number !== "";
    $("pending-number").textContent = hasNumber ? result.data.number : "";
    $("pending-number-box").hidden = !hasNumber;
    schedulePoll(POLL_MS);
    return;
  }
  if (result.status === 200) {
    handleStep(result.data);
    return;
  }
  if (result.status === 429 || result.status === 0 || result.status >= 500) {
    handleFailure(result, { loginStep: true });
    schedulePoll(Math.max(POLL_MS, (result.retryAfter ?? 0) * 1000));
    return;
  }
  handleFailure(result, { loginStep: true });
}

async function cancelLogin() {
  show("loading");
  await call("POST", "/auth/cancel", {});
  showUsername();
  showError("");
  say("Sign-in cancelled.");
}

// A federated user: the identity provider's page opens in a window of its own (IdP pages refuse to be
// framed), this page polls until the sign-in there is done, and takes the PIN the IdP shows when asked to.
function showRedirect(step) {
  show("view-redirect");
  const link = $("redirect-link");
  const safe = safeUrl(step.url);
  $("pin-form").hidden = true;
  $("redirect-wait").hidden = true;
  if (!safe || typeof step.mechanism !== "string") {
    federated = null;
    link.removeAttribute("href");
    link.hidden = true;
    $("redirect-text").textContent = "The identity provider's address is not one this page will open.";
    say("");
    return;
  }
  federated = { mechanism: step.mechanism, pin: step.pin === true };
  link.href = safe;
  link.hidden = false;
  // noopener: the IdP's page gets no handle on this one. A blocked window leaves the link to click.
  window.open(safe, "_blank", "noopener,noreferrer");
  $("redirect-text").textContent = federated.pin
    ? "Sign in at your identity provider in the window that opened, then enter the PIN it shows."
    : "Sign in at your identity provider in the window that opened.";
  $("redirect-wait").hidden = false;
  if (federated.pin) {
    $("pin").value = "";
    $("pin-form").hidden = false;
  }
  say("Continue at your identity provider.");
  schedulePoll(POLL_MS);
}

async function submitPin(event) {
  event.preventDefault();
  const pin = $("pin").value.trim();
  if (!federated || !pin) {
    return;
  }
  const gen = generation;
  showError("");
  say("Checking…");
  const result = await call("POST", "/auth/advance", { mechanism: federated.mechanism, answer: pin });
  if (gen !== generation) {
    return;
  }
  continueLogin(result);
}

// Signed in -------------------------------------------------------------------------------------------

function showHome(user) {
  show("view-home");
  showError("");
  const info = user || {};
  $("user-name").textContent = info.display_name || info.username || "";
  $("user-username").textContent = info.username || "";
  $("user-email").textContent = info.email || "";
  $("user-tenant").textContent = info.tenant || "";
  say(`Signed in as ${info.display_name || info.username || "you"}.`);
  $("home-title").focus();
  loadApps();
  loadSessions();
}

async function loadApps() {
  const gen = generation;
  const list = $("apps");
  clear(list);
  $("apps-status").textContent = "Loading apps…";
  const result = await call("POST", "/api/UPRest/GetUPData", {});
  if (gen !== generation) {
    return;
  }
  if (result.status !== 200) {
    if (result.status === 401) {
      handleFailure(result);
      return;
    }
    $("apps-status").textContent = `Apps are not available (HTTP ${result.status}).`;
    return;
  }
  const envelope = result.data || {};
  const apps = envelope.success && envelope.Result && Array.isArray(envelope.Result.Apps) ? envelope.Result.Apps : null;
  if (apps === null) {
    $("apps-status").textContent = "Apps are not available.";
    return;
  }
  $("apps-status").textContent = apps.length === 0 ? "No apps are assigned to you." : "";
  for (const app of apps) {
    list.appendChild(appItem(app || {}));
  }
}

function appItem(app) {
  const item = element("li");
  const name = String(app.DisplayName || app.Name || app.AppKey || "App");
  const icon = safeUrl(app.Icon);
  if (icon) {
    item.appendChild(element("img", null, { src: icon, alt: "", referrerpolicy: "no-referrer" }));
  }
  const url = safeUrl(app.Url);
  if (url) {
    item.appendChild(element("a", name, { href: url, target: "_blank", rel: "noopener noreferrer" }));
  } else {
    item.appendChild(element("span", name));
  }
  return item;
}

async function loadSessions() {
  const gen = generation;
  const result = await call("GET", "/auth/sessions");
  if (gen !== generation) {
    return;
  }
  if (result.status !== 200 || !Array.isArray(result.data)) {
    handleFailure(result);
    return;
  }
  const body = $("sessions-body");
  clear(body);
  for (const session of result.data) {
    body.appendChild(sessionRow(session));
  }
}

function when(value) {
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? "" : date.toLocaleString();
}

// "Chrome 156 on Linux" for the table; the whole User-Agent stays in the cell's title.
const BROWSERS = [
  [/Edg(?:e|A|iOS)?\/(\d+)/, "Edge"],
  [/OPR\/(\d+)/, "Opera"],
  [/Firefox\/(\d+)/, "Firefox"],
  [/HeadlessChrome\/(\d+)/, "Headless Chrome"],
  [/(?:Chrome|CriOS)\/(\d+)/, "Chrome"],
  [/Version\/(\d+)[^ ]* (?:Mobile\/\S+ )?Safari\//, "Safari"],
];
const SYSTEMS = [
  [/Android/, "Android"],
  [/iPhone|iPad|iPod/, "iOS"],
  [/CrOS/, "ChromeOS"],
  [/Windows/, "Windows"],
  [/Mac OS X|Macintosh/, "macOS"],
  [/Linux/, "Linux"],
];

function shortAgent(agent) {
  const browser = BROWSERS.find(([pattern]) => pattern.test(agent));
  const system = SYSTEMS.find(([pattern]) => pattern.test(agent));
  if (!browser) {
    return agent.length > 40 ? `${agent.slice(0, 40)}…` : agent;
  }
  const name = `${browser[1]} ${agent.match(browser[0])[1]}`;
  return system ? `${name} on ${system[1]}` : name;
}

function sessionRow(session) {
  const row = element("tr");
  row.dataset.current = session.current ? "true" : "false";
  const started = element("td", when(session.created_at));
  if (session.current) {
    started.appendChild(element("strong", " (this session)"));
  }
  row.appendChild(started);
  row.appendChild(element("td", when(session.last_seen_at)));
  const agent = element("td", shortAgent(session.user_agent || ""));
  agent.title = session.user_agent || "";
  row.appendChild(agent);
  row.appendChild(element("td", session.ip || ""));
  const actions = element("td");
  const label = session.current ? "End this session" : "Revoke";
  const button = element("button", label, { type: "button" });
  button.addEventListener("click", () => revokeSession(session));
  actions.appendChild(button);
  row.appendChild(actions);
  return row;
}

async function revokeSession(session) {
  const result = await call("DELETE", `/auth/sessions/${encodeURIComponent(session.id)}`);
  if (result.status === 204 && session.current) {
    showUsername();
    say("This session has ended.");
    return;
  }
  if (result.status === 204 || result.status === 404) {
    say(result.status === 204 ? "Session revoked." : "That session had already ended.");
    await loadSessions();
    return;
  }
  handleFailure(result);
}

async function logout() {
  show("loading");
  const result = await call("POST", "/auth/logout");
  showUsername();
  $("tenant-signout").hidden = true;
  if (result.status === 204) {
    showError("");
    say("You are signed out.");
  } else if (result.status === 200 && result.data && result.data.end_session_url) {
    // An OAuth session: the tenant's own browser session may live on; offer its sign-out page.
    showError("");
    say("You are signed out.");
    const url = safeUrl(result.data.end_session_url);
    if (url) {
      $("tenant-signout-link").href = url;
      $("tenant-signout").hidden = false;
    }
  } else {
    handleFailure(result);
  }
}

/** Whether the session still lives (another tab may have signed out); shows the sign-in form if not. */
async function recheckSession() {
  if (!homeShown) {
    return;
  }
  const gen = generation;
  const result = await call("GET", "/auth/session?slide=false");
  if (gen === generation && result.status === 401) {
    showUsername();
    showError("You are signed out. Sign in again.");
  }
}

// Start -----------------------------------------------------------------------------------------------

async function start() {
  $("username-form").addEventListener("submit", submitUsername);
  $("answer-form").addEventListener("submit", submitAnswer);
  $("code-form").addEventListener("submit", submitCode);
  $("cancel").addEventListener("click", cancelLogin);
  $("other-method").addEventListener("click", showChoice);
  $("redirect-back").addEventListener("click", cancelLogin);
  $("pin-form").addEventListener("submit", submitPin);
  $("logout").addEventListener("click", logout);
  $("sessions-refresh").addEventListener("click", loadSessions);
  $("home-title").setAttribute("tabindex", "-1");
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") {
      recheckSession();
    }
  });

  await loadOptions();
  const result = await call("GET", "/auth/session");
  if (result.status !== 200) {
    showLoginError();
  }
  if (result.status === 200 && result.data && result.data.authenticated) {
    showHome(result.data.user);
  } else {
    showUsername();
    if (result.status !== 401) {
      handleFailure(result);
    }
  }
}

start();
