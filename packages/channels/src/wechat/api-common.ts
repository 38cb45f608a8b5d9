/**
 * What the WeChat Official Account API (api.weixin.qq.com) and the WeCom API (qyapi.weixin.qq.com) have in
 * common: errors as `{ "errcode": n, "errmsg": "…" }` (usually with HTTP 200), URLs of a configurable base,
 * a path and query parameters, and media uploads as multipart/form-data.
 */

/** `{errcode, errmsg}` of a JSON answer, or null when it succeeded (errcode absent or 0). */
export function errorOf(body: unknown): { errcode: number; errmsg: string } | null {
  if (!body || typeof body !== 'object' || Array.isArray(body)) return null;
  const b = body as { errcode?: unknown; errmsg?: unknown };
  const errcode = typeof b.errcode === 'number' ? b.errcode : typeof b.errcode === 'string' && /^-?\d+$/.test(b.errcode) ? Number(b.errcode) : 0;
  if (errcode === 0) return null;
  return { errcode, errmsg: typeof b.errmsg === 'string' ? b.errmsg.slice(0, 300) : '' };
}

/** `<baseUrl>/<path>?<query>`, whatever slashes the base URL and the path come with. */
export function apiUrlOf(baseUrl: string, path: string, query: Record<string, string> = {}): string {
  const qs = new URLSearchParams(query).toString();
  return `${baseUrl.replace(/\/+$/, '')}/${path.replace(/^\/+/, '')}${qs ? `?${qs}` : ''}`;
}

/** multipart/form-data bytes and content type (with boundary), encoded by the platform's own FormData. */
export async function encodeMultipart(form: FormData): Promise<{ bytes: Buffer; contentType: string }> {
  const encoded = new Response(form);
  const contentType = encoded.headers.get('content-type');
  if (!contentType) throw new Error('FormData encoding produced no content type');
  return { bytes: Buffer.from(await encoded.arrayBuffer()), contentType };
}
