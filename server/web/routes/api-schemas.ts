// JSON Schemas of /api's routes: Fastify validates the path's task id with them, serializes the
// answers with them, and @fastify/swagger turns them into GET /api/openapi.json (DESIGN §4).
// Response schemas leave additionalProperties open: Fastify's serializer drops any property a
// schema does not allow, and an answer must never lose a field because the document is terse.
import { MAX_CLOSE_LEAD_IDS, MAX_CLOSE_REMARK_CHARS } from '../../pipeline/close-leads-input.ts';
import { CLOSE_CAUSES } from '../../pipeline/lead-causes.ts';
import { MAX_TASK_ID, TASK_ID_PATTERN } from '../../task-id.ts';

/** The security scheme's name in the document's components. */
export const BEARER_SCHEME = 'bearerToken';

export const taskIdParams = {
  type: 'object',
  required: ['id'],
  properties: {
    id: {
      type: 'string',
      pattern: TASK_ID_PATTERN,
      description: `call_tasks.id: a positive whole number up to ${MAX_TASK_ID}`,
      examples: ['42'],
    },
  },
} as const;

/**
 * Every error answer of /api (400, 401, 403, 404, 409, 503) carries `error`, one English sentence.
 * A command the operations refused adds its reason code and facts.
 */
export const apiErrorSchema = {
  $id: 'ApiError',
  type: 'object',
  description:
    'An error: `error` is a sentence for people and logs. When an operation refused the command, ' +
    '`reason` is a stable code (not-found, bad-input, paused, not-eligible, no-job-group, forbidden, shutting-down, …) ' +
    'and `facts` its details; scripts should branch on `reason`, never on the sentence.',
  required: ['error'],
  properties: {
    error: { type: 'string', description: 'What went wrong and, where there is one, the remedy.' },
    taskId: { type: 'integer' },
    status: { type: 'string', enum: ['refused', 'failed'] },
    reason: { type: 'string', description: 'The refusal code.' },
    facts: { type: 'object', additionalProperties: true, description: 'The refusal’s details, e.g. { problem } for bad-input.' },
  },
  additionalProperties: true,
} as const;

/** An error answer, described for one status of one route. */
export const apiError = (description: string) => ({ description, $ref: 'ApiError#' }) as const;

/** The answers every /api route may give before it runs: a missing or wrong token, or a role too weak. */
export const guardResponses = {
  401: apiError('No token, or a wrong one (`WWW-Authenticate: Bearer`). Only when API_TOKEN is set or a token exists.'),
  403: apiError('The token’s role does not allow this route.'),
} as const;

export const badTaskIdResponse = {
  400: apiError('The task id is not a positive whole number: `{ "error": "task id must be a positive whole number, got \\"…\\"" }`.'),
} as const;

export const processAccepted = {
  type: 'object',
  description:
    'Processing has started (`{ taskId, accepted: true }`), or another process already holds the task ' +
    '(`{ taskId, status: "already-running", owner }`): either way the work is under way.',
  properties: {
    taskId: { type: 'integer' },
    accepted: { type: 'boolean', enum: [true] },
    status: { type: 'string', enum: ['already-running'] },
    owner: { type: 'string', description: 'The process holding the task’s lease (host:pid:id).' },
  },
  additionalProperties: true,
} as const;

/**
 * The close-leads body, for the document only: close-leads-input.ts (zod) checks it, so a wrong
 * value is answered with the same sentence from /api, the CLI and the dashboard, and audited.
 */
export const closeLeadsBody = {
  type: 'object',
  description: 'A person’s decision (人工跟进) about the leads autofollow cannot finish by itself. Same fields as `autofollow close-leads`.',
  required: ['cause', 'remark', 'interest'],
  properties: {
    cause: {
      type: 'string',
      enum: [...CLOSE_CAUSES],
      description:
        'Which stuck leads: `cancelled` (Outbound Bot cancelled the job), `not-in-group` (never in the job group), ' +
        '`no-conversation` (call succeeded, the conversation never arrived).',
    },
    remark: {
      type: 'string',
      minLength: 1,
      maxLength: MAX_CLOSE_REMARK_CHARS,
      description: 'What the person decided, written into each follow record (leads_remark); trimmed.',
    },
    interest: {
      description: 'is_interested of each closed lead: 0, 1 or 2; the strings "0", "1", "2" are accepted too.',
      anyOf: [
        { type: 'integer', enum: [0, 1, 2] },
        { type: 'string', enum: ['0', '1', '2'] },
      ],
    },
    nextFollowTime: {
      type: ['string', 'null'],
      description: '"YYYY-MM-DD HH:mm:ss" in the CRM’s time zone (TZ), in the future; null, empty or absent for none.',
      examples: ['2026-06-01 10:00:00'],
    },
    leadIds: {
      type: 'array',
      maxItems: MAX_CLOSE_LEAD_IDS,
      description: 'Only these lead rows (leads_task_list.id); absent: every lead of the cause in the task. Leads not of the cause are skipped.',
      items: {
        anyOf: [
          { type: 'integer', minimum: 1, maximum: MAX_TASK_ID },
          { type: 'string', pattern: TASK_ID_PATTERN },
        ],
      },
    },
  },
} as const;

export const closeLeadsDone = {
  type: 'object',
  description: 'The leads closed with a follow record, and how many named or matching leads were skipped (already followed, or no longer of the cause).',
  properties: {
    taskId: { type: 'integer' },
    cause: { type: 'string', enum: [...CLOSE_CAUSES] },
    closed: { type: 'integer' },
    skipped: { type: 'integer' },
    closedIds: { type: 'array', items: { type: 'integer' }, description: 'The lead rows closed by this request.' },
  },
  additionalProperties: true,
} as const;

const looseObject = (description: string) => ({ type: 'object', description, additionalProperties: true }) as const;

/** DESIGN §4 "Diagnose JSON": the documented top-level fields; more may come, nested ones stay loose. */
export const diagnosis = {
  type: 'object',
  description: 'Why a task is or is not progressing; the same JSON as `autofollow diagnose <id> --json`.',
  properties: {
    task: {
      type: 'object',
      properties: {
        id: { type: 'integer' }, name: { type: 'string' }, taskType: { type: 'integer', description: 'The stage, 1-4.' },
        stageName: { type: 'string' }, jobGroupId: { type: ['string', 'null'] },
      },
      additionalProperties: true,
    },
    eligible: { type: 'boolean', description: 'Whether the next pass (or "process now") would process it.' },
    reasons: { type: 'array', items: { type: 'string' }, description: 'English sentences, for scripts: the reasonCodes rendered, one for one and in the same order.' },
    stats: looseObject('Counts of leads: total, called, withStatus, succeeded, failed, withConversation, withFollow, withInterest.'),
    progress: looseObject('Every count of the task’s progress.'),
    leadReasons: looseObject('How many leads are held up by each reason code.'),
    stuckWaitingForConversation: { type: 'integer' },
    blockedLeads: { type: 'array', items: looseObject('A lead that is not progressing: row id, masked phone, job, reason.') },
    reasonCodes: { type: 'array', items: looseObject('A reason as a code with its facts, e.g. { code: "not-in-job-group", count, leadIds } or { code: "lease-held", owner, until }.') },
    supersededJobs: { type: 'array', items: looseObject('A job a lead followed before a newer job for its phone appeared.') },
    lease: { type: ['object', 'null'], additionalProperties: true, description: '{ owner, acquiredAt, expiresAt, expired }, or null.' },
    lastRuns: { type: 'array', items: looseObject('A recent run: trigger, times, outcome, stages, steps.') },
  },
  additionalProperties: true,
} as const;

/** The launch and recall bodies, for the document only: launch-input.ts checks them (issue 10). */
export function launchBody(command: 'launch' | 'recall') {
  return {
    type: 'object',
    description: 'Every field is optional; the defaults come from OUTBOUNDBOT_SCRIPT_ID, OUTBOUNDBOT_CALLING_NUMBERS and OUTBOUNDBOT_WORKING_HOURS.',
    properties: {
      scriptId: { type: 'string', description: 'The script the job group runs.' },
      callingNumbers: { type: 'array', items: { type: 'string' }, description: 'Calling numbers; empty: every number bound to the instance.' },
      workingHours: { type: 'string', description: 'When it may call: `HH:mm-HH:mm` windows, comma-separated.', example: '09:00-12:00,13:30-20:00' },
      maxAttemptsPerDay: { type: 'integer', minimum: 1, maximum: 10 },
      minAttemptInterval: { type: 'integer', minimum: 1, maximum: 1440, description: 'Minutes between two attempts.' },
      ...(command === 'recall'
        ? {
            causes: { type: 'array', items: { type: 'string', enum: ['cancelled', 'not-in-group', 'failed'] }, description: 'Which leads to call again (default: all three).' },
            leadIds: { type: 'array', items: { type: 'integer', minimum: 1 }, description: 'Only these lead row ids.' },
          }
        : {}),
    },
    additionalProperties: false,
  } as const;
}

export const launchAccepted = {
  type: 'object',
  description: 'The command started in the background (`{ taskId, accepted: true, result }`).',
  properties: { taskId: { type: 'integer' }, accepted: { type: 'boolean', enum: [true] }, result: { type: 'string' } },
  additionalProperties: true,
} as const;
