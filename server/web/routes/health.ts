// Probes for load balancers and process managers (DESIGN §4):
// - GET /livez: the process answers; no database, so a database outage never gets it restarted.
// - GET /readyz: send traffic here: the database answers and this copy is not shutting down. It turns
//   503 the moment shutdown starts (the first SIGTERM), while the current work still finishes, so a
//   load balancer moves to the other copy before this one stops listening.
// - GET /healthz: the original name of /readyz, kept for the probes that use it.
import { sql } from 'drizzle-orm';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { Db } from '../../db/client.ts';
import { within } from '../../net/within.ts';

/** The probes' paths: they need no cookie, so nothing that reads the database runs before them. */
export const PROBE_PATHS: ReadonlySet<string> = new Set(['/livez', '/readyz', '/healthz']);

/** A probe must answer quickly even when the database hangs rather than refuses. */
const PROBE_TIMEOUT_MS = 2000;

export interface HealthOptions {
  db: Db;
  /** True from the moment shutdown starts (the scheduler takes no new work). */
  shuttingDown: () => boolean;
}

export const healthRoutes: FastifyPluginAsync<HealthOptions> = async (app, { db, shuttingDown }) => {
  app.addHook('onSend', async (_request, reply, payload) => {
    reply.header('Cache-Control', 'no-store');
    return payload;
  });

  app.get('/livez', async () => ({ status: 'ok' }));

  async function readiness(request: FastifyRequest, reply: FastifyReply) {
    if (shuttingDown()) return reply.code(503).send({ status: 'shutting-down' });
    try {
      const answered = await within(db.execute(sql`SELECT 1`), PROBE_TIMEOUT_MS);
      if (answered === undefined) throw new Error(`no answer within ${PROBE_TIMEOUT_MS} ms`);
      return { status: 'ok' };
    } catch (error) {
      request.log.warn({ err: error }, `readiness check: the database did not answer (${(error as Error).message})`);
      return reply.code(503).send({ status: 'unavailable' });
    }
  }
  app.get('/readyz', readiness);
  app.get('/healthz', readiness);
};
