/**
 * The shared contract every channel adapter passes. Each adapter's test file calls
 * `describeChannelContract(harness)` with its fake platform (a local HTTP server that implements the
 * documented endpoints and rejects requests that deviate from them) and fixtures copied from the
 * platform's documentation (URL cited beside each fixture).
 *
 * Webhook cases run only for adapters with `receive`; poll channels (email) test their inbound path in
 * their own suite against a real server.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type {
  ChannelAdapter, ChannelContext, ChannelHttp, InboundHttpRequest, InboundMessageEvent, NormalizedInbound, OutboundMessage,
} from '../src/adapter.ts';
import { ChannelError } from '../src/adapter.ts';
import { memoryTokens } from './memory-tokens.ts';

/** A running fake platform. */
export interface FakePlatform {
  /** Base URL the adapter's config must point at (e.g. http://127.0.0.1:PORT). */
  baseUrl: string;
  /** Requests the fake accepted (method, path, parsed body), in order. */
  accepted: Array<{ method: string; path: string; body: unknown }>;
  /** Requests the fake refused as deviating from the documented shape, with the reason. */
  rejected: Array<{ method: string; path: string; reason: string }>;
  /** Make the next send answer with this HTTP status (and platform error body). */
  failNext(status: number): void;
  close(): Promise<void>;
}

export interface ChannelContractHarness<C> {
  adapter: ChannelAdapter<C>;
  startFake(): Promise<FakePlatform>;
  /** A valid config + secrets pointing at the fake. */
  context(fake: FakePlatform): { config: C; secrets: Record<string, string> };
  /** A config object with an unknown field, which `configSchema` must refuse. */
  invalidConfig: unknown;
  /** Webhook fixtures (absent for poll channels). */
  webhook?: {
    /** A documented text message push, correctly signed with the context's secrets. */
    textMessage(ctx: { config: C; secrets: Record<string, string> }): InboundHttpRequest;
    /** What the text message must normalize to. */
    expectText: { externalId: string; sourceId: string; text: string };
    /** The same request with a forged / missing signature. */
    forged(ctx: { config: C; secrets: Record<string, string> }): InboundHttpRequest;
    /** A signed request whose body is not what the platform sends. */
    malformed(ctx: { config: C; secrets: Record<string, string> }): InboundHttpRequest;
    /** A signed message of a type the adapter does not know. */
    unknownType(ctx: { config: C; secrets: Record<string, string> }): InboundHttpRequest;
  };
  /** The recipient of outbound test messages. */
  recipient: string;
}

/** The HTTP client adapters get in tests: plain fetch to the loopback fake (core's SSRF guard is tested in core). */
export const testHttp: ChannelHttp = async (url, init = {}) => {
  const res = await fetch(url, {
    method: init.method ?? 'GET',
    ...(init.headers ? { headers: init.headers } : {}),
    ...(init.body !== undefined ? { body: typeof init.body === 'string' ? init.body : new Uint8Array(init.body) } : {}),
    signal: AbortSignal.timeout(init.timeoutMs ?? 10_000),
  });
  const body = Buffer.from(await res.arrayBuffer());
  const headers: Record<string, string> = {};
  res.headers.forEach((v, k) => { headers[k] = v; });
  return { status: res.status, headers, body, text: () => body.toString('utf8'), json: () => JSON.parse(body.toString('utf8')) as unknown };
};

/** testHttp, except that the first request whose URL contains `urlPart` fails as a network error (retryable). */
export function httpFailingOnce(urlPart: string): ChannelHttp {
  let failed = false;
  return async (url, init) => {
    if (!failed && url.includes(urlPart)) {
      failed = true;
      throw new ChannelError('network', 'connect ECONNRESET');
    }
    return testHttp(url, init);
  };
}

const silent = { info() {}, warn() {}, error() {} };

export function describeChannelContract<C>(h: ChannelContractHarness<C>): void {
  describe(`channel contract: ${h.adapter.kind}`, () => {
    let fake: FakePlatform;
    let ctx: ChannelContext<C>;
    beforeAll(async () => {
      fake = await h.startFake();
      const c = h.context(fake);
      ctx = { config: h.adapter.configSchema.parse(c.config), secrets: c.secrets, http: testHttp, webhookUrl: 'https://huiliu.example.com/api/channels/v1/test/webhook', now: () => new Date(), logger: silent, tokens: memoryTokens() };
    });
    afterAll(async () => { await fake?.close(); });

    const message = (over: Partial<OutboundMessage> = {}): OutboundMessage => ({
      idempotencyKey: '6f1c1a52-3b8e-4a57-9d11-0d8a2d1f0a01', conversationId: '5d0c2c4e-7b1a-4f3e-9c2d-8e7f6a5b4c3d', createdAt: new Date('2026-11-21T08:00:00Z'), recipient: { sourceId: h.recipient }, text: '您好，这里是汇流客服 / Hello from Huiliu', attachments: [], ...over,
    });

    it('declares sane capabilities and refuses a config with an unknown field', () => {
      const caps = h.adapter.capabilities(ctx.config);
      expect(caps.contentTypes).toContain('text');
      expect(caps.maxTextLength).toBeGreaterThan(0);
      expect(caps.maxMediaBytes).toBeGreaterThan(0);
      expect(h.adapter.configSchema.safeParse(h.invalidConfig).success).toBe(false);
      expect(h.adapter.secrets.length).toBeGreaterThan(0);
    });

    it('sends a text message in the documented shape and returns the platform id', async () => {
      const before = fake.accepted.length;
      const r = await h.adapter.send(message(), ctx);
      expect(r.externalId).toBeTruthy();
      expect(fake.rejected).toEqual([]);
      expect(fake.accepted.length).toBeGreaterThan(before);
    });

    it('reports a 5xx from the platform as retryable and a 4xx as final', async () => {
      fake.failNext(503);
      const e5 = await h.adapter.send(message(), ctx).catch((e: unknown) => e);
      expect(e5).toBeInstanceOf(ChannelError);
      expect((e5 as ChannelError).retryable).toBe(true);
      fake.failNext(400);
      const e4 = await h.adapter.send(message(), ctx).catch((e: unknown) => e);
      expect(e4).toBeInstanceOf(ChannelError);
      expect((e4 as ChannelError).retryable).toBe(false);
      expect(fake.rejected).toEqual([]);
    });

    const webhook = h.webhook;
    if (!webhook || !h.adapter.receive) return;
    const receive = (req: InboundHttpRequest) => h.adapter.receive!(req, ctx);
    const secrets = () => ({ config: ctx.config, secrets: { ...ctx.secrets } });

    it('parses a documented text message into one normalized message', async () => {
      const r = await receive(webhook.textMessage(secrets()));
      const messages = r.events.filter((e: NormalizedInbound): e is InboundMessageEvent => e.kind === 'message');
      expect(messages).toHaveLength(1);
      expect(messages[0]!.externalId).toBe(webhook.expectText.externalId);
      expect(messages[0]!.sender.sourceId).toBe(webhook.expectText.sourceId);
      expect(messages[0]!.content).toEqual({ type: 'text', text: webhook.expectText.text });
      expect(r.response.status).toBeLessThan(300);
    });

    it('refuses a forged signature', async () => {
      const e = await receive(webhook.forged(secrets())).catch((err: unknown) => err);
      expect(e).toBeInstanceOf(ChannelError);
      expect(['signature_invalid', 'unauthorized']).toContain((e as ChannelError).code);
    });

    it('refuses a malformed body with a clear error instead of crashing', async () => {
      const e = await receive(webhook.malformed(secrets())).catch((err: unknown) => err);
      expect(e).toBeInstanceOf(ChannelError);
      expect((e as ChannelError).code).toBe('malformed');
      expect((e as ChannelError).message.length).toBeGreaterThan(10);
    });

    it('keeps a message of an unknown type as unsupported content with its raw payload', async () => {
      const r = await receive(webhook.unknownType(secrets()));
      const m = r.events.find((e): e is InboundMessageEvent => e.kind === 'message');
      expect(m?.content.type).toBe('unsupported');
      expect(m && m.content.type === 'unsupported' ? m.content.raw : undefined).toBeTruthy();
    });
  });
}
