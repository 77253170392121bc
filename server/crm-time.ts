// The one place where times cross zones: the CRM stores zone-less DATETIMEs in its own zone
// (config TZ, default Asia/Shanghai) while the Outbound Bot API speaks epoch milliseconds.

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(timeZone);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat('en-CA', {
      timeZone,
      year: 'numeric', month: '2-digit', day: '2-digit',
      hour: '2-digit', minute: '2-digit', second: '2-digit',
      hourCycle: 'h23',
    });
    formatters.set(timeZone, formatter);
  }
  return formatter;
}

/**
 * Recent answers per zone and second: a pass asks for the same few seconds (its "now") thousands of
 * times, and formatToParts was about 2% of a pass's CPU (issue 12). Cleared when full, so bounded.
 */
const recent = new Map<string, Map<number, string>>();
const RECENT_MAX = 4096;

/** Epoch ms -> "YYYY-MM-DD HH:mm:ss" in the CRM zone. */
export function toCrmDateTime(epochMs: number, timeZone: string): string {
  const second = Math.floor(epochMs / 1000);
  let zone = recent.get(timeZone);
  if (!zone) recent.set(timeZone, (zone = new Map()));
  const known = zone.get(second);
  if (known !== undefined) return known;
  const parts = Object.fromEntries(formatterFor(timeZone).formatToParts(new Date(epochMs)).map((p) => [p.type, p.value]));
  const text = `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute}:${parts.second}`;
  if (zone.size >= RECENT_MAX) zone.clear();
  zone.set(second, text);
  return text;
}

const CRM_DATETIME = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2})(?::(\d{2}))?$/;

/** "YYYY-MM-DD HH:mm[:ss]" in the CRM zone -> epoch ms, or null when it is not such a time. */
export function fromCrmDateTime(text: string, timeZone: string): number | null {
  const m = CRM_DATETIME.exec(text.trim());
  if (!m) return null;
  const [year, month, day, hour, minute, second] = m.slice(1).map((v) => Number(v ?? 0)) as [number, number, number, number, number, number];
  const asUtc = Date.UTC(year, month - 1, day, hour, minute, second);
  // Round-trip check rejects impossible dates such as 2026-02-30.
  const offset = asUtc - Date.parse(toCrmDateTime(asUtc, timeZone).replace(' ', 'T') + 'Z');
  const epoch = asUtc + offset;
  return toCrmDateTime(epoch, timeZone) === normalise(m) ? epoch : null;
}

function normalise(m: RegExpExecArray): string {
  return `${m[1]}-${m[2]}-${m[3]} ${m[4]}:${m[5]}:${m[6] ?? '00'}`;
}
