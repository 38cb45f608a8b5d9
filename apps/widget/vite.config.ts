import { defineConfig } from 'vite';

// One self-contained script (IIFE) that a site embeds with a single <script> tag; served by the Huiliu
// server as /widget.js. Budget: ≤ 35 KB gzipped (checked by the widget test and reported by the build).
export default defineConfig({
  root: import.meta.dirname,
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // es2022: class fields stay native. With es2020 esbuild emits its __defNormalProp helpers as top-level
    // `var`s outside the IIFE, i.e. globals (`l`, `ke`…) that would clobber the host page's own.
    target: 'es2022',
    lib: { entry: 'src/main.ts', formats: ['iife'], name: 'HuiliuWidget', fileName: () => 'widget.js' },
    minify: 'esbuild',
    reportCompressedSize: true,
  },
});
