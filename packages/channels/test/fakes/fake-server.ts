/**
 * The HTTP plumbing every local platform fake shares: a server on a random loopback port that hands each
 * request to the fake with its whole body already read (fakes verify signatures over the exact bytes),
 * and a close that also drops kept-alive connections, so a test's afterAll never waits on an idle socket.
 * What a fake accepts, refuses and records stays in the fake: that is where the platforms differ.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { InboundHttpRequest } from '../../src/adapter.ts';

export type FakeRequestHandler = (req: IncomingMessage, res: ServerResponse, body: Buffer) => unknown;

export interface FakeServer {
  readonly server: Server;
  /** http://127.0.0.1:<port>, what an adapter's config or a media URL points at. */
  readonly baseUrl: string;
  close(): Promise<void>;
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** Listens on 127.0.0.1 (port chosen by the OS) and passes each request with its body to `handle`. */
export async function startFakeServer(handle: FakeRequestHandler): Promise<FakeServer> {
  const server = createServer(async (req, res) => {
    const body = await readBody(req);
    await handle(req, res, body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    server,
    baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

/**
 * A platform's webhook as an adapter's receive() gets it: a JSON POST with the platform's headers. A string
 * or Buffer body is kept byte for byte (what signatures are computed over); anything else is serialized.
 */
export function jsonWebhookRequest(body: unknown, headers: Record<string, string>, path = '/api/channels/v1/test/webhook'): InboundHttpRequest {
  const rawBody = Buffer.isBuffer(body) ? body : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
  return { method: 'POST', url: path, query: {}, headers: { 'content-type': 'application/json', ...headers }, rawBody };
}
