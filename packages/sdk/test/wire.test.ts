import { describe, expect, it } from 'vitest';
// The official parsers (dependencies of socket.io, hoisted): what our hand-written codec must agree with.
import * as engineParser from 'engine.io-parser';
import { Decoder, Encoder, PacketType, type Packet } from 'socket.io-parser';
import {
  decodeEnginePacket,
  decodeSocketPacket,
  encodeEnginePacket,
  encodeSocketPacket,
  ProtocolError,
  type SocketPacket,
} from '../src/wire.ts';

/** socket.io-parser's text encoding of a packet. */
function official(packet: Packet): string {
  const [text, ...rest] = new Encoder().encode(packet);
  expect(rest).toEqual([]);
  return text as string;
}

/** socket.io-parser's decoding of a text packet. */
function officialDecode(text: string): Packet {
  const decoder = new Decoder();
  let out: Packet | undefined;
  decoder.on('decoded', (p: Packet) => (out = p));
  decoder.add(text);
  if (!out) throw new Error('not decoded');
  return out;
}

describe('Engine.IO v4 packets', () => {
  it('decodes the open handshake the server sends first', () => {
    const frame = '0{"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}';
    expect(decodeEnginePacket(frame)).toEqual({
      type: 'open',
      handshake: { sid: 'lv_VI97HAXpY6yYWAAAC', upgrades: [], pingInterval: 25000, pingTimeout: 20000, maxPayload: 1000000 },
    });
  });

  it('agrees with engine.io-parser on every text packet type', () => {
    for (const [type, data] of [['close', undefined], ['ping', ''], ['ping', 'probe'], ['pong', ''], ['message', '2["x"]'], ['noop', undefined]] as const) {
      let encoded = '';
      engineParser.encodePacket({ type, ...(data === undefined ? {} : { data }) }, false, (e) => (encoded = e as string));
      const ours = decodeEnginePacket(encoded);
      expect(ours.type).toBe(type);
      if ('data' in ours) expect(ours.data).toBe(data ?? '');
      const theirs = engineParser.decodePacket(encoded);
      expect(theirs.type).toBe(type);
    }
    expect(encodeEnginePacket({ type: 'pong' })).toBe('3');
    expect(encodeEnginePacket({ type: 'message', data: '40{}' })).toBe('440{}');
    expect(engineParser.decodePacket(encodeEnginePacket({ type: 'message', data: '40{}' }))).toEqual({ type: 'message', data: '40{}' });
  });

  it('refuses binary frames, unknown types and a handshake without timings', () => {
    expect(() => decodeEnginePacket(new ArrayBuffer(4))).toThrow(ProtocolError);
    expect(() => decodeEnginePacket('')).toThrow(/unknown Engine.IO packet type/);
    expect(() => decodeEnginePacket('9')).toThrow(/unknown Engine.IO packet type/);
    expect(() => decodeEnginePacket('b4AAAA')).toThrow(ProtocolError);
    expect(() => decodeEnginePacket('0{"sid":"x"}')).toThrow(/pingInterval/);
    expect(() => decodeEnginePacket('0not json')).toThrow(/not valid JSON/);
  });
});

describe('Socket.IO v5 packets', () => {
  const cases: Array<[string, SocketPacket, Packet]> = [
    ['connect with auth', { type: 'connect', nsp: '/', data: { visitorToken: 'v1.abc' } }, { type: PacketType.CONNECT, nsp: '/', data: { visitorToken: 'v1.abc' } }],
    ['disconnect', { type: 'disconnect', nsp: '/' }, { type: PacketType.DISCONNECT, nsp: '/' }],
    [
      'event with ack id',
      { type: 'event', nsp: '/', id: 12, data: ['message.send', { text: '你好 "quoted" \\ \u2028', n: 1 }] },
      { type: PacketType.EVENT, nsp: '/', id: 12, data: ['message.send', { text: '你好 "quoted" \\ \u2028', n: 1 }] },
    ],
    ['event without ack', { type: 'event', nsp: '/', data: ['typing', { typing: true }] }, { type: PacketType.EVENT, nsp: '/', data: ['typing', { typing: true }] }],
    ['ack', { type: 'ack', nsp: '/', id: 0, data: [{ ok: true }] }, { type: PacketType.ACK, nsp: '/', id: 0, data: [{ ok: true }] }],
    ['event in a namespace', { type: 'event', nsp: '/admin', id: 3, data: ['x', 1] }, { type: PacketType.EVENT, nsp: '/admin', id: 3, data: ['x', 1] }],
  ];

  for (const [name, ours, theirs] of cases) {
    it(`encodes ${name} exactly as socket.io-parser, and decodes its output back`, () => {
      const text = official(theirs);
      expect(encodeSocketPacket(ours)).toBe(text);
      expect(decodeSocketPacket(text)).toEqual(ours);
      const back = officialDecode(encodeSocketPacket(ours));
      expect({ ...back, data: back.data }).toMatchObject({ type: theirs.type, nsp: theirs.nsp, ...(theirs.id === undefined ? {} : { id: theirs.id }) });
      expect(back.data).toEqual(theirs.data);
    });
  }

  it('decodes what the server sends: CONNECT with sid, CONNECT_ERROR with data, a server event, an ack', () => {
    expect(decodeSocketPacket('0{"sid":"abc"}')).toEqual({ type: 'connect', nsp: '/', data: { sid: 'abc' } });
    const refused = official({
      type: PacketType.CONNECT_ERROR,
      nsp: '/',
      data: { message: 'bad token', data: { code: 'unauthenticated', message: 'the visitor token is invalid' } },
    });
    expect(refused).toBe('4{"message":"bad token","data":{"code":"unauthenticated","message":"the visitor token is invalid"}}');
    expect(decodeSocketPacket(refused)).toEqual({
      type: 'connect_error',
      nsp: '/',
      data: { message: 'bad token', data: { code: 'unauthenticated', message: 'the visitor token is invalid' } },
    });
    expect(decodeSocketPacket('4"old style"')).toEqual({ type: 'connect_error', nsp: '/', data: { message: 'old style' } });
    expect(decodeSocketPacket('2["message.created",{"seq":3}]')).toEqual({ type: 'event', nsp: '/', data: ['message.created', { seq: 3 }] });
    expect(decodeSocketPacket('31234567[{"ok":false}]')).toEqual({ type: 'ack', nsp: '/', id: 1234567, data: [{ ok: false }] });
  });

  it('refuses malformed and binary packets with a ProtocolError', () => {
    for (const bad of [
      '',
      '7',
      'x',
      '51-["x",{"_placeholder":true,"num":0}]', // BINARY_EVENT
      '61-0[{"_placeholder":true,"num":0}]', // BINARY_ACK
      '2{"not":"an array"}',
      '2[]',
      '2[1]',
      '2["connect"]', // reserved event name
      '3["ack without id"]',
      '31{"not":"an array"}',
      '1{}',
      '0[]',
      '4{"no":"message"}',
      '2["x",',
      '2999999999999999999["x"]',
    ]) {
      expect(() => decodeSocketPacket(bad), bad).toThrow(ProtocolError);
    }
    expect(() => encodeSocketPacket({ type: 'event', nsp: '/', id: -1, data: ['x'] })).toThrow(ProtocolError);
  });
});
