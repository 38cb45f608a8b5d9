/**
 * `npm run bench -- routing [--json]`: the routing engine (issue 4), two figures measured separately.
 *
 *  1. Decision, in memory: the real `eligibleCandidates` + strategy `pickAgent` (packages/core/src/routing/
 *     strategies.ts) over a snapshot of 1,000 agents, with a stream of arrivals, decisions and completions
 *     applied to the snapshot. A cohort of identical agents receives a stream of identical conversations
 *     (completed first-in first-out) for the fairness figure.
 *  2. Claim, through PostgreSQL: a fresh database with the project's migrations, 200 online agents and
 *     2,000 queued conversations; two worker processes (bench/routing-worker.ts) run the real
 *     `routing.route()` over the same queue at the same time. Afterwards the database is checked for
 *     double assignments and capacity violations.
 */
import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join, resolve } from 'node:path';
import pg from 'pg';
import type { Priority } from '@huiliu/contracts';
import { openPostgres } from '@huiliu/core/db/postgres';
import { migrate } from '@huiliu/core/db/migrate';
import { createWorkspace } from '@huiliu/core/workspaces/workspace.service';
import {
  QUEUE_ORDER_SQL, STRATEGIES, STRATEGY_NAMES, eligibleCandidates, priorityRank,
  type RoutingCandidate, type RoutingContext, type RoutingConversation, type StrategyName,
} from '@huiliu/core/routing/strategies';
import { intFlag, parseArgs, stringFlag } from './args.ts';
import { REPO_ROOT } from './proc.ts';
import { round, summarize } from './stats.ts';
import type { WorkerResult, WorkerSetup } from './routing-worker.ts';

const BENCH_DIR = resolve(REPO_ROOT, 'apps/server/bench');
const USAGE = `usage: npm run bench -- routing [--strategy least_busy|round_robin|least_recently_routed|sticky]
                             [--agents 1000] [--waiting 10000] [--decisions 50000] [--cohort 100] [--seed 1]
                             [--claim-agents 200] [--claim-conversations 2000] [--concurrency 1]
                             [--database-url postgres://…] [--admin-url postgres://postgres@127.0.0.1:5432/postgres]
                             [--no-claim] [--json]

Decision: the real strategy code over an in-memory snapshot (arrivals, decisions, completions).
Claim: two worker processes run the real routing service against one PostgreSQL queue, each with
--concurrency routes in flight (default 1: the engine registers its route queue with concurrency 1 per
node, so this is two nodes racing; --concurrency 4 is the stress variant). Without
--database-url a random database is created on --admin-url's server, migrated, and dropped afterwards.
With --json the last stdout line is one JSON object; progress goes to stderr.`;

const PRIORITIES: Priority[] = ['none', 'low', 'medium', 'high', 'urgent'];
const SKILLS = Array.from({ length: 20 }, (_, i) => `skill_${String(i).padStart(2, '0')}`);
const COHORT_SKILL = 'vip';

/** Small deterministic PRNG (mulberry32): runs are repeatable with --seed. */
function rng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { next, int: (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1)), pick: <T>(xs: readonly T[]) => xs[Math.floor(next() * xs.length)]! };
}
type Rng = ReturnType<typeof rng>;

const uuidLike = (n: number) => `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;

// ---------------------------------------------------------------------------------------------------
// 1. Decision benchmark (in memory)

export interface DecisionResult {
  decisions: number;
  unassignable: number;
  decide_p50_us: number;
  decide_p99_us: number;
  decide_max_us: number;
  eligible_mean: number;
  capacity_violations: number;
  fairness_spread: number;
  cohort_min: number;
  cohort_max: number;
  completions: number;
  waiting_end: number;
}

function randomSkills(r: Rng): Record<string, number> {
  const skills: Record<string, number> = {};
  const n = r.int(1, 6);
  for (let i = 0; i < n; i++) skills[r.pick(SKILLS)] = r.int(1, 5);
  return skills;
}

function randomRequirement(r: Rng): Record<string, number> {
  // Every ordinary conversation needs at least one skill (so the cohort, who only has COHORT_SKILL, never qualifies).
  const req: Record<string, number> = { [r.pick(SKILLS)]: r.int(1, 3) };
  if (r.next() < 0.3) req[r.pick(SKILLS)] = r.int(1, 2);
  return req;
}

export function runDecisions(cfg: { agents: number; waiting: number; decisions: number; cohort: number; strategy: StrategyName; seed: number; warmup: number }): DecisionResult {
  const r = rng(cfg.seed);
  const strategy = STRATEGIES[cfg.strategy];
  const cohortCapacity = 4;
  // Lexicographic ids (like UUIDs), shuffled so the cohort is not a contiguous id range.
  const ids = Array.from({ length: cfg.agents }, (_, i) => uuidLike(i + 1));
  for (let i = ids.length - 1; i > 0; i--) {
    const j = Math.floor(r.next() * (i + 1));
    [ids[i], ids[j]] = [ids[j]!, ids[i]!];
  }
  const agents: RoutingCandidate[] = ids.map((userId, i) => {
    const cohort = i < cfg.cohort;
    const capacity = cohort ? cohortCapacity : r.int(1, 8);
    return {
      userId,
      name: `agent ${i}`,
      load: cohort ? 0 : r.int(0, capacity - 1),
      capacity,
      channelCapacities: {},
      channelLoad: 0,
      recentAssignments: 0,
      lastRoutedAt: null,
      skills: cohort ? { [COHORT_SKILL]: 3 } : randomSkills(r),
    };
  });
  const cohortIds = new Set(ids.slice(0, cfg.cohort));
  const nonCohort = agents.filter((a) => !cohortIds.has(a.userId));
  for (const a of nonCohort) a.channelLoad = a.load;

  // The queue: one FIFO per priority (higher priority first, then longest waiting), like compareQueued.
  let seq = 0;
  const buckets: RoutingConversation[][] = PRIORITIES.map(() => []);
  const heads = PRIORITIES.map(() => 0);
  let waiting = 0;
  const contacts = Math.max(1, Math.floor(cfg.waiting / 3));
  const arrive = (cohort: boolean) => {
    seq++;
    const c: RoutingConversation = cohort
      ? { id: uuidLike(1e9 + seq), contactId: uuidLike(2e9 + seq), inboxId: 'inbox', channelType: 'web', teamId: null, priority: 'medium', requiredSkills: { [COHORT_SKILL]: 1 } }
      : { id: uuidLike(1e9 + seq), contactId: uuidLike(3e9 + r.int(1, contacts)), inboxId: 'inbox', channelType: 'web', teamId: null, priority: r.pick(PRIORITIES), requiredSkills: randomRequirement(r) };
    buckets[priorityRank(c.priority)]!.push(c);
    waiting++;
  };
  const cohortShare = 0.2;
  for (let i = 0; i < cfg.waiting; i++) arrive(r.next() < cohortShare);
  const takeHead = (): RoutingConversation | undefined => {
    for (let p = buckets.length - 1; p >= 0; p--) {
      const b = buckets[p]!;
      if (heads[p]! < b.length) {
        waiting--;
        const c = b[heads[p]!]!;
        heads[p]!++;
        if (heads[p]! > 4096 && heads[p]! * 2 > b.length) {
          b.splice(0, heads[p]!);
          heads[p] = 0;
        }
        return c;
      }
    }
    return undefined;
  };
  const requeue = (c: RoutingConversation) => {
    buckets[priorityRank(c.priority)]!.push(c);
    waiting++;
  };

  const byId = new Map(agents.map((a) => [a.userId, a]));
  const cohortCount = new Map<string, number>([...cohortIds].map((id) => [id, 0]));
  const cohortInFlight: string[] = [];
  let cohortHead = 0;
  const lastAgentOfContact = new Map<string, string>();
  let rrAfter: string | null = null;
  let clock = Date.parse('2026-01-01T00:00:00Z');

  const times = new Float64Array(cfg.decisions);
  let measured = 0;
  let unassignable = 0;
  let violations = 0;
  let completions = 0;
  let eligibleSum = 0;

  const completeOrdinary = () => {
    for (let tries = 0; tries < 8; tries++) {
      const a = nonCohort[Math.floor(r.next() * nonCohort.length)]!;
      if (a.load > 0) {
        a.load--;
        a.channelLoad--;
        completions++;
        return;
      }
    }
  };
  const completeCohort = () => {
    if (cohortHead >= cohortInFlight.length) return false;
    const a = byId.get(cohortInFlight[cohortHead++]!)!;
    a.load--;
    a.channelLoad--;
    completions++;
    return true;
  };

  const total = cfg.warmup + cfg.decisions;
  for (let step = 0; step < total; step++) {
    const conv = takeHead();
    if (!conv) break;
    const cohortConv = conv.requiredSkills[COHORT_SKILL] !== undefined;
    clock += 1;
    const context: RoutingContext = { now: clock, roundRobinAfter: rrAfter, stickyAgentId: lastAgentOfContact.get(conv.contactId) ?? null };

    const t0 = process.hrtime.bigint();
    const candidates = eligibleCandidates(agents, conv);
    const pick = strategy.pickAgent(candidates, conv, context);
    const dt = Number(process.hrtime.bigint() - t0) / 1000;
    if (step >= cfg.warmup) {
      times[measured++] = dt;
      eligibleSum += candidates.length;
    }

    if (!pick) {
      unassignable++;
      requeue(conv);
      // A full cohort frees its oldest conversation (identical handling times); others complete at random.
      if (cohortConv) completeCohort();
      else completeOrdinary();
    } else {
      const a = pick.agent;
      if (a.load >= a.capacity) violations++;
      // Apply the assignment to the snapshot, as the database would after the claim.
      a.load++;
      a.channelLoad++;
      a.recentAssignments++;
      a.lastRoutedAt = clock;
      rrAfter = a.userId;
      lastAgentOfContact.set(conv.contactId, a.userId);
      if (cohortIds.has(a.userId)) {
        cohortCount.set(a.userId, cohortCount.get(a.userId)! + 1);
        cohortInFlight.push(a.userId);
        if (cohortHead > 65536) {
          cohortInFlight.splice(0, cohortHead);
          cohortHead = 0;
        }
      }
      // Keep the cohort about three quarters busy, first in first out.
      if (cohortInFlight.length - cohortHead > cfg.cohort * cohortCapacity * 0.75) completeCohort();
      else if (!cohortConv) completeOrdinary();
    }
    // One arrival per decision keeps the queue at its size.
    arrive(r.next() < cohortShare);
  }

  const s = summarize(times.subarray(0, measured));
  const counts = [...cohortCount.values()];
  const min = counts.length ? Math.min(...counts) : 0;
  const max = counts.length ? Math.max(...counts) : 0;
  return {
    decisions: measured,
    unassignable,
    decide_p50_us: round(s.p50, 1),
    decide_p99_us: round(s.p99, 1),
    decide_max_us: round(s.max, 1),
    eligible_mean: round(measured ? eligibleSum / measured : 0, 1),
    capacity_violations: violations,
    fairness_spread: min > 0 ? round(max / min - 1, 3) : counts.length ? Infinity : 0,
    cohort_min: min,
    cohort_max: max,
    completions,
    waiting_end: waiting,
  };
}

// ---------------------------------------------------------------------------------------------------
// 2. Claim benchmark (PostgreSQL, two worker processes)

export interface ClaimResult {
  database: string;
  claim_agents: number;
  /** Routes in flight per worker process. */
  claim_concurrency: number;
  claim_conversations: number;
  claims: number;
  claim_attempts: number;
  claim_p50_ms: number;
  claim_p99_ms: number;
  claim_max_ms: number;
  /** p50 / p99 of the claim by its result: 'ok' or the refusal reason (ms). */
  claim_by_result: Record<string, [number, number]>;
  /** p50 / p99 per phase of the claim (ms; routing-worker.ts CLAIM_PHASES). */
  claim_phases: Record<string, [number, number]>;
  route_p50_ms: number;
  route_p99_ms: number;
  route_wall_s: number;
  /** CPU seconds both worker processes used during the race, and the worse p99 of their event-loop delay (ms). */
  worker_cpu_s: number;
  worker_loop_delay_p99_ms: number;
  refusals: Record<string, number>;
  outcomes: Record<string, number>;
  double_assignments: number;
  capacity_violations: number;
  max_load_ratio: number;
  total_capacity: number;
  assigned_in_db: number;
}

async function seed(db: Awaited<ReturnType<typeof openPostgres>>, cfg: { agents: number; conversations: number; seed: number }) {
  const r = rng(cfg.seed + 7);
  const ws = await db.transaction((tx) => createWorkspace(tx, { name: 'Routing bench', slug: `routing-bench-${randomBytes(4).toString('hex')}` }));
  const role = await db.query(`SELECT id FROM roles WHERE workspace_id = $1 AND name = 'agent'`, [ws.id]);
  if (!role[0]) throw new Error('no preset agent role');
  const users = await db.query(
    `INSERT INTO users (workspace_id, email, name, role_id, status)
     SELECT $1, 'agent' || g || '@bench.invalid', 'Agent ' || g, $2, 'active' FROM generate_series(1, $3::int) g RETURNING id`,
    [ws.id, role[0].id, cfg.agents],
  );
  const userIds = users.map((u) => u.id as string);
  const inbox = await db.query(
    `INSERT INTO inboxes (workspace_id, name, channel_type, public_id) VALUES ($1, 'Bench web', 'web', $2) RETURNING id`,
    [ws.id, `bench_${randomBytes(8).toString('hex')}`],
  );
  const inboxId = inbox[0]!.id as string;
  await db.query(`INSERT INTO inbox_members (workspace_id, inbox_id, user_id) SELECT $1, $2, unnest($3::uuid[])`, [ws.id, inboxId, userIds]);
  const capacities = userIds.map(() => r.int(1, 8));
  await db.query(
    `INSERT INTO agent_presence (user_id, workspace_id, status, capacity, last_seen_at)
     SELECT u, $1, 'online', c, now() FROM unnest($2::uuid[], $3::int[]) AS t(u, c)`,
    [ws.id, userIds, capacities],
  );
  const skillRows: { user_id: string; skill: string; level: number }[] = [];
  const claimSkills = SKILLS.slice(0, 5);
  for (const u of userIds) {
    const seen = new Set<string>();
    for (let i = r.int(0, 3); i > 0; i--) {
      const s = r.pick(claimSkills);
      if (seen.has(s)) continue;
      seen.add(s);
      skillRows.push({ user_id: u, skill: s, level: r.int(1, 5) });
    }
  }
  await db.query(
    `INSERT INTO agent_skills (workspace_id, user_id, skill, level) SELECT $1, s.user_id, s.skill, s.level FROM jsonb_to_recordset($2::text::jsonb) AS s(user_id uuid, skill text, level int)`,
    [ws.id, JSON.stringify(skillRows)],
  );
  const n = cfg.conversations;
  const priorities = Array.from({ length: n }, () => r.pick(PRIORITIES));
  const required = Array.from({ length: n }, () => JSON.stringify(r.next() < 0.3 ? { [r.pick(claimSkills)]: r.int(1, 2) } : {}));
  const waitedS = Array.from({ length: n }, () => r.int(1, 3600));
  await db.transaction(async (tx) => {
    await tx.query(
      `WITH c AS (
         INSERT INTO contacts (workspace_id, name) SELECT $1, 'Visitor ' || g FROM generate_series(1, $3::int) g RETURNING id
       ), n AS (SELECT id, row_number() OVER (ORDER BY id) AS rn FROM c),
       i AS (
         INSERT INTO contact_identities (workspace_id, contact_id, inbox_id, channel_type, source_id)
         SELECT $1, n.id, $2, 'web', 'bench-' || n.rn FROM n RETURNING id, contact_id, source_id
       )
       INSERT INTO conversations (workspace_id, display_id, inbox_id, contact_id, identity_id, status, priority, required_skills, queued_at, last_incoming_at)
       SELECT $1, k, $2, i.contact_id, i.id, 'open', p.priority, p.req::jsonb, now() - p.waited * interval '1 second', now() - p.waited * interval '1 second'
       FROM i JOIN LATERAL (SELECT substr(i.source_id, 7)::int AS k) kk ON true
       JOIN unnest($4::text[], $5::text[], $6::int[]) WITH ORDINALITY AS p(priority, req, waited, ord) ON p.ord = kk.k`,
      [ws.id, inboxId, n, priorities, required, waitedS],
    );
    await tx.query(`UPDATE workspaces SET next_display_id = $2 WHERE id = $1`, [ws.id, n + 1]);
  });
  const queue = await db.query(
    `SELECT c.id FROM conversations c WHERE c.workspace_id = $1 AND c.queued_at IS NOT NULL AND c.assignee_id IS NULL AND c.status = 'open' ORDER BY ${QUEUE_ORDER_SQL}`,
    [ws.id],
  );
  return { workspaceId: ws.id, conversationIds: queue.map((q) => q.id as string), totalCapacity: capacities.reduce((a, b) => a + b, 0) };
}

function startWorker(setup: WorkerSetup, log: (s: string) => void) {
  const child = fork(join(BENCH_DIR, 'routing-worker.ts'), [], { cwd: REPO_ROOT, execArgv: ['--import', 'tsx'], stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
  child.stdout!.on('data', (d: Buffer) => process.stderr.write(d));
  child.stderr!.on('data', (d: Buffer) => process.stderr.write(d));
  const next = <T>(type: string): Promise<T> =>
    new Promise((res, rej) => {
      const onMsg = (m: { type: string; message?: string }) => {
        if (m.type === 'error') return done(() => rej(new Error(`${setup.label}: ${m.message}`)));
        if (m.type === type) done(() => res(m as T));
      };
      const onExit = (code: number | null) => done(() => rej(new Error(`${setup.label} exited (${code}) before '${type}'`)));
      const done = (f: () => void) => {
        child.off('message', onMsg);
        child.off('exit', onExit);
        f();
      };
      child.on('message', onMsg);
      child.once('exit', onExit);
    });
  child.send(setup);
  log(`${setup.label}: started (pid ${child.pid})`);
  return { child, next, kill: () => child.exitCode === null && child.kill('SIGKILL') };
}

export async function runClaims(cfg: { agents: number; conversations: number; concurrency: number; seed: number; databaseUrl?: string | undefined; adminUrl: string }, log: (s: string) => void): Promise<ClaimResult> {
  let url = cfg.databaseUrl;
  let dropName: string | undefined;
  if (!url) {
    dropName = `huiliu_bench_${randomBytes(6).toString('hex')}`;
    const admin = new pg.Client({ connectionString: cfg.adminUrl });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${dropName}`);
    await admin.end();
    const u = new URL(cfg.adminUrl);
    u.pathname = `/${dropName}`;
    url = u.toString();
  }
  const db = await openPostgres(url, { max: 4 });
  const workers: ReturnType<typeof startWorker>[] = [];
  try {
    await migrate(db);
    const t0 = performance.now();
    const seeded = await seed(db, cfg);
    await db.query('ANALYZE');
    log(`claim: seeded ${cfg.agents} agents (total capacity ${seeded.totalCapacity}) and ${seeded.conversationIds.length} queued conversations in ${((performance.now() - t0) / 1000).toFixed(1)} s${dropName ? ` (database ${dropName})` : ''}`);

    for (const label of ['worker-a', 'worker-b']) {
      workers.push(startWorker({ type: 'setup', url, workspaceId: seeded.workspaceId, conversationIds: seeded.conversationIds, concurrency: cfg.concurrency, label }, log));
    }
    await Promise.all(workers.map((w) => w.next('ready')));
    log(`claim: both workers ready; racing over the same queue (${cfg.concurrency} routes in flight each)`);
    const results = workers.map((w) => w.next<WorkerResult>('result'));
    for (const w of workers) w.child.send({ type: 'go' });
    const rs = await Promise.all(results);

    // Verification from the workers' reports and from the database.
    const claimMs = rs.flatMap((x) => x.claimMs);
    const routeMs = rs.flatMap((x) => x.routeMs);
    const wins = new Map<string, number>();
    for (const x of rs) for (const [conv] of x.won) wins.set(conv, (wins.get(conv) ?? 0) + 1);
    const reportedDoubles = [...wins.values()].filter((n) => n > 1).length;
    const dbChecks = (await db.query(
      `SELECT
         (SELECT count(*) FROM (SELECT conversation_id FROM routing_decisions WHERE workspace_id = $1 AND outcome IN ('assigned', 'claimed')
                                GROUP BY conversation_id HAVING count(*) > 1) d) AS decision_doubles,
         (SELECT count(*) FROM (SELECT conversation_id FROM messages WHERE workspace_id = $1 AND direction = 'activity'
                                GROUP BY conversation_id HAVING count(*) > 1) m) AS activity_doubles,
         (SELECT count(*) FROM conversations WHERE workspace_id = $1 AND assignee_id IS NOT NULL) AS assigned`,
      [seeded.workspaceId],
    ))[0]!;
    const loads = await db.query(
      `SELECT p.user_id, p.capacity, count(c.id) AS load FROM agent_presence p
       LEFT JOIN conversations c ON c.assignee_id = p.user_id AND c.workspace_id = p.workspace_id AND c.status IN ('open', 'pending')
       WHERE p.workspace_id = $1 GROUP BY p.user_id, p.capacity`,
      [seeded.workspaceId],
    );
    const assigned = Number(dbChecks.assigned);
    const claims = rs.reduce((n, x) => n + x.won.length, 0);
    if (claims !== assigned) log(`claim: WARNING ${claims} claims reported successful, ${assigned} conversations assigned in the database`);
    const merge = (key: 'refusals' | 'outcomes') => {
      const out: Record<string, number> = {};
      for (const x of rs) for (const [k, v] of Object.entries(x[key])) out[k] = (out[k] ?? 0) + v;
      return out;
    };
    const cs = summarize(claimMs);
    const rts = summarize(routeMs);
    return {
      database: dropName ? 'postgres (fresh database, dropped after)' : 'postgres (--database-url)',
      claim_agents: cfg.agents,
      claim_concurrency: cfg.concurrency,
      claim_conversations: seeded.conversationIds.length,
      claims,
      claim_attempts: claimMs.length,
      claim_p50_ms: round(cs.p50),
      claim_p99_ms: round(cs.p99),
      claim_max_ms: round(cs.max),
      claim_by_result: Object.fromEntries([...new Set(rs.flatMap((x) => Object.keys(x.claimMsByResult)))].map((k) => {
        const p = summarize(rs.flatMap((x) => x.claimMsByResult[k] ?? []));
        return [k, [round(p.p50), round(p.p99)]];
      })),
      // Phase names and order come from the worker (routing-worker.ts CLAIM_PHASES).
      claim_phases: Object.fromEntries((Object.keys(rs[0]!.phases) as (keyof WorkerResult['phases'])[]).map((k) => {
        const p = summarize(rs.flatMap((x) => x.phases[k]));
        return [k, [round(p.p50), round(p.p99)]];
      })),
      route_p50_ms: round(rts.p50),
      route_p99_ms: round(rts.p99),
      route_wall_s: round(Math.max(...rs.map((x) => x.wallMs)) / 1000),
      worker_cpu_s: round(rs.reduce((n, x) => n + x.cpuMs, 0) / 1000),
      worker_loop_delay_p99_ms: round(Math.max(...rs.map((x) => x.loopDelayP99Ms))),
      refusals: merge('refusals'),
      outcomes: merge('outcomes'),
      double_assignments: Math.max(reportedDoubles, Number(dbChecks.decision_doubles), Number(dbChecks.activity_doubles)),
      capacity_violations: loads.filter((l) => Number(l.load) > Number(l.capacity)).length,
      max_load_ratio: round(Math.max(0, ...loads.map((l) => Number(l.load) / Number(l.capacity))), 3),
      total_capacity: seeded.totalCapacity,
      assigned_in_db: assigned,
    };
  } finally {
    for (const w of workers) w.kill();
    await db.close();
    if (dropName) {
      const admin = new pg.Client({ connectionString: cfg.adminUrl });
      await admin.connect();
      await admin.query(`DROP DATABASE IF EXISTS ${dropName} WITH (FORCE)`);
      await admin.end();
    }
  }
}

// ---------------------------------------------------------------------------------------------------

export async function routing(argv: string[]): Promise<void> {
  const a = parseArgs(argv, new Set(['json', 'help', 'no-claim']));
  if (a.flags.has('help')) {
    console.log(USAGE);
    return;
  }
  const json = a.flags.has('json');
  const log = (s: string) => (json ? process.stderr : process.stdout).write(s + '\n');
  const strategy = (stringFlag(a, 'strategy') ?? 'least_busy') as StrategyName;
  if (!STRATEGY_NAMES.includes(strategy) || strategy === 'manual') throw new Error(`--strategy must be one of ${STRATEGY_NAMES.filter((s) => s !== 'manual').join(', ')}`);
  const seedN = intFlag(a, 'seed', 1);
  const agents = intFlag(a, 'agents', 1000);
  const waiting = intFlag(a, 'waiting', 10_000);
  const decisionsN = intFlag(a, 'decisions', 50_000);
  const cohort = intFlag(a, 'cohort', 100, 0);
  if (cohort >= agents) throw new Error('--cohort must be smaller than --agents');

  const t0 = performance.now();
  const d = runDecisions({ agents, waiting, decisions: decisionsN, cohort, strategy, seed: seedN, warmup: 2000 });
  log(`decision (${strategy}): ${d.decisions} decisions over ${agents} agents / ${waiting} waiting in ${((performance.now() - t0) / 1000).toFixed(1)} s: p50 ${d.decide_p50_us} µs, p99 ${d.decide_p99_us} µs, max ${d.decide_max_us} µs; eligible ${d.eligible_mean} on average; ${d.unassignable} without an agent; violations ${d.capacity_violations}; cohort assignments ${d.cohort_min}..${d.cohort_max} (spread ${d.fairness_spread})`);

  let c: ClaimResult | undefined;
  if (!a.flags.has('no-claim')) {
    c = await runClaims({
      agents: intFlag(a, 'claim-agents', 200),
      conversations: intFlag(a, 'claim-conversations', 2000),
      concurrency: intFlag(a, 'concurrency', 1),
      seed: seedN,
      databaseUrl: stringFlag(a, 'database-url'),
      adminUrl: stringFlag(a, 'admin-url') ?? process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
    }, log);
    log(`claim: ${c.claims} claims / ${c.claim_attempts} attempts; claim p50 ${c.claim_p50_ms} ms, p99 ${c.claim_p99_ms} ms, max ${c.claim_max_ms} ms; phases p50/p99 ${JSON.stringify(c.claim_phases)}; route p99 ${c.route_p99_ms} ms; refusals ${JSON.stringify(c.refusals)}; doubles ${c.double_assignments}; violations ${c.capacity_violations}; max load ratio ${c.max_load_ratio}`);
  }

  const out = {
    bench: 'routing',
    strategy,
    node: process.version,
    database: c?.database ?? null,
    agents,
    waiting,
    decisions: d.decisions,
    decide_p50_us: d.decide_p50_us,
    decide_p99_us: d.decide_p99_us,
    decide_max_us: d.decide_max_us,
    eligible_mean: d.eligible_mean,
    unassignable: d.unassignable,
    fairness_spread: d.fairness_spread,
    cohort: { agents: cohort, min: d.cohort_min, max: d.cohort_max },
    claim_agents: c?.claim_agents ?? null,
    claim_concurrency: c?.claim_concurrency ?? null,
    claim_conversations: c?.claim_conversations ?? null,
    claims: c?.claims ?? null,
    claim_attempts: c?.claim_attempts ?? null,
    claim_p50_ms: c?.claim_p50_ms ?? null,
    claim_p99_ms: c?.claim_p99_ms ?? null,
    claim_max_ms: c?.claim_max_ms ?? null,
    claim_by_result_p50_p99_ms: c?.claim_by_result ?? null,
    claim_phases_p50_p99_ms: c?.claim_phases ?? null,
    route_p50_ms: c?.route_p50_ms ?? null,
    route_p99_ms: c?.route_p99_ms ?? null,
    route_wall_s: c?.route_wall_s ?? null,
    worker_cpu_s: c?.worker_cpu_s ?? null,
    worker_loop_delay_p99_ms: c?.worker_loop_delay_p99_ms ?? null,
    refusals: c?.refusals ?? null,
    outcomes: c?.outcomes ?? null,
    total_capacity: c?.total_capacity ?? null,
    max_load_ratio: c?.max_load_ratio ?? null,
    capacity_violations: d.capacity_violations + (c?.capacity_violations ?? 0),
    decide_capacity_violations: d.capacity_violations,
    claim_capacity_violations: c?.capacity_violations ?? null,
    double_assignments: c?.double_assignments ?? null,
  };
  const targetMet = out.decide_p99_us <= 1000 && (c ? c.claim_p99_ms <= 20 && c.double_assignments === 0 : true) && out.capacity_violations === 0 && d.fairness_spread <= 0.1;
  const line = { ...out, target_met: targetMet };
  if (json) console.log(JSON.stringify(line));
  else console.log(JSON.stringify(line, null, 2));
}
