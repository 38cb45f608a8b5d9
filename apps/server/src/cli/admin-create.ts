import { randomBytes } from 'node:crypto';
import { one } from '@huiliu/core/db/database';
import { createWorkspace } from '@huiliu/core/workspaces/workspace.service';
import { createUserService } from '@huiliu/core/users/user.service';
import { createDomainEvents } from '@huiliu/core/shared/events';
import { recordAudit } from '@huiliu/core/audit/audit.service';
import type { Config } from '../config.ts';
import { openConfiguredDatabase } from './open-database.ts';

export interface AdminCreateOptions {
  email: string;
  name: string;
  password?: string | undefined;
  workspace: string;
  workspaceName?: string | undefined;
}

/**
 * `huiliu admin create`: the first admin of an installation on PostgreSQL (nothing is seeded there), or
 * another admin later. Creates the workspace when its slug does not exist yet.
 */
export async function adminCreate(config: Config, o: AdminCreateOptions): Promise<{ email: string; password: string; workspace: string; generated: boolean }> {
  if (!/^[a-z0-9][a-z0-9-]{1,62}$/.test(o.workspace)) throw new Error('--workspace: a slug of lowercase letters, digits and -, like "acme"');
  if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(o.email)) throw new Error('--email: an email address like admin@example.com');
  if (o.password !== undefined && o.password.length < 10) throw new Error('--password: at least 10 characters (or leave it out to generate one)');
  const password = o.password ?? randomBytes(12).toString('base64url');
  const { db, close } = await openConfiguredDatabase(config);
  try {
    const users = createUserService({ db, events: createDomainEvents(() => {}) });
    await db.transaction(async (tx) => {
      const existing = await one(tx, `SELECT id FROM workspaces WHERE slug = $1`, [o.workspace]);
      const workspaceId = (existing?.id as string | undefined) ?? (await createWorkspace(tx, { name: o.workspaceName ?? o.workspace, slug: o.workspace })).id;
      const user = await users.createActive(tx, workspaceId, { email: o.email.toLowerCase(), name: o.name, password, role: 'admin' });
      await recordAudit(tx, { kind: 'system', workspaceId, via: 'cli' }, 'user.admin_created', { type: 'user', id: user.id }, { email: user.email });
    });
    return { email: o.email.toLowerCase(), password, workspace: o.workspace, generated: o.password === undefined };
  } finally {
    await close();
  }
}
