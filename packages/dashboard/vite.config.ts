/**
 * The dashboard's build: a static SPA under /dashboard/ (the server serves dist/ there). No source maps
 * are shipped, and no inline script is emitted, so the server's CSP can be `script-src 'self'`.
 */
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

export default defineConfig({
  base: '/dashboard/',
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: false,
    // Keep the CSS a file (CSP style-src 'self'), never injected as a <style> by script.
    cssCodeSplit: false,
    modulePreload: { polyfill: false },
  },
});
