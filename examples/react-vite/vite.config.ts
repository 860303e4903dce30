// The app's dev server proxies the BFF's paths, so the page and the BFF share one origin (the session cookie,
// X-CSRF and the BFF's Origin check work as behind one ingress in production). Do not set changeOrigin: the BFF
// compares the browser's Origin with the Host it sees.
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

const bff = process.env.BFF_URL ?? "http://127.0.0.1:8000";

export default defineConfig({
  plugins: [react()],
  server: {
    host: "127.0.0.1",
    port: Number(process.env.VITE_PORT ?? 5173),
    strictPort: true,
    proxy: { "/auth": bff, "/api": bff },
  },
  preview: {
    host: "127.0.0.1",
    port: Number(process.env.VITE_PORT ?? 4173),
    strictPort: true,
    proxy: { "/auth": bff, "/api": bff },
  },
});
