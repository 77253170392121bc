// GET /metrics: Prometheus text from this process's registry (server/metrics.ts), with the gauges
// read from the database at scrape time (database-gauges.ts). Behind a bearer token whenever /api is
// (a viewer token is enough): pass counts and error codes are not for everyone who can reach the port.
import type { FastifyPluginAsync } from 'fastify';
import type { Config } from '../../config.ts';
import type { Db } from '../../db/client.ts';
import { refreshDatabaseGauges } from '../../database-gauges.ts';
import { registry } from '../../metrics.ts';
import type { AccessOperations } from '../../operations/access-operations.ts';
import { requireBearerToken } from '../plugins/bearer-token.ts';

export interface MetricsOptions {
  db: Db;
  config: Pick<Config, 'stuckAfterSeconds' | 'leaseSeconds' | 'timeZone'>;
  access: AccessOperations;
}

export const metricsRoutes: FastifyPluginAsync<MetricsOptions> = async (app, { db, config, access }) => {
  requireBearerToken(app, access);
  app.get('/metrics', { config: { role: 'viewer' } }, async (request, reply) => {
    const { stuckAfterSeconds, leaseSeconds, timeZone } = config;
    await refreshDatabaseGauges(db, { stuckAfterSeconds, leaseSeconds, timeZone }, request.log);
    const text = await registry.metrics();
    return reply.header('Content-Type', registry.contentType).header('Cache-Control', 'no-store').send(text);
  });
};
