import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { io, type Socket } from 'socket.io-client';
import { createTestDatabase, type TestDatabase } from '@huiliu/testing';
import { createLogger } from '@huiliu/core/shared/logger';
import { loadConfig } from '../../src/config.ts';
import { startHuiliu, type Huiliu, type HuiliuOptions } from '../../src/app.ts';
import { seedDemo, type DemoCredentials } from '../../src/setup/seed.ts';

export interface RawResponse {
  status: number;
  text: string;
  json: any;
  headers: Headers;
}

export interface RequestOptions {
  token?: string | undefined;
  body?: unknown;
  /** Sent as is (e.g. malformed JSON), with content-type application/json unless given. */
  rawBody?: string;
  form?: FormData;
  headers?: Record<string, string>;
}

/** One HTTP call against a test server: JSON (or raw / multipart) in, status + text + parsed JSON out. */
export async function httpRequest(baseUrl: string, method: string, path: string, o: RequestOptions = {}): Promise<RawResponse> {
  const headers: Record<string, string> = { ...(o.headers ?? {}) };
  if (o.token) headers.authorization = `Bearer ${o.token}`;
  let body: string | FormData | undefined;
  if (o.form) body = o.form;
  else if (o.rawBody !== undefined) {
    headers['content-type'] ??= 'application/json';
    body = o.rawBody;
  } else if (o.body !== undefined) {
    headers['content-type'] ??= 'application/json';
    body = typeof o.body === 'string' ? o.body : JSON.stringify(o.body);
  }
  const res = await fetch(baseUrl + path, { method, headers, body });
  const text = await res.text();
  let json: any;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status, text, json, headers: res.headers };
}

export interface TestServer {
  node: Huiliu;
  url: string;
  testDb: TestDatabase;
  dataDir: string;
  demo: DemoCredentials;
  /** fetch against the server, JSON in and out. */
  api(method: string, path: string, opts?: RequestOptions): Promise<{ status: number; body: any }>;
  login(email: string, password?: string): Promise<string>;
  socket(auth: Record<string, string>, headers?: Record<string, string>): Promise<Socket>;
  close(): Promise<void>;
}

/**
 * A real Huiliu node on a random port over a fresh test database (PGlite in memory or a new PostgreSQL
 * database, chosen by HUILIU_TEST_DB), with the demo workspace seeded.
 */
export async function startTestServer(opts: {
  seed?: boolean;
  /** Fake channel adapters instead of @huiliu/channels' own. */
  channelAdapters?: HuiliuOptions['channelAdapters'];
  /** Delay before a failed job's retry (default: exponential with jitter); channel tests make retries fast. */
  jobBackoff?: HuiliuOptions['jobBackoff'];
  /** Where attachments live (HUILIU_STORAGE; default disk, as on a single node). */
  storage?: 'disk' | 'database';
} = {}): Promise<TestServer> {
  const testDb = await createTestDatabase();
  const dataDir = await mkdtemp(join(tmpdir(), 'huiliu-test-'));
  const config = { ...loadConfig({ PORT: '0', HOST: '127.0.0.1', HUILIU_DATA_DIR: dataDir, LOG_LEVEL: 'silent', ...(opts.storage ? { HUILIU_STORAGE: opts.storage } : {}) }) };
  const node = await startHuiliu({
    config, db: testDb.db, seed: false, logger: createLogger({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }),
    ...(opts.channelAdapters ? { channelAdapters: opts.channelAdapters } : {}),
    ...(opts.jobBackoff ? { jobBackoff: opts.jobBackoff } : {}),
  });
  const demo = opts.seed === false ? (undefined as unknown as DemoCredentials) : await seedDemo(node.services);
  const url = node.url;
  const sockets: Socket[] = [];
  const server: TestServer = {
    node,
    url,
    testDb,
    dataDir,
    demo,
    async api(method, path, o = {}) {
      const r = await httpRequest(url, method, path, o);
      return { status: r.status, body: r.json ?? (r.text || undefined) };
    },
    async login(email, password = demo.password) {
      const r = await server.api('POST', '/api/v1/auth/login', { body: { email, password } });
      if (r.status !== 200) throw new Error(`login failed: ${r.status} ${JSON.stringify(r.body)}`);
      return r.body.token as string;
    },
    socket(auth, headers = {}) {
      return new Promise((resolve, reject) => {
        const s = io(url, { auth, transports: ['websocket'], reconnection: false, extraHeaders: headers, forceNew: true });
        sockets.push(s);
        s.once('connect', () => resolve(s));
        s.once('connect_error', (err) => reject(err));
      });
    },
    async close() {
      for (const s of sockets) s.close();
      await node.close();
      await testDb.drop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
  return server;
}
