// What operations run on, and the one wrapper every command goes through: role check, the command's
// own rules, one audit row for whatever happened (ok, refused or failed). Only operations see
// PipelineDeps; the web layer gets the Operations object and read-only deps (ReadDeps).
import { writeAudit, type AuditOutcome } from '../audit-log.ts';
import { roleAllows } from '../access/roles.ts';
import type { PipelineDeps } from '../pipeline/deps.ts';
import type { Scheduler } from '../scheduler/scheduler.ts';
import { roleFor, type Command } from './command-roles.ts';
import { describeOutcome, failed, refused, type Actor, type Outcome } from './outcome.ts';

export interface OperationsContext {
  pipeline: PipelineDeps;
  scheduler: Scheduler;
}

/** What pages read with: the database, settings, clock and this process's name; no API client. */
export type ReadDeps = Pick<PipelineDeps, 'db' | 'config' | 'clock' | 'owner' | 'log'>;

/** What the audit and the error log need: enough for commands that touch only the database. */
export type AuditContext = { pipeline: Pick<PipelineDeps, 'db' | 'log'> };

export interface Target {
  taskId?: number | null;
  leadRowId?: number | null;
}

/**
 * Runs a command for an actor: refuses what the role does not allow, turns an unexpected error into
 * a 'failed' outcome (logged), and writes the single audit row. `audit: false` is for a command whose
 * work goes on in the background and audits its own end (retry-lead-analysis).
 */
export async function runCommand<D>(
  context: AuditContext,
  actor: Actor,
  command: Command,
  target: Target,
  body: () => Promise<Outcome<D>>,
  options: { audit?: (outcome: Outcome<D>) => boolean } = {},
): Promise<Outcome<D>> {
  let outcome: Outcome<D>;
  if (!roleAllows(actor.role, roleFor(command))) {
    outcome = refused('forbidden', { role: actor.role, needs: roleFor(command) });
  } else {
    try {
      outcome = await body();
    } catch (error) {
      context.pipeline.log.error({ err: error, command, ...target }, `${command} by ${actor.name} failed: ${(error as Error).message}`);
      outcome = failed(rootMessage(error));
    }
  }
  if (options.audit?.(outcome) ?? true) await audit(context, actor, command, target, outcome);
  return outcome;
}

export async function audit(context: AuditContext, actor: Actor, command: Command, target: Target, outcome: Outcome<unknown>): Promise<void> {
  await writeAudit(context.pipeline.db, {
    actor: actor.name,
    action: command,
    taskId: target.taskId ?? null,
    leadRowId: target.leadRowId ?? null,
    outcome: auditOutcomeOf(outcome),
    detail: `${describeOutcome(outcome)} via ${actor.via}`,
  });
}

function auditOutcomeOf(outcome: Outcome<unknown>): AuditOutcome {
  return outcome.status === 'refused' ? 'refused' : outcome.status === 'failed' ? 'failed' : 'ok';
}

/** The driver's own words ("Lock wait timeout exceeded"), not drizzle's wrapper quoting the SQL. */
export function rootMessage(error: unknown): string {
  let root = error;
  while (root instanceof Error && root.cause instanceof Error) root = root.cause;
  return root instanceof Error ? root.message : String(root);
}
