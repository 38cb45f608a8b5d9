import { openPglite } from '../db/pglite.ts';
import { openPostgres } from '../db/postgres.ts';
import { migrate } from '../db/migrate.ts';
import { createLogger } from '../shared/logger.ts';
import { createJobQueue } from './job-queue.ts';
import pg from 'pg';
const which = process.argv[2];
let db;
if (which === 'pg') {
  const admin = new pg.Client({ connectionString: 'postgres://postgres@127.0.0.1:5432/postgres' }); await admin.connect();
  await admin.query('DROP DATABASE IF EXISTS huiliu_stress WITH (FORCE)'); await admin.query('CREATE DATABASE huiliu_stress'); await admin.end();
  db = await openPostgres('postgres://postgres@127.0.0.1:5432/huiliu_stress');
} else db = await openPglite(undefined);
await migrate(db);
const q = createJobQueue({ db, logger: createLogger({ level: 'silent' }), pollMs: 60_000, backoff: () => Math.floor(Math.random() * 4) });
q.register('s', async (job) => { if (job.attempts < 4) throw new Error('again'); });
await q.start();
let stuck = 0; const t0 = Date.now();
for (let i = 0; i < 150; i++) {
  const id = await db.transaction((tx) => q.enqueue(tx, { queue: 's', payload: {} }));
  q.notify();
  const until = Date.now() + 1000;
  for (;;) {
    const r = await db.query<{ status: string }>('SELECT status FROM jobs WHERE id = $1', [id]);
    if (r[0]!.status === 'done') break;
    if (Date.now() > until) { stuck++; break; }
    await new Promise((r) => setTimeout(r, 2));
  }
}
console.log(which, 'stuck', stuck, 'of 150', Date.now() - t0, 'ms');
await q.stop({ drainMs: 100 }); await db.close();
