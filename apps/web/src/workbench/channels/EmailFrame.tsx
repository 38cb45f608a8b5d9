import { useState } from 'react';
import { Button } from 'antd';
import { useI18n } from '../../lib/i18n.tsx';

/**
 * The frame's document: the sanitized HTML plus a policy that loads nothing but inline styles and images
 * (no scripts, fonts, frames or forms going anywhere), and styles that keep wide newsletters inside.
 * Remote images load only when the agent asks: a tracking pixel would otherwise tell the sender that the
 * mail was read, when, and from which address.
 */
function documentFor(html: string, remoteImages: boolean): string {
  const img = remoteImages ? 'data: https:' : 'data:';
  return `<!doctype html><html><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src ${img}; form-action 'none'">
<meta name="referrer" content="no-referrer">
<style>html,body{margin:0;padding:8px;font:14px/1.55 -apple-system,BlinkMacSystemFont,"Segoe UI","PingFang SC","Microsoft YaHei",sans-serif;color:#1f1f1f;background:#fff;word-break:break-word}img{max-width:100%;height:auto}table{max-width:100%}pre{white-space:pre-wrap}</style>
</head><body>${html}</body></html>`;
}

/**
 * An email's HTML, shown ONLY here: `sandbox=""` (no scripts, no same origin, no popups, no top
 * navigation), so even HTML that slipped past the server's sanitizer cannot touch the console. Being
 * cross-origin, the frame cannot be measured: it has a fixed height the agent can drag taller.
 */
export function EmailFrame({ html }: { html: string }) {
  const { t } = useI18n();
  const [remoteImages, setRemoteImages] = useState(false);
  const hasRemoteImages = /<img[^>]+src="https?:/i.test(html);
  return (
    <div className="wb-email-frame">
      {hasRemoteImages && !remoteImages && (
        <Button size="small" type="link" onClick={() => setRemoteImages(true)} data-testid="msg-load-images">
          {t('channels.msg.loadImages')}
        </Button>
      )}
      <iframe sandbox="" srcDoc={documentFor(html, remoteImages)} title={t('channels.msg.formatted')} referrerPolicy="no-referrer" data-testid="msg-html-frame" />
    </div>
  );
}
