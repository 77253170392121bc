#!/usr/bin/env node
// CI: proves that drizzle/ has a migration for every change of server/db/schema/app.ts. drizzle-kit
// generates into a scratch copy of drizzle/ (under out/, git-ignored, removed afterwards): a new file
// there, or any question (drizzle-kit asks about renames), means a schema change without its migration.
// `drizzle-kit check` then verifies the migrations' snapshots are consistent with each other.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';

const SCRATCH = 'out/migrations-check'; // relative: drizzle-kit prefixes "./" to --out
const OUT = `${SCRATCH}/drizzle`;
const KIT = ['node_modules/drizzle-kit/bin.cjs'];

function files(dir) {
  return readdirSync(dir, { recursive: true }).map(String).sort();
}

function kit(args) {
  // No stdin: a prompt fails at once instead of waiting for an answer CI cannot give.
  const run = spawnSync(process.execPath, [...KIT, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000 });
  return { ok: run.status === 0, output: `${run.stdout ?? ''}${run.stderr ?? ''}` };
}

let failure = null;
rmSync(SCRATCH, { recursive: true, force: true });
mkdirSync(SCRATCH, { recursive: true });
try {
  cpSync('drizzle', OUT, { recursive: true });
  const before = files(OUT);
  const generate = kit(['generate', '--dialect', 'mysql', '--schema', './server/db/schema/app.ts', '--out', OUT, '--name', 'missing']);
  const added = files(OUT).filter((file) => !before.includes(file));
  if (!generate.ok || added.length > 0 || !generate.output.includes('No schema changes')) {
    const sql = added.filter((file) => file.endsWith('.sql')).map((file) => readFileSync(path.join(OUT, file), 'utf8')).join('\n');
    failure = `server/db/schema/app.ts and drizzle/ disagree: run \`npm run db:generate\`, read the new migration and commit it.\n${generate.output}\n${sql}`;
  } else {
    const check = kit(['check', '--dialect', 'mysql', '--out', OUT]);
    if (!check.ok || /error|collision/i.test(check.output)) failure = `drizzle-kit check found inconsistent migrations:\n${check.output}`;
  }
} finally {
  rmSync(SCRATCH, { recursive: true, force: true });
}
if (failure) {
  console.error(`check-migrations: ${failure}`);
  process.exit(1);
}
console.log('check-migrations: the schema and drizzle/ agree');
