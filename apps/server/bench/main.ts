/**
 * Benchmarks: `npm run bench -- <name> [flags]`.
 *   realtime   visitor → agent message delivery over Socket.IO against a real server (and a bare relay);
 *              `--cluster 2`: against two nodes on PostgreSQL + Redis, with one node as the same-run baseline
 *   connections  memory of 10,000 idle widget sockets on one node: `npm run bench -- connections --json`
 *   routing    routing decision (in memory) and claim (two workers racing on PostgreSQL): `npm run bench -- routing --json`
 *   sql-profile  diagnostic: the same load against an in-process server, PGlite time per SQL statement
 *   profile    summarize a .cpuprofile: `npm run bench -- profile <file.cpuprofile> [--from-hr NS --to-hr NS]`
 */
import { realtime } from './realtime.ts';
import { sqlProfile } from './sql-profile.ts';
import { routing } from './routing.ts';
import { connections } from './connections.ts';
import { formatProfile, summarizeProfile } from './cpuprofile.ts';
import { parseArgs, stringFlag } from './args.ts';

const [name, ...rest] = process.argv.slice(2);
const commands: Record<string, (argv: string[]) => Promise<void>> = {
  realtime,
  'sql-profile': sqlProfile,
  routing,
  connections,
  async profile(argv) {
    const a = parseArgs(argv, new Set());
    const file = a.positional[0];
    if (!file) throw new Error('usage: npm run bench -- profile <file.cpuprofile> [--from-hr NS --to-hr NS]');
    const from = stringFlag(a, 'from-hr');
    const to = stringFlag(a, 'to-hr');
    console.log(formatProfile(summarizeProfile(file, from && to ? [BigInt(from), BigInt(to)] : undefined, 40)));
  },
};

const cmd = name ? commands[name] : undefined;
if (!cmd) {
  console.error(`usage: npm run bench -- <${Object.keys(commands).join('|')}> [flags]   (e.g. npm run bench -- realtime --help)`);
  process.exit(2);
}
try {
  await cmd(rest);
} catch (err) {
  console.error(`bench ${name}: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
}
// Exit even if a failure left a timer or socket behind.
process.exit(process.exitCode ?? 0);
