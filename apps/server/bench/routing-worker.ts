/**
 * Child process of `npm run bench -- routing`: one routing worker (a node) racing another for the same
 * queue. It builds the real services (apps/server/src/services.ts) on PostgreSQL and calls
 * `routing.route()` — snapshot query, strategy pick, then the atomic claim (`claimFor` → conversation
 * service `claimUnassigned`: ONE call of the SQL function `huiliu_routing_claim`, which locks the
 * presence row, re-checks the load, assigns, appends the activity line and records the decision) — for
 * every queued conversation, in queue order, with `concurrency` routes in flight. `claimUnassigned` is
 * wrapped only to time it and to record which claims reported success; the database handle is wrapped
 * only to time the claim's SQL call and read the per-step timings the function returns.
 *
 * Protocol (IPC): parent → {type:'setup', …}; child → {type:'ready'}; parent → {type:'go'};
 * child → {type:'result', …} or {type:'error', message}.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomBytes } from 'node:crypto';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { tmpdir } from 'node:os';
import { openPostgres } from '@huiliu/core/db/postgres';
import { createLogger } from '@huiliu/core/shared/logger';
import { createServices } from '../src/services.ts';

export interface WorkerSetup {
  type: 'setup';
  url: string;
  workspaceId: string;
  /** Queue order (priority, then longest waiting): both workers walk the same list. */
  conversationIds: string[];
  concurrency: number;
  label: string;
}

export interface WorkerResult {
  type: 'result';
  label: string;
  /** Time of each claim (claimUnassigned: one SQL call that locks, re-checks, assigns, appends, records), ms. */
  claimMs: number[];
  /** The same times by result: 'ok' or the refusal reason. */
  claimMsByResult: Record<string, number[]>;
  /** Per claim, where the time went (ms); see CLAIM_PHASES. */
  phases: Record<ClaimPhase, number[]>;
  /** Time of each whole route() call (snapshot + decision + claim attempts), ms. */
  routeMs: number[];
  /** Claims that reported success: [conversationId, agentId]. */
  won: [string, string][];
  refusals: Record<string, number>;
  outcomes: Record<string, number>;
  wallMs: number;
  /** CPU time this worker used during the race (user + system), ms. */
  cpuMs: number;
  /** p99 of the event loop's delay during the race (1 ms resolution), ms. */
  loopDelayP99Ms: number;
}

/**
 * Phases of one claim (ms). Client side: `prepare` (claimUnassigned until the SQL call: search document,
 * parameters), `call` (the SQL call's round trip as the worker sees it), `publish` (after the call:
 * presenting the rows, events). Inside the function (its `timings`): `startup` (from the statement's
 * arrival to the function's first line: parse, plan, executor start), `lockWait` (presence row FOR UPDATE
 * SKIP LOCKED), `check` (load re-count), `update` (conditional UPDATE of the conversation), `message`
 * (activity line insert), `record` (decision, last-routed time, round-robin cursor), `server` (the whole
 * function). `outside` = call − server: pool checkout, network, parse / plan, COMMIT, and the time either
 * process waited for a CPU.
 */
export const CLAIM_PHASES = ['prepare', 'call', 'outside', 'server', 'startup', 'lockWait', 'check', 'update', 'message', 'record', 'publish'] as const;
export type ClaimPhase = (typeof CLAIM_PHASES)[number];

interface ClaimTrace {
  callStart?: bigint;
  callEnd?: bigint;
  timings?: Record<string, number>;
}

const send = (m: unknown) => process.send!(m);

async function run(setup: WorkerSetup): Promise<void> {
  const realDb = await openPostgres(setup.url, { max: setup.concurrency + 2 });
  const now = () => process.hrtime.bigint();
  const msBetween = (a: bigint, b: bigint) => Number(b - a) / 1e6;
  // Which claim a database call belongs to (4 claims are in flight at once).
  const traces = new AsyncLocalStorage<ClaimTrace>();
  const db: typeof realDb = {
    ...realDb,
    async query(text, params) {
      const trace = traces.getStore();
      if (!trace || !text.includes('huiliu_routing_claim(')) return realDb.query(text, params);
      trace.callStart = now();
      const rows = await realDb.query(text, params);
      trace.callEnd = now();
      trace.timings = (rows[0]?.r as { timings?: Record<string, number> } | undefined)?.timings;
      return rows as never;
    },
  };
  const services = createServices({
    db,
    logger: createLogger({ level: 'silent' }),
    masterKey: randomBytes(32),
    attachmentsDir: tmpdir(),
    maxUploadBytes: 1_000_000,
  });
  const { conversations, routing } = services;

  const claimMs: number[] = [];
  const claimMsByResult: Record<string, number[]> = {};
  const routeMs: number[] = [];
  const won: [string, string][] = [];
  const refusals: Record<string, number> = {};
  const outcomes: Record<string, number> = {};
  const phases = Object.fromEntries(CLAIM_PHASES.map((k) => [k, [] as number[]])) as WorkerResult['phases'];
  const realClaim = conversations.claimUnassigned.bind(conversations);
  // The routing service looks the method up on this object at call time, so the wrapper sees every claim.
  conversations.claimUnassigned = async (input) => {
    const trace: ClaimTrace = {};
    const t0 = now();
    const r = await traces.run(trace, () => realClaim(input));
    const t1 = now();
    claimMs.push(msBetween(t0, t1));
    (claimMsByResult[r.ok ? 'ok' : r.reason] ??= []).push(msBetween(t0, t1));
    if (trace.callStart && trace.callEnd) {
      const call = msBetween(trace.callStart, trace.callEnd);
      phases.prepare.push(msBetween(t0, trace.callStart));
      phases.call.push(call);
      phases.publish.push(msBetween(trace.callEnd, t1));
      const t = trace.timings ?? {};
      if (t.total !== undefined) {
        phases.server.push(t.total);
        phases.outside.push(call - t.total);
      }
      const inside: [ClaimPhase, string][] = [['startup', 'startup'], ['lockWait', 'lock'], ['check', 'check'], ['update', 'update'], ['message', 'message'], ['record', 'record']];
      for (const [phase, key] of inside) if (t[key] !== undefined) phases[phase].push(t[key]);
    }
    if (r.ok) won.push([input.conversationId, input.assigneeId]);
    else refusals[r.reason] = (refusals[r.reason] ?? 0) + 1;
    return r;
  };

  // Warm the pool's connections and the JIT before the race (a read-only query per connection).
  await Promise.all(Array.from({ length: setup.concurrency }, () => db.query('SELECT 1')));
  send({ type: 'ready' });
  await new Promise<void>((r) => process.once('message', () => r()));

  // How late this process got to run (timers fire late when the CPUs are busy): the claim's `outside` share.
  const eld = monitorEventLoopDelay({ resolution: 1 });
  eld.enable();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let next = 0;
  const loop = async () => {
    while (next < setup.conversationIds.length) {
      const id = setup.conversationIds[next++]!;
      const s = process.hrtime.bigint();
      const r = await routing.route(setup.workspaceId, id, 'bench');
      routeMs.push(Number(process.hrtime.bigint() - s) / 1e6);
      const key = r.outcome === 'skipped' ? `skipped:${r.why}` : r.outcome;
      outcomes[key] = (outcomes[key] ?? 0) + 1;
    }
  };
  await Promise.all(Array.from({ length: setup.concurrency }, loop));
  const wallMs = performance.now() - t0;
  eld.disable();
  const cpu = process.cpuUsage(cpu0);
  const loopDelayP99Ms = eld.percentile(99) / 1e6;
  const cpuMs = (cpu.user + cpu.system) / 1000;
  const result: WorkerResult = { type: 'result', label: setup.label, claimMs, claimMsByResult, phases, routeMs, won, refusals, outcomes, wallMs, cpuMs, loopDelayP99Ms };
  send(result);
  await realDb.close();
}

process.once('message', (m: WorkerSetup) => {
  run(m).then(
    () => process.exit(0),
    (err: unknown) => {
      send({ type: 'error', message: err instanceof Error ? err.stack ?? err.message : String(err) });
      setTimeout(() => process.exit(1), 100);
    },
  );
});
