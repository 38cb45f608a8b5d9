import { mkdir, open, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * PGlite has no lock of its own: two processes on one data directory would corrupt it. We hold
 * `huiliu.lock` (created with O_EXCL, containing our pid). A lock left by a dead process is taken over.
 */
export class DataDirLockedError extends Error {
  constructor(readonly dir: string, readonly pid: number) {
    super(`the data directory ${dir} is in use by another Huiliu process (pid ${pid}); stop it first or use another HUILIU_DATA_DIR`);
    this.name = 'DataDirLockedError';
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export async function lockDataDir(dir: string): Promise<{ release(): Promise<void> }> {
  await mkdir(dir, { recursive: true });
  const file = join(dir, 'huiliu.lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(file, 'wx', 0o600);
      await handle.writeFile(String(process.pid));
      await handle.close();
      return {
        async release() {
          const owner = await readFile(file, 'utf8').catch(() => '');
          if (owner.trim() === String(process.pid)) await rm(file, { force: true });
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const pid = Number((await readFile(file, 'utf8').catch(() => '')).trim());
      if (pid && pid !== process.pid && alive(pid)) throw new DataDirLockedError(dir, pid);
      await rm(file, { force: true }); // stale: its process is gone
    }
  }
  throw new Error(`could not lock ${dir}`);
}
