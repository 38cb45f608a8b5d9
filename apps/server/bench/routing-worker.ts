/**
 * Child process of `npm run bench -- routing`: one routing worker (a node) racing another for the same
 * queue. It builds the real services (apps/server/src/services.ts) on PostgreSQL and calls
 * `routing.route()` — snapshot query, strategy pick, then the atomic claim (`claimFor` → conversation
 * service `claimUnassigned` with the presence-row lock and load re-check) — for every queued
 * conversation, in queue order, with `concurrency` routes in flight. `claimUnassigned` is wrapped only
 * to time it and to record which claims reported success.
 *
 * Protocol (IPC): parent → {type:'setup', …}; child → {type:'ready'}; parent → {type:'go'};
 * child → {type:'result', …} or {type:'error', message}.
 */
import { randomBytes } from 'node:crypto';
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
  /** Time of each claim transaction (claimUnassigned: guard with FOR UPDATE, UPDATE, activity, decision), ms. */
  claimMs: number[];
  /** Per claim, where the time went (ms): until the guard ran (pool connect + BEGIN), the guard (presence
   * row FOR UPDATE incl. lock wait + load re-count), UPDATE + activity message, record (routing_decisions,
   * last_routed_at), COMMIT + publish. */
  phases: { begin: number[]; guard: number[]; lockWait: number[]; update: number[]; record: number[]; commit: number[] };
  /** Time of each whole route() call (snapshot + decision + claim attempts), ms. */
  routeMs: number[];
  /** Claims that reported success: [conversationId, agentId]. */
  won: [string, string][];
  refusals: Record<string, number>;
  outcomes: Record<string, number>;
  wallMs: number;
}

const send = (m: unknown) => process.send!(m);

async function run(setup: WorkerSetup): Promise<void> {
  const db = await openPostgres(setup.url, { max: setup.concurrency + 2 });
  const services = createServices({
    db,
    logger: createLogger({ level: 'silent' }),
    masterKey: randomBytes(32),
    attachmentsDir: tmpdir(),
    maxUploadBytes: 1_000_000,
  });
  const { conversations, routing } = services;

  const claimMs: number[] = [];
  const routeMs: number[] = [];
  const won: [string, string][] = [];
  const refusals: Record<string, number> = {};
  const outcomes: Record<string, number> = {};
  const phases: WorkerResult['phases'] = { begin: [], guard: [], lockWait: [], update: [], record: [], commit: [] };
  const realClaim = conversations.claimUnassigned.bind(conversations);
  const now = () => process.hrtime.bigint();
  const msBetween = (a: bigint, b: bigint) => Number(b - a) / 1e6;
  // The routing service looks the method up on this object at call time, so the wrapper sees every claim.
  // The guard and record callbacks are wrapped (not changed) to split the claim's time into phases.
  conversations.claimUnassigned = async (input) => {
    const t0 = now();
    let g0 = 0n, g1 = 0n, r0 = 0n, r1 = 0n, l0 = 0n, l1 = 0n;
    const guard = input.guard;
    const record = input.record;
    const r = await realClaim({
      ...input,
      guard: guard && (async (tx) => {
        g0 = now();
        const traced = { query: async (text: string, params?: readonly unknown[]) => {
          const forUpdate = /FOR UPDATE/.test(text);
          if (forUpdate) l0 = now();
          const rows = await tx.query(text, params);
          if (forUpdate) l1 = now();
          return rows;
        } } as typeof tx;
        const out = await guard(traced);
        g1 = now();
        return out;
      }),
      record: record && (async (tx, c) => {
        r0 = now();
        await record(tx, c);
        r1 = now();
      }),
    });
    const t1 = now();
    claimMs.push(msBetween(t0, t1));
    if (g0) phases.begin.push(msBetween(t0, g0));
    if (g1) phases.guard.push(msBetween(g0, g1));
    if (l1) phases.lockWait.push(msBetween(l0, l1));
    if (r0) {
      phases.update.push(msBetween(g1, r0));
      phases.record.push(msBetween(r0, r1));
      phases.commit.push(msBetween(r1, t1));
    }
    if (r.ok) won.push([input.conversationId, input.assigneeId]);
    else refusals[r.reason] = (refusals[r.reason] ?? 0) + 1;
    return r;
  };

  // Warm the pool's connections and the JIT before the race (a read-only query per connection).
  await Promise.all(Array.from({ length: setup.concurrency }, () => db.query('SELECT 1')));
  send({ type: 'ready' });
  await new Promise<void>((r) => process.once('message', () => r()));

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
  const result: WorkerResult = { type: 'result', label: setup.label, claimMs, phases, routeMs, won, refusals, outcomes, wallMs };
  send(result);
  await db.close();
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
