import type { Dictionary } from '../lib/i18n.tsx';

export const routing: Dictionary = { 'zh-CN': {}, en: {} };
