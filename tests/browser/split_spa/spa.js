// Calls the BFF on its own origin the way any SPA must: credentials included, X-CSRF on every change.
const params = new URLSearchParams(location.search);
const bff = params.get("bff") || sessionStorage.getItem("bff");
sessionStorage.setItem("bff", bff);

// One call; the answer as plain data, or {blocked} when the browser refused to show it (CORS).
window.call = async (method, path, body) => {
  const init = { method, credentials: "include", headers: {} };
  if (method !== "GET") init.headers["X-CSRF"] = "1";
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(bff + path, init);
  } catch (error) {
    return { blocked: String(error) };
  }
  const text = await response.text();
  return {
    status: response.status,
    body: text ? JSON.parse(text) : null,
    requestId: response.headers.get("X-Request-ID"),
    retryAfter: response.headers.get("Retry-After"),
  };
};

const link = document.getElementById("oauth");
link.href = `${bff}/auth/oauth/login?return_to=${encodeURIComponent(location.origin + "/after.html")}`;
document.getElementById("login-error").textContent = params.get("login_error") || "";
