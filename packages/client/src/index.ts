// The transport-independent core. The Socket.IO transport is exported too: the package is marked
// `sideEffects: false`, so bundles for targets with their own transport (mini-program) leave socket.io-client
// out (core alone ≈ 5 KB gzipped, with socket.io-client ≈ 18 KB, measured with esbuild --minify).
export {
  createChatClient,
  ChatClientError,
  type ChatClient,
  type ChatClientEvents,
  type ChatClientOptions,
  type ErrorContext,
  type ChatStatus,
  type SendHandle,
  type TimelineItem,
} from './client.ts';
export { ConversationStore, type StoreChange } from './conversation-store.ts';
export { createClientId } from './ids.ts';
export type { OutgoingMessage, OutgoingStatus, SendInput, SendResult, StorageAdapter } from './outbox.ts';
export type {
  AckError,
  ChatError,
  ClientAck,
  ClientPayload,
  ConversationUpdate,
  HandshakeAuthInput,
  ReadEvent,
  ServerPayload,
  SessionRevokedEvent,
  TransportErrorCode,
  TypingEvent,
} from './protocol.ts';
export { createSocketIoTransport, type SocketIoTransportOptions } from './socketio-transport.ts';
export {
  TransportError,
  isTransportError,
  type ConnectError,
  type EmitOptions,
  type Transport,
  type Unsubscribe,
} from './transport.ts';
