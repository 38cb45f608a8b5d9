import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createChatClient, createSocketIoTransport, type ChatClient } from '@huiliu/client';
import type { Message } from '@huiliu/contracts';
import { createLogger } from '@huiliu/core/shared/logger';
import { loadConfig } from '../src/config.ts';
import { startHuiliu } from '../src/app.ts';
import { startTestServer, type TestServer } from './helpers/test-server.ts';

let t: TestServer;
const clients: ChatClient[] = [];

beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  clients.forEach((c) => c.destroy());
  await t?.close();
});

async function until(pred: () => boolean | Promise<boolean>, what: string, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await pred())) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('client core against the real server', () => {
  it('keeps a conversation whole across a server restart: nothing lost, nothing doubled, order kept', async () => {
    const session = await t.api('POST', '/api/widget/v1/sessions', { body: { inboxPublicId: t.demo.widgetInboxPublicId } });
    const visitorToken = session.body.visitorToken as string;
    const conv = await t.api('POST', '/api/widget/v1/conversations', { token: visitorToken, body: {} });
    const conversationId = conv.body.conversation.id as string;
    const admin = await t.login(t.demo.adminEmail);

    const client = createChatClient({
      transport: createSocketIoTransport({ url: t.url, auth: { visitorToken }, socketOptions: { reconnectionDelay: 100, reconnectionDelayMax: 300 } }),
      retryDelayMs: 100,
      ackTimeoutMs: 2_000,
    });
    clients.push(client);
    const seen: Message[] = [];
    client.on('message', (m) => seen.push(m));
    client.connect();
    await until(() => client.status === 'online', 'client online');
    await client.subscribe(conversationId, 0);

    expect((await client.send(conversationId, { text: 'before restart' }).result).ok).toBe(true);
    await t.api('POST', `/api/v1/conversations/${conversationId}/messages`, { token: admin, body: { clientId: 'agent-1', text: 'agent before' } });
    await until(() => seen.length === 2, 'two messages seen');

    // Restart the node on the same database and port while the client keeps typing.
    const port = t.node.port;
    await t.node.close();
    await until(() => client.status !== 'online', 'client noticed the restart');
    const offline = ['while down 1', 'while down 2', 'while down 3'].map((text) => client.send(conversationId, { text }));
    const config = loadConfig({ PORT: String(port), HOST: '127.0.0.1', HUILIU_DATA_DIR: t.dataDir, LOG_LEVEL: 'silent' });
    t.node = await startHuiliu({ config, db: t.testDb.db, seed: false, logger: createLogger({ level: 'silent' }) });
    await t.api('POST', `/api/v1/conversations/${conversationId}/messages`, { token: admin, body: { clientId: 'agent-2', text: 'agent after' } });

    const results = await Promise.all(offline.map((h) => h.result));
    expect(results.every((r) => r.ok)).toBe(true);
    await until(() => seen.length === 6, `six messages seen (have ${seen.map((m) => m.text).join(' | ')})`);

    const stored = await t.api('GET', `/api/v1/conversations/${conversationId}/messages`, { token: admin });
    const texts = stored.body.items.map((m: Message) => m.text);
    expect(texts.filter((x: string) => x.startsWith('while down'))).toEqual(['while down 1', 'while down 2', 'while down 3']);
    expect(texts).toHaveLength(6);
    expect(stored.body.items.map((m: Message) => m.seq)).toEqual([1, 2, 3, 4, 5, 6]);
    // The client saw each stored message exactly once, in seq order.
    expect(seen.map((m) => m.seq)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(new Set(seen.map((m) => m.id)).size).toBe(6);
    expect(client.getOutbox(conversationId)).toEqual([]);
  });
});
