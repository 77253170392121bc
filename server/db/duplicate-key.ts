// MySQL's ER_DUP_ENTRY (1062), which drizzle wraps: "this row exists already", the answer an
// insert-first statement uses instead of a check-then-act read.
export function isDuplicateKey(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e && depth < 10; e = (e as { cause?: unknown }).cause, depth++) {
    if ((e as { errno?: unknown }).errno === 1062) return true;
  }
  return false;
}
