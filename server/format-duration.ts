// Durations for people, in the dashboard's templates and in /stuck's sentences alike.

/** 850 ms, 2.7 s, 3 min 20 s, 2 h, 1 d 4 h: the two largest units that say something. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  const [big, bigUnit, small, smallUnit] =
    s < 3600 ? [Math.floor(s / 60), 'min', s % 60, 's'] : s < 86_400 ? [Math.floor(s / 3600), 'h', Math.floor((s % 3600) / 60), 'min'] : [Math.floor(s / 86_400), 'd', Math.floor((s % 86_400) / 3600), 'h'];
  return small > 0 ? `${big} ${bigUnit} ${small} ${smallUnit}` : `${big} ${bigUnit}`;
}
