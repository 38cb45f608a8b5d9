/**
 * Transfers (issue 4) end to end on the demo workspace (admin + agents 李娜 and Tom in the widget inbox,
 * both in the After-sales team): agent → agent accepted / declined / expired, who may transfer, targets
 * outside the inbox, agent → team into the team's queue, and a supervisor's take-over. Every agent stays
 * offline for routing, so nothing is auto-assigned behind the tests' backs.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Socket } from 'socket.io-client';
import { one } from '@huiliu/core/db/database';
import { startTestServer, type TestServer } from './helpers/test-server.ts';
import { until } from './helpers/world.ts';

let t: TestServer;
let admin = '';
let li = { id: '', token: '', name: '' };
let tom = { id: '', token: '', name: '' };
let workspaceId = '';
let inboxId = '';
let teamId = '';


function nextEvent<T = any>(socket: Socket, name: string, match: (p: T) => boolean = () => true, timeoutMs = 5_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.off(name, on);
      reject(new Error(`no ${name} event within ${timeoutMs} ms`));
    }, timeoutMs);
    const on = (p: T) => {
      if (!match(p)) return;
      clearTimeout(timer);
      socket.off(name, on);
      resolve(p);
    };
    socket.on(name, on);
  });
}

beforeAll(async () => {
  t = await startTestServer();
  admin = await t.login(t.demo.adminEmail);
  const users = (await t.api('GET', '/api/v1/users', { token: admin })).body as any[];
  const liUser = users.find((u) => u.email === t.demo.agentEmails[0]);
  const tomUser = users.find((u) => u.email === t.demo.agentEmails[1]);
  li = { id: liUser.id, name: liUser.name, token: await t.login(liUser.email) };
  tom = { id: tomUser.id, name: tomUser.name, token: await t.login(tomUser.email) };
  workspaceId = (await t.api('GET', '/api/v1/workspace', { token: admin })).body.id;
  const inboxes = (await t.api('GET', '/api/v1/inboxes', { token: admin })).body as any[];
  inboxId = inboxes.find((i) => i.publicId === t.demo.widgetInboxPublicId).id;
  teamId = ((await t.api('GET', '/api/v1/teams', { token: admin })).body as any[])[0].id;
});
afterAll(() => t?.close());

/** A fresh conversation in the widget inbox (made directly: no customer message, so no routing), assigned to 李娜. */
async function conversationOfLi(): Promise<string> {
  const s = t.node.services;
  const id = await s.db.transaction(async (tx) => {
    const identity = await s.contacts.resolveIdentity(tx, {
      workspaceId, inboxId, channelType: 'web', sourceId: `tr_${randomBytes(8).toString('hex')}`, verified: false, contact: { name: 'Transfer Visitor' },
    });
    return (await s.conversations.create(tx, { workspaceId, inboxId, ...identity })).id;
  });
  const r = await t.api('POST', `/api/v1/conversations/${id}/assign`, { token: admin, body: { assigneeId: li.id } });
  expect(r.status).toBe(200);
  return id;
}

async function row(id: string) {
  return (await one(t.node.services.db, `SELECT assignee_id, team_id, queued_at FROM conversations WHERE id = $1`, [id]))!;
}
async function timeline(id: string): Promise<any[]> {
  const r = await t.api('GET', `/api/v1/conversations/${id}/messages`, { token: admin });
  expect(r.status).toBe(200);
  return r.body.items;
}

describe('transfers', () => {
  it('agent → agent, accepted: the target is told in real time, the assignment moves, the history stays with a note and an activity line', async () => {
    const conv = await conversationOfLi();
    const before = await timeline(conv);
    const tomSocket = await t.socket({ token: tom.token });
    const liSocket = await t.socket({ token: li.token });
    const offered = nextEvent(tomSocket, 'transfer.requested', (e: any) => e.conversation.id === conv);

    const r = await t.api('POST', `/api/v1/conversations/${conv}/transfers`, { token: li.token, body: { toUserId: tom.id, note: 'Refund question, customer is VIP' } });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ conversationId: conv, fromUserId: li.id, toUserId: tom.id, toTeamId: null, status: 'pending', note: 'Refund question, customer is VIP', fromUserName: li.name, toUserName: tom.name });
    const event = await offered;
    expect(event.transfer.id).toBe(r.body.id);
    expect(event.transfer.note).toBe('Refund question, customer is VIP');
    expect((await row(conv)).assignee_id).toBe(li.id);

    const inbox = await t.api('GET', '/api/v1/transfers', { token: tom.token });
    expect(inbox.status).toBe(200);
    expect(inbox.body.map((x: any) => x.id)).toContain(r.body.id);
    const outgoing = await t.api('GET', '/api/v1/transfers?direction=outgoing', { token: li.token });
    expect(outgoing.body.map((x: any) => x.id)).toContain(r.body.id);

    const answered = nextEvent(liSocket, 'transfer.responded', (e: any) => e.transfer.id === r.body.id);
    const a = await t.api('POST', `/api/v1/transfers/${r.body.id}/accept`, { token: tom.token });
    expect(a.status).toBe(200);
    expect(a.body).toMatchObject({ status: 'accepted', respondedBy: tom.id });
    expect((await answered).transfer.status).toBe('accepted');
    expect((await row(conv)).assignee_id).toBe(tom.id);

    const after = await timeline(conv);
    // Same conversation: everything from before is still there, followed by the note and the activity line.
    expect(after.slice(0, before.length).map((m) => m.id)).toEqual(before.map((m) => m.id));
    const note = after.find((m) => m.private && m.text.includes('Refund question, customer is VIP'));
    expect(note).toBeDefined();
    expect(after.some((m) => m.direction === 'activity' && m.text === `${tom.name} accepted the transfer from ${li.name}`)).toBe(true);
    // Answered once: a second answer is a conflict, and nothing is pending for Tom any more.
    expect((await t.api('POST', `/api/v1/transfers/${r.body.id}/decline`, { token: tom.token, body: {} })).status).toBe(409);
    expect((await t.api('GET', '/api/v1/transfers', { token: tom.token })).body.map((x: any) => x.id)).not.toContain(r.body.id);
  });

  it('declined: the conversation stays with the original agent and the requester is told', async () => {
    const conv = await conversationOfLi();
    const liSocket = await t.socket({ token: li.token });
    const r = await t.api('POST', `/api/v1/conversations/${conv}/transfers`, { token: li.token, body: { toUserId: tom.id, note: 'Can you take this?' } });
    expect(r.status).toBe(201);
    // Only the receiving agent answers.
    expect((await t.api('POST', `/api/v1/transfers/${r.body.id}/accept`, { token: li.token })).status).toBe(403);
    const told = nextEvent(liSocket, 'transfer.responded', (e: any) => e.transfer.id === r.body.id);
    const d = await t.api('POST', `/api/v1/transfers/${r.body.id}/decline`, { token: tom.token, body: { reason: 'At capacity' } });
    expect(d.status).toBe(200);
    expect(d.body).toMatchObject({ status: 'declined', declineReason: 'At capacity', respondedBy: tom.id });
    const e = await told;
    expect(e.transfer).toMatchObject({ status: 'declined', declineReason: 'At capacity' });
    expect((await row(conv)).assignee_id).toBe(li.id);
    expect((await timeline(conv)).some((m) => m.text === `${tom.name} declined the transfer from ${li.name}: At capacity`)).toBe(true);
  });

  it('an unanswered transfer expires (durable job) and stays with the original agent', async () => {
    const svc = t.node.services.transfers;
    const old = svc.options.expireAfterMs;
    svc.options.expireAfterMs = 300;
    try {
      const conv = await conversationOfLi();
      const liSocket = await t.socket({ token: li.token });
      const r = await t.api('POST', `/api/v1/conversations/${conv}/transfers`, { token: li.token, body: { toUserId: tom.id } });
      expect(r.status).toBe(201);
      const told = nextEvent(liSocket, 'transfer.responded', (e: any) => e.transfer.id === r.body.id);
      const expired = await until(async () => {
        const list = await t.api('GET', '/api/v1/transfers?status=expired&direction=outgoing', { token: li.token });
        return list.body.find((x: any) => x.id === r.body.id);
      }, 'the transfer to expire');
      expect(expired.status).toBe('expired');
      expect((await told).transfer.status).toBe('expired');
      expect((await row(conv)).assignee_id).toBe(li.id);
      expect((await t.api('POST', `/api/v1/transfers/${r.body.id}/accept`, { token: tom.token })).status).toBe(409);
      expect((await row(conv)).assignee_id).toBe(li.id);
    } finally {
      svc.options.expireAfterMs = old;
    }
  });

  it('only the assignee (or a supervisor) may transfer: another agent gets 403', async () => {
    const conv = await conversationOfLi();
    const r = await t.api('POST', `/api/v1/conversations/${conv}/transfers`, { token: tom.token, body: { toUserId: tom.id } });
    expect(r.status).toBe(403);
    const r2 = await t.api('POST', `/api/v1/conversations/${conv}/transfers`, { token: tom.token, body: { toTeamId: teamId } });
    expect(r2.status).toBe(403);
    expect((await row(conv)).assignee_id).toBe(li.id);
  });

  it('a target outside the inbox, unknown, or missing is a 400 naming the field', async () => {
    const conv = await conversationOfLi();
    const s = t.node.services;
    const outsider = await s.db.transaction((tx) =>
      s.users.createActive(tx, workspaceId, { email: `outsider-${randomBytes(3).toString('hex')}@example.com`, name: 'Outsider', password: 'Outsider-Passw0rd-1', role: 'agent' }));
    const r = await t.api('POST', `/api/v1/conversations/${conv}/transfers`, { token: li.token, body: { toUserId: outsider.id, note: 'x' } });
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('validation_failed');
    expect(r.body.error.issues.map((i: any) => i.path)).toContain('body.toUserId');

    const unknown = await t.api('POST', `/api/v1/conversations/${conv}/transfers`, { token: li.token, body: { toUserId: '00000000-0000-4000-8000-000000000000' } });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.issues.map((i: any) => i.path)).toContain('body.toUserId');
    const none = await t.api('POST', `/api/v1/conversations/${conv}/transfers`, { token: li.token, body: { note: 'to whom?' } });
    expect(none.status).toBe(400);
    expect(none.body.error.issues.map((i: any) => i.path)).toContain('body.toUserId');
    const both = await t.api('POST', `/api/v1/conversations/${conv}/transfers`, { token: li.token, body: { toUserId: tom.id, toTeamId: teamId } });
    expect(both.status).toBe(400);
    const self = await t.api('POST', `/api/v1/conversations/${conv}/transfers`, { token: li.token, body: { toUserId: li.id } });
    expect(self.status).toBe(400);
    const badTeam = await t.api('POST', `/api/v1/conversations/${conv}/transfers`, { token: li.token, body: { toTeamId: '00000000-0000-4000-8000-000000000000' } });
    expect(badTeam.status).toBe(400);
    expect(badTeam.body.error.issues.map((i: any) => i.path)).toContain('body.toTeamId');
    expect((await row(conv)).assignee_id).toBe(li.id);
  });

  it("agent → team: the conversation is unassigned into the team's queue", async () => {
    const conv = await conversationOfLi();
    const r = await t.api('POST', `/api/v1/conversations/${conv}/transfers`, { token: li.token, body: { toTeamId: teamId, note: 'Needs after-sales' } });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ toTeamId: teamId, toUserId: null, status: 'accepted' });
    const now = await row(conv);
    expect(now.assignee_id).toBeNull();
    expect(now.team_id).toBe(teamId);
    // Nobody of the team is online: it waits in the queue (routing decided, and recorded why).
    expect(now.queued_at).not.toBeNull();
    const queue = await t.api('GET', '/api/v1/routing/queue', { token: admin });
    expect(queue.status).toBe(200);
    expect(queue.body.some((q: any) => q.conversationId === conv)).toBe(true);
    const items = await timeline(conv);
    expect(items.some((m) => m.direction === 'activity' && m.text.includes(`${li.name} transferred the conversation to team`))).toBe(true);
    expect(items.some((m) => m.private && m.text.includes('Needs after-sales'))).toBe(true);
  });

  it('a supervisor takes over at once; a pending transfer is cancelled; agents cannot take over', async () => {
    const conv = await conversationOfLi();
    const pending = await t.api('POST', `/api/v1/conversations/${conv}/transfers`, { token: li.token, body: { toUserId: tom.id } });
    expect(pending.status).toBe(201);
    expect((await t.api('POST', `/api/v1/conversations/${conv}/take-over`, { token: tom.token })).status).toBe(403);
    const r = await t.api('POST', `/api/v1/conversations/${conv}/take-over`, { token: admin });
    expect(r.status).toBe(200);
    const adminId = (await t.api('GET', '/api/v1/auth/me', { token: admin })).body?.user?.id ?? r.body.assigneeId;
    expect(r.body.assigneeId).toBe(adminId);
    expect((await row(conv)).assignee_id).toBe(r.body.assigneeId);
    const items = await timeline(conv);
    expect(items.some((m) => m.direction === 'activity' && m.text.startsWith('Supervisor ') && m.text.includes(`took over from ${li.name}`))).toBe(true);
    const list = await t.api('GET', '/api/v1/transfers?status=all', { token: tom.token });
    expect(list.body.find((x: any) => x.id === pending.body.id).status).toBe('cancelled');
    expect((await t.api('POST', `/api/v1/transfers/${pending.body.id}/accept`, { token: tom.token })).status).toBe(409);
  });
});
