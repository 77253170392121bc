// API_TOKEN as a bearer token (DESIGN §4): the check /api/* does, shared with /metrics. Adds an
// onRequest hook to the plugin context it is called in, so only that context's routes need it.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';

/** With a token, every request of this context must send `Authorization: Bearer <token>`; without one, nothing is checked. */
export function requireBearerToken(app: FastifyInstance, token: string | undefined): void {
  if (token === undefined) return;
  const expected = digest(token);
  app.addHook('onRequest', async (request, reply) => {
    const presented = /^Bearer\s+(.+)$/i.exec(request.headers.authorization ?? '')?.[1]?.trim();
    // Compare digests, so neither the length nor the content of the token leaks through timing.
    if (presented === undefined || !timingSafeEqual(digest(presented), expected)) {
      return reply
        .code(401)
        .header('WWW-Authenticate', 'Bearer realm="autofollow"')
        .send({ error: 'missing or wrong API token: send the header "Authorization: Bearer <API_TOKEN>"' });
    }
  });
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}
