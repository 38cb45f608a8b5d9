// Entry point for WeChat mini-programs: `import { createHuiliu } from '@huiliu/sdk/miniprogram'` keeps
// socket.io-client out of the bundle (the wx transport speaks the protocol itself).
import { createHuiliuCore, type Huiliu } from './huiliu.ts';
import { miniprogramDefaults, type HuiliuOptions } from './platform.ts';

export function createHuiliu(options: Omit<HuiliuOptions, 'platform'>): Huiliu {
  return createHuiliuCore({ ...options, ...miniprogramDefaults(options) });
}

export * from './exports.ts';
