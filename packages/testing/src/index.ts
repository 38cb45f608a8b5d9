export * from './db.ts';
export * from './ports.ts';
