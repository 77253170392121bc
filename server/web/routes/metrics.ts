// GET /metrics: Prometheus text from this process's registry (server/metrics.ts). Behind a bearer
// token whenever /api is (a viewer token is enough): pass counts and error codes are not for
// everyone who can reach the port.
import type { FastifyPluginAsync } from 'fastify';
import { registry } from '../../metrics.ts';
import type { AccessOperations } from '../../operations/access-operations.ts';
import { requireBearerToken } from '../plugins/bearer-token.ts';

export const metricsRoutes: FastifyPluginAsync<{ access: AccessOperations }> = async (app, { access }) => {
  requireBearerToken(app, access);
  app.get('/metrics', { config: { role: 'viewer' } }, async (_request, reply) => {
    const text = await registry.metrics();
    return reply.header('Content-Type', registry.contentType).header('Cache-Control', 'no-store').send(text);
  });
};
