// Where a task stands, as counts over its leads: the one place each count is defined and named
// (DESIGN §4 stats use these names). Read by the stage check, diagnose, the overview, the task page
// and /stuck, for one task or a page of them, always in the same few statements over the page's task
// ids (never one query per task), each answered from an index instead of every lead row:
// - the lead columns af_idx_task_progress holds: everything but the conversation and our own states,
//   counted over the leads' shapes (see leadShapes) rather than lead by lead;
// - failed analyses (idx_af_lead_states_analysis), and leads missing from their group
//   (idx_af_lead_states_task: task, mark), joined only for those;
// - cancelled jobs (idx_af_lead_states_job_status), joined only for those;
// - Succeeded leads still owed a record, whose conversation (not indexed) is then checked row by row.
// - withConversation from af_lead_states.has_conversation (the conversation is TEXT, in no index),
//   only when asked for (diagnose's stats).
import { and, eq, inArray, isNotNull, sql, type SQL } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import { unionAll } from 'drizzle-orm/mysql-core';
import { leadStates } from '../db/schema/app.ts';
import { leadsTaskList as lead } from '../db/schema/crm.ts';
import {
  countIf, hasFinalStatus, hasJobId, hasNotInGroupMark, isHandledOutside, isJobCancelled, isNotInJobGroup, isOpen,
  isOpenWithoutJob, isUnfollowed, lacksFinalStatus, lacksJobId, waitsForConversation,
} from '../pipeline/lead-conditions.ts';
import { leadStatesJoin } from './lead-states.ts';

export interface TaskProgress {
  total: number;
  /** Has a call_job_id (DESIGN §4). */
  called: number;
  /** call_status Succeeded or Failed. */
  withStatus: number;
  succeeded: number;
  failed: number;
  /** Has a conversation; null unless asked for (it reads every lead row). */
  withConversation: number | null;
  /** Has its follow record (leads_follow_id). */
  withFollow: number;
  /** is_interested set, by autofollow or a person. */
  withInterest: number;
  /** is_interested = 1. */
  interested: number;
  /** is_interested = 2. */
  notInterested: number;
  /** is_interested = 0 (无法判断). */
  interestUnclear: number;
  /** Called, no final status yet, whether or not a person closed it (the lead filter "calling"). */
  calling: number;
  /** Called, no final status and no follow record yet (a cancelled job counts here too; see `cancelled`). */
  calledNotFinal: number;
  /** Called, but Outbound Bot cancelled the job: never a final status, counts as not called (DESIGN §3.1). */
  cancelled: number;
  /** Final status, no follow record, no interest: a follow record is still owed. */
  finalUnfollowed: number;
  /** Succeeded, conversation still missing, no follow record yet. */
  waitingForConversation: number;
  /** is_interested set by someone else, no follow record (DESIGN §3.7). */
  handledOutside: number;
  /**
   * No job id, no final status, no follow record, and no complete listing has shown it absent from
   * the group (isAwaitingJobId): the lead filter "not-synced", diagnose's not-synced. A closed lead never counts.
   */
  notSynced: number;
  /** Not in job group as diagnose, /stuck and close-leads mean it (isNotInJobGroup, DESIGN §3.6, §3.12). */
  notInJobGroup: number;
  analysisFailed: number;
}

export const EMPTY_PROGRESS: TaskProgress = {
  total: 0, called: 0, withStatus: 0, succeeded: 0, failed: 0, withConversation: null, withFollow: 0, withInterest: 0, interested: 0, notInterested: 0, interestUnclear: 0,
  calling: 0, calledNotFinal: 0, cancelled: 0, finalUnfollowed: 0, waitingForConversation: 0, handledOutside: 0, notSynced: 0,
  notInJobGroup: 0, analysisFailed: 0,
};

type StateCount = 'failed' | 'marked' | 'cancelled';

export interface ProgressOptions {
  /** Count withConversation too: a read of every lead row (see the file header). */
  withConversation?: boolean;
}

/** One task's progress (all zeros for a task without leads). */
export async function readTaskProgress(db: Db, taskId: number, options: ProgressOptions = {}): Promise<TaskProgress> {
  return (await readProgressByTask(db, [taskId], options)).get(taskId) ?? { ...EMPTY_PROGRESS, ...(options.withConversation ? { withConversation: 0 } : {}) };
}

/** The progress of each of these tasks that has leads. */
export async function readProgressByTask(db: Db, taskIds: number[], options: ProgressOptions = {}): Promise<Map<number, TaskProgress>> {
  if (taskIds.length === 0) return new Map();
  const reads = taskIds.length === 1 ? oneTaskProgress(db, taskIds[0]!) : progressStatements(db, (column) => inArray(column, taskIds));
  const [columns, stateCounts, waiting, conversationsOf] = await Promise.all([
    reads.columns,
    reads.stateCounts,
    reads.waiting,
    options.withConversation ? countConversations(db, taskIds) : new Map<number, number>(),
  ]);
  const counted = (kind: StateCount) => new Map(stateCounts.filter((r) => r.kind === kind).map((r) => [r.taskId, { n: Number(r.n), m: Number(r.m) }]));
  const [failedOf, marksOf, cancelledOf] = [counted('failed'), counted('marked'), counted('cancelled')];
  const waitingOf = new Map(waiting.map((r) => [r.taskId, Number(r.waitingForConversation)]));
  return new Map(
    columns.map(({ taskId, openWithoutJob, ...counts }) => {
      const marked = marksOf.get(taskId);
      const progress: TaskProgress = {
        ...numbers(counts),
        withConversation: options.withConversation ? (conversationsOf.get(taskId) ?? 0) : null,
        cancelled: cancelledOf.get(taskId)?.n ?? 0,
        waitingForConversation: waitingOf.get(taskId) ?? 0,
        analysisFailed: failedOf.get(taskId)?.n ?? 0,
        notInJobGroup: marked?.n ?? 0,
        // isAwaitingJobId, counted as the open leads without a job minus the marked ones among them.
        notSynced: Number(openWithoutJob) - (marked?.m ?? 0),
      };
      return [taskId, progress];
    }),
  );
}

/**
 * The task's leads grouped by what the conditions of lead-conditions.ts read of af_idx_task_progress:
 * status and interest as they are, and whether a follow record and a job id are there (MIN keeps a
 * value that answers those the same way). A task has a handful of shapes, so each count is a sum over
 * them: the same conditions, evaluated a few times instead of once per lead (a page of 50 tasks
 * with 100,000 leads: about 0.07 s instead of 0.2). The derived table is named after leads_task_list,
 * so the conditions' column references read its columns.
 */
function leadShapes(db: Db, ofTasks: TaskFilter) {
  return db
    .select({
      taskId: lead.taskId,
      callStatus: lead.callStatus,
      isInterested: lead.isInterested,
      leadsFollowId: sql<number | null>`MIN(${lead.leadsFollowId})`.as('leads_follow_id'),
      callJobId: sql<string | null>`MIN(${lead.callJobId})`.as('call_job_id'),
      leads: sql<number>`COUNT(*)`.as('leads'),
    })
    .from(lead)
    .where(ofTasks(lead.taskId))
    .groupBy(lead.taskId, lead.callStatus, lead.isInterested, sql`${lead.leadsFollowId} IS NULL`, lacksJobId)
    .as('leads_task_list');
}

type TaskFilter = (column: typeof lead.taskId | typeof leadStates.taskId) => SQL;

/** The three statements of a task's progress, for the tasks `ofTasks` picks. */
function progressStatements(db: Db, ofTasks: TaskFilter) {
  const shapes = leadShapes(db, ofTasks);
  const ofShapes = (condition: SQL) => sql<number>`CAST(COALESCE(SUM(CASE WHEN ${condition} THEN ${shapes.leads} ELSE 0 END), 0) AS SIGNED)`;
  return {
    columns:
      db
        .select({
          taskId: shapes.taskId,
          total: sql<number>`CAST(SUM(${shapes.leads}) AS SIGNED)`,
          called: ofShapes(hasJobId),
          withStatus: ofShapes(hasFinalStatus),
          succeeded: ofShapes(eq(lead.callStatus, 'Succeeded')),
          failed: ofShapes(eq(lead.callStatus, 'Failed')),
          withFollow: ofShapes(isNotNull(lead.leadsFollowId)),
          withInterest: ofShapes(isNotNull(lead.isInterested)),
          interested: ofShapes(eq(lead.isInterested, 1)),
          notInterested: ofShapes(eq(lead.isInterested, 2)),
          interestUnclear: ofShapes(eq(lead.isInterested, 0)),
          calling: ofShapes(and(hasJobId, lacksFinalStatus)!),
          calledNotFinal: ofShapes(and(hasJobId, isOpen)!),
          finalUnfollowed: ofShapes(and(hasFinalStatus, isUnfollowed)!),
          handledOutside: ofShapes(isHandledOutside),
          openWithoutJob: ofShapes(isOpenWithoutJob),
        })
        .from(shapes)
        .groupBy(shapes.taskId),
    stateCounts:
      // Three narrow ranges of our own states in one round trip (the card polls these).
      unionAll(
        db
          .select({ taskId: leadStates.taskId, kind: sql<StateCount>`'failed'`.as('kind'), n: sql<number>`CAST(COUNT(*) AS SIGNED)`.as('n'), m: sql<number>`0`.as('m') })
          .from(leadStates)
          .where(and(ofTasks(leadStates.taskId), eq(leadStates.analysisStatus, 'failed')))
          .groupBy(leadStates.taskId),
        db
          .select({ taskId: leadStates.taskId, kind: sql<StateCount>`'marked'`.as('kind'), n: countIf(isNotInJobGroup).as('n'), m: countIf(isOpenWithoutJob).as('m') })
          .from(leadStates)
          .innerJoin(lead, leadStatesJoin)
          .where(and(ofTasks(leadStates.taskId), hasNotInGroupMark))
          .groupBy(leadStates.taskId),
        // As calledNotFinal counts them (no follow record), a person's interest or not: a cancelled
        // job never holds the stage, whoever decided about its lead (DESIGN §3.1).
        db
          .select({ taskId: leadStates.taskId, kind: sql<StateCount>`'cancelled'`.as('kind'), n: sql<number>`CAST(COUNT(*) AS SIGNED)`.as('n'), m: sql<number>`0`.as('m') })
          .from(leadStates)
          .innerJoin(lead, leadStatesJoin)
          .where(and(ofTasks(leadStates.taskId), isJobCancelled, hasJobId, isOpen))
          .groupBy(leadStates.taskId),
      ),
    waiting:
      db
        .select({ taskId: lead.taskId, waitingForConversation: sql<number>`CAST(COUNT(*) AS SIGNED)` })
        .from(lead)
        .where(and(ofTasks(lead.taskId), waitsForConversation, isUnfollowed))
        .groupBy(lead.taskId),
  };
}

/**
 * One task's statements, built and prepared once per database with the task id as a placeholder:
 * the card and the task page poll one task, and building these statements (their conditions are
 * many) cost more CPU than the database spends on a task of 1,000 leads.
 */
const preparedOneTask = new WeakMap<Db, ReturnType<typeof prepareOneTask>>();

function prepareOneTask(db: Db) {
  const statements = progressStatements(db, (column) => eq(column, sql.placeholder('taskId')));
  return { columns: statements.columns.prepare(), stateCounts: statements.stateCounts.prepare(), waiting: statements.waiting.prepare() };
}

function oneTaskProgress(db: Db, taskId: number) {
  let prepared = preparedOneTask.get(db);
  if (!prepared) preparedOneTask.set(db, (prepared = prepareOneTask(db)));
  return { columns: prepared.columns.execute({ taskId }), stateCounts: prepared.stateCounts.execute({ taskId }), waiting: prepared.waiting.execute({ taskId }) };
}

/** withConversation per task, from the marks writeCallResults leaves beside each conversation (idx_af_lead_states_conversation). */
async function countConversations(db: Db, taskIds: number[]): Promise<Map<number, number>> {
  const rows = await db
    .select({ taskId: leadStates.taskId, n: sql<number>`CAST(COUNT(*) AS SIGNED)` })
    .from(leadStates)
    .where(and(inArray(leadStates.taskId, taskIds), eq(leadStates.hasConversation, true)))
    .groupBy(leadStates.taskId);
  return new Map(rows.map((r) => [r.taskId, Number(r.n)]));
}

function numbers<T extends Record<string, unknown>>(row: T): { [K in keyof T]: number } {
  return Object.fromEntries(Object.entries(row).map(([k, v]) => [k, Number(v ?? 0)])) as { [K in keyof T]: number };
}
