import http from 'node:http';

/**
 * JSON over node:http, optionally from a given local (loopback) address: every simulated visitor or
 * agent signs up from its own 127.x.y.z address, like real clients on their own IPs, so the server's
 * per-IP rate limits apply to each of them separately and stay at their shipped values.
 */
export interface ApiResponse {
  status: number;
  body: any;
}

const keepAlive = new http.Agent({ keepAlive: true, maxSockets: 32 });

export function api(
  base: string,
  method: string,
  path: string,
  opts: { token?: string | undefined; body?: unknown; localAddress?: string | undefined; timeoutMs?: number } = {},
): Promise<ApiResponse> {
  const url = new URL(path, base);
  const payload = opts.body === undefined ? undefined : Buffer.from(JSON.stringify(opts.body));
  const headers: Record<string, string | number> = { accept: 'application/json' };
  if (payload) {
    headers['content-type'] = 'application/json';
    headers['content-length'] = payload.length;
  }
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname + url.search,
        method,
        headers,
        ...(opts.localAddress ? { localAddress: opts.localAddress, agent: false } : { agent: keepAlive }),
        timeout: opts.timeoutMs ?? 30_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let body: unknown = text;
          try {
            body = text ? JSON.parse(text) : undefined;
          } catch {
            /* not JSON */
          }
          resolve({ status: res.statusCode ?? 0, body });
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: timed out`)));
    req.on('error', reject);
    if (payload) req.write(payload);
    req.end();
  });
}

/** Calls the API and throws a readable error unless the status is the expected one. */
export async function expectStatus(
  base: string,
  method: string,
  path: string,
  status: number,
  opts: Parameters<typeof api>[3] = {},
): Promise<any> {
  const r = await api(base, method, path, opts);
  if (r.status !== status) {
    throw new Error(`${method} ${path} → ${r.status} (expected ${status}): ${typeof r.body === 'string' ? r.body.slice(0, 300) : JSON.stringify(r.body).slice(0, 300)}`);
  }
  return r.body;
}

export function closeHttpAgents(): void {
  keepAlive.destroy();
}

/** Runs fn over items with at most `limit` in flight. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!, i);
    }
  });
  await Promise.all(workers);
  return out;
}

/** A distinct loopback address per simulated client: 127.<group>.<hi>.<lo>, never .0 or .255. */
export function loopbackAddress(group: number, index: number): string {
  return `127.${group}.${Math.floor(index / 250)}.${(index % 250) + 1}`;
}
