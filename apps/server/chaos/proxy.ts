import { createServer, connect, type Server, type Socket } from 'node:net';

/**
 * A tiny TCP round-robin load balancer in front of the Huiliu nodes, as clients meet one in production:
 * - health check: GET /healthz every 500 ms with a 1 s timeout; two misses in a row take a backend out
 *   (a SIGSTOPped node still accepts TCP connections in the kernel, so only the health check sees it);
 * - a new client connection goes to the next healthy backend; if connecting fails (node killed) it tries the
 *   next one before giving up;
 * - established connections are never cut by the proxy: clients notice a dead or frozen node themselves
 *   (socket closed, ack or liveness timeout) and reconnect, landing on a healthy node;
 * - the backend connection is made from the client's own loopback address, so the server's per-IP rate
 *   limits see each simulated person's address, not the proxy's.
 */
export interface Backend {
  name: string;
  port: number;
}

interface BackendState extends Backend {
  healthy: boolean;
  misses: number;
  conns: Set<Socket>;
}

export interface Proxy {
  port: number;
  /** Connections accepted per backend so far. */
  stats(): Record<string, { healthy: boolean; accepted: number; open: number }>;
  close(): Promise<void>;
}

export async function startProxy(backends: Backend[], port = 0): Promise<Proxy> {
  const states: BackendState[] = backends.map((b) => ({ ...b, healthy: true, misses: 0, conns: new Set() }));
  const accepted = new Map<string, number>(backends.map((b) => [b.name, 0]));
  let next = 0;
  let closed = false;

  const check = async (b: BackendState) => {
    let ok = false;
    try {
      const r = await fetch(`http://127.0.0.1:${b.port}/healthz`, { signal: AbortSignal.timeout(1000) });
      ok = r.status === 200;
      await r.body?.cancel();
    } catch {
      ok = false;
    }
    if (ok) {
      b.misses = 0;
      b.healthy = true;
    } else if (++b.misses >= 2) b.healthy = false;
  };
  const health = setInterval(() => {
    for (const b of states) void check(b);
  }, 500);

  const open = (client: Socket, order: BackendState[]) => {
    const b = order.shift();
    if (!b) {
      client.destroy();
      return;
    }
    const localAddress = client.remoteAddress?.replace(/^::ffff:/, '');
    const upstream = connect({ port: b.port, host: '127.0.0.1', ...(localAddress && localAddress.startsWith('127.') ? { localAddress } : {}) });
    let connected = false;
    upstream.once('connect', () => {
      connected = true;
      accepted.set(b.name, (accepted.get(b.name) ?? 0) + 1);
      b.conns.add(upstream);
      client.pipe(upstream);
      upstream.pipe(client);
    });
    upstream.on('error', () => {
      if (!connected) {
        // Refused: the node is down. Take it out at once (the health check brings it back) and try the next.
        b.healthy = false;
        upstream.destroy();
        open(client, order);
      } else client.destroy();
    });
    upstream.on('close', () => {
      b.conns.delete(upstream);
      if (connected) client.destroy();
    });
    client.on('error', () => upstream.destroy());
    client.on('close', () => upstream.destroy());
  };

  const server: Server = createServer({ pauseOnConnect: false }, (client) => {
    if (closed) return client.destroy();
    const healthy = states.filter((s) => s.healthy);
    const pool = healthy.length ? healthy : states; // none known healthy: try them all
    const start = next++ % pool.length;
    const order = [...pool.slice(start), ...pool.slice(0, start)];
    // Hold the client's bytes until the backend is connected (pipe() starts the flow).
    client.pause();
    open(client, order);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return {
    port: (server.address() as { port: number }).port,
    stats: () => Object.fromEntries(states.map((s) => [s.name, { healthy: s.healthy, accepted: accepted.get(s.name) ?? 0, open: s.conns.size }])),
    async close() {
      closed = true;
      clearInterval(health);
      for (const s of states) for (const c of s.conns) c.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
