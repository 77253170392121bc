// Strings of the overview page(s), in both languages (see index.ts).
import type { Catalogue } from './index.ts';

export const overviewMessages: Catalogue = {
  zh: {},
  en: {},
};
