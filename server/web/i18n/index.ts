// The dashboard speaks Simplified Chinese (the operators' language) with an English switch. Each
// area keeps its own catalogue beside the others; a test checks both languages have every key.
import { commonMessages } from './common.ts';
import { diagnoseReportMessages } from './diagnose-report.ts';
import { DEFAULT_LANG, type Lang } from './langs.ts';
import { launchMessages } from './launch.ts';
import { notifyMessages } from './notify.ts';
import { overviewMessages } from './overview.ts';
import { reasonMessages } from './reasons.ts';
import { stuckMessages } from './stuck.ts';
import { taskMessages } from './task.ts';

export { DEFAULT_LANG, LANGS, parseLang, type Lang } from './langs.ts';
export const LANG_COOKIE = 'af_lang';

export type Messages = Record<string, string>;
export interface Catalogue {
  zh: Messages;
  en: Messages;
}

export const CATALOGUES: Catalogue[] = [commonMessages, overviewMessages, taskMessages, stuckMessages, notifyMessages, launchMessages, reasonMessages, diagnoseReportMessages];

const merged: Record<Lang, Messages> = {
  zh: Object.assign({}, ...CATALOGUES.map((c) => c.zh)),
  en: Object.assign({}, ...CATALOGUES.map((c) => c.en)),
};

export type Translate = (key: string, vars?: Record<string, string | number>) => string;

/** t('runs.count', { n: 3 }) fills "{n}"; an unknown key shows itself, so a gap is visible, not blank. */
export function translator(lang: Lang): Translate {
  const messages = merged[lang];
  return (key, vars) => {
    const text = messages[key] ?? merged[DEFAULT_LANG][key] ?? key;
    return vars ? text.replace(/\{(\w+)\}/g, (whole, name: string) => (name in vars ? String(vars[name]) : whole)) : text;
  };
}
