/**
 * Routing engine (issue 4): queue timeout → overflow actions (another team, leave a message, back to the
 * bot), their validation on save, and the offer-to-all strategy (first to accept wins).
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { one } from '@huiliu/core/db/database';
import { QUEUE_TIMEOUT_QUEUE } from '@huiliu/core/routing/routing.service';
import { startTestServer, type TestServer } from './helpers/test-server.ts';
import { createWorld, until, type Agent, type World } from './helpers/world.ts';

let t: TestServer;

beforeAll(async () => {
  t = await startTestServer();
});
afterAll(() => t?.close());

async function conversationIn(w: World, teamId: string, locale = 'en'): Promise<string> {
  const s = t.node.services;
  const c = await s.db.transaction(async (tx) => {
    const identity = await s.contacts.resolveIdentity(tx, {
      workspaceId: w.workspaceId, inboxId: w.inboxId, channelType: 'web', sourceId: `ov_${randomBytes(8).toString('hex')}`, verified: false,
      contact: { name: 'Visitor', attributes: { locale } },
    });
    return s.conversations.create(tx, { workspaceId: w.workspaceId, inboxId: w.inboxId, ...identity });
  });
  s.events.emit('conversation.handoff_requested', { workspaceId: w.workspaceId, conversationId: c.id, reason: 'customer_request', teamId });
  return c.id;
}

async function team(w: World, name: string, members: Agent[], routing: Record<string, unknown>): Promise<string> {
  const r = await t.api('POST', '/api/v1/teams', { token: w.admin, body: { name } });
  expect(r.status).toBe(201);
  await t.api('PUT', `/api/v1/teams/${r.body.id}/members`, { token: w.admin, body: { userIds: members.map((m) => m.id) } });
  const tr = await t.api('PUT', `/api/v1/teams/${r.body.id}/routing`, { token: w.admin, body: routing });
  expect(tr.status, JSON.stringify(tr.body)).toBe(200);
  return r.body.id as string;
}

const row = async (id: string) => (await one(t.node.services.db, `SELECT assignee_id, team_id, queued_at, status FROM conversations WHERE id = $1`, [id]))!;

/** The queue timeout job of the conversation is due now (the shortest real timeout is 10 s). */
async function expireQueueTimeout(conversationId: string): Promise<void> {
  await until(
    async () => (await t.node.services.db.query(`SELECT 1 FROM jobs WHERE queue = $1 AND ordering_key = $2 AND status = 'queued'`, [QUEUE_TIMEOUT_QUEUE, `routing:${conversationId}`])).length > 0,
    'the queue timeout job',
  );
  await t.node.services.db.query(`UPDATE jobs SET run_at = now() WHERE queue = $1 AND ordering_key = $2 AND status = 'queued'`, [QUEUE_TIMEOUT_QUEUE, `routing:${conversationId}`]);
  t.node.jobs.notify();
}

async function texts(conversationId: string): Promise<{ text: string; private: boolean }[]> {
  return (await t.node.services.db.query(`SELECT text, private FROM messages WHERE conversation_id = $1 AND direction = 'activity' ORDER BY seq`, [conversationId])).map((m) => ({ text: m.text as string, private: Boolean(m.private) }));
}

describe('queue timeout and overflow', () => {
  it('rejects overflow settings that cannot work, naming the field', async () => {
    const w = await createWorld(t, 1, 'overflow');
    const teamId = await team(w, 'Sales', [], {});
    const put = (body: Record<string, unknown>) => t.api('PUT', `/api/v1/teams/${teamId}/routing`, { token: w.admin, body });
    const noAction = await put({ queueTimeoutSeconds: 60 });
    expect(noAction.status).toBe(400);
    expect(noAction.body.error.issues[0].path).toBe('body.overflow');
    const unknown = await put({ queueTimeoutSeconds: 60, overflow: { action: 'call_my_mother' } });
    expect(unknown.body.error.issues[0]).toMatchObject({ path: 'body.overflow.action' });
    expect(unknown.body.error.issues[0].message).toContain('route_to_team');
    const missingTeam = await put({ queueTimeoutSeconds: 60, overflow: { action: 'route_to_team', teamId: '00000000-0000-4000-8000-000000000000' } });
    expect(missingTeam.body.error.issues[0]).toMatchObject({ path: 'body.overflow.teamId' });
    const self = await put({ queueTimeoutSeconds: 60, overflow: { action: 'route_to_team', teamId } });
    expect(self.body.error.issues[0].message).toContain('another team');
    const tooShort = await put({ queueTimeoutSeconds: 3, overflow: { action: 'leave_message' } });
    expect(tooShort.body.error.issues[0].path).toBe('body.queueTimeoutSeconds');
    const ok = await put({ queueTimeoutSeconds: 60, overflow: { action: 'leave_message' } });
    expect(ok.body).toMatchObject({ queueTimeoutSeconds: 60, overflow: { action: 'leave_message' } });
    // The console reads every team's settings back (defaults for teams never configured).
    const untouched = await team(w, 'Untouched', [], {});
    const list = (await t.api('GET', '/api/v1/routing/teams', { token: w.admin })).body as any[];
    expect(list.find((x) => x.teamId === teamId)).toEqual({ teamId, strategy: 'least_busy', stickyMinutes: 1440, queueTimeoutSeconds: 60, overflow: { action: 'leave_message' }, scheduleId: null });
    expect(list.find((x) => x.teamId === untouched)).toMatchObject({ strategy: 'least_busy', queueTimeoutSeconds: null, overflow: null });
    expect((await t.api('GET', '/api/v1/routing/teams', { token: w.agents[0]!.token })).status).toBe(403);
    // Another workspace's team is as good as missing.
    const other = await createWorld(t, 0, 'overflow-other');
    const foreign = await team(other, 'Foreign', [], {});
    const cross = await put({ queueTimeoutSeconds: 60, overflow: { action: 'route_to_team', teamId: foreign } });
    expect(cross.status).toBe(400);
    expect(cross.body.error.issues[0].path).toBe('body.overflow.teamId');
  });

  it('route_to_team: after the timeout the conversation moves to the overflow team, keeps its place and is routed there', async () => {
    const w = await createWorld(t, 2, 'overflow');
    const [a, b] = w.agents as [Agent, Agent];
    const vip = await team(w, 'VIP', [b], {});
    const general = await team(w, 'General', [a], { queueTimeoutSeconds: 10, overflow: { action: 'route_to_team', teamId: vip } });
    // Nobody online in General (a is offline); b of VIP is online.
    await t.api('PUT', '/api/v1/presence', { token: b.token, body: { status: 'online' } });
    const c = await conversationIn(w, general);
    await until(async () => (await row(c)).queued_at, 'queued in General');
    const queuedAt = new Date((await row(c)).queued_at as string).toISOString();
    await expireQueueTimeout(c);
    await until(async () => (await row(c)).assignee_id === b.id, 'assigned in VIP');
    expect((await row(c)).team_id).toBe(vip);
    const d = (await t.api('GET', `/api/v1/conversations/${c}/routing-decisions`, { token: w.admin })).body as any[];
    expect(d.map((x) => x.outcome)).toEqual(['queued', 'overflow', 'assigned']);
    expect(d[1].reason).toMatchObject({ trigger: 'queue_timeout', action: 'route_to_team', fromTeamId: general, toTeamId: vip, queuedAt });
    expect((await texts(c)).find((m) => m.text.includes('Queue timeout'))?.private).toBe(true);
  });

  it('leave_message: out of the queue, pending, and the customer is asked (in their language) to leave a message', async () => {
    const w = await createWorld(t, 1, 'overflow');
    const support = await team(w, 'Support', w.agents, { queueTimeoutSeconds: 10, overflow: { action: 'leave_message' } });
    const c = await conversationIn(w, support, 'zh-CN');
    await until(async () => (await row(c)).queued_at, 'queued');
    await expireQueueTimeout(c);
    await until(async () => (await row(c)).status === 'pending', 'pending');
    expect((await row(c)).queued_at).toBeNull();
    const public_ = (await texts(c)).filter((m) => !m.private).map((m) => m.text);
    expect(public_.some((x) => x.includes('请留下您的问题和邮箱'))).toBe(true);
    const queue = (await t.api('GET', '/api/v1/routing/queue', { token: w.admin })).body as any[];
    expect(queue.find((q) => q.conversationId === c)).toBeUndefined();
  });

  it('back_to_bot: out of the queue with an event for the bot; a conversation assigned before the timeout is left alone', async () => {
    const w = await createWorld(t, 1, 'overflow');
    const [a] = w.agents as [Agent];
    const support = await team(w, 'Support', w.agents, { queueTimeoutSeconds: 10, overflow: { action: 'back_to_bot' } });
    const resumed: string[] = [];
    const off = t.node.services.events.on('conversation.bot_resumed', (e) => resumed.push(e.conversationId));
    try {
      const c = await conversationIn(w, support);
      await until(async () => (await row(c)).queued_at, 'queued');
      await expireQueueTimeout(c);
      await until(async () => resumed.includes(c), 'bot_resumed event');
      expect((await row(c))).toMatchObject({ queued_at: null, status: 'open', assignee_id: null });

      // Taken before its timeout: the timeout finds a different situation and does nothing.
      const c2 = await conversationIn(w, support);
      await until(async () => (await row(c2)).queued_at, 'queued');
      expect((await t.api('POST', `/api/v1/conversations/${c2}/claim`, { token: a.token })).status).toBe(200);
      await expireQueueTimeout(c2);
      await until(async () => (await t.node.services.db.query(`SELECT 1 FROM jobs WHERE queue = $1 AND ordering_key = $2 AND status = 'queued'`, [QUEUE_TIMEOUT_QUEUE, `routing:${c2}`])).length === 0, 'timeout job done');
      expect(resumed).not.toContain(c2);
      expect((await row(c2)).assignee_id).toBe(a.id);
    } finally {
      off();
    }
  });
});

describe('offer to all', () => {
  it('offers the conversation to every eligible online agent; the first to accept gets it, the other gets 409', async () => {
    const w = await createWorld(t, 3, 'offer');
    const [a, b, c] = w.agents as [Agent, Agent, Agent];
    const teamId = await team(w, 'Everyone', [a, b, c], { strategy: 'offer_all' });
    for (const x of [a, b]) await t.api('PUT', '/api/v1/presence', { token: x.token, body: { status: 'online' } });
    const offered: { conversationId: string; agentIds: string[] }[] = [];
    const off = t.node.services.events.on('conversation.offered', (e) => offered.push(e));
    const sockA = await t.socket({ token: a.token });
    const live = new Promise<{ conversationId: string }>((resolve) => sockA.once('conversation.offered', resolve));
    try {
      const conv = await conversationIn(w, teamId);
      await until(async () => offered.find((o) => o.conversationId === conv), 'offered');
      expect(offered.find((o) => o.conversationId === conv)!.agentIds.sort()).toEqual([a.id, b.id].sort());
      expect((await live).conversationId).toBe(conv);
      expect((await t.api('GET', '/api/v1/routing/offers', { token: b.token })).body).toEqual([conv]);
      expect((await t.api('GET', '/api/v1/routing/offers', { token: c.token })).body).toEqual([]); // offline
      const [ra, rb] = await Promise.all([
        t.api('POST', `/api/v1/conversations/${conv}/claim`, { token: a.token }),
        t.api('POST', `/api/v1/conversations/${conv}/claim`, { token: b.token }),
      ]);
      expect([ra.status, rb.status].sort()).toEqual([200, 409]);
      expect((await t.api('GET', '/api/v1/routing/offers', { token: a.token })).body).toEqual([]);
      const d = (await t.api('GET', `/api/v1/conversations/${conv}/routing-decisions`, { token: w.admin })).body as any[];
      expect(d.map((x) => x.outcome)).toEqual(['offered', 'queued', 'claimed']);
    } finally {
      off();
    }
  });
});

describe("supervisors' live view", () => {
  it('supervisors get presence and queue changes live; agents do not see each other', async () => {
    const w = await createWorld(t, 2, 'live');
    const [a, b] = w.agents as [Agent, Agent];
    const sup = await t.socket({ token: w.admin });
    const peer = await t.socket({ token: b.token });
    const presence: any[] = [];
    const peerSaw: any[] = [];
    let queueChanges = 0;
    sup.on('presence.updated', (p) => presence.push(p));
    sup.on('queue.changed', () => queueChanges++);
    peer.on('presence.updated', (p) => peerSaw.push(p));
    await new Promise((r) => setTimeout(r, 100)); // rooms are joined asynchronously after connect
    await t.api('PUT', '/api/v1/presence', { token: a.token, body: { status: 'busy' } });
    await until(async () => presence.find((p) => p.userId === a.id && p.status === 'busy'), 'presence.updated to the supervisor');
    await t.api('PUT', `/api/v1/users/${a.id}/routing`, { token: w.admin, body: { capacity: 7 } });
    await until(async () => presence.find((p) => p.userId === a.id && p.capacity === 7), 'capacity change to the supervisor');
    const teamId = await team(w, 'Queue', [a], {});
    await conversationIn(w, teamId); // a is busy: it waits
    await until(async () => queueChanges > 0, 'queue.changed to the supervisor');
    expect(peerSaw).toEqual([]);
  });
});
