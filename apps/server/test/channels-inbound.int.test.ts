/**
 * The inbound half of the channel framework through a real server: channel settings of an inbox (secrets
 * never returned), platform webhooks (signature, replay, malformed, unsupported, delivery reports, echoes,
 * size limit, media through the SSRF-safe client), threading and channel events, pollers with their saved
 * position across a restart, and tenant isolation of the admin routes.
 *
 * The platforms are two small fake adapters defined here (passed to the server as its adapters map):
 * "Fakegram" (webhooks, HMAC-signed JSON) and "Fakemail" (a poller reading an in-memory mailbox).
 */
import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ChannelError, type ChannelAdapter, type ChannelCapabilities, type InboundMessageEvent, type NormalizedInbound } from '@huiliu/channels';
import type { ChannelType } from '@huiliu/contracts';
import { createWorkspace } from '@huiliu/core/workspaces/workspace.service';
import { createLogger } from '@huiliu/core/shared/logger';
import { loadConfig } from '../src/config.ts';
import { startHuiliu, type Huiliu } from '../src/app.ts';
import {
  SAMPLE_PNG as PNG, allowLoopback, callApi, configureChannel, createChannelInbox, createInbox, messagesOfConversation, postWebhook,
  setNetworkAllowlist, sleep, startMediaHost, storedMessages, waitFor, type InboxRef, type NodeAddress, type Poll,
} from './helpers/channels.ts';
import { httpRequest, startTestServer, type TestServer } from './helpers/test-server.ts';

const SIGNING_KEY = 'fakegram-signing-key-QZ7w';

const CAPS: ChannelCapabilities = {
  contentTypes: ['text', 'image'], maxTextLength: 4096, maxMediaBytes: 10 * 1024 * 1024, typing: false, readReceipts: false, deliveryReports: true, templates: false, sendWindow: null,
};

// ---------------------------------------------------------------------------------------------------
// Fakegram: a webhook platform. Body: { events: WireEvent[] }, header x-fake-signature = hex HMAC-SHA256.

const FakegramConfig = z.strictObject({ botName: z.string().min(1), greeting: z.string().max(100).optional() });

type WireEvent =
  | { kind: 'message'; id: string; from: { id: string; name?: string; email?: string }; text?: string; type?: 'text' | 'image' | 'file' | 'sticker';
      media?: { url?: string; inline?: string; fileName?: string; contentType?: string; size?: number }[]; html?: string; subject?: string; inReplyTo?: string; echo?: boolean; raw?: unknown }
  | { kind: 'status'; id: string; status: 'sent' | 'delivered' | 'read' | 'failed'; error?: string }
  | { kind: 'event'; id: string; from: { id: string; name?: string }; event: string };

function toEvent(w: WireEvent): NormalizedInbound {
  if (w.kind === 'status') return { kind: 'status', externalId: w.id, status: w.status, ...(w.error ? { error: w.error } : {}), at: new Date() };
  if (w.kind === 'event') return { kind: 'event', externalId: w.id, event: w.event, sender: { sourceId: w.from.id, name: w.from.name ?? null }, at: new Date() };
  const sender = { sourceId: w.from.id, name: w.from.name ?? null, email: w.from.email ?? null };
  let content: InboundMessageEvent['content'];
  if (w.type === 'sticker') content = { type: 'unsupported', text: 'A sticker (Fakegram stickers are not supported yet)', raw: w.raw };
  else if (w.type === 'image' || w.type === 'file') {
    content = {
      type: w.type,
      ...(w.text ? { text: w.text } : {}),
      media: (w.media ?? []).map((m) => ({
        ...(m.url ? { ref: m.url } : {}),
        ...(m.inline ? { inline: Buffer.from(m.inline, 'base64') } : {}),
        ...(m.fileName ? { fileName: m.fileName } : {}),
        ...(m.contentType ? { contentType: m.contentType } : {}),
        ...(m.size !== undefined ? { size: m.size } : {}),
      })),
    };
  } else content = { type: 'text', text: w.text ?? '' };
  return {
    kind: 'message', externalId: w.id, sender, content, sentAt: new Date(),
    ...(w.html ? { html: w.html } : {}),
    ...(w.subject || w.inReplyTo ? { thread: { ...(w.subject ? { subject: w.subject } : {}), ...(w.inReplyTo ? { inReplyTo: w.inReplyTo } : {}) } } : {}),
    ...(w.echo ? { echo: true } : {}),
  };
}

const fakegram: ChannelAdapter<z.infer<typeof FakegramConfig>> = {
  kind: 'telegram',
  displayName: 'Fakegram',
  configSchema: FakegramConfig,
  secrets: [
    { name: 'signingKey', label: 'Signing key', required: true },
    { name: 'note', label: 'Optional note', required: false },
  ],
  capabilities: () => CAPS,
  async receive(req, ctx) {
    if (req.method === 'GET') return { response: { status: 200, contentType: 'text/plain', body: req.query.challenge ?? '' }, events: [] };
    const expected = createHmac('sha256', ctx.secrets.signingKey!).update(req.rawBody).digest('hex');
    if (req.headers['x-fake-signature'] !== expected) throw new ChannelError('signature_invalid', 'x-fake-signature does not match the body');
    let body: { events?: WireEvent[] };
    try {
      body = JSON.parse(req.rawBody.toString('utf8')) as { events?: WireEvent[] };
    } catch {
      throw new ChannelError('malformed', 'the body is not JSON');
    }
    if (!Array.isArray(body.events)) throw new ChannelError('malformed', 'events: must be an array');
    return { response: { status: 200, contentType: 'application/json', body: '{"ok":true}' }, events: body.events.map(toEvent) };
  },
  // Agent replies go out through core's outbound delivery; the platform's id names them in delivery reports.
  async send(msg) {
    return { externalId: `fg-out-${msg.idempotencyKey}` };
  },
};

// ---------------------------------------------------------------------------------------------------
// Fakemail: a poller over an in-memory mailbox; its position is { next } in the poll state.

const mailbox: { id: string; from: string; text: string }[] = [];
const fakemailLog = { starts: [] as string[], delivered: [] as string[] };

const fakemail: ChannelAdapter<{ mailbox: string }> = {
  kind: 'email',
  displayName: 'Fakemail',
  configSchema: z.strictObject({ mailbox: z.string().min(1) }),
  secrets: [{ name: 'password', label: 'Password', required: true }],
  capabilities: () => CAPS,
  async send() {
    return { externalId: 'not-used-here' };
  },
  poll(ctx, sink) {
    let stopped = false;
    fakemailLog.starts.push(ctx.config.mailbox);
    const loop = (async () => {
      while (!stopped) {
        if (ctx.secrets.password !== 'right-password') {
          ctx.logger.error({ mailbox: ctx.config.mailbox }, 'login failed: the server refused the password');
          await sleep(50);
          continue;
        }
        const state = await sink.state.get();
        let next = Number(state?.next ?? 0);
        while (!stopped && next < mailbox.length) {
          const m = mailbox[next]!;
          await sink.deliver([{ kind: 'message', externalId: m.id, sender: { sourceId: m.from, email: m.from }, content: { type: 'text', text: m.text }, sentAt: new Date() }]);
          fakemailLog.delivered.push(m.id);
          next++;
          await sink.state.set({ next });
        }
        await sleep(40);
      }
    })();
    return {
      async stop() {
        stopped = true;
        await loop.catch(() => {});
      },
    };
  },
};

const adapters = new Map<ChannelType, ChannelAdapter<any>>([
  ['telegram', fakegram],
  ['email', fakemail],
]);

// ---------------------------------------------------------------------------------------------------

let server: TestServer;
let baseUrl = '';
let token = '';
let inbox: InboxRef;
/** The node the tests talk to: the test server, then the node restarted over its database. */
const current: NodeAddress = { get url() { return baseUrl; } };

const api = (method: string, path: string, o: { body?: unknown; token?: string } = {}) => callApi(current, o.token ?? token, method, path, { body: o.body });
const sign = (body: string) => createHmac('sha256', SIGNING_KEY).update(body).digest('hex');
function hook(events: WireEvent[], o: { publicId?: string; forge?: boolean; rawBody?: string; contentType?: string } = {}) {
  const body = o.rawBody ?? JSON.stringify({ events });
  return postWebhook(current, o.publicId ?? inbox.publicId, body, {
    'x-fake-signature': o.forge ? sign('something else') : sign(body),
    ...(o.contentType ? { 'content-type': o.contentType } : {}),
  });
}
const messagesByExternalId = (externalId: string) => storedMessages(server.node.services.db, inbox.id, externalId);
const conversationMessages = (conversationId: string) => messagesOfConversation(current, token, conversationId);
const waitUntil = <T>(what: string, poll: Poll<T>) => waitFor(what, poll, { timeoutMs: 10_000 });

/** Stands for a media host; counts hits so a refused download is proven unfetched. */
let mediaHost: Awaited<ReturnType<typeof startMediaHost>>;

beforeAll(async () => {
  server = await startTestServer({ channelAdapters: adapters });
  baseUrl = server.url;
  token = await server.login(server.demo.adminEmail);
  mediaHost = await startMediaHost({ bytes: PNG, contentType: 'image/png', fileName: 'cat.png' });
});
afterAll(async () => {
  await mediaHost?.close();
  await server?.close();
});

describe('channel settings of an inbox', () => {
  it('lists the channel kinds the server runs, with their settings schema and inbound mode', async () => {
    const r = await api('GET', '/api/v1/channels');
    expect(r.status).toBe(200);
    const tg = r.body.find((k: any) => k.kind === 'telegram');
    expect(tg).toMatchObject({ displayName: 'Fakegram', inbound: 'webhook', secrets: [{ name: 'signingKey', required: true }, { name: 'note', required: false }] });
    expect(tg.configSchema.properties.botName).toBeDefined();
    expect(r.body.find((k: any) => k.kind === 'email')).toMatchObject({ inbound: 'poll' });
  });

  it('creates inboxes only for channel kinds with an adapter', async () => {
    const bad = await api('POST', '/api/v1/inboxes', { body: { name: 'WhatsApp', channelType: 'whatsapp' } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.issues[0].path).toBe('body.channelType');
    inbox = await createInbox(current, token, { kind: 'telegram', name: 'Fakegram support' });
    const before = await api('GET', `/api/v1/inboxes/${inbox.id}/channel`);
    expect(before.body).toMatchObject({ kind: 'telegram', ready: false, secrets: [{ name: 'signingKey', set: false, hint: null }, { name: 'note', set: false }] });
  });

  it('refuses invalid settings naming config.<field>, and unknown secrets', async () => {
    const r = await api('PUT', `/api/v1/inboxes/${inbox.id}/channel`, { body: { config: { botName: '', color: 'red' } } });
    expect(r.status).toBe(400);
    const paths = r.body.error.issues.map((i: any) => i.path);
    expect(paths).toContain('config.botName');
    expect(paths).toContain('config.color');
    const s = await api('PUT', `/api/v1/inboxes/${inbox.id}/channel`, { body: { secrets: { apiToken: 'x'.repeat(20) } } });
    expect(s.status).toBe(400);
    expect(s.body.error.issues[0].path).toBe('secrets.apiToken');
  });

  it('stores settings and secrets: the secret is never returned, only a hint; the audit names keys only', async () => {
    const r = await api('PUT', `/api/v1/inboxes/${inbox.id}/channel`, { body: { config: { botName: 'huiliu_bot' }, secrets: { signingKey: SIGNING_KEY } } });
    expect(r.status).toBe(200);
    expect(r.text).not.toContain(SIGNING_KEY);
    expect(r.body).toMatchObject({
      inboxId: inbox.id, kind: 'telegram', config: { botName: 'huiliu_bot' }, ready: true, lastError: null,
      webhookUrl: `${baseUrl}/api/channels/v1/${inbox.publicId}/webhook`,
      secrets: [{ name: 'signingKey', set: true, hint: '••••QZ7w' }, { name: 'note', set: false, hint: null }],
      capabilities: { deliveryReports: true },
    });
    const got = await api('GET', `/api/v1/inboxes/${inbox.id}/channel`);
    expect(got.body).toEqual(r.body);
    expect(got.text).not.toContain(SIGNING_KEY);
    // Kept encrypted in the vault under the inbox's name.
    const stored = await server.node.services.db.query(`SELECT ciphertext FROM secrets WHERE name = $1`, [`channel:${inbox.id}:signingKey`]);
    expect(stored).toHaveLength(1);
    expect(String(stored[0]!.ciphertext)).not.toContain(SIGNING_KEY);

    const audit = await api('GET', '/api/v1/audit-log?limit=50');
    const entry = audit.body.find((e: any) => e.action === 'inbox.channel_updated' && e.targetId === inbox.id);
    expect(entry.details).toMatchObject({ configKeys: ['botName'], secretsSet: ['signingKey'], secretsRemoved: [] });
    expect(audit.text).not.toContain(SIGNING_KEY);

    const check = await api('POST', `/api/v1/inboxes/${inbox.id}/channel/check`);
    expect(check.status).toBe(200);
    expect(check.body.ok).toBe(true);
  });
});

describe('webhooks', () => {
  let firstConversationId = '';

  it('answers a verification handshake (GET) with what the adapter says', async () => {
    const r = await httpRequest(baseUrl, 'GET', `/api/channels/v1/${inbox.publicId}/webhook?challenge=abc123`);
    expect(r.status).toBe(200);
    expect(r.text).toBe('abc123');
  });

  it('a signed message creates contact, conversation and message, visible over REST and the socket', async () => {
    const agent = await server.socket({ token });
    const created: any[] = [];
    agent.on('message.created', (m: any) => created.push(m));
    const r = await hook([{ kind: 'message', id: 'm1', from: { id: 'tg-100', name: 'Alice Chen' }, text: '你好, my parcel is late' }]);
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ ok: true });

    const list = await api('GET', `/api/v1/conversations?status=all&inboxId=${inbox.id}`);
    expect(list.body.items).toHaveLength(1);
    const conv = list.body.items[0];
    firstConversationId = conv.id;
    expect(conv.contact.name).toBe('Alice Chen');
    const msgs = await conversationMessages(conv.id);
    expect(msgs).toHaveLength(1);
    expect(msgs[0]).toMatchObject({ direction: 'incoming', senderType: 'contact', senderId: conv.contactId, externalId: 'm1', text: '你好, my parcel is late', contentType: 'text' });
    const identities = await api('GET', `/api/v1/contacts/${conv.contactId}/identities`);
    expect(identities.body).toMatchObject([{ inboxId: inbox.id, channelType: 'telegram', sourceId: 'tg-100' }]);
    expect(msgs[0].identityId).toBe(identities.body[0].id);
    await waitUntil('message.created on the agent socket', async () => created.some((m) => m.externalId === 'm1'));
  });

  it('the same webhook replayed is stored once', async () => {
    const body = JSON.stringify({ events: [{ kind: 'message', id: 'm1', from: { id: 'tg-100', name: 'Alice Chen' }, text: '你好, my parcel is late' }] });
    for (let i = 0; i < 2; i++) expect((await hook([], { rawBody: body })).status).toBe(200);
    expect(await messagesByExternalId('m1')).toHaveLength(1);
    expect(await conversationMessages(firstConversationId)).toHaveLength(1);
  });

  it('a forged signature is refused with 401 and stores nothing', async () => {
    const r = await hook([{ kind: 'message', id: 'forged-1', from: { id: 'tg-666' }, text: 'let me in' }], { forge: true });
    expect(r.status).toBe(401);
    expect(r.json.error.code).toBe('unauthenticated');
    expect(await messagesByExternalId('forged-1')).toHaveLength(0);
    const ids = await server.node.services.db.query(`SELECT 1 FROM contact_identities WHERE inbox_id = $1 AND source_id = 'tg-666'`, [inbox.id]);
    expect(ids).toHaveLength(0);
  });

  it('a malformed body is refused with 400; an unknown address 404; an unfinished channel 409', async () => {
    const bad = await hook([], { rawBody: '{"events": not json' });
    expect(bad.status).toBe(400);
    expect(bad.json.error.message).toMatch(/not JSON/);
    const unknown = await hook([{ kind: 'message', id: 'x', from: { id: 'a' }, text: 'x' }], { publicId: 'no-such-inbox' });
    expect(unknown.status).toBe(404);
    const unfinished = await createInbox(current, token, { kind: 'telegram', name: 'Fakegram without key' });
    const r = await hook([{ kind: 'message', id: 'x', from: { id: 'a' }, text: 'x' }], { publicId: unfinished.publicId });
    expect(r.status).toBe(409);
    expect(r.json.error.message).toMatch(/not ready/);
  });

  it('a body over 1 MB is refused with 413 and a clear message', async () => {
    const big = JSON.stringify({ events: [{ kind: 'message', id: 'big', from: { id: 'tg-100' }, text: 'x'.repeat(1024 * 1024) }] });
    const r = await hook([], { rawBody: big });
    expect(r.status).toBe(413);
    expect(r.json.error.message).toMatch(/larger than 1 MB/);
    expect(await messagesByExternalId('big')).toHaveLength(0);
  });

  it('keeps the raw bytes of any content type (form-encoded bodies are verified as sent)', async () => {
    // The adapter parses JSON; what matters is that the signature is checked over the exact bytes.
    const body = JSON.stringify({ events: [{ kind: 'message', id: 'form-1', from: { id: 'tg-100' }, text: 'sent as form-urlencoded' }] });
    const r = await hook([], { rawBody: body, contentType: 'application/x-www-form-urlencoded' });
    expect(r.status).toBe(200);
    expect(await messagesByExternalId('form-1')).toHaveLength(1);
  });

  it('an unsupported message type is stored as unsupported content with its raw payload', async () => {
    const raw = { type: 'sticker', file_id: 'CAACAgIAAxkBAAE', emoji: '😺' };
    expect((await hook([{ kind: 'message', id: 'st-1', from: { id: 'tg-100' }, type: 'sticker', raw }])).status).toBe(200);
    const [row] = await messagesByExternalId('st-1');
    expect(row).toBeDefined();
    expect((row!.content as any).unsupported).toEqual({ type: 'sticker', raw });
    const msgs = await conversationMessages(row!.conversation_id as string);
    expect(msgs.find((m) => m.externalId === 'st-1')).toMatchObject({ contentType: 'text', unsupported: 'sticker', text: 'A sticker (Fakegram stickers are not supported yet)' });
  });

  it('keeps a long text whole, and stores email subject and sanitized HTML', async () => {
    const long = '长'.repeat(20_000);
    const html = '<p onclick="steal()">Hello <b>there</b><script>alert(1)</script><img src="http://tracker.example/p.gif"><a href="https://shop.example/o/1">order</a></p>';
    expect((await hook([{ kind: 'message', id: 'mail-like-1', from: { id: 'tg-100' }, text: long, subject: 'Where is my order?', html }])).status).toBe(200);
    const msg = (await conversationMessages(firstConversationId)).find((m) => m.externalId === 'mail-like-1');
    expect(msg.text).toBe(long);
    expect(msg.subject).toBe('Where is my order?');
    expect(msg.html).toBe('<p>Hello <b>there</b><a rel="noopener noreferrer" target="_blank" href="https://shop.example/o/1">order</a></p>');
  });

  it('a media URL pointing at 127.0.0.1 is refused (never fetched) but the message is stored with a note', async () => {
    const hits = mediaHost.hits;
    expect((await hook([{ kind: 'message', id: 'img-ssrf', from: { id: 'tg-100' }, type: 'image', text: 'see photo', media: [{ url: mediaHost.url, fileName: 'cat.png' }] }])).status).toBe(200);
    const msg = (await conversationMessages(firstConversationId)).find((m) => m.externalId === 'img-ssrf');
    expect(msg).toMatchObject({ contentType: 'text', attachments: [] });
    expect(msg.text).toMatch(/^see photo\n\[cat\.png was not stored: it could not be downloaded: .*127\.0\.0\.1.*\]$/);
    expect(mediaHost.hits).toBe(hits);
  });

  it('downloads media from an allowlisted host, refuses a declared oversize before downloading, and keeps a refused file type as unsupported', async () => {
    await allowLoopback(current, token);
    const hits = mediaHost.hits;
    const html = Buffer.from('<html><script>alert(1)</script></html>').toString('base64');
    const r = await hook([
      { kind: 'message', id: 'img-ok', from: { id: 'tg-100' }, type: 'image', media: [{ url: mediaHost.url, fileName: 'cat.png' }] },
      { kind: 'message', id: 'img-huge', from: { id: 'tg-100' }, type: 'image', media: [{ url: mediaHost.url, fileName: 'huge.png', size: 500 * 1024 * 1024 }] },
      { kind: 'message', id: 'file-html', from: { id: 'tg-100' }, type: 'file', media: [{ inline: html, fileName: 'invoice.html', contentType: 'text/html' }] },
    ]);
    expect(r.status).toBe(200);
    expect(mediaHost.hits).toBe(hits + 1);
    const msgs = await conversationMessages(firstConversationId);
    const ok = msgs.find((m) => m.externalId === 'img-ok');
    expect(ok).toMatchObject({ contentType: 'image', attachments: [{ fileName: 'cat.png', contentType: 'image/png', size: PNG.length }] });
    const file = await httpRequest(baseUrl, 'GET', new URL(ok.attachments[0].url, baseUrl).pathname + new URL(ok.attachments[0].url, baseUrl).search);
    expect(file.status).toBe(200);
    const huge = msgs.find((m) => m.externalId === 'img-huge');
    expect(huge).toMatchObject({ contentType: 'text', attachments: [] });
    expect(huge.text).toMatch(/huge\.png was not stored: the file is 500 MB, over the 20 MB limit; it was not downloaded/);
    const refused = msgs.find((m) => m.externalId === 'file-html');
    expect(refused).toMatchObject({ contentType: 'text', attachments: [], unsupported: 'text/html' });
    expect(refused.text).toMatch(/invoice\.html was not stored: this file is HTML\/XML markup/);
    const [row] = await messagesByExternalId('file-html');
    expect((row!.content as any).unsupported.raw.media[0]).toMatchObject({ fileName: 'invoice.html', contentType: 'text/html' });
    await setNetworkAllowlist(current, token, []);
  });

  it('delivery reports move our outgoing messages forward only, and agents get message.updated', async () => {
    const reply = await api('POST', `/api/v1/conversations/${firstConversationId}/messages`, { body: { clientId: 'out-a', text: 'We are on it' } });
    const reply2 = await api('POST', `/api/v1/conversations/${firstConversationId}/messages`, { body: { clientId: 'out-b', text: 'Sorry for the delay' } });
    expect(reply.status).toBe(201);
    const out1 = `fg-out-${reply.body.message.id}`;
    const out2 = `fg-out-${reply2.body.message.id}`;
    // Outbound delivery hands both to Fakegram and records the platform's ids with status 'sent'.
    await waitUntil('both replies sent', async () => {
      const rows = await server.node.services.db.query(`SELECT 1 FROM messages WHERE external_id = ANY($1::text[]) AND delivery_status = 'sent'`, [[out1, out2]]);
      return rows.length === 2;
    });
    const agent = await server.socket({ token });
    const updated: any[] = [];
    agent.on('message.updated', (m: any) => updated.push(m));

    expect((await hook([{ kind: 'status', id: out1, status: 'delivered' }])).status).toBe(200);
    await waitUntil('message.updated', async () => updated.some((m) => m.id === reply.body.message.id && m.deliveryStatus === 'delivered'));
    expect((await hook([{ kind: 'status', id: out1, status: 'sent' }, { kind: 'status', id: 'unknown-out', status: 'read' }])).status).toBe(200);
    let msgs = await conversationMessages(firstConversationId);
    expect(msgs.find((m) => m.id === reply.body.message.id).deliveryStatus).toBe('delivered');
    expect((await hook([{ kind: 'status', id: out1, status: 'read' }, { kind: 'status', id: out2, status: 'failed', error: '131047: re-engagement message' }])).status).toBe(200);
    msgs = await conversationMessages(firstConversationId);
    expect(msgs.find((m) => m.id === reply.body.message.id)).toMatchObject({ deliveryStatus: 'read', deliveryError: null });
    expect(msgs.find((m) => m.id === reply2.body.message.id)).toMatchObject({ deliveryStatus: 'failed', deliveryError: '131047: re-engagement message' });
    await waitUntil('message.updated (failed)', async () => updated.some((m) => m.id === reply2.body.message.id && m.deliveryStatus === 'failed'));

    // Echoes of our own messages (by flag or by our external id) are not stored as customer messages.
    const count = (await conversationMessages(firstConversationId)).length;
    expect((await hook([
      { kind: 'message', id: out1, from: { id: 'tg-100' }, text: 'We are on it' },
      { kind: 'message', id: 'echo-9', from: { id: 'tg-100' }, text: 'We are on it', echo: true },
    ])).status).toBe(200);
    expect(await conversationMessages(firstConversationId)).toHaveLength(count);
    expect(await messagesByExternalId('echo-9')).toHaveLength(0);
  });

  it('a new message after resolving opens a new conversation; a reply to an earlier message goes back to its thread', async () => {
    expect((await api('PATCH', `/api/v1/conversations/${firstConversationId}`, { body: { status: 'resolved' } })).status).toBe(200);
    expect((await hook([{ kind: 'message', id: 'm-new', from: { id: 'tg-100' }, text: 'another question' }])).status).toBe(200);
    const [fresh] = await messagesByExternalId('m-new');
    expect(fresh!.conversation_id).not.toBe(firstConversationId);
    expect((await hook([{ kind: 'message', id: 'm-follow', from: { id: 'tg-100' }, text: 'more on the same question' }])).status).toBe(200);
    expect((await messagesByExternalId('m-follow'))[0]!.conversation_id).toBe(fresh!.conversation_id);
    expect((await hook([{ kind: 'message', id: 'm-thread', from: { id: 'tg-100' }, text: 'about my parcel again', inReplyTo: 'm1' }])).status).toBe(200);
    expect((await messagesByExternalId('m-thread'))[0]!.conversation_id).toBe(firstConversationId);
    const conv = await api('GET', `/api/v1/conversations/${firstConversationId}`);
    expect(conv.body.status).toBe('open');
  });

  it('channel events become an activity line in the open conversation, or are only logged', async () => {
    expect((await hook([
      { kind: 'event', id: 'ev-1', from: { id: 'tg-100', name: 'Alice Chen' }, event: 'unsubscribe' },
      { kind: 'event', id: 'ev-2', from: { id: 'tg-nobody' }, event: 'subscribe' },
    ])).status).toBe(200);
    const [activity] = await messagesByExternalId('event:ev-1');
    expect(activity).toMatchObject({ direction: 'activity', sender_type: 'system' });
    expect(activity!.text).toContain('unsubscribe');
    expect(await messagesByExternalId('event:ev-2')).toHaveLength(0);
    const nobody = await server.node.services.db.query(`SELECT 1 FROM contact_identities WHERE inbox_id = $1 AND source_id = 'tg-nobody'`, [inbox.id]);
    expect(nobody).toHaveLength(0);
  });
});

describe('tenant isolation of the channel admin routes', () => {
  it("another workspace's admin gets 404 for this workspace's channel and changes nothing", async () => {
    const s = server.node.services;
    const other = await s.db.transaction(async (tx) => {
      const ws = await createWorkspace(tx, { name: 'Other Co', slug: 'other-co' });
      await s.users.createActive(tx, ws.id, { email: 'boss@other.example', name: 'Other Boss', password: 'Other-Passw0rd-123', role: 'admin' });
      return ws;
    });
    const otherToken = (await s.users.login({ email: 'boss@other.example', password: 'Other-Passw0rd-123' }, { ip: '127.0.0.1' })).token;
    for (const [method, path, body] of [
      ['GET', `/api/v1/inboxes/${inbox.id}/channel`, undefined],
      ['PUT', `/api/v1/inboxes/${inbox.id}/channel`, { config: { botName: 'hijacked' }, secrets: { signingKey: 'attacker-key-123456' } }],
      ['POST', `/api/v1/inboxes/${inbox.id}/channel/check`, undefined],
    ] as const) {
      const r = await api(method, path, { token: otherToken, ...(body ? { body } : {}) });
      expect(r.status, `${method} ${path}`).toBe(404);
      expect(r.body.error.code).toBe('not_found');
      expect(r.text).not.toContain('huiliu_bot');
    }
    const mine = await api('GET', `/api/v1/inboxes/${inbox.id}/channel`);
    expect(mine.body.config).toEqual({ botName: 'huiliu_bot' });
    expect(await s.vault.get(other.id, `channel:${inbox.id}:signingKey`)).toBeUndefined();
    const own = await s.db.query(`SELECT workspace_id FROM secrets WHERE name = $1`, [`channel:${inbox.id}:signingKey`]);
    expect(own).toHaveLength(1);
    expect(own[0]!.workspace_id).not.toBe(other.id);
  });
});

describe('pollers', () => {
  let mailInbox: InboxRef;
  let node2: Huiliu | undefined;
  afterAll(async () => {
    await node2?.close();
  });

  it('records a login failure as the channel lastError, then restarts with new secrets and delivers through the sink', async () => {
    mailbox.push({ id: '<mail-1@example.com>', from: 'bob@example.com', text: 'first email' }, { id: '<mail-2@example.com>', from: 'bob@example.com', text: 'second email' });
    const { inbox: created, channel: put } = await createChannelInbox(current, token, {
      kind: 'email', name: 'Support mailbox', config: { mailbox: 'support@' }, secrets: { password: 'wrong-password' },
    });
    mailInbox = created;
    expect(put.body).toMatchObject({ ready: true, webhookUrl: '' });
    const failing = await waitUntil('lastError', async () => {
      const r = await api('GET', `/api/v1/inboxes/${mailInbox.id}/channel`);
      return r.body.lastError ? r.body : null;
    });
    expect(failing.lastError).toBe('login failed: the server refused the password');
    expect(fakemailLog.delivered).toEqual([]);

    const starts = fakemailLog.starts.length;
    await configureChannel(current, token, mailInbox.id, { secrets: { password: 'right-password' } });
    await waitUntil('two emails stored', async () => fakemailLog.delivered.length === 2);
    expect(fakemailLog.starts.length).toBeGreaterThan(starts);
    const rows = await server.node.services.db.query(`SELECT external_id, conversation_id FROM messages WHERE inbox_id = $1 ORDER BY seq`, [mailInbox.id]);
    expect(rows.map((r) => r.external_id)).toEqual(['<mail-1@example.com>', '<mail-2@example.com>']);
    expect(new Set(rows.map((r) => r.conversation_id)).size).toBe(1);
    const after = await api('GET', `/api/v1/inboxes/${mailInbox.id}/channel`);
    expect(after.body.lastError).toBeNull();
    expect(server.node.services.channelPollers.polling()).toContain(mailInbox.id);
  });

  it('resumes from its saved position after a restart (only the new email is delivered again)', async () => {
    await server.node.close();
    mailbox.push({ id: '<mail-3@example.com>', from: 'bob@example.com', text: 'third email' });
    fakemailLog.delivered.length = 0;
    node2 = await startHuiliu({
      config: loadConfig({ PORT: '0', HOST: '127.0.0.1', HUILIU_DATA_DIR: server.dataDir, LOG_LEVEL: 'silent' }),
      db: server.testDb.db,
      seed: false,
      logger: createLogger({ level: 'silent' }),
      channelAdapters: adapters,
    });
    baseUrl = node2.url;
    await waitUntil('third email stored', async () => fakemailLog.delivered.length === 1);
    await sleep(200);
    expect(fakemailLog.delivered).toEqual(['<mail-3@example.com>']);
    const rows = await node2.services.db.query(`SELECT external_id FROM messages WHERE inbox_id = $1 ORDER BY seq`, [mailInbox.id]);
    expect(rows.map((r) => r.external_id)).toEqual(['<mail-1@example.com>', '<mail-2@example.com>', '<mail-3@example.com>']);
    const lease = await node2.services.db.query(`SELECT lease_owner, poll_state FROM channel_inbound_state WHERE inbox_id = $1`, [mailInbox.id]);
    expect(lease[0]).toMatchObject({ lease_owner: node2.services.channelPollers.nodeId, poll_state: { next: 3 } });
    // The webhook channel still answers on the new node, with its secrets read from the vault.
    expect((await hook([{ kind: 'message', id: 'after-restart', from: { id: 'tg-100' }, text: 'still there?' }])).status).toBe(200);
  });

  it('only one node polls an inbox: a second node finds the lease taken', async () => {
    const s = node2!.services;
    const holder = s.channelPollers.nodeId;
    const other = (await import('@huiliu/core/channels/channel-pollers')).createChannelPollers({
      db: s.db, events: s.events, logger: s.logger, channelConfig: s.channelConfig, ingest: s.channelIngest, options: { nodeId: 'node-other', leaseMs: 60_000 },
    });
    const starts = fakemailLog.starts.length;
    await other.start();
    expect(other.polling()).toEqual([]);
    expect(fakemailLog.starts.length).toBe(starts);
    await other.stop();
    const lease = await s.db.query(`SELECT lease_owner FROM channel_inbound_state WHERE inbox_id = $1`, [mailInbox.id]);
    expect(lease[0]!.lease_owner).toBe(holder);
  });
});
