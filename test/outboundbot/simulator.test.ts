// The simulator's wire behaviour, spoken to with plain fetch so nothing of our client is assumed.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildConversation } from '../../server/simulator/conversations.ts';
import { startOutboundBotSimulator, type OutboundBotSimulator } from '../../server/simulator/outboundbot.ts';
import { createTestClient } from './create-test-client.ts';

let sim: OutboundBotSimulator;

beforeAll(async () => {
  sim = await startOutboundBotSimulator({ instanceId: 'inst-1' });
});
afterAll(() => sim.stop());
beforeEach(() => sim.resetRequests());

async function call(action: string | null, params: Record<string, string>, init: { method?: string; form?: boolean; version?: string | null } = {}) {
  const headers: Record<string, string> = {};
  if (action) headers['x-acs-action'] = action;
  if (init.version !== null) headers['x-acs-version'] = init.version ?? '2019-12-26';
  const query = new URLSearchParams(init.form ? {} : params);
  const body = init.form ? new URLSearchParams(params).toString() : undefined;
  if (init.form) headers['content-type'] = 'application/x-www-form-urlencoded';
  const res = await fetch(`${sim.url}/?${query}`, { method: init.method ?? 'POST', headers, body });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, any> };
}

describe('the Outbound Bot simulator on the wire', () => {
  it('answers with the success envelope, JSON content type and a request id header', async () => {
    const group = sim.createJobGroup();
    const res = await call('ListJobsByGroup', { InstanceId: 'inst-1', JobGroupId: group, PageNumber: '1', PageSize: '10' });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json;charset=utf-8');
    expect(res.headers.get('x-acs-request-id')).toBe(res.body.RequestId);
    expect(res.body).toMatchObject({ Success: true, Code: 'OK', Message: 'Success', HttpStatusCode: 200, Jobs: { TotalCount: 0, List: [] } });
  });

  it('routes the old style too: GET with Action and Version as parameters, and form-body parameters', async () => {
    const group = sim.createJobGroup();
    const viaGet = await call(null, { Action: 'DescribeJobGroup', Version: '2019-12-26', InstanceId: 'inst-1', JobGroupId: group }, { method: 'GET', version: null });
    const viaForm = await call('DescribeJobGroup', { InstanceId: 'inst-1', JobGroupId: group }, { form: true });
    expect(viaGet.body.JobGroup.JobGroupId).toBe(group);
    expect(viaForm.body.JobGroup.JobGroupId).toBe(group);
    expect(sim.requests.map((r) => r.action)).toEqual(['DescribeJobGroup', 'DescribeJobGroup']);
  });

  it('refuses unknown actions, wrong versions and missing parameters in the gateway shape', async () => {
    const unknown = await call('DeleteEverything', { InstanceId: 'inst-1' });
    expect(unknown.status).toBe(404);
    expect(unknown.body).toMatchObject({ Code: 'InvalidApi.NotFound', HostId: expect.any(String), RequestId: expect.any(String) });
    expect((await call('ListJobs', { InstanceId: 'inst-1', 'JobId.1': 'x' }, { version: '2025-11-11' })).status).toBe(404);
    const missing = await call('ListJobsByGroup', { InstanceId: 'inst-1', PageNumber: '1', PageSize: '10' });
    expect(missing.status).toBe(400);
    expect(missing.body.Code).toBe('MissingJobGroupId');
    const tooMany = await call('ListJobs', Object.fromEntries([['InstanceId', 'inst-1'], ...Array.from({ length: 100 }, (_, i) => [`JobId.${i + 1}`, `j${i}`])]));
    expect(tooMany.status).toBe(400);
  });

  it('answers a wrong instance and an unknown job group with business errors', async () => {
    const wrongInstance = await call('DescribeJobGroup', { InstanceId: 'other', JobGroupId: sim.createJobGroup() });
    expect(wrongInstance.body).toMatchObject({ Success: false, Code: 'InstanceNotFound', HttpStatusCode: 404 });
    const noGroup = await call('QueryJobsWithResult', { InstanceId: 'inst-1', JobGroupId: 'nope' });
    expect(noGroup.body).toMatchObject({ Success: false, Code: 'JobGroupNotFound' });
  });

  it('lists QueryJobsWithResult with RowCount/PageCount and no LatestTask for a job never dialled', async () => {
    const group = sim.createJobGroup();
    const [dialled, fresh, third] = sim.assignJobs(group, [{ phone: '138 0013 8000', name: '赵先生' }, { phone: '13900139000' }, { phone: '13700137000' }]);
    sim.finishJob(dialled!, { status: 'Succeeded', kind: 'not-interested' });
    const res = await call('QueryJobsWithResult', { InstanceId: 'inst-1', JobGroupId: group, PageNumber: '1', PageSize: '2' });
    expect(res.body.Jobs).toMatchObject({ PageNumber: 1, PageSize: 2, RowCount: 3, PageCount: 2 });
    const [first, second] = res.body.Jobs.List;
    expect(first).toMatchObject({ Id: dialled, Status: 'Succeeded', LatestTask: { Status: 'SucceededFinish', TaskEndReason: 'FINISHED', HasAnswered: true, Contact: { PhoneNumber: '138 0013 8000', Name: '赵先生' } } });
    expect(second).toMatchObject({ Id: fresh, Status: 'Scheduling' });
    expect(second).not.toHaveProperty('LatestTask');
    expect(res.body.Jobs).not.toHaveProperty('TotalCount');
    expect(third).toBeDefined();
  });

  it('keeps the quirky spellings of ListJobs and DescribeJob', async () => {
    const group = sim.createJobGroup();
    const [job] = sim.assignJobs(group, [{ phone: '13800000000' }]);
    sim.finishJob(job!, { status: 'Succeeded', kind: 'interested' });
    const listed = await call('ListJobs', { InstanceId: 'inst-1', 'JobId.1': job! });
    expect(Array.isArray(listed.body.Jobs)).toBe(true);
    const listedTask = listed.body.Jobs[0].Tasks[0];
    expect(listedTask).toHaveProperty('PlanedTime');
    expect(listedTask).not.toHaveProperty('PlannedTime');
    expect(listedTask).not.toHaveProperty('EndReason'); // not in the ListJobs task model
    const described = await call('DescribeJob', { InstanceId: 'inst-1', JobId: job! });
    expect(described.body.Job.Tasks[0]).toMatchObject({ EndReason: 'FINISHED', EndTime: expect.any(Number), PlanedTime: expect.any(Number) });
    expect(described.body.Job.Tasks[0].Conversation[0]).toMatchObject({ Speaker: 'Robot', Script: expect.any(String), Timestamp: expect.any(Number), Action: 'Broadcast', SequenceId: '1' });
  });

  it('counts progress in DescribeJobGroup', async () => {
    const group = sim.createJobGroup('春季回访');
    const [a, b, c] = sim.assignJobs(group, [{ phone: '1' }, { phone: '2' }, { phone: '3' }, { phone: '4' }]);
    sim.finishJob(a!, { status: 'Succeeded' });
    sim.finishJob(b!, { status: 'Failed', failureReason: 'NoAnswer' });
    sim.startJob(c!);
    const res = await call('DescribeJobGroup', { InstanceId: 'inst-1', JobGroupId: group });
    expect(res.body.JobGroup).toMatchObject({ JobGroupName: '春季回访', Status: 'Executing', ModifyTime: expect.any(String), Priority: 'Daily' });
    expect(res.body.JobGroup.Progress).toMatchObject({ TotalJobs: 4, TotalCompleted: 2, Scheduling: 1, Executing: 1, Failed: 1, TotalNotAnswered: 1 });
  });

  it('closes a request that was never answered when it stops', async () => {
    const own = await startOutboundBotSimulator();
    own.failNext('timeout');
    const hung = fetch(`${own.url}/`, { method: 'POST', headers: { 'x-acs-action': 'ListJobs', 'x-acs-version': '2019-12-26' } }).catch((e: unknown) => e);
    while (own.requests.length === 0) await new Promise((r) => setTimeout(r, 5));
    await own.stop();
    expect(await hung).toBeInstanceOf(Error);
  });
});

describe('signature checking', () => {
  it('accepts our client and answers SignatureDoesNotMatch to a wrong secret', async () => {
    const strict = await startOutboundBotSimulator({ verifySignature: true });
    try {
      const group = strict.createJobGroup();
      const { client } = createTestClient(strict);
      await expect(client.listJobsByGroup(group, 1, 10)).resolves.toMatchObject({ totalCount: 0 });
      const { client: impostor } = createTestClient({ ...strict, url: strict.url, accessKeySecret: 'guessed' });
      await expect(impostor.listJobsByGroup(group, 1, 10)).rejects.toMatchObject({ name: 'BusinessError', code: 'SignatureDoesNotMatch' });
    } finally {
      await strict.stop();
    }
  });
});

describe('autoplay', () => {
  it('moves every job to a final state with a mix of outcomes and late conversations', async () => {
    const own = await startOutboundBotSimulator();
    try {
      const group = own.createJobGroup();
      own.assignJobs(group, Array.from({ length: 20 }, (_, i) => ({ phone: `1380000${String(i).padStart(4, '0')}` })));
      let seed = 7;
      const random = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
      const stop = own.autoplay({ intervalMs: 5, perTick: 4, random });
      const settled = () => own.jobsOf(group).every((j) => ['Succeeded', 'Failed'].includes(j.status) && j.tasks.every((t) => !t.conversationWithheld));
      let sawWithheld = false;
      while (!settled()) {
        sawWithheld ||= own.jobsOf(group).some((j) => j.tasks.some((t) => t.conversationWithheld));
        await new Promise((r) => setTimeout(r, 2));
      }
      stop();
      const jobs = own.jobsOf(group);
      expect(new Set(jobs.map((j) => j.status))).toEqual(new Set(['Succeeded', 'Failed']));
      expect(sawWithheld).toBe(true);
      for (const job of jobs.filter((j) => j.status === 'Succeeded')) expect(job.tasks.at(-1)!.conversation.length).toBeGreaterThan(0);
      expect(jobs.filter((j) => j.status === 'Failed').every((j) => j.failureReason)).toBe(true);
    } finally {
      await own.stop();
    }
  });
});

describe('buildConversation', () => {
  const contactText = (kind: 'interested' | 'not-interested' | 'unclear', startAt: number) =>
    buildConversation(kind, { leadName: '陈女士', startAt }).filter((l) => l.speaker === 'Contact').map((l) => l.script).join(' ');

  it.each([1_780_000_000_000, 1_780_000_001_000])('gives each kind the keywords the LLM simulator looks for (variant %#)', (startAt) => {
    const interested = contactText('interested', startAt);
    expect(interested).toContain('试驾');
    expect(interested).toMatch(/明天下午三点|周六上午/);
    expect(contactText('not-interested', startAt)).toMatch(/不需要|已经买了/);
    expect(contactText('not-interested', startAt)).not.toContain('试驾');
    const unclear = contactText('unclear', startAt);
    expect(unclear).not.toMatch(/试驾|不需要|已经买了/);
  });

  it('addresses the lead and times every line after the call starts, in order', () => {
    const lines = buildConversation('interested', { leadName: '陈女士', startAt: 1000 });
    expect(lines[0]).toMatchObject({ speaker: 'Robot', action: 'Broadcast', sequenceId: '1' });
    expect(lines[0]!.script).toContain('陈女士');
    expect(lines.at(-1)!.action).toBe('HangUp');
    const times = lines.map((l) => l.timestamp);
    expect(times[0]).toBeGreaterThan(1000);
    expect([...times].sort((a, b) => a - b)).toEqual(times);
  });
});
