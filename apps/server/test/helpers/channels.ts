/**
 * Setup the channel integration tests share: calling the admin API, creating and configuring a channel
 * inbox, allowlisting loopback for the local platform fakes, posting a platform's webhook, serving media,
 * and waiting for what the server does in the background (ingest, outbound delivery) to show.
 *
 * Helpers take the node they talk to (`{ url }`: a TestServer, or a Huiliu node a test restarts itself)
 * and the admin's session token explicitly; `channelTestKit` binds both for files that fill them in
 * beforeAll. Assertions on what a test is about stay in the test: helpers only check their own setup
 * step succeeded, so a failing setup names itself instead of failing later as something else.
 */
import { readFileSync } from 'node:fs';
import { expect } from 'vitest';
import type { ChannelType } from '@huiliu/contracts';
import type { Database } from '@huiliu/core/db/database';
import { startFakeServer } from '../../../../packages/channels/test/fakes/fake-server.ts';
import { httpRequest, startTestServer, type RawResponse, type RequestOptions, type TestServer } from './test-server.ts';

/** Where a node answers: a TestServer or a Huiliu node both have it. */
export interface NodeAddress {
  readonly url: string;
}

/** An API answer with the raw text kept, so a test can prove a secret is not in it. */
export interface ApiResult {
  status: number;
  body: any;
  text: string;
}

export interface InboxRef {
  id: string;
  publicId: string;
}

/** Settings as PUT /api/v1/inboxes/:id/channel takes them (a null secret removes it). */
export interface ChannelSettings {
  config?: Record<string, unknown>;
  secrets?: Record<string, string | null>;
}

export type Poll<T> = () => Promise<T | undefined | null | false>;

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Starts like a JPEG (FF D8 FF E0 … JFIF), which is what the upload policy checks. */
export const SAMPLE_JPEG = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10]), Buffer.from('JFIF\0'), Buffer.alloc(64, 7), Buffer.from([0xff, 0xd9])]);
/** A valid 1×1 PNG. */
export const SAMPLE_PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==', 'base64');

/** A platform fixture (copied from its documentation) from packages/channels/test/fixtures/<kind>/. */
export function channelFixture(kind: ChannelType, name: string): string {
  return readFileSync(new URL(`../../../../packages/channels/test/fixtures/${kind}/${name}`, import.meta.url), 'utf8');
}

/** One API call as the holder of `token`: JSON (or multipart) in, status + parsed JSON + raw text out. */
export async function callApi(node: NodeAddress, token: string, method: string, path: string, o: Omit<RequestOptions, 'token'> = {}): Promise<ApiResult> {
  const r = await httpRequest(node.url, method, path, { token, ...o });
  return { status: r.status, body: r.json, text: r.text };
}

export function setNetworkAllowlist(node: NodeAddress, token: string, hosts: string[]): Promise<ApiResult> {
  return callApi(node, token, 'PATCH', '/api/v1/workspace', { body: { settings: { networkAllowlist: hosts } } });
}

/** The fakes listen on 127.0.0.1, which the SSRF-safe client refuses unless the workspace allowlists it. */
export async function allowLoopback(node: NodeAddress, token: string): Promise<void> {
  const r = await setNetworkAllowlist(node, token, ['127.0.0.1']);
  expect(r.status, r.text).toBe(200);
}

/** A test server with the demo admin logged in and loopback allowlisted, ready for a channel's local fake. */
export async function startChannelTestServer(): Promise<{ server: TestServer; token: string }> {
  const server = await startTestServer();
  const token = await server.login(server.demo.adminEmail);
  await allowLoopback(server, token);
  return { server, token };
}

/** Creates an inbox of a channel kind through the admin API; its channel is not configured yet. */
export async function createInbox(node: NodeAddress, token: string, o: { kind: ChannelType; name: string }): Promise<InboxRef> {
  const created = await callApi(node, token, 'POST', '/api/v1/inboxes', { body: { name: o.name, channelType: o.kind } });
  expect(created.status, created.text).toBe(201);
  return { id: created.body.id, publicId: created.body.publicId };
}

/** PUTs an inbox's channel settings; the answer is returned unchecked, since what it says is what tests assert. */
export function configureChannel(node: NodeAddress, token: string, inboxId: string, settings: ChannelSettings): Promise<ApiResult> {
  return callApi(node, token, 'PUT', `/api/v1/inboxes/${inboxId}/channel`, { body: settings });
}

/** Creates an inbox of `kind` and configures its channel in one go, as an admin does in the console. */
export async function createChannelInbox(
  node: NodeAddress,
  token: string,
  o: { kind: ChannelType; name: string } & ChannelSettings,
): Promise<{ inbox: InboxRef; channel: ApiResult }> {
  const inbox = await createInbox(node, token, o);
  const channel = await configureChannel(node, token, inbox.id, { ...(o.config ? { config: o.config } : {}), ...(o.secrets ? { secrets: o.secrets } : {}) });
  return { inbox, channel };
}

const webhookPath = (publicId: string) => `/api/channels/v1/${publicId}/webhook`;

/** POSTs a platform's webhook to an inbox byte for byte (signatures cover the raw body), as JSON unless `headers` say otherwise. */
export function postWebhook(node: NodeAddress, publicId: string, rawBody: string, headers: Record<string, string> = {}): Promise<RawResponse> {
  return httpRequest(node.url, 'POST', webhookPath(publicId), { rawBody, headers: { 'content-type': 'application/json', ...headers } });
}

/** A conversation's messages as an agent sees them (first page of up to 500). */
export async function messagesOfConversation(node: NodeAddress, token: string, conversationId: string): Promise<any[]> {
  const r = await callApi(node, token, 'GET', `/api/v1/conversations/${conversationId}/messages?limit=500`);
  expect(r.status).toBe(200);
  return r.body.items as any[];
}

/** The stored rows of an inbox's messages with this platform id: how a test proves something was stored once, or not at all. */
export function storedMessages(db: Database, inboxId: string, externalId: string) {
  return db.query(`SELECT * FROM messages WHERE inbox_id = $1 AND external_id = $2`, [inboxId, externalId]);
}

/**
 * Polls until `poll` returns something truthy and returns it; fails naming `what` after `timeoutMs`.
 * `between` runs before each next poll (e.g. to let outbound delivery catch up now instead of on its own tick).
 */
export async function waitFor<T>(what: string, poll: Poll<T>, o: { timeoutMs?: number; intervalMs?: number; between?: () => Promise<unknown> } = {}): Promise<T> {
  const deadline = Date.now() + (o.timeoutMs ?? 15_000);
  for (;;) {
    const v = await poll();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await o.between?.();
    await sleep(o.intervalMs ?? 50);
  }
}

/**
 * The helpers of a channel end-to-end file, bound to the server and admin token its beforeAll fills in
 * (hence the getter). Waits run the server's outbound delivery between polls, so replies go out promptly.
 */
export function channelTestKit(session: () => { server: TestServer; token: string }, o: { timeoutMs?: number; intervalMs?: number } = {}) {
  const api = (method: string, path: string, body?: unknown): Promise<ApiResult> => {
    const { server, token } = session();
    return callApi(server, token, method, path, { body });
  };
  const messagesOf = (conversationId: string) => {
    const { server, token } = session();
    return messagesOfConversation(server, token, conversationId);
  };
  const waitUntil = <T>(what: string, poll: Poll<T>, timeoutMs = o.timeoutMs ?? 15_000): Promise<T> => {
    const { server } = session();
    return waitFor(what, poll, { timeoutMs, ...(o.intervalMs ? { intervalMs: o.intervalMs } : {}), between: () => server.node.services.outbound.catchUp() });
  };
  /** Waits until an outgoing message reaches `status` (sent, failed, …) and returns it as the agent sees it. */
  const waitForDeliveryStatus = (conversationId: string, messageId: string, status: string, o2: { what?: string; timeoutMs?: number } = {}) =>
    waitUntil(
      o2.what ?? `the reply marked ${status}`,
      async () => (await messagesOf(conversationId)).find((m) => m.id === messageId && m.deliveryStatus === status),
      o2.timeoutMs,
    );
  return { api, messagesOf, waitUntil, waitForDeliveryStatus };
}

/** A local media host serving one file at any path; `hits` counts requests, so a refused download is proven unfetched. */
export async function startMediaHost(file: { bytes: Buffer; contentType: string; fileName: string }) {
  let hits = 0;
  const http = await startFakeServer((_req, res) => {
    hits++;
    res.writeHead(200, { 'content-type': file.contentType }).end(file.bytes);
  });
  return {
    url: `${http.baseUrl}/${file.fileName}`,
    get hits() {
      return hits;
    },
    close: http.close,
  };
}
