/**
 * The widget's visitor extras and offline email replies, through a real node wired to a real SMTP
 * server (the `smtp-server` package on 127.0.0.1, with authentication):
 *  - upload limits in the widget config and the console's session responses;
 *  - PATCH /api/widget/v1/contact (the visitor's own name / email, never an identity);
 *  - GET /api/widget/v1/conversations/:id/agents (public profiles only);
 *  - an agent's replies while the visitor is away become ONE email (coalesced), none while the visitor is
 *    connected, a temporary SMTP refusal is retried without duplicates, and an interrupted send is never
 *    repeated;
 *  - the SMTP password never reaches the log, and a node without SMTP_URL says once that it is off.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SMTPServer } from 'smtp-server';
import { io, type Socket } from 'socket.io-client';
import { createTestDatabase, type TestDatabase } from '@huiliu/testing';
import { createLogger } from '@huiliu/core/shared/logger';
import { one } from '@huiliu/core/db/database';
import { OFFLINE_REPLIES_QUEUE } from '@huiliu/core/mail/offline-replies.service';
import { loadConfig } from '../src/config.ts';
import { startHuiliu, type Huiliu } from '../src/app.ts';
import { httpRequest, type RequestOptions, type TestServer } from './helpers/test-server.ts';
import { createWorld, until, type World } from './helpers/world.ts';

const SMTP_USER = 'huiliu-mailer';
const SMTP_PASSWORD = 'Sm7p-p@ss:w/rd secret';
const DELAY_SECONDS = 0.4;

interface Received {
  to: string[];
  raw: string;
  headers: string;
  text: string;
}

let smtp: SMTPServer;
let smtpPort = 0;
const received: Received[] = [];
/** Next deliveries to refuse with a temporary error (451). */
let refuseNext = 0;

let testDb: TestDatabase;
let dataDir = '';
let node: Huiliu;
const logLines: string[] = [];
let w: World;
const sockets: Socket[] = [];

/** The text of a single-part message, whatever transfer encoding nodemailer picked. */
function parseMail(raw: string): { headers: string; text: string } {
  const split = raw.indexOf('\r\n\r\n');
  const headers = raw.slice(0, split);
  const body = raw.slice(split + 4);
  const encoding = /^content-transfer-encoding:\s*(\S+)/im.exec(headers)?.[1]?.toLowerCase();
  if (encoding === 'base64') return { headers, text: Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8') };
  if (encoding === 'quoted-printable') {
    const bytes = body.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/gi, (_m, h: string) => String.fromCharCode(parseInt(h, 16)));
    return { headers, text: Buffer.from(bytes, 'latin1').toString('utf8') };
  }
  return { headers, text: body };
}

const api = (method: string, path: string, o: RequestOptions = {}) => httpRequest(node.url, method, path, o);

function visitorSocket(visitorToken: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = io(node.url, { auth: { visitorToken }, transports: ['websocket'], reconnection: false, forceNew: true });
    sockets.push(s);
    s.once('connect', () => resolve(s));
    s.once('connect_error', reject);
  });
}

async function visitor(body: Record<string, unknown> = {}) {
  const r = await api('POST', '/api/widget/v1/sessions', { body: { inboxPublicId: w.publicId, ...body } });
  expect(r.status).toBe(200);
  return r.json as { visitorToken: string; contactId: string };
}

async function openConversation(token: string, text: string): Promise<string> {
  const r = await api('POST', '/api/widget/v1/conversations', { token, body: { text } });
  expect(r.status).toBe(201);
  return r.json.conversation.id as string;
}

let replies = 0;
async function reply(agentToken: string, conversationId: string, text: string, isPrivate = false): Promise<string> {
  const r = await api('POST', `/api/v1/conversations/${conversationId}/messages`, { token: agentToken, body: { clientId: `r-${++replies}`, text, private: isPrivate } });
  expect(r.status).toBe(201);
  return r.json.message.id as string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Long enough for the consumer, the coalescing delay and a send to have happened if they were going to. */
const quietPeriod = () => sleep(DELAY_SECONDS * 1000 + 1_200);

beforeAll(async () => {
  smtp = new SMTPServer({
    secure: false,
    disabledCommands: ['STARTTLS'],
    allowInsecureAuth: true,
    authOptional: false,
    logger: false,
    onAuth(auth, _session, cb) {
      if (auth.username === SMTP_USER && auth.password === SMTP_PASSWORD) return cb(null, { user: SMTP_USER });
      return cb(new Error('Invalid username or password'));
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        if (refuseNext > 0) {
          refuseNext--;
          return cb(Object.assign(new Error('mailbox busy, try again later'), { responseCode: 451 }));
        }
        const raw = Buffer.concat(chunks).toString('utf8');
        received.push({ to: session.envelope.rcptTo.map((r) => r.address), raw, ...parseMail(raw) });
        cb();
      });
    },
  });
  await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', () => resolve()));
  smtpPort = (smtp.server.address() as AddressInfo).port;

  testDb = await createTestDatabase();
  dataDir = await mkdtemp(join(tmpdir(), 'huiliu-mail-test-'));
  const config = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    HUILIU_DATA_DIR: dataDir,
    LOG_LEVEL: 'debug',
    SMTP_URL: `smtp://${SMTP_USER}:${encodeURIComponent(SMTP_PASSWORD)}@127.0.0.1:${smtpPort}`,
    HUILIU_MAIL_FROM: 'support@huiliu.test',
    HUILIU_OFFLINE_EMAIL_DELAY_SECONDS: String(DELAY_SECONDS),
  });
  const logger = createLogger({ level: 'debug', destination: { write: (line: string) => void logLines.push(line) } });
  node = await startHuiliu({ config, db: testDb.db, seed: false, logger });
  w = await createWorld({ node } as unknown as TestServer, 2, 'mail');
}, 60_000);

afterAll(async () => {
  for (const s of sockets) s.close();
  await node?.close();
  await testDb?.drop();
  await new Promise<void>((resolve) => (smtp ? smtp.close(() => resolve()) : resolve()));
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

describe('upload limits for the UIs', () => {
  it('the widget config and every session response of the console carry the accepted size and types', async () => {
    const cfg = await api('GET', `/api/widget/v1/inboxes/${w.publicId}/config`);
    expect(cfg.status).toBe(200);
    expect(cfg.json.uploads.maxBytes).toBe(20 * 1024 * 1024);
    expect(cfg.json.uploads.contentTypes).toEqual(expect.arrayContaining(['image/png', 'image/jpeg', 'application/pdf', 'text/plain', 'text/csv', 'application/json', 'video/mp4']));
    // What the upload policy refuses is not advertised; parameters (charset) are not part of the list
    for (const refused of ['text/html', 'image/svg+xml', 'application/xml', 'application/x-msdownload']) expect(cfg.json.uploads.contentTypes).not.toContain(refused);
    expect(cfg.json.uploads.contentTypes.every((t: string) => !t.includes(';'))).toBe(true);
    expect(new Set(cfg.json.uploads.contentTypes).size).toBe(cfg.json.uploads.contentTypes.length);

    const me = await api('GET', '/api/v1/auth/me', { token: w.admin });
    expect(me.json.uploads).toEqual(cfg.json.uploads);
    const s = node.services;
    await s.db.transaction((tx) => s.users.createActive(tx, w.workspaceId, { email: 'limits@mail.example', name: 'Limits', password: 'Limits-Passw0rd-1', role: 'agent' }));
    const login = await api('POST', '/api/v1/auth/login', { body: { email: 'limits@mail.example', password: 'Limits-Passw0rd-1' } });
    expect(login.status).toBe(200);
    expect(login.json.uploads).toEqual(cfg.json.uploads);
    // The description documents it
    const doc = (await api('GET', '/openapi.json')).json;
    const meSchema = doc.paths['/api/v1/auth/me'].get.responses['200'].content['application/json'].schema;
    expect(meSchema.required).toContain('uploads');
  });
});

describe('the visitor leaves a name and email', () => {
  it('stores them on their own contact (unmasked for them), validates strictly, and never identifies by them', async () => {
    const v = await visitor({ name: 'First Name' });
    const r = await api('PATCH', '/api/widget/v1/contact', { token: v.visitorToken, body: { name: '  王小明 ', email: ' Wang.XM@Example.COM ' } });
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ name: '王小明', email: 'wang.xm@example.com' });
    // An empty body changes nothing and returns the current details
    expect((await api('PATCH', '/api/widget/v1/contact', { token: v.visitorToken, body: {} })).json).toEqual({ name: '王小明', email: 'wang.xm@example.com' });
    // Agents see it on the contact, searchable by the new name
    const contact = await api('GET', `/api/v1/contacts/${v.contactId}`, { token: w.admin });
    expect(contact.json).toMatchObject({ name: '王小明', email: 'wang.xm@example.com' });
    const found = await api('GET', `/api/v1/contacts?q=${encodeURIComponent('王小明')}`, { token: w.admin });
    expect(found.json.items.map((c: any) => c.id)).toContain(v.contactId);

    for (const [body, field] of [[{ email: 'nope' }, 'body.email'], [{ name: '   ' }, 'body.name'], [{ phone: '123' }, 'body.phone'], [{ name: 'x'.repeat(201) }, 'body.name']] as const) {
      const bad = await api('PATCH', '/api/widget/v1/contact', { token: v.visitorToken, body });
      expect(bad.status, JSON.stringify(body)).toBe(400);
      expect(bad.json.error.issues[0].path).toBe(field);
    }
    expect((await api('PATCH', '/api/widget/v1/contact', { body: { name: 'x' } })).status).toBe(401);

    // Another visitor typing the same email is still another contact and sees none of the first one's conversations
    const conv = await openConversation(v.visitorToken, 'private question of visitor one');
    const other = await visitor();
    expect((await api('PATCH', '/api/widget/v1/contact', { token: other.visitorToken, body: { email: 'wang.xm@example.com' } })).status).toBe(200);
    expect(other.contactId).not.toBe(v.contactId);
    const again = await visitor({ visitorToken: other.visitorToken });
    expect(again.contactId).toBe(other.contactId);
    expect((await api('GET', '/api/widget/v1/conversations', { token: other.visitorToken })).json).toEqual([]);
    expect((await api('GET', `/api/widget/v1/conversations/${conv}/messages`, { token: other.visitorToken })).status).toBe(404);
    const identities = await node.services.db.query(`SELECT source_id FROM contact_identities WHERE workspace_id = $1 AND source_id LIKE '%@%'`, [w.workspaceId]);
    expect(identities).toEqual([]);
  });

  it('is rate limited', async () => {
    const v = await visitor();
    const statuses: number[] = [];
    for (let i = 0; i < 11; i++) statuses.push((await api('PATCH', '/api/widget/v1/contact', { token: v.visitorToken, body: { name: `n${i}` } })).status);
    expect(statuses.slice(0, 10).every((s) => s === 200)).toBe(true);
    expect(statuses[10]).toBe(429);
  });
});

describe('agents of a conversation, as the visitor sees them', () => {
  it('lists the assignee and the authors of public replies with name and avatar only; 404 for a conversation not theirs', async () => {
    const [a0, a1] = w.agents as [World['agents'][0], World['agents'][0]];
    await api('PATCH', `/api/v1/users/${a0.id}`, { token: w.admin, body: { avatarUrl: 'https://cdn.example.com/a0.png' } });
    const v = await visitor();
    const conv = await openConversation(v.visitorToken, 'who is helping me?');
    const empty = await api('GET', `/api/widget/v1/conversations/${conv}/agents`, { token: v.visitorToken });
    expect(empty.status).toBe(200);
    expect(empty.json).toEqual([]);

    await reply(a0.token, conv, 'Hello, I am agent 0');
    await reply(w.admin, conv, 'internal: the admin only writes a note', true);
    // The admin assigns it to agent 1: an activity line by the admin, who still is no participant
    expect((await api('POST', `/api/v1/conversations/${conv}/assign`, { token: w.admin, body: { assigneeId: a1.id } })).status).toBe(200);
    const r = await api('GET', `/api/widget/v1/conversations/${conv}/agents`, { token: v.visitorToken });
    expect(r.status).toBe(200);
    expect(r.json).toEqual([
      { id: a0.id, name: 'Agent 0', avatarUrl: 'https://cdn.example.com/a0.png' },
      { id: a1.id, name: 'Agent 1', avatarUrl: null },
    ]);
    expect(r.text).not.toMatch(/@example\.com|"role"|"email"/);

    const stranger = await visitor();
    const foreign = await api('GET', `/api/widget/v1/conversations/${conv}/agents`, { token: stranger.visitorToken });
    expect(foreign.status).toBe(404);
    expect(foreign.json.error.code).toBe('not_found');
    expect((await api('GET', `/api/widget/v1/conversations/${conv}/agents`, { token: w.admin })).status).toBe(401);
  });
});

describe('offline email replies', () => {
  let token = '';
  let contactId = '';
  let conv = '';
  let socket: Socket;
  const agent = () => w.agents[0]!.token;

  it('sends nothing while the visitor is connected', async () => {
    const v = await visitor({ locale: 'en' });
    token = v.visitorToken;
    contactId = v.contactId;
    socket = await visitorSocket(token);
    conv = await openConversation(token, 'Where is my order?');
    expect((await api('PATCH', '/api/widget/v1/contact', { token, body: { email: 'Away.Visitor@Example.com', name: 'Ada' } })).status).toBe(200);

    const live = new Promise((resolve) => socket.once('message.created', resolve));
    await reply(agent(), conv, 'Looking into it now');
    await live;
    await quietPeriod();
    expect(received).toHaveLength(0);
    const pending = await node.services.db.query(`SELECT 1 FROM offline_reply_pending WHERE conversation_id = $1`, [conv]);
    expect(pending).toEqual([]);
  });

  it('emails the replies written while the visitor was away as ONE email, without private notes', async () => {
    socket.close();
    await until(async () => !(await node.gateway.isContactOnline(contactId)), 'the visitor to be offline');

    await reply(agent(), conv, 'Your order 1001 has shipped.');
    await reply(w.admin, conv, 'internal: VIP customer, be nice', true);
    await reply(agent(), conv, 'Tracking number: SF123456 发货单号');
    await until(async () => received.length >= 1, 'the email', 15_000);
    await quietPeriod();
    expect(received).toHaveLength(1);

    const mail = received[0]!;
    expect(mail.to).toEqual(['away.visitor@example.com']);
    expect(mail.headers).toMatch(/^Subject: New reply from Chat$/m);
    expect(mail.headers).toMatch(/^From: Chat <support@huiliu\.test>$/m);
    expect(mail.headers).toMatch(/^Auto-Submitted: auto-generated$/m);
    expect(mail.text).toContain('Hello Ada,');
    expect(mail.text).toContain('Your order 1001 has shipped.');
    expect(mail.text).toContain('Tracking number: SF123456 发货单号');
    expect(mail.text.indexOf('Your order 1001')).toBeLessThan(mail.text.indexOf('Tracking number'));
    expect(mail.text).toContain('Agent 0:');
    expect(mail.text).toContain('open the chat on our website again');
    expect(mail.raw).not.toContain('VIP customer');
    expect(mail.text).not.toContain('Looking into it now'); // seen live earlier

    const sent = await node.services.db.query(`SELECT status, message_ids FROM email_notifications WHERE conversation_id = $1`, [conv]);
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({ status: 'sent' });
    expect((sent[0]!.message_ids as string[]).length).toBe(2);
  });

  it('retries a temporary SMTP refusal and still delivers exactly once', async () => {
    const before = received.length;
    refuseNext = 1;
    await reply(agent(), conv, 'One more thing: it arrives on Monday.');
    await until(async () => received.length > before, 'the retried email', 20_000);
    await quietPeriod();
    expect(received).toHaveLength(before + 1);
    expect(received[before]!.text).toContain('it arrives on Monday');
    expect(received[before]!.text).not.toContain('Your order 1001'); // already emailed
    const rows = await node.services.db.query(`SELECT status FROM email_notifications WHERE conversation_id = $1 ORDER BY created_at`, [conv]);
    expect(rows.map((r) => r.status)).toEqual(['sent', 'failed', 'sent']);
  });

  it('never repeats a send that a crashed attempt may have completed', async () => {
    const before = received.length;
    const messageId = await reply(w.admin, conv, 'a reply whose email was being sent when the node died', true);
    // The state a crash during the SMTP call leaves: the job still owns the reply, its email is 'sending'.
    const db = node.services.db;
    const notification = await db.transaction(async (tx) => {
      const jobId = await node.jobs.enqueue(tx, { queue: OFFLINE_REPLIES_QUEUE, payload: { workspaceId: w.workspaceId, conversationId: conv }, workspaceId: w.workspaceId, orderingKey: `offline-replies:${conv}`, maxAttempts: 8 });
      const n = await one(
        tx,
        `INSERT INTO email_notifications (workspace_id, conversation_id, contact_id, job_id, to_address, subject, body, status)
         VALUES ($1, $2, $3, $4, 'away.visitor@example.com', 's', 'b', 'sending') RETURNING id`,
        [w.workspaceId, conv, contactId, jobId],
      );
      await tx.query(`INSERT INTO offline_reply_pending (message_id, workspace_id, conversation_id, seq, notification_id) SELECT id, workspace_id, conversation_id, seq, $2 FROM messages WHERE id = $1`, [messageId, n!.id]);
      return n!.id as string;
    });
    node.jobs.notify();
    await until(async () => (await one(db, `SELECT status FROM email_notifications WHERE id = $1`, [notification]))?.status === 'unknown', 'the interrupted email to be given up');
    await quietPeriod();
    expect(received).toHaveLength(before);
    expect(await db.query(`SELECT 1 FROM offline_reply_pending WHERE conversation_id = $1`, [conv])).toEqual([]);
  });

  it('does nothing for a visitor without an email', async () => {
    const before = received.length;
    const v = await visitor();
    const c = await openConversation(v.visitorToken, 'anonymous question');
    await reply(agent(), c, 'an answer nobody can be emailed');
    await quietPeriod();
    expect(received).toHaveLength(before);
    expect(await node.services.db.query(`SELECT 1 FROM offline_reply_pending WHERE conversation_id = $1`, [c])).toEqual([]);
  });

  it('never logs the SMTP password, and says where mail goes', () => {
    const log = logLines.join('');
    expect(log).toContain('offline email replies are on');
    expect(log).toContain(`127.0.0.1:${smtpPort}`);
    expect(log).toContain('offline reply email sent');
    // The start-up check authenticated with the percent-encoded password from SMTP_URL
    expect(log).toContain('SMTP server reachable');
    for (const secret of [SMTP_PASSWORD, encodeURIComponent(SMTP_PASSWORD), 'Sm7p-p']) expect(log).not.toContain(secret);
  });
});

describe('without SMTP_URL', () => {
  it('the feature is off and start-up says so once', async () => {
    const lines: string[] = [];
    const db2 = await createTestDatabase();
    const dir = await mkdtemp(join(tmpdir(), 'huiliu-nomail-'));
    const plain = await startHuiliu({
      config: loadConfig({ PORT: '0', HOST: '127.0.0.1', HUILIU_DATA_DIR: dir, LOG_LEVEL: 'info' }),
      db: db2.db,
      seed: false,
      logger: createLogger({ level: 'info', destination: { write: (line: string) => void lines.push(line) } }),
    });
    try {
      expect(plain.services.offlineReplies).toBeUndefined();
      const off = lines.filter((l) => l.includes('offline email replies are off'));
      expect(off).toHaveLength(1);
      expect(JSON.parse(off[0]!).level).toBe(30);
    } finally {
      await plain.close();
      await db2.drop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
