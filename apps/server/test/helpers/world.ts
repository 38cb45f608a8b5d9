import { randomBytes } from 'node:crypto';
import { one } from '@huiliu/core/db/database';
import { createWorkspace } from '@huiliu/core/workspaces/workspace.service';
import type { TestServer } from './test-server.ts';

/** Polls `fn` until it returns something truthy; fails naming `what` after `timeoutMs`. */
export async function until<T>(fn: () => Promise<T | undefined | false | null>, what: string, timeoutMs = 10_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export interface Agent {
  id: string;
  token: string;
}
export interface World {
  workspaceId: string;
  inboxId: string;
  publicId: string;
  /** Session token of the workspace's admin. */
  admin: string;
  agents: Agent[];
}

let worlds = 0;

/**
 * A fresh workspace on the test server, so tests of one file do not share agents or queues: an admin and
 * `n` agents (role agent), all members of one web inbox, each signed in.
 */
export async function createWorld(t: TestServer, n: number, label = 'world'): Promise<World> {
  const s = t.node.services;
  const tag = `${++worlds}-${randomBytes(3).toString('hex')}`;
  const password = 'World-Passw0rd-1';
  const made = await s.db.transaction(async (tx) => {
    const ws = await createWorkspace(tx, { name: `${label} ${tag}`, slug: `${label}-${tag}` });
    const admin = await s.users.createActive(tx, ws.id, { email: `admin-${tag}@example.com`, name: `Admin ${tag}`, password, role: 'admin' });
    const agents = [];
    for (let i = 0; i < n; i++) agents.push(await s.users.createActive(tx, ws.id, { email: `a${i}-${tag}@example.com`, name: `Agent ${i}`, password, role: 'agent' }));
    const inbox = await one(tx, `INSERT INTO inboxes (workspace_id, name, channel_type, public_id) VALUES ($1, 'Chat', 'web', $2) RETURNING id, public_id`, [ws.id, `w${randomBytes(8).toString('hex')}`]);
    for (const u of [admin, ...agents]) await tx.query(`INSERT INTO inbox_members (workspace_id, inbox_id, user_id) VALUES ($1, $2, $3)`, [ws.id, inbox!.id, u.id]);
    return { ws, admin, agents, inbox: inbox! };
  });
  const login = async (email: string) => (await s.users.login({ email, password }, { ip: '127.0.0.1' })).token;
  return {
    workspaceId: made.ws.id,
    inboxId: made.inbox.id as string,
    publicId: made.inbox.public_id as string,
    admin: await login(made.admin.email),
    agents: await Promise.all(made.agents.map(async (a) => ({ id: a.id, token: await login(a.email) }))),
  };
}
