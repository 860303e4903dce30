import { BffError } from "./errors.js";
import { LoginRun } from "./login.js";
import { Transport } from "./transport.js";
export const DEFAULT_POLL_INTERVAL = 2000;
export function createBffClient(options = {}) {
    const transport = new Transport(options.baseUrl ?? "", options.fetch, options.credentials);
    const pollInterval = options.pollInterval ?? DEFAULT_POLL_INTERVAL;
    return {
        baseUrl: transport.baseUrl,
        async options() {
            const body = await transport.call("GET", "/auth/options");
            return { loginModes: body.login_modes };
        },
        login(username, handlers) {
            return new LoginRun(transport, pollInterval, handlers).run(username);
        },
        oauthLoginUrl(returnTo = "/") {
            return transport.url("/auth/oauth/login?return_to=" + encodeURIComponent(returnTo));
        },
        async session({ slide = true } = {}) {
            try {
                const body = await transport.call("GET", slide ? "/auth/session" : "/auth/session?slide=false");
                return { user: body.user, expiresAt: body.expires_at, idleExpiresAt: body.idle_expires_at, login: body.login };
            }
            catch (error) {
                if (error instanceof BffError && error.status === 401) {
                    return null;
                }
                throw error;
            }
        },
        async logout() {
            const body = await transport.call("POST", "/auth/logout");
            return { endSessionUrl: body?.end_session_url ?? null };
        },
        sessions: {
            async list() {
                const body = await transport.call("GET", "/auth/sessions");
                return body.map((s) => ({
                    id: s.id,
                    current: s.current,
                    createdAt: s.created_at,
                    lastSeenAt: s.last_seen_at,
                    userAgent: s.user_agent,
                    ip: s.ip,
                    login: s.login,
                }));
            },
            async revoke(id) {
                try {
                    await transport.call("DELETE", "/auth/sessions/" + encodeURIComponent(id));
                    return true;
                }
                catch (error) {
                    if (error instanceof BffError && error.status === 404) {
                        return false;
                    }
                    throw error;
                }
            },
        },
        api(path, init) {
            return transport.send("/api" + (path.startsWith("/") ? path : "/" + path), init);
        },
        fetch(path, init) {
            return transport.send(path, init);
        },
    };
}
