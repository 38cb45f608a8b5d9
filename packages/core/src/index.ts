export * from './db/database.ts';
export * from './shared/errors.ts';
