export * from './db.ts';
export * from './ports.ts';
export * from './dovecot.ts';
export * from './smtp-sink.ts';
export * from './fake-openai.ts';
