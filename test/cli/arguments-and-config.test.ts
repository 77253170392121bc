// What an operator sees when a command line or the environment is wrong: exit 2 for bad arguments,
// exit 1 for a bad setting, and always exactly one line on stderr, never a stack trace.
import { describe, expect, it } from 'vitest';
import { FAKE_LIVE_ENV, runCli } from '../helpers/run-cli.ts';

describe.concurrent('autofollow command line', () => {
  it('prints the usage on stdout and exits 0 for --help', async () => {
    const result = await runCli(['--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^Usage: npx autofollow <command>/);
    expect(result.stdout).toContain('diagnose <taskId> [--json]');
    expect(result.stderr).toBe('');
  });

  it('prints the usage and exits 2 when no command is given', async () => {
    const result = await runCli([]);
    expect(result.code).toBe(2);
    expect(result.stdout).toContain('Usage:');
    expect(result.errorLines).toEqual([expect.stringMatching(/^autofollow: no command given/)]);
  });

  it('exits 2 with one line naming an unknown command', async () => {
    const result = await runCli(['frobnicate']);
    expect(result.code).toBe(2);
    expect(result.errorLines).toEqual([expect.stringMatching(/^autofollow: unknown command "frobnicate"/)]);
  });

  it.each(['abc', '-1', '1.5', '0', '4294967296'])('exits 2 for diagnose with the invalid task id %s', async (id) => {
    const result = await runCli(['diagnose', id]);
    expect(result.code).toBe(2);
    expect(result.errorLines).toEqual([`autofollow: diagnose: task id must be a positive whole number, got "${id}". Run \`npx autofollow --help\` for usage.`]);
  });

  it('exits 2 when diagnose is given no task id', async () => {
    const result = await runCli(['diagnose', '--json']);
    expect(result.code).toBe(2);
    expect(result.errorLines).toEqual([expect.stringMatching(/^autofollow: diagnose needs a task id/)]);
  });

  it.each([
    [['--lang', 'fr'], '"fr"'],
    [['--lang=EN'], '"EN"'],
    [['--lang'], 'nothing'],
  ])('exits 2 for diagnose %j, naming the languages it knows', async (args, got) => {
    const result = await runCli(['diagnose', '12', ...args]);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.errorLines).toEqual([`autofollow: diagnose: --lang must be zh or en, got ${got}. Run \`npx autofollow --help\` for usage.`]);
  });

  it('exits 2 for an unknown flag', async () => {
    const result = await runCli(['diagnose', '12', '--verbose']);
    expect(result.code).toBe(2);
    expect(result.errorLines).toEqual([expect.stringMatching(/^autofollow: diagnose: unknown option "--verbose"/)]);
  });

  it('exits 2 when a command that takes no arguments gets one', async () => {
    const result = await runCli(['migrate', 'now']);
    expect(result.code).toBe(2);
    expect(result.errorLines).toEqual([expect.stringMatching(/^autofollow: migrate takes no arguments/)]);
    const runOnce = await runCli(['run-once', 'now']);
    expect(runOnce.code).toBe(2);
    expect(runOnce.errorLines).toEqual([expect.stringMatching(/^autofollow: run-once: unknown argument "now" \(only --force\)/)]);
  });

  it.each([
    ['LEASE_SECONDS', '2', 'autofollow: LEASE_SECONDS: must be between 5 and 86400, got 2'],
    ['PORT', 'abc', 'autofollow: PORT: must be a whole number, got "abc"'],
    ['MONITOR_CRON', 'nonsense', /^autofollow: MONITOR_CRON: is not a valid cron pattern/],
    ['DATABASE_URL', 'postgres://x', 'autofollow: DATABASE_URL: must start with mysql://'],
  ])('stops with exit 1 and one line naming %s when it is invalid', async (variable, value, expected) => {
    const result = await runCli(['run-once'], { ...FAKE_LIVE_ENV, [variable]: value });
    expect(result.code).toBe(1);
    expect(result.errorLines).toEqual([typeof expected === 'string' ? expected : expect.stringMatching(expected)]);
  });

  it.each(['run-once', 'serve'])('refuses to %s without credentials and points to the demo', async (command) => {
    const result = await runCli([command]);
    expect(result.code).toBe(1);
    expect(result.errorLines).toHaveLength(1);
    expect(result.errorLines[0]).toMatch(/^autofollow: ALIBABA_CLOUD_ACCESS_KEY_ID: is not set/);
    expect(result.errorLines[0]).toContain('npx autofollow demo');
  });

  it('explains an unreachable database in one line without printing its password', async () => {
    const result = await runCli(['run-once'], { ...FAKE_LIVE_ENV, DATABASE_URL: 'mysql://root:hunter2secret@127.0.0.1:1/x' });
    expect(result.code).toBe(1);
    expect(result.errorLines).toEqual([
      'autofollow: cannot reach the database at 127.0.0.1:1 (ECONNREFUSED). Is MySQL running? Check DATABASE_URL.',
    ]);
    expect(result.stdout + result.stderr).not.toContain('hunter2secret');
  });

  it('explains an unreachable database for diagnose too', async () => {
    const result = await runCli(['diagnose', '1', '--json'], { DATABASE_URL: 'mysql://root@127.0.0.1:1/x' });
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.errorLines).toEqual([expect.stringMatching(/^autofollow: cannot reach the database at 127\.0\.0\.1:1 \(ECONNREFUSED\)/)]);
  });

  it('refuses to serve beyond loopback without both DASHBOARD_PASSWORD and API_TOKEN', async () => {
    const neither = await runCli(['serve'], { ...FAKE_LIVE_ENV, HOST: '0.0.0.0' });
    expect(neither.code).toBe(1);
    expect(neither.errorLines).toEqual([expect.stringMatching(/^autofollow: HOST: is 0\.0\.0\.0, beyond loopback: set DASHBOARD_PASSWORD and API_TOKEN first/)]);

    const tokenOnly = await runCli(['serve'], { ...FAKE_LIVE_ENV, HOST: '0.0.0.0', API_TOKEN: 't0ken' });
    expect(tokenOnly.code).toBe(1);
    expect(tokenOnly.errorLines).toEqual([expect.stringMatching(/^autofollow: HOST: is 0\.0\.0\.0, beyond loopback: set DASHBOARD_PASSWORD first/)]);
  });
});
