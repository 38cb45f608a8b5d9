/**
 * Routing engine (issue 4) end to end: presence, least-busy with capacity, skills / teams, the queue with
 * priority, visitor position and wait estimate, offline re-queue after a grace period, manual claims,
 * and claim races (also across two nodes on PostgreSQL). Each test builds its own workspace so queues
 * and loads do not leak between tests.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Socket } from 'socket.io-client';
import { one } from '@huiliu/core/db/database';
import { openPostgres } from '@huiliu/core/db/postgres';
import { createLogger } from '@huiliu/core/shared/logger';
import { loadConfig } from '../src/config.ts';
import { startHuiliu } from '../src/app.ts';
import { startTestServer, type TestServer } from './helpers/test-server.ts';
import { createWorld, until, type Agent, type World } from './helpers/world.ts';

let t: TestServer;

beforeAll(async () => {
  t = await startTestServer();
});
afterAll(() => t?.close());

const world = (n: number): Promise<World> => createWorld(t, n, 'routing');

async function visitor(w: World): Promise<string> {
  const r = await t.api('POST', '/api/widget/v1/sessions', { body: { inboxPublicId: w.publicId } });
  expect(r.status).toBe(200);
  return r.body.visitorToken as string;
}

/** A visitor opens a conversation; with text it is a customer message, which puts it into routing. */
async function openConversation(w: World, text: string | null = 'I need help'): Promise<{ id: string; visitorToken: string }> {
  const visitorToken = await visitor(w);
  const r = await t.api('POST', '/api/widget/v1/conversations', { token: visitorToken, body: text ? { text } : {} });
  expect(r.status).toBe(201);
  return { id: r.body.conversation.id as string, visitorToken };
}

/** A conversation without messages, made directly (the widget's session endpoint is rate limited per IP). */
async function quickConversation(w: World): Promise<{ id: string }> {
  const s = t.node.services;
  return s.db.transaction(async (tx) => {
    const identity = await s.contacts.resolveIdentity(tx, {
      workspaceId: w.workspaceId, inboxId: w.inboxId, channelType: 'web', sourceId: `rt_${randomBytes(8).toString('hex')}`, verified: false, contact: { name: 'Visitor' },
    });
    const c = await s.conversations.create(tx, { workspaceId: w.workspaceId, inboxId: w.inboxId, ...identity });
    return { id: c.id };
  });
}

async function setPresence(token: string, status: string) {
  const r = await t.api('PUT', '/api/v1/presence', { token, body: { status } });
  expect(r.status).toBe(200);
  return r.body;
}

async function setRouting(w: World, userId: string, body: Record<string, unknown>) {
  return t.api('PUT', `/api/v1/users/${userId}/routing`, { token: w.admin, body });
}

async function assignee(id: string): Promise<string | null> {
  return ((await one(t.node.services.db, `SELECT assignee_id FROM conversations WHERE id = $1`, [id]))?.assignee_id as string | null) ?? null;
}
async function queuedAt(id: string): Promise<string | null> {
  return ((await one(t.node.services.db, `SELECT queued_at FROM conversations WHERE id = $1`, [id]))?.queued_at as string | null) ?? null;
}
async function decisions(w: World, id: string): Promise<any[]> {
  const r = await t.api('GET', `/api/v1/conversations/${id}/routing-decisions`, { token: w.admin });
  expect(r.status).toBe(200);
  return r.body;
}
/** Every conversation assigned to at most one agent over its life, and no agent above capacity. */
async function checkInvariants(w: World) {
  const db = t.node.services.db;
  const doubles = await db.query(
    `SELECT conversation_id, count(*) AS n FROM routing_decisions WHERE workspace_id = $1 AND outcome IN ('assigned', 'claimed')
     GROUP BY conversation_id HAVING count(*) > 1`, [w.workspaceId]);
  const over = await db.query(
    `SELECT p.user_id FROM agent_presence p WHERE p.workspace_id = $1
       AND p.capacity < (SELECT count(*) FROM conversations c WHERE c.assignee_id = p.user_id AND c.status IN ('open', 'pending'))`, [w.workspaceId]);
  return { doubles: doubles.length, overCapacity: over.length };
}

describe('presence and settings', () => {
  it('validates routing settings, naming the field, and needs routing.manage', async () => {
    const w = await world(1);
    const agent = w.agents[0]!;
    const bad = await setRouting(w, agent.id, { capacity: 0 });
    expect(bad.status).toBe(400);
    expect(bad.body.error.issues[0].path).toBe('body.capacity');
    expect(bad.body.error.message).toContain('greater than 0');
    const badCh = await setRouting(w, agent.id, { channelCapacities: { email: -1 } });
    expect(badCh.status).toBe(400);
    expect(badCh.body.error.issues[0].path).toBe('body.channelCapacities.email');
    expect((await setRouting(w, agent.id, { capacity: 2, extra: 1 })).status).toBe(400);
    const ok = await setRouting(w, agent.id, { capacity: 3, skills: { refund: 3, english: 2 }, channelCapacities: { email: 2 } });
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ userId: agent.id, capacity: 3, skills: { refund: 3, english: 2 }, channelCapacities: { email: 2 }, status: 'offline', load: 0 });
    // agents cannot change routing settings or see everyone's presence; they can set their own status
    expect((await t.api('PUT', `/api/v1/users/${agent.id}/routing`, { token: agent.token, body: { capacity: 50 } })).status).toBe(403);
    expect((await t.api('GET', '/api/v1/presence', { token: agent.token })).status).toBe(403);
    expect((await setPresence(agent.token, 'away')).status).toBe('away');
    const list = await t.api('GET', '/api/v1/presence', { token: w.admin });
    expect(list.body.find((p: any) => p.userId === agent.id)).toMatchObject({ status: 'away', capacity: 3 });
    expect((await t.api('PUT', '/api/v1/presence', { token: agent.token, body: { status: 'sleeping' } })).status).toBe(400);
  });
});

describe('automatic assignment', () => {
  it('least busy spreads the load and never exceeds capacity; the rest waits in the queue; every decision is recorded', async () => {
    const w = await world(2);
    for (const a of w.agents) {
      await setRouting(w, a.id, { capacity: 2 });
      await setPresence(a.token, 'online');
    }
    // one at a time, so each decision sees the previous assignment: X, Y, X (tie → routed longest ago), Y, queue
    const convs = [];
    for (let i = 0; i < 5; i++) {
      const c = await openConversation(w, `hello ${i}`);
      convs.push(c);
      await until(async () => (await assignee(c.id)) ?? (await queuedAt(c.id)), `conversation ${i} routed`);
    }
    const owners = await Promise.all(convs.map((c) => assignee(c.id)));
    expect(owners[4]).toBeNull();
    expect(owners[0]).not.toBe(owners[1]);
    expect(owners.slice(0, 4)).toEqual([owners[0], owners[1], owners[0], owners[1]]);
    expect(await checkInvariants(w)).toEqual({ doubles: 0, overCapacity: 0 });

    const first = await decisions(w, convs[0]!.id);
    expect(first).toHaveLength(1);
    expect(first[0]).toMatchObject({ outcome: 'assigned', strategy: 'least_busy', agentId: owners[0] });
    expect(first[0].reason).toMatchObject({ trigger: 'message', strategy: 'least_busy', capacity: 2, load: 0 });
    const waiting = convs[4]!;
    const q = await decisions(w, waiting.id);
    expect(q).toHaveLength(1);
    expect(q[0]).toMatchObject({ outcome: 'queued', agentId: null });
    expect(q[0].reason).toMatchObject({ why: 'no eligible agent with free capacity', online: 2, eligible: 0 });

    // the assignment is on the timeline and the conversation shows the assignee
    const msgs = await t.api('GET', `/api/v1/conversations/${convs[0]!.id}/messages`, { token: w.admin });
    expect(msgs.body.items.some((m: any) => m.direction === 'activity' && /Routing assigned the conversation to Agent/.test(m.text))).toBe(true);

    // resolving one frees capacity: the waiting conversation is drained to that agent
    const owner = owners[0]!;
    const r = await t.api('PATCH', `/api/v1/conversations/${convs[0]!.id}`, { token: w.admin, body: { status: 'resolved' } });
    expect(r.status).toBe(200);
    await until(async () => (await assignee(waiting.id)) === owner, 'the queued conversation drained to the freed agent');
    expect(await checkInvariants(w)).toEqual({ doubles: 0, overCapacity: 0 });
  });

  it('filters by skills and team (bot handoff event with requirements)', async () => {
    const w = await world(3);
    const [novice, expert, teamOnly] = w.agents as [Agent, Agent, Agent];
    await setRouting(w, novice.id, { skills: { refund: 1 } });
    await setRouting(w, expert.id, { skills: { refund: 3, english: 2 } });
    await setRouting(w, teamOnly.id, { skills: { refund: 5 } });
    for (const a of w.agents) await setPresence(a.token, 'online');
    const team = await t.api('POST', '/api/v1/teams', { token: w.admin, body: { name: 'VIP' } });
    await t.api('PUT', `/api/v1/teams/${team.body.id}/members`, { token: w.admin, body: { userIds: [teamOnly.id] } });

    const c1 = await quickConversation(w);
    t.node.services.events.emit('conversation.handoff_requested', { workspaceId: w.workspaceId, conversationId: c1.id, reason: 'customer_request', requiredSkills: { refund: 3, english: 1 } });
    await until(async () => (await assignee(c1.id)) === expert.id, 'assigned to the agent with the skills');
    const d = await decisions(w, c1.id);
    expect(d[0].reason).toMatchObject({ trigger: 'handoff', handoffReason: 'customer_request', requiredSkills: { refund: 3, english: 1 }, eligible: 1 });

    const c2 = await quickConversation(w);
    t.node.services.events.emit('conversation.handoff_requested', { workspaceId: w.workspaceId, conversationId: c2.id, reason: 'negative_sentiment', teamId: team.body.id });
    await until(async () => (await assignee(c2.id)) === teamOnly.id, 'assigned within the team');

    // nobody has level 9: it waits
    const c3 = await quickConversation(w);
    t.node.services.events.emit('conversation.handoff_requested', { workspaceId: w.workspaceId, conversationId: c3.id, reason: 'low_confidence', requiredSkills: { refund: 9 } });
    await until(async () => queuedAt(c3.id), 'queued for lack of skills');
    expect(await assignee(c3.id)).toBeNull();
  });
});

describe('the queue', () => {
  it('queues when nobody is online, shows the visitor position and wait, and drains by priority then waiting time', async () => {
    const w = await world(1);
    const agent = w.agents[0]!;
    await setRouting(w, agent.id, { capacity: 2 });
    const c: { id: string; visitorToken: string }[] = [];
    for (let i = 0; i < 3; i++) c.push(await openConversation(w, `waiting ${i}`));
    await until(async () => (await Promise.all(c.map((x) => queuedAt(x.id)))).every(Boolean), 'all queued');
    const d = await decisions(w, c[0]!.id);
    expect(d[0]).toMatchObject({ outcome: 'queued' });
    expect(d[0].reason.why).toBe('no agent online');

    // the visitor sees position and an estimate (no handling history yet: 300 s per conversation ahead)
    const q3 = await t.api('GET', `/api/widget/v1/conversations/${c[2]!.id}/queue`, { token: c[2]!.visitorToken });
    expect(q3.body).toEqual({ conversationId: c[2]!.id, queued: true, position: 3, estimatedWaitSeconds: 900 });
    // not someone else's conversation
    expect((await t.api('GET', `/api/widget/v1/conversations/${c[0]!.id}/queue`, { token: c[2]!.visitorToken })).status).toBe(404);

    // live updates to the visitor when their position changes
    const sock: Socket = await t.socket({ visitorToken: c[2]!.visitorToken });
    const updates: any[] = [];
    sock.on('queue.updated', (e) => updates.push(e));

    // raise the last one to urgent, the second to high: the order is now c2, c1, c0
    const db = t.node.services.db;
    await db.query(`UPDATE conversations SET priority = 'urgent' WHERE id = $1`, [c[2]!.id]);
    await db.query(`UPDATE conversations SET priority = 'high' WHERE id = $1`, [c[1]!.id]);
    const queue = await t.api('GET', '/api/v1/routing/queue', { token: w.admin });
    expect(queue.status).toBe(200);
    expect(queue.body.map((i: any) => i.conversationId)).toEqual([c[2]!.id, c[1]!.id, c[0]!.id]);
    expect(queue.body[0]).toMatchObject({ priority: 'urgent', position: 1 });
    expect((await t.api('GET', '/api/v1/routing/queue', { token: agent.token })).status).toBe(403);

    // the agent comes online with room for two: the urgent and the high one, in that order
    await setPresence(agent.token, 'online');
    await until(async () => (await assignee(c[2]!.id)) && (await assignee(c[1]!.id)), 'drained by priority');
    expect(await assignee(c[0]!.id)).toBeNull();
    const routed = await db.query(`SELECT conversation_id FROM routing_decisions WHERE workspace_id = $1 AND outcome = 'assigned' ORDER BY created_at`, [w.workspaceId]);
    expect(routed.map((r) => r.conversation_id)).toEqual([c[2]!.id, c[1]!.id]);
    const q1 = await t.api('GET', `/api/widget/v1/conversations/${c[0]!.id}/queue`, { token: c[0]!.visitorToken });
    expect(q1.body).toMatchObject({ queued: true, position: 1 });
    const q2 = await t.api('GET', `/api/widget/v1/conversations/${c[2]!.id}/queue`, { token: c[2]!.visitorToken });
    expect(q2.body).toEqual({ conversationId: c[2]!.id, queued: false, position: null, estimatedWaitSeconds: null });
    // the visitor of c2 was told they left the queue
    await until(async () => updates.find((u) => u.conversationId === c[2]!.id && u.position === null), 'queue.updated with position null');
  });

  it('manual strategy: the engine only queues; an agent claims, a second claim gets 409', async () => {
    const w = await world(2);
    const [a, b] = w.agents as [Agent, Agent];
    for (const x of w.agents) await setPresence(x.token, 'online');
    const team = await t.api('POST', '/api/v1/teams', { token: w.admin, body: { name: 'Manual' } });
    await t.api('PUT', `/api/v1/teams/${team.body.id}/members`, { token: w.admin, body: { userIds: [a.id, b.id] } });
    const badTeam = await t.api('PUT', `/api/v1/teams/${team.body.id}/routing`, { token: w.admin, body: { strategy: 'lottery' } });
    expect(badTeam.status).toBe(400);
    expect(badTeam.body.error.issues[0].path).toBe('body.strategy');
    const tr = await t.api('PUT', `/api/v1/teams/${team.body.id}/routing`, { token: w.admin, body: { strategy: 'manual' } });
    expect(tr.body).toEqual({ teamId: team.body.id, strategy: 'manual', stickyMinutes: 1440, queueTimeoutSeconds: null, overflow: null });

    const c = await quickConversation(w);
    t.node.services.events.emit('conversation.handoff_requested', { workspaceId: w.workspaceId, conversationId: c.id, reason: 'flow_action', teamId: team.body.id });
    await until(async () => queuedAt(c.id), 'queued for manual pick-up');
    expect((await decisions(w, c.id))[0]).toMatchObject({ outcome: 'queued', strategy: 'manual' });

    const claim = await t.api('POST', `/api/v1/conversations/${c.id}/claim`, { token: b.token });
    expect(claim.status).toBe(200);
    expect(claim.body.assigneeId).toBe(b.id);
    const again = await t.api('POST', `/api/v1/conversations/${c.id}/claim`, { token: a.token });
    expect(again.status).toBe(409);
    const d = await decisions(w, c.id);
    expect(d.map((x) => x.outcome)).toEqual(['queued', 'claimed']);
    expect(await queuedAt(c.id)).toBeNull();

    // capacity holds for claims too
    await setRouting(w, a.id, { capacity: 1 });
    const c2 = await quickConversation(w);
    const c3 = await quickConversation(w);
    expect((await t.api('POST', `/api/v1/conversations/${c2.id}/claim`, { token: a.token })).status).toBe(200);
    const full = await t.api('POST', `/api/v1/conversations/${c3.id}/claim`, { token: a.token });
    expect(full.status).toBe(409);
    expect(full.body.error.message).toContain('capacity');
  });
});

describe('offline agents', () => {
  it("re-queues an agent's conversations after the grace period when they go offline, then routes them on", async () => {
    const w = await world(2);
    const [a, b] = w.agents as [Agent, Agent];
    t.node.services.routing.options.offlineGraceMs = 300;
    await setPresence(a.token, 'online');
    const c = await openConversation(w, 'hello');
    await until(async () => (await assignee(c.id)) === a.id, 'assigned to a');
    await setPresence(b.token, 'online');
    await setPresence(a.token, 'offline');
    // still a's during the grace period
    await new Promise((r) => setTimeout(r, 100));
    expect(await assignee(c.id)).toBe(a.id);
    await until(async () => (await assignee(c.id)) === b.id, 're-queued and routed to b', 10_000);
    const d = await decisions(w, c.id);
    expect(d.map((x) => x.outcome)).toEqual(['assigned', 'requeued', 'assigned']);
    expect(d[1].reason).toMatchObject({ why: 'went offline', graceMs: 300 });
  });

  it('an agent whose last socket disconnects goes offline after the grace; coming back in time keeps the conversations', async () => {
    const w = await world(1);
    const a = w.agents[0]!;
    t.node.services.routing.options.offlineGraceMs = 400;
    const s1 = await t.socket({ token: a.token });
    const ack = await s1.emitWithAck('presence.set', { status: 'online' });
    expect(ack).toEqual({ ok: true, status: 'online' });
    const c = await openConversation(w, 'hi');
    await until(async () => (await assignee(c.id)) === a.id, 'assigned');

    // a short drop: reconnect within the grace
    s1.disconnect();
    await new Promise((r) => setTimeout(r, 50));
    const s2 = await t.socket({ token: a.token });
    await new Promise((r) => setTimeout(r, 800));
    expect(await assignee(c.id)).toBe(a.id);

    // gone for good
    s2.disconnect();
    await until(async () => (await assignee(c.id)) === null && (await queuedAt(c.id)), 're-queued after the grace', 10_000);
    const p = await t.api('GET', '/api/v1/presence', { token: w.admin });
    expect(p.body.find((x: any) => x.userId === a.id).status).toBe('offline');
    expect((await decisions(w, c.id)).map((x) => x.outcome)).toEqual(['assigned', 'requeued']);
  });
});

describe('claim races', () => {
  it('many concurrent routing attempts and claims never double-assign nor exceed capacity', async () => {
    const w = await world(3);
    const s = t.node.services;
    const convs = [];
    for (let i = 0; i < 12; i++) convs.push(await quickConversation(w));
    for (const a of w.agents) await setRouting(w, a.id, { capacity: 3 });
    // everyone online at once, plus direct routing calls, drains and manual claims on the same conversations
    await Promise.all(w.agents.map((a) => setPresence(a.token, 'online')));
    const attempts: Promise<unknown>[] = [];
    for (let round = 0; round < 3; round++) {
      for (const c of convs) attempts.push(s.routing.route(w.workspaceId, c.id, 'race'));
      attempts.push(s.routing.drain(w.workspaceId));
      for (const [i, c] of convs.entries()) attempts.push(t.api('POST', `/api/v1/conversations/${c.id}/claim`, { token: w.agents[i % 3]!.token }));
    }
    await Promise.all(attempts);
    await s.routing.drain(w.workspaceId);
    // 3 agents × capacity 3: nine assigned, three still waiting
    expect((await Promise.all(convs.map((c) => assignee(c.id)))).filter(Boolean)).toHaveLength(9);
    expect(await checkInvariants(w)).toEqual({ doubles: 0, overCapacity: 0 });
    if (t.testDb.url) {
      // a second node on its own pool, racing for the same queue
      const db2 = await openPostgres(t.testDb.url, { max: 5 });
      const node2 = await startHuiliu({ config: loadConfig({ PORT: '0', HOST: '127.0.0.1', HUILIU_DATA_DIR: t.dataDir, LOG_LEVEL: 'silent' }), db: db2, seed: false, logger: createLogger({ level: 'silent' }) });
      try {
        for (let i = 0; i < 6; i++) convs.push(await quickConversation(w));
        await s.db.query(`UPDATE agent_presence SET capacity = 5 WHERE workspace_id = $1`, [w.workspaceId]);
        const both: Promise<unknown>[] = [];
        for (const c of convs) {
          both.push(s.routing.route(w.workspaceId, c.id, 'race-node1'), node2.services.routing.route(w.workspaceId, c.id, 'race-node2'));
        }
        both.push(s.routing.drain(w.workspaceId), node2.services.routing.drain(w.workspaceId));
        await Promise.all(both);
        await s.routing.drain(w.workspaceId);
        // 3 × 5 = 15 of 18
        expect((await Promise.all(convs.map((c) => assignee(c.id)))).filter(Boolean)).toHaveLength(15);
      } finally {
        await node2.close();
        await db2.close();
      }
    }
    const owners = await Promise.all(convs.map((c) => assignee(c.id)));
    const cap = t.testDb.url ? 5 : 3;
    for (const a of w.agents) expect(owners.filter((o) => o === a.id).length).toBeLessThanOrEqual(cap);
    expect(await checkInvariants(w)).toEqual({ doubles: 0, overCapacity: 0 });
  });
});
