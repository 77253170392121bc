// What the pipeline needs from the Outbound Bot API, in our own words. The client (client.ts)
// maps the wire format of reference/outboundbot-api.md onto these shapes; nothing above it sees
// PascalCase fields or epoch quirks.

/** Job.Status values (reference §4.1). Only Succeeded and Failed are final for autofollow (DESIGN §3.1). */
export type JobStatus = 'Scheduling' | 'Executing' | 'Succeeded' | 'Paused' | 'Failed' | 'Cancelled' | 'Drafted' | (string & {});

/** One job of a job group as listed by ListJobsByGroup: enough to match it to a lead by phone. */
export interface GroupJob {
  jobId: string;
  /** Contact phone numbers exactly as the API gave them (not normalised). */
  phoneNumbers: string[];
  /** The job's and its contacts' ReferenceId (autofollow sends the lead row id), without blanks. */
  referenceIds: string[];
  status: JobStatus;
  failureReason: string | null;
}

export interface GroupJobPage {
  jobs: GroupJob[];
  pageNumber: number;
  pageSize: number;
  totalCount: number;
}

export interface Utterance {
  speaker: string; // "Robot" | "Contact"
  script: string;
  timestamp: number | null; // epoch ms
  action?: string | null;
}

/** One call attempt (a Task in the API's terms). */
export interface CallAttempt {
  taskId: string;
  status: string; // Task.Status, reference §4.4
  planedTime: number | null; // epoch ms (API spelling "PlanedTime")
  actualTime: number | null;
  callingNumber: string | null;
  calledNumber: string | null;
  endReason: string | null;
  conversation: Utterance[];
}

/** A job with its call attempts, as ListJobs / DescribeJob return it. */
export interface JobDetail {
  jobId: string;
  jobGroupId: string | null;
  status: JobStatus;
  failureReason: string | null;
  /** In the order the API gave them; the last one is the latest attempt. */
  tasks: CallAttempt[];
}

/** A job group as CreateJobGroup, DescribeJobGroup and ListJobGroups give it. */
export interface JobGroupSummary {
  jobGroupId: string;
  name: string;
  /** JobGroup.Status, reference §4.2: Draft, Scheduling, Executing, Completed, Paused, Failed, Cancelled, Initializing. */
  status: string;
}

/** When Outbound Bot may call (StrategyJson, reference §3.7). */
export interface CallingWindow {
  /** "HH:mm:ss" pairs. */
  workingTime: Array<{ beginTime: string; endTime: string }>;
  maxAttemptsPerDay: number;
  /** Minutes between two attempts at one job. */
  minAttemptInterval: number;
}

export interface NewJobGroup {
  name: string;
  description?: string;
  /** null: the instance's default. */
  scriptId: string | null;
  /** Empty: every number bound to the instance. */
  callingNumbers: string[];
  window: CallingWindow | null;
}

/** One job to assign: one contact (reference §3.8 JobsJson). */
export interface NewJob {
  phoneNumber: string;
  name: string | null;
  /** autofollow's lead row id: how a later listing tells whose job it is. */
  referenceId: string;
}

export interface ScriptSummary {
  scriptId: string;
  name: string;
}

export interface OutboundBotClient {
  /** One page of a job group's jobs (ListJobsByGroup, 1-based pages). */
  listJobsByGroup(jobGroupId: string, pageNumber: number, pageSize: number): Promise<GroupJobPage>;
  /** Up to 99 jobs by id with their tasks and conversations (ListJobs). Unknown ids are simply absent. */
  listJobs(jobIds: string[]): Promise<JobDetail[]>;
  /** One job with every task and its full conversation (DescribeJob). */
  describeJob(jobId: string): Promise<JobDetail>;
  /**
   * CreateJobGroup. A write: retried only when throttled (the gateway refused it before acting); any
   * other failure but a BusinessError may have created the group (reference §5.4).
   */
  createJobGroup(group: NewJobGroup): Promise<JobGroupSummary>;
  /** AssignJobs, at most ASSIGN_JOBS_MAX a call, JobsId in the order given. A write, as createJobGroup. */
  assignJobs(jobGroupId: string, jobs: NewJob[], callingNumbers: string[]): Promise<string[]>;
  /** ListJobGroups with SearchText: the groups whose name contains the text (first 100). */
  findJobGroups(searchText: string): Promise<JobGroupSummary[]>;
  describeJobGroup(jobGroupId: string): Promise<JobGroupSummary>;
  /** ListScripts: the instance's scripts (first 100). */
  listScripts(): Promise<ScriptSummary[]>;
}

/** Maximum jobs AssignJobs takes in one call (reference §3.8). */
export const ASSIGN_JOBS_MAX = 99;

/** Maximum ids ListJobs accepts in one call (reference §3.3). */
export const LIST_JOBS_MAX_IDS = 99;
