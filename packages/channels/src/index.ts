export * from './adapter.ts';
export { channelAdapters, adapterFor } from './registry.ts';
