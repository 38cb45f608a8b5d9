/**
 * Outbound: POST cgi-bin/kf/send_msg (https://developer.work.weixin.qq.com/document/path/94677)
 *
 *   { touser: external_userid, open_kfid, msgid, msgtype: text|image|voice|video|file, <msgtype>: {…} }
 *
 * - WeCom allows 5 messages within 48 hours of the customer's last message (95001 / 95002), and only while
 *   the session is "新接入待处理" (0) or "由智能助手接待" (1) — otherwise 95018. Core enforces the window
 *   from capabilities().sendWindow before anything reaches WeCom; these codes are the platform's word.
 * - msgid: our idempotency key (≤ 32 of [0-9a-zA-Z_-]), so a retried send never reaches the customer
 *   twice — WeCom refuses a msgid already used in the kf account ("若指定msgid，开发者需确保客服账号内唯一，
 *   否则接口返回错误"). The documentation names no code for that refusal, so a retry after a lost answer
 *   reports WeCom's error instead of success.
 * - The answer "does not mean delivered": a later msg_send_fail event (sync_msg) names our msgid and
 *   becomes a failed delivery status.
 * - Text over 2048 bytes is refused, not split: every part would use one of the 5 messages.
 * - Attachments are uploaded as temporary media (cgi-bin/media/upload) before anything is sent, then sent
 *   by media_id, each as its own message after the text.
 */
import { createHash } from 'node:crypto';
import type { OutboundAttachment, OutboundMessage, SendResult } from '../adapter.ts';
import { ChannelError } from '../adapter.ts';
import { encodeMultipart } from '../wechat/api-common.ts';
import { exchange, jsonAnswer, postJson, withAccessToken, type Ctx } from './api.ts';
import { apiUrl, MAX_TEXT_BYTES, MIN_UPLOAD_BYTES, parseCustomerSourceId, UPLOAD_LIMITS } from './config.ts';

type MediaKind = keyof typeof UPLOAD_LIMITS;

/** https://developer.work.weixin.qq.com/document/path/90253: image JPG/PNG, voice AMR, video MP4, anything else as a file. */
export function mediaKind(contentType: string): MediaKind {
  const t = contentType.split(';')[0]!.trim().toLowerCase();
  if (t === 'image/jpeg' || t === 'image/jpg' || t === 'image/png') return 'image';
  if (t === 'audio/amr') return 'voice';
  if (t === 'video/mp4') return 'video';
  return 'file';
}

/** send_msg's msgid for part `index` of a message: deterministic, so a retry reuses it. */
export function partMsgId(idempotencyKey: string, index: number): string {
  // A UUID without its dashes is exactly 32 characters.
  const plain = idempotencyKey.replace(/[^0-9A-Za-z]/g, '');
  if (index === 0 && plain.length > 0 && plain.length <= 32) return plain;
  return createHash('sha256').update(`${idempotencyKey}#${index}`).digest('hex').slice(0, 32);
}

export async function sendKfMessage(msg: OutboundMessage, ctx: Ctx): Promise<SendResult> {
  const to = parseCustomerSourceId(msg.recipient.sourceId);
  if (!to) {
    throw new ChannelError('recipient_invalid', `WeCom kf recipient "${msg.recipient.sourceId.slice(0, 80)}" is not "<open_kfid>:<external_userid>"`, { retryable: false });
  }
  if (msg.template) {
    throw new ChannelError('content_unsupported', 'WeCom customer service has no message templates: write to the customer within 48 hours of their last message', { retryable: false });
  }
  const text = msg.text.trim() === '' ? '' : msg.text;
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > MAX_TEXT_BYTES) {
    throw new ChannelError('content_unsupported', `WeCom accepts at most ${MAX_TEXT_BYTES} bytes of text per message; this one has ${bytes} (a Chinese character takes 3): shorten it`, { retryable: false });
  }
  const files = msg.attachments.map((a) => ({ a, kind: mediaKind(a.contentType) }));
  for (const f of files) {
    const limit = UPLOAD_LIMITS[f.kind];
    if (f.a.size > limit) {
      throw new ChannelError('media_too_large', `${f.a.fileName} is ${f.a.size} bytes; WeCom accepts ${f.kind} files up to ${limit} bytes`, { retryable: false });
    }
    if (f.a.size < MIN_UPLOAD_BYTES) {
      throw new ChannelError('content_unsupported', `${f.a.fileName} is ${f.a.size} bytes; WeCom accepts files of at least ${MIN_UPLOAD_BYTES} bytes`, { retryable: false });
    }
  }
  if (!text && files.length === 0) {
    throw new ChannelError('content_unsupported', 'Nothing to send to WeCom: the message has neither text nor attachments', { retryable: false });
  }

  const base = { touser: to.externalUserId, open_kfid: to.openKfId };
  const ids: string[] = [];
  let part = 0;
  const send = async (body: Record<string, unknown>, what: string) => {
    const msgid = partMsgId(msg.idempotencyKey, part++);
    const answer = await postJson(ctx, what, 'cgi-bin/kf/send_msg', { ...base, msgid, ...body });
    ids.push(typeof answer.msgid === 'string' && answer.msgid ? answer.msgid : msgid);
  };
  // Every file is uploaded before the first send_msg: an upload that fails (and is retried by core) then
  // has sent nothing yet. Otherwise the retry would repeat the text's msgid, which WeCom refuses, and the
  // message would end as failed although its text arrived and its files never did.
  const uploaded: Array<{ kind: MediaKind; mediaId: string }> = [];
  for (const f of files) uploaded.push({ kind: f.kind, mediaId: await uploadMedia(ctx, f.a, f.kind) });
  if (text) await send({ msgtype: 'text', text: { content: text } }, 'send_msg (text)');
  for (const u of uploaded) await send({ msgtype: u.kind, [u.kind]: { media_id: u.mediaId } }, `send_msg (${u.kind})`);
  return { externalId: ids[0]! };
}

/** POST cgi-bin/media/upload?type= with the file as multipart field "media"; answers { media_id }. */
async function uploadMedia(ctx: Ctx, a: OutboundAttachment, kind: MediaKind): Promise<string> {
  const form = new FormData();
  form.append('media', new Blob([new Uint8Array(await a.read())], { type: a.contentType }), a.fileName);
  const { bytes: body, contentType } = await encodeMultipart(form);
  const answer = await withAccessToken(ctx, async (token) => {
    const res = await exchange(ctx, apiUrl(ctx.config, 'cgi-bin/media/upload', { access_token: token, type: kind }), {
      method: 'POST', headers: { 'content-type': contentType }, body, timeoutMs: 120_000,
    });
    return jsonAnswer(ctx, `media upload (${kind})`, res);
  });
  if (typeof answer.media_id !== 'string' || !answer.media_id) {
    throw new ChannelError('provider_error', 'WeCom media upload answered without a media_id', { retryable: true });
  }
  return answer.media_id;
}
