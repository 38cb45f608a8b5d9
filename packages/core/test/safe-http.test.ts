import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { classifyAddress, isPublicAddress } from '../src/net/address-policy.ts';
import { createSafeHttpClient, type HostResolver } from '../src/net/safe-http.ts';
import { AppError } from '../src/shared/errors.ts';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;
type TestServer = { port: number; origin: string; hits: () => number; lastRequest: () => IncomingMessage | undefined };

const servers: Array<{ close: () => void }> = [];
afterAll(() => {
  for (const s of servers) s.close();
});

async function serve(handler: Handler): Promise<TestServer> {
  let hits = 0;
  let last: IncomingMessage | undefined;
  const server = createServer((req, res) => {
    hits++;
    last = req;
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push({
    close: () => {
      server.closeAllConnections();
      server.close();
    },
  });
  const { port } = server.address() as AddressInfo;
  return { port, origin: `http://127.0.0.1:${port}`, hits: () => hits, lastRequest: () => last };
}

const ok: Handler = (req, res) => {
  res.setHeader('content-type', 'text/plain');
  res.end(`hello ${req.method} ${req.url}`);
};

/** Resolver that fails the test if reached: proves a check happened before any DNS lookup. */
const noDns: HostResolver = async (host) => {
  throw new Error(`unexpected DNS lookup of ${host}`);
};

async function failure(p: Promise<unknown>): Promise<AppError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(AppError);
    return err as AppError;
  }
  throw new Error('expected the request to fail');
}

describe('address classifier', () => {
  it.each([
    ['10.1.2.3', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['169.254.169.254', 'linkLocal'],
    ['100.64.0.1', 'carrierGradeNat'],
    ['127.0.0.1', 'loopback'],
    ['0.0.0.0', 'unspecified'],
    ['224.0.0.1', 'multicast'],
    ['255.255.255.255', 'broadcast'],
    ['::1', 'loopback'],
    ['::', 'unspecified'],
    ['fc00::1', 'uniqueLocal'],
    ['fd12:3456::1', 'uniqueLocal'],
    ['fe80::1', 'linkLocal'],
    ['ff02::1', 'multicast'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['::ffff:10.0.0.1', 'private'],
    ['64:ff9b::a9fe:a9fe', 'linkLocal'],
    ['2002:7f00:1::', '6to4'],
    ['not-an-ip', 'invalid'],
  ])('%s is refused as %s', (ip, range) => {
    const verdict = classifyAddress(ip);
    expect(verdict.public).toBe(false);
    if (!verdict.public) expect(verdict.range).toBe(range);
  });

  it.each(['93.184.216.34', '8.8.8.8', '172.32.0.1', '100.128.0.1', '2606:4700::1111', '::ffff:93.184.216.34'])(
    '%s is public',
    (ip) => {
      expect(isPublicAddress(ip)).toBe(true);
    },
  );

  it('describes embedded IPv4 addresses', () => {
    const verdict = classifyAddress('::ffff:127.0.0.1');
    expect(!verdict.public && verdict.description).toMatch(/loopback address \(IPv4 127\.0\.0\.1 embedded/);
  });
});

describe('safe http client', () => {
  it('refuses a loopback address by default, naming the host and the allowlist', async () => {
    const srv = await serve(ok);
    const client = createSafeHttpClient({ allowedPorts: [srv.port] });
    const err = await failure(client.request(`${srv.origin}/x`));
    expect(err.code).toBe('ssrf_blocked');
    expect(err.message).toBe('127.0.0.1 is a loopback address; an admin can allow this host in workspace settings (networkAllowlist)');
    expect(srv.hits()).toBe(0);
  });

  it('reaches an allowlisted host on any port and returns status, headers, body and url', async () => {
    const srv = await serve(ok);
    const client = createSafeHttpClient();
    const res = await client.request(`${srv.origin}/ping?q=1`, { allowHosts: ['127.0.0.1'] });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/plain');
    expect(res.body.toString()).toBe('hello GET /ping?q=1');
    expect(res.url).toBe(`${srv.origin}/ping?q=1`);
    expect(res.redirects).toBe(0);
  });

  it('sends method, headers and body, and does not let the caller override Host', async () => {
    const srv = await serve((req, res) => {
      let data = '';
      req.on('data', (c: Buffer) => (data += c.toString()));
      req.on('end', () => res.end(JSON.stringify({ method: req.method, host: req.headers.host, sig: req.headers['x-sig'], data })));
    });
    const client = createSafeHttpClient();
    const res = await client.request(`${srv.origin}/hook`, {
      method: 'post',
      headers: { 'x-sig': 'abc', host: 'evil.example', 'content-type': 'application/json' },
      body: '{"a":1}',
      allowHosts: ['127.0.0.1'],
    });
    expect(JSON.parse(res.body.toString())).toEqual({ method: 'POST', host: `127.0.0.1:${srv.port}`, sig: 'abc', data: '{"a":1}' });
  });

  it('matches allowlist entries case-insensitively and ignores a trailing dot', async () => {
    const srv = await serve(ok);
    const client = createSafeHttpClient({ resolve: async () => [{ address: '127.0.0.1', family: 4 }] });
    const res = await client.request(`http://Orders.Internal.:${srv.port}/`, { allowHosts: ['orders.internal'] });
    expect(res.status).toBe(200);
  });

  it('connects to the address it checked and keeps the original Host header (no second DNS lookup)', async () => {
    const srv = await serve(ok);
    let lookups = 0;
    // A name the OS resolver cannot know: reaching the server proves the connection used the pinned address.
    const client = createSafeHttpClient({
      resolve: async () => {
        lookups++;
        return [{ address: '127.0.0.1', family: 4 }];
      },
    });
    const res = await client.request(`http://api.huiliu-test.invalid:${srv.port}/p`, { allowHosts: ['api.huiliu-test.invalid'] });
    expect(res.status).toBe(200);
    expect(lookups).toBe(1);
    expect(srv.lastRequest()?.headers.host).toBe(`api.huiliu-test.invalid:${srv.port}`);
  });

  it('refuses a hostname when ANY of its addresses is private', async () => {
    const client = createSafeHttpClient({
      resolve: async () => [
        { address: '93.184.216.34', family: 4 },
        { address: '10.0.0.7', family: 4 },
      ],
    });
    const err = await failure(client.request('https://mixed.example/'));
    expect(err.code).toBe('ssrf_blocked');
    expect(err.message).toMatch(/^mixed\.example \(resolves to 10\.0\.0\.7\) is a private network address/);
  });

  it('refuses localhost (resolved through the OS resolver)', async () => {
    const srv = await serve(ok);
    const client = createSafeHttpClient({ allowedPorts: [srv.port] });
    const err = await failure(client.request(`http://localhost:${srv.port}/`));
    expect(err.code).toBe('ssrf_blocked');
    expect(err.message).toMatch(/^localhost \(resolves to (127\.0\.0\.1|::1)\) is a loopback address/);
    expect(srv.hits()).toBe(0);
  });

  it.each([
    ['http://[::1]/', '::1 is a loopback address'],
    ['http://[::ffff:127.0.0.1]/', '::ffff:7f00:1 is a loopback address (IPv4 127.0.0.1 embedded in IPv6)'],
    ['http://[::]/', ':: is an unspecified address'],
    ['http://0.0.0.0/', '0.0.0.0 is an unspecified address'],
    ['http://2130706433/', '127.0.0.1 is a loopback address'],
    ['http://0x7f.1/', '127.0.0.1 is a loopback address'],
    ['http://169.254.169.254/latest/meta-data/', '169.254.169.254 is a link-local address'],
    ['http://[fe80::1]/', 'fe80::1 is a link-local address'],
    ['http://100.64.1.1/', '100.64.1.1 is a carrier-grade NAT (100.64.0.0/10) address'],
  ])('refuses the literal %s', async (url, message) => {
    const client = createSafeHttpClient({ resolve: noDns });
    const err = await failure(client.request(url));
    expect(err.code).toBe('ssrf_blocked');
    expect(err.message).toBe(`${message}; an admin can allow this host in workspace settings (networkAllowlist)`);
  });

  it.each(['file:///etc/passwd', 'ftp://example.com/x', 'gopher://example.com/', 'data:text/plain,hi'])(
    'refuses the scheme of %s',
    async (url) => {
      const client = createSafeHttpClient({ resolve: noDns });
      const err = await failure(client.request(url, { allowHosts: ['example.com'] }));
      expect(err.code).toBe('ssrf_blocked');
      expect(err.message).toMatch(/URLs are not allowed/);
    },
  );

  it('refuses a port outside the allowed list before resolving the host', async () => {
    const client = createSafeHttpClient({ resolve: noDns });
    const err = await failure(client.request('http://example.com:22/'));
    expect(err.code).toBe('ssrf_blocked');
    expect(err.message).toMatch(/^port 22 of example\.com is not allowed \(allowed: 80, 443, 8080, 8443\)/);
  });

  it('refuses userinfo in the URL', async () => {
    const client = createSafeHttpClient({ resolve: noDns });
    const err = await failure(client.request('http://user:pw@example.com/'));
    expect(err.code).toBe('ssrf_blocked');
    expect(err.message).toMatch(/username or password/);
  });

  it('rejects an unparseable URL', async () => {
    const client = createSafeHttpClient({ resolve: noDns });
    expect((await failure(client.request('not a url'))).code).toBe('validation_failed');
  });

  it('refuses a redirect from an allowlisted host to a private address that is not allowlisted', async () => {
    const inner = await serve(ok);
    const client = createSafeHttpClient({ allowedPorts: [inner.port] });
    for (const location of [`http://localhost:${inner.port}/secret`, `http://127.0.0.2:${inner.port}/`, `http://[::1]:${inner.port}/`]) {
      const outer = await serve((_req, res) => res.writeHead(302, { location }).end());
      const err = await failure(client.request(`${outer.origin}/`, { allowHosts: ['127.0.0.1'] }));
      expect(err.code).toBe('ssrf_blocked');
      expect(outer.hits()).toBe(1);
    }
    expect(inner.hits()).toBe(0);
  });

  it('re-checks the port of every hop', async () => {
    const outer = await serve((_req, res) => res.writeHead(301, { location: 'http://example.com:6379/' }).end());
    const client = createSafeHttpClient({ resolve: noDns });
    const err = await failure(client.request(`${outer.origin}/`, { allowHosts: ['127.0.0.1'] }));
    expect(err.code).toBe('ssrf_blocked');
    expect(err.message).toMatch(/^port 6379 of example\.com/);
  });

  it('follows redirects within the allowlist, turning POST into GET on 302', async () => {
    const srv = await serve((req, res) => {
      if (req.url === '/start') res.writeHead(302, { location: '/next' }).end('ignored');
      else ok(req, res);
    });
    const client = createSafeHttpClient();
    const res = await client.request(`${srv.origin}/start`, { method: 'POST', body: 'x', allowHosts: ['127.0.0.1'] });
    expect(res.body.toString()).toBe('hello GET /next');
    expect(res.url).toBe(`${srv.origin}/next`);
    expect(res.redirects).toBe(1);
  });

  it('keeps method and body on 307 and drops credentials on a cross-origin hop', async () => {
    const target = await serve((req, res) => {
      let data = '';
      req.on('data', (c: Buffer) => (data += c.toString()));
      req.on('end', () => res.end(JSON.stringify({ method: req.method, auth: req.headers.authorization ?? null, data })));
    });
    const origin = await serve((_req, res) => res.writeHead(307, { location: `${target.origin}/t` }).end());
    const client = createSafeHttpClient();
    const res = await client.request(`${origin.origin}/`, {
      method: 'PUT',
      body: 'payload',
      headers: { authorization: 'Bearer s3cret' },
      allowHosts: ['127.0.0.1'],
    });
    expect(JSON.parse(res.body.toString())).toEqual({ method: 'PUT', auth: null, data: 'payload' });
  });

  it('stops after maxRedirects', async () => {
    const srv = await serve((req, res) => res.writeHead(302, { location: `/r${Number(req.url?.slice(2) || 0) + 1}` }).end());
    const client = createSafeHttpClient({ maxRedirects: 3 });
    const err = await failure(client.request(`${srv.origin}/r0`, { allowHosts: ['127.0.0.1'] }));
    expect(err.code).toBe('validation_failed');
    expect(err.message).toMatch(/redirected more than 3 times/);
    expect(srv.hits()).toBe(4);
  });

  it('refuses an oversized streamed body (no content-length) while reading', async () => {
    const srv = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      const chunk = Buffer.alloc(64 * 1024, 1);
      let sent = 0;
      const pump = () => {
        while (sent < 64 && !res.destroyed) {
          sent++;
          if (!res.write(chunk)) return res.once('drain', pump);
        }
        res.end();
      };
      pump();
    });
    const client = createSafeHttpClient({ maxResponseBytes: 1024 * 1024 });
    const err = await failure(client.request(`${srv.origin}/big`, { allowHosts: ['127.0.0.1'] }));
    expect(err.code).toBe('payload_too_large');
    expect(err.message).toBe('response from 127.0.0.1 is larger than 1048576 bytes');
  });

  it('refuses a body whose declared content-length is too large without reading it', async () => {
    const srv = await serve((_req, res) => {
      res.writeHead(200, { 'content-length': String(50 * 1024 * 1024) });
      res.write(Buffer.alloc(1024));
    });
    const client = createSafeHttpClient();
    const err = await failure(client.request(`${srv.origin}/`, { allowHosts: ['127.0.0.1'] }));
    expect(err.code).toBe('payload_too_large');
  });

  it('does not apply the declared size of a HEAD response', async () => {
    const srv = await serve((_req, res) => res.writeHead(200, { 'content-length': String(50 * 1024 * 1024) }).end());
    const client = createSafeHttpClient();
    const res = await client.request(`${srv.origin}/`, { method: 'HEAD', allowHosts: ['127.0.0.1'] });
    expect(res.status).toBe(200);
    expect(res.body.length).toBe(0);
  });

  it('accepts a body exactly at the limit', async () => {
    const srv = await serve((_req, res) => res.end(Buffer.alloc(1000, 7)));
    const client = createSafeHttpClient({ maxResponseBytes: 1000 });
    const res = await client.request(`${srv.origin}/`, { allowHosts: ['127.0.0.1'] });
    expect(res.body.length).toBe(1000);
  });

  it('times out when the server never answers', async () => {
    const srv = await serve(() => {});
    const client = createSafeHttpClient({ timeoutMs: 300 });
    const started = Date.now();
    const err = await failure(client.request(`${srv.origin}/slow`, { allowHosts: ['127.0.0.1'] }));
    expect(err.message).toBe('request to 127.0.0.1 timed out after 300 ms');
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('times out when the body stalls half way', async () => {
    const srv = await serve((_req, res) => {
      res.writeHead(200);
      res.write('partial');
    });
    const client = createSafeHttpClient();
    const err = await failure(client.request(`${srv.origin}/`, { allowHosts: ['127.0.0.1'], timeoutMs: 300 }));
    expect(err.message).toMatch(/timed out after 300 ms/);
  });

  it('includes a hanging DNS lookup in the deadline', async () => {
    const client = createSafeHttpClient({ timeoutMs: 200, resolve: () => new Promise(() => {}) });
    const err = await failure(client.request('https://hangs.example/'));
    expect(err.message).toMatch(/resolving hangs\.example timed out/);
  });

  it('honours the caller abort signal', async () => {
    const srv = await serve(() => {});
    const client = createSafeHttpClient();
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 100);
    const err = await failure(client.request(`${srv.origin}/`, { allowHosts: ['127.0.0.1'], signal: ac.signal }));
    expect(err.message).toMatch(/was cancelled/);
  });
});
