/**
 * The Engine.IO v4 + Socket.IO v5 wire format, text frames only, for transports that speak it over a bare
 * WebSocket (the WeChat mini-program's `wx.connectSocket` has no socket.io-client). Pure functions, no I/O.
 *
 * One WebSocket frame = one Engine.IO packet: a type digit and its data.
 *   0 open {sid, upgrades, pingInterval, pingTimeout, maxPayload}   1 close   2 ping   3 pong   4 message
 *   5 upgrade   6 noop
 * A Socket.IO packet travels as the data of an Engine.IO message ("4…"):
 *   <type>[<attachments>-][<namespace>,][<ack id>][JSON]
 *   0 CONNECT   1 DISCONNECT   2 EVENT   3 ACK   4 CONNECT_ERROR   5 BINARY_EVENT   6 BINARY_ACK
 * so a client's handshake is "40{auth}", an event with an ack id 7 is `427["name",{…}]` and its answer
 * `437[{…}]`. Binary packets (5, 6) are refused: Huiliu's protocol is JSON only.
 *
 * References: https://socket.io/docs/v4/engine-io-protocol/ and https://socket.io/docs/v4/socket-io-protocol/
 */

/** A frame that does not follow the protocol. The transport drops the connection on it (and reconnects). */
export class ProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProtocolError';
  }
}

/** The Engine.IO handshake the server sends first. */
export interface EngineHandshake {
  readonly sid: string;
  readonly upgrades: readonly string[];
  /** The server pings this often… */
  readonly pingInterval: number;
  /** …and closes the connection when the pong is this late. The client uses the sum to detect a dead link. */
  readonly pingTimeout: number;
  readonly maxPayload: number;
}

export type EnginePacket =
  | { readonly type: 'open'; readonly handshake: EngineHandshake }
  | { readonly type: 'close' }
  | { readonly type: 'ping'; readonly data: string }
  | { readonly type: 'pong'; readonly data: string }
  | { readonly type: 'message'; readonly data: string }
  | { readonly type: 'upgrade' }
  | { readonly type: 'noop' };

const ENGINE_TYPES = ['open', 'close', 'ping', 'pong', 'message', 'upgrade', 'noop'] as const;

export function decodeEnginePacket(frame: unknown): EnginePacket {
  if (typeof frame !== 'string') throw new ProtocolError('binary frames are not part of this protocol (text only)');
  const type = /^[0-6]/.test(frame) ? ENGINE_TYPES[Number(frame[0])] : undefined;
  if (!type) throw new ProtocolError(`unknown Engine.IO packet type in ${preview(frame)}`);
  const data = frame.slice(1);
  switch (type) {
    case 'open':
      return { type, handshake: parseHandshake(data) };
    case 'ping':
    case 'pong':
    case 'message':
      return { type, data };
    default:
      return { type };
  }
}

export function encodeEnginePacket(packet: { type: 'pong' | 'ping' | 'message' | 'close'; data?: string }): string {
  return String(ENGINE_TYPES.indexOf(packet.type)) + (packet.data ?? '');
}

function parseHandshake(data: string): EngineHandshake {
  const raw = parseJson(data, 'Engine.IO open packet') as Partial<Record<keyof EngineHandshake, unknown>> | null;
  if (
    !raw ||
    typeof raw !== 'object' ||
    typeof raw.sid !== 'string' ||
    typeof raw.pingInterval !== 'number' ||
    typeof raw.pingTimeout !== 'number'
  ) {
    throw new ProtocolError(`the Engine.IO open packet lacks sid / pingInterval / pingTimeout: ${preview(data)}`);
  }
  return {
    sid: raw.sid,
    upgrades: Array.isArray(raw.upgrades) ? raw.upgrades.filter((u): u is string => typeof u === 'string') : [],
    pingInterval: raw.pingInterval,
    pingTimeout: raw.pingTimeout,
    maxPayload: typeof raw.maxPayload === 'number' ? raw.maxPayload : 1_000_000,
  };
}

/** The default namespace, which Huiliu uses; it is omitted on the wire. */
export const ROOT_NAMESPACE = '/';

export type SocketPacket =
  | { readonly type: 'connect'; readonly nsp: string; readonly data?: Record<string, unknown> }
  | { readonly type: 'disconnect'; readonly nsp: string }
  | { readonly type: 'event'; readonly nsp: string; readonly id?: number; readonly data: readonly [string, ...unknown[]] }
  | { readonly type: 'ack'; readonly nsp: string; readonly id: number; readonly data: readonly unknown[] }
  | { readonly type: 'connect_error'; readonly nsp: string; readonly data: { readonly message: string; readonly data?: unknown } };

const SOCKET_TYPES = ['connect', 'disconnect', 'event', 'ack', 'connect_error', 'binary_event', 'binary_ack'] as const;

/** Event names the protocol reserves: a server event with one of these names is malformed. */
const RESERVED_EVENTS = new Set(['connect', 'connect_error', 'disconnect', 'disconnecting', 'newListener', 'removeListener']);

/** Encodes a Socket.IO packet as the data of an Engine.IO message, i.e. without the leading "4". */
export function encodeSocketPacket(packet: SocketPacket): string {
  let out = String(SOCKET_TYPES.indexOf(packet.type));
  if (packet.nsp !== ROOT_NAMESPACE) out += `${packet.nsp},`;
  if ((packet.type === 'event' || packet.type === 'ack') && packet.id !== undefined) {
    if (!Number.isSafeInteger(packet.id) || packet.id < 0) throw new ProtocolError(`invalid ack id ${packet.id}`);
    out += String(packet.id);
  }
  if (packet.type !== 'disconnect' && 'data' in packet && packet.data !== undefined) out += JSON.stringify(packet.data);
  return out;
}

/** Decodes the data of an Engine.IO message. Throws `ProtocolError` for anything malformed or binary. */
export function decodeSocketPacket(text: string): SocketPacket {
  const typeIndex = /^[0-6]/.test(text) ? Number(text[0]) : -1;
  const type = SOCKET_TYPES[typeIndex];
  if (!type) throw new ProtocolError(`unknown Socket.IO packet type in ${preview(text)}`);
  if (type === 'binary_event' || type === 'binary_ack') {
    throw new ProtocolError('binary Socket.IO packets are not supported: Huiliu events are JSON');
  }
  let i = 1;
  let nsp = ROOT_NAMESPACE;
  if (text[i] === '/') {
    const end = text.indexOf(',', i);
    // socket.io-parser: a namespace runs to the next comma, or to the end of the packet.
    nsp = end === -1 ? text.slice(i) : text.slice(i, end);
    i = end === -1 ? text.length : end + 1;
  }
  let idText = '';
  while (i < text.length && text[i]! >= '0' && text[i]! <= '9') idText += text[i++];
  const id = idText === '' ? undefined : Number(idText);
  if (id !== undefined && !Number.isSafeInteger(id)) throw new ProtocolError(`ack id out of range in ${preview(text)}`);
  const json = text.slice(i);
  const data: unknown = json === '' ? undefined : parseJson(json, `Socket.IO ${type} packet`);

  switch (type) {
    case 'connect':
      if (data !== undefined && !isObject(data)) throw new ProtocolError('a CONNECT payload must be an object');
      return data === undefined ? { type, nsp } : { type, nsp, data };
    case 'disconnect':
      if (data !== undefined) throw new ProtocolError('a DISCONNECT packet carries no payload');
      return { type, nsp };
    case 'event': {
      if (!Array.isArray(data) || typeof data[0] !== 'string' || RESERVED_EVENTS.has(data[0])) {
        throw new ProtocolError(`an EVENT payload must be an array starting with an event name: ${preview(text)}`);
      }
      const event = data as unknown as [string, ...unknown[]];
      return id === undefined ? { type, nsp, data: event } : { type, nsp, id, data: event };
    }
    case 'ack':
      if (id === undefined) throw new ProtocolError('an ACK packet needs an ack id');
      if (!Array.isArray(data)) throw new ProtocolError('an ACK payload must be an array');
      return { type, nsp, id, data };
    case 'connect_error': {
      // Socket.IO v5 sends `{ message, data? }`; v4 servers sent a bare string.
      if (typeof data === 'string') return { type, nsp, data: { message: data } };
      if (!isObject(data) || typeof data.message !== 'string') {
        throw new ProtocolError('a CONNECT_ERROR payload must be { message, data? }');
      }
      return { type, nsp, data: 'data' in data ? { message: data.message, data: data.data } : { message: data.message } };
    }
  }
}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new ProtocolError(`${what} is not valid JSON: ${preview(text)}`);
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Enough of a frame to recognise it in an error, never a whole message body. */
function preview(text: string): string {
  return JSON.stringify(text.length > 60 ? `${text.slice(0, 60)}…` : text);
}
