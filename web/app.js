// The demo SPA, built on the browser client package (clients/js, served here from the committed copy in
// vendor/): the package runs the login's steps, polling, retries and cancel; this file only draws screens.
// Rules kept here on purpose: every call goes through the package (same origin, the cookie, X-CSRF on every
// unsafe call); text from the tenant is only ever set with textContent, never parsed as HTML; only http(s) URLs
// from the tenant become links or images.

import { BffError, createBffClient } from "./vendor/cyberark-bff-client/index.js";

const bff = createBffClient();

const $ = (id) => document.getElementById(id);

const VIEWS = ["loading", "view-username", "view-challenge", "view-redirect", "view-home"];

// Bumped on every change of view, so an answer that returns late cannot act on a screen that moved on.
let generation = 0;
let homeShown = false;
// The login in progress: its AbortController, and what its callbacks wait for.
let login = null;

// Screen helpers --------------------------------------------------------------------------------------

function show(view) {
  generation += 1;
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

/** What a failure (a BffError from the package) tells the user; returns true when the view changed. */
function handleFailure(error, { loginStep = false } = {}) {
  if (!(error instanceof BffError)) {
    showError("Something went wrong. Try again.");
    return false;
  }
  if (error.status === 0) {
    showError("The service cannot be reached. Check your connection and try again.");
    return false;
  }
  if (error.status === 429) {
    showError(`Too many attempts. Try again in ${error.retryAfter ?? 60} seconds.`);
    return false;
  }
  if (error.code === "login_failed") {
    showUsername();
    showError("Sign-in failed. Check what you entered and start again.");
    return true;
  }
  if (error.code === "no_login_in_progress") {
    showUsername();
    showError("The sign-in was interrupted or took too long. Start again.");
    return true;
  }
  if (error.status === 401 && !loginStep) {
    showUsername();
    showError("You are signed out. Sign in again.");
    return true;
  }
  showError(error.message || `Something went wrong (HTTP ${error.status}). Try again.`);
  return false;
}

// Login -----------------------------------------------------------------------------------------------

// The login modes the BFF offers (GET /auth/options); the API login until it answers.
let loginModes = ["api"];

function showUsername() {
  show("view-username");
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
  try {
    loginModes = (await bff.options()).loginModes;
  } catch {
    // Keep the API login on offer; the session check below reports an unreachable service.
  }
  const back = window.location.pathname + window.location.search.replace(/[?&]login_error=[^&]*/, "");
  $("oauth-link").href = bff.oauthLoginUrl(back.startsWith("/") ? back : "/");
}

// The codes /auth/oauth/callback puts in ?login_error= (api.md §2), and what the user is told.
const LOGIN_ERRORS = {
  access_denied: "Sign-in was cancelled at CyberArk.",
  state_mismatch: "That sign-in took too long or came from another tab. Try again.",
  login_failed: "Sign-in with CyberArk failed. Try again.",
  rate_limited: "Too many sign-in attempts from this network. Wait a minute and try again.",
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
  // What this login's screens wait for: a choice, an answer, a typed code, a PIN.
  const current = {
    controller: new AbortController(),
    challenge: null,
    choose: null,
    reopen: null,
    answer: null,
    pending: null,
    pin: null,
  };
  login = current;
  try {
    const user = await bff.login(username, {
      challenge: (challenge, context) => askChallenge(current, challenge, context),
      pending: (pending) => showPending(current, pending),
      redirect: (redirect) => showRedirect(current, redirect),
      retrying: (error) => handleFailure(error, { loginStep: true }),
      signal: current.controller.signal,
    });
    if (login === current) {
      login = null;
      showHome(user);
    }
  } catch (error) {
    if (login !== current) {
      return;
    }
    login = null;
    if (current.controller.signal.aborted) {
      return;
    }
    say("");
    // The login is over either way: a failure that did not already lead back leaves its message on the form.
    if (!handleFailure(error, { loginStep: true })) {
      showUsername();
    }
  }
}

/** The package asks for this challenge's answer: show it, and resolve when the person chose or answered. */
function askChallenge(current, challenge, context) {
  current.challenge = challenge;
  current.pending = null;
  show("view-challenge");
  $("challenge-title").textContent =
    challenge.count > 1 ? `Verify it is you: step ${challenge.index + 1} of ${challenge.count}` : "Verify it is you";
  return new Promise((resolve) => {
    const answered = (choice) => {
      current.choose = null;
      current.reopen = null;
      resolve(choice);
    };
    const choose = (option) => {
      current.choose = null;
      resetChallengeParts();
      $("other-method").hidden = challenge.mechanisms.length < 2;
      showError("");
      if (option.kind === "text") {
        showAnswerForm(current, option, (answer) => answered({ mechanism: option.id, answer }));
        return;
      }
      // oob and text_oob: the package starts it at the tenant, then polls (and takes a typed code).
      say("Sending…");
      answered({ mechanism: option.id, action: "start_oob" });
    };
    // "Choose another method" while a text mechanism's form is open: back to the list, nothing sent yet.
    current.reopen = () => {
      current.choose = choose;
      current.answer = null;
      showChoice(current, challenge);
    };
    current.choose = choose;
    // One mechanism is chosen for the person, unless they came back to choose another.
    if (challenge.mechanisms.length === 1 && context.previous === undefined) {
      choose(challenge.mechanisms[0]);
    } else {
      showChoice(current, challenge);
    }
  });
}

function resetChallengeParts() {
  for (const id of ["choice", "answer-form", "pending", "code-form", "other-method"]) {
    $(id).hidden = true;
  }
}

function showChoice(current, challenge) {
  resetChallengeParts();
  const gen = generation;
  const list = $("choice-list");
  clear(list);
  for (const option of challenge.mechanisms) {
    const item = element("li");
    const button = element("button", option.label || option.name, { type: "button" });
    button.addEventListener("click", () => {
      if (gen === generation && current.choose) {
        current.choose(option);
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

/** "Choose another method": while waiting, the package stops polling and asks for the challenge again. */
function chooseAnother() {
  if (login && login.pending) {
    const pending = login.pending;
    login.pending = null;
    pending.chooseAgain();
  } else if (login && login.reopen) {
    login.reopen();
  }
}

const SECRET_NAMES = new Set(["UP", "RESET"]);

function showAnswerForm(current, option, submit) {
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
  current.answer = () => {
    const inputs = Array.from(fields.querySelectorAll("input"));
    if (questions.length > 0) {
      submit(Object.fromEntries(inputs.map((input) => [input.dataset.questionId, input.value])));
    } else {
      submit(inputs[0].value);
    }
  };
  $("answer-form").hidden = false;
  say("");
  fields.querySelector("input").focus();
}

function submitAnswer(event) {
  event.preventDefault();
  if (login && login.answer) {
    const answer = login.answer;
    login.answer = null;
    showError("");
    say("Checking…");
    answer();
  }
}

/** A step the package waits on (push, email link, federated sign-in); called again when its number changes. */
function showPending(current, pending) {
  current.pending = pending;
  if (pending.federated) {
    // A federated login still waiting for the identity provider: stay on its screen.
    if (pending.prompt) {
      $("redirect-text").textContent = pending.prompt;
    }
    return;
  }
  if ($("view-challenge").hidden) {
    show("view-challenge");
  }
  resetChallengeParts();
  const challenge = current.challenge;
  $("other-method").hidden = !challenge || challenge.mechanisms.length < 2;
  $("pending-prompt").textContent = pending.prompt || "";
  const hasNumber = typeof pending.number === "string" && pending.number !== "";
  $("pending-number").textContent = hasNumber ? pending.number : "";
  $("pending-number-box").hidden = !hasNumber;
  $("pending").hidden = false;
  if (pending.details && pending.details.kind === "text_oob") {
    const field = $("code-form");
    if (field.dataset.mechanism !== pending.mechanism) {
      // A new mechanism: an empty field; a refreshed prompt or number keeps what the person is typing.
      field.dataset.mechanism = pending.mechanism;
      $("code").value = "";
    }
    field.hidden = false;
  }
  showDemoApprove($("username").value.trim() || "USER");
  say(hasNumber ? `Waiting for approval. Tap ${pending.number} on your device.` : "Waiting for approval.", true);
}

// `make run` names its simulator in a header (X-BFF-Dev-Simulator) of the BFF's answers; read once from
// GET /auth/options (any BFF has it, no session needed). Elsewhere the hint names no port.
let simulatorUrl;

async function showDemoApprove(username) {
  if (simulatorUrl === undefined) {
    simulatorUrl = null;
    try {
      const answer = await bff.fetch("/auth/options", { cache: "no-store" });
      simulatorUrl = answer.headers.get("X-BFF-Dev-Simulator");
      await answer.text(); // read to its end: an answer left unread stays open
    } catch {
      simulatorUrl = null;
    }
  }
  $("demo-approve-command").textContent = `curl -X POST ${simulatorUrl || "SIMULATOR_URL"}/_sim/oob/${username}/approve`;
}

function submitCode(event) {
  event.preventDefault();
  const code = $("code").value.trim();
  if (login && login.pending && code) {
    showError("");
    say("Checking…");
    // The package sends it once the poll in flight is back, never beside it.
    login.pending.answer(code);
  }
}

function cancelLogin() {
  const current = login;
  login = null;
  $("code-form").dataset.mechanism = "";
  if (current) {
    // The package tells the BFF (POST /auth/cancel), which ends the login at the tenant too.
    current.controller.abort();
  }
  showUsername();
  showError("");
  say("Sign-in cancelled.");
}

// A federated user: the identity provider's page opens in a window of its own (IdP pages refuse to be
// framed), the package polls until the sign-in there is done, and takes the PIN the IdP shows when asked to.
function showRedirect(current, redirect) {
  show("view-redirect");
  const link = $("redirect-link");
  const safe = safeUrl(redirect.url);
  $("pin-form").hidden = true;
  $("redirect-wait").hidden = true;
  if (!safe) {
    link.removeAttribute("href");
    link.hidden = true;
    $("redirect-text").textContent = "The identity provider's address is not one this page will open.";
    say("");
    return undefined;
  }
  link.href = safe;
  link.hidden = false;
  // noopener: the IdP's page gets no handle on this one. A blocked window leaves the link to click.
  window.open(safe, "_blank", "noopener,noreferrer");
  $("redirect-text").textContent = redirect.pin
    ? "Sign in at your identity provider in the window that opened, then enter the PIN it shows."
    : "Sign in at your identity provider in the window that opened.";
  $("redirect-wait").hidden = false;
  say("Continue at your identity provider.");
  if (!redirect.pin) {
    return undefined;
  }
  $("pin").value = "";
  $("pin-form").hidden = false;
  return new Promise((resolve) => {
    current.pin = resolve;
  });
}

function submitPin(event) {
  event.preventDefault();
  const pin = $("pin").value.trim();
  if (login && login.pin && pin) {
    const send = login.pin;
    login.pin = null;
    showError("");
    say("Checking…");
    send(pin);
  }
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
  let response;
  try {
    response = await bff.api("/UPRest/GetUPData", { method: "POST", body: {}, headers: { Accept: "application/json" } });
  } catch (error) {
    if (gen === generation) {
      $("apps-status").textContent = "Apps are not available.";
    }
    return;
  }
  if (gen !== generation) {
    return;
  }
  if (response.status === 401) {
    handleFailure(new BffError(401, "unauthenticated", "You are signed out."));
    return;
  }
  if (response.status !== 200) {
    $("apps-status").textContent = `Apps are not available (HTTP ${response.status}).`;
    return;
  }
  const envelope = await response.json().catch(() => ({}));
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
  let sessions;
  try {
    sessions = await bff.sessions.list();
  } catch (error) {
    if (gen === generation) {
      handleFailure(error);
    }
    return;
  }
  if (gen !== generation) {
    return;
  }
  const body = $("sessions-body");
  clear(body);
  for (const session of sessions) {
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
  const started = element("td", when(session.createdAt));
  if (session.current) {
    started.appendChild(element("strong", " (this session)"));
  }
  row.appendChild(started);
  row.appendChild(element("td", when(session.lastSeenAt)));
  const agent = element("td", shortAgent(session.userAgent || ""));
  agent.title = session.userAgent || "";
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
  let revoked;
  try {
    revoked = await bff.sessions.revoke(session.id);
  } catch (error) {
    handleFailure(error);
    return;
  }
  if (revoked && session.current) {
    showUsername();
    say("This session has ended.");
    return;
  }
  say(revoked ? "Session revoked." : "That session had already ended.");
  await loadSessions();
}

async function logout() {
  show("loading");
  let result;
  try {
    result = await bff.logout();
  } catch (error) {
    showUsername();
    handleFailure(error);
    return;
  }
  showUsername();
  $("tenant-signout").hidden = true;
  showError("");
  say("You are signed out.");
  // An OAuth session: the tenant's own browser session may live on; offer its sign-out page.
  const url = safeUrl(result.endSessionUrl);
  if (url) {
    $("tenant-signout-link").href = url;
    $("tenant-signout").hidden = false;
  }
}

/** Whether the session still lives (another tab may have signed out); shows the sign-in form if not. */
async function recheckSession() {
  if (!homeShown) {
    return;
  }
  const gen = generation;
  const session = await bff.session({ slide: false }).catch(() => undefined);
  if (gen === generation && session === null) {
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
  $("other-method").addEventListener("click", chooseAnother);
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
  let session;
  try {
    session = await bff.session();
  } catch (error) {
    showLoginError();
    showUsername();
    handleFailure(error);
    return;
  }
  if (session) {
    showHome(session.user);
  } else {
    showLoginError();
    showUsername();
  }
}

start();
