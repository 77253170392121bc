// Every POST route declares the role its command needs (`config: { role }`), or 'public' for the
// login form itself. A POST route without one stops buildApp: a new action cannot ship unguarded.
// The table of declared routes is kept on the app for the test that walks it.
import type { FastifyInstance } from 'fastify';
import type { Role } from '../access/roles.ts';
import { roleFor, type Command } from '../operations/command-roles.ts';

export type RouteRole = Role | 'public';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Who may call this route; GET routes default to any logged-in viewer. */
    role?: RouteRole;
  }
  interface FastifyInstance {
    routeRoles: Array<{ method: string; url: string; role: RouteRole | undefined }>;
  }
}

/** The route config for a command's route: its role comes from the operations' table. */
export function commandRoute(command: Command): { config: { role: Role } } {
  return { config: { role: roleFor(command) } };
}

export function declareRouteRoles(app: FastifyInstance): void {
  app.decorate('routeRoles', []);
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    const role = (route.config as { role?: RouteRole } | undefined)?.role;
    for (const method of methods) {
      if (method === 'POST' && role === undefined) {
        throw new Error(`POST ${route.url} declares no role: add config: { role } (or commandRoute(command)) to the route`);
      }
      app.routeRoles.push({ method, url: route.url, role });
    }
  });
}
