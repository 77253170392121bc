// The Outbound Bot simulator's state: job groups, their jobs and each job's call tasks, and the
// transitions tests, the demo and autoplay drive in-process. The wire shapes live in
// outboundbot-actions.ts; nothing here knows about HTTP.
import { randomUUID } from 'node:crypto';
import { buildConversation, type ConversationKind, type ConversationLine } from './conversations.ts';

export const CALLING_NUMBER = '02160001234';
/** The calling numbers and scripts the simulated instance owns (what the listings answer). */
export const CALLING_NUMBERS = [CALLING_NUMBER, '02160005678'];
export const SCRIPTS = [
  { scriptId: 'sim-script', name: '车展邀约回访' },
  { scriptId: 'sim-script-test-drive', name: '试驾邀约' },
];

export interface SimContact { phone: string; name?: string; referenceId?: string }
/** Our client's Utterance shape is accepted as is; missing timestamps and ids are filled in. */
export interface SimUtterance { speaker: string; script: string; timestamp?: number | null; action?: string | null; sequenceId?: string }

export type JobOutcome =
  | { status: 'Succeeded'; kind?: ConversationKind; conversation?: SimUtterance[]; /** false: Conversation stays [] until attachConversation; 'describe-only': only DescribeJob has it */ conversationAvailable?: boolean | 'describe-only' }
  | { status: 'Failed'; /** Job FailureReason, reference §4.3 */ failureReason?: string; /** Task Status, reference §4.4 */ taskStatus?: string };

export interface SimulatedTask {
  taskId: string; status: string; planedTime: number; actualTime: number; endTime: number | null; endReason: string | null;
  callingNumber: string; calledNumber: string; callId: string; conversation: ConversationLine[]; conversationWithheld: boolean;
  /** ListJobs answers without the conversation, DescribeJob with it (ListJobs' is a summary view). */
  conversationOnlyInDescribe?: boolean;
}
export interface SimulatedJob {
  jobId: string; jobGroupId: string; status: string; failureReason: string | null;
  contact: { contactId: string; phone: string; name: string | null; referenceId: string | null };
  tasks: SimulatedTask[];
}
export interface JobGroup {
  jobGroupId: string; name: string; creationTime: number; jobIds: string[];
  scriptId: string; callingNumbers: string[];
  /** Ended groups (Completed, Cancelled) take no more jobs. */
  ended: boolean;
}
export interface JobGroupSpec { name?: string; scriptId?: string; callingNumbers?: string[] }

export type SimulatedJobs = ReturnType<typeof createSimulatedJobs>;

export const latestTask = (job: SimulatedJob) => job.tasks.at(-1);

/** `now` is the clock for job and call times (epoch ms). */
export function createSimulatedJobs(now: () => number) {
  const groups = new Map<string, JobGroup>();
  const jobs = new Map<string, SimulatedJob>();

  function jobOf(jobId: string): SimulatedJob {
    const job = jobs.get(jobId);
    if (!job) throw new Error(`The simulator has no job ${jobId}; create it with assignJobs first.`);
    return job;
  }
  function groupOf(jobGroupId: string): JobGroup {
    const group = groups.get(jobGroupId);
    if (!group) throw new Error(`The simulator has no job group ${jobGroupId}; create it with createJobGroup first.`);
    return group;
  }
  const listedJobs = (group: JobGroup) => group.jobIds.map((id) => jobs.get(id)).filter((j): j is SimulatedJob => j !== undefined);

  function createJobGroup(nameOrSpec?: string | JobGroupSpec): string {
    const spec = typeof nameOrSpec === 'string' ? { name: nameOrSpec } : (nameOrSpec ?? {});
    const jobGroupId = randomUUID();
    groups.set(jobGroupId, {
      jobGroupId, name: spec.name ?? `回访任务 ${groups.size + 1}`, creationTime: now(), jobIds: [],
      scriptId: spec.scriptId ?? SCRIPTS[0]!.scriptId, callingNumbers: spec.callingNumbers ?? [CALLING_NUMBER], ended: false,
    });
    return jobGroupId;
  }

  /** The group ends (as Outbound Bot ends a finished campaign): it takes no more jobs. */
  function endJobGroup(jobGroupId: string): void {
    groupOf(jobGroupId).ended = true;
  }

  function assignJobs(jobGroupId: string, contacts: SimContact[]): string[] {
    const group = groupOf(jobGroupId);
    return contacts.map((c) => {
      const job: SimulatedJob = {
        jobId: randomUUID(), jobGroupId, status: 'Scheduling', failureReason: null, tasks: [],
        contact: { contactId: randomUUID(), phone: c.phone, name: c.name ?? null, referenceId: c.referenceId ?? null },
      };
      jobs.set(job.jobId, job);
      group.jobIds.push(job.jobId);
      return job.jobId;
    });
  }

  function startJob(jobId: string): void {
    const job = jobOf(jobId);
    const at = now();
    job.status = 'Executing';
    job.failureReason = null;
    // A job that is started again gets a new task: a redial, so the last task is the latest attempt.
    job.tasks.push({
      taskId: randomUUID(), status: 'Executing', planedTime: at, actualTime: at, endTime: null, endReason: null,
      callingNumber: CALLING_NUMBER, calledNumber: job.contact.phone, callId: `${randomUUID()}@sip.sim`,
      conversation: [], conversationWithheld: false,
    });
  }

  function finishJob(jobId: string, outcome: JobOutcome): void {
    const job = jobOf(jobId);
    if (latestTask(job)?.status !== 'Executing') startJob(jobId);
    const task = latestTask(job)!;
    if (outcome.status === 'Succeeded') {
      const lines = outcome.conversation
        ? normaliseConversation(outcome.conversation, task.actualTime)
        : buildConversation(outcome.kind ?? 'interested', { leadName: job.contact.name ?? undefined, startAt: task.actualTime });
      Object.assign(task, {
        status: 'SucceededFinish', endReason: 'FINISHED', conversation: lines,
        endTime: Math.max(now(), (lines.at(-1)?.timestamp ?? task.actualTime) + 1000),
        conversationWithheld: outcome.conversationAvailable === false,
        conversationOnlyInDescribe: outcome.conversationAvailable === 'describe-only',
      });
      Object.assign(job, { status: 'Succeeded', failureReason: null });
    } else {
      const failureReason = outcome.failureReason ?? 'NoAnswer';
      const taskStatus = outcome.taskStatus ?? (failureReason === 'NoAnswer' ? 'NoAnswer' : 'Failed');
      Object.assign(task, { status: taskStatus, endReason: null, endTime: Math.max(now(), task.actualTime + 30_000), conversation: [] });
      Object.assign(job, { status: 'Failed', failureReason });
    }
  }

  function attachConversation(jobId: string): void {
    for (const task of jobOf(jobId).tasks) task.conversationWithheld = false;
  }

  function cancelJob(jobId: string): void {
    const job = jobOf(jobId);
    job.status = 'Cancelled';
    const task = latestTask(job);
    if (task?.status === 'Executing') Object.assign(task, { status: 'Cancelled', endTime: now() });
  }

  function removeJob(jobId: string): void {
    const job = jobOf(jobId);
    jobs.delete(jobId);
    const group = groups.get(job.jobGroupId);
    if (group) group.jobIds = group.jobIds.filter((id) => id !== jobId);
  }

  /** A copy, so a test cannot change the simulator's state behind its back. */
  function jobsOf(jobGroupId: string): SimulatedJob[] {
    return structuredClone(listedJobs(groupOf(jobGroupId)));
  }

  return {
    groups, jobs, listedJobs,
    createJobGroup, endJobGroup, assignJobs, startJob, finishJob, attachConversation, cancelJob, removeJob, jobsOf,
  };
}

function normaliseConversation(lines: SimUtterance[], startAt: number): ConversationLine[] {
  return lines.map((line, i) => ({
    speaker: line.speaker === 'Contact' ? 'Contact' : 'Robot',
    script: line.script,
    timestamp: line.timestamp ?? startAt + (i + 1) * 3000,
    action: line.action ?? 'Dialogue',
    sequenceId: line.sequenceId ?? String(i + 1),
  }));
}
