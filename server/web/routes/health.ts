// GET /healthz for load balancers and probes (DESIGN §4): healthy means the database answers.
import { sql } from 'drizzle-orm';
import type { FastifyPluginAsync } from 'fastify';
import type { Db } from '../../db/client.ts';
import { within } from '../../net/within.ts';

/** A probe must answer quickly even when the database hangs rather than refuses. */
const PROBE_TIMEOUT_MS = 2000;

export const healthRoutes: FastifyPluginAsync<{ db: Db }> = async (app, { db }) => {
  app.get('/healthz', async (request, reply) => {
    reply.header('Cache-Control', 'no-store');
    try {
      const answered = await within(db.execute(sql`SELECT 1`), PROBE_TIMEOUT_MS);
      if (answered === undefined) throw new Error(`no answer within ${PROBE_TIMEOUT_MS} ms`);
      return { status: 'ok' };
    } catch (error) {
      request.log.warn({ err: error }, `health check: the database did not answer (${(error as Error).message})`);
      return reply.code(503).send({ status: 'unavailable' });
    }
  });
};
