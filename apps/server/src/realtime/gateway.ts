import type { Server as HttpServer } from 'node:http';
import { Server, type ServerOptions, type Socket } from 'socket.io';
import type { z } from 'zod';
import { ClientEvents, HandshakeAuth, type ClientEventName, type ErrorBody } from '@huiliu/contracts';
import type { Actor, UserActor, VisitorActor } from '@huiliu/core/auth/actor';
import { AppError } from '@huiliu/core/shared/errors';
import { presentVisitorConversation } from '@huiliu/core/messages/present';
import type { Services } from '../services.ts';
import { parseOrThrow } from '../http/route.ts';
import { localPresence, type PresenceRegistry } from '../cluster/presence.ts';

/**
 * Socket.IO gateway. Rooms:
 *   user:<id>       an agent's sockets (assigned conversations, personal events)
 *   session:<id>    sockets of one login session (revoked together)
 *   inbox:<id>      agents who see an inbox (unassigned traffic, conversation list updates)
 *   wsall:<id>      agents with conversation.read_all in a workspace
 *   conv:<id>       agents who opened a conversation (subscribe)
 *   contact:<id>    a visitor's sockets, any inbox (presence: isContactOnline; queue position)
 *   visitor:<contactId>:<inboxId>  a visitor's sockets in one inbox: the conversation traffic they may
 *                   see (never private notes). Per inbox because a merged contact has conversations on other
 *                   channels and sites, which the widget of this inbox must not receive.
 * Fan-out happens after COMMIT (domain events), so a client never sees a message that could still vanish.
 */

const rooms = {
  user: (id: string) => `user:${id}`,
  session: (id: string) => `session:${id}`,
  inbox: (id: string) => `inbox:${id}`,
  wsAll: (id: string) => `wsall:${id}`,
  conv: (id: string) => `conv:${id}`,
  contact: (id: string) => `contact:${id}`,
  visitor: (contactId: string, inboxId: string) => `visitor:${contactId}:${inboxId}`,
  /** Holders of routing.manage: live presence and queue changes. */
  supervisors: (workspaceId: string) => `supervisors:${workspaceId}`,
};

interface SocketData {
  actor: Actor;
  bucket: { tokens: number; at: number };
}

export interface GatewayOptions {
  /** Sustained client events per second per socket, with a burst of twice that. */
  eventsPerSecond?: number;
  /**
   * Outgoing data a socket may have waiting (unsent to a client that does not read) before it is cut off;
   * bounds the server's memory per slow client. Default 4 MiB.
   */
  maxBufferedBytes?: number;
  /** Cluster mode: the Socket.IO adapter that fans out across nodes (Redis Streams). */
  adapter?: ServerOptions['adapter'];
  /** Who has live sockets across nodes (default: this process only). */
  presence?: PresenceRegistry;
}

/** How often sockets are checked for a backlog of unsent data. */
const BACKLOG_CHECK_MS = 1_000;
const DEFAULT_MAX_BUFFERED_BYTES = 4 * 1024 * 1024;

function failure(err: unknown): { ok: false; error: ErrorBody['error'] } {
  if (err instanceof AppError) return { ok: false, error: { code: err.code, message: err.message, ...(err.issues ? { issues: err.issues } : {}) } };
  return { ok: false, error: { code: 'internal', message: 'something went wrong on our side' } };
}

/**
 * @param httpServer where clients connect; undefined on a node without the realtime role, whose gateway
 *   only broadcasts its domain events to the sockets of other nodes through the adapter.
 */
export function createGateway(httpServer: HttpServer | undefined, s: Services, opts: GatewayOptions = {}) {
  const rate = opts.eventsPerSecond ?? 30;
  const presence = opts.presence ?? localPresence();
  const maxBufferedBytes = opts.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES;
  // Reconnects recover through our own resync from the client's last seq (the database is the source,
  // every replay is authorized), not Socket.IO's connection-state recovery: in socket.io 4.8 a recovered
  // socket is handed its missed packets and old rooms in the Socket constructor, BEFORE the auth middleware
  // runs, so a session revoked while disconnected would still receive them.
  const io = new Server({
    ...(opts.adapter ? { adapter: opts.adapter } : {}),
    path: '/socket.io',
    serveClient: false,
    maxHttpBufferSize: 256 * 1024,
    // Origins are checked per inbox in the auth middleware below (visitors) — CORS itself stays open
    // so widgets on customer sites can connect.
    cors: { origin: true, credentials: false },
    pingInterval: 20_000,
    pingTimeout: 20_000,
  });
  if (httpServer) io.attach(httpServer);
  const log = s.logger.child({ component: 'realtime' });

  /**
   * Bytes waiting to go out to one client: engine.io's packet buffer (filled while the transport waits for
   * a drain) plus what the WebSocket has queued in the kernel-facing socket.
   */
  function backlogBytes(socket: Socket): number {
    const conn = socket.conn as unknown as { writeBuffer?: { data?: unknown }[]; transport?: { socket?: { bufferedAmount?: number } } };
    let bytes = conn.transport?.socket?.bufferedAmount ?? 0;
    for (const p of conn.writeBuffer ?? []) bytes += typeof p.data === 'string' ? p.data.length : (p.data as { byteLength?: number } | undefined)?.byteLength ?? 16;
    return bytes;
  }
  const backlogTimer = setInterval(() => {
    for (const socket of io.of('/').sockets.values()) {
      const bytes = backlogBytes(socket);
      if (bytes <= maxBufferedBytes) continue;
      const a = (socket.data as SocketData | undefined)?.actor;
      log.warn({ socketId: socket.id, bytes, workspaceId: a?.workspaceId, actor: a?.kind }, 'realtime: a client stopped reading; disconnecting it (it resyncs from its last seq when it comes back)');
      // terminate(), not close(): a close handshake would wait on the very client that does not read.
      const ws = (socket.conn as unknown as { transport?: { socket?: { terminate?: () => void } } }).transport?.socket;
      ws?.terminate?.();
      socket.disconnect(true);
    }
  }, BACKLOG_CHECK_MS);
  backlogTimer.unref();

  io.use(async (socket, next) => {
    try {
      const auth = parseOrThrow(HandshakeAuth, socket.handshake.auth, 'body');
      const ip = socket.handshake.address;
      let actor: Actor;
      if ('token' in auth) {
        const user = await s.users.authenticate(auth.token, { ip, userAgent: socket.handshake.headers['user-agent'] ?? '' });
        if (!user) throw new AppError('session_expired', 'your session is invalid or has expired; sign in again');
        actor = user;
      } else {
        actor = await s.widget.authenticate(auth.visitorToken, socket.handshake.headers.origin, ip);
      }
      (socket.data as SocketData) = { actor, bucket: { tokens: rate * 2, at: Date.now() } };
      next();
    } catch (err) {
      const f = failure(err);
      const e = new Error(f.error.message) as Error & { data: unknown };
      e.data = f.error;
      next(e);
    }
  });

  async function joinAgentRooms(socket: Socket, actor: UserActor): Promise<void> {
    const inboxIds = await s.inboxes.visibleInboxIds(actor);
    for (const room of socket.rooms) if (room.startsWith('inbox:') || room.startsWith('wsall:') || room.startsWith('supervisors:')) void socket.leave(room);
    // Conversations opened earlier stay watched only while they are still visible (membership may have shrunk).
    for (const room of [...socket.rooms].filter((r) => r.startsWith('conv:'))) {
      const visible = await s.conversations.getVisibleRow(s.db, actor, room.slice('conv:'.length)).then(() => true, () => false);
      if (!visible) void socket.leave(room);
    }
    const target: string[] = [];
    if (inboxIds === null) target.push(rooms.wsAll(actor.workspaceId));
    else target.push(...inboxIds.map(rooms.inbox));
    if (actor.permissions.has('routing.manage')) target.push(rooms.supervisors(actor.workspaceId));
    await socket.join(target);
  }

  io.on('connection', (socket) => {
    const data = socket.data as SocketData;
    const actor = data.actor;
    if (actor.kind === 'user') {
      // Session and user rooms synchronously, so a revocation right after connect reaches this socket.
      void socket.join([rooms.user(actor.userId), rooms.session(actor.sessionId)]);
      void joinAgentRooms(socket, actor);
      presence.connected(actor);
      s.routing.agentConnected(actor).catch((err: unknown) => log.warn({ err }, 'presence: connect not recorded'));
      // The agent's last socket gone (on any node): offline and re-queue after the grace period.
      socket.on('disconnect', () => {
        presence.disconnected(actor)
          .then((gone) => (gone ? s.routing.agentDisconnected(actor) : undefined))
          .catch((err: unknown) => log.warn({ err }, 'presence: disconnect not recorded'));
      });
    }
    else if (actor.kind === 'visitor') void socket.join([rooms.contact(actor.contactId), rooms.visitor(actor.contactId, actor.inboxId)]);

    function allow(): boolean {
      const now = Date.now();
      const b = data.bucket;
      b.tokens = Math.min(rate * 2, b.tokens + ((now - b.at) / 1000) * rate);
      b.at = now;
      if (b.tokens < 1) return false;
      b.tokens -= 1;
      return true;
    }

    function handle<E extends ClientEventName>(event: E, fn: (payload: z.infer<(typeof ClientEvents)[E]['payload']>) => Promise<object>) {
      socket.on(event as string, async (raw: unknown, ack?: unknown) => {
        const reply = typeof ack === 'function' ? (ack as (r: unknown) => void) : () => {};
        try {
          if (!allow()) throw new AppError('rate_limited', `more than ${rate} events per second; slow down`);
          const payload = parseOrThrow(ClientEvents[event].payload as z.ZodType, raw, 'body') as z.infer<(typeof ClientEvents)[E]['payload']>;
          reply({ ok: true, ...(await fn(payload)) });
        } catch (err) {
          if (!(err instanceof AppError)) log.error({ err, event, workspaceId: actor.workspaceId }, 'socket event failed');
          reply(failure(err));
        }
      });
    }

    handle('message.send', async ({ conversationId, ...body }) => {
      const r = await s.messages.send(actor, conversationId, body);
      return { message: r.message, duplicate: r.duplicate };
    });

    handle('conversation.subscribe', async ({ conversationId, afterSeq }) => {
      const replay = await s.conversations.replay(actor, conversationId, afterSeq);
      if (actor.kind === 'user') await socket.join(rooms.conv(conversationId));
      return replay;
    });

    handle('conversation.unsubscribe', async ({ conversationId }) => {
      await socket.leave(rooms.conv(conversationId));
      return {};
    });

    handle('sync', async ({ conversations }) => {
      const results = [];
      for (const c of conversations) results.push(await s.conversations.replay(actor, c.conversationId, c.afterSeq));
      return { results };
    });

    handle('typing', async ({ conversationId, typing }) => {
      const conv = await s.conversations.getVisibleRow(s.db, actor, conversationId);
      const event = {
        conversationId,
        senderType: actor.kind === 'visitor' ? 'contact' : 'user',
        senderId: actor.kind === 'visitor' ? actor.contactId : actor.kind === 'user' ? actor.userId : null,
        senderName: actor.kind === 'user' ? actor.name : null,
        typing,
      };
      if (actor.kind === 'visitor') io.to(agentRooms(conv.workspace_id as string, conv.inbox_id as string, conv.assignee_id as string | null, conversationId)).emit('typing', event);
      else socket.to([rooms.visitor(conv.contact_id as string, conv.inbox_id as string), rooms.conv(conversationId)]).emit('typing', event);
      return {};
    });

    handle('read', async ({ conversationId, seq }) => {
      await s.realtimeRead(actor, conversationId, seq);
      return {};
    });

    handle('presence.set', async ({ status }) => {
      const p = await s.routing.setPresence(actor, status);
      return { status: p.status };
    });
  });

  /** Agents who should see live traffic of a conversation. */
  function agentRooms(workspaceId: string, inboxId: string, assigneeId: string | null, conversationId: string): string[] {
    const target = [rooms.conv(conversationId), rooms.wsAll(workspaceId)];
    if (assigneeId) target.push(rooms.user(assigneeId));
    else target.push(rooms.inbox(inboxId));
    return target;
  }

  const unsubscribe = [
    s.events.on('message.created', ({ message, conversation }) => {
      io.to(agentRooms(conversation.workspaceId, conversation.inboxId, conversation.assigneeId, conversation.id)).emit('message.created', message);
      if (!message.private) io.to(rooms.visitor(conversation.contactId, conversation.inboxId)).emit('message.created', message);
    }),
    // Delivery status of channel messages: agents only (the customer sees it in their own app).
    s.events.on('message.updated', ({ message, conversation }) => {
      io.to(agentRooms(conversation.workspaceId, conversation.inboxId, conversation.assigneeId, conversation.id)).emit('message.updated', message);
    }),
    s.events.on('conversation.updated', ({ conversation, previousAssigneeId }) => {
      const target = [rooms.inbox(conversation.inboxId), rooms.wsAll(conversation.workspaceId), rooms.conv(conversation.id)];
      if (conversation.assigneeId) target.push(rooms.user(conversation.assigneeId));
      if (previousAssigneeId) target.push(rooms.user(previousAssigneeId));
      io.to(target).emit('conversation.updated', conversation);
      io.to(rooms.visitor(conversation.contactId, conversation.inboxId)).emit('conversation.updated', presentVisitorConversation(conversation));
    }),
    s.events.on('conversation.read', (e) => {
      const event = { conversationId: e.conversationId, readerType: e.readerType, readerId: e.readerId, seq: e.seq };
      if (e.readerType === 'user') io.to(rooms.visitor(e.contactId, e.inboxId)).emit('read', event);
      else io.to(agentRooms(e.workspaceId, e.inboxId, e.assigneeId, e.conversationId)).emit('read', event);
    }),
    s.events.on('queue.updated', (e) => {
      io.to(rooms.contact(e.contactId)).emit('queue.updated', { conversationId: e.conversationId, position: e.position, estimatedWaitSeconds: e.estimatedWaitSeconds });
    }),
    s.events.on('presence.updated', async ({ workspaceId, userId }) => {
      // One read per change, sent to every supervisor; agents never see each other's presence.
      const current = await s.routing.presenceOfUser(workspaceId, userId).catch((err: unknown) => log.warn({ err }, 'presence: broadcast failed'));
      if (current) io.to(rooms.supervisors(workspaceId)).emit('presence.updated', current);
    }),
    s.events.on('routing.queue_changed', ({ workspaceId }) => {
      io.to(rooms.supervisors(workspaceId)).emit('queue.changed', {});
    }),
    s.events.on('conversation.offered', ({ conversationId, agentIds }) => {
      io.to(agentIds.map((id) => rooms.user(id))).emit('conversation.offered', { conversationId });
    }),
    s.events.on('transfer.requested', ({ transfer, conversation }) => {
      if (transfer.toUserId) io.to(rooms.user(transfer.toUserId)).emit('transfer.requested', { transfer, conversation });
    }),
    s.events.on('transfer.responded', ({ transfer, conversation }) => {
      const target = [rooms.user(transfer.fromUserId)];
      if (transfer.toUserId) target.push(rooms.user(transfer.toUserId));
      io.to(target).emit('transfer.responded', { transfer, conversation });
    }),
    s.events.on('sessions.revoked', ({ sessionIds, reason }) => {
      for (const id of sessionIds) {
        io.to(rooms.session(id)).emit('session.revoked', { reason });
        io.in(rooms.session(id)).disconnectSockets(true);
      }
    }),
    s.events.on('cluster.resync', async () => {
      for (const socket of io.of('/').sockets.values()) {
        const a = (socket.data as SocketData).actor;
        if (a.kind === 'user') await joinAgentRooms(socket, a).catch((err: unknown) => log.warn({ err }, 'realtime: rooms not recomputed'));
      }
    }),
    s.events.on('inbox.members_changed', async ({ workspaceId }) => {
      // Membership decides which inbox rooms an agent is in: recompute for the workspace's agents on this
      // node (other nodes hear the event through the cluster relay and do the same for theirs).
      for (const socket of io.of('/').sockets.values()) {
        const a = (socket.data as SocketData).actor;
        if (a.kind === 'user' && a.workspaceId === workspaceId) await joinAgentRooms(socket, a).catch((err: unknown) => log.warn({ err }, 'realtime: rooms not recomputed'));
      }
    }),
  ];

  return {
    io,
    /**
     * Whether a visitor has a live widget connection (a socket in their contact room, on any node through
     * the adapter). The narrow question core asks for offline email replies; core never sees the gateway.
     */
    async isContactOnline(contactId: string): Promise<boolean> {
      return (await io.in(rooms.contact(contactId)).fetchSockets()).length > 0;
    },
    async close(): Promise<void> {
      clearInterval(backlogTimer);
      unsubscribe.forEach((u) => u());
      // Close transports without a "server disconnect" packet: clients treat this like a network drop and
      // reconnect (to this node after a restart, or to another node), then resync from their last seq.
      if (httpServer) await new Promise<void>((resolve) => io.close(() => resolve()));
      // Not attached (no realtime role): no engine to close, only the adapter's stream reader.
      else await (io.of('/').adapter as { close?: () => Promise<void> | void }).close?.();
      await presence.close();
    },
  };
}
export type Gateway = ReturnType<typeof createGateway>;
export type { VisitorActor };
