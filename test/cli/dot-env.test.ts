// `.env` in the working directory (DESIGN §4): every command reads it, and the real environment wins,
// so a systemd EnvironmentFile or an exported variable is never overridden by a stray file.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadDotEnv } from '../../server/config.ts';
import { adminQuery, testDatabaseName, urlFor } from '../helpers/database.ts';
import { runCli } from '../helpers/run-cli.ts';

let directory: string;
const databases: string[] = [];

beforeAll(() => {
  directory = mkdtempSync(path.join(tmpdir(), 'autofollow-dotenv-'));
});
afterAll(async () => {
  rmSync(directory, { recursive: true, force: true });
  for (const name of databases) await adminQuery(`DROP DATABASE IF EXISTS \`${name}\``);
});

function givenDotEnv(lines: string[]): void {
  writeFileSync(path.join(directory, '.env'), `${lines.join('\n')}\n`);
}

describe('.env in the working directory', () => {
  it('is read by a command started there: a bad value in it stops start-up naming the variable', async () => {
    givenDotEnv(['# a comment', 'MONITOR_CRON=every now and then']);
    const result = await runCli(['migrate'], {}, { cwd: directory });
    expect(result.code).toBe(1);
    expect(result.errorLines).toEqual([expect.stringMatching(/^autofollow: MONITOR_CRON: is not a valid cron pattern \("every now and then"\)/)]);
  });

  it('fills in what the environment does not set, and the environment wins where it does', async () => {
    const name = testDatabaseName('af_dotenv');
    databases.push(name);
    givenDotEnv([`DATABASE_URL=${urlFor(name)}`, 'MONITOR_CRON=every now and then']);
    const result = await runCli(['migrate'], { MONITOR_CRON: '*/5 * * * *' }, { cwd: directory });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`^migrate: created database ${name};`)); // DATABASE_URL came from .env
  });
});

describe('loadDotEnv', () => {
  const NAME = 'AUTOFOLLOW_DOTENV_TEST';
  afterEach(() => {
    delete process.env[NAME];
  });

  it('keeps a variable the environment sets, even to an empty string', () => {
    givenDotEnv([`${NAME}=from-file`]);
    process.env[NAME] = '';
    expect(loadDotEnv(directory)).toBe(path.join(directory, '.env'));
    expect(process.env[NAME]).toBe('');
  });

  it('sets a variable the environment lacks, and does nothing without a file', () => {
    givenDotEnv([`${NAME}="from file"`]);
    loadDotEnv(directory);
    expect(process.env[NAME]).toBe('from file');
    delete process.env[NAME];
    expect(loadDotEnv(path.join(directory, 'nowhere'))).toBeNull();
    expect(process.env[NAME]).toBeUndefined();
  });
});
