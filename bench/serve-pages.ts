// The dashboard over a seeded bench database (bench/seed-large.ts), on PORT, for comparing two
// checkouts page by page in turns (bench/pages-in-turns.ts): run it in each, on two ports.
// PORT=7101 BENCH_DATABASE=autofollow_bench npx tsx bench/serve-pages.ts
import { buildPipelineDeps } from '../server/cli/build-deps.ts';
import { loadConfigWith } from '../server/config.ts';
import { openDatabase } from '../server/db/client.ts';
import { createLogger } from '../server/log.ts';
import { buildApp } from '../server/web/build-app.ts';
import { BENCH_DATABASE } from './seed-large.ts';

const url = new URL(loadConfigWith(process.env).databaseUrl);
url.pathname = `/${BENCH_DATABASE}`;
const config = loadConfigWith({
  ...process.env,
  DATABASE_URL: url.toString(),
  // Never reached: pages only read. Credentials are required to build live deps.
  ALIBABA_CLOUD_ACCESS_KEY_ID: 'bench', ALIBABA_CLOUD_ACCESS_KEY_SECRET: 'bench', OUTBOUNDBOT_INSTANCE_ID: 'bench',
  OUTBOUNDBOT_ENDPOINT: 'http://127.0.0.1:1', LLM_API_KEY: 'bench', LLM_BASE_URL: 'http://127.0.0.1:1/v1',
});
const log = createLogger('warn', { pretty: false });
const app = await buildApp({ pipeline: buildPipelineDeps(config, log, { database: openDatabase(config.databaseUrl) }).deps, config, log });
await app.listen({ port: Number(process.env.PORT ?? 7101), host: '127.0.0.1' });
console.log(`serving ${BENCH_DATABASE} on ${process.env.PORT ?? 7101}`);
