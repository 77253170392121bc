// Typed Outbound Bot calls (OutboundBotClient) over @alicloud/openapi-core. Every attempt goes
// through the rate limiter (DESIGN §3.10) and is classified at the edge; transient failures are
// retried here with backoff (§3.9), business errors surface at once as BusinessError. All three
// reads are retried after a timeout; the two writes (CreateJobGroup, AssignJobs) only after a
// throttling answer, which says the gateway refused them before acting: a retry after a timeout
// could create the jobs twice (reference §5.4), so the caller reconciles instead.
import type { Logger } from '../log.ts';
import { countOutboundBotError, startOutboundBotRequest } from '../metrics.ts';
import { createRateLimiter } from '../net/rate-limiter.ts';
import { withRetry, type RetryPolicy } from '../net/retry.ts';
import { classifyError, RetryableError, successBodyOf } from './classify-error.ts';
import { BusinessError, errorCodeOf, RetriesExhaustedError } from './errors.ts';
import {
  ASSIGN_JOBS_MAX, LIST_JOBS_MAX_IDS, type CallAttempt, type GroupJob, type GroupJobPage, type JobDetail, type JobGroupSummary, type NewJobGroup,
  type OutboundBotClient, type Utterance,
} from './types.ts';
import { createWireCaller } from './wire.ts';

export interface OutboundBotClientOptions {
  /** URL with scheme, e.g. https://outboundbot.cn-shanghai.aliyuncs.com or http://127.0.0.1:1234 */
  endpoint: string;
  instanceId: string;
  accessKeyId: string;
  accessKeySecret: string;
  /** Per request, applied to both of openapi-core's timeouts. */
  timeoutMs: number;
  qps: number;
  /** Requests in flight at once (OUTBOUNDBOT_MAX_IN_FLIGHT; 4 for a client built by hand in a test). */
  concurrency?: number;
  retry: RetryPolicy;
  log: Logger;
}

type Wire = Record<string, unknown>;

export function createOutboundBotClient(options: OutboundBotClientOptions): OutboundBotClient {
  const wire = createWireCaller(options);
  const limiter = createRateLimiter({ ratePerSecond: options.qps, concurrency: options.concurrency ?? 4 });
  const log = options.log;

  /** One action with retries; `map` runs inside the attempt, so a body we cannot read is retried too. */
  async function request<T>(action: string, params: Wire, map: (body: Wire) => T, kind: 'read' | 'write' = 'read'): Promise<T> {
    const query = { InstanceId: options.instanceId, ...params };
    let attempts = 0;
    try {
      return await withRetry(async (attempt) => {
        attempts = attempt;
        try {
          const response = await limiter.run(() => {
            const finished = startOutboundBotRequest(action); // counted and timed when it leaves, after the rate limiter's wait
            return wire.call(action, query).finally(finished);
          }).catch((error: unknown) => {
            throw classifyError(error);
          });
          return map(successBodyOf(response.statusCode, response.body, response.requestId));
        } catch (error) {
          countOutboundBotError(action, errorCodeOf(error));
          throw error;
        }
      }, {
        policy: options.retry,
        isRetryable: (error) => error instanceof RetryableError && (kind === 'read' || error.throttled),
        retryAfterMs: (error) => (error instanceof RetryableError ? error.retryAfterMs : null),
        onRetry: ({ attempt, delayMs, error }) => {
          const e = error as RetryableError;
          // Throttling is about the whole account, not this call: hold every new start back (DESIGN §3.10).
          if (e.throttled) limiter.slowDown(delayMs);
          log.warn(
            { action, attempt, attempts: options.retry.attempts, code: e.code, delayMs },
            `OutboundBot ${action} attempt ${attempt} of ${options.retry.attempts} failed with ${e.code}; retrying in ${delayMs} ms`,
          );
        },
      });
    } catch (error) {
      if (error instanceof RetryableError) throw new RetriesExhaustedError(error.code, `OutboundBot ${action} kept failing: ${error.message}`, attempts);
      throw error;
    }
  }

  return {
    listJobsByGroup(jobGroupId, pageNumber, pageSize) {
      return request('ListJobsByGroup', { JobGroupId: jobGroupId, PageNumber: pageNumber, PageSize: pageSize }, (body) => toGroupJobPage(body, pageNumber, pageSize));
    },
    async listJobs(jobIds) {
      if (jobIds.length === 0) return [];
      if (jobIds.length > LIST_JOBS_MAX_IDS) {
        throw new Error(`ListJobs takes at most ${LIST_JOBS_MAX_IDS} job ids per call, got ${jobIds.length}; split the list into batches.`);
      }
      // An array here becomes JobId.1..N in wire.ts (OpenApiUtil.query).
      return request('ListJobs', { JobId: jobIds }, (body) => list(body.Jobs).map(toJobDetail));
    },
    describeJob(jobId) {
      return request('DescribeJob', { JobId: jobId }, (body) => {
        const job = object(body.Job);
        if (!job) throw new BusinessError('JobNotFound', `DescribeJob answered without a Job for ${jobId}`, 200, text(body.RequestId));
        return toJobDetail(job);
      });
    },
    createJobGroup(group) {
      return request('CreateJobGroup', jobGroupParams(group), (body) => toJobGroup(object(body.JobGroup), 'CreateJobGroup'), 'write');
    },
    async assignJobs(jobGroupId, jobs, callingNumbers) {
      if (jobs.length === 0) return [];
      if (jobs.length > ASSIGN_JOBS_MAX) throw new Error(`AssignJobs takes at most ${ASSIGN_JOBS_MAX} jobs per call, got ${jobs.length}; split them into batches.`);
      const jobsJson = jobs.map((job) => JSON.stringify({ contacts: [{ phoneNumber: job.phoneNumber, ...(job.name ? { name: job.name } : {}), referenceId: job.referenceId }] }));
      const params: Wire = { JobGroupId: jobGroupId, JobsJson: jobsJson, ...(callingNumbers.length > 0 ? { CallingNumber: callingNumbers } : {}) };
      return request('AssignJobs', params, (body) => {
        const ids = Array.isArray(body.JobsId) ? body.JobsId.map(text).filter((id): id is string => id !== null) : [];
        // A short or missing list cannot be matched to the jobs sent; the caller lists the group instead.
        if (ids.length !== jobs.length) throw new RetryableError('MalformedResponse', `AssignJobs answered ${ids.length} job ids for ${jobs.length} jobs`);
        return ids;
      }, 'write');
    },
    findJobGroups(searchText) {
      return request('ListJobGroups', { SearchText: searchText, PageNumber: 1, PageSize: 100 }, (body) =>
        list(object(body.JobGroups)?.List).map((g) => toJobGroup(g, 'ListJobGroups')));
    },
    describeJobGroup(jobGroupId) {
      return request('DescribeJobGroup', { JobGroupId: jobGroupId }, (body) => toJobGroup(object(body.JobGroup), 'DescribeJobGroup'));
    },
    listScripts() {
      return request('ListScripts', { PageNumber: 1, PageSize: 100 }, (body) =>
        list(object(body.Scripts)?.List).map((s) => ({ scriptId: requiredId(s.ScriptId, 'ListScripts'), name: text(s.Name) ?? '' })));
    },
  };
}

// ---- wire -> our types (defensive: missing arrays become [], missing numbers null) ----------------

function toGroupJobPage(body: Wire, pageNumber: number, pageSize: number): GroupJobPage {
  const jobs = object(body.Jobs);
  const totalCount = number(jobs?.TotalCount);
  // Without a count a page cannot prove the listing complete (DESIGN §3.6), so treat it as unreadable.
  if (!jobs || totalCount === null) throw malformed('ListJobsByGroup answered without Jobs.TotalCount');
  return {
    jobs: list(jobs.List).map(toGroupJob),
    pageNumber: number(jobs.PageNumber) ?? pageNumber,
    pageSize: number(jobs.PageSize) ?? pageSize,
    totalCount,
  };
}

function jobGroupParams(group: NewJobGroup): Wire {
  const strategy = group.window && {
    repeatBy: 'Once',
    workingTime: group.window.workingTime,
    maxAttemptsPerDay: group.window.maxAttemptsPerDay,
    minAttemptInterval: group.window.minAttemptInterval,
  };
  return {
    JobGroupName: group.name,
    ...(group.description ? { JobGroupDescription: group.description } : {}),
    ...(group.scriptId ? { ScriptId: group.scriptId } : {}),
    ...(group.callingNumbers.length > 0 ? { CallingNumber: group.callingNumbers } : {}),
    ...(strategy ? { StrategyJson: JSON.stringify(strategy) } : {}),
  };
}

function toJobGroup(group: Wire | null, where: string): JobGroupSummary {
  if (!group) throw malformed(`${where} answered without a JobGroup`);
  const jobGroupId = text(group.JobGroupId);
  if (jobGroupId === null) throw malformed(`${where} answered a job group without JobGroupId`);
  return { jobGroupId, name: text(group.JobGroupName) ?? '', status: text(group.Status) ?? 'Unknown' };
}

function toGroupJob(job: Wire): GroupJob {
  const contacts = list(job.Contacts);
  return {
    jobId: requiredId(job.JobId, 'ListJobsByGroup'),
    phoneNumbers: contacts.map((c) => text(c.PhoneNumber)).filter((p): p is string => p !== null),
    referenceIds: [...new Set([job.ReferenceId, ...contacts.map((c) => c.ReferenceId)].map(text).filter((r): r is string => r !== null))],
    status: text(job.Status) ?? 'Unknown',
    failureReason: text(job.FailureReason),
  };
}

function toJobDetail(job: Wire): JobDetail {
  return {
    jobId: requiredId(job.JobId, 'the job listing'),
    jobGroupId: text(job.JobGroupId),
    status: text(job.Status) ?? 'Unknown',
    failureReason: text(job.FailureReason),
    tasks: inAttemptOrder(list(job.Tasks).map(toCallAttempt)),
  };
}

function toCallAttempt(task: Wire): CallAttempt {
  return {
    taskId: text(task.TaskId) ?? '',
    status: text(task.Status) ?? '',
    planedTime: number(task.PlanedTime), // sic: the API spells it with one "n"
    actualTime: number(task.ActualTime),
    callingNumber: text(task.CallingNumber),
    calledNumber: text(task.CalledNumber),
    endReason: text(task.EndReason), // ListJobs usually omits it; DescribeJob sends it (reference §3.3)
    conversation: list(task.Conversation).map(toUtterance),
  };
}

function toUtterance(u: Wire): Utterance {
  return { speaker: text(u.Speaker) ?? '', script: text(u.Script) ?? '', timestamp: number(u.Timestamp), action: text(u.Action) };
}

/**
 * The API documents no order for Tasks, yet callers take the last one as the latest attempt. So we
 * sort by PlanedTime (ActualTime when that is absent), ascending and stable: equal times keep the
 * API's order. If any task has neither time we keep the API's order for all, since an undated task
 * could belong anywhere.
 */
function inAttemptOrder(tasks: CallAttempt[]): CallAttempt[] {
  const keyOf = (t: CallAttempt) => t.planedTime ?? t.actualTime;
  if (tasks.some((t) => keyOf(t) === null)) return tasks;
  return [...tasks].sort((a, b) => keyOf(a)! - keyOf(b)!);
}

function object(value: unknown): Wire | null {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Wire) : null;
}

function list(value: unknown): Wire[] {
  return Array.isArray(value) ? value.map(object).filter((v): v is Wire => v !== null) : [];
}

function text(value: unknown): string | null {
  if (typeof value === 'string') return value === '' ? null : value;
  return typeof value === 'number' ? String(value) : null;
}

function number(value: unknown): number | null {
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  return typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : null;
}

function requiredId(value: unknown, where: string): string {
  const id = text(value);
  if (id === null) throw malformed(`${where} returned a job without JobId`);
  return id;
}

function malformed(message: string): RetryableError {
  return new RetryableError('MalformedResponse', message);
}
