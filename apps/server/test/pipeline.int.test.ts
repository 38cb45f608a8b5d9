import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runConversationSweep } from '@huiliu/core/conversations/lifecycle';
import { AppError } from '@huiliu/core/shared/errors';
import { startTestServer, type TestServer } from './helpers/test-server.ts';

let t: TestServer;

beforeAll(async () => {
  t = await startTestServer();
});
afterAll(() => t?.close());

async function newConversation() {
  const s = await t.api('POST', '/api/widget/v1/sessions', { body: { inboxPublicId: t.demo.widgetInboxPublicId } });
  const c = await t.api('POST', '/api/widget/v1/conversations', { token: s.body.visitorToken, body: {} });
  const actor = await t.node.services.widget.authenticate(s.body.visitorToken, undefined);
  return { id: c.body.conversation.id as string, actor, token: s.body.visitorToken as string };
}

describe('message pipeline', () => {
  it('assigns gap-free seqs under concurrent sends and stores each clientId once', async () => {
    const convs = await Promise.all([newConversation(), newConversation(), newConversation()]);
    const sends = [];
    for (let i = 0; i < 60; i++) {
      for (const c of convs) {
        const body = { clientId: `m-${i}`, contentType: 'text' as const, text: `message ${i}`, private: false, attachmentIds: [] };
        sends.push(t.node.services.messages.send(c.actor, c.id, body));
        if (i % 10 === 0) sends.push(t.node.services.messages.send(c.actor, c.id, body)); // a concurrent retry
      }
    }
    const results = await Promise.all(sends);
    expect(results.filter((r) => r.duplicate)).toHaveLength(18);
    for (const c of convs) {
      const rows = await t.node.services.db.query<{ seq: number; client_id: string }>(`SELECT seq, client_id FROM messages WHERE conversation_id = $1 ORDER BY seq`, [c.id]);
      expect(rows.map((r) => r.seq)).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
      expect(new Set(rows.map((r) => r.client_id)).size).toBe(60);
      // Per conversation, seq follows submission order.
      expect(rows.map((r) => r.client_id)).toEqual(Array.from({ length: 60 }, (_, i) => `m-${i}`));
    }
  });

  it('fails only the bad message of a batch', async () => {
    const c = await newConversation();
    const good = Array.from({ length: 5 }, (_, i) =>
      t.node.services.pipeline.append({ workspaceId: c.actor.workspaceId, conversationId: c.id, scope: {}, direction: 'incoming', private: false, senderType: 'contact', senderId: null, contentType: 'text', text: `ok ${i}`, clientId: `ok-${i}` }),
    );
    const bad = t.node.services.pipeline.append({
      workspaceId: c.actor.workspaceId, conversationId: c.id, scope: {}, direction: 'incoming', private: false, senderType: 'contact', senderId: null,
      contentType: 'image', text: '', attachmentIds: ['00000000-0000-4000-8000-000000000000'], uploader: { type: 'contact', id: c.actor.contactId }, clientId: 'bad',
    });
    const settled = await Promise.allSettled([...good, bad]);
    expect(settled.slice(0, 5).every((s) => s.status === 'fulfilled')).toBe(true);
    const last = settled[5]!;
    expect(last.status).toBe('rejected');
    expect((last as PromiseRejectedResult).reason).toBeInstanceOf(AppError);
    const seqs = await t.node.services.db.query<{ seq: number }>(`SELECT seq FROM messages WHERE conversation_id = $1 ORDER BY seq`, [c.id]);
    expect(seqs.map((r) => r.seq)).toEqual([1, 2, 3, 4, 5]);
  });

  it('rejects only the out-of-scope message of a concurrent batch', async () => {
    const a = await newConversation();
    const b = await newConversation();
    const send = (actor: typeof a.actor, id: string, clientId: string) =>
      t.node.services.messages.send(actor, id, { clientId, contentType: 'text', text: clientId, private: false, attachmentIds: [] });
    const settled = await Promise.allSettled([send(a.actor, a.id, 'a1'), send(a.actor, b.id, 'sneaky'), send(a.actor, a.id, 'a2'), send(b.actor, b.id, 'b1')]);
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
    expect((settled[1] as PromiseRejectedResult).reason).toMatchObject({ code: 'not_found' });
    const texts = await t.node.services.db.query<{ text: string }>(`SELECT text FROM messages WHERE conversation_id = $1 ORDER BY seq`, [b.id]);
    expect(texts.map((r) => r.text)).toEqual(['b1']);
  });

  it('refuses a conversation outside the caller scope with not_found', async () => {
    const a = await newConversation();
    const b = await newConversation();
    await expect(
      t.node.services.messages.send(a.actor, b.id, { clientId: 'x', contentType: 'text', text: 'hi', private: false, attachmentIds: [] }),
    ).rejects.toMatchObject({ code: 'not_found' });
  });

  it('records reporting facts from the message log exactly once', async () => {
    const c = await newConversation();
    await t.node.services.messages.send(c.actor, c.id, { clientId: 'q', contentType: 'text', text: 'question', private: false, attachmentIds: [] });
    const adminActor = await t.node.services.users.authenticate(await t.login(t.demo.adminEmail));
    for (const id of ['r1', 'r2']) {
      await t.node.services.messages.send(adminActor!, c.id, { clientId: id, contentType: 'text', text: 'answer', private: false, attachmentIds: [] });
    }
    let facts: { name: string }[] = [];
    for (let i = 0; i < 100 && facts.length < 4; i++) {
      await new Promise((r) => setTimeout(r, 50));
      facts = await t.node.services.db.query(`SELECT name FROM reporting_events WHERE conversation_id = $1 ORDER BY id`, [c.id]);
    }
    expect(facts.map((f) => f.name).sort()).toEqual(['first_response', 'message_incoming', 'message_outgoing', 'message_outgoing']);
  });
});

describe('conversation sweep', () => {
  it('auto-resolves after the configured customer silence and reopens ended snoozes', async () => {
    const silent = await newConversation();
    const snoozed = await newConversation();
    const fresh = await newConversation();
    const db = t.node.services.db;
    await db.query(`UPDATE conversations SET last_incoming_at = now() - interval '25 hours' WHERE id = $1`, [silent.id]);
    await db.query(`UPDATE conversations SET status = 'snoozed', snoozed_until = now() - interval '1 minute' WHERE id = $1`, [snoozed.id]);
    const published = await db.transaction((tx) => runConversationSweep(tx, t.node.services.pipeline));
    const touched = published.map((p) => p.conversation.id);
    expect(touched).toContain(silent.id);
    expect(touched).toContain(snoozed.id);
    expect(touched).not.toContain(fresh.id);
    const status = async (id: string) => (await db.query<{ status: string }>(`SELECT status FROM conversations WHERE id = $1`, [id]))[0]!.status;
    expect(await status(silent.id)).toBe('resolved');
    expect(await status(snoozed.id)).toBe('open');
    expect(await status(fresh.id)).toBe('open');
    const activity = await db.query<{ text: string }>(`SELECT text FROM messages WHERE conversation_id = $1 AND direction = 'activity'`, [silent.id]);
    expect(activity[0]!.text).toContain('24 h');
    // A second sweep finds nothing left to do.
    expect(await db.transaction((tx) => runConversationSweep(tx, t.node.services.pipeline))).toHaveLength(0);
  });

  it('does not auto-resolve when the workspace turned it off', async () => {
    const admin = await t.login(t.demo.adminEmail);
    expect((await t.api('PATCH', '/api/v1/workspace', { token: admin, body: { settings: { autoResolveHours: 0 } } })).body.settings.autoResolveHours).toBe(0);
    const c = await newConversation();
    await t.node.services.db.query(`UPDATE conversations SET last_incoming_at = now() - interval '1000 hours' WHERE id = $1`, [c.id]);
    const published = await t.node.services.db.transaction((tx) => runConversationSweep(tx, t.node.services.pipeline));
    expect(published.map((p) => p.conversation.id)).not.toContain(c.id);
    await t.api('PATCH', '/api/v1/workspace', { token: admin, body: { settings: { autoResolveHours: 24 } } });
  });
});
