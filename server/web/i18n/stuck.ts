// Strings of the stuck page(s), in both languages (see index.ts).
import type { Catalogue } from './index.ts';

export const stuckMessages: Catalogue = {
  zh: {},
  en: {},
};
