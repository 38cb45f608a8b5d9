/**
 * Entry point of widget.js. A site embeds the widget with one tag:
 *
 *   <script src="https://huiliu.example/widget.js" data-inbox="PUBLIC_ID" async></script>
 *
 * The server URL is taken from the script's own src, so the snippet needs no configuration. Optional:
 * `data-offline-after="60"` (seconds without an answer before offering the leave-your-email form);
 * `data-identifier` + `data-identifier-hash` (identity verification of the site's signed-in user: the
 * hash is hex HMAC-SHA256 of the identifier with the inbox's identity key, computed on the site's server).
 *
 * The page can drive the widget through `window.HuiliuWidget`: open(), close(), toggle(), destroy(),
 * setLocale('zh-CN' | 'en' | 'auto').
 */
import type { LocaleSetting } from './i18n.ts';
import { Widget } from './widget.ts';

export interface HuiliuWidgetApi {
  readonly version: string;
  open(): void;
  close(): void;
  toggle(): void;
  destroy(): void;
  setLocale(locale: LocaleSetting): void;
}

declare global {
  interface Window {
    HuiliuWidget?: HuiliuWidgetApi;
  }
}

/**
 * `document.currentScript` is only set while this file's top level runs (async scripts included), so it is
 * read right here; the fallback covers loaders that inject the code differently.
 */
function findScript(): HTMLScriptElement | null {
  const current = document.currentScript;
  if (current instanceof HTMLScriptElement && current.dataset.inbox) return current;
  return document.querySelector<HTMLScriptElement>('script[data-inbox][src*="widget"]') ?? document.querySelector<HTMLScriptElement>('script[data-inbox]');
}

function boot(): void {
  if (window.HuiliuWidget) {
    console.warn('[huiliu] widget.js was included twice; the second copy does nothing');
    return;
  }
  const script = findScript();
  const publicId = script?.dataset.inbox;
  if (!script?.src || !publicId) {
    console.warn('[huiliu] add data-inbox="<inbox public id>" to the widget <script> tag');
    return;
  }
  const src = new URL(script.src, location.href);
  // Everything next to widget.js belongs to the same server (it may live under a path prefix).
  const base = src.origin + src.pathname.replace(/\/[^/]*$/, '');
  const offlineAfter = Number(script.dataset.offlineAfter);
  const { identifier, identifierHash } = script.dataset;
  const widget = new Widget({
    base,
    publicId,
    offlineAfterMs: (Number.isFinite(offlineAfter) && offlineAfter > 0 ? offlineAfter : 60) * 1000,
    identity: identifier && identifierHash ? { identifier, identifierHash } : undefined,
  });
  window.HuiliuWidget = {
    version: '0.1.0',
    open: () => widget.open(),
    close: () => widget.close(),
    toggle: () => widget.toggle(),
    destroy: () => {
      widget.destroy();
      delete window.HuiliuWidget;
    },
    setLocale: (locale) => widget.setLocale(locale),
  };
  const start = () => void widget.start();
  if (document.body) start();
  else document.addEventListener('DOMContentLoaded', start, { once: true });
}

boot();
