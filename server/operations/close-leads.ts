// The 人工跟进 command (DESIGN §3.12), one place for the CLI, /api and the dashboard: check the
// input, close the leads through the pipeline's exactly-once write, and leave one audit row that
// names the person. Callers only map the outcome to an exit code, an HTTP status or a page.
import { writeAudit } from '../audit-log.ts';
import { parseCloseLeadsInput } from '../pipeline/close-leads-input.ts';
import { closeLeads } from '../pipeline/close-leads.ts';
import type { PipelineDeps } from '../pipeline/deps.ts';

export type CloseLeadsOutcome =
  | { outcome: 'done'; cause: string; closed: number; skipped: number; closedIds: number[] }
  | { outcome: 'refused'; reason: 'bad-input' | 'not-found'; message: string };

export type CloseLeadsDeps = Pick<PipelineDeps, 'db' | 'clock' | 'config'>;

/** `raw`: the request as given (JSON body, parsed argv, form fields); checked here. */
export async function closeLeadsOperation(deps: CloseLeadsDeps, taskId: number, raw: unknown, actor: string): Promise<CloseLeadsOutcome> {
  const parsed = parseCloseLeadsInput(raw, { now: deps.clock.now(), timeZone: deps.config.timeZone });
  const audit = (outcome: 'ok' | 'refused', detail: string, leadRowId: number | null = null) =>
    writeAudit(deps.db, { actor, action: 'close-leads', taskId, leadRowId, outcome, detail });
  if (!parsed.ok) {
    await audit('refused', parsed.error);
    return { outcome: 'refused', reason: 'bad-input', message: parsed.error };
  }
  const input = parsed.value;
  const result = await closeLeads(deps, taskId, input, actor);
  if (result.status === 'not-found') {
    const message = `task ${taskId} does not exist`;
    await audit('refused', message);
    return { outcome: 'refused', reason: 'not-found', message };
  }
  // The remark stays in the follow record; the audit says who decided what, without free text.
  const ids = result.closedIds.length <= 20 ? result.closedIds.join(', ') : `${result.closedIds.slice(0, 20).join(', ')}, …`;
  await audit(
    'ok',
    `cause ${input.cause}, interest ${input.interest}${input.nextFollowTime ? `, next follow ${input.nextFollowTime}` : ''}: ` +
      `closed ${result.closed}${result.closed > 0 ? ` (lead ${ids})` : ''}, skipped ${result.skipped}`,
    input.leadIds?.length === 1 ? input.leadIds[0]! : null,
  );
  return { outcome: 'done', cause: input.cause, closed: result.closed, skipped: result.skipped, closedIds: result.closedIds };
}
