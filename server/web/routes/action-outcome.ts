// What every dashboard action answers and records: one outcome sentence (an i18n key with its
// values, so the operator reads it in their language and the audit log keeps it in English), one
// audit row, and the HTTP status that goes with the outcome.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { writeAudit, type AuditOutcome } from '../../audit-log.ts';
import type { Db } from '../../db/client.ts';
import { translator } from '../i18n/index.ts';
import { isHtmx } from '../dashboard.ts';

export interface ActionMessage {
  outcome: AuditOutcome;
  key: string;
  vars: Record<string, string | number>;
  /** Set when a refusal or failure has its own status (503 while shutting down). */
  status?: number;
}

export const ok = (key: string, vars: ActionMessage['vars']): ActionMessage => ({ outcome: 'ok', key, vars });
export const refused = (key: string, vars: ActionMessage['vars'], status = 409): ActionMessage => ({ outcome: 'refused', key, vars, status });
export const failed = (key: string, vars: ActionMessage['vars'], status = 500): ActionMessage => ({ outcome: 'failed', key, vars, status });

const english = translator('en');

/** One audit row per action, the sentence in English as its detail. */
export async function auditAction(
  db: Db,
  entry: { actor: string; action: string; taskId: number | null; leadRowId?: number | null },
  message: ActionMessage,
): Promise<void> {
  await writeAudit(db, {
    actor: entry.actor,
    action: entry.action,
    taskId: entry.taskId,
    leadRowId: entry.leadRowId ?? null,
    outcome: message.outcome,
    detail: english(message.key, message.vars),
  });
}

/**
 * Runs an action, turning an unexpected error into a 'failed' outcome (logged, audited and shown)
 * rather than a bare 500: the operator must learn that the click did not work.
 */
export async function attempt(request: FastifyRequest, what: string, action: () => Promise<ActionMessage>): Promise<ActionMessage> {
  try {
    return await action();
  } catch (error) {
    request.log.error({ err: error }, `dashboard action ${what} failed: ${(error as Error).message}`);
    return failed('msg.failed', { error: rootMessage(error) });
  }
}

/** The driver's own words ("Lock wait timeout exceeded"), not drizzle's wrapper quoting the SQL. */
function rootMessage(error: unknown): string {
  let root = error;
  while (root instanceof Error && root.cause instanceof Error) root = root.cause;
  return root instanceof Error ? root.message : String(root);
}

/**
 * htmx gets the fragment (with the sentence in it); a plain form post, without JavaScript, gets a
 * small page with the sentence and a way back.
 */
export function answerAction(
  request: FastifyRequest,
  reply: FastifyReply,
  message: ActionMessage,
  fragment: { template: string; data: Record<string, unknown> },
  back: string,
) {
  reply.code(message.status ?? 200).header('Cache-Control', 'no-store').header('Vary', 'HX-Request');
  if (isHtmx(request)) return reply.view(fragment.template, { ...fragment.data, message });
  return reply.view('pages/action-result', { message, back });
}
