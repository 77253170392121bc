// A buildApp over a real per-file database, with live-shaped deps whose API endpoints point at a
// closed port (nothing here should reach them unless a test means it to).
import type { FastifyInstance } from 'fastify';
import { buildPipelineDeps } from '../../server/cli/build-deps.ts';
import { loadConfig } from '../../server/config.ts';
import type { Database } from '../../server/db/client.ts';
import { createLogger } from '../../server/log.ts';
import { buildApp, type StartTaskProcessing } from '../../server/web/build-app.ts';
import { FAKE_LIVE_ENV } from './run-cli.ts';

export const log = createLogger('silent', { pretty: false });

export async function appOver(
  database: Database & { url: string },
  options: { env?: Record<string, string>; startTaskProcessing?: StartTaskProcessing } = {},
): Promise<FastifyInstance> {
  const config = loadConfig({ ...FAKE_LIVE_ENV, DATABASE_URL: database.url, ...options.env });
  const { deps } = buildPipelineDeps(config, log, { database });
  return buildApp({ pipeline: deps, config, log, ...(options.startTaskProcessing ? { startTaskProcessing: options.startTaskProcessing } : {}) });
}
