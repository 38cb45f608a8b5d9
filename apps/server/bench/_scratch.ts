import { mkdtemp, rm, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openPglite } from '@huiliu/core/db/pglite';
import { openPostgres } from '@huiliu/core/db/postgres';
import { migrate } from '@huiliu/core/db/migrate';
import { createLogger } from '@huiliu/core/shared/logger';
import { createServices } from '../src/services.ts';
import { seedDemo } from '../src/setup/seed.ts';

const mem = process.argv.includes('--mem');
const dir = await mkdtemp(join(tmpdir(), 'huiliu-scratch-'));
const pgUrl = process.argv.find((a) => a.startsWith('postgres://'));
const db = pgUrl ? await openPostgres(pgUrl, { max: 10 }) : await openPglite(mem ? undefined : join(dir, 'pgdata'));
await migrate(db);
for (const s of pgUrl ? ['fsync', 'synchronous_commit'] : ['fsync', 'synchronous_commit', 'shared_buffers', 'wal_buffers', 'full_page_writes', 'wal_level', 'max_wal_size', 'checkpoint_timeout', 'gin_pending_list_limit']) {
  const r = await db.query(`SHOW ${s}`);
  process.stdout.write(`${s}=${Object.values(r[0]!)[0]}  `);
}
console.log();
const services = createServices({ db, logger: createLogger({ level: 'warn' }), masterKey: Buffer.alloc(32, 1), attachmentsDir: join(dir, 'att'), maxUploadBytes: 1e6 });
const demo = await seedDemo(services);
const ws = (await db.query(`SELECT id FROM workspaces`))[0]!.id as string;
const inbox = (await db.query(`SELECT id FROM inboxes`))[0]!.id as string;
// 500 conversations like the bench
const convs: { id: string; contact: string; identity: string }[] = [];
for (let i = 0; i < 500; i++) {
  const idn = await db.transaction((tx) => services.contacts.resolveIdentity(tx, { workspaceId: ws, inboxId: inbox, channelType: 'web', sourceId: `s${i}`, verified: false, contact: { name: `v${i}`, email: null } }));
  const c = await db.transaction((tx) => services.conversations.create(tx, { workspaceId: ws, inboxId: inbox, ...idn }));
  convs.push({ id: c.id, contact: idn.contactId, identity: idn.identityId });
}
const input = (k: number) => {
  const c = convs[k % 500]!;
  return { workspaceId: ws, conversationId: c.id, scope: { contactId: c.contact }, direction: 'incoming' as const, private: false, senderType: 'contact' as const, senderId: c.contact, identityId: c.identity, contentType: 'text' as const, text: `bench seq=${k} t=123.456 visitor=${k % 500}`, attachmentIds: [], clientId: `m:${k}` };
};
let k = 0;
async function timeIt(label: string, n: number, fn: () => Promise<void>) {
  const t = performance.now();
  const c0 = process.cpuUsage();
  await fn();
  const ms = performance.now() - t;
  const cpu = process.cpuUsage(c0);
  console.log(`${label.padEnd(52)} ${(n / (ms / 1000)).toFixed(0).padStart(6)} msg/s  ${(ms / n).toFixed(3)} ms/msg  cpu ${(((cpu.user + cpu.system) / 1000 / ms) * 100).toFixed(0)}%`);
}


const MULTI = `
WITH input AS (SELECT * FROM unnest($2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::text[], $7::int[]) AS x(id, conversation_id, client_id, text, doc, ord)),
counts AS (SELECT conversation_id, count(*) AS n FROM input GROUP BY 1),
conv AS (
  UPDATE conversations c SET last_seq = c.last_seq + counts.n, last_activity_at = now(), updated_at = now(), last_incoming_at = now()
  FROM counts WHERE c.id = counts.conversation_id AND c.workspace_id = $1
  RETURNING c.*, counts.n AS added
),
ins AS (
  INSERT INTO messages (id, workspace_id, inbox_id, conversation_id, seq, direction, private, sender_type, sender_id, identity_id, content_type, text, content, client_id, delivery_status, search)
  SELECT i.id, $1, conv.inbox_id, i.conversation_id, conv.last_seq - conv.added + row_number() OVER (PARTITION BY i.conversation_id ORDER BY i.ord),
         'incoming', false, 'contact', conv.contact_id, conv.identity_id, 'text', i.text, '{}', i.client_id, 'sent', to_tsvector('simple', i.doc)
  FROM input i JOIN conv ON conv.id = i.conversation_id
  RETURNING *
)
SELECT ins.*, false AS duplicate, false AS reopened, to_jsonb(conv) AS conversation FROM ins JOIN conv ON conv.id = ins.conversation_id`;
for (const size of [16, 64, 128]) {
  const reps = 10;
  const t = performance.now();
  for (let r = 0; r < reps; r++) {
    const items = Array.from({ length: size }, () => input(k++));
    await db.transaction(async (tx) => {
      await tx.query(MULTI, [ws, items.map(() => crypto.randomUUID()), items.map((i) => i.conversationId), items.map((i) => i.clientId), items.map((i) => i.text), items.map((i) => services.textIndex.document(i.text)), items.map((_, j) => j)]);
    });
  }
  const ms = performance.now() - t;
  console.log(`multi-row append, ${size}/statement: ${(ms / (reps * size)).toFixed(3)} ms/msg → ${((reps * size) / (ms / 1000)).toFixed(0)} msg/s`);
}
await timeIt('pipeline.append one at a time (1 tx each)', 500, async () => { for (let i = 0; i < 500; i++) await services.pipeline.append(input(k++)); });
await timeIt('pipeline.append 2000 concurrent (group commit)', 2000, async () => { await Promise.all(Array.from({ length: 2000 }, () => services.pipeline.append(input(k++)))); });
const t1 = performance.now();
await db.transaction(async (tx) => { for (let i = 0; i < 256; i++) await services.pipeline.appendInTx(tx, input(k++)); });
console.log(`current appendInTx, same conditions: ${((performance.now() - t1) / 256).toFixed(3)} ms/msg`);
const n = (await db.query('SELECT count(*) AS n FROM messages'))[0]!.n;
console.log('messages', n);
await db.close();
await rm(dir, { recursive: true, force: true });
