export * from './segmenter.ts';
export * from './tsquery.ts';
