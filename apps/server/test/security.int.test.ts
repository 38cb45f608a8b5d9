/**
 * Security behaviour of the HTTP API and the realtime gateway, end to end against a real node:
 * credentials (session and visitor tokens), conversation access between visitors and between workspaces,
 * the widget Origin allowlist, request validation and size limits, plain-text messages, session revocation
 * on password change and deactivation, login rate limiting, password hashing, the secrets vault, the audit
 * log, PII masking, inbox membership, and file uploads / signed downloads.
 */
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import type { Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorkspace } from '@huiliu/core/workspaces/workspace.service';
import { hashToken } from '@huiliu/core/auth/tokens';
import { httpRequest, startTestServer, type RawResponse, type RequestOptions, type TestServer } from './helpers/test-server.ts';

type Raw = RawResponse;

async function call(srv: TestServer, method: string, path: string, o: RequestOptions = {}): Promise<Raw> {
  return httpRequest(srv.url, method, path, o);
}

const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==', 'base64');

function fileForm(data: Buffer, name: string, type: string): FormData {
  const form = new FormData();
  form.append('file', new Blob([new Uint8Array(data)], { type }), name);
  return form;
}

/** Replaces the character at `index` (negative counts from the end) by a different base64url character. */
function flipAt(s: string, index: number): string {
  const i = index < 0 ? s.length + index : index;
  const c = s[i]!;
  return s.slice(0, i) + (c === 'A' ? 'B' : 'A') + s.slice(i + 1);
}

function nextEvent<T = any>(socket: Socket, event: string, ms = 5_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.off(event, on);
      reject(new Error(`no "${event}" within ${ms} ms`));
    }, ms);
    const on = (payload: T) => {
      clearTimeout(timer);
      resolve(payload);
    };
    socket.once(event, on);
  });
}

/** Collects every payload of an event, for "nothing arrived" assertions. */
function record(socket: Socket, event: string): any[] {
  const seen: any[] = [];
  socket.on(event, (p: any) => seen.push(p));
  return seen;
}

function connectError(srv: TestServer, auth: Record<string, string>, headers: Record<string, string> = {}): Promise<{ message: string; data: any }> {
  return srv.socket(auth, headers).then(
    (s) => {
      s.close();
      throw new Error('the socket connected but should have been refused');
    },
    (err: Error & { data?: unknown }) => ({ message: err.message, data: err.data }),
  );
}

const ack = (s: Socket, event: string, payload: unknown): Promise<any> => s.timeout(5_000).emitWithAck(event, payload);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------------

let server: TestServer;
let adminToken = '';
let adminId = '';
let workspaceA = '';
let demoInboxId = '';
let liToken = '';
const PASSWORD = 'Security-Test-Passw0rd';

/** A session without going through the HTTP login route (whose rate limit is tested on its own). */
async function session(email: string, password = server.demo.password): Promise<string> {
  return (await server.node.services.users.login({ email, password }, { ip: '127.0.0.1' })).token;
}

async function createAgent(local: string, role = 'agent'): Promise<{ id: string; email: string; token: string }> {
  const email = `${local}@demo.huiliu.local`;
  const u = await server.node.services.users.createActive(server.node.services.db, workspaceA, { email, name: `Test ${local}`, password: PASSWORD, role });
  return { id: u.id, email, token: await session(email, PASSWORD) };
}

async function visitorSession(publicId = server.demo.widgetInboxPublicId, headers: Record<string, string> = {}): Promise<{ token: string; contactId: string }> {
  const r = await call(server, 'POST', '/api/widget/v1/sessions', { body: { inboxPublicId: publicId }, headers });
  if (r.status !== 200) throw new Error(`widget session: ${r.status} ${r.text}`);
  return { token: r.json.visitorToken, contactId: r.json.contactId };
}

async function visitorConversation(token: string, text: string): Promise<string> {
  const r = await call(server, 'POST', '/api/widget/v1/conversations', { token, body: { text } });
  if (r.status !== 201) throw new Error(`widget conversation: ${r.status} ${r.text}`);
  return r.json.conversation.id;
}

async function adminConversationByContact(name: string): Promise<any> {
  const r = await call(server, 'GET', '/api/v1/conversations?status=all&limit=200', { token: adminToken });
  const c = r.json.items.find((x: any) => x.contact.name === name);
  if (!c) throw new Error(`no demo conversation of ${name}`);
  return c;
}

beforeAll(async () => {
  server = await startTestServer();
  adminToken = await session(server.demo.adminEmail);
  const me = await call(server, 'GET', '/api/v1/auth/me', { token: adminToken });
  adminId = me.json.user.id;
  workspaceA = me.json.workspace.id;
  demoInboxId = (await call(server, 'GET', '/api/v1/inboxes', { token: adminToken })).json[0].id;
  liToken = await session(server.demo.agentEmails[0]!);
}, 120_000);

afterAll(async () => {
  await server?.close();
});

// ---------------------------------------------------------------------------------------------------

describe('session tokens', () => {
  it('no token → 401 unauthenticated; forged, tampered or expired token → 401 session_expired', async () => {
    const none = await call(server, 'GET', '/api/v1/auth/me');
    expect(none.status).toBe(401);
    expect(none.json.error.code).toBe('unauthenticated');

    const forged = await call(server, 'GET', '/api/v1/auth/me', { token: `hls_${randomBytes(32).toString('base64url')}` });
    expect(forged.status).toBe(401);
    expect(forged.json.error.code).toBe('session_expired');

    const token = await session(server.demo.adminEmail);
    expect((await call(server, 'GET', '/api/v1/auth/me', { token })).status).toBe(200);
    for (const tampered of [flipAt(token, -1), flipAt(token, 10), `${token}x`, token.slice(0, -1)]) {
      const r = await call(server, 'GET', '/api/v1/auth/me', { token: tampered });
      expect(r.status).toBe(401);
      expect(['session_expired', 'unauthenticated']).toContain(r.json.error.code);
    }

    await server.node.services.db.query(`UPDATE sessions SET expires_at = now() - interval '1 minute' WHERE token_hash = $1`, [hashToken(token)]);
    const expired = await call(server, 'GET', '/api/v1/auth/me', { token });
    expect(expired.status).toBe(401);
    expect(expired.json.error.code).toBe('session_expired');
    expect(expired.headers.get('content-type')).toMatch(/^application\/json/);
  });

  it('forged and expired session tokens are refused at the socket handshake', async () => {
    const forged = await connectError(server, { token: `hls_${randomBytes(32).toString('base64url')}` });
    expect(forged.data.code).toBe('session_expired');
    const token = await session(server.demo.adminEmail);
    await server.node.services.db.query(`UPDATE sessions SET expires_at = now() - interval '1 minute' WHERE token_hash = $1`, [hashToken(token)]);
    const expired = await connectError(server, { token });
    expect(expired.data.code).toBe('session_expired');
    const logout = await session(server.demo.adminEmail);
    expect((await call(server, 'POST', '/api/v1/auth/logout', { token: logout })).status).toBe(204);
    expect((await connectError(server, { token: logout })).data.code).toBe('session_expired');
    expect((await call(server, 'GET', '/api/v1/auth/me', { token: logout })).status).toBe(401);
  });
});

describe('visitor tokens', () => {
  it('a tampered payload or signature → 401 over REST and connect_error over the socket', async () => {
    const v = await visitorSession();
    const [version, body, mac] = v.token.split('.') as [string, string, string];
    expect(version).toBe('v1');
    expect((await call(server, 'GET', '/api/widget/v1/conversations', { token: v.token })).status).toBe(200);

    // Claims of another visitor (B's contact) signed with a key we made up
    const claims = JSON.parse(Buffer.from(body, 'base64url').toString());
    const forgedBody = Buffer.from(JSON.stringify({ ...claims, c: randomUUID() })).toString('base64url');
    const forgedMac = createHmac('sha256', randomBytes(32)).update(`v1.${forgedBody}`).digest('base64url');
    const other = await visitorSession();
    const otherMac = other.token.split('.')[2]!;

    const tampered = {
      'payload flipped': `v1.${flipAt(body, 5)}.${mac}`,
      'payload last char flipped': `v1.${flipAt(body, -1)}.${mac}`,
      'signature flipped': `v1.${body}.${flipAt(mac, 3)}`,
      'signature last char flipped': `v1.${body}.${flipAt(mac, -1)}`,
      'claims re-signed with a wrong key': `v1.${forgedBody}.${forgedMac}`,
      "another visitor's signature": `v1.${body}.${otherMac}`,
      'no signature': `v1.${body}`,
      'wrong version': `v2.${body}.${mac}`,
    };
    for (const [what, token] of Object.entries(tampered)) {
      const r = await call(server, 'GET', '/api/widget/v1/conversations', { token });
      expect(r.status, what).toBe(401);
      expect(r.json.error.code, what).toBe('unauthenticated');
      const err = await connectError(server, { visitorToken: token });
      expect(err.data?.code, what).toBe('unauthenticated');
    }
    // a visitor token is not a session token and vice versa
    expect((await call(server, 'GET', '/api/v1/auth/me', { token: v.token })).status).toBe(401);
    expect((await call(server, 'GET', '/api/widget/v1/conversations', { token: adminToken })).status).toBe(401);
  });

  it("a tampered token is not resumed by POST /sessions: a new, empty visitor is made instead", async () => {
    const v = await visitorSession();
    const conv = await visitorConversation(v.token, 'resume me');
    const [, body, mac] = v.token.split('.') as [string, string, string];
    const r = await call(server, 'POST', '/api/widget/v1/sessions', { body: { inboxPublicId: server.demo.widgetInboxPublicId, visitorToken: `v1.${body}.${flipAt(mac, 2)}` } });
    expect(r.status).toBe(200);
    expect(r.json.contactId).not.toBe(v.contactId);
    expect(r.json.conversations.map((c: any) => c.id)).not.toContain(conv);
    const resumed = await call(server, 'POST', '/api/widget/v1/sessions', { body: { inboxPublicId: server.demo.widgetInboxPublicId, visitorToken: v.token } });
    expect(resumed.json.contactId).toBe(v.contactId);
    expect(resumed.json.conversations.map((c: any) => c.id)).toContain(conv);
  });
});

describe("one visitor asking for another visitor's conversation (same inbox)", () => {
  it('404 over REST', async () => {
    const one = await visitorSession();
    const two = await visitorSession();
    const conv = await visitorConversation(one.token, 'visitor one private words');
    for (const [method, path, body] of [
      ['GET', `/api/widget/v1/conversations/${conv}/messages`, undefined],
      ['POST', `/api/widget/v1/conversations/${conv}/messages`, { clientId: 'x-1', text: 'intruder' }],
      ['POST', `/api/widget/v1/conversations/${conv}/read`, { seq: 1 }],
    ] as const) {
      const r = await call(server, method, path, { token: two.token, ...(body ? { body } : {}) });
      expect(r.status, `${method} ${path}`).toBe(404);
      expect(r.json.error.code).toBe('not_found');
      expect(r.text).not.toContain('visitor one private words');
    }
    const list = await call(server, 'GET', '/api/widget/v1/conversations', { token: two.token });
    expect(list.json).toEqual([]);
    const mine = await call(server, 'GET', `/api/widget/v1/conversations/${conv}/messages`, { token: one.token });
    expect(mine.json.items.map((m: any) => m.text)).toEqual(['visitor one private words']);
  });

  it('not_found acks over the socket for conversation.subscribe, message.send, sync, typing and read; no events leak', async () => {
    const one = await visitorSession();
    const two = await visitorSession();
    const conv = await visitorConversation(one.token, 'socket private words');
    const s2 = await server.socket({ visitorToken: two.token });
    const s1 = await server.socket({ visitorToken: one.token });
    const leaked = record(s2, 'message.created');

    const sub = await ack(s2, 'conversation.subscribe', { conversationId: conv, afterSeq: 0 });
    expect(sub.ok).toBe(false);
    expect(sub.error.code).toBe('not_found');
    expect(JSON.stringify(sub)).not.toContain('socket private words');

    const send = await ack(s2, 'message.send', { conversationId: conv, clientId: 'intrude-1', text: 'intruder text' });
    expect(send).toMatchObject({ ok: false, error: { code: 'not_found' } });

    const sync = await ack(s2, 'sync', { conversations: [{ conversationId: conv, afterSeq: 0 }] });
    expect(sync).toMatchObject({ ok: false, error: { code: 'not_found' } });
    expect(JSON.stringify(sync)).not.toContain('socket private words');

    expect(await ack(s2, 'typing', { conversationId: conv, typing: true })).toMatchObject({ ok: false, error: { code: 'not_found' } });
    expect(await ack(s2, 'read', { conversationId: conv, seq: 1 })).toMatchObject({ ok: false, error: { code: 'not_found' } });

    // The owner still has exactly their own message, and a new one reaches the owner only.
    const mineNext = nextEvent(s1, 'message.created');
    const sent = await ack(s1, 'message.send', { conversationId: conv, clientId: 'own-2', text: 'second private words' });
    expect(sent.ok).toBe(true);
    expect((await mineNext).text).toBe('second private words');
    await sleep(200);
    expect(leaked).toEqual([]);
    const page = await call(server, 'GET', `/api/widget/v1/conversations/${conv}/messages`, { token: one.token });
    expect(page.json.items.map((m: any) => m.text)).toEqual(['socket private words', 'second private words']);
    s1.close();
    s2.close();
  });
});

describe('across workspaces over the socket', () => {
  let convB = '';
  let visitorB = '';

  beforeAll(async () => {
    const s = server.node.services;
    const ws = await s.db.transaction((tx) => createWorkspace(tx, { name: 'Other Co', slug: 'other-co' }));
    const system = { kind: 'system' as const, workspaceId: ws.id, via: 'system' as const };
    const inbox = await s.inboxes.create(system, { name: 'Other inbox', channelType: 'web', allowedOrigins: [], widget: {} });
    const v = await visitorSession(inbox.publicId);
    visitorB = v.token;
    convB = await visitorConversation(v.token, 'workspace B confidential');
  });

  it("an agent of workspace A subscribing to B's conversation gets not_found, and B's traffic never reaches A", async () => {
    const sA = await server.socket({ token: adminToken });
    const seen = record(sA, 'message.created');
    const seenUpdates = record(sA, 'conversation.updated');
    const sub = await ack(sA, 'conversation.subscribe', { conversationId: convB, afterSeq: 0 });
    expect(sub).toMatchObject({ ok: false, error: { code: 'not_found' } });
    expect(JSON.stringify(sub)).not.toContain('workspace B confidential');
    expect(await ack(sA, 'sync', { conversations: [{ conversationId: convB, afterSeq: 0 }] })).toMatchObject({ ok: false, error: { code: 'not_found' } });
    expect(await ack(sA, 'message.send', { conversationId: convB, clientId: 'cross-1', text: 'from A' })).toMatchObject({ ok: false, error: { code: 'not_found' } });
    expect(await ack(sA, 'typing', { conversationId: convB, typing: true })).toMatchObject({ ok: false, error: { code: 'not_found' } });
    expect(await ack(sA, 'read', { conversationId: convB, seq: 1 })).toMatchObject({ ok: false, error: { code: 'not_found' } });

    // B's visitor writes; A's admin (who sees every conversation of A) must not get it
    const sB = await server.socket({ visitorToken: visitorB });
    const echo = nextEvent(sB, 'message.created');
    expect((await ack(sB, 'message.send', { conversationId: convB, clientId: 'b-2', text: 'workspace B second' })).ok).toBe(true);
    await echo;
    await sleep(200);
    expect(seen).toEqual([]);
    expect(seenUpdates.filter((c) => c.id === convB)).toEqual([]);
    sA.close();
    sB.close();
  });

  it("B's visitor cannot open A's conversations over the socket", async () => {
    const demoConv = await adminConversationByContact('王小明');
    const sB = await server.socket({ visitorToken: visitorB });
    expect(await ack(sB, 'conversation.subscribe', { conversationId: demoConv.id, afterSeq: 0 })).toMatchObject({ ok: false, error: { code: 'not_found' } });
    expect(await ack(sB, 'message.send', { conversationId: demoConv.id, clientId: 'b-3', text: 'x' })).toMatchObject({ ok: false, error: { code: 'not_found' } });
    sB.close();
  });
});

describe('widget Origin allowlist', () => {
  afterAll(async () => {
    await call(server, 'PATCH', `/api/v1/inboxes/${demoInboxId}`, { token: adminToken, body: { allowedOrigins: [] } });
  });

  it('a visitor from an origin outside allowedOrigins is refused over the socket and REST; the allowed origin works', async () => {
    const before = await visitorSession(server.demo.widgetInboxPublicId, { origin: 'https://shop.example.com' });
    const patched = await call(server, 'PATCH', `/api/v1/inboxes/${demoInboxId}`, { token: adminToken, body: { allowedOrigins: ['https://shop.example.com'] } });
    expect(patched.status).toBe(200);
    expect(patched.json.allowedOrigins).toEqual(['https://shop.example.com']);

    const refused = await connectError(server, { visitorToken: before.token }, { origin: 'https://evil.example' });
    expect(refused.data.code).toBe('origin_not_allowed');
    const allowed = await server.socket({ visitorToken: before.token }, { origin: 'https://shop.example.com' });
    expect(allowed.connected).toBe(true);
    allowed.close();

    const evilSession = await call(server, 'POST', '/api/widget/v1/sessions', { body: { inboxPublicId: server.demo.widgetInboxPublicId }, headers: { origin: 'https://evil.example' } });
    expect(evilSession.status).toBe(403);
    expect(evilSession.json.error.code).toBe('origin_not_allowed');
    const evilConfig = await call(server, 'GET', `/api/widget/v1/inboxes/${server.demo.widgetInboxPublicId}/config`, { headers: { origin: 'https://evil.example' } });
    expect(evilConfig.status).toBe(403);
    const evilList = await call(server, 'GET', '/api/widget/v1/conversations', { token: before.token, headers: { origin: 'https://evil.example' } });
    expect(evilList.status).toBe(403);
    expect(evilList.json.error.code).toBe('origin_not_allowed');

    const shopSession = await call(server, 'POST', '/api/widget/v1/sessions', { body: { inboxPublicId: server.demo.widgetInboxPublicId }, headers: { origin: 'https://shop.example.com' } });
    expect(shopSession.status).toBe(200);
  });
});

describe('request validation and limits', () => {
  let conv = '';
  beforeAll(async () => {
    conv = (await adminConversationByContact('张伟')).id;
  });

  it('malformed JSON → 400 malformed_json', async () => {
    const r = await call(server, 'POST', '/api/v1/contacts', { token: adminToken, rawBody: '{"name": "x",' });
    expect(r.status).toBe(400);
    expect(r.json.error.code).toBe('malformed_json');
    expect(r.headers.get('content-type')).toMatch(/^application\/json/);
  });

  it('an unknown field → 400 validation_failed naming it', async () => {
    const r = await call(server, 'POST', '/api/v1/contacts', { token: adminToken, body: { name: 'Valid Name', foo: 1 } });
    expect(r.status).toBe(400);
    expect(r.json.error.code).toBe('validation_failed');
    expect(r.json.error.issues[0].path).toBe('body.foo');
    expect(r.json.error.message).toContain('foo');
    const nested = await call(server, 'PATCH', '/api/v1/workspace', { token: adminToken, body: { settings: { bar: true } } });
    expect(nested.status).toBe(400);
    expect(nested.json.error.issues[0].path).toBe('body.settings.bar');
  });

  it('text of 64 KB is accepted, 64 KB + 1 byte → 400 naming body.text (also in 4-byte UTF-8)', async () => {
    const exact = await call(server, 'POST', `/api/v1/conversations/${conv}/messages`, { token: adminToken, body: { clientId: 'size-64k', text: 'a'.repeat(64 * 1024), private: true } });
    expect(exact.status).toBe(201);
    const over = await call(server, 'POST', `/api/v1/conversations/${conv}/messages`, { token: adminToken, body: { clientId: 'size-64k-1', text: 'a'.repeat(64 * 1024 + 1), private: true } });
    expect(over.status).toBe(400);
    expect(over.json.error.code).toBe('validation_failed');
    expect(over.json.error.issues[0].path).toBe('body.text');
    const emoji = '😀'.repeat(16 * 1024); // 4 bytes each: exactly 64 KB
    expect((await call(server, 'POST', `/api/v1/conversations/${conv}/messages`, { token: adminToken, body: { clientId: 'size-emoji', text: emoji, private: true } })).status).toBe(201);
    const emojiOver = await call(server, 'POST', `/api/v1/conversations/${conv}/messages`, { token: adminToken, body: { clientId: 'size-emoji-1', text: `${emoji}a`, private: true } });
    expect(emojiOver.status).toBe(400);
    expect(emojiOver.json.error.issues[0].path).toBe('body.text');
  });

  it('a body larger than the JSON limit → 413 payload_too_large', async () => {
    const r = await call(server, 'POST', '/api/v1/contacts', { token: adminToken, body: { name: 'x'.repeat(300 * 1024) } });
    expect(r.status).toBe(413);
    expect(r.json.error.code).toBe('payload_too_large');
  });

  it('HTML / script text is stored and returned verbatim as plain text in JSON', async () => {
    const html = `<script>alert(1)</script><img src=x onerror="alert('2')"> & "quotes" </textarea>`;
    const sent = await call(server, 'POST', `/api/v1/conversations/${conv}/messages`, { token: adminToken, body: { clientId: 'html-1', text: html } });
    expect(sent.status).toBe(201);
    expect(sent.headers.get('content-type')).toMatch(/^application\/json/);
    expect(sent.json.message.text).toBe(html);
    const page = await call(server, 'GET', `/api/v1/conversations/${conv}/messages?limit=500`, { token: adminToken });
    expect(page.headers.get('content-type')).toMatch(/^application\/json/);
    expect(page.json.items.find((m: any) => m.id === sent.json.message.id).text).toBe(html);
    const stored = await server.node.services.db.query(`SELECT text FROM messages WHERE id = $1`, [sent.json.message.id]);
    expect(stored[0]!.text).toBe(html);
    // errors and 404s are JSON too
    for (const r of [await call(server, 'GET', '/nope'), await call(server, 'GET', '/api/v1/auth/me')]) {
      expect(r.headers.get('content-type')).toMatch(/^application\/json/);
    }
  });
});

describe('session revocation', () => {
  it('a password change revokes the other sessions: old token → 401, its socket gets session.revoked and is disconnected', async () => {
    const u = await createAgent('pw.change');
    const other = await session(u.email, PASSWORD);
    const sock = await server.socket({ token: other });
    const revoked = nextEvent(sock, 'session.revoked');
    const disconnected = nextEvent<string>(sock, 'disconnect');

    const wrong = await call(server, 'POST', '/api/v1/auth/password', { token: u.token, body: { currentPassword: 'not-my-password', newPassword: 'Another-Passw0rd-1' } });
    expect(wrong.status).toBe(401);
    expect(wrong.json.error.code).toBe('invalid_credentials');

    const changed = await call(server, 'POST', '/api/v1/auth/password', { token: u.token, body: { currentPassword: PASSWORD, newPassword: 'Another-Passw0rd-1' } });
    expect(changed.status).toBe(200);
    expect(changed.json.token).toBeTruthy();
    expect(await revoked).toEqual({ reason: 'password_changed' });
    expect(await disconnected).toBe('io server disconnect');

    const old = await call(server, 'GET', '/api/v1/auth/me', { token: other });
    expect(old.status).toBe(401);
    expect(['session_expired', 'unauthenticated']).toContain(old.json.error.code);
    expect((await call(server, 'GET', '/api/v1/auth/me', { token: changed.json.token })).status).toBe(200);
    await expect(session(u.email, PASSWORD)).rejects.toMatchObject({ code: 'invalid_credentials' });
    expect(await session(u.email, 'Another-Passw0rd-1')).toMatch(/^hls_/);
  });

  it('deactivation revokes sessions (token → 401, socket revoked) and login → 403 account_deactivated', async () => {
    const u = await createAgent('deactivated');
    const sock = await server.socket({ token: u.token });
    const revoked = nextEvent(sock, 'session.revoked');
    const disconnected = nextEvent<string>(sock, 'disconnect');
    const r = await call(server, 'POST', `/api/v1/users/${u.id}/deactivate`, { token: adminToken });
    expect(r.status).toBe(200);
    expect(r.json.status).toBe('deactivated');
    expect(await revoked).toEqual({ reason: 'deactivated' });
    expect(await disconnected).toBe('io server disconnect');
    expect((await call(server, 'GET', '/api/v1/auth/me', { token: u.token })).status).toBe(401);
    const login = await call(server, 'POST', '/api/v1/auth/login', { body: { email: u.email, password: PASSWORD } });
    expect(login.status).toBe(403);
    expect(login.json.error.code).toBe('account_deactivated');
    expect(login.text).not.toContain('token');
  });
});

describe('stored credentials', () => {
  it('passwords are stored as argon2id hashes', async () => {
    const rows = await server.node.services.db.query<{ email: string; password_hash: string | null }>(`SELECT email, password_hash FROM users WHERE password_hash IS NOT NULL`);
    expect(rows.length).toBeGreaterThanOrEqual(3);
    for (const r of rows) {
      expect(r.password_hash, r.email).toMatch(/^\$argon2id\$/);
      expect(r.password_hash).not.toContain(server.demo.password);
      expect(r.password_hash).not.toContain(PASSWORD);
    }
  });

  it('secrets: PUT then GET shows only the hint; the database holds no plaintext; an agent gets 403', async () => {
    const plaintext = 'sk_live_Plaintext-Secret-7f3e';
    const put = await call(server, 'PUT', '/api/v1/secrets/smtp.password', { token: adminToken, body: { value: plaintext } });
    expect(put.status).toBe(204);
    const list = await call(server, 'GET', '/api/v1/secrets', { token: adminToken });
    expect(list.status).toBe(200);
    expect(list.json).toEqual([expect.objectContaining({ name: 'smtp.password', hint: '••••7f3e' })]);
    expect(list.text).not.toContain(plaintext);
    expect(list.text).not.toContain('Plaintext-Secret');

    const rows = await server.node.services.db.query(`SELECT * FROM secrets WHERE workspace_id = $1`, [workspaceA]);
    expect(rows).toHaveLength(1);
    const dump = JSON.stringify(rows);
    expect(dump).not.toContain(plaintext);
    expect(dump).not.toContain('Plaintext-Secret');
    expect(dump).not.toContain(Buffer.from(plaintext).toString('base64'));
    expect(await server.node.services.vault.get(workspaceA, 'smtp.password')).toBe(plaintext);

    for (const [method, path, body] of [
      ['GET', '/api/v1/secrets', undefined],
      ['PUT', '/api/v1/secrets/agent.secret', { value: 'agent-wants-this' }],
      ['DELETE', '/api/v1/secrets/smtp.password', undefined],
    ] as const) {
      const r = await call(server, method, path, { token: liToken, ...(body ? { body } : {}) });
      expect(r.status, `${method} ${path}`).toBe(403);
      expect(r.json.error.code).toBe('forbidden');
      expect(r.text).not.toContain('7f3e');
    }
    expect(await server.node.services.vault.get(workspaceA, 'agent.secret')).toBeUndefined();
    expect(await server.node.services.vault.get(workspaceA, 'smtp.password')).toBe(plaintext);
  });

  it('the audit log records secret.stored, user.deactivated and user.role_changed with actor and ip', async () => {
    const u = await createAgent('role.change');
    expect((await call(server, 'PUT', '/api/v1/secrets/audit.key', { token: adminToken, body: { value: 'audit-value-123456' } })).status).toBe(204);
    expect((await call(server, 'PATCH', `/api/v1/users/${u.id}`, { token: adminToken, body: { role: 'supervisor' } })).status).toBe(200);
    expect((await call(server, 'POST', `/api/v1/users/${u.id}/deactivate`, { token: adminToken, headers: { 'user-agent': 'security-test/1.0' } })).status).toBe(200);

    const log = await call(server, 'GET', '/api/v1/audit-log?limit=200', { token: adminToken });
    expect(log.status).toBe(200);
    const find = (action: string, targetId: string) => log.json.find((e: any) => e.action === action && e.targetId === targetId);
    const stored = find('secret.stored', 'audit.key');
    const role = find('user.role_changed', u.id);
    const deactivated = find('user.deactivated', u.id);
    for (const [name, e] of Object.entries({ stored, role, deactivated })) {
      expect(e, name).toBeTruthy();
      expect(e.actorType, name).toBe('user');
      expect(e.actorId, name).toBe(adminId);
      expect(e.ip, name).toMatch(/127\.0\.0\.1/);
    }
    expect(role.details).toMatchObject({ from: 'agent', to: 'supervisor' });
    expect(deactivated.userAgent).toBe('security-test/1.0');
    expect(log.text).not.toContain('audit-value-123456');
    // agents cannot read it
    expect((await call(server, 'GET', '/api/v1/audit-log', { token: liToken })).status).toBe(403);
  });

  it('the audit_log table refuses UPDATE and DELETE', async () => {
    const db = server.node.services.db;
    const [row] = await db.query<{ id: string; action: string }>(`SELECT id, action FROM audit_log ORDER BY id DESC LIMIT 1`);
    expect(row).toBeTruthy();
    await expect(db.query(`UPDATE audit_log SET action = 'tampered' WHERE id = $1`, [row!.id])).rejects.toThrow(/append-only/);
    await expect(db.query(`DELETE FROM audit_log WHERE id = $1`, [row!.id])).rejects.toThrow(/append-only/);
    await expect(db.query(`DELETE FROM audit_log`)).rejects.toThrow(/append-only/);
    const [after] = await db.query<{ action: string }>(`SELECT action FROM audit_log WHERE id = $1`, [row!.id]);
    expect(after!.action).toBe(row!.action);
  });
});

describe('PII masking', () => {
  it('an agent without contact.pii sees masked email and phone; an admin sees them in full', async () => {
    const created = await call(server, 'POST', '/api/v1/contacts', { token: adminToken, body: { name: 'PII Person', email: 'pii.person@example.com', phone: '+8613812345678' } });
    expect(created.status).toBe(201);
    const id = created.json.id;
    const agent = await createAgent('pii.agent');

    const asAgent = await call(server, 'GET', `/api/v1/contacts/${id}`, { token: agent.token });
    expect(asAgent.status).toBe(200);
    expect(asAgent.json.email).toBe('p***@example.com');
    expect(asAgent.json.phone).not.toBe('+8613812345678');
    expect(asAgent.json.phone).toMatch(/\*/);
    expect(asAgent.text).not.toContain('pii.person@example.com');
    expect(asAgent.text).not.toContain('13812345678');

    const asAdmin = await call(server, 'GET', `/api/v1/contacts/${id}`, { token: adminToken });
    expect(asAdmin.json.email).toBe('pii.person@example.com');
    expect(asAdmin.json.phone).toBe('+8613812345678');

    const list = await call(server, 'GET', '/api/v1/contacts?limit=200', { token: agent.token });
    expect(list.text).not.toContain('pii.person@example.com');
    expect(list.json.items.find((c: any) => c.id === id).email).toBe('p***@example.com');
    const search = await call(server, 'GET', `/api/v1/search?q=${encodeURIComponent('PII Person')}`, { token: agent.token });
    expect(search.status).toBe(200);
    expect(search.json.contacts.map((c: any) => c.id)).toContain(id);
    expect(search.text).not.toContain('pii.person@example.com');

    // conversations carry their contact: masked for an agent who is a member of the demo inbox
    const convs = await call(server, 'GET', '/api/v1/conversations?status=all', { token: liToken });
    expect(convs.json.items.length).toBeGreaterThan(0);
    expect(convs.text).not.toContain('xiaoming.wang@example.com');
    expect(convs.text).toContain('x***@example.com');

    // and they cannot overwrite what they cannot read
    const patch = await call(server, 'PATCH', `/api/v1/contacts/${id}`, { token: agent.token, body: { email: 'mine@example.com' } });
    expect(patch.status).toBe(403);
  });
});

describe('inbox membership', () => {
  it('an agent removed from an inbox no longer sees its conversations: 404, absent from lists, search and realtime', async () => {
    const agent = await createAgent('member.agent');
    const inbox = (await call(server, 'GET', `/api/v1/inboxes/${demoInboxId}`, { token: adminToken })).json;
    const withAgent = await call(server, 'PUT', `/api/v1/inboxes/${demoInboxId}/members`, { token: adminToken, body: { userIds: [...inbox.memberIds, agent.id] } });
    expect(withAgent.status).toBe(200);
    const conv = await adminConversationByContact('张伟'); // unassigned

    expect((await call(server, 'GET', `/api/v1/conversations/${conv.id}`, { token: agent.token })).status).toBe(200);
    const listed = await call(server, 'GET', '/api/v1/conversations?status=all', { token: agent.token });
    expect(listed.json.items.map((c: any) => c.id)).toContain(conv.id);
    // Two sockets of the agent: one opened the conversation (conv room), one only sits in the inbox room.
    const sock = await server.socket({ token: agent.token });
    const plain = await server.socket({ token: agent.token });
    const sub = await ack(sock, 'conversation.subscribe', { conversationId: conv.id, afterSeq: 0 });
    expect(sub.ok).toBe(true);
    const received = record(sock, 'message.created');
    const receivedPlain = record(plain, 'message.created');

    const removed = await call(server, 'PUT', `/api/v1/inboxes/${demoInboxId}/members`, { token: adminToken, body: { userIds: inbox.memberIds } });
    expect(removed.status).toBe(200);
    expect(removed.json.memberIds).not.toContain(agent.id);

    const get = await call(server, 'GET', `/api/v1/conversations/${conv.id}`, { token: agent.token });
    expect(get.status).toBe(404);
    expect((await call(server, 'GET', `/api/v1/conversations/${conv.id}/messages`, { token: agent.token })).status).toBe(404);
    const after = await call(server, 'GET', '/api/v1/conversations?status=all', { token: agent.token });
    expect(after.status).toBe(200);
    expect(after.json.items).toEqual([]);
    const adminSearch = await call(server, 'GET', `/api/v1/search?q=${encodeURIComponent('耳机')}`, { token: adminToken });
    expect(adminSearch.json.messages.map((h: any) => h.conversation.id)).toContain(conv.id);
    const search = await call(server, 'GET', `/api/v1/search?q=${encodeURIComponent('耳机')}`, { token: agent.token });
    expect(search.json.messages).toEqual([]);
    expect(search.json.conversations).toEqual([]);
    expect(await ack(sock, 'conversation.subscribe', { conversationId: conv.id, afterSeq: 0 })).toMatchObject({ ok: false, error: { code: 'not_found' } });

    // New traffic in that conversation: the admin's socket gets it, the removed agent's does not
    await sleep(300); // room membership is recomputed asynchronously after inbox.members_changed
    const adminSock = await server.socket({ token: adminToken });
    const adminGot = nextEvent(adminSock, 'message.created');
    const msg = await call(server, 'POST', `/api/v1/conversations/${conv.id}/messages`, { token: adminToken, body: { clientId: 'after-removal', text: 'after removal secret' } });
    expect(msg.status).toBe(201);
    expect((await adminGot).id).toBe(msg.json.message.id);
    await sleep(300);
    expect({
      subscribedSocket: received.map((m) => m.text),
      inboxRoomSocket: receivedPlain.map((m) => m.text),
    }).toEqual({ subscribedSocket: [], inboxRoomSocket: [] });
    sock.close();
    plain.close();
    adminSock.close();
  });
});

describe('file uploads and downloads', () => {
  it('an executable (MZ header) → 415, also when named and declared as an image', async () => {
    const exe = Buffer.alloc(1024);
    exe.write('MZ', 0, 'latin1');
    exe.writeUInt32LE(0x80, 0x3c);
    exe.write('PE\0\0', 0x80, 'latin1');
    for (const [name, type] of [['setup.exe', 'application/x-msdownload'], ['cat.png', 'image/png']] as const) {
      const r = await call(server, 'POST', '/api/v1/attachments', { token: adminToken, form: fileForm(exe, name, type) });
      expect(r.status, name).toBe(415);
      expect(r.json.error.code).toBe('unsupported_media_type');
    }
    const html = await call(server, 'POST', '/api/v1/attachments', { token: adminToken, form: fileForm(Buffer.from('<html><script>alert(1)</script></html>'), 'page.txt', 'text/plain') });
    expect(html.status).toBe(415);
  });

  it('a file over the upload limit → 413 payload_too_large', async () => {
    const limit = server.node.services.attachments.maxUploadBytes;
    const big = Buffer.alloc(limit + 1024 * 1024, 0x61);
    big.set(PNG, 0);
    const r = await call(server, 'POST', '/api/v1/attachments', { token: adminToken, form: fileForm(big, 'big.png', 'image/png') });
    expect(r.status).toBe(413);
    expect(r.json.error.code).toBe('payload_too_large');
  }, 60_000);

  it('a PNG is downloaded through its signed url with Content-Disposition and nosniff; a tampered signature → 403', async () => {
    const up = await call(server, 'POST', '/api/v1/attachments', { token: adminToken, form: fileForm(PNG, 'evil.html', 'text/html') });
    expect(up.status).toBe(201);
    expect(up.json.contentType).toBe('image/png');
    expect(up.json.fileName).toBe('evil.png');
    expect(up.json.size).toBe(PNG.length);
    const url: string = up.json.url;
    expect(url).toMatch(/^\/files\/[0-9a-f-]{36}\?exp=\d+&sig=[\w-]+$/);

    const res = await fetch(server.url + url);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/png');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('content-disposition')).toMatch(/^inline; filename="evil\.png"/);
    expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(Buffer.from(await res.arrayBuffer()).equals(PNG)).toBe(true);

    const u = new URL(url, server.url);
    const sig = u.searchParams.get('sig')!;
    const exp = Number(u.searchParams.get('exp'));
    for (const [what, query] of [
      ['flipped signature', `exp=${exp}&sig=${flipAt(sig, 4)}`],
      ['later expiry with the old signature', `exp=${exp + 3600}&sig=${sig}`],
      ['expired link', `exp=${Math.floor(Date.now() / 1000) - 60}&sig=${sig}`],
      ['empty signature', `exp=${exp}&sig=`],
    ] as const) {
      const r = await call(server, 'GET', `${u.pathname}?${query}`);
      expect(r.status, what).toBe(403);
      expect(r.json.error.code, what).toBe('forbidden');
    }
    // the signature of one file does not open another
    const other = await call(server, 'POST', '/api/v1/attachments', { token: adminToken, form: fileForm(PNG, 'b.png', 'image/png') });
    const swapped = await call(server, 'GET', `/files/${other.json.id}?exp=${exp}&sig=${sig}`);
    expect(swapped.status).toBe(403);
  });
});

// ---------------------------------------------------------------------------------------------------
// Login rate limiting runs on a node of its own: its per-IP bucket must not be shared with other tests.

describe('login rate limit', () => {
  let fresh: TestServer;
  beforeAll(async () => {
    fresh = await startTestServer();
  }, 120_000);
  afterAll(async () => {
    await fresh?.close();
  });

  it('the 11th failed login within a minute → 429 rate_limited', async () => {
    for (let i = 1; i <= 10; i++) {
      const r = await call(fresh, 'POST', '/api/v1/auth/login', { body: { email: fresh.demo.adminEmail, password: `wrong-${i}` } });
      expect(r.status, `attempt ${i}`).toBe(401);
      expect(r.json.error.code).toBe('invalid_credentials');
    }
    const eleventh = await call(fresh, 'POST', '/api/v1/auth/login', { body: { email: fresh.demo.adminEmail, password: 'wrong-11' } });
    expect(eleventh.status).toBe(429);
    expect(eleventh.json.error.code).toBe('rate_limited');
    // even the right password is refused until the window ends
    const right = await call(fresh, 'POST', '/api/v1/auth/login', { body: { email: fresh.demo.adminEmail, password: fresh.demo.password } });
    expect(right.status).toBe(429);
  });

  it('the limit cannot be side-stepped by sending a made-up Authorization header with the login', async () => {
    // The login route is public: a bearer it never checks must not open a fresh per-IP bucket.
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await call(fresh, 'POST', '/api/v1/auth/login', {
        body: { email: fresh.demo.adminEmail, password: `guess-${i}` },
        headers: { authorization: `Bearer ${randomBytes(12).toString('hex')}` },
      });
      statuses.push(r.status);
    }
    expect(statuses).toEqual([429, 429, 429]);
  });
});
