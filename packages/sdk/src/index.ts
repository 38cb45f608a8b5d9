// @huiliu/sdk: Huiliu chat for apps (React Native, Node), WeChat mini-programs and the web, with no DOM
// dependency. Built on the client core the web widget uses (@huiliu/client): same protocol, same outbox,
// same seq-based resync. Mini-programs can import '@huiliu/sdk/miniprogram' to leave socket.io-client out.
import { createSocketIoTransport } from '@huiliu/client';
import { createHuiliuCore, type Huiliu } from './huiliu.ts';
import { createFetchHttp } from './http.ts';
import { detectPlatform, miniprogramDefaults, type HuiliuOptions } from './platform.ts';
import { createLocalStorage, createMemoryStorage } from './storage.ts';

/**
 * A Huiliu chat for one visitor of one inbox:
 *
 *   const chat = createHuiliu({ baseUrl: 'https://support.example.com', inboxId: 'AbC…', platform: 'node' });
 *   chat.on('message', (m) => console.log(m.text));
 *   await chat.connect();
 *   chat.send('你好');
 */
export function createHuiliu(options: HuiliuOptions): Huiliu {
  const platform = options.platform ?? detectPlatform();
  if (platform === 'miniprogram') return createHuiliuCore({ ...options, ...miniprogramDefaults(options) });
  return createHuiliuCore({
    ...options,
    http: options.http ?? createFetchHttp(),
    storage: options.storage ?? (platform === 'web' ? createLocalStorage() : createMemoryStorage()),
    transport:
      options.transport ??
      ((ctx) =>
        createSocketIoTransport({
          url: ctx.url,
          path: ctx.path,
          auth: ctx.auth,
          ...(options.client?.ackTimeoutMs ? { ackTimeoutMs: options.client.ackTimeoutMs } : {}),
        })),
  });
}

export * from './exports.ts';
export { createSocketIoTransport };
