/**
 * Temporary media (临时素材) of the Official Account API.
 *
 * Download: GET cgi-bin/media/get?access_token&media_id
 * (https://developers.weixin.qq.com/doc/offiaccount/Asset_Management/Get_temporary_materials.html):
 * the file itself with `Content-disposition: attachment; filename="MEDIA_ID.jpg"`, a JSON
 * `{ "video_url": … }` for videos, or a JSON error (`{"errcode":40007,"errmsg":"invalid media_id"}`).
 * Upload: POST cgi-bin/media/upload?access_token&type=image, multipart field `media`
 * (https://developers.weixin.qq.com/doc/offiaccount/Asset_Management/New_temporary_materials.html),
 * answering `{ "type", "media_id", "created_at" }`; media ids stay valid for 3 days.
 */
import type { ChannelContext, ChannelHttpResponse, MediaRef, OutboundAttachment } from '../adapter.ts';
import { ChannelError } from '../adapter.ts';
import { encodeMultipart, errorOf } from '../wechat/api-common.ts';
import { callApi, exchange, wechatError, withAccessToken } from './api.ts';
import { apiUrl, IMAGE_TYPES, MAX_DOWNLOAD_BYTES, MAX_IMAGE_BYTES, type WechatOaConfig } from './config.ts';

const EXTENSIONS: Readonly<Record<string, string>> = {
  'image/jpeg': 'jpg', 'image/png': 'png', 'image/gif': 'gif', 'audio/amr': 'amr', 'audio/speex': 'speex', 'audio/mpeg': 'mp3', 'video/mp4': 'mp4',
};

/** The filename of a Content-Disposition header, reduced to a safe base name. */
export function dispositionFileName(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const star = /filename\*\s*=\s*(?:UTF-8'')?([^;]+)/i.exec(header);
  const plain = /filename\s*=\s*"?([^";]+)"?/i.exec(header);
  let name = star?.[1] ?? plain?.[1];
  if (!name) return undefined;
  try {
    if (star) name = decodeURIComponent(name);
  } catch { /* keep it as sent */ }
  name = name.trim().split(/[\\/]/).pop()!.replace(/[\u0000-\u001f"]/g, '').slice(0, 200);
  return name || undefined;
}

function failedDownload(res: ChannelHttpResponse): ChannelError {
  return new ChannelError('provider_error', `WeChat media download failed with HTTP ${res.status}`, { retryable: res.status >= 500 || res.status === 429 });
}

/** A JSON answer where a file was expected: WeChat's error, or the download URL of a video. */
function jsonInsteadOfFile(res: ChannelHttpResponse): { video_url?: unknown } | null {
  if (res.headers['content-disposition']) return null;
  const type = (res.headers['content-type'] ?? '').toLowerCase();
  const looksJson = type.includes('json') || type.startsWith('text/plain') || res.body.subarray(0, 1).toString() === '{';
  if (!looksJson || res.body.length > 64 * 1024) return null;
  try {
    const body = JSON.parse(res.body.toString('utf8')) as unknown;
    return body && typeof body === 'object' && !Array.isArray(body) ? (body as { video_url?: unknown }) : null;
  } catch {
    return null;
  }
}

export async function fetchWechatMedia(media: MediaRef, ctx: ChannelContext<WechatOaConfig>): Promise<{ bytes: Buffer; contentType: string; fileName: string }> {
  const mediaId = media.ref;
  if (!mediaId) throw new ChannelError('malformed', 'WeChat media has no MediaId to fetch', { retryable: false });
  return withAccessToken(ctx, async (token) => {
    let res = await exchange(ctx, apiUrl(ctx.config, 'cgi-bin/media/get', { access_token: token, media_id: mediaId }), { method: 'GET', maxBytes: MAX_DOWNLOAD_BYTES, timeoutMs: 120_000 });
    if (res.status !== 200) throw failedDownload(res);
    const json = jsonInsteadOfFile(res);
    if (json) {
      const error = errorOf(json);
      if (error) throw wechatError('media download', error.errcode, error.errmsg);
      if (typeof json.video_url !== 'string' || !/^https?:\/\//i.test(json.video_url)) {
        throw new ChannelError('provider_error', 'WeChat media download answered JSON without a file or a video_url', { retryable: false });
      }
      // A video: WeChat answers a download URL, fetched without the token.
      res = await exchange(ctx, json.video_url, { method: 'GET', maxBytes: MAX_DOWNLOAD_BYTES, timeoutMs: 120_000 });
      if (res.status !== 200) throw failedDownload(res);
    }
    const contentType = res.headers['content-type']?.split(';')[0]?.trim().toLowerCase() || media.contentType || 'application/octet-stream';
    const fileName = media.fileName ?? dispositionFileName(res.headers['content-disposition']) ?? `wechat-${mediaId.slice(0, 40)}.${EXTENSIONS[contentType] ?? 'bin'}`;
    return { bytes: res.body, contentType, fileName };
  });
}

/** Uploads an image as temporary media and returns its media_id. */
export async function uploadImage(ctx: ChannelContext<WechatOaConfig>, a: OutboundAttachment): Promise<string> {
  const type = a.contentType.toLowerCase();
  const ext = IMAGE_TYPES[type];
  if (!ext) throw new ChannelError('content_unsupported', `${a.fileName} is ${a.contentType}; WeChat customer-service messages carry JPEG, PNG and GIF images only`, { retryable: false });
  if (a.size > MAX_IMAGE_BYTES) throw new ChannelError('media_too_large', `${a.fileName} is ${a.size} bytes; WeChat accepts images up to ${MAX_IMAGE_BYTES} bytes (10 MB)`, { retryable: false });
  // WeChat infers the type from the file name's extension: a name without the right one is refused (40005).
  const base = a.fileName.replace(/\.[A-Za-z0-9]{1,5}$/, '') || 'image';
  const form = new FormData();
  form.append('media', new Blob([new Uint8Array(await a.read())], { type }), `${base}.${ext}`);
  const { bytes, contentType } = await encodeMultipart(form);
  const answer = await callApi<{ type?: string; media_id?: string }>(ctx, 'image upload', 'cgi-bin/media/upload', {
    method: 'POST', query: { type: 'image' }, headers: { 'content-type': contentType }, body: bytes, timeoutMs: 120_000,
  });
  if (!answer.media_id) throw new ChannelError('provider_error', 'WeChat image upload answered without a media_id', { retryable: false });
  return answer.media_id;
}
