/**
 * What a Douyin reply needs, carried in the external id of the customer's message.
 *
 * The send API answers a message: it takes the conversation_short_id (long-lived) and the
 * server_message_id of the customer's message (msg_id, valid 24 h). Adapters keep no state, and core
 * persists exactly one thing per message that comes back at send time: its external id (core hands the
 * conversation's earlier external ids to `send` as `thread.references`, oldest first). So the external
 * id of an incoming Douyin message is
 *
 *     dy:<Msg-Id>|<conversation_short_id>|<server_message_id>
 *
 * It still dedupes by the Msg-Id header as Douyin documents (a retried push carries the same header and
 * body, so the same id), and `send` takes the newest such reference. The sender's open_id is not needed:
 * it is the recipient's sourceId. '%' and '|' inside a part are escaped so the three parts always split.
 */

const PREFIX = 'dy:';

export interface DouyinReplyRef {
  msgId: string;
  conversationShortId: string;
  serverMessageId: string;
}

const escape = (s: string) => s.replace(/%/g, '%25').replace(/\|/g, '%7C');
const unescape = (s: string) => s.replace(/%7C/gi, '|').replace(/%25/g, '%');

export function encodeReplyRef(ref: DouyinReplyRef): string {
  return `${PREFIX}${escape(ref.msgId)}|${escape(ref.conversationShortId)}|${escape(ref.serverMessageId)}`;
}

export function decodeReplyRef(externalId: string): DouyinReplyRef | null {
  if (!externalId.startsWith(PREFIX)) return null;
  const parts = externalId.slice(PREFIX.length).split('|');
  if (parts.length !== 3 || parts.some((p) => p === '')) return null;
  const [msgId, conversationShortId, serverMessageId] = parts.map(unescape) as [string, string, string];
  return { msgId, conversationShortId, serverMessageId };
}

/** The newest customer message among a conversation's earlier external ids (oldest first). */
export function latestReplyRef(references: readonly string[] | undefined, inReplyTo?: string): DouyinReplyRef | null {
  const ids = [...(references ?? [])];
  if (inReplyTo && ids[ids.length - 1] !== inReplyTo) ids.push(inReplyTo);
  for (let i = ids.length - 1; i >= 0; i--) {
    const ref = decodeReplyRef(ids[i]!);
    if (ref) return ref;
  }
  return null;
}
