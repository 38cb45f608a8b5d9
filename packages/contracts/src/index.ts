export * from './errors.ts';
export * from './permissions.ts';
export * from './entities.ts';
export * from './api.ts';
export * from './realtime.ts';
export * from './routing-rules.ts';
