import type { Dictionary } from '../lib/i18n.tsx';

export const admin: Dictionary = { 'zh-CN': {}, en: {} };
