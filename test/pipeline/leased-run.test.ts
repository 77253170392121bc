// runUnderLease across an operator's "break lease": the lease names the process, not the run, so a
// second run in the same process must not take the broken lease over while the first is still working.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { breakLease, readLease } from '../../server/pipeline/leases.ts';
import { runUnderLease, type LeasedRun } from '../../server/pipeline/leased-run.ts';
import { givenTask } from '../helpers/builders.ts';
import { startPipelineHarness, type PipelineHarness } from '../helpers/pipeline.ts';

let h: PipelineHarness;
beforeAll(async () => {
  h = await startPipelineHarness();
});
afterAll(async () => h?.close());
beforeEach(async () => h.database.reset());

describe('runUnderLease after an operator broke the lease of a run still working', () => {
  it('never runs the task twice at once in one process, and the first run learns that its lease is gone', async () => {
    const taskId = await givenTask(h.database.db, { taskType: 2, jobGroupId: 'g' });
    const deps = h.deps('this-process');
    let working = 0;
    let mostAtOnce = 0;
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    const work = (wait: Promise<void>) => async ({ lease }: { lease: { renew(): Promise<void> } }) => {
      working += 1;
      mostAtOnce = Math.max(mostAtOnce, working);
      try {
        await wait;
        await lease.renew(); // between steps, as syncCallJobIds and the others do
        return 2;
      } finally {
        working -= 1;
      }
    };

    const first = runUnderLease(deps, taskId, { trigger: 'schedule', eligible: () => true, work: work(gate) });
    await expect.poll(async () => (await readLease(h.database.db, taskId))?.owner, { timeout: 5000 }).toBe('this-process');
    await expect.poll(() => working).toBe(1);
    expect(await breakLease(h.database.db, taskId)).toBe(true); // "break lease" on the stuck page

    // "process now" (or the next pass) in the same process while the first run is still in its step.
    const second: LeasedRun = await runUnderLease(deps, taskId, { trigger: 'dashboard', eligible: () => true, work: work(Promise.resolve()) });
    release();
    const firstDone = await first;

    expect(mostAtOnce).toBe(1);
    expect(second.status).toBe('leased-elsewhere');
    expect(firstDone).toMatchObject({ status: 'processed', outcome: 'lease-lost' });
    expect(await readLease(h.database.db, taskId)).toBeNull();
    // Once the first run has ended, the task can be run again.
    const third = await runUnderLease(deps, taskId, { trigger: 'dashboard', eligible: () => true, work: work(Promise.resolve()) });
    expect(third).toMatchObject({ status: 'processed', outcome: 'ok' });
  });
});
