import { io, type Socket } from 'socket.io-client';

/**
 * One client process of the connections benchmark (forked by connections.ts): opens its share of idle
 * widget sockets and holds them. Several processes share the 10,000 sockets so no single client process
 * becomes the bottleneck (memory, event loop) of the measurement.
 *
 * IPC: → ready ← connect {url, visitors, concurrency} → connected {latencies, failures} ← close → closed {disconnects}.
 */
export interface ConnectJob {
  type: 'connect';
  url: string;
  /** Visitor token and the loopback address this visitor signed up from (its own "IP"). */
  visitors: { visitorToken: string; localAddress: string }[];
  concurrency: number;
}

export interface ConnectedReport {
  type: 'connected';
  latencies: number[];
  failures: number;
  firstError?: string;
  connectMs: number;
}

const send = (m: unknown) => process.send!(m);

function connectOne(url: string, visitorToken: string, localAddress: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    // forceNew: one WebSocket per visitor, as one browser per visitor. No reconnection: a drop is counted.
    const s = io(url, { auth: { visitorToken }, transports: ['websocket'], reconnection: false, forceNew: true, timeout: 60_000, localAddress } as Parameters<typeof io>[1]);
    s.once('connect', () => resolve(s));
    s.once('connect_error', (err) => {
      s.close();
      reject(new Error(`${err.message} ${JSON.stringify((err as { data?: unknown }).data ?? '')}`));
    });
  });
}

async function run(job: ConnectJob): Promise<void> {
  const sockets: Socket[] = [];
  const latencies: number[] = [];
  let failures = 0;
  let firstError: string | undefined;
  let disconnects = 0;
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: Math.min(job.concurrency, job.visitors.length) }, async () => {
      while (next < job.visitors.length) {
        const v = job.visitors[next++]!;
        const t = performance.now();
        try {
          const s = await connectOne(job.url, v.visitorToken, v.localAddress);
          latencies.push(performance.now() - t);
          s.on('disconnect', () => disconnects++);
          sockets.push(s);
        } catch (err) {
          failures++;
          firstError ??= err instanceof Error ? err.message : String(err);
        }
      }
    }),
  );
  send({ type: 'connected', latencies, failures, ...(firstError ? { firstError } : {}), connectMs: performance.now() - t0 } satisfies ConnectedReport);
  process.once('message', () => {
    const dropped = disconnects;
    for (const s of sockets) s.removeAllListeners('disconnect').close();
    send({ type: 'closed', disconnects: dropped, open: sockets.length - dropped });
  });
}

process.once('message', (m: ConnectJob) => {
  run(m).catch((err: unknown) => send({ type: 'error', message: err instanceof Error ? err.stack ?? err.message : String(err) }));
});
// Loaded (tsx compiled us): the parent starts its clock only when every client process is ready.
send({ type: 'ready' });
