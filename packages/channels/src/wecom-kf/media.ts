/**
 * Media of inbound messages: GET cgi-bin/media/get?access_token=&media_id= (获取临时素材,
 * https://developer.work.weixin.qq.com/document/path/90254). The file comes back as the body with its
 * Content-Type and `Content-disposition: attachment; filename="…"`; an error comes back as JSON
 * `{errcode, errmsg}` (HTTP 200). media_id values expire after 3 days.
 */
import type { MediaRef } from '../adapter.ts';
import { ChannelError } from '../adapter.ts';
import { errorOf } from '../wechat/api-common.ts';
import { exchange, redact, wecomError, withAccessToken, type Ctx } from './api.ts';
import { apiUrl, MAX_DOWNLOAD_BYTES } from './config.ts';

const EXTENSIONS: Record<string, string> = {
  'image/jpeg': 'jpg', 'image/png': 'png', 'image/gif': 'gif', 'audio/amr': 'amr', 'audio/silk': 'silk', 'video/mp4': 'mp4', 'application/pdf': 'pdf',
};

/** filename="…" or RFC 5987 filename*=UTF-8''… of a Content-Disposition header. */
export function fileNameOf(disposition: string | undefined): string | null {
  if (!disposition) return null;
  const star = /filename\*\s*=\s*(?:UTF-8|utf-8)''([^;]+)/.exec(disposition);
  if (star) {
    try {
      return decodeURIComponent(star[1]!.trim());
    } catch { /* fall through to the plain form */ }
  }
  const plain = /filename\s*=\s*"([^"]*)"|filename\s*=\s*([^;\s]+)/.exec(disposition);
  const name = plain?.[1] ?? plain?.[2];
  // Some servers send UTF-8 bytes as latin1 in the quoted form: undo that when it decodes cleanly.
  if (name && /[\u0080-\u00ff]/.test(name)) {
    const utf8 = Buffer.from(name, 'latin1').toString('utf8');
    if (!utf8.includes('\ufffd')) return utf8;
  }
  return name?.trim() || null;
}

export async function fetchKfMedia(media: MediaRef, ctx: Ctx): Promise<{ bytes: Buffer; contentType: string; fileName: string }> {
  if (!media.ref) throw new ChannelError('malformed', 'WeCom media has no media_id to fetch', { retryable: false });
  const mediaId = media.ref;
  const res = await withAccessToken(ctx, async (token) => {
    const r = await exchange(ctx, apiUrl(ctx.config, 'cgi-bin/media/get', { access_token: token, media_id: mediaId }), { method: 'GET', maxBytes: MAX_DOWNLOAD_BYTES, timeoutMs: 120_000 });
    const type = r.headers['content-type']?.split(';')[0]?.trim().toLowerCase() ?? '';
    if (type === 'application/json' || type === 'text/plain' || r.status !== 200) {
      let body: unknown;
      try {
        body = r.json();
      } catch {
        body = undefined;
      }
      const error = errorOf(body);
      if (error) throw wecomError('media download', error.errcode, redact(error.errmsg, ctx.secrets.secret));
      if (r.status !== 200) {
        throw new ChannelError('provider_error', `WeCom media download failed with HTTP ${r.status}`, { retryable: r.status >= 500 || r.status === 429 || r.status === 408 });
      }
    }
    return r;
  });
  const contentType = res.headers['content-type']?.split(';')[0]?.trim().toLowerCase() || media.contentType || 'application/octet-stream';
  const fileName = fileNameOf(res.headers['content-disposition'])
    ?? media.fileName
    ?? `wecom-${mediaId.replace(/[^A-Za-z0-9_-]/g, '').slice(0, 16) || 'media'}.${EXTENSIONS[contentType] ?? 'bin'}`;
  return { bytes: res.body, contentType, fileName };
}
