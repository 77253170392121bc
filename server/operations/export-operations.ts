// Export of a task's leads with their outcome (issue 11). Any role may export with masked phones;
// full numbers need an operator (the same rule as the dashboard's reveal). Each export is one audit
// row naming who, which task, the format and whether phones were full; the file itself is streamed
// by the caller (route or CLI) through `write`.
import type { Writable } from 'node:stream';
import { exportRows } from '../export/export-rows.ts';
import { writeExport, type ExportFormat } from '../export/write-export.ts';
import { loadTask } from '../pipeline/find-pending-tasks.ts';
import type { PipelineDeps } from '../pipeline/deps.ts';
import { runCommand } from './context.ts';
import { done, refused, type Actor, type Outcome } from './outcome.ts';

export interface ReadyExport {
  taskName: string;
  /** Streams the file into `out` and ends it; resolves with the number of leads written. */
  write(out: Writable): Promise<number>;
}

export function exportOperations(context: { pipeline: Pick<PipelineDeps, 'db' | 'config' | 'log'> }) {
  const { db, config } = context.pipeline;
  return {
    exportTask(actor: Actor, taskId: number, request: { format: ExportFormat; fullPhones: boolean }): Promise<Outcome<ReadyExport>> {
      const command = request.fullPhones ? 'export-full-phones' : 'export';
      return runCommand(context, actor, command, { taskId }, async (): Promise<Outcome<ReadyExport>> => {
        const task = await loadTask(db, taskId);
        if (!task) return refused('not-found', { id: taskId });
        const rows = () => exportRows(db, taskId, { fullPhones: request.fullPhones, timeZone: config.timeZone });
        return done('export-ready', { format: request.format, phones: request.fullPhones ? 'full' : 'masked' }, {
          taskName: task.name,
          write: (out) => writeExport(request.format, rows(), out, task.name),
        });
      });
    },
  };
}
