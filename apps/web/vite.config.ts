import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// The workbench is a single-page app served by the Huiliu server from apps/web/dist (see
// apps/server/src/http/static.ts). `npx vite apps/web` runs it with hot reload against a server on :3000.
export default defineConfig({
  root: import.meta.dirname,
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    chunkSizeWarningLimit: 2000,
    rollupOptions: {
      output: {
        // React and Ant Design change less often than our code: separate, long-cached chunks.
        manualChunks: (id) => (id.includes('node_modules') ? (/[\\/](antd|@ant-design|@rc-component|rc-[a-z-]+)[\\/]/.test(id) ? 'antd' : 'vendor') : undefined),
      },
    },
  },
  server: {
    proxy: {
      '/api': 'http://localhost:3000',
      '/files': 'http://localhost:3000',
      '/widget.js': 'http://localhost:3000',
      '/socket.io': { target: 'http://localhost:3000', ws: true },
    },
  },
});
