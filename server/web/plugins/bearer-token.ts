// Bearer tokens for /api/* and /metrics (DESIGN §4, issue 8): API_TOKEN, or one of the tokens
// `autofollow token add` created. Adds hooks to the plugin context it is called in, so only that
// context's routes need a token; each route's declared role (route-roles.ts) is then checked.
import type { FastifyInstance } from 'fastify';
import { roleAllows, type Role } from '../../access/roles.ts';
import type { AccessOperations } from '../../operations/access-operations.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** The API client behind the bearer token (or the open API's client without any token). */
    apiClient: { name: string; role: Role } | null;
  }
}

/** Without API_TOKEN and without created tokens the API is open (loopback only, DESIGN §4). */
const OPEN_API_CLIENT = { name: 'api', role: 'operator' } as const;

export function requireBearerToken(app: FastifyInstance, access: AccessOperations): void {
  if (!app.hasRequestDecorator('apiClient')) app.decorateRequest('apiClient', null);
  app.addHook('onRequest', async (request, reply) => {
    if (!(await access.tokenRequired())) {
      request.apiClient = OPEN_API_CLIENT;
    } else {
      const presented = /^Bearer\s+(.+)$/i.exec(request.headers.authorization ?? '')?.[1]?.trim();
      request.apiClient = presented === undefined ? null : await access.tokenClient(presented);
      if (request.apiClient === null) {
        return reply
          .code(401)
          .header('WWW-Authenticate', 'Bearer realm="autofollow"')
          .send({ error: 'missing or wrong API token: send the header "Authorization: Bearer <token>" (API_TOKEN or one from `autofollow token add`)' });
      }
    }
    const needed = request.routeOptions.config.role;
    if (needed !== undefined && needed !== 'public' && !roleAllows(request.apiClient.role, needed)) {
      return reply.code(403).send({ error: `the token "${request.apiClient.name}" has the role ${request.apiClient.role}; this needs ${needed}` });
    }
  });
}
