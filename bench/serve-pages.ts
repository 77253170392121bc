// The dashboard over a seeded bench database (bench/seed-large.ts), on PORT, for comparing two
// checkouts page by page in turns (bench/pages-in-turns.ts): run it in each, on two ports.
// PORT=7101 BENCH_DATABASE=autofollow_bench npx tsx bench/serve-pages.ts
import { buildPagesApp } from './dashboard-pages.ts';
import { BENCH_DATABASE } from './seed-large.ts';

const { app } = await buildPagesApp(BENCH_DATABASE);
const port = Number(process.env.PORT ?? 7101);
await app.listen({ port, host: '127.0.0.1' });
console.log(`serving ${BENCH_DATABASE} on ${port}`);
