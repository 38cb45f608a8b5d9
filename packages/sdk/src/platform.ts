import type { Transport } from '@huiliu/client';
import { HuiliuError } from './errors.ts';
import type { HuiliuCoreOptions, TransportFactory } from './huiliu.ts';
import type { HttpAdapter } from './http.ts';
import type { StorageAdapter } from './storage.ts';
import { globalWx, type WxApi } from './wx-api.ts';
import { createWxHttp, createWxStorage } from './wx-adapters.ts';
import { createWxSocketTransport } from './wx-socket-transport.ts';

/**
 * - `web`: fetch + localStorage + Socket.IO (socket.io-client)
 * - `node`: fetch + memory storage + Socket.IO
 * - `app` (React Native): fetch + memory storage (pass `createAsyncStorage(AsyncStorage)`) + Socket.IO
 * - `miniprogram`: wx.request / wx.uploadFile + wx storage + the built-in Socket.IO protocol over wx.connectSocket
 */
export type Platform = 'web' | 'node' | 'app' | 'miniprogram';

export interface HuiliuOptions extends Omit<HuiliuCoreOptions, 'http' | 'storage' | 'transport'> {
  /** Picks the default adapters; detected when absent (passing it is clearer). */
  platform?: Platform;
  http?: HttpAdapter;
  storage?: StorageAdapter;
  transport?: TransportFactory;
  /** Mini-program: the `wx` object (default: the global one). */
  wx?: WxApi;
}

export function detectPlatform(): Platform {
  const g = globalThis as { wx?: { connectSocket?: unknown }; navigator?: { product?: string }; process?: { versions?: { node?: string } }; window?: unknown };
  if (typeof g.wx?.connectSocket === 'function') return 'miniprogram';
  if (g.navigator?.product === 'ReactNative') return 'app';
  if (g.window === undefined && g.process?.versions?.node) return 'node';
  return 'web';
}

/** The mini-program defaults; used by both entry points. */
export function miniprogramDefaults(options: HuiliuOptions): Pick<HuiliuCoreOptions, 'http' | 'storage' | 'transport'> {
  const wx = options.wx ?? globalWx();
  const needWx = !options.http || !options.storage || !options.transport;
  if (!wx && needWx) {
    throw new HuiliuError('invalid_input', 'platform "miniprogram" needs the wx object: none is global here, pass `wx`');
  }
  return {
    http: options.http ?? createWxHttp(wx!),
    storage: options.storage ?? createWxStorage(wx!),
    transport:
      options.transport ??
      ((ctx): Transport =>
        createWxSocketTransport({
          wx: wx!,
          url: ctx.url,
          path: ctx.path,
          auth: ctx.auth,
          ...(options.client?.ackTimeoutMs ? { ackTimeoutMs: options.client.ackTimeoutMs } : {}),
        })),
  };
}
