export * from './blob-storage.ts';
export * from './disk-storage.ts';
export * from './file-name.ts';
export * from './upload-policy.ts';
