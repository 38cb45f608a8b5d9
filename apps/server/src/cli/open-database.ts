import { join } from 'node:path';
import type { Database } from '@huiliu/core/db/database';
import { openPglite } from '@huiliu/core/db/pglite';
import { openPostgres } from '@huiliu/core/db/postgres';
import { migrate } from '@huiliu/core/db/migrate';
import { lockDataDir } from '@huiliu/core/db/data-dir-lock';
import type { Config } from '../config.ts';

/** Opens the configured database for a CLI command (holding the data-dir lock when embedded) and migrates it. */
export async function openConfiguredDatabase(config: Config): Promise<{ db: Database; close(): Promise<void> }> {
  if (config.databaseUrl) {
    const db = await openPostgres(config.databaseUrl, { max: 2 });
    await migrate(db);
    return { db, close: () => db.close() };
  }
  const lock = await lockDataDir(config.dataDir);
  try {
    const db = await openPglite(join(config.dataDir, 'pgdata'));
    await migrate(db);
    return {
      db,
      async close() {
        await db.close();
        await lock.release();
      },
    };
  } catch (err) {
    await lock.release();
    throw err;
  }
}
