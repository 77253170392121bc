// The 人工跟进 command (DESIGN §3.12), one place for the CLI, /api and the dashboard: check the
// input, close the leads through the pipeline's exactly-once write (pipeline/close-leads.ts), and
// leave one audit row that names the person (runCommand). Callers map the outcome, nothing more.
import { parseCloseLeadsInput } from '../pipeline/close-leads-input.ts';
import { closeLeads } from '../pipeline/close-leads.ts';
import type { PipelineDeps } from '../pipeline/deps.ts';
import { runCommand } from './context.ts';
import { done, refused, type Actor, type Outcome } from './outcome.ts';

/** Only the database: closing leads never needs Outbound Bot or the LLM, so the CLI can run it anywhere. */
export interface CloseLeadsContext {
  pipeline: Pick<PipelineDeps, 'db' | 'clock' | 'config' | 'log'>;
}

export interface ClosedLeads {
  closedIds: number[];
}

/** `raw`: the request as given (JSON body, parsed argv, form fields); checked here. */
export function closeLeadsOperation(context: CloseLeadsContext, actor: Actor, taskId: number, raw: unknown): Promise<Outcome<ClosedLeads>> {
  const { pipeline } = context;
  const single = singleLeadId(raw);
  return runCommand(context, actor, 'close-leads', { taskId, leadRowId: single }, async () => {
    const parsed = parseCloseLeadsInput(raw, { now: pipeline.clock.now(), timeZone: pipeline.config.timeZone });
    if (!parsed.ok) return refused('bad-input', { problem: parsed.error });
    const input = parsed.value;
    const result = await closeLeads(pipeline, taskId, input, actor.name);
    if (result.status === 'not-found') return refused('not-found', { id: taskId });
    // The remark stays in the follow records; the audit says who decided what, without free text.
    return done(
      'leads-closed',
      { id: taskId, cause: input.cause, interest: input.interest, nextFollowTime: input.nextFollowTime, closed: result.closed, skipped: result.skipped },
      { closedIds: result.closedIds },
    );
  });
}

/** The lead the audit row names, when the request names exactly one. */
function singleLeadId(raw: unknown): number | null {
  const ids = (raw as { leadIds?: unknown } | null)?.leadIds;
  if (!Array.isArray(ids) || ids.length !== 1) return null;
  const id = Number(ids[0]);
  return Number.isInteger(id) && id > 0 ? id : null;
}
