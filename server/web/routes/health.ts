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

/** The probes' URLs: they never need the database's cookie key, and are open to anyone. */
export const PROBE_URLS: readonly string[] = ['/livez', '/readyz', '/healthz'];

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

  app.get('/livez', {
    schema: probeSchema('livenessProbe', 'The process answers', 'For a process manager’s liveness check: never asks the database, so an outage does not get the process restarted.', {
      200: status(['ok'], 'The process answers.'),
    }),
  }, async () => ({ status: 'ok' }));

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
  const readinessAnswers = {
    200: status(['ok'], 'The database answers and this copy takes work.'),
    503: status(['unavailable', 'shutting-down'], '`unavailable`: the database did not answer within 2 s; `shutting-down`: from the first SIGTERM on. Send traffic elsewhere.'),
  };
  const readinessText = 'For a load balancer: 200 while the database answers and the copy is not shutting down, 503 otherwise.';
  app.get('/readyz', { schema: probeSchema('readinessProbe', 'Whether to send traffic here', readinessText, readinessAnswers) }, readiness);
  app.get('/healthz', { schema: probeSchema('healthCheck', 'The same as /readyz', `The original name of /readyz, kept for the probes that use it. ${readinessText}`, readinessAnswers) }, readiness);
};

function status(values: string[], description: string) {
  return { type: 'object', description, required: ['status'], properties: { status: { type: 'string', enum: values } } } as const;
}

/** The probes are open: no token, whatever API_TOKEN says. */
function probeSchema(operationId: string, summary: string, description: string, response: Record<number, ReturnType<typeof status>>) {
  return { tags: ['probes'], operationId, summary, description, security: [], response };
}
