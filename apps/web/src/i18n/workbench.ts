import type { Dictionary } from '../lib/i18n.tsx';

export const workbench: Dictionary = { 'zh-CN': {}, en: {} };
