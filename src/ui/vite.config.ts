/**
 * Builds the web UI into dist/ui (index.html and hashed assets/), which every barge server serves
 * at / (src/api/ui.ts). Everything is bundled: the page loads nothing from outside the server.
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/',
  plugins: [react()],
  logLevel: 'warn',
  build: {
    outDir: fileURLToPath(new URL('../../dist/ui', import.meta.url)),
    emptyOutDir: true,
    // The browsers barge's users run; no legacy polyfills.
    target: 'es2022',
    chunkSizeWarningLimit: 1024,
  },
});
