// What every template can use (reply.locals, merged into each render by @fastify/view): the
// operator's language and name, the CSRF token, and formatters that keep pages consistent —
// times in the CRM zone, phones masked, stages named as the spec names them.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { roleAllows, type Role } from '../access/roles.ts';
import type { SessionUser } from '../access/sessions.ts';
import { formatDuration } from '../format-duration.ts';
import { roleFor, type Command } from '../operations/command-roles.ts';
import { maskPhone } from '../phone.ts';
import { toCrmDateTime } from '../crm-time.ts';
import { DEFAULT_LANG, LANG_COOKIE, parseLang, translator, type Lang, type Translate } from './i18n/index.ts';

export interface ViewLocals {
  lang: Lang;
  t: Translate;
  operator: string | null;
  role: Role | null;
  /** Whether the logged-in role may run a command: templates show its button only then. */
  can: (command: Command) => boolean;
  /** Whether a login exists (password or accounts): the layout shows "log out" only then. */
  loginEnabled: boolean;
  csrfToken: string;
  /** The current path and query, for the language switch and login's "next". */
  here: string;
  /** A UTC Date or epoch ms -> "YYYY-MM-DD HH:mm:ss" in the CRM zone; CRM strings pass through. */
  time: (value: Date | number | string | null | undefined) => string;
  /** "3 分钟前" / "3 min ago" for a past time; "in 3 min" for a future one. */
  ago: (value: Date | null | undefined) => string;
  duration: (ms: number | null | undefined) => string;
  phone: (raw: string | null | undefined) => string;
  stage: (taskType: number) => string;
  /** A URL for this page with some query parameters replaced (undefined or '' removes one). */
  withQuery: (path: string, query: Record<string, string | number | undefined>) => string;
}

export function langOf(request: FastifyRequest): Lang {
  return parseLang(request.cookies[LANG_COOKIE]) ?? DEFAULT_LANG;
}

export function buildLocals(
  request: FastifyRequest,
  reply: FastifyReply,
  options: { timeZone: string; user: SessionUser | null; loginEnabled: boolean; now: () => number },
): ViewLocals {
  const lang = langOf(request);
  const t = translator(lang);
  return {
    lang,
    t,
    operator: options.user?.name ?? null,
    role: options.user?.role ?? null,
    can: (command) => options.user !== null && roleAllows(options.user.role, roleFor(command)),
    loginEnabled: options.loginEnabled,
    csrfToken: reply.generateCsrf(),
    here: request.url,
    time: (value) => {
      if (value === null || value === undefined) return '—';
      if (typeof value === 'string') return value;
      return toCrmDateTime(typeof value === 'number' ? value : value.getTime(), options.timeZone);
    },
    ago: (value) => (value ? relative(value.getTime() - options.now(), lang) : t('time.never')),
    duration: (ms) => (ms === null || ms === undefined ? '—' : formatDuration(ms)),
    phone: (raw) => maskPhone(raw),
    stage: (taskType) => (taskType >= 1 && taskType <= 4 ? t(`stage.${taskType}`) : t('stage.unknown', { n: taskType })),
    withQuery,
  };
}

export function withQuery(path: string, query: Record<string, string | number | undefined>): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) if (value !== undefined && value !== '') params.set(key, String(value));
  const text = params.toString();
  return text ? `${path}?${text}` : path;
}

function relative(deltaMs: number, lang: Lang): string {
  const abs = Math.abs(deltaMs);
  const [n, zhUnit, enUnit] =
    abs < 60_000 ? [Math.round(abs / 1000), '秒', 's'] : abs < 3_600_000 ? [Math.round(abs / 60_000), '分钟', 'min'] : abs < 86_400_000 ? [Math.round(abs / 3_600_000), '小时', 'h'] : [Math.round(abs / 86_400_000), '天', 'd'];
  if (lang === 'zh') return deltaMs <= 0 ? `${n} ${zhUnit}前` : `${n} ${zhUnit}后`;
  return deltaMs <= 0 ? `${n} ${enUnit} ago` : `in ${n} ${enUnit}`;
}
