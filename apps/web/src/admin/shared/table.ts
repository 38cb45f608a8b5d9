import type { HTMLAttributes } from 'react';

/**
 * `data-*` attributes for a table row (antd's onRow). Tests find rows by them; TypeScript only accepts
 * hyphenated keys in JSX, not in the object onRow returns, hence this one cast.
 */
export const rowAttrs = (attrs: Record<`data-${string}`, string>): HTMLAttributes<HTMLElement> => attrs as HTMLAttributes<HTMLElement>;
