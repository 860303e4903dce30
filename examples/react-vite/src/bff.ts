import { createBffClient } from "cyberark-bff-client";

// Same origin: the dev server (or your ingress) sends /auth and /api to the BFF.
export const bff = createBffClient();
