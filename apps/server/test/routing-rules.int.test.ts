/**
 * Routing rules and business hours (issue 4) end to end: rule sets validated against the workspace on save,
 * rules applied by the engine (team, skills, priority, tags, explanation in the decision), "test this rule",
 * schedules and a team closed outside its business hours (queued, visitor told when we open, drain job at
 * the opening). Each test builds its own workspace.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { one } from '@huiliu/core/db/database';
import { startTestServer, type TestServer } from './helpers/test-server.ts';
import { createWorld, until, type Agent, type World } from './helpers/world.ts';

let t: TestServer;

beforeAll(async () => {
  t = await startTestServer();
});
afterAll(() => t?.close());

const world = (n: number): Promise<World> => createWorld(t, n, 'rules');

async function team(w: World, name: string, members: Agent[]): Promise<string> {
  const db = t.node.services.db;
  const r = await one(db, `INSERT INTO teams (workspace_id, name) VALUES ($1, $2) RETURNING id`, [w.workspaceId, name]);
  for (const m of members) await db.query(`INSERT INTO team_members (workspace_id, team_id, user_id) VALUES ($1, $2, $3)`, [w.workspaceId, r!.id, m.id]);
  return r!.id as string;
}

/** A conversation without messages, its contact given tags / attributes. */
async function quickConversation(w: World, contact: { tags?: string[]; attributes?: Record<string, unknown> } = {}): Promise<{ id: string; contactId: string }> {
  const s = t.node.services;
  return s.db.transaction(async (tx) => {
    const identity = await s.contacts.resolveIdentity(tx, {
      workspaceId: w.workspaceId, inboxId: w.inboxId, channelType: 'web', sourceId: `rr_${randomBytes(8).toString('hex')}`, verified: false, contact: { name: 'Visitor' },
    });
    await tx.query(`UPDATE contacts SET tags = $2, attributes = $3::text::jsonb WHERE id = $1`, [identity.contactId, contact.tags ?? [], JSON.stringify(contact.attributes ?? {})]);
    const c = await s.conversations.create(tx, { workspaceId: w.workspaceId, inboxId: w.inboxId, ...identity });
    return { id: c.id, contactId: identity.contactId };
  });
}

async function openConversation(w: World, text: string): Promise<{ id: string; visitorToken: string }> {
  const session = await t.api('POST', '/api/widget/v1/sessions', { body: { inboxPublicId: w.publicId } });
  expect(session.status).toBe(200);
  const visitorToken = session.body.visitorToken as string;
  const r = await t.api('POST', '/api/widget/v1/conversations', { token: visitorToken, body: { text } });
  expect(r.status).toBe(201);
  return { id: r.body.conversation.id as string, visitorToken };
}

const online = (a: Agent) => t.api('PUT', '/api/v1/presence', { token: a.token, body: { status: 'online' } });
const putRules = (w: World, rules: unknown[]) => t.api('PUT', '/api/v1/routing/rules', { token: w.admin, body: { rules } });
async function conv(id: string) {
  return (await one(t.node.services.db, `SELECT assignee_id, priority, tags, team_id, queued_at FROM conversations WHERE id = $1`, [id]))!;
}
async function decisions(w: World, id: string): Promise<any[]> {
  const r = await t.api('GET', `/api/v1/conversations/${id}/routing-decisions`, { token: w.admin });
  expect(r.status).toBe(200);
  return r.body;
}

const everyDay = (shifts: { start: string; end: string }[]) => ({ mon: shifts, tue: shifts, wed: shifts, thu: shifts, fri: shifts, sat: shifts, sun: shifts });
/** Today and tomorrow in Shanghai as YYYY-MM-DD. */
function shanghaiDays(): [string, string, string] {
  const f = new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Shanghai', year: 'numeric', month: '2-digit', day: '2-digit' });
  const day = (offset: number) => f.format(new Date(Date.now() + offset * 86_400_000));
  return [day(0), day(1), day(2)];
}

describe('rule sets', () => {
  it('rejects missing references naming the field, flags unreachable rules, and needs routing.manage', async () => {
    const w = await world(1);
    const agent = w.agents[0]!;
    const missing = await putRules(w, [{ id: 'r1', name: 'To nowhere', actions: [{ type: 'route_team', teamId: randomUUID() }] }]);
    expect(missing.status).toBe(400);
    expect(missing.body.error.issues[0].path).toBe('body.rules.0.actions.0.teamId');
    const badShape = await putRules(w, [{ id: 'r1', name: 'No actions', actions: [] }]);
    expect(badShape.status).toBe(400);
    expect(badShape.body.error.issues[0].path).toBe('body.rules.0.actions');

    const support = await team(w, 'Support', [agent]);
    const saved = await putRules(w, [
      { id: 'all', name: 'Everything to support', actions: [{ type: 'route_team', teamId: support }] },
      { id: 'never', name: 'Shadowed', conditions: [{ match: 'all', conditions: [{ type: 'channel', in: ['web'] }] }], actions: [{ type: 'set_priority', priority: 'low' }] },
    ]);
    expect(saved.status).toBe(200);
    expect(saved.body).toMatchObject({ version: 1, rules: [{ id: 'all', enabled: true }, { id: 'never' }] });
    expect(saved.body.warnings).toEqual([expect.objectContaining({ ruleId: 'never', code: 'unreachable', path: 'body.rules.1' })]);
    const got = await t.api('GET', '/api/v1/routing/rules', { token: w.admin });
    expect(got.body).toMatchObject({ version: 1, rules: [{ id: 'all' }, { id: 'never' }] });
    expect(got.body.warnings).toHaveLength(1);
    const stale = await t.api('PUT', '/api/v1/routing/rules', { token: w.admin, body: { rules: [], expectedVersion: 0 } });
    expect(stale.status).toBe(409);

    // agents have no routing.manage
    expect((await t.api('GET', '/api/v1/routing/rules', { token: agent.token })).status).toBe(403);
    expect((await t.api('PUT', '/api/v1/routing/rules', { token: agent.token, body: { rules: [] } })).status).toBe(403);
    expect((await t.api('POST', '/api/v1/routing/rules/test', { token: agent.token, body: { facts: { channelType: 'web', inboxId: w.inboxId, contact: {} } } })).status).toBe(403);
    expect((await t.api('GET', '/api/v1/routing/schedules', { token: agent.token })).status).toBe(403);
    expect((await t.api('POST', '/api/v1/routing/schedules', { token: agent.token, body: { name: 'x', timeZone: 'UTC', weekly: {} } })).status).toBe(403);
  });

  it('"test this rule" evaluates the saved or the given rules against sample facts', async () => {
    const w = await world(1);
    const vip = await team(w, 'VIP', [w.agents[0]!]);
    expect((await putRules(w, [{ id: 'vip', name: 'VIP contacts', conditions: [{ match: 'all', conditions: [{ type: 'tag_has', tag: 'vip' }] }], actions: [{ type: 'route_team', teamId: vip }, { type: 'set_priority', priority: 'high' }] }])).status).toBe(200);
    const saved = await t.api('POST', '/api/v1/routing/rules/test', { token: w.admin, body: { facts: { channelType: 'web', inboxId: w.inboxId, contact: { tags: ['VIP'] } } } });
    expect(saved.status).toBe(200);
    expect(saved.body).toMatchObject({ matchedRuleIds: ['vip'], decision: { target: { type: 'team', teamId: vip }, priority: 'high' }, warnings: [] });
    expect(saved.body.explanation.join('\n')).toContain('VIP contacts');
    const none = await t.api('POST', '/api/v1/routing/rules/test', { token: w.admin, body: { facts: { channelType: 'web', inboxId: w.inboxId, contact: { tags: [] } } } });
    expect(none.body.matchedRuleIds).toEqual([]);
    // unsaved rules given in the body, checked like a save
    const given = await t.api('POST', '/api/v1/routing/rules/test', {
      token: w.admin,
      body: { rules: [{ id: 'kw', name: 'Refunds', conditions: [{ match: 'any', conditions: [{ type: 'keywords', any: ['退款'] }] }], actions: [{ type: 'add_tags', tags: ['refund'] }] }], facts: { channelType: 'web', inboxId: w.inboxId, contact: {}, messageText: '我想退款' } },
    });
    expect(given.status).toBe(200);
    expect(given.body).toMatchObject({ matchedRuleIds: ['kw'], decision: { tags: ['refund'] } });
    const bad = await t.api('POST', '/api/v1/routing/rules/test', { token: w.admin, body: { rules: [{ id: 'x', name: 'x', actions: [{ type: 'route_agent', agentId: randomUUID() }] }], facts: { channelType: 'web', inboxId: w.inboxId, contact: {} } } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.issues[0].path).toBe('body.rules.0.actions.0.agentId');
  });
});

describe('rules in routing', () => {
  it('a VIP contact goes to the VIP team with priority high, tagged, and the decision explains the rule', async () => {
    const w = await world(2);
    const [vipAgent, other] = w.agents as [Agent, Agent];
    const vip = await team(w, 'VIP', [vipAgent]);
    // the other agent would win least-busy without the rule (the VIP agent is busier)
    await t.api('PUT', `/api/v1/users/${vipAgent.id}/routing`, { token: w.admin, body: { capacity: 5 } });
    for (const a of [vipAgent, other]) expect((await online(a)).status).toBe(200);
    const busy = await quickConversation(w);
    await t.node.services.conversations.assign({ kind: 'system', workspaceId: w.workspaceId, via: 'system' }, busy.id, vipAgent.id);
    expect((await putRules(w, [
      { id: 'vip', name: 'VIP contacts', conditions: [{ match: 'all', conditions: [{ type: 'tag_has', tag: 'vip' }] }], actions: [{ type: 'route_team', teamId: vip }, { type: 'set_priority', priority: 'high' }, { type: 'add_tags', tags: ['vip-care'] }] },
    ])).status).toBe(200);

    const c = await quickConversation(w, { tags: ['vip'] });
    expect(await t.node.services.routing.route(w.workspaceId, c.id, 'manual')).toEqual({ outcome: 'assigned', agentId: vipAgent.id });
    expect(await conv(c.id)).toMatchObject({ assignee_id: vipAgent.id, priority: 'high', team_id: vip, tags: ['vip-care'] });
    const d = await decisions(w, c.id);
    const assigned = d.find((x) => x.outcome === 'assigned');
    expect(assigned.reason.rules.matchedRuleIds).toEqual(['vip']);
    expect(assigned.reason.rules.target).toEqual({ type: 'team', teamId: vip });
    expect(assigned.reason.rules.explanation.join('\n')).toMatch(/VIP contacts.*matched/);

    // a contact without the tag: no rule, default routing → the less busy agent
    const plain = await quickConversation(w);
    expect(await t.node.services.routing.route(w.workspaceId, plain.id, 'manual')).toEqual({ outcome: 'assigned', agentId: other.id });
    expect(await conv(plain.id)).toMatchObject({ priority: 'none', team_id: null });
  });

  it('a keyword rule (退款 → refund skill) routes the customer message to the agent with the skill', async () => {
    const w = await world(2);
    const [plainAgent, refundAgent] = w.agents as [Agent, Agent];
    expect((await t.api('PUT', `/api/v1/users/${refundAgent.id}/routing`, { token: w.admin, body: { skills: { refund: 3 } } })).status).toBe(200);
    // the refund agent is busier: least-busy alone would pick the other one
    for (const a of [plainAgent, refundAgent]) expect((await online(a)).status).toBe(200);
    const busy = await quickConversation(w);
    await t.node.services.conversations.assign({ kind: 'system', workspaceId: w.workspaceId, via: 'system' }, busy.id, refundAgent.id);
    expect((await putRules(w, [
      { id: 'refund', name: 'Refund requests', conditions: [{ match: 'any', conditions: [{ type: 'keywords', any: ['退款', 'refund'] }] }], actions: [{ type: 'route_skills', skills: [{ skill: 'refund', minLevel: 2 }] }] },
    ])).status).toBe(200);
    const c = await openConversation(w, '你好，我要退款');
    await until(async () => (await conv(c.id)).assignee_id, 'the keyword conversation assigned');
    expect((await conv(c.id)).assignee_id).toBe(refundAgent.id);
    const d = (await decisions(w, c.id)).find((x) => x.outcome === 'assigned');
    expect(d.reason).toMatchObject({ requiredSkills: { refund: 2 }, rules: { matchedRuleIds: ['refund'] } });
    expect(d.reason.rules.explanation.join('\n')).toContain('Refund requests');
  });
});

describe('business hours', () => {
  it('validates schedules and reports open now / next opening', async () => {
    const w = await world(0);
    const bad = await t.api('POST', '/api/v1/routing/schedules', { token: w.admin, body: { name: 'Bad', timeZone: 'Mars/Olympus', weekly: {} } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.issues[0].path).toBe('body.timeZone');
    const overlap = await t.api('POST', '/api/v1/routing/schedules', { token: w.admin, body: { name: 'Overlap', timeZone: 'UTC', weekly: { mon: [{ start: '09:00', end: '12:00' }, { start: '11:00', end: '13:00' }] } } });
    expect(overlap.status).toBe(400);
    expect(overlap.body.error.issues[0].path).toBe('body.weekly.mon.1.start');
    const always = await t.api('POST', '/api/v1/routing/schedules', { token: w.admin, body: { name: 'Always', timeZone: 'UTC', weekly: everyDay([{ start: '00:00', end: '24:00' }]) } });
    expect(always.status).toBe(201);
    expect(always.body).toMatchObject({ name: 'Always', outsideHoursAction: 'offline_form', holidays: [] });
    const status = await t.api('GET', `/api/v1/routing/schedules/${always.body.id}/status`, { token: w.admin });
    expect(status.status).toBe(200);
    expect(status.body).toMatchObject({ open: true, timeZone: 'UTC' });
    const [today, tomorrow, after] = shanghaiDays();
    const closed = await t.api('PUT', `/api/v1/routing/schedules/${always.body.id}`, {
      token: w.admin, body: { name: 'Office', timeZone: 'Asia/Shanghai', weekly: everyDay([{ start: '09:00', end: '18:00' }]), holidays: [{ date: today, until: tomorrow, name: '假期' }] },
    });
    expect(closed.status).toBe(200);
    const s2 = await t.api('GET', `/api/v1/routing/schedules/${always.body.id}/status`, { token: w.admin });
    expect(s2.body).toMatchObject({ open: false, dayKind: 'holiday', dayName: '假期', nextOpening: new Date(`${after}T09:00:00+08:00`).toISOString() });
    expect((await t.api('GET', '/api/v1/routing/schedules', { token: w.admin })).body).toHaveLength(1);
    expect((await t.api('DELETE', `/api/v1/routing/schedules/${always.body.id}`, { token: w.admin })).status).toBeLessThan(300);
    expect((await t.api('GET', `/api/v1/routing/schedules/${always.body.id}`, { token: w.admin })).status).toBe(404);
  });

  it('outside business hours: not assigned, queued, the visitor is told when we open (once), the decision says why', async () => {
    const w = await world(1);
    const agent = w.agents[0]!;
    const support = await team(w, 'Support', [agent]);
    expect((await online(agent)).status).toBe(200);
    const [today, tomorrow, after] = shanghaiDays();
    const sched = await t.api('POST', '/api/v1/routing/schedules', {
      token: w.admin,
      body: { name: 'Office', timeZone: 'Asia/Shanghai', weekly: everyDay([{ start: '09:00', end: '18:00' }]), holidays: [{ date: today, until: tomorrow }], outsideHoursAction: 'ticket' },
    });
    expect(sched.status).toBe(201);
    const setTeam = await t.api('PUT', `/api/v1/teams/${support}/schedule`, { token: w.admin, body: { scheduleId: sched.body.id } });
    expect(setTeam.status).toBe(200);
    expect((await putRules(w, [{ id: 'support', name: 'All to support', actions: [{ type: 'route_team', teamId: support }] }])).status).toBe(200);
    const opens = new Date(`${after}T09:00:00+08:00`).toISOString();

    const c = await openConversation(w, 'hello, anyone there?');
    const d = await until(async () => (await decisions(w, c.id)).find((x) => x.reason.why === 'outside business hours'), 'the outside-hours decision');
    expect(d).toMatchObject({ outcome: 'queued', agentId: null });
    expect(d.reason).toMatchObject({ scheduleId: sched.body.id, outsideHoursAction: 'ticket', nextOpening: opens, teamId: support, rules: { matchedRuleIds: ['support'] } });
    const row = await conv(c.id);
    expect(row.assignee_id).toBeNull();
    expect(row.queued_at).not.toBeNull();
    const msgs = await t.api('GET', `/api/widget/v1/conversations/${c.id}/messages`, { token: c.visitorToken });
    expect(msgs.status).toBe(200);
    const notices = msgs.body.items.filter((m: any) => m.text.startsWith('We are closed now; we open again at'));
    expect(notices).toHaveLength(1);
    expect(notices[0].text).toContain('09:00');
    // 'ticket' without a ticket module: handled as the offline form, and the decision says so
    expect(notices[0].text).toContain('Leave your question and your email');
    expect(d.reason).toMatchObject({ handledAs: 'offline_form', note: 'no ticket module is installed' });

    // routing again (another message, a drain) neither assigns nor repeats the message
    expect(await t.node.services.routing.route(w.workspaceId, c.id, 'manual')).toMatchObject({ outcome: 'queued' });
    await t.node.services.routing.drain(w.workspaceId);
    expect((await conv(c.id)).assignee_id).toBeNull();
    const count = await one(t.node.services.db, `SELECT count(*) AS n FROM messages WHERE conversation_id = $1 AND text LIKE 'We are closed now%'`, [c.id]);
    expect(Number(count!.n)).toBe(1);
    // a durable drain waits for the opening
    const job = await one(t.node.services.db, `SELECT run_at FROM jobs WHERE queue = 'routing.opening' AND workspace_id = $1 AND status = 'queued'`, [w.workspaceId]);
    expect(new Date(job!.run_at as string).toISOString()).toBe(opens);

    // a Chinese-speaking contact is told in Chinese
    const zh = await quickConversation(w, { attributes: { locale: 'zh-CN' } });
    expect(await t.node.services.routing.route(w.workspaceId, zh.id, 'manual')).toMatchObject({ outcome: 'queued' });
    const zhMsg = await one(t.node.services.db, `SELECT text FROM messages WHERE conversation_id = $1 AND direction = 'activity' AND text LIKE '我们现在不在服务时间%'`, [zh.id]);
    expect(zhMsg!.text).toMatch(/^我们现在不在服务时间，将于 .*09:00.* 恢复服务。请留下您的问题和邮箱，我们上班后会回复您。$/);

    // opening hours now (the schedule is replaced by an always-open one): the queue drains to the agent
    const open = await t.api('PUT', `/api/v1/routing/schedules/${sched.body.id}`, { token: w.admin, body: { name: 'Office', timeZone: 'Asia/Shanghai', weekly: everyDay([{ start: '00:00', end: '24:00' }]) } });
    expect(open.status).toBe(200);
    await until(async () => (await conv(c.id)).assignee_id === agent.id, 'the waiting conversation assigned once open');
  });

  it('outside business hours with bot_only: not queued, the bot is told to continue, the visitor hears so', async () => {
    const w = await world(1);
    const support = await team(w, 'Support', [w.agents[0]!]);
    expect((await online(w.agents[0]!)).status).toBe(200);
    const [today, tomorrow] = shanghaiDays();
    const sched = await t.api('POST', '/api/v1/routing/schedules', {
      token: w.admin,
      body: { name: 'Office', timeZone: 'Asia/Shanghai', weekly: everyDay([{ start: '09:00', end: '18:00' }]), holidays: [{ date: today, until: tomorrow }], outsideHoursAction: 'bot_only' },
    });
    expect((await t.api('PUT', `/api/v1/teams/${support}/schedule`, { token: w.admin, body: { scheduleId: sched.body.id } })).status).toBe(200);
    expect((await putRules(w, [{ id: 'support', name: 'All to support', actions: [{ type: 'route_team', teamId: support }] }])).status).toBe(200);
    const resumed: string[] = [];
    const off = t.node.services.events.on('conversation.bot_resumed', (e) => resumed.push(`${e.conversationId}:${e.reason}`));
    try {
      const c = await openConversation(w, 'hello?');
      await until(async () => resumed.includes(`${c.id}:outside_hours`), 'bot_resumed');
      const row = await conv(c.id);
      expect(row.queued_at).toBeNull();
      expect(row.assignee_id).toBeNull();
      const msgs = await t.api('GET', `/api/widget/v1/conversations/${c.id}/messages`, { token: c.visitorToken });
      expect(msgs.body.items.some((m: any) => m.text.includes('Our assistant can help you meanwhile'))).toBe(true);
      const d = (await decisions(w, c.id)).find((x) => x.reason.why === 'outside business hours');
      expect(d.reason).toMatchObject({ outsideHoursAction: 'bot_only', handedTo: 'bot' });
    } finally {
      off();
    }
  });
});
