import { randomBytes } from 'node:crypto';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { io, type Socket } from 'socket.io-client';


/**
 * The client side of the realtime benchmark, run in its own process (forked by realtime.ts) so it has a
 * core to itself: V visitor sockets and A agent sockets over real Socket.IO (websocket transport).
 *
 * Protocol with the parent (IPC): ← setup, → connected, ← go, → result. The same code drives both the
 * Huiliu server and the bare relay baseline.
 *
 * Message k (0-based, global) is sent by visitor k % V as its seq floor(k / V), with clientId `m<run>:<k>`.
 * `<run>` is random per load: a later load on the same conversations (the cluster bench measures one node,
 * then N nodes, on one database) must not reuse a clientId, which the server treats as a retry (no broadcast).
 * Latency = agent receipt − visitor send, both from this process's performance.now().
 */
export interface LoadSetup {
  type: 'setup';
  /** The server every socket connects to, unless `urls` + per-socket `node` say otherwise (cluster runs). */
  url: string;
  urls?: string[];
  visitors: { visitorToken: string; conversationId: string; agent: number; node?: number }[];
  agents: { token: string; node?: number }[];
  rate: number;
  seconds: number;
  drainMs: number;
  tickMs: number;
  /** Seconds of uncounted load at `rate` after the warm-up round (fresh processes: JIT, pools, plans). */
  warmupSeconds?: number;
}

export interface LoadResult {
  type: 'result';
  sent: number;
  acked: number;
  nacked: number;
  nackCodes: Record<string, number>;
  unanswered: number;
  delivered: number;
  lost: number;
  duplicated: number;
  outOfOrder: number;
  misrouted: number;
  disconnects: number;
  /** Latencies (ms) of first receipts and of acks, for the parent to summarize. */
  latencies: number[];
  ackLatencies: number[];
  /** Per second of sending: messages sent then, delivered, and their latency p50/p99 (ms). */
  timeline: { sent: number; delivered: number; p50: number; p99: number }[];
  firstSendMs: number;
  lastSendMs: number;
  lastDeliveryMs: number;
  /** process.hrtime (ns, as string) at the first send and when the drain ended: the load window. */
  windowHr: [string, string];
  warmup: { sent: number; delivered: number; ms: number };
  connectMs: number;
  loopLagP99Ms: number;
  loopLagMaxMs: number;
  cpuPct: number;
  /**
   * Per node (index into `urls`; one entry without them): visitor sends acked through it (`in`), first
   * receipts by its agents (`out`), and first receipts of messages whose visitor sat on another node.
   */
  perNode: { in: number; out: number; outCross: number }[];
}

const send = (m: unknown) => process.send!(m);
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function connect(url: string, auth: Record<string, string>): Promise<Socket> {
  return new Promise((resolve, reject) => {
    // forceNew: one engine (one WebSocket) per simulated client, no multiplexing.
    const s = io(url, { auth, transports: ['websocket'], reconnection: false, forceNew: true, timeout: 30_000 });
    s.once('connect', () => resolve(s));
    s.once('connect_error', (err) => {
      s.close();
      reject(new Error(`socket connect failed: ${err.message} ${JSON.stringify((err as { data?: unknown }).data ?? '')}`));
    });
  });
}

async function connectAll(urls: string[], targets: { node: number; auth: Record<string, string> }[], concurrency: number): Promise<Socket[]> {
  const out = new Array<Socket>(targets.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < targets.length) {
        const i = next++;
        out[i] = await connect(urls[targets[i]!.node]!, targets[i]!.auth);
      }
    }),
  );
  return out;
}

/** Calls send(i) for i = from … to-1, paced at `rate` per second from the moment it starts. */
function paced(count: number, rate: number, tickMs: number, sendOne: (i: number) => void): Promise<void> {
  return new Promise((resolve) => {
    if (count === 0) return resolve();
    const t0 = performance.now();
    let sent = 0;
    const tick = () => {
      const due = Math.min(count, Math.floor(((performance.now() - t0) / 1000) * rate) + 1);
      while (sent < due) sendOne(sent++);
      if (sent >= count) {
        clearInterval(timer);
        resolve();
      }
    };
    const timer = setInterval(tick, tickMs);
    tick();
  });
}

async function run(cfg: LoadSetup): Promise<void> {
  const V = cfg.visitors.length;
  const A = cfg.agents.length;
  const total = Math.round(cfg.rate * cfg.seconds);
  const expectedAgent = Int32Array.from(cfg.visitors, (v) => v.agent);

  const sendAt = new Float64Array(total);
  const recvAt = new Float64Array(total);
  const recvCount = new Uint16Array(total);
  const ackAt = new Float64Array(total);
  const ackState = new Uint8Array(total); // 0 none, 1 ok, 2 failed
  const lastSeq = new Int32Array(V).fill(-1);
  const warmDelivered = new Uint8Array(V);
  let delivered = 0, duplicated = 0, outOfOrder = 0, misrouted = 0, acked = 0, nacked = 0, answered = 0, warmCount = 0, disconnects = 0;
  let lastDelivery = 0;
  const nackCodes: Record<string, number> = {};

  const run = randomBytes(4).toString('hex');
  const mPrefix = `m${run}:`;
  const wPrefix = `w${run}:`;
  const urls = cfg.urls?.length ? cfg.urls : [cfg.url];
  const nodeOf = (n: number | undefined) => (n === undefined ? 0 : n % urls.length);
  const agentNode = Int32Array.from(cfg.agents, (a) => nodeOf(a.node));
  const visitorNode = Int32Array.from(cfg.visitors, (v) => nodeOf(v.node));
  const perNode = urls.map(() => ({ in: 0, out: 0, outCross: 0 }));

  const tc = performance.now();
  const agentSockets = await connectAll(urls, cfg.agents.map((a, i) => ({ node: agentNode[i]!, auth: { token: a.token } })), 10);
  const visitorSockets = await connectAll(urls, cfg.visitors.map((v, i) => ({ node: visitorNode[i]!, auth: { visitorToken: v.visitorToken } })), 25);
  const connectMs = performance.now() - tc;
  for (const s of [...agentSockets, ...visitorSockets]) s.on('disconnect', () => disconnects++);

  agentSockets.forEach((sock, a) => {
    sock.on('message.created', (msg: { clientId?: string | null }) => {
      const now = performance.now();
      const cid = msg?.clientId;
      if (typeof cid !== 'string') return; // activity lines etc.
      if (cid.startsWith(mPrefix)) {
        const k = Number(cid.slice(mPrefix.length));
        if (!(k >= 0 && k < total)) return;
        const v = k % V;
        if (expectedAgent[v] !== a) {
          misrouted++;
          return;
        }
        // Raw receipts, before any dedupe: order first, then duplicates.
        const seq = Math.floor(k / V);
        if (seq < lastSeq[v]!) outOfOrder++;
        else lastSeq[v] = seq;
        const seen = recvCount[k]!;
        recvCount[k] = seen + 1;
        if (seen > 0) {
          duplicated++;
          return;
        }
        recvAt[k] = now;
        delivered++;
        lastDelivery = now;
        const pn = perNode[agentNode[a]!]!;
        pn.out++;
        if (visitorNode[v] !== agentNode[a]) pn.outCross++;
      } else if (cid.startsWith(wPrefix)) {
        const v = Number(cid.slice(wPrefix.length));
        if (expectedAgent[v] === a && !warmDelivered[v]) {
          warmDelivered[v] = 1;
          warmCount++;
        }
      }
    });
  });
  send({ type: 'connected', connectMs });
  await new Promise<void>((r) => process.once('message', () => r()));

  // Warm-up: one message per visitor at the same rate, not counted; it also proves every agent has
  // joined its rooms (joining happens asynchronously after the handshake).
  const tw = performance.now();
  await paced(V, cfg.rate, cfg.tickMs, (v) => {
    visitorSockets[v]!.emit('message.send', { conversationId: cfg.visitors[v]!.conversationId, clientId: `${wPrefix}${v}`, contentType: 'text', text: `warm-up ${v}` }, () => {});
  });
  const warmDeadline = performance.now() + 15_000;
  while (warmCount < V && performance.now() < warmDeadline) await sleep(20);
  const warmup = { sent: V, delivered: warmCount, ms: performance.now() - tw };
  if (cfg.warmupSeconds) {
    // Same pacing and round-robin as the measured load; receipts are not counted (another clientId prefix).
    const warmTotal = Math.round(cfg.rate * cfg.warmupSeconds);
    await paced(warmTotal, cfg.rate, cfg.tickMs, (k) => {
      const v = k % V;
      visitorSockets[v]!.emit('message.send', { conversationId: cfg.visitors[v]!.conversationId, clientId: `x${run}:${k}`, contentType: 'text', text: `warm-up load ${k}` }, () => {});
    });
    warmup.sent += warmTotal;
    await sleep(1000);
  }
  await sleep(500);

  const lag = monitorEventLoopDelay({ resolution: 10 });
  lag.enable();
  const cpu0 = process.cpuUsage();
  const hr0 = process.hrtime.bigint();
  const t0 = performance.now();
  await paced(total, cfg.rate, cfg.tickMs, (k) => {
    const v = k % V;
    const seq = Math.floor(k / V);
    const now = performance.now();
    sendAt[k] = now;
    visitorSockets[v]!.emit(
      'message.send',
      { conversationId: cfg.visitors[v]!.conversationId, clientId: `${mPrefix}${k}`, contentType: 'text', text: `bench seq=${seq} t=${now.toFixed(3)} visitor=${v}` },
      (ack: { ok: boolean; error?: { code?: string } }) => {
        answered++;
        ackAt[k] = performance.now();
        if (ack?.ok) {
          ackState[k] = 1;
          acked++;
          perNode[visitorNode[v]!]!.in++;
        } else {
          ackState[k] = 2;
          nacked++;
          const code = ack?.error?.code ?? 'unknown';
          nackCodes[code] = (nackCodes[code] ?? 0) + 1;
        }
      },
    );
  });
  const lastSend = performance.now();
  // Drain: until every answer is in and every acked message has reached its agent, or drainMs.
  while (performance.now() - lastSend < cfg.drainMs && !(answered === total && delivered >= acked)) await sleep(10);
  await sleep(250); // late duplicates
  const hr1 = process.hrtime.bigint();
  const cpu = process.cpuUsage(cpu0);
  const wall = performance.now() - t0;
  lag.disable();

  let lost = 0;
  const latencies: number[] = [];
  const seconds = Math.ceil(cfg.seconds);
  const buckets = Array.from({ length: seconds }, () => ({ sent: 0, lat: [] as number[] }));
  const ackLatencies: number[] = [];
  for (let k = 0; k < total; k++) {
    const b = buckets[Math.min(seconds - 1, Math.floor((sendAt[k]! - t0) / 1000))]!;
    b.sent++;
    if (recvCount[k]! > 0) {
      latencies.push(recvAt[k]! - sendAt[k]!);
      b.lat.push(recvAt[k]! - sendAt[k]!);
    } else if (ackState[k] === 1) lost++;
    if (ackState[k] === 1) ackLatencies.push(ackAt[k]! - sendAt[k]!);
  }
  const pct = (xs: number[], p: number) => {
    if (xs.length === 0) return NaN;
    xs.sort((a, b) => a - b);
    return Math.round(xs[Math.min(xs.length - 1, Math.ceil(p * xs.length) - 1)]! * 10) / 10;
  };
  const timeline = buckets.map((b) => ({ sent: b.sent, delivered: b.lat.length, p50: pct(b.lat, 0.5), p99: pct(b.lat, 0.99) }));
  const result: LoadResult = {
    type: 'result',
    sent: total,
    acked,
    nacked,
    nackCodes,
    unanswered: total - answered,
    delivered,
    lost,
    duplicated,
    outOfOrder,
    misrouted,
    disconnects,
    latencies,
    ackLatencies,
    timeline,
    firstSendMs: 0,
    lastSendMs: lastSend - t0,
    lastDeliveryMs: lastDelivery ? lastDelivery - t0 : NaN,
    windowHr: [hr0.toString(), hr1.toString()],
    warmup,
    connectMs,
    // The histogram records whole timer intervals: subtract the 10 ms resolution to get the lag.
    loopLagP99Ms: Math.max(0, lag.percentile(99) / 1e6 - 10),
    loopLagMaxMs: Math.max(0, lag.max / 1e6 - 10),
    cpuPct: ((cpu.user + cpu.system) / 1000 / wall) * 100,
    perNode,
  };
  for (const s of [...agentSockets, ...visitorSockets]) s.removeAllListeners('disconnect').close();
  send(result);
}

process.once('message', (m: LoadSetup) => {
  run(m).catch((err: unknown) => {
    send({ type: 'error', message: err instanceof Error ? err.stack ?? err.message : String(err) });
  });
});
