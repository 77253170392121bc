// GET /api/openapi.json (DESIGN §4): @fastify/swagger collects every route's schema as it is
// registered; only /api/* and the probes are documented, never the dashboard's pages, /metrics or
// the static files. Registered before the routes, which it can only see being added.
import { createRequire } from 'node:module';
import fastifySwagger from '@fastify/swagger';
import type { FastifyInstance } from 'fastify';
import { BEARER_SCHEME } from './routes/api-schemas.ts';
import { PROBE_URLS } from './routes/health.ts';

/** Whether a route belongs in the OpenAPI document. */
export function isDocumented(url: string): boolean {
  return url.startsWith('/api/') || PROBE_URLS.includes(url);
}

const { version } = createRequire(import.meta.url)('../../package.json') as { version: string };

export async function registerOpenApi(app: FastifyInstance): Promise<void> {
  await app.register(fastifySwagger, {
    // 3.0 rather than 3.1: what Apifox, Postman and most generators import without surprises.
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'autofollow',
        version,
        description:
          'Follow-up of Outbound Bot call tasks for the CRM: start processing a task, close the leads that need a person, ' +
          'read why a task is or is not progressing, and probe the service. Error answers always carry `error`, an English ' +
          'sentence; refusals add a stable `reason` code.',
      },
      tags: [
        { name: 'tasks', description: 'Call tasks (call_tasks) and their leads.' },
        { name: 'probes', description: 'For load balancers and process managers; no token needed.' },
        { name: 'meta', description: 'This document.' },
      ],
      components: {
        securitySchemes: {
          [BEARER_SCHEME]: {
            type: 'http',
            scheme: 'bearer',
            description: 'API_TOKEN, or a token from `autofollow token add NAME --role viewer|operator|admin`. Not needed while neither exists (loopback only).',
          },
        },
      },
      security: [{ [BEARER_SCHEME]: [] }],
    },
    transform: ({ schema, url }) => ({ schema: { ...schema, hide: !isDocumented(url) }, url }),
    // Shared schemas (app.addSchema) keep their $id as their name under components/schemas.
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
  });
}
