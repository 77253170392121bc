// The dashboard's languages, apart from the catalogues: the command line checks `--lang` without
// loading every string.
export const LANGS = ['zh', 'en'] as const;
export type Lang = (typeof LANGS)[number];
export const DEFAULT_LANG: Lang = 'zh';

export function parseLang(raw: unknown): Lang | null {
  return typeof raw === 'string' && (LANGS as readonly string[]).includes(raw) ? (raw as Lang) : null;
}
