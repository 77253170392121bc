import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { BusinessError } from '../../server/outboundbot/errors.ts';
import type { OutboundBotClient } from '../../server/outboundbot/types.ts';
import { startOutboundBotSimulator, type OutboundBotSimulator } from '../../server/simulator/outboundbot.ts';
import { createTestClient } from './create-test-client.ts';

let sim: OutboundBotSimulator;
let client: OutboundBotClient;
let clock = 1_780_000_000_000;

beforeAll(async () => {
  sim = await startOutboundBotSimulator({ now: () => clock, verifySignature: true });
  ({ client } = createTestClient(sim));
});
afterAll(() => sim.stop());
beforeEach(() => sim.resetRequests());

describe('listJobsByGroup', () => {
  it('maps every job with its phone exactly as assigned, its status and failure reason', async () => {
    const group = sim.createJobGroup();
    const [a, b, c] = sim.assignJobs(group, [
      { phone: '+86 138-0013-8000', name: '张先生' }, { phone: '13900001111' }, { phone: '(021) 6000 0000', referenceId: '42' },
    ]);
    sim.finishJob(a!, { status: 'Succeeded' });
    sim.finishJob(b!, { status: 'Failed', failureReason: 'NoAnswer', taskStatus: 'Busy' });

    const page = await client.listJobsByGroup(group, 1, 50);

    expect(page).toEqual({
      pageNumber: 1, pageSize: 50, totalCount: 3,
      jobs: [
        { jobId: a, phoneNumbers: ['+86 138-0013-8000'], referenceIds: [], status: 'Succeeded', failureReason: null },
        { jobId: b, phoneNumbers: ['13900001111'], referenceIds: [], status: 'Failed', failureReason: 'NoAnswer' },
        { jobId: c, phoneNumbers: ['(021) 6000 0000'], referenceIds: ['42'], status: 'Scheduling', failureReason: null },
      ],
    });
    const [request] = sim.requests;
    expect(request!.headers['x-acs-action']).toBe('ListJobsByGroup');
    expect(request!.headers['x-acs-version']).toBe('2019-12-26');
    expect(request!.params).toEqual({ InstanceId: sim.instanceId, JobGroupId: group, PageNumber: '1', PageSize: '50' });
  });

  it('pages 1-based and reports the total on every page', async () => {
    const group = sim.createJobGroup();
    const ids = sim.assignJobs(group, Array.from({ length: 5 }, (_, i) => ({ phone: `1380000000${i}` })));

    const pages = await Promise.all([1, 2, 3, 4].map((n) => client.listJobsByGroup(group, n, 2)));

    expect(pages.map((p) => p.jobs.map((j) => j.jobId))).toEqual([ids.slice(0, 2), ids.slice(2, 4), ids.slice(4), []]);
    expect(pages.map((p) => p.totalCount)).toEqual([5, 5, 5, 5]);
    expect(pages.map((p) => p.pageNumber)).toEqual([1, 2, 3, 4]);
  });

  it('no longer lists a job the service removed from the group', async () => {
    const group = sim.createJobGroup();
    const [kept, removed] = sim.assignJobs(group, [{ phone: '13800000001' }, { phone: '13800000002' }]);
    sim.removeJob(removed!);
    const page = await client.listJobsByGroup(group, 1, 50);
    expect(page.jobs.map((j) => j.jobId)).toEqual([kept]);
    expect(page.totalCount).toBe(1);
  });
});

describe('listJobs', () => {
  it('sends the ids as JobId.1..N and maps tasks with PlanedTime and the conversation', async () => {
    const group = sim.createJobGroup();
    const [succeeded, failed, waiting] = sim.assignJobs(group, [{ phone: '13800138000', name: '李女士' }, { phone: '13900139000' }, { phone: '13700137000' }]);
    clock = 1_780_000_100_000;
    sim.startJob(succeeded!);
    sim.finishJob(succeeded!, { status: 'Succeeded', conversation: [
      { speaker: 'Robot', script: '您好，请问是李女士吗？', timestamp: clock + 1000, action: 'Broadcast' },
      { speaker: 'Contact', script: '是我，想试驾，明天下午三点。', timestamp: clock + 4000, action: 'Dialogue' },
    ] });
    sim.finishJob(failed!, { status: 'Failed', failureReason: 'NoAnswer' });

    const jobs = await client.listJobs([succeeded!, failed!, waiting!, 'no-such-job']);

    expect(sim.requests).toHaveLength(1);
    expect(sim.requests[0]!.headers['x-acs-action']).toBe('ListJobs');
    expect(sim.requests[0]!.params).toMatchObject({ 'JobId.1': succeeded, 'JobId.2': failed, 'JobId.3': waiting, 'JobId.4': 'no-such-job' });
    expect(sim.requests[0]!.params).not.toHaveProperty('JobId');
    expect(jobs.map((j) => j.jobId)).toEqual([succeeded, failed, waiting]); // unknown ids are simply absent
    const [done, unanswered, notYet] = jobs;
    expect(done).toMatchObject({ jobGroupId: group, status: 'Succeeded', failureReason: null });
    expect(done!.tasks).toHaveLength(1);
    expect(done!.tasks[0]).toMatchObject({
      status: 'SucceededFinish', planedTime: 1_780_000_100_000, actualTime: 1_780_000_100_000,
      callingNumber: expect.any(String), calledNumber: '13800138000',
    });
    expect(done!.tasks[0]!.taskId).toMatch(/^[0-9a-f-]{36}$/);
    expect(done!.tasks[0]!.conversation).toEqual([
      { speaker: 'Robot', script: '您好，请问是李女士吗？', timestamp: clock + 1000, action: 'Broadcast' },
      { speaker: 'Contact', script: '是我，想试驾，明天下午三点。', timestamp: clock + 4000, action: 'Dialogue' },
    ]);
    expect(unanswered).toMatchObject({ status: 'Failed', failureReason: 'NoAnswer' });
    expect(unanswered!.tasks.map((t) => t.status)).toEqual(['NoAnswer']);
    expect(unanswered!.tasks[0]!.conversation).toEqual([]);
    expect(notYet).toMatchObject({ status: 'Scheduling', tasks: [] });
  });

  it('keeps the latest attempt last after a redial', async () => {
    const group = sim.createJobGroup();
    const [job] = sim.assignJobs(group, [{ phone: '13800000003' }]);
    clock = 1_780_000_200_000;
    sim.finishJob(job!, { status: 'Failed', failureReason: 'NoAnswer' });
    clock = 1_780_000_800_000;
    sim.finishJob(job!, { status: 'Succeeded', kind: 'not-interested' });

    const [detail] = await client.listJobs([job!]);

    expect(detail!.tasks.map((t) => [t.status, t.planedTime])).toEqual([['NoAnswer', 1_780_000_200_000], ['SucceededFinish', 1_780_000_800_000]]);
  });

  it('shows a withheld conversation as empty until it is attached', async () => {
    const group = sim.createJobGroup();
    const [job] = sim.assignJobs(group, [{ phone: '13800000004' }]);
    sim.finishJob(job!, { status: 'Succeeded', kind: 'unclear', conversationAvailable: false });

    const [before] = await client.listJobs([job!]);
    sim.attachConversation(job!);
    const [after] = await client.listJobs([job!]);

    expect(before!.status).toBe('Succeeded');
    expect(before!.tasks.at(-1)!.conversation).toEqual([]);
    expect(after!.tasks.at(-1)!.conversation.length).toBeGreaterThan(3);
    expect(after!.tasks.at(-1)!.conversation.map((u) => u.speaker)).toContain('Contact');
  });

  it('refuses more than 99 ids before sending anything', async () => {
    const ids = Array.from({ length: 100 }, (_, i) => `job-${i}`);
    await expect(client.listJobs(ids)).rejects.toThrow(/at most 99/);
    expect(sim.requests).toHaveLength(0);
  });

  it('sends nothing for an empty list', async () => {
    await expect(client.listJobs([])).resolves.toEqual([]);
    expect(sim.requests).toHaveLength(0);
  });
});

describe('describeJob', () => {
  it('maps the job with every task, its EndReason and conversation', async () => {
    const group = sim.createJobGroup();
    const [job] = sim.assignJobs(group, [{ phone: '13800000005', name: '王先生' }]);
    sim.finishJob(job!, { status: 'Succeeded', kind: 'interested' });

    const detail = await client.describeJob(job!);

    expect(sim.requests[0]!.headers['x-acs-action']).toBe('DescribeJob');
    expect(sim.requests[0]!.params).toEqual({ InstanceId: sim.instanceId, JobId: job });
    expect(detail).toMatchObject({ jobId: job, jobGroupId: group, status: 'Succeeded', failureReason: null });
    const task = detail.tasks[0]!;
    expect(task).toMatchObject({ status: 'SucceededFinish', endReason: 'FINISHED', calledNumber: '13800000005' });
    expect(task.planedTime).toEqual(expect.any(Number));
    const contactLines = task.conversation.filter((u) => u.speaker === 'Contact').map((u) => u.script).join('');
    expect(contactLines).toContain('试驾');
    expect(task.conversation.every((u) => typeof u.timestamp === 'number' && u.action)).toBe(true);
  });

  it('answers an unknown job with a BusinessError after one request', async () => {
    const error = await client.describeJob('no-such-job').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BusinessError);
    expect(error).toMatchObject({ code: 'JobNotFound', httpStatus: 404 });
    expect(sim.requests).toHaveLength(1);
  });
});
