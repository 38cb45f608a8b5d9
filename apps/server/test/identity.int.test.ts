/**
 * Cross-channel identity through the real server: automatic merges on verified keys (never on typed
 * data), widget identity verification (HMAC of the app's user id), manual merge and unmerge with audit
 * and without losing a message, lookalike suggestions, one timeline per contact across inboxes, replying
 * on another channel, tenant isolation and the contact.merge permission.
 *
 * Channel identities are created with contacts.resolveIdentity (what the channel ingest calls), since the
 * channel adapters are built elsewhere; widget visitors go through the widget API.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChannelType } from '@huiliu/contracts';
import { one } from '@huiliu/core/db/database';
import { startTestServer, type TestServer } from './helpers/test-server.ts';
import { createWorld, type World } from './helpers/world.ts';

let t: TestServer;
let w: World;
let other: World;
/** A second widget inbox of `w`: admin and agent 0 are members, agent 1 is not. */
let w2: { id: string; publicId: string };

const svc = () => t.node.services;
const hmac = (key: string, identifier: string) => createHmac('sha256', key).update(identifier).digest('hex');

async function addInbox(world: World, name: string, channelType: ChannelType, memberTokens: 'all' | 'admin+agent0'): Promise<{ id: string; publicId: string }> {
  const s = svc();
  const publicId = `i${randomBytes(8).toString('hex')}`;
  const inbox = await one(s.db, `INSERT INTO inboxes (workspace_id, name, channel_type, public_id) VALUES ($1, $2, $3, $4) RETURNING id`, [world.workspaceId, name, channelType, publicId]);
  const users = await s.db.query(`SELECT u.id, r.name AS role FROM users u JOIN roles r ON r.id = u.role_id WHERE u.workspace_id = $1 ORDER BY u.created_at`, [world.workspaceId]);
  const members = memberTokens === 'all' ? users : users.filter((u) => u.role === 'admin' || u.id === world.agents[0]!.id);
  for (const u of members) await s.db.query(`INSERT INTO inbox_members (workspace_id, inbox_id, user_id) VALUES ($1, $2, $3)`, [world.workspaceId, inbox!.id, u.id]);
  return { id: inbox!.id as string, publicId };
}

/** What the channel ingest does for one inbound message's sender. */
function resolve(world: World, inboxId: string, channelType: ChannelType, sourceId: string, o: { name?: string; email?: string; phone?: string; keys?: { kind: 'email' | 'phone' | 'unionid' | 'user_id'; value: string }[] } = {}) {
  const s = svc();
  return s.db.transaction((tx) =>
    s.contacts.resolveIdentity(tx, {
      workspaceId: world.workspaceId,
      inboxId,
      channelType,
      sourceId,
      verified: Boolean(o.keys?.length),
      contact: { name: o.name ?? null, email: o.email ?? null, phone: o.phone ?? null },
      ...(o.keys ? { verifiedKeys: o.keys } : {}),
    }),
  );
}

/** A widget visitor (through the service: the HTTP session route is rate limited per IP). */
async function visitor(publicId: string, extra: { name?: string; email?: string } = {}) {
  return svc().widget.startSession({ inboxPublicId: publicId, ...extra }, undefined);
}

async function say(visitorToken: string, text: string): Promise<{ id: string; displayId: number }> {
  const r = await t.api('POST', '/api/widget/v1/conversations', { token: visitorToken, body: { text } });
  expect(r.status).toBe(201);
  return r.body.conversation;
}

async function send(token: string, conversationId: string, text: string, isPrivate = false) {
  const r = await t.api('POST', `/api/v1/conversations/${conversationId}/messages`, { token, body: { clientId: `c-${randomBytes(6).toString('hex')}`, text, private: isPrivate } });
  expect(r.status).toBe(201);
  return r.body.message;
}

async function contactRow(id: string) {
  return one(svc().db, `SELECT * FROM contacts WHERE id = $1`, [id]);
}

async function identitiesOf(contactId: string): Promise<string[]> {
  const rows = await svc().db.query(`SELECT id FROM contact_identities WHERE contact_id = $1 ORDER BY id`, [contactId]);
  return rows.map((r) => r.id as string);
}

async function conversationsOf(contactId: string): Promise<string[]> {
  const rows = await svc().db.query(`SELECT id FROM conversations WHERE contact_id = $1 ORDER BY id`, [contactId]);
  return rows.map((r) => r.id as string);
}

async function messageCount(conversationIds: string[]): Promise<number> {
  const r = await one(svc().db, `SELECT count(*)::int AS n FROM messages WHERE conversation_id = ANY($1::uuid[])`, [conversationIds]);
  return Number(r!.n);
}

async function audit(action: string): Promise<any[]> {
  const r = await t.api('GET', '/api/v1/audit-log?limit=200', { token: w.admin });
  expect(r.status).toBe(200);
  return r.body.filter((e: any) => e.action === action);
}

beforeAll(async () => {
  t = await startTestServer({ seed: false });
  w = await createWorld(t, 2, 'identity');
  other = await createWorld(t, 0, 'identity-other');
  w2 = await addInbox(w, 'Second site', 'web', 'admin+agent0');
});
afterAll(() => t?.close());

describe('automatic merge on verified keys', () => {
  it('a new identity with a verified phone known on another inbox joins that contact; a typed email merges nothing', async () => {
    const sms = await addInbox(w, 'SMS', 'sms', 'all');
    const wa = await addInbox(w, 'WhatsApp', 'whatsapp', 'all');
    const first = await resolve(w, sms.id, 'sms', '+8613800001111', { name: 'Phone Person', keys: [{ kind: 'phone', value: '+86 138-0000-1111' }] });
    expect(first.created).toBe(true);
    // WhatsApp's wa_id has no "+": normalized to the same E.164 key.
    const second = await resolve(w, wa.id, 'whatsapp', '8613800001111', { name: 'WA name', keys: [{ kind: 'phone', value: '8613800001111' }] });
    expect(second.created).toBe(true);
    expect(second.contactId).toBe(first.contactId);
    expect(second.identityId).not.toBe(first.identityId);
    expect(await identitiesOf(first.contactId)).toEqual([first.identityId, second.identityId].sort());
    const keys = await svc().db.query(`SELECT kind, value FROM identity_keys WHERE identity_id = ANY($1::uuid[]) ORDER BY identity_id`, [[first.identityId, second.identityId]]);
    expect(keys.map((k) => `${k.kind}:${k.value}`)).toEqual(['phone:+8613800001111', 'phone:+8613800001111']);
    // Joining a contact created no second contact and no merge.
    expect((await contactRow(first.contactId))!.name).toBe('Phone Person');

    // The same TYPED email on two channels: two contacts.
    const tg = await addInbox(w, 'Telegram', 'telegram', 'all');
    const a = await resolve(w, tg.id, 'telegram', '1001', { name: 'Typed A', email: 'same.typed@example.com' });
    const b = await resolve(w, wa.id, 'whatsapp', '8613911112222', { name: 'Typed B', email: 'same.typed@example.com' });
    expect(b.contactId).not.toBe(a.contactId);
    expect((await contactRow(a.contactId))!.merged_into_id).toBeNull();
    expect((await contactRow(b.contactId))!.merged_into_id).toBeNull();
  });

  it('an existing identity gaining a verified email another contact holds merges the two contacts (system, "same verified email")', async () => {
    const email = await addInbox(w, 'Email', 'email', 'all');
    const tg = await addInbox(w, 'Telegram 2', 'telegram', 'all');
    const older = await resolve(w, email.id, 'email', 'merge.me@example.com', { name: 'Older', keys: [{ kind: 'email', value: 'Merge.Me@Example.com' }] });
    const newer = await resolve(w, tg.id, 'telegram', '2002', { name: 'Newer' });
    expect(newer.contactId).not.toBe(older.contactId);
    const conv = await svc().db.transaction((tx) => svc().conversations.create(tx, { workspaceId: w.workspaceId, inboxId: tg.id, contactId: newer.contactId, identityId: newer.identityId }));

    // The Telegram identity now comes with the verified email (e.g. the customer shared it through the bot).
    const again = await resolve(w, tg.id, 'telegram', '2002', { keys: [{ kind: 'email', value: 'merge.me@example.com' }] });
    expect(again.created).toBe(false);
    expect(again.identityId).toBe(newer.identityId);
    expect(again.contactId).toBe(older.contactId);
    expect(again.mergedContactIds).toEqual([newer.contactId]);
    expect(await conversationsOf(older.contactId)).toEqual([conv.id]);
    expect((await contactRow(newer.contactId))!.merged_into_id).toBe(older.contactId);

    const merged = (await audit('contact.merged')).find((e) => e.details.mergedId === newer.contactId);
    expect(merged).toMatchObject({ actorType: 'system', targetId: older.contactId, details: { reason: 'same verified email' } });
    const history = await t.api('GET', `/api/v1/contacts/${older.contactId}/merges`, { token: w.admin });
    expect(history.body[0]).toMatchObject({ survivorId: older.contactId, mergedId: newer.contactId, reason: 'same verified email', actor: { type: 'system' }, undoneAt: null });

    // The same key again (after an agent unmerged them) is no new evidence: no merge back.
    const un = await t.api('POST', `/api/v1/contacts/${newer.contactId}/unmerge`, { token: w.admin });
    expect(un.status).toBe(200);
    const third = await resolve(w, tg.id, 'telegram', '2002', { keys: [{ kind: 'email', value: 'merge.me@example.com' }] });
    expect(third.contactId).toBe(newer.contactId);
    expect(third.mergedContactIds).toEqual([]);
  });
});

describe('widget identity verification', () => {
  let key1 = '';
  let key2 = '';

  beforeAll(async () => {
    const r1 = await t.api('POST', `/api/v1/inboxes/${w.inboxId}/identity-key`, { token: w.admin });
    const r2 = await t.api('POST', `/api/v1/inboxes/${w2.id}/identity-key`, { token: w.admin });
    expect(r1.status).toBe(201);
    expect(r1.body.key).toMatch(/^[0-9a-f]{64}$/);
    key1 = r1.body.key;
    key2 = r2.body.key;
  });

  it('shows the key once: the status has a hint, never the key; agents cannot create one', async () => {
    const st = await t.api('GET', `/api/v1/inboxes/${w.inboxId}/identity-key`, { token: w.admin });
    expect(st.status).toBe(200);
    expect(st.body).toMatchObject({ configured: true, hint: `••••${key1.slice(-4)}` });
    expect(JSON.stringify(st.body)).not.toContain(key1);
    const secrets = await t.api('GET', '/api/v1/secrets', { token: w.admin });
    expect(JSON.stringify(secrets.body)).not.toContain(key1);
    const agent = await t.api('POST', `/api/v1/inboxes/${w.inboxId}/identity-key`, { token: w.agents[0]!.token });
    expect(agent.status).toBe(403);
    expect((await audit('inbox.identity_key_created')).map((e) => e.targetId)).toEqual(expect.arrayContaining([w.inboxId, w2.id]));
  });

  it('a correct hash merges the anonymous visitor into the app user\'s contact across two widget inboxes; a wrong one is a 401', async () => {
    // The user signed in on the second site earlier.
    const onSite2 = await t.api('POST', '/api/widget/v1/sessions', { body: { inboxPublicId: w2.publicId, identifier: 'user-42', identifierHash: hmac(key2, 'user-42') } });
    expect(onSite2.status).toBe(200);
    const userContact = onSite2.body.contactId as string;
    const earlier = await say(onSite2.body.visitorToken, 'hello from site 2');

    // Anonymous on the first site, writes, then signs in there.
    const anon = await t.api('POST', '/api/widget/v1/sessions', { body: { inboxPublicId: w.publicId } });
    const anonContact = anon.body.contactId as string;
    expect(anonContact).not.toBe(userContact);
    const conv = await say(anon.body.visitorToken, 'question before signing in');

    const wrong = await t.api('POST', '/api/widget/v1/sessions', {
      body: { inboxPublicId: w.publicId, visitorToken: anon.body.visitorToken, identifier: 'user-42', identifierHash: hmac(key2, 'user-42') },
    });
    expect(wrong.status).toBe(401);
    expect(wrong.body.error.code).toBe('unauthenticated');
    expect(wrong.body.error.message).toMatch(/identifierHash does not match identifier.*HMAC-SHA256/);
    expect((await contactRow(anonContact))!.merged_into_id).toBeNull();
    const noHash = await t.api('POST', '/api/widget/v1/sessions', { body: { inboxPublicId: w.publicId, identifier: 'user-42' } });
    expect(noHash.status).toBe(400);
    expect(noHash.body.error.issues[0].path).toBe('body.identifierHash');

    const signed = await t.api('POST', '/api/widget/v1/sessions', {
      body: { inboxPublicId: w.publicId, visitorToken: anon.body.visitorToken, identifier: 'user-42', identifierHash: hmac(key1, 'user-42') },
    });
    expect(signed.status).toBe(200);
    expect(signed.body.contactId).toBe(userContact);
    // Same identity (the visitor keeps their conversation), now under the user's contact.
    expect(signed.body.conversations.map((c: any) => c.id)).toEqual([conv.id]);
    expect(await conversationsOf(userContact)).toEqual([earlier.id, conv.id].sort());
    expect((await contactRow(anonContact))!.merged_into_id).toBe(userContact);
    const gone = await t.api('GET', `/api/v1/contacts/${anonContact}`, { token: w.admin });
    expect(gone.status).toBe(404);
    expect(gone.body.error.message).toContain(userContact);
    expect(gone.body.error.issues[0]).toEqual({ path: 'params.id', message: `merged into ${userContact}` });

    // Another device, same user, same site: a new identity joining the same contact.
    const device2 = await t.api('POST', '/api/widget/v1/sessions', { body: { inboxPublicId: w.publicId, identifier: 'user-42', identifierHash: hmac(key1, 'user-42') } });
    expect(device2.body.contactId).toBe(userContact);

    // A different user signing in on that browser does not get user-42's session.
    const otherUser = await t.api('POST', '/api/widget/v1/sessions', {
      body: { inboxPublicId: w.publicId, visitorToken: signed.body.visitorToken, identifier: 'user-77', identifierHash: hmac(key1, 'user-77') },
    });
    expect(otherUser.status).toBe(200);
    expect(otherUser.body.contactId).not.toBe(userContact);
    expect(otherUser.body.conversations).toEqual([]);

    // An agent decides the anonymous visitor was someone else and unmerges. Every later sign-in of user-42
    // is a NEW identity carrying the same verified key: it must not merge the two contacts back.
    const un = await t.api('POST', `/api/v1/contacts/${anonContact}/unmerge`, { token: w.admin });
    expect(un.status).toBe(200);
    const device3 = await t.api('POST', '/api/widget/v1/sessions', { body: { inboxPublicId: w2.publicId, identifier: 'user-42', identifierHash: hmac(key2, 'user-42') } });
    expect(device3.status).toBe(200);
    expect((await contactRow(anonContact))!.merged_into_id).toBeNull();
    expect(await conversationsOf(anonContact)).toEqual([conv.id]);
  });
});

describe('manual merge and unmerge', () => {
  it('moves identities and conversations, fills empty fields, audits, and unmerge restores everything including messages that arrived in between', async () => {
    const va = await visitor(w.publicId, { name: 'Alice Survivor' });
    const vb = await visitor(w2.publicId, { name: 'Bob Merged', email: 'bob.merged@example.com' });
    const A = va.contactId;
    const B = vb.contactId;
    await t.api('PATCH', `/api/v1/contacts/${A}`, { token: w.admin, body: { tags: ['vip'], attributes: { plan: 'gold' } } });
    await t.api('PATCH', `/api/v1/contacts/${B}`, { token: w.admin, body: { tags: ['beta', 'vip'], attributes: { plan: 'free', city: '上海' } } });
    const convA = await say(va.visitorToken, 'A asks');
    const convB = await say(vb.visitorToken, 'B asks');
    await send(w.admin, convB.id, 'answer to B');
    const identitiesB = await identitiesOf(B);
    const messagesB = await messageCount([convB.id]);

    const merged = await t.api('POST', `/api/v1/contacts/${B}/merge-into`, { token: w.admin, body: { contactId: A } });
    expect(merged.status).toBe(200);
    expect(merged.body.survivor).toMatchObject({ id: A, name: 'Alice Survivor', email: 'bob.merged@example.com', attributes: { plan: 'gold', city: '上海' } });
    expect([...merged.body.survivor.tags].sort()).toEqual(['beta', 'vip']);
    expect(merged.body.merge).toMatchObject({ survivorId: A, mergedId: B, identityIds: identitiesB, conversationIds: [convB.id], reason: 'manual', actor: { type: 'user' } });
    expect(merged.body.merge.merged).toMatchObject({ id: B, name: 'Bob Merged', email: 'bob.merged@example.com' });
    expect(await conversationsOf(A)).toEqual([convA.id, convB.id].sort());
    expect((await identitiesOf(A)).length).toBe(1 + identitiesB.length);
    // B is hidden: not in the list, not found by search, its id names A.
    const list = await t.api('GET', '/api/v1/contacts?limit=200', { token: w.admin });
    expect(list.body.items.map((c: any) => c.id)).not.toContain(B);
    const search = await t.api('GET', `/api/v1/contacts?q=${encodeURIComponent('Bob Merged')}`, { token: w.admin });
    expect(search.body.items.map((c: any) => c.id)).not.toContain(B);
    expect((await t.api('GET', `/api/v1/contacts/${B}/identities`, { token: w.admin })).status).toBe(404);
    const entry = (await audit('contact.merged')).find((e) => e.details.mergedId === B);
    expect(entry).toMatchObject({ actorType: 'user', targetId: A, details: { reason: 'manual', conversationIds: [convB.id] } });

    // While merged: B's visitor keeps writing in their conversation and opens a new one.
    const bAgain = await svc().widget.startSession({ inboxPublicId: w2.publicId, visitorToken: vb.visitorToken }, undefined);
    expect(bAgain.contactId).toBe(A);
    const r = await t.api('POST', `/api/widget/v1/conversations/${convB.id}/messages`, { token: bAgain.visitorToken, body: { clientId: 'between-1', text: 'written while merged' } });
    expect(r.status).toBe(201);
    const convB2 = await say(bAgain.visitorToken, 'a new question while merged');
    await send(w.admin, convA.id, 'answer to A while merged');

    // Refusals
    const self = await t.api('POST', `/api/v1/contacts/${A}/merge-into`, { token: w.admin, body: { contactId: A } });
    expect(self.status).toBe(400);
    expect(self.body.error.message).toMatch(/itself/);
    const twice = await t.api('POST', `/api/v1/contacts/${B}/merge-into`, { token: w.admin, body: { contactId: A } });
    expect(twice.status).toBe(409);
    expect(twice.body.error.message).toMatch(/already merged into contact/);
    const intoMerged = await t.api('POST', `/api/v1/contacts/${A}/merge-into`, { token: w.admin, body: { contactId: B } });
    expect(intoMerged.status).toBe(409);
    const notMerged = await t.api('POST', `/api/v1/contacts/${A}/unmerge`, { token: w.admin });
    expect(notMerged.status).toBe(409);

    // Unmerge
    const un = await t.api('POST', `/api/v1/contacts/${B}/unmerge`, { token: w.admin });
    expect(un.status).toBe(200);
    expect(un.body.contact).toMatchObject({ id: B, name: 'Bob Merged', email: 'bob.merged@example.com', attributes: { plan: 'free', city: '上海' } });
    expect([...un.body.contact.tags].sort()).toEqual(['beta', 'vip']);
    // A gives back what it received from B (nobody changed it since) and keeps its own.
    expect(un.body.survivor).toMatchObject({ id: A, name: 'Alice Survivor', email: null, attributes: { plan: 'gold' } });
    expect(un.body.survivor.tags).toEqual(['vip']);
    expect(un.body.merge.undoneAt).not.toBeNull();
    expect(await identitiesOf(B)).toEqual(identitiesB);
    expect(await conversationsOf(B)).toEqual([convB.id, convB2.id].sort());
    expect(await conversationsOf(A)).toEqual([convA.id]);
    expect(await messageCount([convB.id])).toBe(messagesB + 1);
    const texts = await t.api('GET', `/api/v1/conversations/${convB.id}/messages`, { token: w.admin });
    expect(texts.body.items.map((m: any) => m.text)).toContain('written while merged');
    expect((await t.api('GET', `/api/v1/contacts/${B}`, { token: w.admin })).status).toBe(200);
    const unEntry = (await audit('contact.unmerged')).find((e) => e.details.mergedId === B);
    expect(unEntry).toMatchObject({ actorType: 'user', targetId: A });
    expect([...unEntry.details.conversationIds].sort()).toEqual([convB.id, convB2.id].sort());
    const history = await t.api('GET', `/api/v1/contacts/${A}/merges`, { token: w.admin });
    expect(history.body.find((m: any) => m.mergedId === B).undoneAt).not.toBeNull();
  });

  it('needs contact.merge: an agent gets 403, a supervisor preset has it', async () => {
    const a = await visitor(w.publicId, { name: 'Perm A' });
    const b = await visitor(w.publicId, { name: 'Perm B' });
    const r = await t.api('POST', `/api/v1/contacts/${b.contactId}/merge-into`, { token: w.agents[0]!.token, body: { contactId: a.contactId } });
    expect(r.status).toBe(403);
    expect(r.body.error.message).toContain('contact.merge');
    expect((await contactRow(b.contactId))!.merged_into_id).toBeNull();
    const roles = await t.api('GET', '/api/v1/roles', { token: w.admin });
    const byName = new Map(roles.body.map((x: any) => [x.name, x.permissions]));
    expect(byName.get('admin')).toContain('contact.merge');
    expect(byName.get('supervisor')).toContain('contact.merge');
    expect(byName.get('agent')).not.toContain('contact.merge');
    // Agents still read suggestions and history.
    expect((await t.api('GET', `/api/v1/contacts/${a.contactId}/merge-suggestions`, { token: w.agents[0]!.token })).status).toBe(200);
  });
});

describe('merge suggestions', () => {
  it('lists lookalikes by unverified email, phone, and same name plus something in common; never merged ones', async () => {
    const post = async (body: object) => (await t.api('POST', '/api/v1/contacts', { token: w.admin, body })).body.id as string;
    const me = await post({ name: 'Zhang Wei', email: 'zhang.wei@shop.example', phone: '+86 138 0013 8000', tags: ['wholesale'] });
    const sameEmail = await post({ name: 'Someone', email: 'zhang.wei@shop.example' });
    const samePhone = await post({ name: 'Phone Twin', phone: '13800138000' });
    const sameNameTag = await post({ name: 'zhang wei ', tags: ['wholesale'] });
    const sameNameOnly = await post({ name: 'Zhang Wei' });
    const sameNameDomain = await post({ name: 'ZHANG WEI', email: 'zw@shop.example' });
    const sameNameMailbox = await post({ name: 'Zhang Wei', email: 'zhangwei@gmail.com' });
    const mergedAway = await post({ name: 'Old Twin', email: 'zhang.wei@shop.example' });
    await t.api('POST', `/api/v1/contacts/${mergedAway}/merge-into`, { token: w.admin, body: { contactId: sameEmail } });
    // Another workspace with the same data is never suggested.
    await t.api('POST', '/api/v1/contacts', { token: other.admin, body: { name: 'Zhang Wei', email: 'zhang.wei@shop.example' } });

    const r = await t.api('GET', `/api/v1/contacts/${me}/merge-suggestions`, { token: w.admin });
    expect(r.status).toBe(200);
    const byId = new Map(r.body.map((x: any) => [x.contact.id, x.reasons]));
    expect([...byId.keys()].sort()).toEqual([sameEmail, samePhone, sameNameTag, sameNameDomain].sort());
    expect(byId.get(sameEmail)).toEqual([{ code: 'same_email', detail: null }]);
    expect(byId.get(samePhone)).toEqual([{ code: 'same_phone', detail: null }]);
    expect(byId.get(sameNameTag)).toEqual([{ code: 'same_name_and_tag', detail: 'wholesale' }]);
    expect(byId.get(sameNameDomain)).toEqual([{ code: 'same_name_and_email_domain', detail: 'shop.example' }]);
    // Same name only, or a mailbox provider's domain, is no reason.
    expect(byId.has(sameNameOnly)).toBe(false);
    expect(byId.has(sameNameMailbox)).toBe(false);
    expect(byId.has(mergedAway)).toBe(false);
    // Strongest first: email / phone before a name match.
    expect(r.body.slice(0, 2).map((x: any) => x.contact.id).sort()).toEqual([sameEmail, samePhone].sort());
    // Without contact.pii the suggested contacts come masked.
    const agent = await t.api('GET', `/api/v1/contacts/${me}/merge-suggestions`, { token: w.agents[0]!.token });
    expect(JSON.stringify(agent.body)).not.toContain('zhang.wei@shop.example');
  });
});

describe('one timeline per contact, reply on any channel', () => {
  let contactId = '';
  let conv1 = '';
  let conv2 = '';
  let inbox2Identity = '';

  beforeAll(async () => {
    // One person on two sites, joined by the signed user id (keys set in the widget tests above).
    const k1 = (await t.api('POST', `/api/v1/inboxes/${w.inboxId}/identity-key`, { token: w.admin })).body.key as string;
    const k2 = (await t.api('POST', `/api/v1/inboxes/${w2.id}/identity-key`, { token: w.admin })).body.key as string;
    const s1 = await svc().widget.startSession({ inboxPublicId: w.publicId, identifier: 'timeline-user', identifierHash: hmac(k1, 'timeline-user') }, undefined);
    const s2 = await svc().widget.startSession({ inboxPublicId: w2.publicId, identifier: 'timeline-user', identifierHash: hmac(k2, 'timeline-user') }, undefined);
    expect(s2.contactId).toBe(s1.contactId);
    contactId = s1.contactId;
    conv1 = (await say(s1.visitorToken, 'first on site 1')).id;
    await send(w.admin, conv1, 'reply on site 1');
    conv2 = (await say(s2.visitorToken, 'then on site 2')).id;
    await send(w.admin, conv2, 'internal: VIP, be nice', true);
    await send(w.admin, conv2, 'reply on site 2');
    inbox2Identity = (await one(svc().db, `SELECT id FROM contact_identities WHERE contact_id = $1 AND inbox_id = $2`, [contactId, w2.id]))!.id as string;
  });

  it('lists the messages of all conversations across inboxes, newest first, with conversation and channel, paged', async () => {
    const r = await t.api('GET', `/api/v1/contacts/${contactId}/timeline`, { token: w.admin });
    expect(r.status).toBe(200);
    expect(r.body.items.map((i: any) => i.message.text)).toEqual(['reply on site 2', 'internal: VIP, be nice', 'then on site 2', 'reply on site 1', 'first on site 1']);
    const note = r.body.items[1];
    expect(note.message.private).toBe(true);
    expect(note).toMatchObject({ conversation: { id: conv2, inboxId: w2.id }, channelType: 'web', inboxName: 'Second site' });
    expect(r.body.items[4].conversation.id).toBe(conv1);
    expect(r.body.nextCursor).toBeNull();

    const p1 = await t.api('GET', `/api/v1/contacts/${contactId}/timeline?limit=2`, { token: w.admin });
    const p2 = await t.api('GET', `/api/v1/contacts/${contactId}/timeline?limit=2&before=${p1.body.nextCursor}`, { token: w.admin });
    const p3 = await t.api('GET', `/api/v1/contacts/${contactId}/timeline?limit=2&before=${p2.body.nextCursor}`, { token: w.admin });
    expect([...p1.body.items, ...p2.body.items, ...p3.body.items].map((i: any) => i.message.id)).toEqual(r.body.items.map((i: any) => i.message.id));
    expect(p3.body.nextCursor).toBeNull();
  });

  it("respects the agent's inboxes: a member of inbox 1 only sees inbox 1 (and no private note of inbox 2); visitors cannot call it", async () => {
    const agent1 = w.agents[1]!.token; // member of inbox 1 only
    const r = await t.api('GET', `/api/v1/contacts/${contactId}/timeline`, { token: agent1 });
    expect(r.status).toBe(200);
    expect(r.body.items.map((i: any) => i.message.text)).toEqual(['reply on site 1', 'first on site 1']);
    expect(JSON.stringify(r.body)).not.toContain('VIP, be nice');
    const agent0 = await t.api('GET', `/api/v1/contacts/${contactId}/timeline`, { token: w.agents[0]!.token });
    expect(agent0.body.items.filter((i: any) => i.message.private).map((i: any) => i.message.text)).toEqual(['internal: VIP, be nice']);
    const anyVisitor = await visitor(w.publicId);
    const asVisitor = await t.api('GET', `/api/v1/contacts/${contactId}/timeline`, { token: anyVisitor.visitorToken });
    expect(asVisitor.status).toBe(401);
  });

  it('lists the channels with reply possibility, and reply-via returns the open conversation or creates one', async () => {
    const ch = await t.api('GET', `/api/v1/contacts/${contactId}/channels`, { token: w.agents[1]!.token });
    expect(ch.status).toBe(200);
    const byInbox = new Map(ch.body.map((c: any) => [c.inboxId, c]));
    expect(byInbox.get(w.inboxId)).toMatchObject({ channelType: 'web', canReply: true, reason: null, openConversationId: conv1, verifiedKeys: ['user_id'], verified: true });
    expect(byInbox.get(w2.id)).toMatchObject({ canReply: false, reason: 'not_inbox_member', openConversationId: conv2 });

    // The open conversation in inbox 2 is returned as is.
    const existing = await t.api('POST', `/api/v1/contacts/${contactId}/conversations`, { token: w.admin, body: { inboxId: w2.id } });
    expect(existing.status).toBe(200);
    expect(existing.body).toMatchObject({ created: false, conversation: { id: conv2 } });
    // Resolved: a new conversation on the contact's identity in inbox 2, assigned to the agent.
    await t.api('PATCH', `/api/v1/conversations/${conv2}`, { token: w.admin, body: { status: 'resolved' } });
    const agent0 = w.agents[0]!;
    const created = await t.api('POST', `/api/v1/contacts/${contactId}/conversations`, { token: agent0.token, body: { inboxId: w2.id } });
    expect(created.status).toBe(201);
    expect(created.body.created).toBe(true);
    expect(created.body.conversation).toMatchObject({ inboxId: w2.id, contactId, identityId: inbox2Identity, status: 'open', assigneeId: agent0.id, lastIncomingAt: null });
    const again = await t.api('POST', `/api/v1/contacts/${contactId}/conversations`, { token: agent0.token, body: { inboxId: w2.id } });
    expect(again.status).toBe(200);
    expect(again.body.conversation.id).toBe(created.body.conversation.id);
    // The agent can write there at once.
    await send(agent0.token, created.body.conversation.id, 'following up on site 2');

    // Not a member of inbox 2 → 403 naming it; an inbox without an identity of the contact → 409 naming the problem.
    const notMember = await t.api('POST', `/api/v1/contacts/${contactId}/conversations`, { token: w.agents[1]!.token, body: { inboxId: w2.id } });
    expect(notMember.status).toBe(403);
    const elsewhere = await addInbox(w, 'Email desk', 'email', 'all');
    const none = await t.api('POST', `/api/v1/contacts/${contactId}/conversations`, { token: w.admin, body: { inboxId: elsewhere.id } });
    expect(none.status).toBe(409);
    expect(none.body.error.message).toMatch(/no identity there/);
    expect(none.body.error.message).toContain('Email desk');
  });
});

describe('tenant isolation', () => {
  it("another workspace's contact and inbox ids are not found on every identity route, and nothing changes", async () => {
    const theirs = await visitor(other.publicId, { name: 'Other Person' });
    const mine = await visitor(w.publicId, { name: 'Mine' });
    const cid = theirs.contactId;
    const calls: [string, string, unknown?][] = [
      ['POST', `/api/v1/contacts/${cid}/merge-into`, { contactId: mine.contactId }],
      ['POST', `/api/v1/contacts/${mine.contactId}/merge-into`, { contactId: cid }],
      ['POST', `/api/v1/contacts/${cid}/unmerge`],
      ['GET', `/api/v1/contacts/${cid}/merges`],
      ['GET', `/api/v1/contacts/${cid}/merge-suggestions`],
      ['GET', `/api/v1/contacts/${cid}/timeline`],
      ['GET', `/api/v1/contacts/${cid}/channels`],
      ['POST', `/api/v1/contacts/${cid}/conversations`, { inboxId: w.inboxId }],
      ['POST', `/api/v1/contacts/${mine.contactId}/conversations`, { inboxId: other.inboxId }],
      ['GET', `/api/v1/inboxes/${other.inboxId}/identity-key`],
      ['POST', `/api/v1/inboxes/${other.inboxId}/identity-key`],
    ];
    for (const [method, path, body] of calls) {
      const r = await t.api(method, path, { token: w.admin, ...(body ? { body } : {}) });
      expect(r.status, `${method} ${path}`).toBe(404);
      expect(r.body.error.code).toBe('not_found');
      expect(JSON.stringify(r.body)).not.toContain('Other Person');
    }
    expect((await contactRow(cid))!.merged_into_id).toBeNull();
    expect((await contactRow(mine.contactId))!.merged_into_id).toBeNull();
    expect((await t.api('GET', `/api/v1/inboxes/${other.inboxId}/identity-key`, { token: other.admin })).body.configured).toBe(false);
  });
});
