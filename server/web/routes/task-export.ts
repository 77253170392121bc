// GET /tasks/:id/export?format=xlsx|csv[&phones=full]: the task's leads as a download (issue 11),
// streamed as it is written. The operation checks the role (full phones need an operator) and audits.
import { PassThrough } from 'node:stream';
import type { FastifyPluginAsync } from 'fastify';
import { CONTENT_TYPES, EXPORT_FORMATS, type ExportFormat } from '../../export/write-export.ts';
import { actorOf, type DashboardOptions } from '../dashboard.ts';
import { httpError, t, taskIdFrom } from '../http-errors.ts';
import { messageOf } from './action-outcome.ts';

type ExportRequest = { Params: { id: string }; Querystring: { format?: unknown; phones?: unknown } };

export const taskExportRoutes: FastifyPluginAsync<DashboardOptions> = async (app, options) => {
  app.get<ExportRequest>('/tasks/:id/export', async (request, reply) => {
    const taskId = taskIdFrom(reply, request.params.id);
    const { format, phones } = request.query;
    if (typeof format !== 'string' || !(EXPORT_FORMATS as readonly string[]).includes(format)) throw httpError(400, t(reply)('export.err.format'));
    if (phones !== undefined && phones !== 'full' && phones !== 'masked') throw httpError(400, t(reply)('export.err.phones'));
    const outcome = await options.operations.exports.exportTask(actorOf(request), taskId, { format: format as ExportFormat, fullPhones: phones === 'full' });
    if (outcome.status !== 'done' || !outcome.data) {
      const message = messageOf(outcome, 'task', reply.locals?.time ?? ((at: Date) => at.toISOString()));
      throw httpError(message.status, t(reply)(message.key, message.vars));
    }
    const ready = outcome.data;
    const body = new PassThrough();
    ready.write(body).catch((error: unknown) => {
      request.log.error({ err: error, taskId }, `export of task ${taskId} failed: ${(error as Error).message}`);
      body.destroy(error as Error);
    });
    const file = `${ready.taskName || `task-${taskId}`}.${format}`;
    return reply
      .header('Content-Type', CONTENT_TYPES[format as ExportFormat])
      .header('Content-Disposition', `attachment; filename="task-${taskId}.${format}"; filename*=UTF-8''${encodeURIComponent(file)}`)
      .header('Cache-Control', 'no-store')
      .send(body);
  });
};
