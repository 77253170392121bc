// GET /metrics: Prometheus text from this process's registry (server/metrics.ts). Behind API_TOKEN
// when it is set, like /api/*: pass counts and error codes are not for everyone who can reach the port.
import type { FastifyPluginAsync } from 'fastify';
import { registry } from '../../metrics.ts';
import { requireBearerToken } from '../plugins/bearer-token.ts';

export const metricsRoutes: FastifyPluginAsync<{ apiToken: string | undefined }> = async (app, { apiToken }) => {
  requireBearerToken(app, apiToken);
  app.get('/metrics', async (_request, reply) => {
    const text = await registry.metrics();
    return reply.header('Content-Type', registry.contentType).header('Cache-Control', 'no-store').send(text);
  });
};
