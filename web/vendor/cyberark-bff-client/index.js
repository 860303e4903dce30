/**
 * cyberark-bff-client: the browser's side of the CyberArk Identity BFF.
 *
 *     const bff = createBffClient();
 *     const user = await bff.login(name, { challenge, pending, redirect });
 */
export { createBffClient, DEFAULT_POLL_INTERVAL } from "./client.js";
export { BffError, NETWORK_ERROR, INVALID_RESPONSE } from "./errors.js";
