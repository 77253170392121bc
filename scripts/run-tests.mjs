#!/usr/bin/env node
// `npm test`: vitest with its usual output, then one closing line "N passed, M failed" read from
// vitest's JSON report, so a run that ran no test cannot pass unnoticed.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';

const report = 'out/vitest.json';
mkdirSync('out', { recursive: true });
rmSync(report, { force: true });
const run = spawnSync(
  process.execPath,
  ['node_modules/vitest/vitest.mjs', 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`, ...process.argv.slice(2)],
  { stdio: 'inherit', env: { ...process.env, NO_COLOR: '1' } },
);
if (!existsSync(report)) {
  console.log('0 passed, 1 failed');
  process.exit(run.status || 1);
}
const result = JSON.parse(readFileSync(report, 'utf8'));
const failed = result.numFailedTests + countFilesFailedWithoutTests(result);
console.log(`${result.numPassedTests} passed, ${failed} failed${result.numPendingTests ? `, ${result.numPendingTests} skipped` : ''}`);
process.exit(run.status ?? 1);

// A file that fails to load has no failed test; count it as one failure so it shows. (vitest's
// numFailedTestSuites counts describe blocks too, so a failing test inside one was counted twice.)
function countFilesFailedWithoutTests(r) {
  return (r.testResults ?? []).filter((s) => s.status === 'failed' && !s.assertionResults?.some((a) => a.status === 'failed')).length;
}
