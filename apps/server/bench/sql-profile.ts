import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openPglite } from '@huiliu/core/db/pglite';
import { createLogger } from '@huiliu/core/shared/logger';
import { loadConfig } from '../src/config.ts';
import { startHuiliu } from '../src/app.ts';
import { intFlag, parseArgs } from './args.ts';
import { closeHttpAgents } from './http.ts';
import { runLoad } from './realtime.ts';
import { setupWorkspace } from './setup.ts';

/**
 * Diagnostic (not the benchmark): runs the realtime load against an IN-PROCESS Huiliu on the embedded
 * database and attributes PGlite execution time to SQL statements. PGlite executes every protocol message
 * synchronously in execProtocolRawSync on the server's event loop; the hook below times those calls and
 * labels them with the statement text of the last Parse ('P') or simple Query ('Q') message.
 *
 *   npm run bench -- sql-profile [--visitors 500 --agents 20 --rate 1000 --seconds 10]
 */
function statementText(msg: Uint8Array): string | undefined {
  const type = msg[0];
  let at: number;
  if (type === 0x51 /* Q */) at = 5;
  else if (type === 0x50 /* P */) {
    at = 5;
    while (msg[at] !== 0) at++; // statement name
    at++;
  } else return undefined;
  let end = at;
  while (end < msg.length && msg[end] !== 0) end++;
  return Buffer.from(msg.subarray(at, end)).toString('utf8').replace(/\s+/g, ' ').trim();
}

export async function sqlProfile(argv: string[]): Promise<void> {
  const args = parseArgs(argv, new Set());
  const visitors = intFlag(args, 'visitors', 500);
  const agents = intFlag(args, 'agents', 20);
  const rate = intFlag(args, 'rate', 1000);
  const seconds = intFlag(args, 'seconds', 10);
  const log = (s: string) => process.stderr.write(`[sql-profile] ${s}\n`);
  const dir = await mkdtemp(join(tmpdir(), 'huiliu-sqlprof-'));
  try {
    const db = await openPglite(join(dir, 'pgdata'));
    const pg = db.pglite as unknown as { execProtocolRawSync(msg: Uint8Array, ...rest: unknown[]): Uint8Array };
    const orig = pg.execProtocolRawSync.bind(pg);
    const stats = new Map<string, { statements: number; calls: number; ms: number }>();
    let label = '(none)';
    let on = false;
    let total = 0;
    pg.execProtocolRawSync = (msg: Uint8Array, ...rest: unknown[]) => {
      const text = statementText(msg);
      if (text !== undefined) label = text;
      const t = performance.now();
      try {
        return orig(msg, ...rest);
      } finally {
        if (on) {
          const ms = performance.now() - t;
          total += ms;
          const s = stats.get(label) ?? { statements: 0, calls: 0, ms: 0 };
          if (text !== undefined) s.statements++;
          s.calls++;
          s.ms += ms;
          stats.set(label, s);
        }
      }
    };
    const config = loadConfig({ PORT: '0', HUILIU_DATA_DIR: dir, LOG_LEVEL: 'warn' });
    const node = await startHuiliu({ config, db, seed: true, logger: createLogger({ level: 'warn' }) });
    try {
      const setup = await setupWorkspace(node.url, { adminEmail: node.demo!.adminEmail, adminPassword: node.demo!.password, publicId: node.demo!.widgetInboxPublicId, agents, visitors, log });
      closeHttpAgents();
      let wall0 = 0;
      let wall = 0;
      const cpu0 = process.cpuUsage();
      const r = await runLoad(node.url, setup, { rate, seconds, drainMs: 5000, tickMs: 5 }, process.pid, log, 'in-process', {
        onStart: () => {
          on = true;
          wall0 = performance.now();
        },
        onEnd: () => {
          on = false;
          wall = performance.now() - wall0;
        },
      });
      const cpu = process.cpuUsage(cpu0);
      const rows = [...stats.entries()].sort((a, b) => b[1].ms - a[1].ms);
      console.log(`load: delivered ${r.delivered}/${r.sent}, ${r.msgs_per_s} msg/s, p50 ${r.p50_ms} ms, p99 ${r.p99_ms} ms, unanswered ${r.unanswered}`);
      console.log(`PGlite execProtocolRawSync: ${total.toFixed(0)} ms of ${wall.toFixed(0)} ms wall (${((total / wall) * 100).toFixed(0)}%); process CPU ${(((cpu.user + cpu.system) / 1000 / wall) * 100).toFixed(0)}%`);
      console.log(`statements executed: ${rows.reduce((n, [, s]) => n + s.statements, 0)}; per delivered message: ${(rows.reduce((n, [, s]) => n + s.statements, 0) / Math.max(1, r.delivered)).toFixed(2)}`);
      console.log('\n     ms    share   stmts  ms/stmt  statement');
      for (const [text, s] of rows.slice(0, 30)) {
        console.log(`${s.ms.toFixed(0).padStart(7)} ${((s.ms / total) * 100).toFixed(1).padStart(7)}% ${String(s.statements).padStart(7)} ${(s.ms / Math.max(1, s.statements)).toFixed(3).padStart(8)}  ${text.slice(0, 160)}`);
      }
    } finally {
      await node.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
