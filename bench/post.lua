-- wrk: POST /api/UPRest/GetUPData as the SPA sends it (cookie, X-CSRF, small JSON body).
-- BENCH_COOKIE is the BFF's session cookie (name=value); BENCH_AUTH the Bearer when wrk hits the upstream itself.
wrk.method = "POST"
wrk.body = '{"force":false}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json"
wrk.headers["X-CSRF"] = "1"
for name, variable in pairs({Cookie = "BENCH_COOKIE", Authorization = "BENCH_AUTH"}) do
  local value = os.getenv(variable)
  if value ~= nil and value ~= "" then
    wrk.headers[name] = value
  end
end
