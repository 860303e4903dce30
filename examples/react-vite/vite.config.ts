// The app's dev server proxies the BFF's paths, so the page and the BFF share one origin (the session cookie,
// X-CSRF and the BFF's Origin check work as behind one ingress in production). The proxy keeps the browser's
// Host (no changeOrigin; Vite's string shorthand would set it): the BFF compares the Origin with that Host.
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

const bff = process.env.BFF_URL ?? "http://127.0.0.1:8000";
const proxy = { "/auth": { target: bff }, "/api": { target: bff } };

export default defineConfig({
  plugins: [react()],
  server: {
    host: "127.0.0.1",
    port: Number(process.env.VITE_PORT ?? 5173),
    strictPort: true,
    proxy,
  },
  preview: {
    host: "127.0.0.1",
    port: Number(process.env.VITE_PORT ?? 4173),
    strictPort: true,
    proxy,
  },
});
