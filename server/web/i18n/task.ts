// Strings of the task page(s), in both languages (see index.ts).
import type { Catalogue } from './index.ts';

export const taskMessages: Catalogue = {
  zh: {},
  en: {},
};
