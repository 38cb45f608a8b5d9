import { createContext, useCallback, useContext, useMemo, useState, type ReactNode } from 'react';
import { common } from '../i18n/common.ts';
import { workbench } from '../i18n/workbench.ts';
import { admin } from '../i18n/admin.ts';
import { routing } from '../i18n/routing.ts';
import { identity } from '../i18n/identity.ts';
import { channels } from '../i18n/channels.ts';
import { flows } from '../i18n/flows.ts';
import { bot } from '../i18n/bot.ts';

/**
 * zh-CN / English. Each area keeps its own dictionary (src/i18n/<area>.ts, `{ 'zh-CN': {...}, en: {...} }`
 * with the same keys in both); `t('key', { name })` fills `{name}` placeholders. The choice is remembered
 * in localStorage; the first visit follows the browser's language.
 */
export type Locale = 'zh-CN' | 'en';
export type Dictionary = Record<Locale, Record<string, string>>;

const LOCALE_KEY = 'huiliu.locale';
const dictionaries: Dictionary[] = [common, workbench, admin, routing, channels, identity, flows, bot];
const merged: Record<Locale, Record<string, string>> = {
  'zh-CN': Object.assign({}, ...dictionaries.map((d) => d['zh-CN'])),
  en: Object.assign({}, ...dictionaries.map((d) => d.en)),
};

export function initialLocale(): Locale {
  const saved = localStorage.getItem(LOCALE_KEY);
  if (saved === 'zh-CN' || saved === 'en') return saved;
  return navigator.language.toLowerCase().startsWith('zh') ? 'zh-CN' : 'en';
}

export type Translate = (key: string, vars?: Record<string, string | number>) => string;

export function translate(locale: Locale, key: string, vars?: Record<string, string | number>): string {
  const text = merged[locale][key] ?? merged.en[key] ?? key;
  return vars ? text.replace(/\{(\w+)\}/g, (m, name: string) => (name in vars ? String(vars[name]) : m)) : text;
}

interface I18n {
  locale: Locale;
  setLocale: (locale: Locale) => void;
  t: Translate;
}
const I18nContext = createContext<I18n | null>(null);

export function I18nProvider({ children }: { children: ReactNode }) {
  const [locale, setLocaleState] = useState<Locale>(initialLocale);
  const setLocale = useCallback((l: Locale) => {
    localStorage.setItem(LOCALE_KEY, l);
    document.documentElement.lang = l;
    setLocaleState(l);
  }, []);
  const t = useCallback<Translate>((key, vars) => translate(locale, key, vars), [locale]);
  const value = useMemo(() => ({ locale, setLocale, t }), [locale, setLocale, t]);
  return <I18nContext.Provider value={value}>{children}</I18nContext.Provider>;
}

export function useI18n(): I18n {
  const v = useContext(I18nContext);
  if (!v) throw new Error('useI18n outside I18nProvider');
  return v;
}
