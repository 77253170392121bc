// The task page with its per-lead actions, the stuck page, 人工跟进 and 开始外呼/重新外呼: one plugin for dashboard-routes.ts.
import type { FastifyPluginAsync } from 'fastify';
import type { DashboardOptions } from '../dashboard.ts';
import { closeLeadsRoutes } from './close-leads.ts';
import { launchRoutes } from './launches.ts';
import { leadActionRoutes } from './lead-actions.ts';
import { stuckRoutes } from './stuck.ts';
import { taskPageRoutes } from './task-page.ts';

export const taskAndStuckRoutes: FastifyPluginAsync<DashboardOptions> = async (app, options) => {
  await app.register(taskPageRoutes, options);
  await app.register(leadActionRoutes, options);
  await app.register(stuckRoutes, options);
  await app.register(closeLeadsRoutes, options);
  await app.register(launchRoutes, options);
};
