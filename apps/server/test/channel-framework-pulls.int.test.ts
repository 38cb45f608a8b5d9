/**
 * The core side of the channel framework's newer features, through a real server:
 *  - SharedTokens (ChannelContext.tokens): one refresh in flight across callers and "nodes" (two token
 *    stores over the same database), invalidate only the cached token, refresh ahead of expiry, a crashed
 *    refresher's lease taken over, tokens encrypted at rest and absent from the console's secrets.
 *  - Pulls (InboundResult.pulls → adapter.pull as durable jobs): events stored, cursor saved, failures
 *    retried from the cursor without duplicates, one pull at a time per inbox, a 500 when they cannot be
 *    stored, non-retryable failures as the inbox's lastError.
 *  - ChannelEvent.endsConversation resolves the open conversation.
 *  - Session sync (adapter.syncSession) on assignment and resolution, retried on retryable errors.
 *
 * The platform is "Fakekf", a small adapter defined here (passed to the server as its adapters map) over an
 * in-memory message store that a test fills, with switches to make its pulls and session syncs fail.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ChannelError, type ChannelAdapter, type ChannelCapabilities, type NormalizedInbound, type PullRequest, type SessionChange } from '@huiliu/channels';
import type { ChannelType } from '@huiliu/contracts';
import { createLogger } from '@huiliu/core/shared/logger';
import { loadOrCreateMasterKey } from '@huiliu/core/vault/vault';
import { createSharedTokenStore, type SharedTokenStore } from '@huiliu/core/channels/shared-tokens';
import { PULL_ERROR_PREFIX, PULL_QUEUE } from '@huiliu/core/channels/channel-pulls';
import { SESSION_SYNC_QUEUE, SYNC_ERROR_PREFIX } from '@huiliu/core/channels/session-sync';
import { callApi, createChannelInbox, postWebhook, sleep, waitFor, type InboxRef } from './helpers/channels.ts';
import { startTestServer, type TestServer } from './helpers/test-server.ts';

const CAPS: ChannelCapabilities = {
  contentTypes: ['text'], maxTextLength: 2048, maxMediaBytes: 0, typing: false, readReceipts: false, deliveryReports: false, templates: false, sendWindow: null,
};

// ---------------------------------------------------------------------------------------------------
// Fakekf: webhooks carry events and/or announce messages to pull; pulls page through `platform.messages`
// two at a time, keeping a cursor per open_kfid in the pull state.

interface StoredMessage {
  id: string;
  from: string;
  text: string;
}
type WireEvent = { kind: 'message'; id: string; from: string; text: string } | { kind: 'event'; id: string; from: string; event: string; ends?: boolean };

const platform = {
  messages: [] as StoredMessage[],
  /** Every id handed to sink.deliver, in order (a re-delivery shows up twice). */
  delivered: [] as string[],
  pullCalls: 0,
  active: 0,
  maxActive: 0,
  pullDelayMs: 0,
  /** The next pull fails once: after delivering a page (cursor not saved), after saving it, or for good. */
  failNext: null as null | 'after_deliver' | 'after_save' | 'unauthorized',
  tokensIssued: 0,
  sessions: [] as SessionChange[],
  /** The next N syncSession calls fail, with a retryable error or (final) a refusal retrying cannot fix. */
  syncFailures: 0,
  syncFailure: 'retryable' as 'retryable' | 'final',
  syncCalls: 0,
};

const toEvent = (w: WireEvent): NormalizedInbound =>
  w.kind === 'message'
    ? { kind: 'message', externalId: w.id, sender: { sourceId: w.from }, content: { type: 'text', text: w.text }, sentAt: new Date() }
    : { kind: 'event', externalId: w.id, event: w.event, sender: { sourceId: w.from }, at: new Date(), ...(w.ends ? { endsConversation: true } : {}) };

const fakekf: ChannelAdapter<{ corpName: string }> = {
  kind: 'wecom_kf',
  displayName: 'Fakekf',
  configSchema: z.strictObject({ corpName: z.string().min(1) }),
  secrets: [{ name: 'secret', label: 'Secret', required: true }],
  capabilities: () => CAPS,
  async receive(req) {
    const body = JSON.parse(req.rawBody.toString('utf8')) as { events?: WireEvent[]; announce?: string; unstorable?: boolean };
    const pulls: PullRequest[] = [];
    if (body.announce) pulls.push({ openKfId: body.announce });
    // A request JSON cannot carry: storing the pull fails, so the webhook must answer 500.
    if (body.unstorable) pulls.push({ openKfId: 'kf', n: 1n as unknown as number });
    return { response: { status: 200, contentType: 'text/plain', body: 'success' }, events: (body.events ?? []).map(toEvent), ...(pulls.length ? { pulls } : {}) };
  },
  async pull(request, ctx, sink) {
    platform.pullCalls++;
    platform.active++;
    platform.maxActive = Math.max(platform.maxActive, platform.active);
    try {
      await ctx.tokens.get('access_token', async () => ({ token: `kf-token-${++platform.tokensIssued}`, expiresInSeconds: 7200 }));
      if (platform.pullDelayMs) await sleep(platform.pullDelayMs);
      const kf = String(request.openKfId);
      if (platform.failNext === 'unauthorized') {
        platform.failNext = null;
        throw new ChannelError('unauthorized', 'sync_msg refused the access token (errcode 40014); check the Secret');
      }
      const state = (await sink.state.get()) ?? {};
      let cursor = Number(state[kf] ?? 0);
      while (cursor < platform.messages.length) {
        const page = platform.messages.slice(cursor, cursor + 2);
        await sink.deliver(page.map((m) => toEvent({ kind: 'message', ...m })));
        platform.delivered.push(...page.map((m) => m.id));
        if (platform.failNext === 'after_deliver') {
          platform.failNext = null;
          throw new ChannelError('network', 'sync_msg timed out');
        }
        cursor += page.length;
        await sink.state.set({ ...state, [kf]: cursor });
        if (platform.failNext === 'after_save') {
          platform.failNext = null;
          throw new ChannelError('provider_error', 'sync_msg answered HTTP 502');
        }
      }
    } finally {
      platform.active--;
    }
  },
  async syncSession(change) {
    platform.syncCalls++;
    if (platform.syncFailures > 0) {
      platform.syncFailures--;
      if (platform.syncFailure === 'final') throw new ChannelError('recipient_invalid', 'service_state/trans refused the servicer (errcode 95014): not a WeCom kf servicer');
      throw new ChannelError('provider_error', 'service_state/trans answered HTTP 503');
    }
    platform.sessions.push(change);
  },
  async send(msg) {
    return { externalId: `kf-out-${msg.idempotencyKey}` };
  },
};

const adapters = new Map<ChannelType, ChannelAdapter<any>>([['wecom_kf', fakekf]]);

// ---------------------------------------------------------------------------------------------------

let server: TestServer;
let token = '';
let workspaceId = '';
let kfInbox: InboxRef;

const db = () => server.node.services.db;
const api = (method: string, path: string, body?: unknown) => callApi(server, token, method, path, { body });
const waitUntil = <T>(what: string, poll: () => Promise<T | undefined | null | false>) => waitFor(what, poll, { timeoutMs: 15_000 });
const hook = (inbox: InboxRef, body: object) => postWebhook(server, inbox.publicId, JSON.stringify(body));

async function newKfInbox(name: string): Promise<InboxRef> {
  const { inbox, channel } = await createChannelInbox(server, token, { kind: 'wecom_kf', name, config: { corpName: 'Acme' }, secrets: { secret: 'kf-secret-value-1234' } });
  expect(channel.status, channel.text).toBe(200);
  expect(channel.body.ready).toBe(true);
  return inbox;
}

async function storedCount(inboxId: string, externalId: string): Promise<number> {
  const r = await db().query<{ n: number }>(`SELECT count(*)::int AS n FROM messages WHERE inbox_id = $1 AND external_id = $2`, [inboxId, externalId]);
  return r[0]!.n;
}

async function openJobs(queue: string): Promise<number> {
  const r = await db().query<{ n: number }>(`SELECT count(*)::int AS n FROM jobs WHERE queue = $1 AND status IN ('queued', 'running')`, [queue]);
  return r[0]!.n;
}

beforeAll(async () => {
  server = await startTestServer({ channelAdapters: adapters, jobBackoff: () => 30 });
  token = await server.login(server.demo.adminEmail);
  kfInbox = await newKfInbox('Fakekf support');
  workspaceId = (await db().query<{ workspace_id: string }>(`SELECT workspace_id FROM inboxes WHERE id = $1`, [kfInbox.id]))[0]!.workspace_id;
});
afterAll(async () => {
  await server?.close();
});

// ---------------------------------------------------------------------------------------------------

describe('shared tokens (ChannelContext.tokens)', () => {
  let inbox: InboxRef;
  /** A second node: its own token store over the same database and master key. */
  let otherNode: SharedTokenStore;
  const nodeTokens = async () => (await server.node.services.channelConfig.contextFor(workspaceId, inbox.id)).ctx.tokens;
  const row = async () => (await db().query(`SELECT * FROM channel_tokens WHERE inbox_id = $1 AND name = 'access_token'`, [inbox.id]))[0];

  beforeAll(async () => {
    inbox = await newKfInbox('Token tests');
    const masterKey = await loadOrCreateMasterKey({ env: {}, dataDir: server.dataDir });
    otherNode = createSharedTokenStore({ db: db(), masterKey, logger: createLogger({ level: 'silent' }) });
  });

  it('runs one refresh for concurrent callers on two nodes; the others wait for its token', async () => {
    let calls = 0;
    let release!: () => void;
    const gate = new Promise<void>((r) => { release = r; });
    const slowRefresh = async () => {
      calls++;
      await gate;
      return { token: 'tok-A-0123456789', expiresInSeconds: 7200 };
    };
    const here = await nodeTokens();
    const there = otherNode.forInbox(workspaceId, inbox.id);
    const gets = [here.get('access_token', slowRefresh), here.get('access_token', slowRefresh), there.get('access_token', slowRefresh), there.get('access_token', slowRefresh)];
    await waitUntil('the refresh to start', async () => calls === 1);
    // The winner holds the lease while the platform call runs; the other node polls.
    expect((await row())!.refresh_owner).toBeTruthy();
    await sleep(150);
    release();
    expect(await Promise.all(gets)).toEqual(['tok-A-0123456789', 'tok-A-0123456789', 'tok-A-0123456789', 'tok-A-0123456789']);
    expect(calls).toBe(1);
    expect((await row())!.refresh_owner).toBeNull();
    // Cached now: no refresh on either node.
    const never = async () => {
      throw new Error('must not refresh');
    };
    expect(await there.get('access_token', never)).toBe('tok-A-0123456789');
    expect(await here.get('access_token', never)).toBe('tok-A-0123456789');
  });

  it('keeps the token encrypted at rest and out of the console', async () => {
    const r = await row();
    expect(JSON.stringify(r)).not.toContain('tok-A-0123456789');
    expect(String(r!.ciphertext)).toMatch(/^v1:/);
    const secrets = await db().query(`SELECT * FROM secrets`);
    expect(JSON.stringify(secrets)).not.toContain('tok-A');
    const channel = await api('GET', `/api/v1/inboxes/${inbox.id}/channel`);
    expect(channel.status).toBe(200);
    expect(channel.text).not.toContain('tok-A');
    expect(channel.body.secrets.map((s: { name: string }) => s.name)).toEqual(['secret']);
  });

  it('invalidates only the token still cached', async () => {
    const here = await nodeTokens();
    let calls = 0;
    const refresh = async () => ({ token: `tok-B-${++calls}-0123456789`, expiresInSeconds: 7200 });
    // A stale token refused by the platform after another node refreshed: the cached one survives.
    await here.invalidate('access_token', 'some-older-token');
    expect(await here.get('access_token', refresh)).toBe('tok-A-0123456789');
    expect(calls).toBe(0);
    await otherNode.forInbox(workspaceId, inbox.id).invalidate('access_token', 'tok-A-0123456789');
    expect(await here.get('access_token', refresh)).toBe('tok-B-1-0123456789');
    expect(calls).toBe(1);
  });

  it('refreshes a token that expires within a minute, and not one with more left', async () => {
    const here = await nodeTokens();
    let calls = 0;
    const refresh = async () => ({ token: `tok-C-${++calls}-0123456789`, expiresInSeconds: 7200 });
    await db().query(`UPDATE channel_tokens SET expires_at = now() + interval '2 minutes' WHERE inbox_id = $1`, [inbox.id]);
    expect(await here.get('access_token', refresh)).toBe('tok-B-1-0123456789');
    await db().query(`UPDATE channel_tokens SET expires_at = now() + interval '30 seconds' WHERE inbox_id = $1`, [inbox.id]);
    expect(await here.get('access_token', refresh)).toBe('tok-C-1-0123456789');
    expect(calls).toBe(1);
  });

  it('frees the lease when a refresh fails, so the next caller refreshes at once', async () => {
    const here = await nodeTokens();
    await here.invalidate('access_token', 'tok-C-1-0123456789');
    await expect(here.get('access_token', async () => {
      throw new ChannelError('unauthorized', 'gettoken refused the secret (errcode 40001)');
    })).rejects.toThrow(/errcode 40001/);
    expect((await row())!.refresh_owner).toBeNull();
    expect(await otherNode.forInbox(workspaceId, inbox.id).get('access_token', async () => ({ token: 'tok-D-0123456789', expiresInSeconds: 7200 }))).toBe('tok-D-0123456789');
  });

  it('takes over the lease of a node that died while refreshing', async () => {
    await db().query(
      `UPDATE channel_tokens SET ciphertext = NULL, expires_at = NULL, refresh_owner = 'crashed-node:1', refresh_until = now() + interval '1 second' WHERE inbox_id = $1`,
      [inbox.id],
    );
    let calls = 0;
    const got = await (await nodeTokens()).get('access_token', async () => ({ token: `tok-E-${++calls}-0123456789`, expiresInSeconds: 7200 }));
    expect(got).toBe('tok-E-1-0123456789');
    expect(calls).toBe(1);
    expect((await row())!.refresh_owner).toBeNull();
  });

  it('forgets the cached tokens when the channel settings change (they belong to the old credentials)', async () => {
    expect(await row()).toBeDefined();
    const r = await api('PUT', `/api/v1/inboxes/${inbox.id}/channel`, { secrets: { secret: 'a-rotated-secret-5678' } });
    expect(r.status, r.text).toBe(200);
    expect(await row()).toBeUndefined();
    let calls = 0;
    expect(await (await nodeTokens()).get('access_token', async () => ({ token: `tok-F-${++calls}-0123456789`, expiresInSeconds: 7200 }))).toBe('tok-F-1-0123456789');
  });
});

// ---------------------------------------------------------------------------------------------------

describe('pulls (InboundResult.pulls → adapter.pull)', () => {
  const msgs = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => ({ id: `kfm-${from + i}`, from: 'external-user-1', text: `message ${from + i}` }));
  const pullState = async () => (await db().query(`SELECT pull_state FROM channel_inbound_state WHERE inbox_id = $1`, [kfInbox.id]))[0]?.pull_state;
  const idle = () => waitUntil('the pulls to finish', async () => (await openJobs(PULL_QUEUE)) === 0);

  it('stores the announced messages and saves the cursor', async () => {
    platform.messages.push(...msgs(1, 5));
    const r = await hook(kfInbox, { announce: 'kf-1' });
    expect(r.status).toBe(200);
    expect(r.text).toBe('success');
    await idle();
    for (const m of msgs(1, 5)) expect(await storedCount(kfInbox.id, m.id)).toBe(1);
    expect(await pullState()).toEqual({ 'kf-1': 5 });
    expect(platform.delivered).toEqual(msgs(1, 5).map((m) => m.id));
    // The pull used the inbox's shared token.
    expect(platform.tokensIssued).toBe(1);
  });

  it('retries a pull that failed after saving a page and resumes from the cursor', async () => {
    platform.delivered = [];
    const calls = platform.pullCalls;
    platform.messages.push(...msgs(6, 9));
    platform.failNext = 'after_save';
    expect((await hook(kfInbox, { announce: 'kf-1' })).status).toBe(200);
    await idle();
    expect(platform.pullCalls).toBe(calls + 2);
    // Page 6–7 was saved before the failure: the retry starts at 8, nothing is fetched twice.
    expect(platform.delivered).toEqual(msgs(6, 9).map((m) => m.id));
    for (const m of msgs(6, 9)) expect(await storedCount(kfInbox.id, m.id)).toBe(1);
    expect(await pullState()).toEqual({ 'kf-1': 9 });
  });

  it('stores a page delivered again after a failure before its cursor was saved only once', async () => {
    platform.delivered = [];
    platform.messages.push(...msgs(10, 11));
    platform.failNext = 'after_deliver';
    expect((await hook(kfInbox, { announce: 'kf-1' })).status).toBe(200);
    await idle();
    expect(platform.delivered).toEqual(['kfm-10', 'kfm-11', 'kfm-10', 'kfm-11']);
    for (const m of msgs(10, 11)) expect(await storedCount(kfInbox.id, m.id)).toBe(1);
    expect(await pullState()).toEqual({ 'kf-1': 11 });
    const conv = await db().query(`SELECT DISTINCT conversation_id FROM messages WHERE inbox_id = $1 AND direction = 'incoming'`, [kfInbox.id]);
    expect(conv).toHaveLength(1);
  });

  it('runs the pulls of one inbox one at a time', async () => {
    platform.maxActive = 0;
    platform.pullDelayMs = 60;
    const calls = platform.pullCalls;
    platform.messages.push(...msgs(12, 12));
    const answers = await Promise.all([hook(kfInbox, { announce: 'kf-1' }), hook(kfInbox, { announce: 'kf-1' }), hook(kfInbox, { announce: 'kf-1' })]);
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200]);
    await idle();
    platform.pullDelayMs = 0;
    expect(platform.pullCalls).toBe(calls + 3);
    expect(platform.maxActive).toBe(1);
    expect(await storedCount(kfInbox.id, 'kfm-12')).toBe(1);
  });

  it('answers 500 when the pull cannot be stored, so the platform announces again', async () => {
    const r = await hook(kfInbox, { unstorable: true });
    expect(r.status).toBe(500);
  });

  it('records a non-retryable failure as the inbox lastError without retrying; a good pull clears it', async () => {
    const calls = platform.pullCalls;
    platform.failNext = 'unauthorized';
    expect((await hook(kfInbox, { announce: 'kf-1' })).status).toBe(200);
    await idle();
    expect(platform.pullCalls).toBe(calls + 1);
    const channel = await api('GET', `/api/v1/inboxes/${kfInbox.id}/channel`);
    expect(channel.body.lastError).toContain(PULL_ERROR_PREFIX);
    expect(channel.body.lastError).toContain('errcode 40014');
    platform.messages.push(...msgs(13, 13));
    expect((await hook(kfInbox, { announce: 'kf-1' })).status).toBe(200);
    await idle();
    expect(await storedCount(kfInbox.id, 'kfm-13')).toBe(1);
    expect((await api('GET', `/api/v1/inboxes/${kfInbox.id}/channel`)).body.lastError).toBeNull();
  });
});

// ---------------------------------------------------------------------------------------------------

describe('platform sessions: endsConversation and syncSession', () => {
  let agent: { id: string; email: string; name: string };
  let admin: { id: string; email: string; name: string };

  const userByEmail = async (email: string) => (await db().query<{ id: string; email: string; name: string }>(`SELECT id, email, name FROM users WHERE email = $1`, [email]))[0]!;
  const conversationOf = async (sourceId: string) =>
    (await db().query<{ id: string }>(
      `SELECT c.id FROM conversations c JOIN contact_identities ci ON ci.id = c.identity_id WHERE c.inbox_id = $1 AND ci.source_id = $2 ORDER BY c.created_at DESC LIMIT 1`,
      [kfInbox.id, sourceId],
    ))[0]!.id;
  const statusOf = async (conversationId: string) => (await api('GET', `/api/v1/conversations/${conversationId}`)).body.status as string;
  const syncsOf = (conversationId: string) => platform.sessions.filter((c) => c.conversationId === conversationId);
  /**
   * Waits until the session-sync consumer has read every stored line of the conversation (its cursor is
   * past their transactions) and no sync job is left: whatever was due has been told by then.
   */
  const settled = async (conversationId: string) => {
    await waitUntil('the session-sync consumer to read the conversation', async () => {
      await server.node.services.sessionSync.catchUp();
      const r = await db().query<{ read: boolean }>(
        `SELECT (SELECT position FROM log_cursors WHERE name = 'channel-session-sync') >= (SELECT max(tx::text::bigint) FROM messages WHERE conversation_id = $1) AS read`,
        [conversationId],
      );
      return r[0]!.read;
    });
    await waitUntil('the session syncs to finish', async () => (await openJobs(SESSION_SYNC_QUEUE)) === 0);
  };

  beforeAll(async () => {
    agent = await userByEmail(server.demo.agentEmails[0]!);
    admin = await userByEmail(server.demo.adminEmail);
    const members = await api('PUT', `/api/v1/inboxes/${kfInbox.id}/members`, { userIds: [agent.id] });
    expect(members.status, members.text).toBe(200);
  });

  it('tells the platform who serves the customer when an agent is assigned, and again on a reassignment', async () => {
    const conversationId = await conversationOf('external-user-1');
    const r = await api('POST', `/api/v1/conversations/${conversationId}/assign`, { assigneeId: agent.id });
    expect(r.status, r.text).toBe(200);
    await waitUntil('the assignment synced', async () => syncsOf(conversationId).length === 1);
    expect(syncsOf(conversationId)[0]).toEqual({ conversationId, recipient: { sourceId: 'external-user-1' }, state: 'human', agent: { email: agent.email, name: agent.name } });
    expect((await api('POST', `/api/v1/conversations/${conversationId}/assign`, { assigneeId: admin.id })).status).toBe(200);
    await waitUntil('the reassignment synced', async () => syncsOf(conversationId).length === 2);
    expect(syncsOf(conversationId)[1]).toMatchObject({ state: 'human', agent: { email: admin.email, name: admin.name } });
    // Nothing changed for the platform: a priority change syncs nothing.
    expect((await api('PATCH', `/api/v1/conversations/${conversationId}`, { priority: 'high' })).status).toBe(200);
    await settled(conversationId);
    expect(syncsOf(conversationId)).toHaveLength(2);
  });

  it('ends the platform session when the conversation is resolved, retrying a retryable failure', async () => {
    const conversationId = await conversationOf('external-user-1');
    const calls = platform.syncCalls;
    platform.syncFailure = 'retryable';
    platform.syncFailures = 2;
    expect((await api('PATCH', `/api/v1/conversations/${conversationId}`, { status: 'resolved' })).status).toBe(200);
    await waitUntil('the resolution synced', async () => syncsOf(conversationId).length === 3);
    expect(syncsOf(conversationId)[2]).toEqual({ conversationId, recipient: { sourceId: 'external-user-1' }, state: 'ended', agent: null });
    expect(platform.syncCalls).toBe(calls + 3);
    await settled(conversationId);
    expect(syncsOf(conversationId)).toHaveLength(3);
    const stored = await db().query(`SELECT state, agent_id FROM channel_session_sync WHERE conversation_id = $1`, [conversationId]);
    expect(stored).toEqual([{ state: 'ended', agent_id: null }]);
  });

  it('records a sync the platform refuses for good as the inbox lastError; the next good sync clears it', async () => {
    const hello = await hook(kfInbox, { events: [{ kind: 'message', id: 'kfm-u3-1', from: 'external-user-3', text: 'hi' }] });
    expect(hello.status).toBe(200);
    const conversationId = await conversationOf('external-user-3');
    const calls = platform.syncCalls;
    platform.syncFailure = 'final';
    platform.syncFailures = 1;
    expect((await api('POST', `/api/v1/conversations/${conversationId}/assign`, { assigneeId: agent.id })).status).toBe(200);
    await settled(conversationId);
    expect(platform.syncCalls).toBe(calls + 1);
    expect(syncsOf(conversationId)).toHaveLength(0);
    const channel = await api('GET', `/api/v1/inboxes/${kfInbox.id}/channel`);
    expect(channel.body.lastError).toContain(SYNC_ERROR_PREFIX);
    expect(channel.body.lastError).toContain('errcode 95014');
    expect((await api('POST', `/api/v1/conversations/${conversationId}/assign`, { assigneeId: admin.id })).status).toBe(200);
    await waitUntil('the next assignment synced', async () => syncsOf(conversationId).length === 1);
    await waitUntil('the error cleared', async () => (await api('GET', `/api/v1/inboxes/${kfInbox.id}/channel`)).body.lastError === null);
  });

  it('resolves the open conversation when the platform ends the session, without telling the platform back', async () => {
    expect((await hook(kfInbox, { events: [{ kind: 'message', id: 'kfm-u2-1', from: 'external-user-2', text: 'hello' }] })).status).toBe(200);
    const conversationId = await conversationOf('external-user-2');
    expect((await api('POST', `/api/v1/conversations/${conversationId}/assign`, { assigneeId: agent.id })).status).toBe(200);
    await waitUntil('the assignment synced', async () => syncsOf(conversationId).length === 1);
    expect(await statusOf(conversationId)).toBe('open');

    const end = { events: [{ kind: 'event', id: 'kf-end-1', from: 'external-user-2', event: 'session ended by timeout', ends: true }] };
    expect((await hook(kfInbox, end)).status).toBe(200);
    expect(await statusOf(conversationId)).toBe('resolved');
    const timeline = (await api('GET', `/api/v1/conversations/${conversationId}/messages?limit=100`)).body.items as { direction: string; text: string }[];
    expect(timeline.filter((m) => m.direction === 'activity').map((m) => m.text)).toEqual(
      expect.arrayContaining([expect.stringContaining('session ended by timeout'), 'System resolved the conversation']),
    );
    await settled(conversationId);
    expect(syncsOf(conversationId)).toHaveLength(1);

    // A replay of the same event stores nothing new and leaves it resolved.
    expect((await hook(kfInbox, end)).status).toBe(200);
    expect(await storedCount(kfInbox.id, 'event:kf-end-1')).toBe(1);
    expect(await statusOf(conversationId)).toBe('resolved');
  });

  it('does not resolve on an event without endsConversation', async () => {
    expect((await hook(kfInbox, { events: [{ kind: 'message', id: 'kfm-u4-1', from: 'external-user-4', text: 'hey' }] })).status).toBe(200);
    const conversationId = await conversationOf('external-user-4');
    expect((await hook(kfInbox, { events: [{ kind: 'event', id: 'kf-ev-4', from: 'external-user-4', event: 'entered the session' }] })).status).toBe(200);
    expect(await storedCount(kfInbox.id, 'event:kf-ev-4')).toBe(1);
    expect(await statusOf(conversationId)).toBe('open');
  });
});
