import { expectStatus, loopbackAddress, mapLimit } from './http.ts';

/**
 * Builds the benchmark's workspace through the real public API only: admin login, N invited agents
 * (invite → accept-invite), the widget inbox's members, V visitor sessions with one conversation each,
 * assigned round-robin to the agents.
 *
 * Rate limits stay at their shipped values: public endpoints are limited per client IP (and bearer), so
 * every simulated agent and visitor signs up from its own loopback address (127.2.x.y for agents,
 * 127.1.x.y for visitors) — as real people on their own IPs would.
 */
export interface SetupResult {
  inboxId: string;
  publicId: string;
  agents: { userId: string; token: string }[];
  visitors: { visitorToken: string; contactId: string; conversationId: string; agent: number }[];
  seconds: number;
}

export const AGENT_PASSWORD = 'bench-agent-password-1';

export async function setupWorkspace(
  base: string,
  o: { adminEmail: string; adminPassword: string; workspace?: string; publicId?: string; agents: number; visitors: number; log: (s: string) => void },
): Promise<SetupResult> {
  const t0 = performance.now();
  const login = await expectStatus(base, 'POST', '/api/v1/auth/login', 200, {
    body: { email: o.adminEmail, password: o.adminPassword, ...(o.workspace ? { workspace: o.workspace } : {}) },
  });
  const admin = login.token as string;

  // The widget inbox: the demo one on an embedded install, a new one on an empty PostgreSQL database.
  const inboxes = (await expectStatus(base, 'GET', '/api/v1/inboxes', 200, { token: admin })) as { id: string; publicId: string; channelType: string; allowedOrigins: string[]; memberIds: string[] }[];
  let inbox = inboxes.find((i) => (o.publicId ? i.publicId === o.publicId : i.channelType === 'web'));
  if (!inbox) {
    inbox = await expectStatus(base, 'POST', '/api/v1/inboxes', 201, { token: admin, body: { name: 'Bench widget', channelType: 'web', allowedOrigins: [] } });
  }
  if (inbox!.allowedOrigins.length > 0 && !inbox!.allowedOrigins.includes('*')) {
    o.log(`note: inbox allows only ${inbox!.allowedOrigins.join(', ')}; the bench sends no Origin header (allowed for non-browser clients)`);
  }

  // Agents: invite, then each accepts from its own address (accept-invite is limited to 10/min per IP).
  const agents = await mapLimit(Array.from({ length: o.agents }, (_, i) => i), 4, async (i) => {
    const inv = await expectStatus(base, 'POST', '/api/v1/users/invite', 201, {
      token: admin,
      body: { email: `bench-agent-${i + 1}@bench.huiliu.local`, name: `Bench Agent ${i + 1}`, role: 'agent' },
    });
    const s = await expectStatus(base, 'POST', '/api/v1/auth/accept-invite', 200, {
      localAddress: loopbackAddress(2, i),
      body: { token: inv.inviteToken, name: `Bench Agent ${i + 1}`, password: AGENT_PASSWORD },
    });
    return { userId: s.user.id as string, token: s.token as string };
  });
  await expectStatus(base, 'PUT', `/api/v1/inboxes/${inbox!.id}/members`, 200, {
    token: admin,
    body: { userIds: [...new Set([...inbox!.memberIds, ...agents.map((a) => a.userId)])] },
  });
  o.log(`setup: ${agents.length} agents ready (${((performance.now() - t0) / 1000).toFixed(1)} s)`);

  // Visitors: a widget session each (30/min per IP), a conversation, assigned round-robin.
  let done = 0;
  const visitors = await mapLimit(Array.from({ length: o.visitors }, (_, i) => i), 8, async (i) => {
    const session = await expectStatus(base, 'POST', '/api/widget/v1/sessions', 200, {
      localAddress: loopbackAddress(1, i),
      body: { inboxPublicId: inbox!.publicId, name: `Bench visitor ${i + 1}` },
    });
    const visitorToken = session.visitorToken as string;
    const conv = await expectStatus(base, 'POST', '/api/widget/v1/conversations', 201, { token: visitorToken, localAddress: loopbackAddress(1, i), body: {} });
    const conversationId = conv.conversation.id as string;
    const agent = i % agents.length;
    await expectStatus(base, 'POST', `/api/v1/conversations/${conversationId}/assign`, 200, { token: admin, body: { assigneeId: agents[agent]!.userId } });
    if (++done % 100 === 0) o.log(`setup: ${done}/${o.visitors} visitors (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
    return { visitorToken, contactId: session.contactId as string, conversationId, agent };
  });
  return { inboxId: inbox!.id, publicId: inbox!.publicId, agents, visitors, seconds: (performance.now() - t0) / 1000 };
}
