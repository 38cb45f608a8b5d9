/**
 * The outbound half of the channel framework through a real server: agent replies on a channel
 * conversation are delivered by durable jobs (once, in conversation order, retried on 5xx, dead-lettered
 * on 4xx and retried by hand), send windows and channel limits are enforced before storing, private notes
 * never leave, and a send interrupted by stopping the node is delivered after a restart over the same
 * database.
 *
 * The platform is "Fakeapp", a WhatsApp-like fake defined here: a local HTTP server with one documented
 * endpoint (POST /v1/messages, Bearer token, JSON with exactly one of text / template / media) that
 * rejects any request deviating from it, deduplicates by idempotency key like real platforms, fetches
 * media from the URLs it is given and follows a per-recipient script (fail, hang, succeed). Its adapter
 * (also here) is passed to the server as the adapters map; it speaks to the fake through the SSRF-safe
 * client of its ChannelContext (127.0.0.1 allowlisted by the workspace's admin).
 */
import { createHash, createHmac } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { io, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ChannelError, type ChannelAdapter, type ChannelCapabilities, type OutboundMessage } from '@huiliu/channels';
import type { ChannelType } from '@huiliu/contracts';
import { createTestDatabase, type TestDatabase } from '@huiliu/testing';
import { createLogger } from '@huiliu/core/shared/logger';
import { loadConfig } from '../src/config.ts';
import { startHuiliu, type Huiliu } from '../src/app.ts';
import { seedDemo, type DemoCredentials } from '../src/setup/seed.ts';
import { startFakeServer, type FakeServer } from '../../../packages/channels/test/fakes/fake-server.ts';
import { SAMPLE_PNG as PNG, allowLoopback, callApi, configureChannel, createChannelInbox, postWebhook, waitFor as poll, type InboxRef, type Poll } from './helpers/channels.ts';

const ACCESS_TOKEN = 'fakeapp-access-token-9Xq2';
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

// ---------------------------------------------------------------------------------------------------
// The fake platform

interface PlatformRequest {
  to: string;
  idempotency_key: string;
  text?: string;
  template?: { name: string; language: string; params: string[] };
  media?: { url: string; filename: string; mime: string; sha256: string }[];
  caption?: string;
}
type Step = { kind: 'ok' } | { kind: 'fail'; status: number; error: string } | { kind: 'hang' };

const PlatformBody = z.strictObject({
  to: z.string().min(1),
  idempotency_key: z.string().min(1),
  text: z.string().min(1).max(1000).optional(),
  template: z.strictObject({ name: z.string().min(1), language: z.string().min(2), params: z.array(z.string()) }).optional(),
  media: z.array(z.strictObject({ url: z.url(), filename: z.string().min(1), mime: z.string().min(1), sha256: z.string().length(64) })).min(1).optional(),
  caption: z.string().optional(),
}).refine((b) => [b.text, b.template, b.media].filter((x) => x !== undefined).length === 1, 'exactly one of text, template, media');

class FakePlatform {
  http?: FakeServer;
  url = '';
  /** Every well-formed request, in arrival order. */
  requests: PlatformRequest[] = [];
  /** Requests that deviated from the documented shape (must stay empty). */
  rejected: string[] = [];
  /** Accepted deliveries by idempotency key (a repeated key gets the first id back, nothing new is delivered). */
  delivered = new Map<string, { id: string; body: PlatformRequest }>();
  /** Idempotency keys in the order they were first delivered. */
  order: string[] = [];
  script = new Map<string, Step[]>();
  private hanging: (() => void)[] = [];
  private inFlight = new Map<string, number>();
  /** Most requests for one recipient in flight at once. */
  maxInFlight = new Map<string, number>();
  private n = 0;

  async start(): Promise<void> {
    this.http = await startFakeServer((req, res, raw) => this.handle(req, res, raw));
    this.url = this.http.baseUrl;
  }

  releaseHanging(): void {
    this.hanging.splice(0).forEach((release) => release());
  }

  deliveriesTo(to: string): PlatformRequest[] {
    return this.order.map((k) => this.delivered.get(k)!.body).filter((b) => b.to === to);
  }

  private refuse(res: ServerResponse, status: number, why: string): void {
    this.rejected.push(why);
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ error: why }));
  }

  private async handle(req: IncomingMessage, res: ServerResponse, raw: Buffer): Promise<void> {
    if (req.method !== 'POST' || req.url !== '/v1/messages') return this.refuse(res, 404, `no endpoint ${req.method} ${req.url}`);
    if (req.headers.authorization !== `Bearer ${ACCESS_TOKEN}`) return this.refuse(res, 401, 'missing or wrong bearer token');
    if (!String(req.headers['content-type']).startsWith('application/json')) return this.refuse(res, 415, 'content-type must be application/json');
    let body: PlatformRequest;
    try {
      const parsed = PlatformBody.safeParse(JSON.parse(raw.toString('utf8')));
      if (!parsed.success) return this.refuse(res, 400, `bad body: ${parsed.error.issues.map((i) => `${i.path.join('.')} ${i.message}`).join('; ')}`);
      body = parsed.data as PlatformRequest;
    } catch {
      return this.refuse(res, 400, 'body is not JSON');
    }
    this.requests.push(body);
    const step = this.script.get(body.to)?.shift() ?? { kind: 'ok' };
    const active = (this.inFlight.get(body.to) ?? 0) + 1;
    this.inFlight.set(body.to, active);
    this.maxInFlight.set(body.to, Math.max(active, this.maxInFlight.get(body.to) ?? 0));
    try {
      if (step.kind === 'hang') await new Promise<void>((r) => this.hanging.push(r));
      if (step.kind === 'fail') {
        res.writeHead(step.status, { 'content-type': 'application/json' }).end(JSON.stringify({ error: step.error }));
        return;
      }
      // Like WhatsApp: media are fetched from the given links.
      for (const m of body.media ?? []) {
        const got = await fetch(m.url);
        const bytes = Buffer.from(await got.arrayBuffer());
        if (got.status !== 200 || sha256(bytes) !== m.sha256) return this.refuse(res, 400, `media ${m.url} could not be fetched intact (${got.status})`);
      }
      let known = this.delivered.get(body.idempotency_key);
      if (!known) {
        known = { id: `fa.${++this.n}`, body };
        this.delivered.set(body.idempotency_key, known);
        this.order.push(body.idempotency_key);
      }
      if (!res.destroyed) res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ id: known.id }));
    } finally {
      this.inFlight.set(body.to, (this.inFlight.get(body.to) ?? 1) - 1);
    }
  }
}

// ---------------------------------------------------------------------------------------------------
// Its adapter

const FakeappConfig = z.strictObject({ apiBase: z.url() });
type FakeappConfig = z.infer<typeof FakeappConfig>;
const CAPS: ChannelCapabilities = {
  contentTypes: ['text', 'image', 'file'], maxTextLength: 1000, maxMediaBytes: 1024 * 1024, typing: false, readReceipts: true, deliveryReports: true,
  templates: true, sendWindow: { hours: 24, outside: 'templates' },
};
/** What core handed to `send`, in call order. */
const sendCalls: OutboundMessage[] = [];

const fakeapp: ChannelAdapter<FakeappConfig> = {
  kind: 'whatsapp',
  displayName: 'Fakeapp',
  configSchema: FakeappConfig,
  secrets: [{ name: 'accessToken', label: 'Access token', required: true }],
  capabilities: () => CAPS,
  async receive(req, ctx) {
    const expected = createHmac('sha256', ctx.secrets.accessToken!).update(req.rawBody).digest('hex');
    if (req.headers['x-fakeapp-signature'] !== expected) throw new ChannelError('signature_invalid', 'x-fakeapp-signature does not match');
    const b = JSON.parse(req.rawBody.toString('utf8')) as { id: string; from: string; name?: string; text: string; subject?: string };
    return {
      response: { status: 200, body: 'ok' },
      events: [{ kind: 'message', externalId: b.id, sender: { sourceId: b.from, name: b.name ?? null }, content: { type: 'text', text: b.text }, sentAt: new Date(), ...(b.subject ? { thread: { subject: b.subject } } : {}) }],
    };
  },
  async send(msg, ctx) {
    sendCalls.push(msg);
    const body: PlatformRequest = { to: msg.recipient.sourceId, idempotency_key: msg.idempotencyKey };
    if (msg.template) body.template = { name: msg.template.name, language: msg.template.language, params: msg.template.variables };
    else if (msg.attachments.length) {
      body.media = await Promise.all(msg.attachments.map(async (a) => ({ url: a.url, filename: a.fileName, mime: a.contentType, sha256: sha256(await a.read()) })));
      if (msg.text) body.caption = msg.text;
    } else body.text = msg.text;
    const r = await ctx.http(`${ctx.config.apiBase}/v1/messages`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ctx.secrets.accessToken}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    if (r.status === 200) return { externalId: (r.json() as { id: string }).id };
    let error = `HTTP ${r.status}`;
    try {
      error = (r.json() as { error?: string }).error ?? error;
    } catch {
      /* not JSON */
    }
    if (r.status >= 500) throw new ChannelError('provider_error', `Fakeapp answered ${r.status}: ${error}`);
    if (r.status === 401) throw new ChannelError('unauthorized', error);
    throw new ChannelError('recipient_invalid', error);
  },
};
const adapters = new Map<ChannelType, ChannelAdapter<any>>([['whatsapp', fakeapp]]);

// ---------------------------------------------------------------------------------------------------
// A node we can stop and start again over the same database

let testDb: TestDatabase;
let dataDir = '';
let node: Huiliu;
let demo: DemoCredentials;
const platform = new FakePlatform();
const sockets: Socket[] = [];
let admin = '';
let agent = '';
let inbox: InboxRef;

async function startNode(): Promise<Huiliu> {
  const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', HUILIU_DATA_DIR: dataDir, LOG_LEVEL: 'silent' });
  // Fast retries: the backoff is the queue's option, not the delivery code's.
  return startHuiliu({ config, db: testDb.db, seed: false, logger: createLogger({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }), channelAdapters: adapters, jobBackoff: () => 40 });
}

const api = (method: string, path: string, o: { body?: unknown; token?: string; form?: FormData } = {}) =>
  callApi(node, o.token ?? admin, method, path, { body: o.body, form: o.form });
const waitFor = <T>(what: string, fn: Poll<T>) => poll(what, fn, { intervalMs: 30 });

let inboundN = 0;
/** The customer writes through the platform's (signed) webhook: contact, identity and conversation are made by core. */
async function customerWrites(from: string, text: string, subject?: string): Promise<{ conversationId: string; externalId: string }> {
  const externalId = `in.${from}.${++inboundN}`;
  const raw = JSON.stringify({ id: externalId, from, name: `Customer ${from}`, text, ...(subject ? { subject } : {}) });
  const r = await postWebhook(node, inbox.publicId, raw, { 'x-fakeapp-signature': createHmac('sha256', ACCESS_TOKEN).update(raw).digest('hex') });
  expect(r.status, r.text).toBe(200);
  const rows = await node.services.db.query(`SELECT conversation_id FROM messages WHERE inbox_id = $1 AND external_id = $2`, [inbox.id, externalId]);
  return { conversationId: rows[0]!.conversation_id as string, externalId };
}

let clientN = 0;
async function reply(conversationId: string, body: Record<string, unknown>, token = admin) {
  return api('POST', `/api/v1/conversations/${conversationId}/messages`, { token, body: { clientId: `c${++clientN}`, ...body } });
}

async function messageRow(id: string) {
  return (await node.services.db.query(`SELECT * FROM messages WHERE id = $1`, [id]))[0]!;
}
const statusOf = async (id: string) => (await messageRow(id)).delivery_status as string;
const attemptsOf = async (messageId: string) =>
  (await node.services.db.query(`SELECT outcome, error_code, external_id FROM channel_delivery_attempts WHERE message_id = $1 ORDER BY id`, [messageId])).map((r) => r.outcome as string);

function agentSocket(token: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = io(node.url, { auth: { token }, transports: ['websocket'], reconnection: false, forceNew: true });
    sockets.push(s);
    s.once('connect', () => resolve(s));
    s.once('connect_error', reject);
  });
}

beforeAll(async () => {
  testDb = await createTestDatabase();
  dataDir = await mkdtemp(join(tmpdir(), 'huiliu-outbound-'));
  await platform.start();
  node = await startNode();
  demo = await seedDemo(node.services);
  admin = (await node.services.users.login({ email: demo.adminEmail, password: demo.password }, { ip: '127.0.0.1' })).token;
  agent = (await node.services.users.login({ email: demo.agentEmails[0]!, password: demo.password }, { ip: '127.0.0.1' })).token;
  await allowLoopback(node, admin);
  const { inbox: created, channel: configured } = await createChannelInbox(node, admin, {
    kind: 'whatsapp', name: 'Fakeapp support', config: { apiBase: platform.url }, secrets: { accessToken: ACCESS_TOKEN },
  });
  inbox = created;
  expect(configured.status, configured.text).toBe(200);
  expect(configured.body.ready).toBe(true);
}, 60_000);

afterAll(async () => {
  for (const s of sockets) s.close();
  platform.releaseHanging();
  await node?.close();
  await platform.http?.close();
  await testDb?.drop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------------

describe('delivery of agent replies', () => {
  it('delivers a reply once to the right recipient, stores the external id, and shows pending → sent live', async () => {
    const { conversationId, externalId: incomingId } = await customerWrites('+15550001', 'Where is order 42?', 'Order 42');
    const socket = await agentSocket(admin);
    const created: any[] = [];
    const updated: any[] = [];
    socket.on('message.created', (m: any) => created.push(m));
    socket.on('message.updated', (m: any) => updated.push(m));

    const r = await reply(conversationId, { text: 'It ships today.' });
    expect(r.status, r.text).toBe(201);
    expect(r.body.message.deliveryStatus).toBe('pending');
    const id = r.body.message.id as string;

    const sent = await waitFor('the message.updated with sent', async () => updated.find((m) => m.id === id && m.deliveryStatus === 'sent'));
    expect(created.find((m) => m.id === id)?.deliveryStatus).toBe('pending');
    const delivered = platform.delivered.get(id);
    expect(delivered?.body).toEqual({ to: '+15550001', idempotency_key: id, text: 'It ships today.' });
    expect(sent.externalId).toBe(delivered!.id);
    expect((await messageRow(id)).external_id).toBe(delivered!.id);
    expect(platform.requests.filter((q) => q.idempotency_key === id)).toHaveLength(1);

    // What the adapter was given: the customer's thread (email-style) and the agent's name.
    const call = sendCalls.find((c) => c.idempotencyKey === id)!;
    expect(call.recipient).toEqual({ sourceId: '+15550001', name: 'Customer +15550001' });
    expect(call.thread).toEqual({ subject: 'Re: Order 42', inReplyTo: incomingId, references: [incomingId] });
    expect(call.senderName).toBeTruthy();

    const log = await api('GET', `/api/v1/inboxes/${inbox.id}/deliveries?outcome=sent`);
    expect(log.status).toBe(200);
    expect(log.body.find((a: any) => a.messageId === id)).toMatchObject({ outcome: 'sent', attempt: 1, externalId: delivered!.id, conversationId, inboxId: inbox.id, error: null });

    // The next reply threads onto the platform id of ours.
    const second = await reply(conversationId, { text: 'Tracking: FA123' });
    await waitFor('second delivered', async () => (await statusOf(second.body.message.id)) === 'sent');
    expect(sendCalls.find((c) => c.idempotencyKey === second.body.message.id)!.thread).toEqual({ subject: 'Re: Order 42', inReplyTo: delivered!.id, references: [incomingId, delivered!.id] });
  });

  it('sends an image through a signed link the platform fetches, with the bytes the adapter read', async () => {
    const { conversationId } = await customerWrites('+15550009', 'Can you show me?');
    const form = new FormData();
    form.append('file', new Blob([new Uint8Array(PNG)], { type: 'image/png' }), 'parcel.png');
    const up = await api('POST', '/api/v1/attachments', { form });
    expect(up.status, up.text).toBe(201);
    const r = await reply(conversationId, { contentType: 'image', text: 'Here it is', attachmentIds: [up.body.id] });
    expect(r.status, r.text).toBe(201);
    await waitFor('image delivered', async () => (await statusOf(r.body.message.id)) === 'sent');
    const media = platform.delivered.get(r.body.message.id)!.body;
    expect(media).toMatchObject({ caption: 'Here it is', media: [{ filename: 'parcel.png', mime: 'image/png', sha256: sha256(PNG) }] });
    expect(media.media![0]!.url.startsWith(`${node.url}/files/`)).toBe(true);
  });

  it('keeps conversation order while the first message is slow, without holding up other conversations', async () => {
    const a = await customerWrites('+15550002', 'hello');
    const b = await customerWrites('+15550003', 'hello too');
    platform.script.set('+15550002', [{ kind: 'hang' }]);
    const first = await reply(a.conversationId, { text: 'one' });
    await waitFor('the first request to hang at the platform', async () => platform.requests.some((q) => q.idempotency_key === first.body.message.id));
    const second = await reply(a.conversationId, { text: 'two' });
    const third = await reply(a.conversationId, { text: 'three' });
    // Another conversation goes out while this one waits.
    const other = await reply(b.conversationId, { text: 'other conversation' });
    await waitFor('the other conversation delivered', async () => (await statusOf(other.body.message.id)) === 'sent');
    expect(await statusOf(second.body.message.id)).toBe('pending');
    expect(platform.requests.some((q) => q.idempotency_key === second.body.message.id)).toBe(false);

    platform.releaseHanging();
    await waitFor('all three delivered', async () => (await statusOf(third.body.message.id)) === 'sent');
    expect(platform.deliveriesTo('+15550002').map((q) => q.text)).toEqual(['one', 'two', 'three']);
    expect(platform.maxInFlight.get('+15550002')).toBe(1);
  });

  it('retries 5xx with backoff and delivers once: the log shows retry, retry, sent', async () => {
    const { conversationId } = await customerWrites('+15550004', 'are you there?');
    platform.script.set('+15550004', [
      { kind: 'fail', status: 503, error: 'temporarily overloaded' },
      { kind: 'fail', status: 500, error: 'internal error' },
    ]);
    const r = await reply(conversationId, { text: 'Yes, here!' });
    const id = r.body.message.id as string;
    await waitFor('delivered after retries', async () => (await statusOf(id)) === 'sent');
    expect(platform.requests.filter((q) => q.idempotency_key === id)).toHaveLength(3);
    expect(platform.deliveriesTo('+15550004').map((q) => q.text)).toEqual(['Yes, here!']);
    expect(await attemptsOf(id)).toEqual(['retry', 'retry', 'sent']);
    const log = await api('GET', `/api/v1/inboxes/${inbox.id}/deliveries?outcome=retry&limit=10`);
    const retries = log.body.filter((a: any) => a.messageId === id);
    expect(retries.map((a: any) => a.attempt)).toEqual([2, 1]);
    expect(retries[1]).toMatchObject({ errorCode: 'provider_error', error: 'Fakeapp answered 503: temporarily overloaded' });
    // Paging backwards by id.
    const older = await api('GET', `/api/v1/inboxes/${inbox.id}/deliveries?outcome=retry&limit=1&beforeId=${retries[0].id}`);
    expect(older.body.map((a: any) => a.id)).toEqual([retries[1].id]);
  });

  it('a 4xx fails at once, visible to the agent; later messages still go; retry after the fix delivers it', async () => {
    const { conversationId } = await customerWrites('+15550005', 'hi');
    platform.script.set('+15550005', [{ kind: 'fail', status: 400, error: 'recipient +15550005 is not on Fakeapp' }]);
    const socket = await agentSocket(admin);
    const updated: any[] = [];
    socket.on('message.updated', (m: any) => updated.push(m));

    const bad = await reply(conversationId, { text: 'first try' });
    const id = bad.body.message.id as string;
    const failed = await waitFor('failed status live', async () => updated.find((m) => m.id === id && m.deliveryStatus === 'failed'));
    expect(failed.deliveryError).toBe('Fakeapp refused the recipient: recipient +15550005 is not on Fakeapp');
    const page = await api('GET', `/api/v1/conversations/${conversationId}/messages`);
    expect(page.body.items.find((m: any) => m.id === id)).toMatchObject({ deliveryStatus: 'failed', deliveryError: failed.deliveryError });
    expect(await attemptsOf(id)).toEqual(['failed']);

    // A dead letter does not block the conversation.
    const later = await reply(conversationId, { text: 'second message' });
    await waitFor('the later message delivered', async () => (await statusOf(later.body.message.id)) === 'sent');

    // Admins see it across the workspace; an agent without inbox.manage does not.
    const list = await api('GET', '/api/v1/deliveries/failed');
    expect(list.status).toBe(200);
    expect(list.body[0]).toMatchObject({
      messageId: id, conversationId, inboxId: inbox.id, channelType: 'whatsapp', text: 'first try',
      error: failed.deliveryError, errorCode: 'recipient_invalid', attempts: 1,
    });
    expect(typeof list.body[0].conversationDisplayId).toBe('number');
    const forbidden = await api('GET', '/api/v1/deliveries/failed', { token: agent });
    expect(forbidden.status).toBe(403);
    expect((await api('GET', `/api/v1/inboxes/${inbox.id}/deliveries`, { token: agent })).status).toBe(403);

    // Only a failed outgoing message can be retried.
    const notFailed = await api('POST', `/api/v1/conversations/${conversationId}/messages/${later.body.message.id}/retry`);
    expect(notFailed.status).toBe(409);
    expect(notFailed.body.error.message).toContain('only a message whose delivery failed can be retried');
    const note = await reply(conversationId, { text: 'internal', private: true });
    expect((await api('POST', `/api/v1/conversations/${conversationId}/messages/${note.body.message.id}/retry`)).status).toBe(409);
    // Another conversation's id in the path: not found.
    const { conversationId: elsewhere } = await customerWrites('+15550010', 'x');
    expect((await api('POST', `/api/v1/conversations/${elsewhere}/messages/${id}/retry`)).status).toBe(404);

    // The customer's number is fixed on the platform side (the script is empty now): retry.
    const retried = await api('POST', `/api/v1/conversations/${conversationId}/messages/${id}/retry`);
    expect(retried.status, retried.text).toBe(200);
    expect(retried.body).toMatchObject({ id, deliveryStatus: 'pending', deliveryError: null });
    await waitFor('retried message sent live', async () => updated.find((m) => m.id === id && m.deliveryStatus === 'sent'));
    expect(updated.filter((m) => m.id === id).map((m) => m.deliveryStatus)).toEqual(['failed', 'pending', 'sent']);
    expect(platform.deliveriesTo('+15550005').map((q) => q.text)).toEqual(['second message', 'first try']);
    expect(await attemptsOf(id)).toEqual(['failed', 'sent']);
    expect((await api('GET', '/api/v1/deliveries/failed')).body.some((f: any) => f.messageId === id)).toBe(false);
  });

  it('a channel that is no longer configured fails the message with "channel not configured"', async () => {
    const { conversationId } = await customerWrites('+15550006', 'hello');
    expect((await configureChannel(node, admin, inbox.id, { secrets: { accessToken: null } })).status).toBe(200);
    try {
      const window = await api('GET', `/api/v1/conversations/${conversationId}/send-window`);
      expect(window.body).toMatchObject({ allowed: false, reasonCode: 'channel_not_ready' });
      const r = await reply(conversationId, { text: 'will not arrive yet' });
      expect(r.status).toBe(201);
      await waitFor('failed', async () => (await statusOf(r.body.message.id)) === 'failed');
      const row = await messageRow(r.body.message.id);
      expect((row.content as any).deliveryError).toMatch(/^channel not configured: /);
      expect(platform.requests.some((q) => q.idempotency_key === r.body.message.id)).toBe(false);
    } finally {
      expect((await configureChannel(node, admin, inbox.id, { secrets: { accessToken: ACCESS_TOKEN } })).status).toBe(200);
    }
  });
});

describe('send windows and channel limits', () => {
  it('outside 24 h: free text is refused with the reason and nothing is sent; a template goes out', async () => {
    const { conversationId } = await customerWrites('+15550007', 'old question');
    const early = await reply(conversationId, { clientId: 'while-open', text: 'Looking into it' });
    expect(early.status).toBe(201);
    await waitFor('early reply delivered', async () => (await statusOf(early.body.message.id)) === 'sent');
    // The customer last wrote 50 hours ago.
    await node.services.db.query(`UPDATE conversations SET last_incoming_at = now() - interval '50 hours' WHERE id = $1`, [conversationId]);

    const w = await api('GET', `/api/v1/conversations/${conversationId}/send-window`);
    expect(w.status).toBe(200);
    expect(w.body).toMatchObject({ channelType: 'whatsapp', allowed: false, templatesOnly: true, reasonCode: 'window_closed', remainingMessages: null, capabilities: { templates: true, maxTextLength: 1000 } });
    expect(w.body.reason).toBe("Fakeapp allows free-form replies only within 24 hours of the customer's last message (last one 2 days ago); send an approved template instead");

    const before = await node.services.db.query(`SELECT count(*)::int AS n FROM messages WHERE conversation_id = $1`, [conversationId]);
    const refused = await reply(conversationId, { text: 'Any news?' });
    expect(refused.status).toBe(409);
    expect(refused.body.error).toMatchObject({ code: 'send_window_closed', message: w.body.reason });
    const after = await node.services.db.query(`SELECT count(*)::int AS n FROM messages WHERE conversation_id = $1`, [conversationId]);
    expect(after[0]!.n).toBe(before[0]!.n);
    // A client retrying what was stored while the window was open gets the stored message, not a refusal.
    const again = await api('POST', `/api/v1/conversations/${conversationId}/messages`, { body: { clientId: 'while-open', text: 'Looking into it' } });
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ duplicate: true, message: { id: early.body.message.id } });

    // Private notes are never restricted.
    expect((await reply(conversationId, { text: 'customer went quiet', private: true })).status).toBe(201);

    const t = await reply(conversationId, { text: '', template: { name: 'order_update', language: 'en_US', variables: ['42', 'today'] } });
    expect(t.status, t.text).toBe(201);
    expect(t.body.message).toMatchObject({ deliveryStatus: 'pending', template: { name: 'order_update', language: 'en_US', variables: ['42', 'today'] } });
    await waitFor('template delivered', async () => (await statusOf(t.body.message.id)) === 'sent');
    expect(platform.deliveriesTo('+15550007')).toEqual([
      { to: '+15550007', idempotency_key: early.body.message.id, text: 'Looking into it' },
      { to: '+15550007', idempotency_key: t.body.message.id, template: { name: 'order_update', language: 'en_US', params: ['42', 'today'] } },
    ]);

    // The customer answers: the window opens again.
    await customerWrites('+15550007', 'thanks, and?');
    const open = await api('GET', `/api/v1/conversations/${conversationId}/send-window`);
    expect(open.body).toMatchObject({ allowed: true, templatesOnly: false, reason: null, reasonCode: null });
    expect(Date.parse(open.body.closesAt)).toBeGreaterThan(Date.now() + 23 * 3_600_000);
    expect((await reply(conversationId, { text: 'Here you go' })).status).toBe(201);
  });

  it('refuses what the channel cannot carry, and text over its limit, naming the limit', async () => {
    const { conversationId } = await customerWrites('+15550008', 'hi');
    const loc = await reply(conversationId, { contentType: 'location', location: { latitude: 31.23, longitude: 121.47 } });
    expect(loc.status).toBe(422);
    expect(loc.body.error.code).toBe('content_unsupported_by_channel');
    expect(loc.body.error.message).toBe('Fakeapp cannot carry location messages; it carries text, image, file');
    const long = await reply(conversationId, { text: 'x'.repeat(1001) });
    expect(long.status).toBe(400);
    expect(long.body.error.issues[0]).toMatchObject({ path: 'body.text' });
    expect(long.body.error.message).toContain('at most 1000 characters');
    // A long private note is fine: it never leaves Huiliu.
    expect((await reply(conversationId, { text: 'x'.repeat(1001), private: true })).status).toBe(201);
  });

  it('templates only where the channel has them; the web widget has no window', async () => {
    const webConversation = (await node.services.db.query(
      `SELECT c.id FROM conversations c JOIN inboxes i ON i.id = c.inbox_id WHERE i.channel_type = 'web' AND i.workspace_id = (SELECT workspace_id FROM inboxes WHERE id = $1) LIMIT 1`,
      [inbox.id],
    ))[0]!.id as string;
    const t = await reply(webConversation, { text: '', template: { name: 'x', language: 'en', variables: [] } });
    expect(t.status).toBe(422);
    expect(t.body.error.code).toBe('content_unsupported_by_channel');
    const w = await api('GET', `/api/v1/conversations/${webConversation}/send-window`);
    expect(w.body).toMatchObject({ channelType: 'web', allowed: true, reasonCode: null, closesAt: null });
    const plain = await reply(webConversation, { text: 'web reply' });
    expect(plain.body.message.deliveryStatus).toBe('sent');
  });
});

describe('private notes', () => {
  it('are never delivered to the channel', async () => {
    const { conversationId } = await customerWrites('+15550011', 'hi');
    const note = await reply(conversationId, { text: 'secret internal note', private: true });
    expect(note.status).toBe(201);
    const after = await reply(conversationId, { text: 'public answer' });
    await waitFor('public answer delivered', async () => (await statusOf(after.body.message.id)) === 'sent');
    expect(platform.requests.some((q) => q.text === 'secret internal note')).toBe(false);
    expect(sendCalls.some((c) => c.idempotencyKey === note.body.message.id)).toBe(false);
    const jobs = await node.services.db.query(`SELECT 1 FROM jobs WHERE queue = 'channel.deliver' AND payload->>'messageId' = $1`, [note.body.message.id]);
    expect(jobs).toHaveLength(0);
  });
});

describe('crash safety', () => {
  it('a send interrupted by stopping the node is delivered after a restart, once', async () => {
    const { conversationId } = await customerWrites('+15550012', 'still there?');
    platform.script.set('+15550012', [{ kind: 'hang' }]);
    const r = await reply(conversationId, { text: 'yes — sending now' });
    const id = r.body.message.id as string;
    await waitFor('the send to hang at the platform', async () => platform.requests.some((q) => q.idempotency_key === id));

    // Stop the node mid-send (its drain gives up on the hanging call), then start again over the same database.
    await node.close();
    expect(await statusOf(id)).toBe('pending');
    // The platform finally answers the abandoned call (it did deliver it).
    platform.releaseHanging();
    await waitFor('the abandoned call answered', async () => platform.delivered.has(id));
    node = await startNode();

    await waitFor('delivered after restart', async () => (await statusOf(id)) === 'sent');
    // Sent again with the same idempotency key: the platform delivered it once, and we kept its id.
    expect(platform.requests.filter((q) => q.idempotency_key === id)).toHaveLength(2);
    expect(platform.deliveriesTo('+15550012').map((q) => q.text)).toEqual(['yes — sending now']);
    expect((await messageRow(id)).external_id).toBe(platform.delivered.get(id)!.id);
    expect(await attemptsOf(id)).toEqual(['sent']);
    // Later messages of the conversation still flow on the new node.
    const next = await reply(conversationId, { text: 'after the restart' });
    await waitFor('later message delivered', async () => (await statusOf(next.body.message.id)) === 'sent');
  }, 60_000);

  it('no request ever deviated from the platform\'s documented shape', () => {
    expect(platform.rejected).toEqual([]);
  });
});
