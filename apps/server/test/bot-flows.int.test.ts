/**
 * Bot flows through the real server: create, save a draft with dangling transitions (allowed while editing),
 * publishing refuses it with issues naming the steps, publishing a valid draft makes version 1 (immutable
 * copy + audit), versions, the runtime's published flows, permissions (bot.manage) and tenant isolation.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { orderStatusFlow } from '@huiliu/core/bot/dialog/order-status-flow';
import { startTestServer, type TestServer } from './helpers/test-server.ts';
import { createWorld, type World } from './helpers/world.ts';

let t: TestServer;

beforeAll(async () => {
  t = await startTestServer();
});
afterAll(() => t?.close());

const world = (): Promise<World> => createWorld(t, 1, 'flows');
const order = orderStatusFlow('https://shop.example.test/api');

/** The order flow with one transition pointing nowhere and a loop without input. */
function brokenOrderFlow() {
  const d = structuredClone(order);
  const answer = d.steps.find((s) => s.id === 'answer')!;
  if (answer.type === 'message') answer.next = 'nowhere';
  d.steps.push({ id: 'spin_a', type: 'set', assign: { x: '1' }, next: 'spin_b' }, { id: 'spin_b', type: 'set', assign: { x: '2' }, next: 'spin_a' });
  return d;
}

async function addIntent(w: World, name: string) {
  await t.node.services.db.query(`INSERT INTO bot_intents (workspace_id, name, examples) VALUES ($1, $2, $3)`, [w.workspaceId, name, ['查询订单']]);
}

describe('bot flows', () => {
  it('draft → publish refused with issues naming the steps → fixed → version 1 → versions', async () => {
    const w = await world();
    await addIntent(w, 'query_order');

    const created = await t.api('POST', '/api/v1/bot/flows', { token: w.admin, body: { name: '查询订单', draft: order } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: '查询订单', description: '', version: 0, published: null, enabled: true, publishedAt: null });
    const id = created.body.id as string;

    const dup = await t.api('POST', '/api/v1/bot/flows', { token: w.admin, body: { name: '查询订单', draft: order } });
    expect(dup.status).toBe(400);
    expect(dup.body.error.issues[0].path).toBe('body.name');

    // A draft with dangling references saves fine (the admin is still editing)…
    const saved = await t.api('PATCH', `/api/v1/bot/flows/${id}`, { token: w.admin, body: { draft: brokenOrderFlow() } });
    expect(saved.status).toBe(200);
    expect(saved.body.draft.steps.find((s: { id: string }) => s.id === 'answer').next).toBe('nowhere');
    // …but a draft of the wrong shape does not.
    const badShape = await t.api('PATCH', `/api/v1/bot/flows/${id}`, { token: w.admin, body: { draft: { ...order, steps: [{ id: 'x', type: 'sms' }] } } });
    expect(badShape.status).toBe(400);

    const refused = await t.api('POST', `/api/v1/bot/flows/${id}/publish`, { token: w.admin });
    expect(refused.status).toBe(400);
    expect(refused.body.error.code).toBe('validation_failed');
    const issues = refused.body.error.issues as Array<{ path: string; message: string }>;
    expect(issues.find((i) => i.path.endsWith('.next') && i.message.startsWith('step "answer": next → "nowhere" does not exist'))).toBeDefined();
    expect(issues.some((i) => i.message.includes('"spin_a"') && i.message.includes('loop with no ask step'))).toBe(true);
    expect(refused.body.error.message).toContain('cannot be published');

    const check = await t.api('POST', '/api/v1/bot/flows/validate', { token: w.admin, body: { document: { ...order, steps: [{ id: 'x', type: 'sms' }] } } });
    expect(check.status).toBe(200);
    expect(check.body.issues[0]).toMatchObject({ path: 'steps.0.type', severity: 'error' });
    expect(check.body.issues[0].message).toContain('unknown type "sms"');

    await t.api('PATCH', `/api/v1/bot/flows/${id}`, { token: w.admin, body: { draft: order, description: '订单状态' } });
    const published = await t.api('POST', `/api/v1/bot/flows/${id}/publish`, { token: w.admin });
    expect(published.status).toBe(200);
    expect(published.body).toMatchObject({ version: 1, description: '订单状态' });
    expect(published.body.published.start).toBe('ask_order');
    expect(published.body.publishedAt).toEqual(expect.any(String));

    // Editing the draft afterwards does not change what customers get; publishing again makes version 2.
    await t.api('PATCH', `/api/v1/bot/flows/${id}`, { token: w.admin, body: { draft: { ...order, triggers: { intents: ['query_order'], phrases: ['订单'] } } } });
    const runtime = await t.node.services.flows.publishedFlows(w.workspaceId);
    expect(runtime.map((f) => [f.id, f.version, f.document.triggers.phrases])).toEqual([[id, 1, order.triggers.phrases]]);
    expect((await t.api('POST', `/api/v1/bot/flows/${id}/publish`, { token: w.admin })).body.version).toBe(2);
    expect((await t.node.services.flows.publishedFlows(w.workspaceId))[0]!.version).toBe(2);

    const versions = await t.api('GET', `/api/v1/bot/flows/${id}/versions`, { token: w.admin });
    expect(versions.status).toBe(200);
    expect(versions.body.map((v: { version: number }) => v.version)).toEqual([2, 1]);
    expect(versions.body[1].document.triggers.phrases).toEqual(order.triggers.phrases);
    expect(versions.body[0].document.triggers.phrases).toEqual(['订单']);
    expect((await t.node.services.flows.publishedVersion(w.workspaceId, id, 1))?.document.triggers.phrases).toEqual(order.triggers.phrases);

    const audit = await t.node.services.db.query(`SELECT action, details FROM audit_log WHERE workspace_id = $1 AND target_id = $2 ORDER BY id`, [w.workspaceId, id]);
    expect(audit.map((a) => [a.action, (a.details as { version: number }).version])).toEqual([['bot.flow_published', 1], ['bot.flow_published', 2]]);

    // Disabled flows are not run; the list shows them.
    await t.api('PATCH', `/api/v1/bot/flows/${id}`, { token: w.admin, body: { enabled: false } });
    expect(await t.node.services.flows.publishedFlows(w.workspaceId)).toEqual([]);
    const list = await t.api('GET', '/api/v1/bot/flows', { token: w.admin });
    expect(list.body.map((f: { id: string; enabled: boolean }) => [f.id, f.enabled])).toEqual([[id, false]]);

    expect((await t.api('DELETE', `/api/v1/bot/flows/${id}`, { token: w.admin })).status).toBe(204);
    expect((await t.api('GET', `/api/v1/bot/flows/${id}`, { token: w.admin })).status).toBe(404);
    expect(await t.node.services.flows.draftFlow(w.workspaceId, id)).toBeNull();
  });

  it('publishing needs the trigger intent to exist in the workspace', async () => {
    const w = await world();
    const created = await t.api('POST', '/api/v1/bot/flows', { token: w.admin, body: { name: 'orders', draft: order } });
    const refused = await t.api('POST', `/api/v1/bot/flows/${created.body.id}/publish`, { token: w.admin });
    expect(refused.status).toBe(400);
    expect(refused.body.error.issues).toEqual([{ path: 'triggers.intents.0', message: expect.stringContaining('trigger intent "query_order" does not exist') }]);
  });

  it('an agent without bot.manage gets 403; another workspace cannot see or change the flow', async () => {
    const w = await world();
    const other = await world();
    const created = await t.api('POST', '/api/v1/bot/flows', { token: w.admin, body: { name: 'orders', draft: order } });
    const id = created.body.id as string;
    const agent = w.agents[0]!.token;
    expect((await t.api('GET', '/api/v1/bot/flows', { token: agent })).status).toBe(403);
    expect((await t.api('POST', '/api/v1/bot/flows', { token: agent, body: { name: 'mine', draft: order } })).status).toBe(403);
    expect((await t.api('POST', `/api/v1/bot/flows/${id}/publish`, { token: agent })).status).toBe(403);
    expect((await t.api('POST', '/api/v1/bot/flows/validate', { token: agent, body: { document: order } })).status).toBe(403);

    expect((await t.api('GET', `/api/v1/bot/flows/${id}`, { token: other.admin })).status).toBe(404);
    expect((await t.api('PATCH', `/api/v1/bot/flows/${id}`, { token: other.admin, body: { name: 'stolen' } })).status).toBe(404);
    expect((await t.api('POST', `/api/v1/bot/flows/${id}/publish`, { token: other.admin })).status).toBe(404);
    expect((await t.api('GET', `/api/v1/bot/flows/${id}/versions`, { token: other.admin })).status).toBe(404);
    expect((await t.api('DELETE', `/api/v1/bot/flows/${id}`, { token: other.admin })).status).toBe(404);
    expect((await t.api('GET', '/api/v1/bot/flows', { token: other.admin })).body).toEqual([]);
    expect(await t.node.services.flows.draftFlow(other.workspaceId, id)).toBeNull();
    // The same name is free in another workspace.
    expect((await t.api('POST', '/api/v1/bot/flows', { token: other.admin, body: { name: 'orders', draft: order } })).status).toBe(201);
    expect((await t.api('GET', `/api/v1/bot/flows/${id}`, { token: w.admin })).body.name).toBe('orders');
  });
});
