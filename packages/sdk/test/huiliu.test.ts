import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ConnectError, Transport } from '@huiliu/client';
import type { Message } from '@huiliu/contracts';
import { createHuiliuCore, type Huiliu, type HuiliuCoreOptions, type TransportContext } from '../src/huiliu.ts';
import type { HttpAdapter, HttpRequest } from '../src/http.ts';
import { createMemoryStorage, type StorageAdapter } from '../src/storage.ts';
import { HuiliuError } from '../src/errors.ts';

// The SDK's own logic (session storage per identity, URLs, errors) with scripted HTTP and an in-memory
// transport. The real protocol and server are covered by wx-socket-transport.test.ts and
// apps/server/test/sdk.int.test.ts.

const CONV = '00000000-0000-4000-8000-000000000001';
const CONTACT_A = '00000000-0000-4000-8000-00000000000a';
const CONTACT_B = '00000000-0000-4000-8000-00000000000b';

function message(seq: number, text: string, clientId: string | null): Message {
  return {
    id: `00000000-0000-4000-8000-${String(seq).padStart(12, '0')}`,
    conversationId: CONV, seq, direction: 'incoming', private: false, senderType: 'contact', senderId: CONTACT_A, identityId: null,
    contentType: 'text', text, attachments: [], location: null, card: null, clientId, externalId: null, deliveryStatus: 'sent',
    deliveryError: null, subject: null, html: null, unsupported: null, template: null, createdAt: new Date().toISOString(),
  };
}

/** Acks what the client core sends; stores messages in order. */
function fakeTransport(): Transport & { contexts: TransportContext[]; sent: unknown[] } {
  let connected = false;
  const on = { connect: new Set<() => void>(), disconnect: new Set<(r: string, w: boolean) => void>(), error: new Set<(e: ConnectError) => void>() };
  const stored: Message[] = [];
  const sent: unknown[] = [];
  return {
    contexts: [],
    sent,
    get connected() {
      return connected;
    },
    connect() {
      if (connected) return;
      setTimeout(() => {
        connected = true;
        for (const h of on.connect) h();
      }, 0);
    },
    disconnect() {
      connected = false;
    },
    async emit(event: string, payload: any): Promise<never> {
      sent.push([event, payload]);
      if (event === 'message.send') {
        const dup = stored.find((m) => m.clientId === payload.clientId);
        const m = dup ?? message(stored.length + 1, payload.text, payload.clientId);
        if (!dup) stored.push(m);
        return { ok: true, message: m, duplicate: Boolean(dup) } as never;
      }
      if (event === 'sync') return { ok: true, results: [] } as never;
      if (event === 'conversation.subscribe') return { ok: true, conversationId: payload.conversationId, messages: [], lastSeq: stored.length, hasMore: false } as never;
      return { ok: true } as never;
    },
    on: () => () => undefined,
    onConnect: (h) => (on.connect.add(h), () => on.connect.delete(h)),
    onDisconnect: (h) => (on.disconnect.add(h), () => on.disconnect.delete(h)),
    onConnectError: (h) => (on.error.add(h), () => on.error.delete(h)),
  };
}

/** Answers the widget API like the server would; records requests. */
function fakeHttp(contactId = CONTACT_A, opts: { down?: boolean } = {}): HttpAdapter & { requests: HttpRequest[] } {
  const requests: HttpRequest[] = [];
  const json = (status: number, body: unknown) => ({ status, body: JSON.stringify(body) });
  return {
    requests,
    async request(req) {
      requests.push(req);
      if (opts.down) throw new Error('connect ECONNREFUSED');
      if (req.url.endsWith('/sessions')) {
        const body = JSON.parse(req.body ?? '{}');
        if (body.identifierHash === 'f'.repeat(64)) return json(401, { error: { code: 'unauthenticated', message: 'identifierHash does not match identifier' } });
        return json(200, { visitorToken: `tok-${contactId}`, contactId, conversations: [] });
      }
      if (req.url.endsWith('/conversations') && req.method === 'POST') {
        return json(201, { conversation: { id: CONV, displayId: 1, status: 'open', lastSeq: 0, lastActivityAt: '', createdAt: '' } });
      }
      return json(404, { error: { code: 'not_found', message: 'no such route' } });
    },
    async upload() {
      throw new Error('not used');
    },
  };
}

const chats: Huiliu[] = [];
afterEach(() => {
  for (const c of chats.splice(0)) c.destroy();
});

function make(overrides: Partial<HuiliuCoreOptions> & { transportImpl?: ReturnType<typeof fakeTransport> } = {}) {
  const transport = overrides.transportImpl ?? fakeTransport();
  const http = (overrides.http as ReturnType<typeof fakeHttp> | undefined) ?? fakeHttp();
  const storage = overrides.storage ?? createMemoryStorage();
  const chat = createHuiliuCore({
    baseUrl: 'https://kf.example.com',
    inboxId: 'inbox1',
    ...overrides,
    http,
    storage,
    transport: (ctx) => {
      transport.contexts.push(ctx);
      return transport;
    },
    client: { retryDelayMs: 10, ackTimeoutMs: 200 },
  });
  chats.push(chat);
  return { chat, transport, http, storage };
}

describe('createHuiliuCore', () => {
  it('refuses unusable options with a message naming the fix', () => {
    const base = { http: fakeHttp(), storage: createMemoryStorage(), transport: () => fakeTransport() };
    expect(() => createHuiliuCore({ ...base, baseUrl: 'https://x', inboxId: '' })).toThrow(/inboxId is required/);
    expect(() => createHuiliuCore({ ...base, baseUrl: 'kf.example.com', inboxId: 'i' })).toThrow(/http\(s\):\/\//);
    expect(() => createHuiliuCore({ ...base, baseUrl: 'https://x', inboxId: 'i', identity: { identifier: 'u1', identifierHash: '' } })).toThrow(
      /identifierHash/,
    );
  });

  it('keeps a path prefix for REST and the socket, and makes server-relative URLs absolute', async () => {
    const { chat, transport, http } = make({ baseUrl: 'https://kf.example.com/support/' });
    await chat.connect();
    expect(http.requests[0]!.url).toBe('https://kf.example.com/support/api/widget/v1/sessions');
    expect(transport.contexts[0]).toMatchObject({ url: 'https://kf.example.com', path: '/support/socket.io' });
    expect(transport.contexts[0]!.auth()).toEqual({ visitorToken: `tok-${CONTACT_A}` });
    expect(chat.absoluteUrl('/files/abc?exp=1&sig=x')).toBe('https://kf.example.com/files/abc?exp=1&sig=x');
    expect(chat.absoluteUrl('https://cdn.example.com/a.png')).toBe('https://cdn.example.com/a.png');
  });

  it('sends before connect(): starts the session, creates the conversation and connects by itself', async () => {
    const { chat, transport, http, storage } = make();
    const r = await chat.send('first words').result;
    expect(r).toMatchObject({ ok: true, message: { seq: 1, text: 'first words' } });
    expect(http.requests.map((q) => `${q.method} ${q.url.replace('https://kf.example.com/api/widget/v1', '')}`)).toEqual(['POST /sessions', 'POST /conversations']);
    expect(http.requests[1]!.headers.authorization).toBe(`Bearer tok-${CONTACT_A}`);
    expect(transport.connected).toBe(true);
    expect(chat.conversationId).toBe(CONV);
    expect(JSON.parse((await storage.get('huiliu.sdk.inbox1.session'))!)).toEqual({ token: `tok-${CONTACT_A}`, contactId: CONTACT_A, conversationId: CONV });
    expect((await chat.send('   ').result)).toMatchObject({ ok: false, error: { code: 'invalid_input' } });
  });

  it('reports an unreachable server as a network error, on connect and on send', async () => {
    const { chat } = make({ http: fakeHttp(CONTACT_A, { down: true }) });
    await expect(chat.connect()).rejects.toMatchObject({ code: 'network', message: expect.stringMatching(/did not answer.*ECONNREFUSED/) });
    expect(await chat.send('hello?').result).toMatchObject({ ok: false, error: { code: 'network' } });
  });

  it('rejects connect() with the server error for a wrong identifierHash', async () => {
    const { chat, transport } = make({ identity: { identifier: 'u1', identifierHash: 'f'.repeat(64) } });
    const err = await chat.connect().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HuiliuError);
    expect(err).toMatchObject({ code: 'unauthenticated', status: 401, message: 'identifierHash does not match identifier' });
    expect(transport.contexts).toHaveLength(0);
  });

  it('presents an anonymous session on sign-in (merge), but never hands one user’s session to another', async () => {
    const storage: StorageAdapter = createMemoryStorage();
    const anon = make({ storage });
    await anon.chat.connect();
    anon.chat.destroy();

    const alice = make({ storage, identity: { identifier: 'alice', identifierHash: 'a'.repeat(64) } });
    await alice.chat.connect();
    expect(JSON.parse(alice.http.requests[0]!.body!)).toMatchObject({ visitorToken: `tok-${CONTACT_A}`, identifier: 'alice' });
    await storage.set('huiliu.sdk.inbox1.outbox', '{"v":1,"items":[{"clientId":"c1","conversationId":"x","input":{"text":"alice draft"}}]}');
    alice.chat.destroy();

    const bob = make({ storage, http: fakeHttp(CONTACT_B), identity: { identifier: 'bob', identifierHash: 'b'.repeat(64) } });
    await bob.chat.connect();
    const body = JSON.parse(bob.http.requests[0]!.body!);
    expect(body.visitorToken).toBeUndefined();
    expect(body.identifier).toBe('bob');
    expect(await storage.get('huiliu.sdk.inbox1.outbox')).toBeNull();
    expect(JSON.parse((await storage.get('huiliu.sdk.inbox1.session'))!)).toEqual({ token: `tok-${CONTACT_B}`, contactId: CONTACT_B, identifier: 'bob' });

    await bob.chat.reset();
    expect(await storage.get('huiliu.sdk.inbox1.session')).toBeNull();
    expect(bob.chat.contactId).toBeNull();
  });

  it('rejects a pending connect() with cancelled when the client is destroyed', async () => {
    const transport = fakeTransport();
    transport.connect = () => undefined; // never gets online
    const { chat } = make({ transportImpl: transport });
    const pending = chat.connect();
    await vi.waitFor(() => expect(transport.contexts).toHaveLength(1));
    chat.destroy();
    await expect(pending).rejects.toMatchObject({ code: 'cancelled' });
  });

  it('forwards status changes and resolves connect() once online', async () => {
    const { chat } = make();
    const statuses: string[] = [];
    chat.on('status', (s) => statuses.push(s));
    const session = await chat.connect();
    expect(session).toEqual({ contactId: CONTACT_A, conversationId: null, conversations: [] });
    await vi.waitFor(() => expect(statuses).toEqual(['connecting', 'online']));
    expect(chat.status).toBe('online');
  });
});
