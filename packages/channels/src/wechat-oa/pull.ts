/**
 * The slow half of a push, run after WeChat has had its answer.
 *
 * WeChat waits 5 seconds for an answer, retries a push 3 times and then tells the follower
 * "该公众号暂时无法提供服务". Storing a push can take longer than that: the UnionID lookup (user/info, up to
 * 3 s) and, for images, voice and video, the download core's ingest makes through `fetchMedia`
 * (media/get, up to 120 s). So `receive` (receive.ts) does only the local work — signature, timestamp,
 * decryption, parsing — and hands the decrypted push to core as a pull request; core stores it as a
 * durable job before WeChat gets `success` and runs `pullWechatOa` for it afterwards.
 *
 * - The request is the push's own fields (the XML's element names and text), so the job can be read in
 *   the job table and the event built from it is the one the push describes, whenever the job runs.
 * - Dedupe keys do not change (MsgId; FromUserName + CreateTime + Event): a push WeChat retried anyway
 *   becomes a second job, and ingest stores its message once (and downloads its media once).
 * - Core runs an inbox's pulls one at a time in the order they arrived, so a follower's messages keep
 *   their order. A failed delivery (storage down) throws and the job is retried.
 */
import type { ChannelContext, PollSink, PullRequest } from '../adapter.ts';
import { ChannelError } from '../adapter.ts';
import type { XmlRecord } from '../wechat/xml.ts';
import type { WechatOaConfig } from './config.ts';
import { toInbound, type WechatInbound } from './parse.ts';
import { unionIdOf } from './unionid.ts';

/**
 * Names of fields that are XML elements with children (a few menu events carry ScanCodeInfo,
 * SendPicsInfo…), kept as JSON text. XML names cannot start with "@", so this key never meets a field.
 */
const NESTED = '@json';

/** The push as a pull request: text fields as they are, nested elements as JSON text. */
export function pushToPull(doc: XmlRecord): PullRequest {
  const request: PullRequest = {};
  const nested: string[] = [];
  for (const [name, value] of Object.entries(doc)) {
    if (typeof value === 'string') {
      request[name] = value;
    } else {
      request[name] = JSON.stringify(value);
      nested.push(name);
    }
  }
  if (nested.length) request[NESTED] = nested.join(',');
  return request;
}

/** The push again, from the stored request. */
export function pullToPush(request: PullRequest): XmlRecord {
  const nested = new Set(typeof request[NESTED] === 'string' ? request[NESTED].split(',') : []);
  const doc: XmlRecord = {};
  for (const [name, value] of Object.entries(request)) {
    if (name === NESTED) continue;
    if (typeof value !== 'string') {
      throw new ChannelError('malformed', `the stored WeChat push has a non-text field ${name.slice(0, 40)}; it was not written by this adapter`, { retryable: false });
    }
    doc[name] = nested.has(name) ? (JSON.parse(value) as XmlRecord) : value;
  }
  return doc;
}

/** Adds the follower's UnionID as a verified key; a lookup without an answer leaves the OpenID alone (unionid.ts). */
async function withUnionId(event: WechatInbound, ctx: ChannelContext<WechatOaConfig>): Promise<WechatInbound> {
  if (event.kind !== 'message' || !ctx.config.fetchUnionId) return event;
  const unionid = await unionIdOf(event.sender.sourceId, ctx);
  return unionid ? { ...event, sender: { ...event.sender, verifiedKeys: [{ kind: 'unionid', value: unionid }] } } : event;
}

/** One push → one normalized event (media as MediaIds, which ingest downloads through fetchMedia), delivered. */
export async function pullWechatOa(request: PullRequest, ctx: ChannelContext<WechatOaConfig>, sink: PollSink): Promise<void> {
  const event = await withUnionId(toInbound(pullToPush(request), ctx.logger), ctx);
  await sink.deliver([event]);
}
