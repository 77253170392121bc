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

export interface OutboundBotClient {
  /** One page of a job group's jobs (ListJobsByGroup, 1-based pages). */
  listJobsByGroup(jobGroupId: string, pageNumber: number, pageSize: number): Promise<GroupJobPage>;
  /** Up to 99 jobs by id with their tasks and conversations (ListJobs). Unknown ids are simply absent. */
  listJobs(jobIds: string[]): Promise<JobDetail[]>;
  /** One job with every task and its full conversation (DescribeJob). */
  describeJob(jobId: string): Promise<JobDetail>;
}

/** Maximum ids ListJobs accepts in one call (reference §3.3). */
export const LIST_JOBS_MAX_IDS = 99;
