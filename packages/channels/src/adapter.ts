/**
 * The channel adapter interface: everything Huiliu knows about one kind of external channel (email,
 * Telegram, WhatsApp, SMS, the API channel, later WeChat…) and nothing else.
 *
 * Adapters are "drivers" (Twenty's word): they verify what a platform sends us, turn it into
 * normalized events, send our messages out and declare what the channel can carry. They never touch the
 * database, the vault or the file storage: core (packages/core/src/channels) resolves identities, finds
 * or opens conversations, stores messages and media, runs outbound delivery as durable jobs and enforces
 * send windows. Everything an adapter needs arrives in its `ChannelContext`.
 *
 * Every adapter passes the shared contract suite (packages/channels/test/contract.ts), driven against a
 * local fake of the platform (packages/channels/test/fakes) that rejects requests deviating from the
 * platform's documented shape.
 */
import type { z } from 'zod';
import type { ChannelType, ContentType } from '@huiliu/contracts';

// ---------------------------------------------------------------------------------------------------
// Context handed to every call

/** Response of the SSRF-safe HTTP client core hands to adapters. */
export interface ChannelHttpResponse {
  status: number;
  /** Lower-cased header names. */
  headers: Record<string, string>;
  body: Buffer;
  text(): string;
  json(): unknown;
}

export interface ChannelHttpRequest {
  method?: 'GET' | 'POST' | 'PUT' | 'DELETE' | 'PATCH';
  headers?: Record<string, string>;
  body?: string | Buffer;
  timeoutMs?: number;
  /** Refuse bodies larger than this (media downloads); default 25 MB. */
  maxBytes?: number;
}

/**
 * Outbound HTTP for adapters: core's SSRF-safe client (DNS pinned, private addresses refused unless the
 * workspace allowlisted the host). Adapters never use `fetch` directly.
 */
export type ChannelHttp = (url: string, init?: ChannelHttpRequest) => Promise<ChannelHttpResponse>;

export interface ChannelLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/**
 * Access tokens a platform issues for its API (WeChat, WeCom, Douyin): one cache per inbox shared by
 * every node of the installation, kept encrypted. `get` returns the cached token, or calls `refresh`
 * when there is none or it expires within a minute — never more than one refresh in flight across all
 * nodes (the others wait for its result). `invalidate` is for a token the platform refused although it
 * was not expired (WeChat 40001 / 42001): it is dropped only if it is still the cached one, so a token
 * another node has just refreshed survives.
 */
export interface SharedTokens {
  get(key: string, refresh: () => Promise<{ token: string; expiresInSeconds: number }>): Promise<string>;
  invalidate(key: string, token: string): Promise<void>;
}

export interface ChannelContext<C> {
  /** The inbox's non-secret channel settings, already parsed with `configSchema`. */
  config: C;
  /** Decrypted secrets named in `secretNames` (missing ones are absent). Never log them. */
  secrets: Readonly<Record<string, string>>;
  http: ChannelHttp;
  /** The inbox's public webhook URL as the platform calls it (Twilio signs the full URL). */
  webhookUrl: string;
  now(): Date;
  logger: ChannelLogger;
  tokens: SharedTokens;
}

// ---------------------------------------------------------------------------------------------------
// Inbound

/** A webhook request as received, before any parsing: signatures are computed over the raw bytes. */
export interface InboundHttpRequest {
  method: string;
  /** Path and query as received, e.g. `/api/channels/v1/abc/webhook?x=1`. */
  url: string;
  query: Record<string, string>;
  /** Lower-cased header names. */
  headers: Record<string, string | undefined>;
  rawBody: Buffer;
}

export interface OutboundHttpResponse {
  status: number;
  contentType?: string;
  body: string;
}

/** A key the platform vouches for, so contacts sharing it are merged automatically across channels. */
export interface VerifiedKey {
  /** user_id: the customer's own user id, vouched for by an HMAC identity token from their backend. */
  kind: 'email' | 'phone' | 'unionid' | 'user_id';
  /** Normalized: emails lower-cased, phones in E.164 (+8613800138000). */
  value: string;
}

export interface NormalizedSender {
  /** The channel's own id of the person: an email address, a Telegram user id, a WhatsApp number… */
  sourceId: string;
  name?: string | null;
  email?: string | null;
  phone?: string | null;
  verifiedKeys?: VerifiedKey[];
}

/** A media file of an inbound message: inline bytes (email attachments) or a reference to fetch. */
export interface MediaRef {
  /** A URL (fetched through `ChannelContext.http`) or a platform file id resolved by `fetchMedia`. */
  ref?: string;
  inline?: Buffer;
  fileName?: string;
  contentType?: string;
  /** Declared size, when the platform tells it: lets core refuse oversized media before downloading. */
  size?: number;
}

export type NormalizedContent =
  | { type: 'text'; text: string }
  | { type: 'image' | 'file' | 'audio' | 'video'; text?: string; media: MediaRef[] }
  | { type: 'location'; text?: string; location: { latitude: number; longitude: number; name?: string; address?: string } }
  | { type: 'card'; text?: string; card: { title: string; description?: string; url?: string; imageUrl?: string } }
  /** Anything the adapter does not understand: kept with its raw payload, never dropped silently. */
  | { type: 'unsupported'; text: string; raw: unknown };

/** Email-like threading information; core uses it to find the conversation a reply belongs to. */
export interface ThreadRef {
  messageId?: string;
  inReplyTo?: string;
  references?: string[];
  subject?: string;
}

export interface InboundMessageEvent {
  kind: 'message';
  /** The platform's id of this message: the dedupe key (retries and replays are stored once). */
  externalId: string;
  sender: NormalizedSender;
  content: NormalizedContent;
  sentAt: Date;
  thread?: ThreadRef;
  /** Email: the original HTML body (core sanitizes it before storing; never rendered unsanitized). */
  html?: string;
  /**
   * The platform echoes a message WE sent (WhatsApp/Telegram business echoes, our own email in IMAP).
   * Core also recognizes echoes by matching `externalId` against stored outbound messages.
   */
  echo?: boolean;
}

/** Delivery report for one of our outbound messages. */
export interface DeliveryStatusEvent {
  kind: 'status';
  /** The external id our `send` returned. */
  externalId: string;
  status: 'sent' | 'delivered' | 'read' | 'failed';
  error?: string;
  at: Date;
}

/** Non-message events (subscribe, unsubscribe, typing…): recorded as activity, never as customer text. */
export interface ChannelEvent {
  kind: 'event';
  externalId: string;
  event: string;
  sender: NormalizedSender;
  at: Date;
  /**
   * The platform ended the customer's session on its side (WeCom kf session ended by timeout or by a
   * WeCom servicer): core resolves the open conversation after recording the event.
   */
  endsConversation?: boolean;
}

export type NormalizedInbound = InboundMessageEvent | DeliveryStatusEvent | ChannelEvent;

export interface InboundResult {
  /**
   * What to answer the platform once the events are durably stored (core answers 500 instead when
   * storing fails, so the platform retries). Verification handshakes have no events.
   */
  response: OutboundHttpResponse;
  events: NormalizedInbound[];
  /**
   * Work to do after the platform has its answer: what a notification announced but did not carry
   * (WeCom kf's `kf_msg_or_event`: "messages are waiting, fetch them with sync_msg"), or the slow part
   * of a verified push when the platform allows only a few seconds to answer (WeChat OA: UnionID lookup
   * and media download). Core stores each as a durable job before answering the platform (payload
   * dropped once done) and runs `adapter.pull` for it afterwards, one pull at a time per inbox, retried
   * on failure.
   */
  pulls?: PullRequest[];
}

/** A JSON-serializable description of what to fetch (stored in the job queue). */
export type PullRequest = Record<string, string | number | boolean | null>;

// ---------------------------------------------------------------------------------------------------
// Outbound

export interface OutboundAttachment {
  fileName: string;
  contentType: string;
  size: number;
  read(): Promise<Buffer>;
  /** A signed, time-limited public URL of the file (for platforms that fetch media by URL). */
  url: string;
}

export interface OutboundMessage {
  /** Our message id: sent as the platform's idempotency key where one exists. */
  idempotencyKey: string;
  /** Our conversation id and the message's creation time (for integrators' webhooks). */
  conversationId: string;
  createdAt: Date;
  recipient: { sourceId: string; name?: string | null };
  text: string;
  attachments: OutboundAttachment[];
  /**
   * A link card (title, description, link, picture) when the agent sent one. `text` then holds the
   * card (and any caption) as readable lines for channels without cards; channels that carry cards
   * (WeChat news) send the card instead of that text.
   */
  card?: { title: string; description?: string; url?: string; imageUrl?: string };
  /** Outside a send window (WhatsApp): a pre-approved template instead of free text. */
  template?: { name: string; language: string; variables: string[] };
  /** Email threading: the subject and the ids of the conversation's earlier emails. */
  thread?: ThreadRef;
  /** The sending agent's display name (email "From" name, signatures). */
  senderName?: string | null;
}

export interface SendResult {
  /** The platform's id of the sent message: stored for delivery reports and echo recognition. */
  externalId: string;
  /** Extra references to keep (email Message-ID for threading). */
  thread?: ThreadRef;
}

// ---------------------------------------------------------------------------------------------------
// Capabilities and send windows

/**
 * When free-form replies are allowed. WhatsApp: 24 h after the customer's last message, templates
 * outside it; WeChat customer-service messages: 48 h; WeCom kf: 48 h and 5 messages. Email: no rule.
 */
export interface SendWindowRule {
  hours: number;
  /** At most this many messages per customer message inside the window. */
  maxMessages?: number;
  /** What is still possible once the window is closed. */
  outside: 'templates' | 'blocked';
}

export interface ChannelCapabilities {
  /** Outbound content types the channel carries. */
  contentTypes: ContentType[];
  maxTextLength: number;
  maxMediaBytes: number;
  typing: boolean;
  readReceipts: boolean;
  deliveryReports: boolean;
  templates: boolean;
  sendWindow: SendWindowRule | null;
}

// ---------------------------------------------------------------------------------------------------
// Errors

export type ChannelErrorCode =
  | 'signature_invalid'
  | 'replayed'
  | 'malformed'
  | 'not_configured'
  | 'unauthorized'
  | 'rate_limited'
  | 'window_closed'
  | 'recipient_invalid'
  | 'content_unsupported'
  | 'media_too_large'
  | 'provider_error'
  | 'network';

/**
 * What an adapter throws. `retryable` decides whether the delivery job retries (network trouble,
 * 5xx, rate limits) or marks the message failed at once (bad recipient, window closed, 4xx).
 */
export class ChannelError extends Error {
  readonly retryable: boolean;
  readonly retryAfterMs: number | undefined;
  constructor(
    readonly code: ChannelErrorCode,
    message: string,
    opts: { retryable?: boolean; retryAfterMs?: number } = {},
  ) {
    super(message);
    this.name = 'ChannelError';
    this.retryable = opts.retryable ?? (code === 'network' || code === 'rate_limited' || code === 'provider_error');
    this.retryAfterMs = opts.retryAfterMs;
  }
}

// ---------------------------------------------------------------------------------------------------
// Long-running inbound (IMAP)

/** Where a poller keeps its position (IMAP UIDVALIDITY + last UID); core persists it per inbox. */
export interface PollState {
  get(): Promise<Record<string, unknown> | null>;
  set(state: Record<string, unknown>): Promise<void>;
}

export interface PollSink {
  state: PollState;
  /** Resolves once the events are durably stored: only then may the poller advance its position. */
  deliver(events: NormalizedInbound[]): Promise<void>;
}

export interface PollHandle {
  stop(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------------
// Platform-side session state (WeCom kf)

/**
 * Who serves the customer changed on our side. Platforms that track it (WeCom kf: state 3 "served by a
 * human" with the servicer's userid, 4 "ended") are told through `syncSession`, as a durable job in the
 * conversation's order. `agent` is our agent's email and name, for mapping to the platform's user ids.
 */
export interface SessionChange {
  conversationId: string;
  recipient: { sourceId: string };
  state: 'human' | 'ended';
  agent?: { email: string; name: string } | null;
}

// ---------------------------------------------------------------------------------------------------
// The adapter

export interface SecretField {
  name: string;
  label: string;
  required: boolean;
}

export interface ChannelAdapter<C = unknown> {
  readonly kind: ChannelType;
  readonly displayName: string;
  /** Non-secret settings, a strict zod object: unknown fields and bad values are refused with the field named. */
  readonly configSchema: z.ZodType<C>;
  /** Credentials kept encrypted in the vault and never shown again in full. */
  readonly secrets: readonly SecretField[];
  capabilities(config: C): ChannelCapabilities;
  /**
   * Verifies (signature, token, replay window) and parses one webhook request. Throws ChannelError:
   * signature_invalid / unauthorized → 401, replayed → 409 (logged), malformed → 400.
   * Absent for channels without webhooks (email reads IMAP through `poll`).
   */
  receive?(req: InboundHttpRequest, ctx: ChannelContext<C>): Promise<InboundResult>;
  /** Sends one message; throws ChannelError on failure. Must be safe to retry with the same idempotencyKey. */
  send(msg: OutboundMessage, ctx: ChannelContext<C>): Promise<SendResult>;
  /** Resolves a platform file id (`MediaRef.ref` that is not a URL) to bytes. */
  fetchMedia?(media: MediaRef, ctx: ChannelContext<C>): Promise<{ bytes: Buffer; contentType: string; fileName: string }>;
  /** Long-running inbound connection (IMAP IDLE + polling fallback). */
  poll?(ctx: ChannelContext<C>, sink: PollSink): PollHandle;
  /**
   * Fetches what a webhook announced (`InboundResult.pulls`), delivering events through `sink` page by
   * page and saving its cursor in `sink.state` only after each page is delivered. Throw ChannelError to
   * retry later (the cursor makes the retry resume where it stopped).
   */
  pull?(request: PullRequest, ctx: ChannelContext<C>, sink: PollSink): Promise<void>;
  /** Tells the platform who serves the customer now (see SessionChange). */
  syncSession?(change: SessionChange, ctx: ChannelContext<C>): Promise<void>;
  /** Checks credentials against the platform (the console's "test connection"); optional. */
  check?(ctx: ChannelContext<C>): Promise<{ ok: true } | { ok: false; message: string }>;
}
