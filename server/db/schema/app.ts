// autofollow's own tables, created by its migrations (drizzle/). Times here are UTC (the pool runs
// with timezone 'Z' and SQL uses UTC_TIMESTAMP), so processes in any zone agree on lease expiry.
import { bigint, boolean, datetime, index, int, mysqlTable, primaryKey, text, tinyint, uniqueIndex, varchar } from 'drizzle-orm/mysql-core';

/** One row per task ever claimed; owner NULL means free (DESIGN §3.8). */
export const taskLeases = mysqlTable('af_task_leases', {
  taskId: int('task_id', { unsigned: true }).primaryKey(),
  owner: varchar('owner', { length: 128 }),
  acquiredAt: datetime('acquired_at', { mode: 'date', fsp: 3 }),
  renewedAt: datetime('renewed_at', { mode: 'date', fsp: 3 }),
  expiresAt: datetime('expires_at', { mode: 'date', fsp: 3 }),
  /** When a run last looked at the task, whether or not it changed anything (a run row is kept only when it did). */
  lastCheckedAt: datetime('last_checked_at', { mode: 'date', fsp: 3 }),
});

/** Run history: one row per processing of a task, with per-step counts, durations and errors. */
export const taskRuns = mysqlTable(
  'af_task_runs',
  {
    id: bigint('id', { mode: 'number', unsigned: true }).autoincrement().primaryKey(),
    taskId: int('task_id', { unsigned: true }).notNull(),
    owner: varchar('owner', { length: 128 }).notNull(),
    trigger: varchar('trigger', { length: 32 }).notNull(),
    startedAt: datetime('started_at', { mode: 'date', fsp: 3 }).notNull(),
    finishedAt: datetime('finished_at', { mode: 'date', fsp: 3 }),
    /** running | ok | partial | failed | lease-lost */
    outcome: varchar('outcome', { length: 16 }).notNull(),
    stageBefore: tinyint('stage_before').notNull(),
    stageAfter: tinyint('stage_after'),
    /** JSON text: StepReport[] (see pipeline/step-report.ts). */
    steps: text('steps'),
    errorCode: varchar('error_code', { length: 128 }),
    errorMessage: text('error_message'),
  },
  (t) => [index('idx_af_runs_task').on(t.taskId, t.startedAt)],
);

/**
 * What autofollow knows about a lead that the CRM's columns cannot hold: why a call failed (for the
 * remark), whether its analysis failed (so an operator can re-run it, DESIGN §3.5), whether a complete
 * listing of its job group lacked it (DESIGN §3.6), and the last API error that touched it.
 */
export const leadStates = mysqlTable(
  'af_lead_states',
  {
    leadRowId: int('lead_row_id', { unsigned: true }).primaryKey(), // leads_task_list.id
    taskId: int('task_id', { unsigned: true }).notNull(),
    /** Last job status the API reported, final or not (call_status only ever holds final ones). */
    lastJobStatus: varchar('last_job_status', { length: 32 }),
    jobFailureReason: varchar('job_failure_reason', { length: 64 }),
    lastTaskStatus: varchar('last_task_status', { length: 64 }),
    /** ok | failed: the outcome of the last LLM analysis of this lead's conversation. */
    analysisStatus: varchar('analysis_status', { length: 16 }),
    analysisError: text('analysis_error'),
    analysedAt: datetime('analysed_at', { mode: 'date', fsp: 3 }),
    /** The API's usage (prompt and completion tokens) of every analysis of this lead, its re-runs added. */
    inputTokens: int('input_tokens', { unsigned: true }),
    outputTokens: int('output_tokens', { unsigned: true }),
    notInGroupSince: datetime('not_in_group_since', { mode: 'date', fsp: 3 }),
    /**
     * call_conversation was written (writeCallResults, its only writer, sets both together): progress
     * counts withConversation here, from an index, instead of reading every lead row for the text.
     */
    hasConversation: boolean('has_conversation').notNull().default(false),
    apiErrorCode: varchar('api_error_code', { length: 128 }),
    apiErrorMessage: text('api_error_message'),
    apiErrorAt: datetime('api_error_at', { mode: 'date', fsp: 3 }),
    /** When DescribeJob was asked once more for a conversation that never came with ListJobs (DESIGN §3.4). */
    conversationCheckedAt: datetime('conversation_checked_at', { mode: 'date', fsp: 3 }),
    /** 人工跟进 (DESIGN §3.12): who wrote this lead's follow record by hand, for which cause, when. */
    closedBy: varchar('closed_by', { length: 128 }),
    closedCause: varchar('closed_cause', { length: 32 }),
    closedAt: datetime('closed_at', { mode: 'date', fsp: 3 }),
  },
  (t) => [
    // A task's leads missing from their job group: one narrow range (task, mark IS NOT NULL). Its failed
    // analyses are the range ('failed', task) of idx_af_lead_states_analysis.
    index('idx_af_lead_states_task').on(t.taskId, t.notInGroupSince, t.analysisStatus),
    // A task's leads with a conversation: one narrow range (task, has_conversation = 1), index only.
    index('idx_af_lead_states_conversation').on(t.taskId, t.hasConversation),
    // /stuck counts failed analyses of every task without reading lead rows (covering: task, time).
    index('idx_af_lead_states_analysis').on(t.analysisStatus, t.taskId, t.analysedAt),
    // /stuck finds leads missing from their job group at every stage (they were never called).
    index('idx_af_lead_states_not_in_group').on(t.notInGroupSince, t.taskId),
    // /stuck finds the leads of stage 2-3 tasks that carry an API error (api_error_code IS NOT NULL)
    // and those whose job was cancelled without one (api_error_code IS NULL, last_job_status
    // 'Cancelled'): both are narrow ranges here, so no other lead row or state is read.
    index('idx_af_lead_states_attention').on(t.taskId, t.apiErrorCode, t.lastJobStatus),
    // /stuck finds cancelled jobs at every stage (they no longer hold a task at stage 2, DESIGN §3.1):
    // a narrow range here instead of every task's states.
    index('idx_af_lead_states_job_status').on(t.lastJobStatus, t.taskId),
  ],
);

/** Who did what from the dashboard, when, and how it ended (issue 3): shown on the task page. */
export const auditLog = mysqlTable(
  'af_audit_log',
  {
    id: bigint('id', { mode: 'number', unsigned: true }).autoincrement().primaryKey(),
    at: datetime('at', { mode: 'date', fsp: 3 }).notNull(),
    /** The operator's name as given at login (one shared password, so the name says who). */
    actor: varchar('actor', { length: 128 }).notNull(),
    /** process | resync | retry-analysis | break-lease | pause | resume | pause-scheduler | resume-scheduler | run-pass | reveal-phone | login */
    action: varchar('action', { length: 48 }).notNull(),
    taskId: int('task_id', { unsigned: true }),
    leadRowId: int('lead_row_id', { unsigned: true }),
    /** ok | refused | failed */
    outcome: varchar('outcome', { length: 16 }).notNull(),
    detail: text('detail'),
  },
  (t) => [index('idx_af_audit_task').on(t.taskId, t.at), index('idx_af_audit_at').on(t.at)],
);

/** Tasks an operator paused: passes and "process now" leave them alone until resumed. */
export const taskPauses = mysqlTable('af_task_pauses', {
  taskId: int('task_id', { unsigned: true }).primaryKey(),
  pausedAt: datetime('paused_at', { mode: 'date', fsp: 3 }).notNull(),
  pausedBy: varchar('paused_by', { length: 128 }).notNull(),
});

/** Switches shared by every running copy, e.g. scheduler_paused. */
export const settings = mysqlTable('af_settings', {
  name: varchar('name', { length: 64 }).primaryKey(),
  value: text('value').notNull(),
  updatedAt: datetime('updated_at', { mode: 'date', fsp: 3 }).notNull(),
  updatedBy: varchar('updated_by', { length: 128 }).notNull(),
});

/** One row per running copy of the service (owner = PipelineDeps.owner), kept fresh by a heartbeat. */
export const processes = mysqlTable('af_processes', {
  owner: varchar('owner', { length: 128 }).primaryKey(),
  startedAt: datetime('started_at', { mode: 'date', fsp: 3 }).notNull(),
  heartbeatAt: datetime('heartbeat_at', { mode: 'date', fsp: 3 }).notNull(),
  lastPassStartedAt: datetime('last_pass_started_at', { mode: 'date', fsp: 3 }),
  lastPassFinishedAt: datetime('last_pass_finished_at', { mode: 'date', fsp: 3 }),
  lastPassMs: int('last_pass_ms', { unsigned: true }),
  lastPassProcessed: int('last_pass_processed', { unsigned: true }),
  lastPassError: text('last_pass_error'),
  nextPassAt: datetime('next_pass_at', { mode: 'date', fsp: 3 }),
});

/**
 * The jobs a lead followed before a newer job for its phone appeared in its task's job group
 * (DESIGN §3.6 "re-issued jobs"): the lead now follows the new one; diagnose still shows the old.
 */
export const supersededJobs = mysqlTable(
  'af_superseded_jobs',
  {
    leadRowId: int('lead_row_id', { unsigned: true }).notNull(),
    jobId: varchar('job_id', { length: 64 }).notNull(),
    taskId: int('task_id', { unsigned: true }).notNull(),
    /** The job's last status as autofollow knew it (Cancelled, Executing...), or null. */
    lastJobStatus: varchar('last_job_status', { length: 32 }),
    supersededBy: varchar('superseded_by', { length: 64 }).notNull(),
    supersededAt: datetime('superseded_at', { mode: 'date', fsp: 3 }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.leadRowId, t.jobId] }), index('idx_af_superseded_task').on(t.taskId)],
);

/**
 * The last complete listing of each task's job group (DESIGN §3.6): its TotalCount. A pass whose
 * first page reports the same total, with every lead already holding a job, has nothing new to list.
 */
export const jobGroupListings = mysqlTable('af_job_group_listings', {
  taskId: int('task_id', { unsigned: true }).primaryKey(),
  jobGroupId: varchar('job_group_id', { length: 64 }).notNull(),
  totalCount: int('total_count', { unsigned: true }).notNull(),
  listedAt: datetime('listed_at', { mode: 'date', fsp: 3 }).notNull(),
});

/**
 * Named dashboard accounts (DESIGN §3.13). password_hash is "scrypt$N$r$p$salt$hash" (base64url),
 * a per-account salt, so two accounts with one password have different hashes.
 */
export const operators = mysqlTable(
  'af_operators',
  {
    id: int('id', { unsigned: true }).autoincrement().primaryKey(),
    login: varchar('login', { length: 64 }).notNull(),
    displayName: varchar('display_name', { length: 128 }).notNull(),
    /** viewer | operator | admin */
    role: varchar('role', { length: 16 }).notNull(),
    passwordHash: varchar('password_hash', { length: 255 }).notNull(),
    disabledAt: datetime('disabled_at', { mode: 'date', fsp: 3 }),
    createdAt: datetime('created_at', { mode: 'date', fsp: 3 }).notNull(),
    lastLoginAt: datetime('last_login_at', { mode: 'date', fsp: 3 }),
  },
  (t) => [uniqueIndex('uq_af_operators_login').on(t.login)],
);

/**
 * Dashboard sessions. The cookie holds a random id; only its SHA-256 is stored, so a copy of this
 * table opens no session. operator_id NULL: the DASHBOARD_PASSWORD bootstrap admin (name typed at login).
 */
export const sessions = mysqlTable(
  'af_sessions',
  {
    idHash: varchar('id_hash', { length: 64 }).primaryKey(),
    operatorId: int('operator_id', { unsigned: true }),
    name: varchar('name', { length: 128 }).notNull(),
    role: varchar('role', { length: 16 }).notNull(),
    createdAt: datetime('created_at', { mode: 'date', fsp: 3 }).notNull(),
    lastSeenAt: datetime('last_seen_at', { mode: 'date', fsp: 3 }).notNull(),
    /** The absolute end; the idle end is last_seen_at + the idle limit. */
    expiresAt: datetime('expires_at', { mode: 'date', fsp: 3 }).notNull(),
    address: varchar('address', { length: 64 }).notNull(),
    userAgent: varchar('user_agent', { length: 255 }).notNull(),
  },
  (t) => [index('idx_af_sessions_operator').on(t.operatorId), index('idx_af_sessions_expires').on(t.expiresAt)],
);

/** Bearer tokens for /api and /metrics, one per client; only the SHA-256 of the token is kept. */
export const apiTokens = mysqlTable(
  'af_api_tokens',
  {
    id: int('id', { unsigned: true }).autoincrement().primaryKey(),
    name: varchar('name', { length: 64 }).notNull(),
    /** operator | viewer */
    role: varchar('role', { length: 16 }).notNull(),
    tokenHash: varchar('token_hash', { length: 64 }).notNull(),
    createdAt: datetime('created_at', { mode: 'date', fsp: 3 }).notNull(),
    createdBy: varchar('created_by', { length: 128 }).notNull(),
    revokedAt: datetime('revoked_at', { mode: 'date', fsp: 3 }),
  },
  (t) => [uniqueIndex('uq_af_api_tokens_name').on(t.name), uniqueIndex('uq_af_api_tokens_hash').on(t.tokenHash)],
);

/** Failed logins, counted per name and per address over a window, so every running copy shares the limit. */
export const loginFailures = mysqlTable(
  'af_login_failures',
  {
    id: bigint('id', { mode: 'number', unsigned: true }).autoincrement().primaryKey(),
    at: datetime('at', { mode: 'date', fsp: 3 }).notNull(),
    login: varchar('login', { length: 64 }).notNull(),
    address: varchar('address', { length: 64 }).notNull(),
  },
  (t) => [index('idx_af_login_failures_login').on(t.login, t.at), index('idx_af_login_failures_address').on(t.address, t.at)],
);

/**
 * The outbox of hot-lead messages (issue 11): one row per follow record written with
 * is_interested = 1, inserted in the same transaction as that record, so a rollback leaves none and
 * a crash after the commit loses none. `event_id` is the id receivers de-duplicate by.
 */
export const hotLeadEvents = mysqlTable(
  'af_hot_lead_events',
  {
    id: bigint('id', { mode: 'number', unsigned: true }).autoincrement().primaryKey(),
    eventId: varchar('event_id', { length: 36 }).notNull(),
    taskId: int('task_id', { unsigned: true }).notNull(),
    leadRowId: int('lead_row_id', { unsigned: true }).notNull(),
    followId: int('follow_id', { unsigned: true }).notNull(),
    createdAt: datetime('created_at', { mode: 'date', fsp: 3 }).notNull(),
    /** 0 until the sender has made this event's one delivery row per configured channel. */
    fannedOut: tinyint('fanned_out').notNull().default(0),
  },
  (t) => [uniqueIndex('uq_af_hot_lead_event').on(t.eventId), index('idx_af_hot_lead_fan_out').on(t.fannedOut, t.id)],
);

/**
 * One row per hot lead and channel: pending -> sent, or dead after the retries ran out (an operator
 * may resend). A digest sends many rows in one message; they share its `batch_id`.
 */
export const deliveries = mysqlTable(
  'af_deliveries',
  {
    id: bigint('id', { mode: 'number', unsigned: true }).autoincrement().primaryKey(),
    hotLeadId: bigint('hot_lead_id', { mode: 'number', unsigned: true }).notNull(),
    /** dingtalk | wecom | webhook */
    channel: varchar('channel', { length: 16 }).notNull(),
    /** pending | sent | dead */
    state: varchar('state', { length: 8 }).notNull(),
    attempts: int('attempts', { unsigned: true }).notNull().default(0),
    nextAttemptAt: datetime('next_attempt_at', { mode: 'date', fsp: 3 }).notNull(),
    batchId: varchar('batch_id', { length: 36 }),
    lastError: text('last_error'),
    createdAt: datetime('created_at', { mode: 'date', fsp: 3 }).notNull(),
    sentAt: datetime('sent_at', { mode: 'date', fsp: 3 }),
  },
  (t) => [
    uniqueIndex('uq_af_delivery').on(t.hotLeadId, t.channel),
    index('idx_af_delivery_due').on(t.channel, t.state, t.nextAttemptAt),
    index('idx_af_delivery_recent').on(t.channel, t.id),
  ],
);

/**
 * Who sends for a channel now (one copy at a time, like a task lease) and the channel's messages of
 * the last minute, so every copy respects a robot's rate limit together.
 */
export const channelLeases = mysqlTable('af_channel_leases', {
  channel: varchar('channel', { length: 16 }).primaryKey(),
  owner: varchar('owner', { length: 128 }),
  expiresAt: datetime('expires_at', { mode: 'date', fsp: 3 }),
});

export const channelSends = mysqlTable(
  'af_channel_sends',
  {
    id: bigint('id', { mode: 'number', unsigned: true }).autoincrement().primaryKey(),
    channel: varchar('channel', { length: 16 }).notNull(),
    sentAt: datetime('sent_at', { mode: 'date', fsp: 3 }).notNull(),
  },
  (t) => [index('idx_af_channel_sends').on(t.channel, t.sentAt)],
);

/**
 * Counts per task and hour (UTC) for the trend charts (issue 11): calls that reached a final status
 * and follow records written, and the LLM's analyses with their tokens (issue 12: the cost per task
 * and day), added in the same transactions as those writes. The CRM's tables have
 * no time of a call's end, and counting them from the lead rows would scan every lead of a task.
 */
export const taskActivity = mysqlTable(
  'af_task_activity',
  {
    taskId: int('task_id', { unsigned: true }).notNull(),
    hour: datetime('hour', { mode: 'date' }).notNull(),
    callsFinished: int('calls_finished', { unsigned: true }).notNull().default(0),
    followsWritten: int('follows_written', { unsigned: true }).notNull().default(0),
    /** LLM analyses answered this hour, first ones and re-runs (issue 12): what the LLM was paid for. */
    analyses: int('analyses', { unsigned: true }).notNull().default(0),
    inputTokens: bigint('input_tokens', { mode: 'number', unsigned: true }).notNull().default(0),
    outputTokens: bigint('output_tokens', { mode: 'number', unsigned: true }).notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.taskId, t.hour] }), index('idx_af_task_activity_hour').on(t.hour, t.taskId)],
);

/**
 * Launches and re-calls (issue 10): one row per attempt to assign a task's calls to Outbound Bot,
 * with its progress. AssignJobs and CreateJobGroup are not idempotent (reference §5.4), so the row
 * names the job group it creates before asking (found again by that name after a lost answer), and
 * every attempt reconciles with a listing of the group before it sends anything.
 */
export const launches = mysqlTable(
  'af_launches',
  {
    id: bigint('id', { mode: 'number', unsigned: true }).autoincrement().primaryKey(),
    taskId: int('task_id', { unsigned: true }).notNull(),
    /** launch | recall */
    kind: varchar('kind', { length: 16 }).notNull(),
    /** running | done | failed */
    status: varchar('status', { length: 16 }).notNull(),
    /** The name a group created by this attempt gets; set before CreateJobGroup is sent. */
    jobGroupName: varchar('job_group_name', { length: 160 }),
    groupRequestedAt: datetime('group_requested_at', { mode: 'date', fsp: 3 }),
    jobGroupId: varchar('job_group_id', { length: 64 }),
    scriptId: varchar('script_id', { length: 64 }),
    /** JSON array of calling numbers (empty: the instance's). */
    callingNumbers: text('calling_numbers'),
    /** Leads this attempt found without a job in the group (after reconciling). */
    leadsToCall: int('leads_to_call', { unsigned: true }).notNull().default(0),
    /** Leads the listing showed already had their job (from an earlier, interrupted attempt). */
    leadsFound: int('leads_found', { unsigned: true }).notNull().default(0),
    batchesSent: int('batches_sent', { unsigned: true }).notNull().default(0),
    jobsCreated: int('jobs_created', { unsigned: true }).notNull().default(0),
    startedBy: varchar('started_by', { length: 128 }).notNull(),
    startedAt: datetime('started_at', { mode: 'date', fsp: 3 }).notNull(),
    updatedAt: datetime('updated_at', { mode: 'date', fsp: 3 }).notNull(),
    finishedAt: datetime('finished_at', { mode: 'date', fsp: 3 }),
    errorCode: varchar('error_code', { length: 128 }),
    errorMessage: text('error_message'),
  },
  (t) => [index('idx_af_launches_task').on(t.taskId, t.startedAt)],
);
