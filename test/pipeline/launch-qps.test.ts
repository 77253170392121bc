// A 1,000-lead launch at OUTBOUNDBOT_QPS=5 (issue 10): 11 AssignJobs requests (99 a request), and
// its requests start 200 ms apart.
import { describe, expect, it } from 'vitest';
import { launchTask } from '../../server/pipeline/launch-calls.ts';
import { givenLeads, givenTask, phones, stageOf } from '../helpers/builders.ts';
import { usePipelineHarness } from '../helpers/pipeline.ts';

const h = usePipelineHarness({ OUTBOUNDBOT_QPS: '5' });

describe('a 1,000-lead launch', () => {
  it('takes 11 AssignJobs requests and stays within OUTBOUNDBOT_QPS', async () => {
    const taskId = await givenTask(h.database.db, { taskType: 1 });
    await givenLeads(h.database.db, taskId, phones(1000).map((phone) => ({ phone })));
    const started = Date.now();
    const result = await launchTask(h.deps(), taskId, { actor: 'bench', trigger: 'cli', scriptId: null, callingNumbers: [], window: null });
    const seconds = (Date.now() - started) / 1000;
    expect(result).toMatchObject({ status: 'launched', jobsCreated: 1000 });
    expect(await stageOf(h.database.db, taskId)).toBe(2);
    const times = h.sim.requests.map((r) => r.at);
    expect(h.sim.requests.filter((r) => r.action === 'AssignJobs')).toHaveLength(11);
    const busiestSecond = Math.max(...times.map((t) => times.filter((u) => u >= t && u < t + 1000).length));
    // Starts are spaced 200 ms apart; arrivals jitter by tens of ms, so a 1 s window may catch the
    // 6th (client-limits.test.ts reasons the same way). Unlimited, all 13 would land within a second.
    expect(busiestSecond).toBeLessThanOrEqual(6);
    expect(times.at(-1)! - times[0]!).toBeGreaterThanOrEqual((times.length - 1) * 200 - 100);
    console.log(`1,000-lead launch at QPS 5: ${h.sim.requests.length} requests (11 AssignJobs) in ${seconds.toFixed(1)} s, at most ${busiestSecond} in any second`);
  }, 30_000);
});
