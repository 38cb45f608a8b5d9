import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import { io, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '@huiliu/testing';
import { createLogger } from '@huiliu/core/shared/logger';
import { loadConfig } from '../src/config.ts';
import { startHuiliu, type Huiliu } from '../src/app.ts';
import { httpRequest } from './helpers/test-server.ts';

/**
 * Cluster mode through real nodes: two Huiliu nodes in this process, each with its own PostgreSQL pool and
 * Redis connections, sharing one PostgreSQL database and one Redis (a random key prefix per run).
 */
const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = `huiliu-test-${randomBytes(4).toString('hex')}:`;
const secret = randomBytes(32).toString('hex');
let testDb: TestDatabase;
const nodes: Huiliu[] = [];
const names = new Map<Huiliu, string>();
const dirs: string[] = [];
const sockets: Socket[] = [];

async function startNode(name: string, env: Record<string, string> = {}, seed = false): Promise<Huiliu> {
  const dataDir = await mkdtemp(join(tmpdir(), `huiliu-cluster-${name}-`));
  dirs.push(dataDir);
  const config = loadConfig({
    PORT: '0', HOST: '127.0.0.1', HUILIU_DATA_DIR: dataDir, LOG_LEVEL: 'silent', DATABASE_URL: testDb.url!, REDIS_URL,
    HUILIU_REDIS_PREFIX: prefix, HUILIU_SECRET_KEY: secret, HUILIU_NODE_ID: name, ...env,
  });
  const node = await startHuiliu({
    config, seed, logger: createLogger({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }),
    cluster: { presenceHeartbeatMs: 200, leaderRetryMs: 200 },
  });
  nodes.push(node);
  names.set(node, name);
  return node;
}

function connect(url: string, auth: Record<string, string>): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = io(url, { auth, transports: ['websocket'], reconnection: false, forceNew: true });
    sockets.push(s);
    s.once('connect', () => resolve(s));
    s.once('connect_error', reject);
  });
}

function collect<T = any>(s: Socket, event: string) {
  const got: T[] = [];
  s.on(event, (x: T) => got.push(x));
  return {
    got,
    async waitFor(pred: (xs: T[]) => boolean, ms = 10_000): Promise<T[]> {
      const deadline = Date.now() + ms;
      while (!pred(got)) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${event}; got ${JSON.stringify(got).slice(0, 500)}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      return got;
    },
  };
}

async function until(what: string, pred: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await pred())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const text = (clientId: string, conversationId: string, body: string) => ({ conversationId, clientId, contentType: 'text', text: body, attachmentIds: [] });

let a: Huiliu;
let b: Huiliu;
let adminToken: string;
let widgetInbox: string;
let agentLogin: { email: string; password: string };

beforeAll(async () => {
  testDb = await createTestDatabase('postgres');
  a = await startNode('node-a', {}, true);
  b = await startNode('node-b');
  const demo = a.demo!;
  widgetInbox = demo.widgetInboxPublicId;
  agentLogin = { email: demo.agentEmails[0]!, password: demo.password };
  const login = await httpRequest(b.url, 'POST', '/api/v1/auth/login', { body: { email: demo.adminEmail, password: demo.password } });
  adminToken = login.json.token;
});

afterAll(async () => {
  for (const s of sockets) s.close();
  for (const n of nodes) await n.close().catch(() => {});
  await testDb?.drop();
  const redis = new Redis(REDIS_URL);
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function visitorOn(node: Huiliu) {
  const s = await httpRequest(node.url, 'POST', '/api/widget/v1/sessions', { body: { inboxPublicId: widgetInbox } });
  const c = await httpRequest(node.url, 'POST', '/api/widget/v1/conversations', { token: s.json.visitorToken, body: {} });
  return { token: s.json.visitorToken as string, conversationId: c.json.conversation.id as string };
}

describe('cluster mode (PostgreSQL + Redis, two nodes)', () => {
  it('a visitor on node A and an agent on node B talk in real time', async () => {
    const v = await visitorOn(a);
    const agent = await connect(b.url, { token: adminToken });
    const visitor = await connect(a.url, { visitorToken: v.token });
    const atAgent = collect(agent, 'message.created');
    const atVisitor = collect(visitor, 'message.created');
    const ack = await visitor.emitWithAck('message.send', text('x1', v.conversationId, '你好，从 A 节点'));
    expect(ack).toMatchObject({ ok: true, message: { seq: 1 } });
    await atAgent.waitFor((xs) => xs.some((m) => m.clientId === 'x1'));
    const reply = await agent.emitWithAck('message.send', text('r1', v.conversationId, '您好，这里是 B 节点'));
    expect(reply).toMatchObject({ ok: true, message: { seq: 2 } });
    await atVisitor.waitFor((xs) => xs.some((m) => m.clientId === 'r1'));
    // Exactly once each, across the adapter.
    expect(atAgent.got.filter((m) => m.clientId === 'x1')).toHaveLength(1);
    expect(atVisitor.got.filter((m) => m.clientId === 'r1')).toHaveLength(1);
  });

  it('relays cache invalidation to every node: routing rules saved on A are seen by B at once', async () => {
    const heard: string[] = [];
    const off = b.services.events.on('routing.config_changed', ({ workspaceId }) => heard.push(workspaceId));
    const saved = await httpRequest(a.url, 'PUT', '/api/v1/routing/rules', { token: adminToken, body: { rules: [] } });
    expect(saved.status).toBe(200);
    await until('B hears the change', () => heard.length === 1);
    off();
  });

  it('runs the scheduler on exactly one node, and hands it over when that node stops', async () => {
    await until('a leader', () => nodes.filter((n) => n.isScheduler()).length === 1);
    const c = await startNode('node-c', { HUILIU_ROLES: 'scheduler' });
    await new Promise((r) => setTimeout(r, 600));
    expect([a, b, c].filter((n) => n.isScheduler())).toHaveLength(1);
    const leader = [a, b, c].find((n) => n.isScheduler())!;
    if (leader !== c) {
      // Move leadership to c by stopping the others' claims: close the leader, c or the third takes over.
      await leader.close();
      nodes.splice(nodes.indexOf(leader), 1);
      await until('a new leader', () => nodes.filter((n) => n.isScheduler()).length === 1);
      // The closed leader may have been a or b: restart it so later tests keep two full nodes.
      if (leader === a) a = await startNode('node-a2');
      if (leader === b) b = await startNode('node-b2');
    }
    await c.close();
    nodes.splice(nodes.indexOf(c), 1);
    await until('leadership back on a full node', () => [a, b].filter((n) => n.isScheduler()).length === 1);
  });

  it('a node that goes away moves its clients to the other node without loss or duplicates', async () => {
    const v = await visitorOn(b);
    const agent = await connect(b.url, { token: adminToken });
    const atAgent = collect(agent, 'message.created');
    // A third node serving the visitor, closed mid-conversation (its clients see a dropped connection).
    const doomed = await startNode('node-doomed');
    const visitor = await connect(doomed.url, { visitorToken: v.token });
    for (const i of [1, 2, 3]) expect(await visitor.emitWithAck('message.send', text(`d${i}`, v.conversationId, `msg ${i}`))).toMatchObject({ ok: true });
    await doomed.close();
    nodes.splice(nodes.indexOf(doomed), 1);
    await until('the visitor sees the drop', () => !visitor.connected);
    // The widget reconnects through the load balancer to a surviving node and resyncs from its last seq.
    const back = await connect(a.url, { visitorToken: v.token });
    const replay = await back.emitWithAck('sync', { conversations: [{ conversationId: v.conversationId, afterSeq: 0 }] });
    expect(replay.results[0].messages.map((m: { clientId: string }) => m.clientId)).toEqual(['d1', 'd2', 'd3']);
    expect(await back.emitWithAck('message.send', text('d3', v.conversationId, 'msg 3'))).toMatchObject({ ok: true, duplicate: true });
    expect(await back.emitWithAck('message.send', text('d4', v.conversationId, 'msg 4'))).toMatchObject({ ok: true, message: { seq: 4 } });
    await atAgent.waitFor((xs) => xs.some((m) => m.clientId === 'd4'));
    const ids = atAgent.got.filter((m) => m.conversationId === v.conversationId).map((m) => m.clientId);
    expect(ids).toEqual(['d1', 'd2', 'd3', 'd4']);
  });

  it('reaps a node that died without saying goodbye: its agents are handled as disconnected', async () => {
    // An agent with no socket anywhere but on the dead node.
    const token = (await httpRequest(a.url, 'POST', '/api/v1/auth/login', { body: agentLogin })).json.token;
    const me = await httpRequest(a.url, 'GET', '/api/v1/auth/me', { token });
    const userId = me.json.user.id as string;
    const workspaceId = me.json.workspace.id as string;
    expect((await httpRequest(a.url, 'PUT', '/api/v1/presence', { token, body: { status: 'online' } })).status).toBe(200);
    // A node that heartbeated long ago and still lists this agent with one socket (as after kill -9).
    const redis = new Redis(REDIS_URL);
    await redis.hset(`${prefix}node:ghost:agents`, `${workspaceId}:${userId}`, '1');
    await redis.zadd(`${prefix}nodes`, Date.now() - 60_000, 'ghost');
    const before = await presenceEpoch(userId);
    // The reaper takes the node out of the set (ZREM decides which live node reaps it), then deletes its hash.
    await until('the ghost node is reaped', async () => (await redis.zscore(`${prefix}nodes`, 'ghost')) === null);
    await until('the ghost node forgotten', async () => (await redis.exists(`${prefix}node:ghost:agents`)) === 0);
    redis.disconnect();
    // Handled like the agent's last socket closing: last seen now, offline after the grace period (a job).
    await until('presence updated', async () => (await presenceEpoch(userId)).lastSeen !== before.lastSeen);
    await until('the grace-period job', async () => {
      const timeouts = await testDb.db.query(`SELECT payload FROM jobs WHERE queue = 'routing.presence_timeout' AND payload->>'userId' = $1`, [userId]);
      return timeouts.some((j) => (j.payload as { kind: string }).kind === 'disconnect');
    });
  });

  it('splits roles: a front node serves the API and sockets, a worker-only node serves no API, workers hear of new messages', async () => {
    const front = await startNode('node-front', { HUILIU_ROLES: 'api,realtime' });
    const worker = await startNode('node-worker', { HUILIU_ROLES: 'worker' });
    expect((await httpRequest(worker.url, 'GET', '/healthz')).status).toBe(200);
    expect((await httpRequest(worker.url, 'POST', '/api/v1/auth/login', { body: agentLogin })).status).toBe(404);
    let wakes = 0;
    const off = worker.services.events.on('message.log_wake', () => wakes++);
    const v = await visitorOn(front);
    const agent = await connect(b.url, { token: adminToken });
    const atAgent = collect(agent, 'message.created');
    const visitor = await connect(front.url, { visitorToken: v.token });
    expect(await visitor.emitWithAck('message.send', text('f1', v.conversationId, 'via the front node'))).toMatchObject({ ok: true });
    await atAgent.waitFor((xs) => xs.some((m) => m.clientId === 'f1'));
    // The front node reads no message log itself: it tells the worker nodes at once instead of their next poll.
    await until('the worker is woken', () => wakes > 0);
    off();
    // The worker node accepts no sockets.
    await expect(connect(worker.url, { token: adminToken })).rejects.toThrow();
  });

  it('a node reaped while paused registers its sockets again and reports its agents back', async () => {
    const agent = await connect(b.url, { token: adminToken });
    expect(agent.connected).toBe(true);
    const redis = new Redis(REDIS_URL);
    // Instances are named <HUILIU_NODE_ID>.<random>.
    const instance = (await redis.zrange(`${prefix}nodes`, 0, -1)).find((n) => n.startsWith(`${names.get(b)}.`));
    expect(instance).toBeDefined();
    const fields = await redis.hkeys(`${prefix}node:${instance}:agents`);
    expect(fields.length).toBeGreaterThan(0);
    // What another node's reaper does to an instance that stopped heartbeating (SIGSTOP past the stale time).
    await redis.zrem(`${prefix}nodes`, instance!);
    await redis.del(`${prefix}node:${instance}:agents`);
    await until('the instance is back with its agents', async () =>
      (await redis.zscore(`${prefix}nodes`, instance!)) !== null && (await redis.hkeys(`${prefix}node:${instance}:agents`)).length === fields.length);
    redis.disconnect();
  });

  it('after its Redis connection drops and comes back, a node resyncs what relayed events would have told it', async () => {
    let resyncs = 0;
    const off = b.services.events.on('cluster.resync', () => resyncs++);
    const redis = new Redis(REDIS_URL);
    const list = (await redis.client('LIST')) as string;
    const ids = list.split('\n').filter((l) => l.includes(` name=huiliu-${names.get(b)} `)).map((l) => /(?:^| )id=(\d+)/.exec(l)![1]!);
    expect(ids.length).toBeGreaterThan(0);
    for (const id of ids) await redis.client('KILL', 'ID', id);
    redis.disconnect();
    await until('the resync', () => resyncs > 0, 15_000);
    off();
    // Still part of the cluster: fan-out from A reaches a socket on B.
    const v = await visitorOn(a);
    const agent = await connect(b.url, { token: adminToken });
    const atAgent = collect(agent, 'message.created');
    const visitor = await connect(a.url, { visitorToken: v.token });
    expect(await visitor.emitWithAck('message.send', text('k1', v.conversationId, 'after the reconnect'))).toMatchObject({ ok: true });
    await atAgent.waitFor((xs) => xs.some((m) => m.clientId === 'k1'));
  });

  it('warns at start when PostgreSQL may lose acknowledged writes', async () => {
    const c = new pg.Client({ connectionString: testDb.url });
    await c.connect();
    const dbName = new URL(testDb.url!).pathname.slice(1);
    await c.query(`ALTER DATABASE ${dbName} SET synchronous_commit = off`);
    await c.end();
    const node = await startNode('node-unsafe');
    expect(node.warnings.some((w) => /synchronous_commit is off/.test(w))).toBe(true);
    expect(a.warnings.some((w) => /synchronous_commit/.test(w))).toBe(false);
  });
});

async function presenceEpoch(userId: string): Promise<{ lastSeen: string | null }> {
  const rows = await testDb.db.query<{ last_seen_at: string | null }>(`SELECT last_seen_at::text AS last_seen_at FROM agent_presence WHERE user_id = $1`, [userId]);
  return { lastSeen: rows[0]?.last_seen_at ?? null };
}
