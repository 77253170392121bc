// Pausing a task from the dashboard: passes, processTask and "process now" leave it alone until it
// is resumed; a run already under way finishes.
import { eq } from 'drizzle-orm';
import mysql from 'mysql2/promise';
import { describe, expect, it } from 'vitest';
import { taskLeases } from '../../server/db/schema/app.ts';
import { diagnoseTask } from '../../server/pipeline/diagnose.ts';
import { findPendingTasks } from '../../server/pipeline/find-pending-tasks.ts';
import { readLease } from '../../server/pipeline/leases.ts';
import { runPass } from '../../server/pipeline/monitor.ts';
import { processTask } from '../../server/pipeline/process-task.ts';
import { pauseTask, readTaskPauses, resumeTask } from '../../server/pipeline/task-pauses.ts';
import { followsOf, givenLeads, givenTask, phones, runsOf, stageOf } from '../helpers/builders.ts';
import { usePipelineHarness, type PipelineHarness } from '../helpers/pipeline.ts';
import { appOver } from '../helpers/web-app.ts';

const h = usePipelineHarness();

/** A stage 2 task whose leads' calls all ended, so one run takes it to stage 4. */
async function givenFinishedCalls(n: number, outcome: Parameters<PipelineHarness['sim']['finishJob']>[1] = { status: 'Failed', failureReason: 'NoAnswer' }) {
  const group = h.sim.createJobGroup();
  const numbers = phones(n, Math.floor(Math.random() * 1_000_000));
  const taskId = await givenTask(h.database.db, { jobGroupId: group });
  await givenLeads(h.database.db, taskId, numbers.map((phone) => ({ phone })));
  for (const jobId of h.sim.assignJobs(group, numbers.map((phone) => ({ phone })))) h.sim.finishJob(jobId, outcome);
  return { taskId, group };
}

async function leaseRows(taskId: number) {
  return h.database.db.select().from(taskLeases).where(eq(taskLeases.taskId, taskId));
}

describe('pauseTask / resumeTask / readTaskPauses', () => {
  it('pauses once, keeps the first pause, and resumes once', async () => {
    const taskId = await givenTask(h.database.db, { jobGroupId: 'g' });
    const other = await givenTask(h.database.db, { jobGroupId: 'g2' });
    expect(await pauseTask(h.database.db, taskId, 'alice')).toBe(true);
    expect(await pauseTask(h.database.db, taskId, 'bob')).toBe(false);
    const pauses = await readTaskPauses(h.database.db, [taskId, other, taskId]);
    expect([...pauses.keys()]).toEqual([taskId]);
    expect(pauses.get(taskId)).toMatchObject({ taskId, pausedBy: 'alice' });
    expect(Math.abs(pauses.get(taskId)!.pausedAt.getTime() - Date.now())).toBeLessThan(60_000); // UTC, not shifted by a zone
    expect(await readTaskPauses(h.database.db, [])).toEqual(new Map());

    expect(await resumeTask(h.database.db, taskId)).toBe(true);
    expect(await resumeTask(h.database.db, taskId)).toBe(false);
    expect((await readTaskPauses(h.database.db, [taskId])).size).toBe(0);
  });
});

describe('a paused task', () => {
  it('is skipped by passes and refused by processTask without claiming its lease, until resumed', async () => {
    const { taskId, group } = await givenFinishedCalls(2);
    const { taskId: running } = await givenFinishedCalls(1);
    await pauseTask(h.database.db, taskId, 'alice');

    expect((await findPendingTasks(h.database.db)).map((t) => t.id)).toEqual([running]);
    const summary = await runPass(h.deps(), { trigger: 'cli' });
    expect(summary.results.map((r) => r.taskId)).toEqual([running]);
    expect(await processTask(h.deps(), taskId, { trigger: 'api' })).toEqual({ taskId, status: 'paused', stageBefore: 2 });
    expect(await leaseRows(taskId)).toEqual([]); // never claimed, not even the row
    expect(await runsOf(h.database.db, taskId)).toEqual([]);
    expect(h.sim.requests.filter((r) => r.params.JobGroupId === group)).toEqual([]);
    expect(await stageOf(h.database.db, taskId)).toBe(2);

    const diagnosis = await diagnoseTask(h.deps(), taskId);
    expect(diagnosis!.eligible).toBe(false);
    expect(diagnosis!.reasonCodes[0]).toEqual({ code: 'paused', by: 'alice', since: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) });

    await resumeTask(h.database.db, taskId);
    expect((await diagnoseTask(h.deps(), taskId))!.eligible).toBe(true);
    const after = await runPass(h.deps(), { trigger: 'cli' });
    expect(after.results.map((r) => [r.taskId, r.status])).toEqual([[taskId, 'processed']]);
    expect(await stageOf(h.database.db, taskId)).toBe(4);
  });

  it('does not stop a run already under way: it finishes, and the next one is refused', async () => {
    const { taskId } = await givenFinishedCalls(1, { status: 'Succeeded', kind: 'interested' });
    h.llm.failNext('slow', { delayMs: 400 });
    const run = processTask(h.deps(), taskId, { trigger: 'cli' });
    while (!(await readLease(h.database.db, taskId))) await new Promise((resolve) => setImmediate(resolve));
    expect(await pauseTask(h.database.db, taskId, 'alice')).toBe(true);
    expect(await run).toMatchObject({ status: 'processed', outcome: 'ok', stageAfter: 4 });
    expect(await followsOf(h.database.db)).toHaveLength(1);
    await h.database.pool.query('UPDATE call_tasks SET task_type = 3 WHERE id = ?', [taskId]);
    expect((await processTask(h.deps(), taskId, { trigger: 'cli' })).status).toBe('paused');
  });

  it('finds pending tasks with a primary-key lookup of af_task_pauses, never a scan', async () => {
    for (let i = 0; i < 30; i++) {
      const taskId = await givenTask(h.database.db, { jobGroupId: `g${i}` });
      if (i % 3 === 0) await pauseTask(h.database.db, taskId, 'alice');
    }
    await h.database.pool.query('ANALYZE TABLE call_tasks, af_task_pauses');
    const statements: Array<{ sql: string; params: unknown[] }> = [];
    const { drizzle } = await import('drizzle-orm/mysql2');
    const logging = drizzle(h.database.pool, { logger: { logQuery: (sql, params) => statements.push({ sql, params }) } }) as typeof h.database.db;
    expect(await findPendingTasks(logging)).toHaveLength(20);
    const [query] = statements.filter((s) => s.sql.includes('`af_task_pauses`'));
    const [plan] = await h.database.pool.query<mysql.RowDataPacket[]>(`EXPLAIN ${query!.sql}`, query!.params);
    const pauses = plan.filter((row) => row.table === 'af_task_pauses');
    expect(pauses).toHaveLength(1);
    expect(pauses[0]!.key).toBe('PRIMARY');
    expect(pauses[0]!.type).not.toBe('ALL');
  });
});

describe('POST /api/tasks/:id/process on a paused task', () => {
  it('answers 409 and starts nothing; after resume it answers 202', async () => {
    const taskId = await givenTask(h.database.db, { jobGroupId: 'g' });
    const started: number[] = [];
    const app = await appOver(h.database, { startTaskProcessing: (id) => (started.push(id), true) });
    try {
      await pauseTask(h.database.db, taskId, 'alice');
      const refused = await app.inject({ method: 'POST', url: `/api/tasks/${taskId}/process` });
      expect(refused.statusCode).toBe(409);
      expect(refused.json()).toMatchObject({ error: `task ${taskId} is paused; resume it first`, reason: 'paused' });
      expect(started).toEqual([]);
      await resumeTask(h.database.db, taskId);
      expect((await app.inject({ method: 'POST', url: `/api/tasks/${taskId}/process` })).statusCode).toBe(202);
      expect(started).toEqual([taskId]);
    } finally {
      await app.close();
    }
  });
});
