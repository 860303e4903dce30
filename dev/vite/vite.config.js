// An SPA's Vite dev server in front of `make run`'s BFF: the page and the BFF share the dev server's origin,
// so the session cookie, X-CSRF and the Origin check work as in production behind one ingress.
//
//   BFF_PUBLIC_URL=http://127.0.0.1:5173 make run      # the BFF on :8000; OAuth comes back through Vite
//   npm ci && npm run dev                               # this dev server on :5173, serving ../../web
//
// Do not set changeOrigin: the BFF must see the Host the browser used (its Origin check compares the two).
import { defineConfig } from "vite";

const bff = process.env.BFF_URL ?? "http://127.0.0.1:8000";

export default defineConfig({
  root: process.env.SPA_ROOT ?? "../../web",
  // Vite's cache beside its own node_modules, not in the SPA's folder.
  cacheDir: "node_modules/.vite",
  server: {
    host: "127.0.0.1",
    port: Number(process.env.VITE_PORT ?? 5173),
    strictPort: true,
    proxy: {
      "/auth": { target: bff },
      "/api": { target: bff },
    },
  },
});
