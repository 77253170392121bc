// The task id rule is one regular expression shared by the route schemas and parseTaskId; it must
// accept exactly 1..4294967295 written plainly, the range of call_tasks.id (INT UNSIGNED).
import { describe, expect, it } from 'vitest';
import { MAX_TASK_ID, parseTaskId } from '../../server/task-id.ts';
import { randomInt } from '../helpers/seeded-random.ts';

describe('parseTaskId', () => {
  it('accepts every boundary of the ten-digit range and refuses one past it', () => {
    const edges = [1, 9, 10, 999_999_999, 1_000_000_000, 3_999_999_999, 4_000_000_000, 4_199_999_999, 4_289_999_999, 4_293_999_999,
      4_294_899_999, 4_294_959_999, 4_294_966_999, 4_294_967_199, 4_294_967_289, MAX_TASK_ID];
    for (const n of edges) expect(parseTaskId(String(n)), String(n)).toBe(n);
    for (const n of [MAX_TASK_ID + 1, 4_294_967_300, 4_294_967_390, 4_294_968_000, 4_294_970_000, 4_295_000_000, 4_300_000_000,
      4_400_000_000, 5_000_000_000, 9_999_999_999, 10_000_000_000]) {
      expect(parseTaskId(String(n)), String(n)).toBeNull();
    }
  });

  it('agrees with the numeric range for random ten-digit numbers', () => {
    for (let i = 0; i < 20_000; i++) {
      const n = randomInt(1_000_000_000, 10_000_000_000);
      expect(parseTaskId(String(n)) !== null, String(n)).toBe(n <= MAX_TASK_ID);
    }
  });

  it.each(['', '0', '01', '-1', '+1', '1.5', '1e3', '0x10', ' 1', '1 ', 'abc', '１'])('refuses %j', (text) => {
    expect(parseTaskId(text)).toBeNull();
  });
});
