/**
 * Slow consumers (issue 8): whoever is slow to take what the server sends pays for it alone.
 *
 * Channel platforms. An API-channel integrator whose webhook never answers in time (it holds every
 * request, like a receiver that answers in 30 s against a deadline shorter than that): its inbox's sends
 * end at the send deadline (HuiliuOptions.channelDelivery.sendTimeoutMs, short here so nothing takes
 * minutes, although the inbox asks for 30 s per request), are retried with the queue's backoff, hold at most
 * maxPerInbox of the delivery slots, and go out in conversation order once the receiver recovers — while
 * the other inboxes' replies are delivered meanwhile. A platform that never recovers ends in a dead letter
 * after MAX_DELIVERY_ATTEMPTS; one whose adapter hangs without making any request is cut by the same
 * deadline. And the queue's group limit itself, with handlers that block until released.
 *
 * Realtime clients. A Socket.IO client (the engine.io v4 / socket.io v5 text protocol spoken by hand over
 * `ws`) that stops reading its TCP socket while the server pushes large messages to it: its backlog passes
 * the gateway's maxBufferedBytes and the server cuts it off, while another client keeps receiving all.
 */
import type { Socket as NetSocket } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { io as ioClient, type Socket } from 'socket.io-client';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { channelAdapters, ChannelError, type ChannelAdapter, type ChannelCapabilities } from '@huiliu/channels';
import type { ChannelType } from '@huiliu/contracts';
import { createTestDatabase, type TestDatabase } from '@huiliu/testing';
import { createLogger } from '@huiliu/core/shared/logger';
import { createJobQueue } from '@huiliu/core/jobs/job-queue';
import { MAX_DELIVERY_ATTEMPTS } from '@huiliu/core/channels/outbound-delivery';
import { loadConfig } from '../src/config.ts';
import { startHuiliu, type Huiliu } from '../src/app.ts';
import { seedDemo, type DemoCredentials } from '../src/setup/seed.ts';
import { startFakeServer, type FakeServer } from '../../../packages/channels/test/fakes/fake-server.ts';
import { allowLoopback, callApi, createChannelInbox, postWebhook, sleep, waitFor, type InboxRef } from './helpers/channels.ts';
import { httpRequest } from './helpers/test-server.ts';

/**
 * The deadline of one send: far below the 30 s the slow inboxes allow their receiver per request, and not so
 * short that a busy test process (PGlite runs on the event loop) makes fast sends miss it.
 */
const SEND_TIMEOUT_MS = 1_000;
const CONCURRENCY = 4;
const MAX_PER_INBOX = 2;
const MAX_BUFFERED_BYTES = 256 * 1024;
/** Growing, then capped so that the dead-letter case stays short: 100, 200, 400, 800, 800… ms. */
const backoffOf = (attempt: number) => Math.min(100 * 2 ** (attempt - 1), 800);
const backoffCalls: number[] = [];

// ---------------------------------------------------------------------------------------------------
// An integrator's webhook receiver (API channel) that can stop answering

interface Delivery {
  deliveryId: string;
  conversationId: string;
  text: string;
}

class Receiver {
  http?: FakeServer;
  /** 'hold': requests are read and never answered (the client's deadline ends them); 'ok': 200 at once. */
  mode: 'hold' | 'ok' = 'ok';
  requests = 0;
  /**
   * Answered with 200, in order, once per X-Huiliu-Delivery: delivery is at least once (a send that answers
   * just as its deadline passes is sent again), and receivers deduplicate on that header as documented.
   */
  delivered: Delivery[] = [];
  private held = new Set<ServerResponse>();
  private n = 0;

  get webhookUrl(): string {
    return `${this.http!.baseUrl}/hooks/huiliu`;
  }

  async start(): Promise<void> {
    this.http = await startFakeServer((req, res, raw) => this.handle(req, res, raw));
  }

  textsOf(conversationId: string): string[] {
    return this.delivered.filter((d) => d.conversationId === conversationId).map((d) => d.text);
  }

  private handle(req: IncomingMessage, res: ServerResponse, raw: Buffer): void {
    this.requests++;
    const body = JSON.parse(raw.toString('utf8')) as { message: { conversationId: string; text: string } };
    if (this.mode === 'hold') {
      this.held.add(res);
      res.on('close', () => this.held.delete(res));
      return;
    }
    const deliveryId = String(req.headers['x-huiliu-delivery']);
    if (!this.delivered.some((d) => d.deliveryId === deliveryId)) this.delivered.push({ deliveryId, conversationId: body.message.conversationId, text: body.message.text });
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ id: `r-${++this.n}` }));
  }
}

// ---------------------------------------------------------------------------------------------------
// A platform whose adapter hangs without making any request (only the send deadline can end it)

const hangCaps: ChannelCapabilities = {
  contentTypes: ['text'], maxTextLength: 1000, maxMediaBytes: 1024 * 1024, typing: false, readReceipts: false, deliveryReports: false,
  templates: false, sendWindow: null,
};
let hangingSends = 0;
const hangingAdapter: ChannelAdapter<Record<string, never>> = {
  kind: 'whatsapp',
  displayName: 'Fakehang',
  configSchema: z.strictObject({}),
  secrets: [],
  capabilities: () => hangCaps,
  async receive(req) {
    const b = JSON.parse(req.rawBody.toString('utf8')) as { id: string; from: string; text: string };
    if (!b.id || !b.from) throw new ChannelError('malformed', 'id and from are required');
    return { response: { status: 200, body: 'ok' }, events: [{ kind: 'message', externalId: b.id, sender: { sourceId: b.from, name: null }, content: { type: 'text', text: b.text }, sentAt: new Date() }] };
  },
  send() {
    hangingSends++;
    return new Promise(() => {});
  },
};

// ---------------------------------------------------------------------------------------------------
// One node

let testDb: TestDatabase;
let dataDir = '';
let node: Huiliu;
let demo: DemoCredentials;
let admin = '';
const slow = new Receiver();
const fast = new Receiver();
const sockets: Socket[] = [];
const rawClients: WebSocket[] = [];

const api = (method: string, path: string, body?: unknown, token = admin) => callApi(node, token, method, path, { body });
const poll = <T>(what: string, fn: () => Promise<T | undefined | null | false>, timeoutMs = 20_000) =>
  waitFor(what, fn, { timeoutMs, intervalMs: 25, between: () => node.services.outbound.catchUp() });

async function apiInbox(name: string, receiver: Receiver, n: number): Promise<InboxRef & { apiKey: string }> {
  const apiKey = `hl_api_slowconsumers${n}Yp4q8N2vK7rT1wZ9`;
  const { inbox, channel } = await createChannelInbox(node, admin, {
    kind: 'api', name,
    // The integrator allows 30 s per request: only the send deadline keeps a hanging receiver short.
    config: { webhookUrl: receiver.webhookUrl, webhookTimeoutMs: 30_000 },
    secrets: { apiKey, webhookSecret: `whsec_slowconsumers_${n}_0f9e8d7c6b5a4938` },
  });
  expect(channel.status, channel.text).toBe(200);
  expect(channel.body.ready).toBe(true);
  return { ...inbox, apiKey };
}

let inboundN = 0;
/** A customer writes through the API channel: returns the conversation it landed in. */
async function customerWrites(inbox: InboxRef & { apiKey: string }, customer: string): Promise<string> {
  const externalId = `sc-in-${++inboundN}`;
  const r = await httpRequest(node.url, 'POST', `/api/channels/v1/${inbox.publicId}/messages`, {
    body: { externalId, sender: { id: customer }, text: `hello from ${customer}` },
    headers: { authorization: `Bearer ${inbox.apiKey}` },
  });
  expect(r.status, r.text).toBe(202);
  return conversationOf(inbox.id, externalId);
}

async function conversationOf(inboxId: string, externalId: string): Promise<string> {
  const rows = await node.services.db.query(`SELECT conversation_id FROM messages WHERE inbox_id = $1 AND external_id = $2`, [inboxId, externalId]);
  expect(rows).toHaveLength(1);
  return rows[0]!.conversation_id as string;
}

let clientN = 0;
async function reply(conversationId: string, text: string): Promise<string> {
  const r = await api('POST', `/api/v1/conversations/${conversationId}/messages`, { clientId: `sc-${++clientN}`, text });
  expect(r.status, r.text).toBe(201);
  return r.body.message.id as string;
}

async function statuses(ids: string[]): Promise<string[]> {
  const rows = await node.services.db.query(`SELECT id, delivery_status FROM messages WHERE id = ANY($1::uuid[])`, [ids]);
  const byId = new Map(rows.map((r) => [r.id as string, r.delivery_status as string]));
  return ids.map((id) => byId.get(id) ?? 'missing');
}
const allAre = async (ids: string[], status: string) => (await statuses(ids)).every((s) => s === status);

async function attemptLog(messageId: string) {
  return node.services.db.query<{ attempt: number; outcome: string; error_code: string | null; error: string | null; created_at: Date | string }>(
    `SELECT attempt, outcome, error_code, error, created_at FROM channel_delivery_attempts WHERE message_id = $1 ORDER BY id`,
    [messageId],
  );
}

/** Delivery jobs of one inbox running right now (the group limit allows MAX_PER_INBOX on this single node). */
async function runningDeliveries(inboxId: string): Promise<number> {
  const rows = await node.services.db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM jobs WHERE queue = 'channel.deliver' AND status = 'running' AND payload->>'inboxId' = $1`,
    [inboxId],
  );
  return Number(rows[0]!.n);
}

/** Samples a value until stopped (or a read fails) and keeps the largest seen. */
function sampleMax(read: () => Promise<number>) {
  let max = 0;
  let on = true;
  const loop = (async () => {
    while (on) {
      max = Math.max(max, await read());
      await sleep(15);
    }
  })().catch((err: unknown) => {
    if (on) throw err;
  });
  return {
    async stop(): Promise<number> {
      on = false;
      await loop;
      return max;
    },
  };
}

beforeAll(async () => {
  testDb = await createTestDatabase();
  dataDir = await mkdtemp(join(tmpdir(), 'huiliu-slow-'));
  await slow.start();
  await fast.start();
  const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', HUILIU_DATA_DIR: dataDir, LOG_LEVEL: 'silent' });
  node = await startHuiliu({
    config, db: testDb.db, seed: false, logger: createLogger({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }),
    channelAdapters: new Map<ChannelType, ChannelAdapter<any>>([...channelAdapters, ['whatsapp', hangingAdapter]]),
    jobBackoff: (attempt) => {
      backoffCalls.push(attempt);
      return backoffOf(attempt);
    },
    channelDelivery: { sendTimeoutMs: SEND_TIMEOUT_MS, concurrency: CONCURRENCY, maxPerInbox: MAX_PER_INBOX },
    realtime: { maxBufferedBytes: MAX_BUFFERED_BYTES },
    // The realtime case posts a few hundred large messages quickly.
    rateLimitFactor: 10,
  });
  demo = await seedDemo(node.services);
  admin = (await node.services.users.login({ email: demo.adminEmail, password: demo.password }, { ip: '127.0.0.1' })).token;
  await allowLoopback(node, admin);
}, 60_000);

afterAll(async () => {
  for (const s of sockets) s.close();
  for (const c of rawClients) c.terminate();
  await node?.close();
  await slow.http?.close();
  await fast.http?.close();
  await testDb?.drop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------------

describe('a slow channel platform', () => {
  let fastInbox: InboxRef & { apiKey: string };

  it('delays only its own inbox: the others are delivered meanwhile; its sends end at the deadline, are retried with backoff, and go out in order once it recovers', async () => {
    const slowInbox = await apiInbox('Slow integrator', slow, 1);
    fastInbox = await apiInbox('Fast integrator', fast, 2);
    slow.mode = 'hold';

    // The slow inbox's replies first, so its jobs are the oldest in the queue: more slow conversations
    // (4) than there are delivery slots (4 - the ones a slow inbox may take).
    const slowConversations: string[] = [];
    for (let i = 1; i <= 4; i++) slowConversations.push(await customerWrites(slowInbox, `slow-customer-${i}`));
    const fastConversations: string[] = [];
    for (let i = 1; i <= 3; i++) fastConversations.push(await customerWrites(fastInbox, `fast-customer-${i}`));
    const slowFirst: string[] = [];
    const slowSecond: string[] = [];
    const fastIds: string[] = [];
    const running = sampleMax(() => runningDeliveries(slowInbox.id));
    let maxRunning = 0;
    try {
      for (const [i, c] of slowConversations.entries()) {
        slowFirst.push(await reply(c, `S${i + 1}-1`));
        slowSecond.push(await reply(c, `S${i + 1}-2`));
      }
      for (const [i, c] of fastConversations.entries()) {
        fastIds.push(await reply(c, `F${i + 1}-1`));
        fastIds.push(await reply(c, `F${i + 1}-2`));
      }

      // The other inbox goes out while the slow one hangs, each conversation in order.
      await poll('the fast inbox delivered', () => allAre(fastIds, 'sent'));
      for (const [i, c] of fastConversations.entries()) expect(fast.textsOf(c)).toEqual([`F${i + 1}-1`, `F${i + 1}-2`]);
      expect(await statuses([...slowFirst, ...slowSecond])).toEqual(Array(8).fill('pending'));
      expect(slow.delivered).toEqual([]);
      expect(slow.requests).toBeGreaterThan(0);

      // Every slow conversation's first reply tried and retried; the later ones wait behind it.
      await poll('two failed attempts for each first slow reply', async () => {
        for (const id of slowFirst) if ((await attemptLog(id)).length < 2) return false;
        return true;
      });
    } finally {
      maxRunning = await running.stop();
    }
    expect(maxRunning).toBeGreaterThanOrEqual(1);
    expect(maxRunning).toBeLessThanOrEqual(MAX_PER_INBOX);
    for (const id of slowSecond) expect(await attemptLog(id)).toEqual([]);

    const firstLog = await attemptLog(slowFirst[0]!);
    for (const a of firstLog) {
      expect(a).toMatchObject({ outcome: 'retry', error_code: 'network' });
      // Ended by the send's deadline (the request's own timeout cut to it, or the deadline itself), not
      // by the 30 s the inbox allows.
      const ms = /timed out after (\d+) ms/.exec(a.error ?? '')?.[1];
      if (ms !== undefined) expect(Number(ms)).toBeLessThanOrEqual(SEND_TIMEOUT_MS);
      else expect(a.error).toBe('API did not answer within 1 s');
    }
    // Backed off: attempt n + 1 was made no sooner than backoff(n) after attempt n failed (one database clock).
    expect(firstLog.map((a) => a.attempt)).toEqual(firstLog.map((_, i) => i + 1));
    for (let i = 1; i < firstLog.length; i++) {
      const gap = new Date(firstLog[i]!.created_at).getTime() - new Date(firstLog[i - 1]!.created_at).getTime();
      expect(gap).toBeGreaterThanOrEqual(backoffOf(firstLog[i - 1]!.attempt) - 1);
    }
    expect(backoffCalls).toContain(1);
    expect(backoffCalls).toContain(2);

    // The receiver recovers: everything goes out, once, each conversation in order.
    slow.mode = 'ok';
    await poll('the slow inbox delivered after recovering', () => allAre([...slowFirst, ...slowSecond], 'sent'), 30_000);
    for (const [i, c] of slowConversations.entries()) expect(slow.textsOf(c)).toEqual([`S${i + 1}-1`, `S${i + 1}-2`]);
    expect(new Set(slow.delivered.map((d) => d.deliveryId)).size).toBe(8);
    for (const id of slowFirst) {
      const log = (await attemptLog(id)).map((a) => a.outcome);
      expect(log.at(-1)).toBe('sent');
      expect(log.slice(0, -1).every((o) => o === 'retry')).toBe(true);
      expect(log.length).toBeGreaterThanOrEqual(3);
    }
    // The later replies were never attempted before their predecessor went out.
    for (const id of slowSecond) expect((await attemptLog(id)).map((a) => a.outcome)).toEqual(['sent']);
  }, 60_000);

  it('that never recovers, and whose adapter hangs without a request: a dead letter after the last attempt, visible to the agent; others still flow', async () => {
    const { inbox, channel } = await createChannelInbox(node, admin, { kind: 'whatsapp', name: 'Hanging platform', config: {} });
    expect(channel.status, channel.text).toBe(200);
    const w = await postWebhook(node, inbox.publicId, JSON.stringify({ id: 'hang-in-1', from: '+15559990001', text: 'anyone?' }));
    expect(w.status, w.text).toBe(200);
    const conversationId = await conversationOf(inbox.id, 'hang-in-1');
    const before = hangingSends;
    const id = await reply(conversationId, 'this will not arrive');

    // Meanwhile another inbox's reply goes out.
    const otherConversation = await customerWrites(fastInbox, 'fast-customer-9');
    const other = await reply(otherConversation, 'F9-1');
    await poll('the other inbox delivered', () => allAre([other], 'sent'));
    expect(fast.textsOf(otherConversation)).toEqual(['F9-1']);

    await poll('the hanging reply failed', () => allAre([id], 'failed'), 45_000);
    const log = await attemptLog(id);
    expect(log.map((a) => a.outcome)).toEqual([...Array(MAX_DELIVERY_ATTEMPTS - 1).fill('retry'), 'failed']);
    expect(log.map((a) => a.attempt)).toEqual(Array.from({ length: MAX_DELIVERY_ATTEMPTS }, (_, i) => i + 1));
    expect(log[0]).toMatchObject({ error_code: 'network', error: 'Fakehang did not answer within 1 s' });
    expect(hangingSends - before).toBe(MAX_DELIVERY_ATTEMPTS);
    const page = await api('GET', `/api/v1/conversations/${conversationId}/messages`);
    expect(page.body.items.find((m: any) => m.id === id)).toMatchObject({
      deliveryStatus: 'failed',
      deliveryError: `Fakehang could not be reached after ${MAX_DELIVERY_ATTEMPTS} attempts: Fakehang did not answer within 1 s`,
    });
  }, 60_000);
});

describe('the job queue group limit', () => {
  it('runs at most maxRunning jobs of one group while other groups and ungrouped jobs go through', async () => {
    const queue = createJobQueue({ db: node.services.db, logger: createLogger({ level: 'silent' }), pollMs: 200 });
    const running = new Map<string, number>();
    const maxRunning = new Map<string, number>();
    const done: string[] = [];
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    queue.register<{ group?: string; name: string }>('test.slow-consumers', async (job) => {
      const g = job.payload.group ?? '-';
      running.set(g, (running.get(g) ?? 0) + 1);
      maxRunning.set(g, Math.max(maxRunning.get(g) ?? 0, running.get(g)!));
      try {
        if (g === 'slow') await released;
      } finally {
        running.set(g, running.get(g)! - 1);
      }
      done.push(job.payload.name);
    }, { concurrency: 3, groupLimit: { payloadField: 'group', maxRunning: 1 } });
    await queue.start();
    try {
      // Oldest first: a backlog of the slow group, then others.
      await node.services.db.transaction(async (tx) => {
        for (let i = 1; i <= 5; i++) await queue.enqueue(tx, { queue: 'test.slow-consumers', payload: { group: 'slow', name: `slow-${i}` } });
        for (let i = 1; i <= 3; i++) await queue.enqueue(tx, { queue: 'test.slow-consumers', payload: { group: 'fast', name: `fast-${i}` } });
        for (let i = 1; i <= 2; i++) await queue.enqueue(tx, { queue: 'test.slow-consumers', payload: { name: `plain-${i}` } });
      });
      queue.notify();
      await waitFor('the other jobs done while the slow group blocks', async () => done.length === 5);
      expect([...done].sort()).toEqual(['fast-1', 'fast-2', 'fast-3', 'plain-1', 'plain-2']);
      expect(running.get('slow')).toBe(1);
      release();
      await waitFor('the slow group done', async () => done.length === 10);
      expect(done.slice(5)).toEqual(['slow-1', 'slow-2', 'slow-3', 'slow-4', 'slow-5']);
      expect(maxRunning.get('slow')).toBe(1);
    } finally {
      release();
      await queue.stop({ drainMs: 2_000 });
    }
  });
});

// ---------------------------------------------------------------------------------------------------

/**
 * A Socket.IO client by hand: WebSocket transport, engine.io v4 open packet ('0{…}'), socket.io v5 CONNECT
 * with the auth payload ('40{…}'), answered by '40{"sid":…}'. Returns the TCP socket underneath, so the
 * test can stop reading it.
 */
async function rawClient(token: string): Promise<{ ws: WebSocket; tcp: NetSocket; sid: string }> {
  const ws = new WebSocket(`${node.url.replace(/^http/, 'ws')}/socket.io/?EIO=4&transport=websocket`);
  rawClients.push(ws);
  let tcp: NetSocket | undefined;
  ws.on('upgrade', (res) => {
    tcp = res.socket as NetSocket;
  });
  const sid = await new Promise<string>((resolve, reject) => {
    ws.on('error', reject);
    ws.on('message', (data) => {
      const text = String(data);
      if (text.startsWith('0')) ws.send(`40${JSON.stringify({ token })}`);
      else if (text.startsWith('40')) resolve((JSON.parse(text.slice(2)) as { sid: string }).sid);
      else if (text.startsWith('44')) reject(new Error(`connect refused: ${text}`));
      else if (text === '2') ws.send('3');
    });
  });
  return { ws, tcp: tcp!, sid };
}

describe('a realtime client that stops reading', () => {
  it('is disconnected once its backlog passes maxBufferedBytes, while another client keeps receiving everything', async () => {
    const watcherToken = (await node.services.users.login({ email: demo.adminEmail, password: demo.password }, { ip: '127.0.0.1' })).token;
    const conversationId = (await node.services.db.query(
      `SELECT c.id FROM conversations c JOIN inboxes i ON i.id = c.inbox_id WHERE i.channel_type = 'web' ORDER BY c.created_at LIMIT 1`,
    ))[0]!.id as string;

    // The healthy client: an agent watching the workspace (admin: every conversation) and this conversation.
    const watcher = await new Promise<Socket>((resolve, reject) => {
      const s = ioClient(node.url, { auth: { token: watcherToken }, transports: ['websocket'], reconnection: false, forceNew: true });
      sockets.push(s);
      s.once('connect', () => resolve(s));
      s.once('connect_error', reject);
    });
    const seen: string[] = [];
    watcher.on('message.created', (m: { id: string; conversationId: string }) => {
      if (m.conversationId === conversationId) seen.push(m.id);
    });
    const sub = await watcher.emitWithAck('conversation.subscribe', { conversationId, afterSeq: 0 });
    expect(sub.ok).toBe(true);

    // The slow client: another session of an agent who sees every conversation, then it stops reading.
    const slowClient = await rawClient(admin);
    const serverSide = node.gateway.io.of('/').sockets.get(slowClient.sid);
    expect(serverSide).toBeDefined();
    const disconnected = new Promise<string>((resolve) => serverSide!.once('disconnect', resolve));
    let cutOff: string | undefined;
    void disconnected.then((reason) => (cutOff = reason));
    const socketsBefore = node.gateway.io.of('/').sockets.size;
    slowClient.tcp.pause();

    // Large messages until the server cuts the slow client off: far more than the kernel's socket buffers
    // and maxBufferedBytes together, so it cannot keep up by buffering.
    const big = 'x'.repeat(60_000);
    const sent: string[] = [];
    for (let i = 0; i < 600 && cutOff === undefined; i++) sent.push(await reply(conversationId, `${i} ${big}`));
    // The backlog check runs on a timer: give it its turn after the last push.
    expect(await Promise.race([disconnected, sleep(10_000).then(() => 'still connected')])).not.toBe('still connected');
    expect(node.gateway.io.of('/').sockets.has(slowClient.sid)).toBe(false);
    expect(node.gateway.io.of('/').sockets.size).toBe(socketsBefore - 1);

    // The other client got every message, in order, and is still connected.
    await waitFor('the watcher to receive every message', async () => seen.length >= sent.length);
    expect(seen).toEqual(sent);
    expect(watcher.connected).toBe(true);
    const after = await reply(conversationId, 'still flowing');
    await waitFor('the watcher to receive the next message', async () => seen.includes(after));
  }, 120_000);
});
