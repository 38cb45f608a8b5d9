import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { WIDGET_DIST } from '../../src/http/static.ts';

// The widget loads on customers' pages, often on phones: its budget is 35 KB gzipped, all included
// (client core and socket.io-client). Built by `npm run build:ui`, which `npm test` runs first.
describe('widget bundle', () => {
  it('stays within 35 KB gzipped and leaks no globals but HuiliuWidget', () => {
    const js = readFileSync(join(WIDGET_DIST, 'widget.js'));
    const kb = gzipSync(js, { level: 9 }).length / 1024;
    expect(kb).toBeLessThanOrEqual(35);
    // One IIFE: no top-level bindings that could clash with the host page's variables; the public API is
    // set explicitly as window.HuiliuWidget inside it.
    const source = js.toString('utf8').trim();
    expect(source.startsWith('(function(){')).toBe(true);
    expect(source.endsWith('})();')).toBe(true);
    expect(source).toContain('window.HuiliuWidget');
  });
});
