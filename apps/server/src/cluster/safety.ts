import type { Redis } from 'ioredis';
import type { Database } from '@huiliu/core/db/database';

/**
 * Start-up checks of the settings that decide whether an acknowledged message survives a crash.
 * Each returned line says what is wrong, what it risks and how to fix it; the node still starts (an
 * operator may have reasons), but says so loudly in the log and the start banner.
 */
export async function checkPostgresSafety(db: Database): Promise<string[]> {
  if (db.kind !== 'postgres') return [];
  const warnings: string[] = [];
  const rows = await db.query<{ name: string; setting: string }>(
    `SELECT name, setting FROM pg_settings WHERE name IN ('synchronous_commit', 'fsync', 'full_page_writes')`,
  );
  const get = (n: string) => rows.find((r) => r.name === n)?.setting;
  if (get('fsync') === 'off') warnings.push('PostgreSQL fsync is off: a power loss or OS crash can corrupt the database and lose acknowledged messages — set fsync = on');
  if (get('synchronous_commit') === 'off') warnings.push('PostgreSQL synchronous_commit is off: a crash loses the last acknowledged messages (up to 3× wal_writer_delay) — set synchronous_commit = on (or ALTER DATABASE … SET synchronous_commit = on)');
  if (get('full_page_writes') === 'off') warnings.push('PostgreSQL full_page_writes is off: a crash mid-write can leave torn pages — set full_page_writes = on');
  return warnings;
}

export async function checkRedisSafety(redis: Redis): Promise<string[]> {
  const warnings: string[] = [];
  try {
    const policy = (await redis.config('GET', 'maxmemory-policy')) as string[];
    const maxmemory = (await redis.config('GET', 'maxmemory')) as string[];
    if (policy[1] && policy[1] !== 'noeviction' && maxmemory[1] !== '0') {
      warnings.push(`Redis maxmemory-policy is ${policy[1]}: under memory pressure Redis evicts the realtime stream and presence — set maxmemory-policy noeviction (or maxmemory 0)`);
    }
  } catch (err) {
    // Managed Redis services often disable CONFIG; say what could not be checked.
    warnings.push(`could not read Redis settings (${err instanceof Error ? err.message : String(err)}): make sure maxmemory-policy is noeviction`);
  }
  return warnings;
}
