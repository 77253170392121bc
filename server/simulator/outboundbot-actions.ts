// What each Outbound Bot action answers, in the wire shapes of reference §3; outboundbot-http.ts
// wraps them in the §2.7 envelope and answers refusals in the §5.1 shapes. Keeps the quirky
// spellings: PlanedTime, RowCount vs TotalCount, ModifyTime as a string.
import { intParam, invalid, listParam, missing, notFound, required, type Params } from './outboundbot-params.ts';
import { createWriteActions } from './outboundbot-write-actions.ts';
import { CALLING_NUMBER, latestTask, type JobGroup, type SimContact, type SimulatedJob, type SimulatedJobs, type SimulatedTask } from './simulated-jobs.ts';

const LIST_JOBS_MAX_IDS = 99;
const MAX_PAGE_SIZE = 100; // the real maximum is unconfirmed (reference §9); 100 is the usual Alibaba cap

export type ActionBody = Record<string, unknown>;
export type OutboundBotActions = Record<string, (p: Params) => ActionBody>;

// ---- wire shapes --------------------------------------------------------------------------------

const contactWire = (job: SimulatedJob) => ({
  ContactId: job.contact.contactId, ContactName: job.contact.name ?? '', Honorific: '', JobId: job.jobId,
  PhoneNumber: job.contact.phone, ReferenceId: job.contact.referenceId ?? '', Role: '', State: 'Available',
});
const jobWire = (job: SimulatedJob) => ({
  JobId: job.jobId, JobGroupId: job.jobGroupId, Status: job.status,
  ...(job.failureReason ? { FailureReason: job.failureReason } : {}),
  Priority: 0, SystemPriority: 0, ReferenceId: job.contact.referenceId ?? '', ScenarioId: 'sim-scenario', StrategyId: 'sim-strategy',
  CallingNumbers: [CALLING_NUMBER], Contacts: [contactWire(job)], Extras: [], Summary: [],
});
const conversationWire = (task: SimulatedTask, inListJobs = false) => (task.conversationWithheld || (inListJobs && task.conversationOnlyInDescribe) ? [] : task.conversation).map((line) => ({
  Speaker: line.speaker, Script: line.script, Timestamp: line.timestamp, Action: line.action,
  ActionParams: '{}', SequenceId: line.sequenceId, Summary: [],
}));
const durationSeconds = (task: SimulatedTask) => (task.endTime && task.status.startsWith('Succeeded') ? Math.round((task.endTime - task.actualTime) / 1000) : 0);
// ListJobs' task model has no EndReason/EndTime (reference §3.3); DescribeJob's has (§3.4).
const listJobsTaskWire = (task: SimulatedTask, job: SimulatedJob) => ({
  TaskId: task.taskId, JobId: job.jobId, Status: task.status, PlanedTime: task.planedTime, ActualTime: task.actualTime,
  CallingNumber: task.callingNumber, CalledNumber: task.calledNumber, CallId: task.callId, ChatbotId: 'sim-chatbot',
  Duration: durationSeconds(task), Brief: '', ScenarioId: 'sim-scenario', Contact: contactWire(job), Conversation: conversationWire(task, true),
});
const describeTaskWire = (task: SimulatedTask, job: SimulatedJob) => ({
  ...listJobsTaskWire(task, job),
  Conversation: conversationWire(task),
  ...(task.endTime !== null ? { EndTime: task.endTime } : {}),
  ...(task.endReason !== null ? { EndReason: task.endReason } : {}),
  TotalDuration: durationSeconds(task), RingingDuration: 12, RealRingingDuration: 12,
  SipCode: task.status.startsWith('Succeeded') ? '200' : '480', SipDuration: durationSeconds(task), HangUpDirection: 'client',
});
function latestTaskWire(job: SimulatedJob) {
  const task = latestTask(job);
  if (!task) return {}; // never dialled: no LatestTask at all (reference §8)
  const answered = task.status.startsWith('Succeeded');
  const seconds = durationSeconds(task);
  return {
    LatestTask: {
      Status: task.status, StatusName: task.status, ...(task.endReason ? { TaskEndReason: task.endReason } : {}),
      CallTime: task.actualTime, CallDuration: seconds * 1000, CallDurationDisplay: String(seconds),
      HasAnswered: answered, HasHangUpByRejection: false, HasLastPlaybackCompleted: answered, HasReachedEndOfFlow: answered,
      HangUpDirection: 'Callee', VoiceName: 'xiaoyun',
      Contact: {
        Id: job.contact.contactId, Name: job.contact.name ?? '', Honorific: '', PhoneNumber: job.contact.phone,
        PreferredPhoneNumber: '', ReferenceId: job.contact.referenceId ?? '', JobUuid: job.jobId, Role: '', Round: job.tasks.length, State: 'Available',
      },
      Extras: [], TagHits: [], DialExceptionCodes: [],
    },
  };
}

// ---- actions ------------------------------------------------------------------------------------

const FINAL = ['Succeeded', 'Failed', 'Cancelled'];
const JOB_STATUS_NAMES: Record<string, string> = { Succeeded: 'Ended-Reached', Failed: 'Ended-Unreached' };

function pageOf<T>(items: T[], pageNumber: number, pageSize: number): T[] {
  return items.slice((pageNumber - 1) * pageSize, pageNumber * pageSize);
}

/**
 * How ListJobsByGroup pages, settable by tests and the demo: the real maximum page size is
 * unconfirmed (reference §9), so a cap below what autofollow asks for must not lose jobs, and a
 * group may grow while it is being listed (DESIGN §3.6).
 */
export interface ListingBehaviour {
  /** Answer at most this many jobs a page (null: MAX_PAGE_SIZE). */
  maxPageSize: number | null;
  /** Echo the PageSize asked for instead of the one applied, as a careless server might. */
  echoRequestedPageSize: boolean;
  /** Jobs to assign right after the next answered page of their group: a group growing mid-listing. */
  addAfterNextPage: Array<{ jobGroupId: string; contacts: SimContact[] }>;
}

export function createListingBehaviour(): ListingBehaviour {
  return { maxPageSize: null, echoRequestedPageSize: false, addAfterNextPage: [] };
}

export function createOutboundBotActions({ state, instanceId, now, listing = createListingBehaviour() }: { state: SimulatedJobs; instanceId: string; now: () => number; listing?: ListingBehaviour }): OutboundBotActions {
  const { groups, jobs, listedJobs } = state;

  function requireInstance(p: Params): void {
    const id = required(p, 'InstanceId');
    if (id !== instanceId) throw notFound('InstanceNotFound', `The instance ${id} does not exist or does not belong to you.`);
  }
  function requireGroup(p: Params): JobGroup {
    const id = required(p, 'JobGroupId');
    const group = groups.get(id);
    if (!group) throw notFound('JobGroupNotFound', `The job group ${id} does not exist.`);
    return group;
  }

  return {
    ...createWriteActions({ state, requireInstance }),
    ListJobsByGroup(p) {
      requireInstance(p);
      const group = requireGroup(p);
      const pageNumber = intParam(p, 'PageNumber', { required: true, min: 1 });
      const askedSize = intParam(p, 'PageSize', { required: true, min: 1, max: MAX_PAGE_SIZE });
      const pageSize = Math.min(askedSize, listing.maxPageSize ?? MAX_PAGE_SIZE);
      const all = listedJobs(group).filter((j) => (!p.JobStatus || j.status === p.JobStatus) && (!p.JobFailureReason || j.failureReason === p.JobFailureReason));
      const answer = { Jobs: { PageNumber: pageNumber, PageSize: listing.echoRequestedPageSize ? askedSize : pageSize, TotalCount: all.length, List: pageOf(all, pageNumber, pageSize).map(jobWire) } };
      const growth = listing.addAfterNextPage.findIndex((g) => g.jobGroupId === group.jobGroupId);
      if (growth >= 0) state.assignJobs(group.jobGroupId, listing.addAfterNextPage.splice(growth, 1)[0]!.contacts);
      return answer;
    },
    QueryJobsWithResult(p) {
      requireInstance(p);
      const group = requireGroup(p);
      const pageNumber = intParam(p, 'PageNumber', { min: 1 }) ?? 1;
      const pageSize = intParam(p, 'PageSize', { min: 1, max: MAX_PAGE_SIZE }) ?? 10;
      const all = listedJobs(group).filter((j) => !p.JobStatusFilter || j.status === p.JobStatusFilter);
      return {
        VariableNames: [], Labels: [],
        Jobs: {
          PageNumber: pageNumber, PageSize: pageSize, RowCount: all.length, PageCount: Math.ceil(all.length / pageSize),
          List: pageOf(all, pageNumber, pageSize).map((job) => ({
            Id: job.jobId, Status: job.status, StatusName: JOB_STATUS_NAMES[job.status] ?? job.status,
            ...(job.failureReason ? { JobFailureReason: job.failureReason } : {}), ...latestTaskWire(job),
          })),
        },
      };
    },
    ListJobs(p) {
      requireInstance(p);
      const ids = listParam(p, 'JobId');
      if (ids.length === 0) throw missing('JobId');
      if (ids.length > LIST_JOBS_MAX_IDS) throw invalid('JobId', `at most ${LIST_JOBS_MAX_IDS} items, got ${ids.length}`);
      const found = ids.map((id) => jobs.get(id)).filter((j): j is SimulatedJob => j !== undefined);
      return { Jobs: found.map((job) => ({ ...jobWire(job), Tasks: job.tasks.map((t) => listJobsTaskWire(t, job)) })) };
    },
    DescribeJob(p) {
      requireInstance(p);
      const id = required(p, 'JobId');
      const job = jobs.get(id);
      if (!job) throw notFound('JobNotFound', `The job ${id} does not exist.`);
      const task = latestTask(job);
      return {
        Job: {
          ...jobWire(job), InstanceId: instanceId, CalledNumber: job.contact.phone,
          ...(task ? { ActualTime: task.actualTime } : { NextExecutionTime: now() + 60_000 }),
          Tasks: job.tasks.map((t) => describeTaskWire(t, job)),
        },
      };
    },
    DescribeJobGroup(p) {
      requireInstance(p);
      const group = requireGroup(p);
      const all = listedJobs(group);
      const count = (status: string) => all.filter((j) => j.status === status).length;
      const completed = all.filter((j) => FINAL.includes(j.status)).length;
      const status = group.ended || (all.length > 0 && completed === all.length) ? 'Completed' : count('Executing') > 0 || completed > 0 ? 'Executing' : 'Scheduling';
      return {
        JobGroup: {
          JobGroupId: group.jobGroupId, JobGroupName: group.name, JobGroupDescription: '', Status: status,
          CreationTime: group.creationTime, ModifyTime: String(group.creationTime), Priority: 'Daily',
          MinConcurrency: 0, RingingDuration: 25, ScenarioId: 'sim-scenario', ScriptId: group.scriptId, ScriptName: '车展邀约回访',
          ScriptVersion: '1', ScriptNluEngine: 'Prompts', CallingNumbers: group.callingNumbers, RecallCallingNumbers: [],
          JobDataParsingTaskId: '', JobFilePath: '',
          RecallStrategy: { EmptyNumberIgnore: false, InArrearsIgnore: false, OutOfServiceIgnore: false },
          Progress: {
            TotalJobs: all.length, TotalCompleted: completed, Scheduling: count('Scheduling'), Executing: count('Executing'),
            Paused: count('Paused'), Failed: count('Failed'), Cancelled: count('Cancelled'),
            TotalNotAnswered: all.filter((j) => j.failureReason === 'NoAnswer').length,
            Duration: 0, StartTime: group.creationTime, Status: status, Briefs: [], Categories: [],
          },
          Strategy: {
            StrategyId: 'sim-strategy', StrategyName: 'default', StrategyDescription: '', Type: 'Repeatable',
            StartTime: group.creationTime, EndTime: group.creationTime + 7 * 86_400_000, RepeatBy: 'Once', RepeatDays: [],
            Repeatable: false, MaxAttemptsPerDay: 3, MinAttemptInterval: 10, RoutingStrategy: 'None', IsTemplate: false,
            Customized: '', FollowUpStrategy: '', WorkingTime: [{ BeginTime: '09:00:00', EndTime: '20:00:00' }],
          },
        },
      };
    },
  };
}
