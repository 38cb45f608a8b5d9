import { open } from 'node:fs/promises';
import { sep } from 'node:path';

/**
 * fsync a directory so a rename into it survives a power loss. Best effort: Windows cannot open a
 * directory for syncing, and there the rename is as durable as the OS makes it.
 */
export async function syncDir(dir: string): Promise<void> {
  if (sep === '\\') return;
  try {
    const fh = await open(dir, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch {
    // best effort, see above
  }
}
