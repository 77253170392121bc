// Bad input as the routes report it: an Error carrying its HTTP status, which the dashboard renders
// as a 4xx page (or a fragment for htmx) and the API as JSON. Nothing was changed by the request.
import type { FastifyReply } from 'fastify';
import { parseTaskId } from '../task-id.ts';

export function httpError(statusCode: number, message: string): Error {
  return Object.assign(new Error(message), { statusCode });
}

/** The operator's translator (reply.locals, set by the dashboard plugin). */
export function t(reply: FastifyReply) {
  const translate = reply.locals?.t;
  return translate ?? ((key: string) => key);
}

/** A task id from the path: "/tasks/abc" is a 400 in the operator's language. */
export function taskIdFrom(reply: FastifyReply, raw: string | undefined): number {
  const id = parseTaskId(raw);
  if (id === null) throw httpError(400, t(reply)('task.err.badId', { id: String(raw) }));
  return id;
}
