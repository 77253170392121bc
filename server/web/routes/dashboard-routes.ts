// The dashboard's pages and actions, each area in its own module. Registered inside the dashboard
// plugin, so every route here is behind the login, the CSRF check and the HTML error pages.
import type { FastifyPluginAsync } from 'fastify';
import type { DashboardOptions } from '../dashboard.ts';
import { deliveryRoutes } from './deliveries.ts';
import { llmUsageRoutes } from './llm-usage.ts';
import { taskExportRoutes } from './task-export.ts';
import { taskAndStuckRoutes } from './task-and-stuck.ts';
import { operatorRoutes } from './operators.ts';
import { overviewArea } from './overview.ts';

export const dashboardRoutes: FastifyPluginAsync<DashboardOptions> = async (_app, _options) => {
  await _app.register(taskAndStuckRoutes, _options);
  await _app.register(overviewArea, _options);
  await _app.register(operatorRoutes, _options);
  await _app.register(deliveryRoutes, _options);
  await _app.register(taskExportRoutes, _options);
  await _app.register(llmUsageRoutes, _options);
  // overview, task page, stuck page, actions: registered here as they are built.
};
