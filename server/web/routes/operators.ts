// /operators (admin): the accounts, with forms to add one, set a password, end its sessions and
// disable it. The same account operations as `autofollow operator …`; this only renders outcomes.
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { ROLES, isRole } from '../../access/roles.ts';
import type { Outcome } from '../../operations/index.ts';
import { describeOutcome } from '../../operations/outcome.ts';
import { actorOf, type DashboardOptions } from '../dashboard.ts';
import { commandRoute } from '../route-roles.ts';
import { statusOf } from './outcome-status.ts';

type Form = Record<string, unknown>;

export const operatorRoutes: FastifyPluginAsync<DashboardOptions> = async (app, { operations }) => {
  const { accounts } = operations;

  async function page(request: FastifyRequest, reply: FastifyReply, outcome: Outcome<unknown> | null) {
    const listed = await accounts.listOperators(actorOf(request));
    const message = outcome === null ? null : { ok: outcome.status === 'done', text: describeOutcome(outcome) };
    reply.code(outcome ? (outcome.status === 'done' ? 200 : statusOf(outcome)) : 200).header('Cache-Control', 'no-store');
    return reply.view('pages/operators', { operators: listed.status === 'done' ? (listed.data ?? []) : [], roles: ROLES, message });
  }

  app.get('/operators', commandRoute('operator-list'), async (request, reply) => page(request, reply, null));

  app.post('/operators', commandRoute('operator-add'), async (request, reply) => {
    const form = (request.body ?? {}) as Form;
    const role = isRole(form.role) ? form.role : 'viewer';
    const password = typeof form.password === 'string' ? form.password : '';
    return page(request, reply, await accounts.addOperator(actorOf(request), { login: form.login, displayName: form.displayName, role, password }));
  });

  app.post<{ Params: { login: string } }>('/operators/:login/disable', commandRoute('operator-disable'), async (request, reply) =>
    page(request, reply, await accounts.disableOperator(actorOf(request), request.params.login)),
  );

  app.post<{ Params: { login: string } }>('/operators/:login/end-sessions', commandRoute('operator-end-sessions'), async (request, reply) =>
    page(request, reply, await accounts.endSessions(actorOf(request), request.params.login)),
  );

  app.post<{ Params: { login: string } }>('/operators/:login/password', commandRoute('operator-passwd'), async (request, reply) => {
    const password = typeof (request.body as Form | undefined)?.password === 'string' ? ((request.body as Form).password as string) : '';
    return page(request, reply, await accounts.setPassword(actorOf(request), request.params.login, password));
  });
};
