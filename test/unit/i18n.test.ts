// The dashboard's two languages: every string exists in both, and no area silently overrides
// another's key (the catalogues are merged into one table per language).
import { describe, expect, it } from 'vitest';
import { CATALOGUES, translator } from '../../server/web/i18n/index.ts';

describe('dashboard catalogues', () => {
  it('give every key in both Chinese and English, non-empty', () => {
    for (const catalogue of CATALOGUES) {
      expect(Object.keys(catalogue.en).sort()).toEqual(Object.keys(catalogue.zh).sort());
      for (const lang of ['zh', 'en'] as const) {
        for (const [key, text] of Object.entries(catalogue[lang])) expect(text.trim(), `${lang} ${key}`).not.toBe('');
      }
    }
  });

  it('never define one key in two areas', () => {
    const seen = new Map<string, number>();
    CATALOGUES.forEach((catalogue, index) => {
      for (const key of Object.keys(catalogue.zh)) {
        expect(seen.get(key), `key "${key}" is defined in catalogues ${seen.get(key)} and ${index}`).toBeUndefined();
        seen.set(key, index);
      }
    });
  });

  it('use the same placeholders in both languages', () => {
    for (const catalogue of CATALOGUES) {
      for (const key of Object.keys(catalogue.zh)) {
        const names = (text: string | undefined) => [...(text ?? '').matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
        expect(names(catalogue.en[key]), key).toEqual(names(catalogue.zh[key]));
      }
    }
  });

  it('fill placeholders and show an unknown key as itself', () => {
    const t = translator('en');
    expect(t('nav.signedInAs', { name: 'Li' })).toBe('Operator: Li');
    expect(t('no.such.key')).toBe('no.such.key');
    expect(translator('zh')('stage.4')).toBe('跟进完成');
  });
});

describe('durations for people', () => {
  it('use the two largest units that say something', async () => {
    const { formatDuration } = await import('../../server/format-duration.ts');
    expect([850, 2_700, 200_000, 7_200_000, 7_500_000, 100_800_000].map(formatDuration)).toEqual(['850 ms', '2.7 s', '3 min 20 s', '2 h', '2 h 5 min', '1 d 4 h']);
  });
});
