// Every `npm start` / `npm run NAME` / `npm test` the README tells people to type names a script
// that exists and runs: a package's own bin is not on the PATH of its own scripts, so a script that
// says `autofollow …` fails with "not found" (issue 8). Each is run with --help, which loads the
// command's entry point and exits at once without a database or credentials.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cliEnv, collect, REPO_ROOT } from '../helpers/run-cli.ts';

const readme = readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
const scripts = (JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;

/** Script names the README mentions: `npm start`, `npm test`, `npm run demo`. */
const mentioned = [...new Set([...readme.matchAll(/\bnpm (?:run (\S+)|(start|test|stop|restart)\b)/g)].map((m) => (m[1] ?? m[2])!.replace(/[`'".,;:)]+$/, '')))];
/** `npm test` would run this suite inside itself; it is what runs this file, so it resolves. */
const RUN_HERE = mentioned.filter((name) => name !== 'test');

describe("the README's npm commands", () => {
  it('mentions npm start and npm run demo, and each mentioned name is a script in package.json', () => {
    expect(mentioned).toEqual(expect.arrayContaining(['start', 'demo']));
    for (const name of mentioned) expect(scripts, `README mentions "npm ${name}"`).toHaveProperty(name);
  });

  it.each(RUN_HERE)('npm run %s starts the command it names', async (name) => {
    const child = spawn('npm', ['run', '--silent', name, '--', '--help'], { cwd: REPO_ROOT, env: cliEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    const result = await collect(child);
    expect(result.stderr).not.toMatch(/not found/);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/usage|version/i); // the command's own help: autofollow's usage, tsc's banner
  });
});
