import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { Server } from 'socket.io';

/**
 * Baseline: a bare Socket.IO relay, no database, no validation beyond the minimum. Same handshake auth,
 * event names, payloads, acks and fan-out (assigned agent's room + the visitor's own room) as the Huiliu
 * gateway, so the benchmark client runs the identical code path against it.
 *
 * Usage: node --import tsx relay-server.ts <mapping.json>  (env PORT); prints "relay listening <port>".
 * mapping.json: { visitors: [{ visitorToken, conversationId, contactId, agentToken }], agents: [{ token, userId }] }
 */
interface Mapping {
  visitors: { visitorToken: string; conversationId: string; contactId: string; agentToken: string }[];
  agents: { token: string; userId: string }[];
}
const mapping = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as Mapping;
const agentByToken = new Map(mapping.agents.map((a) => [a.token, a.userId]));
const visitorByToken = new Map(mapping.visitors.map((v) => [v.visitorToken, v]));
const assignee = new Map(mapping.visitors.map((v) => [v.conversationId, { userId: agentByToken.get(v.agentToken)!, contactId: v.contactId, seq: 0 }]));

const http = createServer();
const io = new Server(http, { path: '/socket.io', serveClient: false, maxHttpBufferSize: 256 * 1024, cors: { origin: true, credentials: false }, pingInterval: 20_000, pingTimeout: 20_000 });

io.use((socket, next) => {
  const auth = socket.handshake.auth as { token?: string; visitorToken?: string };
  if (auth.token && agentByToken.has(auth.token)) socket.data = { kind: 'user', userId: agentByToken.get(auth.token) };
  else if (auth.visitorToken && visitorByToken.has(auth.visitorToken)) socket.data = { kind: 'visitor', contactId: visitorByToken.get(auth.visitorToken)!.contactId };
  else return next(new Error('unauthenticated'));
  next();
});

io.on('connection', (socket) => {
  const data = socket.data as { kind: 'user'; userId: string } | { kind: 'visitor'; contactId: string };
  if (data.kind === 'user') void socket.join(`user:${data.userId}`);
  else void socket.join(`contact:${data.contactId}`);
  socket.on('message.send', (raw: { conversationId?: string; clientId?: string; contentType?: string; text?: string }, ack?: (r: unknown) => void) => {
    const reply = typeof ack === 'function' ? ack : () => {};
    const conv = raw && typeof raw.conversationId === 'string' ? assignee.get(raw.conversationId) : undefined;
    if (data.kind !== 'visitor' || !conv || conv.contactId !== data.contactId || typeof raw.text !== 'string') {
      return reply({ ok: false, error: { code: 'not_found', message: 'conversation not found' } });
    }
    const message = {
      id: randomUUID(),
      conversationId: raw.conversationId,
      seq: ++conv.seq,
      direction: 'incoming',
      private: false,
      senderType: 'contact',
      senderId: data.contactId,
      identityId: null,
      contentType: raw.contentType ?? 'text',
      text: raw.text,
      attachments: [],
      location: null,
      card: null,
      clientId: raw.clientId ?? null,
      externalId: null,
      deliveryStatus: 'sent',
      deliveryError: null,
      subject: null,
      html: null,
      unsupported: null,
      template: null,
      createdAt: new Date().toISOString(),
    };
    io.to(`user:${conv.userId}`).emit('message.created', message);
    io.to(`contact:${conv.contactId}`).emit('message.created', message);
    reply({ ok: true, message, duplicate: false });
  });
});

http.listen(Number(process.env.PORT ?? 0), '0.0.0.0', () => {
  console.log(`relay listening ${(http.address() as { port: number }).port}`);
});
const stop = () => io.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
