// A faithful stand-in for the Outbound Bot OpenAPI (2019-12-26) over real HTTP on loopback
// (DESIGN §5). It follows reference/outboundbot-api.md §7: routes on x-acs-action (or Action),
// accepts GET and POST, merges query and form params, reads Name.N lists, answers with the
// §2.7 envelope or the §5.1 error shapes, keeps the quirky spellings (PlanedTime, RowCount vs
// TotalCount, ModifyTime as a string). Tests and the demo drive its state in-process.
import { createHash, createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Logger } from '../log.ts';
import { buildConversation, type ConversationKind, type ConversationLine } from './conversations.ts';
import { createFaultQueue, FAULT_DEFAULTS, HTML_502, httpStatusOfBusinessCode, type Fault, type FaultName, type FaultOptions } from './faults.ts';

export const API_VERSION = '2019-12-26';
const HOST_ID = 'outboundbot.cn-shanghai.aliyuncs.com';
const CALLING_NUMBER = '02160001234';
const LIST_JOBS_MAX_IDS = 99;
const MAX_PAGE_SIZE = 100; // the real maximum is unconfirmed (reference §9); 100 is the usual Alibaba cap

export interface SimContact { phone: string; name?: string; referenceId?: string }
/** Our client's Utterance shape is accepted as is; missing timestamps and ids are filled in. */
export interface SimUtterance { speaker: string; script: string; timestamp?: number | null; action?: string | null; sequenceId?: string }

export type JobOutcome =
  | { status: 'Succeeded'; kind?: ConversationKind; conversation?: SimUtterance[]; /** false: Conversation stays [] until attachConversation */ conversationAvailable?: boolean }
  | { status: 'Failed'; /** Job FailureReason, reference §4.3 */ failureReason?: string; /** Task Status, reference §4.4 */ taskStatus?: string };

export interface SimulatedTask {
  taskId: string; status: string; planedTime: number; actualTime: number; endTime: number | null; endReason: string | null;
  callingNumber: string; calledNumber: string; callId: string; conversation: ConversationLine[]; conversationWithheld: boolean;
}
export interface SimulatedJob {
  jobId: string; jobGroupId: string; status: string; failureReason: string | null;
  contact: { contactId: string; phone: string; name: string | null; referenceId: string | null };
  tasks: SimulatedTask[];
}
interface JobGroup { jobGroupId: string; name: string; creationTime: number; jobIds: string[] }

export interface RecordedRequest {
  action: string; method: string; params: Record<string, string>;
  /** Lower-case names, as received (e.g. x-acs-action, x-acs-version). */
  headers: Record<string, string>;
  /** Date.now() on arrival, for timing assertions. */
  at: number;
}

export interface AutoplayMix { interested: number; notInterested: number; unclear: number; failed: number; lateConversation: number }
export interface AutoplayOptions { intervalMs: number; /** jobs moved per stage per tick (default 3) */ perTick?: number; mix?: AutoplayMix; random?: () => number }

export interface OutboundBotSimulatorOptions {
  instanceId?: string; accessKeyId?: string; accessKeySecret?: string;
  /** Check the ACS3-HMAC-SHA256 signature (reference §6.4) and answer SignatureDoesNotMatch. */
  verifySignature?: boolean;
  /** Clock for job and call times (epoch ms). */
  now?: () => number;
  log?: Logger;
}

export interface OutboundBotSimulator {
  readonly url: string; readonly instanceId: string; readonly accessKeyId: string; readonly accessKeySecret: string;
  readonly requests: RecordedRequest[];
  createJobGroup(name?: string): string;
  assignJobs(jobGroupId: string, contacts: SimContact[]): string[];
  startJob(jobId: string): void;
  finishJob(jobId: string, outcome: JobOutcome): void;
  attachConversation(jobId: string): void;
  cancelJob(jobId: string): void;
  removeJob(jobId: string): void;
  jobsOf(jobGroupId: string): SimulatedJob[];
  autoplay(options: AutoplayOptions): () => void;
  failNext(fault: FaultName, options?: FaultOptions): void;
  resetRequests(): void;
  stop(): Promise<void>;
}

type Params = Record<string, string>;
type Body = Record<string, unknown>;

/** A refusal the simulator answers with: the gateway's §5.1 shape or the business envelope with Success:false. */
class ApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string, readonly style: 'gateway' | 'business') {
    super(message);
  }
}
const missing = (name: string) => new ApiError(400, `Missing${name}`, `The input parameter "${name}" that is mandatory for processing this request is not supplied.`, 'gateway');
const invalid = (name: string, why: string) => new ApiError(400, 'InvalidParameter', `The specified parameter "${name}" is not valid: ${why}.`, 'gateway');
const notFound = (code: string, message: string) => new ApiError(404, code, message, 'business');

export async function startOutboundBotSimulator(options: OutboundBotSimulatorOptions = {}): Promise<OutboundBotSimulator> {
  const instanceId = options.instanceId ?? randomUUID();
  const accessKeyId = options.accessKeyId ?? 'sim-access-key-id';
  const accessKeySecret = options.accessKeySecret ?? 'sim-access-key-secret';
  const now = options.now ?? Date.now;
  const log = options.log;
  const groups = new Map<string, JobGroup>();
  const jobs = new Map<string, SimulatedJob>();
  const requests: RecordedRequest[] = [];
  const faults = createFaultQueue();
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  const stoppers = new Set<() => void>();

  // ---- state --------------------------------------------------------------------------------

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
  const latestTask = (job: SimulatedJob) => job.tasks.at(-1);
  const listedJobs = (group: JobGroup) => group.jobIds.map((id) => jobs.get(id)).filter((j): j is SimulatedJob => j !== undefined);

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

  // ---- wire shapes ----------------------------------------------------------------------------

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
  const conversationWire = (task: SimulatedTask) => (task.conversationWithheld ? [] : task.conversation).map((line) => ({
    Speaker: line.speaker, Script: line.script, Timestamp: line.timestamp, Action: line.action,
    ActionParams: '{}', SequenceId: line.sequenceId, Summary: [],
  }));
  const durationSeconds = (task: SimulatedTask) => (task.endTime && task.status.startsWith('Succeeded') ? Math.round((task.endTime - task.actualTime) / 1000) : 0);
  // ListJobs' task model has no EndReason/EndTime (reference §3.3); DescribeJob's has (§3.4).
  const listJobsTaskWire = (task: SimulatedTask, job: SimulatedJob) => ({
    TaskId: task.taskId, JobId: job.jobId, Status: task.status, PlanedTime: task.planedTime, ActualTime: task.actualTime,
    CallingNumber: task.callingNumber, CalledNumber: task.calledNumber, CallId: task.callId, ChatbotId: 'sim-chatbot',
    Duration: durationSeconds(task), Brief: '', ScenarioId: 'sim-scenario', Contact: contactWire(job), Conversation: conversationWire(task),
  });
  const describeTaskWire = (task: SimulatedTask, job: SimulatedJob) => ({
    ...listJobsTaskWire(task, job),
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

  // ---- actions --------------------------------------------------------------------------------

  const FINAL = ['Succeeded', 'Failed', 'Cancelled'];
  const JOB_STATUS_NAMES: Record<string, string> = { Succeeded: 'Ended-Reached', Failed: 'Ended-Unreached' };

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

  const actions: Record<string, (p: Params) => Body> = {
    ListJobsByGroup(p) {
      requireInstance(p);
      const group = requireGroup(p);
      const pageNumber = intParam(p, 'PageNumber', { required: true, min: 1 });
      const pageSize = intParam(p, 'PageSize', { required: true, min: 1, max: MAX_PAGE_SIZE });
      const all = listedJobs(group).filter((j) => (!p.JobStatus || j.status === p.JobStatus) && (!p.JobFailureReason || j.failureReason === p.JobFailureReason));
      return { Jobs: { PageNumber: pageNumber, PageSize: pageSize, TotalCount: all.length, List: pageOf(all, pageNumber, pageSize).map(jobWire) } };
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
      const status = all.length > 0 && completed === all.length ? 'Completed' : count('Executing') > 0 || completed > 0 ? 'Executing' : 'Scheduling';
      return {
        JobGroup: {
          JobGroupId: group.jobGroupId, JobGroupName: group.name, JobGroupDescription: '', Status: status,
          CreationTime: group.creationTime, ModifyTime: String(group.creationTime), Priority: 'Daily',
          MinConcurrency: 0, RingingDuration: 25, ScenarioId: 'sim-scenario', ScriptId: 'sim-script', ScriptName: '车展邀约回访',
          ScriptVersion: '1', ScriptNluEngine: 'Prompts', CallingNumbers: [CALLING_NUMBER], RecallCallingNumbers: [],
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

  // ---- HTTP -----------------------------------------------------------------------------------

  /** The answer a healthy service would give; faults decide whether and how it is sent. */
  function answer(req: http.IncomingMessage, url: URL, rawBody: Buffer, action: string, params: Params): { status: number; body: Body } {
    try {
      if ((req.method !== 'GET' && req.method !== 'POST') || url.pathname !== '/') {
        throw new ApiError(404, 'InvalidApi.NotFound', `Specified api is not found, please check your url and method.`, 'gateway');
      }
      const version = header(req, 'x-acs-version') ?? params.Version;
      if (!version) throw missing('Version');
      if (version !== API_VERSION || !Object.hasOwn(actions, action)) {
        throw new ApiError(404, 'InvalidApi.NotFound', `Specified api ${action || '(none)'} of version ${version} is not found.`, 'gateway');
      }
      if (options.verifySignature) checkSignature(req, url, rawBody);
      return { status: 200, body: { Success: true, Code: 'OK', Message: 'Success', HttpStatusCode: 200, ...actions[action]!(params) } };
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      const body: Body = error.style === 'gateway'
        ? { HostId: HOST_ID, Code: error.code, Message: error.message, Recommend: `https://api.aliyun.com/troubleshoot?q=${error.code}` }
        : { Success: false, Code: error.code, Message: error.message, HttpStatusCode: error.status };
      return { status: error.status, body };
    }
  }

  function checkSignature(req: http.IncomingMessage, url: URL, rawBody: Buffer): void {
    const auth = /^ACS3-HMAC-SHA256 Credential=([^,]+),SignedHeaders=([^,]+),Signature=([0-9a-f]{64})$/.exec(header(req, 'authorization') ?? '');
    if (!auth) throw new ApiError(400, 'IncompleteSignature', 'The request signature does not conform to Aliyun standards.', 'gateway');
    const [, keyId, signedHeaders, signature] = auth as unknown as [string, string, string, string];
    if (keyId !== accessKeyId) throw new ApiError(404, 'InvalidAccessKeyId.NotFound', 'Specified access key is not found.', 'gateway');
    const payloadHash = createHash('sha256').update(rawBody).digest('hex');
    const expected = acs3Signature(req.method!, url, req.headers, signedHeaders.split(';'), payloadHash, accessKeySecret);
    if (header(req, 'x-acs-content-sha256') !== payloadHash || !timingSafeEqual(Buffer.from(expected), Buffer.from(signature))) {
      throw new ApiError(400, 'SignatureDoesNotMatch', 'Specified signature does not match our calculation.', 'gateway');
    }
  }

  function send(res: http.ServerResponse, requestId: string, status: number, text: string, contentType = 'application/json;charset=utf-8'): void {
    if (res.destroyed || res.writableEnded) return; // the client gave up (timeout) or stop() ran
    res.writeHead(status, { 'content-type': contentType, 'x-acs-request-id': requestId });
    res.end(text);
  }

  /** Runs later unless stop() comes first; a client that hangs up cancels it. */
  function later(res: http.ServerResponse, ms: number, fn: () => void): void {
    const timer = setTimeout(() => {
      timers.delete(timer);
      fn();
    }, ms);
    timers.add(timer);
    res.on('close', () => {
      clearTimeout(timer);
      timers.delete(timer);
    });
  }

  function applyFault(fault: Fault, res: http.ServerResponse, requestId: string, respond: () => { status: number; body: Body }): void {
    const json = (status: number, body: Body) => send(res, requestId, status, JSON.stringify({ RequestId: requestId, ...body }));
    switch (fault.name) {
      case 'throttle': {
        const code = fault.code ?? FAULT_DEFAULTS.throttleCode;
        res.setHeader('x-acs-retry-after', String(fault.delayMs ?? FAULT_DEFAULTS.throttleRetryAfterMs));
        return json(400, { HostId: HOST_ID, Code: code, Message: 'Request was denied due to user flow control.', Recommend: '' });
      }
      case 'server-error': {
        const code = fault.code ?? FAULT_DEFAULTS.serverErrorCode;
        return json(code === 'InternalError' ? 500 : 503, { HostId: HOST_ID, Code: code, Message: 'The request has failed due to a temporary failure of the server.', Recommend: '' });
      }
      case 'timeout':
        if (fault.delayMs === null) return; // never answers; the client's timeout (or stop()) ends it
        return later(res, fault.delayMs, () => { const a = respond(); json(a.status, a.body); });
      case 'slow':
        return later(res, fault.delayMs ?? FAULT_DEFAULTS.slowMs, () => { const a = respond(); json(a.status, a.body); });
      case 'html-502':
        return send(res, requestId, 502, HTML_502, 'text/html');
      case 'empty-200':
        return send(res, requestId, 200, '');
      case 'malformed-json': {
        const full = JSON.stringify({ RequestId: requestId, ...respond().body });
        return send(res, requestId, 200, full.slice(0, Math.max(1, Math.floor(full.length / 2))));
      }
      case 'reset':
        res.socket?.destroy();
        return;
      case 'business-error':
      case 'business-error-200': {
        const code = fault.code ?? FAULT_DEFAULTS.businessErrorCode;
        const status = httpStatusOfBusinessCode(code);
        return json(fault.name === 'business-error' ? status : 200, { Success: false, Code: code, Message: `Simulated business error ${code}.`, HttpStatusCode: status });
      }
    }
  }

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const rawBody = await readBody(req);
    const url = new URL(req.url ?? '/', 'http://simulator.invalid');
    const params = mergeParams(url.searchParams, rawBody, header(req, 'content-type'));
    const action = header(req, 'x-acs-action') ?? params.Action ?? '';
    const requestId = randomUUID().toUpperCase();
    const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : v ?? '']));
    requests.push({ action, method: req.method ?? '', params, headers, at: Date.now() });
    const respond = () => answer(req, url, rawBody, action, params);
    const fault = faults.take(action);
    log?.debug({ action, fault: fault?.name ?? null }, 'outboundbot simulator request');
    if (fault) return applyFault(fault, res, requestId, respond);
    const { status, body } = respond();
    send(res, requestId, status, JSON.stringify({ RequestId: requestId, ...body }));
  }

  const server = http.createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      log?.error({ err: error }, 'outboundbot simulator failed on a request');
      send(res, randomUUID().toUpperCase(), 500, JSON.stringify({ Code: 'InternalError', Message: String(error) }));
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    instanceId, accessKeyId, accessKeySecret, requests,
    createJobGroup(name) {
      const jobGroupId = randomUUID();
      groups.set(jobGroupId, { jobGroupId, name: name ?? `回访任务 ${groups.size + 1}`, creationTime: now(), jobIds: [] });
      return jobGroupId;
    },
    assignJobs(jobGroupId, contacts) {
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
    },
    startJob, finishJob, attachConversation, cancelJob, removeJob,
    jobsOf(jobGroupId) {
      return structuredClone(listedJobs(groupOf(jobGroupId)));
    },
    autoplay(autoplayOptions) {
      const stop = startAutoplay({ jobs: () => [...jobs.values()], startJob, finishJob, attachConversation }, autoplayOptions);
      stoppers.add(stop);
      return () => {
        stop();
        stoppers.delete(stop);
      };
    },
    failNext(fault, faultOptions) {
      faults.add(fault, faultOptions);
    },
    resetRequests() {
      requests.length = 0;
    },
    async stop() {
      for (const stop of stoppers) stop();
      for (const timer of timers) clearTimeout(timer);
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy(); // hung requests included
      await closed;
    },
  };
}

// ---- autoplay -----------------------------------------------------------------------------------

const DEFAULT_MIX: AutoplayMix = { interested: 3, notInterested: 3, unclear: 1, failed: 3, lateConversation: 1 };
const FAILURES = [
  { taskStatus: 'NoAnswer', failureReason: 'NoAnswer', weight: 5 },
  { taskStatus: 'Busy', failureReason: 'NoAnswer', weight: 2 },
  { taskStatus: 'PoweredOff', failureReason: 'CallFailed', weight: 2 },
  { taskStatus: 'Failed', failureReason: 'CallFailed', weight: 1 },
];

interface AutoplayTarget {
  jobs(): SimulatedJob[];
  startJob(jobId: string): void;
  finishJob(jobId: string, outcome: JobOutcome): void;
  attachConversation(jobId: string): void;
}

/** Each tick: release withheld conversations that waited long enough, finish calls started on an earlier tick, dial new jobs. */
function startAutoplay(target: AutoplayTarget, options: AutoplayOptions): () => void {
  const random = options.random ?? Math.random;
  const perTick = options.perTick ?? 3;
  const mix = options.mix ?? DEFAULT_MIX;
  const withheld = new Map<string, number>(); // jobId -> ticks left before the conversation appears
  const dialledThisTick = new Set<string>();

  function outcome(): JobOutcome {
    const kinds: Array<[keyof AutoplayMix, number]> = Object.entries(mix) as Array<[keyof AutoplayMix, number]>;
    const pick = pickWeighted(kinds.map(([k, w]) => ({ k, weight: w })), random).k;
    if (pick === 'failed') {
      const f = pickWeighted(FAILURES, random);
      return { status: 'Failed', failureReason: f.failureReason, taskStatus: f.taskStatus };
    }
    if (pick === 'lateConversation') {
      const kind = (['interested', 'not-interested', 'unclear'] as const)[Math.floor(random() * 3)]!;
      return { status: 'Succeeded', kind, conversationAvailable: false };
    }
    return { status: 'Succeeded', kind: pick === 'notInterested' ? 'not-interested' : pick };
  }

  function tick(): void {
    for (const [jobId, left] of withheld) {
      if (left > 1) withheld.set(jobId, left - 1);
      else {
        withheld.delete(jobId);
        target.attachConversation(jobId);
      }
    }
    const all = target.jobs();
    const executing = all.filter((j) => j.status === 'Executing' && !dialledThisTick.has(j.jobId)).slice(0, perTick);
    for (const job of executing) {
      const result = outcome();
      target.finishJob(job.jobId, result);
      if (result.status === 'Succeeded' && result.conversationAvailable === false) withheld.set(job.jobId, 1 + Math.floor(random() * 2));
    }
    dialledThisTick.clear();
    for (const job of all.filter((j) => j.status === 'Scheduling').slice(0, perTick)) {
      target.startJob(job.jobId);
      dialledThisTick.add(job.jobId);
    }
  }

  const timer = setInterval(tick, options.intervalMs);
  return () => clearInterval(timer);
}

// ---- small wire helpers -------------------------------------------------------------------------

function header(req: http.IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return (Array.isArray(value) ? value[0] : value) || undefined;
}

function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** Query parameters, then form-body parameters (AssignJobsAsync style) on top. */
function mergeParams(query: URLSearchParams, body: Buffer, contentType: string | undefined): Params {
  const params: Params = Object.fromEntries(query);
  if (body.length > 0 && contentType?.includes('application/x-www-form-urlencoded')) {
    Object.assign(params, Object.fromEntries(new URLSearchParams(body.toString('utf8'))));
  }
  return params;
}

function required(p: Params, name: string): string {
  const value = p[name];
  if (value === undefined || value === '') throw missing(name);
  return value;
}

function intParam(p: Params, name: string, rule: { required: true; min: number; max?: number }): number;
function intParam(p: Params, name: string, rule: { required?: false; min: number; max?: number }): number | undefined;
function intParam(p: Params, name: string, rule: { required?: boolean; min: number; max?: number }): number | undefined {
  const raw = p[name];
  if (raw === undefined || raw === '') {
    if (rule.required) throw missing(name);
    return undefined;
  }
  if (!/^\d+$/.test(raw)) throw invalid(name, `"${raw}" is not a whole number`);
  const n = Number(raw);
  if (n < rule.min || (rule.max !== undefined && n > rule.max)) throw invalid(name, `must be between ${rule.min} and ${rule.max ?? 'any'}, got ${n}`);
  return n;
}

/** Name.1 .. Name.N, in index order (reference §2.4). */
function listParam(p: Params, name: string): string[] {
  const pattern = new RegExp(`^${name.replace(/\./g, '\\.')}\\.(\\d+)$`);
  return Object.entries(p)
    .map(([key, value]) => [Number(pattern.exec(key)?.[1]), value] as const)
    .filter(([index]) => Number.isInteger(index))
    .sort(([a], [b]) => a - b)
    .map(([, value]) => value);
}

function pageOf<T>(items: T[], pageNumber: number, pageSize: number): T[] {
  return items.slice((pageNumber - 1) * pageSize, pageNumber * pageSize);
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

function pickWeighted<T extends { weight: number }>(items: T[], random: () => number): T {
  const total = items.reduce((sum, item) => sum + Math.max(0, item.weight), 0);
  let roll = random() * total;
  for (const item of items) {
    roll -= Math.max(0, item.weight);
    if (roll < 0) return item;
  }
  return items.at(-1)!;
}

/** ACS3-HMAC-SHA256 as reference §6.4 describes it, computed independently of the client library. */
function acs3Signature(method: string, url: URL, headers: http.IncomingHttpHeaders, signedHeaders: string[], payloadHash: string, secret: string): string {
  const encode = (s: string) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  const query = [...url.searchParams.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, v]) => `${k}=${encode(v)}`).join('&');
  const canonicalHeaders = signedHeaders.map((name) => `${name}:${String(headers[name] ?? '').trim()}\n`).join('');
  const canonicalRequest = [method, url.pathname, query, canonicalHeaders, signedHeaders.join(';'), payloadHash].join('\n');
  const stringToSign = `ACS3-HMAC-SHA256\n${createHash('sha256').update(canonicalRequest).digest('hex')}`;
  return createHmac('sha256', secret).update(stringToSign).digest('hex');
}
