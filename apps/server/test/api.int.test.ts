import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './helpers/test-server.ts';

let t: TestServer;
let admin: string;

beforeAll(async () => {
  t = await startTestServer();
  admin = await t.login(t.demo.adminEmail);
});
afterAll(() => t?.close());

describe('system', () => {
  it('reports health and serves an OpenAPI 3 document generated from the route schemas', async () => {
    expect(await t.api('GET', '/healthz')).toEqual({ status: 200, body: { status: 'ok' } });
    const { body } = await t.api('GET', '/openapi.json');
    expect(body.openapi).toMatch(/^3\./);
    const send = body.paths['/api/v1/conversations/{id}/messages'].post;
    expect(send.requestBody.content['application/json'].schema.required).toContain('clientId');
    expect(send.security).toEqual([{ bearerAuth: [] }]);
    expect(body.paths['/api/widget/v1/sessions'].post['x-huiliu-auth']).toBe('public');
  });

  it('answers unknown routes with a JSON not_found error', async () => {
    const r = await t.api('GET', '/api/v1/nope', { token: admin });
    expect(r.status).toBe(404);
    expect(r.body.error.code).toBe('not_found');
  });
});

describe('users, roles and teams', () => {
  it('invites a user who accepts, signs in, and is limited by the agent role', async () => {
    const inv = await t.api('POST', '/api/v1/users/invite', { token: admin, body: { email: 'New.Agent@Example.com', name: 'New', role: 'agent' } });
    expect(inv.status).toBe(201);
    expect(inv.body.user).toMatchObject({ email: 'new.agent@example.com', status: 'invited', role: 'agent' });
    const dup = await t.api('POST', '/api/v1/users/invite', { token: admin, body: { email: 'new.agent@example.com', name: 'New', role: 'agent' } });
    expect(dup.status).toBe(409);
    const acc = await t.api('POST', '/api/v1/auth/accept-invite', { body: { token: inv.body.inviteToken, name: '新同事', password: 'correct horse battery' } });
    expect(acc.status).toBe(200);
    expect(acc.body.user.name).toBe('新同事');
    expect(acc.body.permissions).toContain('conversation.reply');
    expect(acc.body.permissions).not.toContain('user.manage');
    const again = await t.api('POST', '/api/v1/auth/accept-invite', { body: { token: inv.body.inviteToken, name: 'x', password: 'correct horse battery' } });
    expect(again.body.error.code).toBe('invalid_token');
    const forbidden = await t.api('POST', '/api/v1/teams', { token: acc.body.token, body: { name: 'Nope' } });
    expect(forbidden.status).toBe(403);
    expect(forbidden.body.error.message).toContain('team.manage');
  });

  it('resets a password with a one-time token and revokes old sessions', async () => {
    const users = await t.api('GET', '/api/v1/users', { token: admin });
    const tom = users.body.find((u: { email: string }) => u.email === t.demo.agentEmails[1]);
    const tomToken = await t.login(tom.email);
    const reset = await t.api('POST', `/api/v1/users/${tom.id}/password-reset`, { token: admin });
    expect(reset.status).toBe(200);
    expect((await t.api('POST', '/api/v1/auth/reset-password', { body: { token: reset.body.resetToken, password: 'brand new password' } })).status).toBe(200);
    expect((await t.api('GET', '/api/v1/auth/me', { token: tomToken })).status).toBe(401);
    expect((await t.api('POST', '/api/v1/auth/login', { body: { email: tom.email, password: t.demo.password } })).body.error.code).toBe('invalid_credentials');
    expect((await t.api('POST', '/api/v1/auth/login', { body: { email: tom.email, password: 'brand new password' } })).status).toBe(200);
    expect((await t.api('POST', '/api/v1/auth/reset-password', { body: { token: reset.body.resetToken, password: 'another password!' } })).body.error.code).toBe('invalid_token');
  });

  it('creates custom roles from permission strings and refuses to change presets', async () => {
    const role = await t.api('POST', '/api/v1/roles', { token: admin, body: { name: 'qa', permissions: ['conversation.read', 'conversation.read_all', 'audit.read'] } });
    expect(role.status).toBe(201);
    const bad = await t.api('POST', '/api/v1/roles', { token: admin, body: { name: 'x', permissions: ['conversation.fly'] } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.issues[0].path).toMatch(/^body\.permissions/);
    const roles = await t.api('GET', '/api/v1/roles', { token: admin });
    const preset = roles.body.find((r: { name: string }) => r.name === 'agent');
    expect((await t.api('PATCH', `/api/v1/roles/${preset.id}`, { token: admin, body: { permissions: [] } })).status).toBe(403);
  });

  it('manages teams and their members, refusing unknown users', async () => {
    const team = await t.api('POST', '/api/v1/teams', { token: admin, body: { name: 'VIP 贵宾组' } });
    expect(team.status).toBe(201);
    const me = await t.api('GET', '/api/v1/auth/me', { token: admin });
    const set = await t.api('PUT', `/api/v1/teams/${team.body.id}/members`, { token: admin, body: { userIds: [me.body.user.id] } });
    expect(set.body.memberIds).toEqual([me.body.user.id]);
    const bad = await t.api('PUT', `/api/v1/teams/${team.body.id}/members`, { token: admin, body: { userIds: ['00000000-0000-4000-8000-000000000000'] } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.issues[0].path).toBe('body.userIds');
    expect((await t.api('DELETE', `/api/v1/teams/${team.body.id}`, { token: admin })).status).toBe(204);
    expect((await t.api('GET', `/api/v1/teams/${team.body.id}`, { token: admin })).status).toBe(404);
  });
});

describe('inboxes, contacts and canned responses', () => {
  it('creates a widget inbox with settings and validates origins', async () => {
    const bad = await t.api('POST', '/api/v1/inboxes', { token: admin, body: { name: 'Shop', allowedOrigins: ['javascript:alert(1)'] } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.issues[0].path).toBe('body.allowedOrigins.0');
    const r = await t.api('POST', '/api/v1/inboxes', { token: admin, body: { name: 'Shop', allowedOrigins: ['https://shop.example.com'], widget: { color: '#ff0000', greeting: 'Hi' } } });
    expect(r.status).toBe(201);
    expect(r.body.widget).toMatchObject({ color: '#ff0000', greeting: 'Hi', position: 'right' });
    const cfg = await t.api('GET', `/api/widget/v1/inboxes/${r.body.publicId}/config`, { headers: { origin: 'https://shop.example.com' } });
    expect(cfg.body).toMatchObject({ name: 'Shop', widget: { color: '#ff0000' } });
    const evil = await t.api('GET', `/api/widget/v1/inboxes/${r.body.publicId}/config`, { headers: { origin: 'https://evil.example.com' } });
    expect(evil.status).toBe(403);
    expect(evil.body.error.code).toBe('origin_not_allowed');
  });

  it('creates, searches (Chinese and English), tags and pages contacts', async () => {
    for (const [name, email] of [['欧阳娜娜', 'nana@example.cn'], ['Jonathan Refundson', 'jon@example.com']]) {
      expect((await t.api('POST', '/api/v1/contacts', { token: admin, body: { name, email, tags: ['imported'] } })).status).toBe(201);
    }
    const zh = await t.api('GET', `/api/v1/contacts?q=${encodeURIComponent('欧阳')}`, { token: admin });
    expect(zh.body.items.map((c: { name: string }) => c.name)).toEqual(['欧阳娜娜']);
    const en = await t.api('GET', '/api/v1/contacts?q=refund', { token: admin });
    expect(en.body.items.map((c: { name: string }) => c.name)).toEqual(['Jonathan Refundson']);
    const tagged = await t.api('GET', '/api/v1/contacts?tag=imported&limit=1', { token: admin });
    expect(tagged.body.items).toHaveLength(1);
    const next = await t.api('GET', `/api/v1/contacts?tag=imported&limit=1&cursor=${tagged.body.nextCursor}`, { token: admin });
    expect(next.body.items).toHaveLength(1);
    expect(next.body.items[0].id).not.toBe(tagged.body.items[0].id);
    const patched = await t.api('PATCH', `/api/v1/contacts/${next.body.items[0].id}`, { token: admin, body: { attributes: { tier: 'gold' }, tags: ['vip'] } });
    expect(patched.body).toMatchObject({ attributes: { tier: 'gold' }, tags: ['vip'] });
  });

  it('renders canned responses with variables and keeps shortcuts unique', async () => {
    const list = await t.api('GET', '/api/v1/canned-responses?q=hel', { token: admin });
    const hello = list.body.find((c: { shortCode: string }) => c.shortCode === 'hello');
    expect(hello).toBeDefined();
    expect((await t.api('POST', '/api/v1/canned-responses', { token: admin, body: { shortCode: 'hello', content: 'x' } })).status).toBe(409);
    const convs = await t.api('GET', '/api/v1/conversations?status=all', { token: admin });
    const conv = convs.body.items.find((c: { contact: { name: string } }) => c.contact.name === '王小明');
    const r = await t.api('POST', `/api/v1/canned-responses/${hello.id}/render`, { token: admin, body: { conversationId: conv.id } });
    expect(r.body.text).toBe('您好 王小明，我是 Admin 管理员，很高兴为您服务。');
  });
});

describe('conversations', () => {
  async function visitorConversation(text: string) {
    const s = await t.api('POST', '/api/widget/v1/sessions', { body: { inboxPublicId: t.demo.widgetInboxPublicId } });
    const c = await t.api('POST', '/api/widget/v1/conversations', { token: s.body.visitorToken, body: { text } });
    return { visitorToken: s.body.visitorToken as string, id: c.body.conversation.id as string, displayId: c.body.conversation.displayId as number };
  }

  it('lists with filters and unread counts, assigns, resolves, and reopens on a customer message', async () => {
    const v = await visitorConversation('Where is my parcel?');
    const unassigned = await t.api('GET', '/api/v1/conversations?assignee=unassigned', { token: admin });
    const row = unassigned.body.items.find((c: { id: string }) => c.id === v.id);
    expect(row).toMatchObject({ status: 'open', assigneeId: null, unreadCount: 1, lastMessage: { text: 'Where is my parcel?', direction: 'incoming', private: false } });
    const me = (await t.api('GET', '/api/v1/auth/me', { token: admin })).body.user;
    const assigned = await t.api('POST', `/api/v1/conversations/${v.id}/assign`, { token: admin, body: { assigneeId: me.id } });
    expect(assigned.body.assigneeId).toBe(me.id);
    const mine = await t.api('GET', '/api/v1/conversations?assignee=me', { token: admin });
    expect(mine.body.items.map((c: { id: string }) => c.id)).toContain(v.id);
    await t.api('POST', `/api/v1/conversations/${v.id}/read`, { token: admin, body: { seq: 100 } });
    const afterRead = await t.api('GET', '/api/v1/conversations?assignee=me', { token: admin });
    expect(afterRead.body.items.find((c: { id: string }) => c.id === v.id).unreadCount).toBe(0);
    // Activity lines (the assignment) are not previews: the last message stays the customer's.
    expect(afterRead.body.items.find((c: { id: string }) => c.id === v.id).lastMessage.text).toBe('Where is my parcel?');

    const resolved = await t.api('PATCH', `/api/v1/conversations/${v.id}`, { token: admin, body: { status: 'resolved', priority: 'high', tags: ['物流'] } });
    expect(resolved.body).toMatchObject({ status: 'resolved', priority: 'high', tags: ['物流'] });
    const timeline = await t.api('GET', `/api/v1/conversations/${v.id}/messages`, { token: admin });
    expect(timeline.body.items.map((m: { direction: string; text: string }) => `${m.direction}:${m.text}`)).toEqual([
      'incoming:Where is my parcel?',
      'activity:Admin 管理员 self-assigned the conversation',
      'activity:Admin 管理员 resolved the conversation; Admin 管理员 set the priority to high',
    ]);
    expect(timeline.body.items.map((m: { seq: number }) => m.seq)).toEqual([1, 2, 3]);
    const back = await t.api('POST', `/api/widget/v1/conversations/${v.id}/messages`, { token: v.visitorToken, body: { clientId: 'again-1', text: 'Still waiting' } });
    expect(back.status).toBe(201);
    expect((await t.api('GET', `/api/v1/conversations/${v.id}`, { token: admin })).body.status).toBe('open');
  });

  it('needs snoozedUntil to snooze and refuses assigning to a user outside the inbox', async () => {
    const v = await visitorConversation('snooze me');
    const bad = await t.api('PATCH', `/api/v1/conversations/${v.id}`, { token: admin, body: { status: 'snoozed' } });
    expect(bad.body.error.issues[0].path).toBe('body.snoozedUntil');
    const until = new Date(Date.now() + 3600_000).toISOString();
    const ok = await t.api('PATCH', `/api/v1/conversations/${v.id}`, { token: admin, body: { status: 'snoozed', snoozedUntil: until } });
    expect(ok.body).toMatchObject({ status: 'snoozed', snoozedUntil: until });
    const inv = await t.api('POST', '/api/v1/users/invite', { token: admin, body: { email: 'outsider@example.com', name: 'Out', role: 'agent' } });
    await t.api('POST', '/api/v1/auth/accept-invite', { body: { token: inv.body.inviteToken, name: 'Out', password: 'outsider password' } });
    const r = await t.api('POST', `/api/v1/conversations/${v.id}/assign`, { token: admin, body: { assigneeId: inv.body.user.id } });
    expect(r.status).toBe(400);
    expect(r.body.error.message).toContain('not a member');
  });

  it('stores one message per clientId and returns the original on retry', async () => {
    const v = await visitorConversation('first');
    const body = { clientId: 'retry-me', text: '重复发送测试' };
    const a = await t.api('POST', `/api/widget/v1/conversations/${v.id}/messages`, { token: v.visitorToken, body });
    const b = await t.api('POST', `/api/widget/v1/conversations/${v.id}/messages`, { token: v.visitorToken, body });
    expect(a.status).toBe(201);
    expect(b.status).toBe(200);
    expect(b.body).toMatchObject({ duplicate: true, message: { id: a.body.message.id, seq: a.body.message.seq } });
    const all = await t.api('GET', `/api/widget/v1/conversations/${v.id}/messages`, { token: v.visitorToken });
    expect(all.body.items.filter((m: { text: string }) => m.text === '重复发送测试')).toHaveLength(1);
  });

  it('hides private notes from the visitor and pages messages backwards', async () => {
    const v = await visitorConversation('hello');
    const note = await t.api('POST', `/api/v1/conversations/${v.id}/messages`, { token: admin, body: { clientId: 'n1', text: '内部备注：老客户', private: true } });
    expect(note.body.message.private).toBe(true);
    await t.api('POST', `/api/v1/conversations/${v.id}/messages`, { token: admin, body: { clientId: 'r1', text: 'Hi, how can I help?' } });
    const seen = await t.api('GET', `/api/widget/v1/conversations/${v.id}/messages`, { token: v.visitorToken });
    expect(seen.body.items.map((m: { text: string }) => m.text)).toEqual(['hello', 'Hi, how can I help?']);
    expect(seen.body.lastSeq).toBe(3);
    const back = await t.api('GET', `/api/v1/conversations/${v.id}/messages?beforeSeq=3&limit=1`, { token: admin });
    expect(back.body.items.map((m: { seq: number }) => m.seq)).toEqual([2]);
    expect(back.body.hasMore).toBe(true);
    const visitorNote = await t.api('POST', `/api/widget/v1/conversations/${v.id}/messages`, { token: v.visitorToken, body: { clientId: 'x', text: 'a', private: true } });
    expect(visitorNote.status).toBe(400);
    expect(visitorNote.body.error.issues[0].path).toBe('body.private');
  });

  it('validates content by type, naming the missing field', async () => {
    const v = await visitorConversation('types');
    const cases: [Record<string, unknown>, string][] = [
      [{ clientId: 'c1', contentType: 'image' }, 'body.attachmentIds'],
      [{ clientId: 'c2', contentType: 'location' }, 'body.location'],
      [{ clientId: 'c3', contentType: 'text', text: '   ' }, 'body.text'],
      [{ clientId: 'bad id!', text: 'x' }, 'body.clientId'],
    ];
    for (const [body, path] of cases) {
      const r = await t.api('POST', `/api/v1/conversations/${v.id}/messages`, { token: admin, body });
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.body.error.issues[0].path).toBe(path);
    }
    const loc = await t.api('POST', `/api/v1/conversations/${v.id}/messages`, { token: admin, body: { clientId: 'loc', contentType: 'location', location: { latitude: 31.23, longitude: 121.47, name: '上海' } } });
    expect(loc.body.message.location).toMatchObject({ latitude: 31.23, name: '上海' });
    const card = await t.api('POST', `/api/v1/conversations/${v.id}/messages`, { token: admin, body: { clientId: 'card', contentType: 'card', card: { title: 'Order HL1', buttons: [{ label: 'Track', url: 'https://example.com/t' }] } } });
    expect(card.body.message.card.title).toBe('Order HL1');
  });

  it('searches messages in Chinese and English and conversations by number', async () => {
    const v = await visitorConversation('我的快递到哪里了？物流单号 SF1234567');
    const zh = await t.api('GET', `/api/v1/search?q=${encodeURIComponent('快递')}`, { token: admin });
    expect(zh.body.messages.map((h: { message: { conversationId: string } }) => h.message.conversationId)).toContain(v.id);
    const code = await t.api('GET', '/api/v1/search?q=sf1234567', { token: admin });
    expect(code.body.messages.map((h: { message: { conversationId: string } }) => h.message.conversationId)).toContain(v.id);
    const byNumber = await t.api('GET', `/api/v1/search?q=%23${v.displayId}`, { token: admin });
    expect(byNumber.body.conversations.map((c: { id: string }) => c.id)).toContain(v.id);
    const en = await t.api('GET', '/api/v1/search?q=charged%20twice', { token: admin });
    expect(en.body.messages[0].message.text).toContain('charged twice');
    const nothing = await t.api('GET', `/api/v1/search?q=${encodeURIComponent('!!!')}`, { token: admin });
    expect(nothing.body).toMatchObject({ messages: [] });
  });
});

describe('outbound HTTP for a workspace', () => {
  it('refuses private addresses until the workspace admin allowlists the host', async () => {
    const { createServer } = await import('node:http');
    const server = createServer((_req, res) => res.end('internal order API'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as { port: number }).port;
    try {
      const me = (await t.api('GET', '/api/v1/auth/me', { token: admin })).body;
      const url = `http://127.0.0.1:${port}/orders/1`;
      await expect(t.node.services.fetchForWorkspace(me.workspace.id, url)).rejects.toMatchObject({ code: 'ssrf_blocked' });
      await t.api('PATCH', '/api/v1/workspace', { token: admin, body: { settings: { networkAllowlist: ['127.0.0.1'] } } });
      const r = await t.node.services.fetchForWorkspace(me.workspace.id, url);
      expect(r.body.toString()).toBe('internal order API');
    } finally {
      await t.api('PATCH', '/api/v1/workspace', { token: admin, body: { settings: { networkAllowlist: [] } } });
      server.close();
    }
  });
});

describe('widget conversation creation', () => {
  it('returns the same conversation when a create is retried with the same clientId', async () => {
    const s = await t.api('POST', '/api/widget/v1/sessions', { body: { inboxPublicId: t.demo.widgetInboxPublicId } });
    const body = { clientId: 'first-hello', text: 'Hello, anyone there?' };
    const a = await t.api('POST', '/api/widget/v1/conversations', { token: s.body.visitorToken, body });
    const b = await t.api('POST', '/api/widget/v1/conversations', { token: s.body.visitorToken, body });
    expect(a.status).toBe(201);
    expect(b.body.conversation.id).toBe(a.body.conversation.id);
    expect(b.body.message.id).toBe(a.body.message.id);
    const list = await t.api('GET', '/api/widget/v1/conversations', { token: s.body.visitorToken });
    expect(list.body).toHaveLength(1);
  });
});
