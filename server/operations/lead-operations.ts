// The per-lead commands: reveal one phone number (audited; the number itself is never written to
// the audit log or a log line), retry one lead's failed analysis, and close leads the pipeline
// cannot finish by a person's decision (人工跟进, close-leads.ts).
import { writeAudit, type AuditOutcome } from '../audit-log.ts';
import { readLead, type LeadListRow } from '../dashboard/lead-list.ts';
import { readLease } from '../pipeline/leases.ts';
import { retryFailedAnalyses, type RetryAnalysisResult } from '../pipeline/retry-analysis.ts';
import { readTaskPause } from '../pipeline/task-pauses.ts';
import { closeLeadsOperation } from './close-leads.ts';
import { runCommand, type OperationsContext } from './context.ts';
import { done, refused, started, type Actor, type Outcome } from './outcome.ts';

/** A started retry: `settled` resolves with its result once its audit row is written. */
export interface LeadRetry {
  lead: LeadListRow;
  settled: Promise<RetryAnalysisResult | Error>;
}

export type LeadOperations = ReturnType<typeof leadOperations>;

export function leadOperations(context: OperationsContext) {
  const { pipeline, scheduler } = context;
  const findLead = (taskId: number, leadRowId: number) => readLead(pipeline.db, taskId, leadRowId, pipeline.config.timeZone);

  return {
    /** 人工跟进: one lead, or every lead of a cause in the task (close-leads.ts). */
    close: (actor: Actor, taskId: number, raw: unknown) => closeLeadsOperation(context, actor, taskId, raw),

    /** The lead with its full number, for the one answer that shows it. */
    revealPhone(actor: Actor, taskId: number, leadRowId: number): Promise<Outcome<LeadListRow>> {
      return runCommand(context, actor, 'reveal-phone', { taskId, leadRowId }, async () => {
        const lead = await findLead(taskId, leadRowId);
        return lead ? done('phone-revealed', {}, lead) : refused('not-found', { id: leadRowId, taskId });
      });
    },

    /**
     * Starts the retry of one lead's failed analysis. Refusals are audited at once; a started retry
     * audits its own end (with its counts) when the background work finishes.
     */
    retryAnalysis(actor: Actor, taskId: number, leadRowId: number): Promise<Outcome<LeadRetry>> {
      return runCommand(
        context, actor, 'retry-lead-analysis', { taskId, leadRowId },
        async (): Promise<Outcome<LeadRetry>> => {
          const lead = await findLead(taskId, leadRowId);
          if (!lead) return refused('not-found', { id: leadRowId, taskId });
          if (lead.analysisStatus !== 'failed') return refused('analysis-not-failed', { id: leadRowId });
          const lease = await readLease(pipeline.db, taskId);
          if (lease && !lease.expired) return refused('busy', { id: taskId, owner: lease.owner, since: lease.acquiredAt });
          const pause = await readTaskPause(pipeline.db, taskId);
          if (pause) return refused('paused', { id: taskId, by: pause.pausedBy, since: pause.pausedAt });
          const settled = startRetry(actor, taskId, leadRowId);
          return settled ? started('retry-started', { id: taskId, n: 1 }, { lead, settled }) : refused('shutting-down');
        },
        { audit: (outcome) => outcome.status !== 'started' },
      );
    },
  };

  function startRetry(actor: Actor, taskId: number, leadRowId: number): Promise<RetryAnalysisResult | Error> | null {
    let settle: (value: RetryAnalysisResult | Error) => void = () => {};
    const settled = new Promise<RetryAnalysisResult | Error>((resolve) => (settle = resolve));
    const label = `retry analysis of lead ${leadRowId} of task ${taskId}`;
    const ok = scheduler.runInBackground(label, async () => {
      let outcome: RetryAnalysisResult | Error;
      try {
        outcome = await retryFailedAnalyses(pipeline, taskId, { trigger: actor.via === 'api' ? 'api' : 'dashboard', leadRowId });
      } catch (error) {
        outcome = error instanceof Error ? error : new Error(String(error));
      }
      try {
        const { outcome: audited, detail } = auditOf(outcome);
        await writeAudit(pipeline.db, { actor: actor.name, action: 'retry-lead-analysis', taskId, leadRowId, outcome: audited, detail: `${detail} via ${actor.via}` });
      } finally {
        settle(outcome);
      }
      if (outcome instanceof Error) throw outcome; // logged by the scheduler under `label`
    });
    return ok ? settled : null;
  }
}

function auditOf(outcome: RetryAnalysisResult | Error): { outcome: AuditOutcome; detail: string } {
  if (outcome instanceof Error) return { outcome: 'failed', detail: outcome.message };
  const counts = `retried ${outcome.retried}, succeeded ${outcome.succeeded}, still failed ${outcome.stillFailed}, left alone ${outcome.leftAlone}`;
  const run = outcome.runId ? ` (run ${outcome.runId})` : '';
  if (outcome.status !== 'processed') return { outcome: 'refused', detail: outcome.status };
  return { outcome: outcome.stillFailed > 0 ? 'failed' : 'ok', detail: `${counts}${run}` };
}
