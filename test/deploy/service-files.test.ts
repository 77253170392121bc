// deploy/autofollow.service and deploy/ecosystem.config.cjs: each starts `serve` from this checkout's
// bin and gives its first signal longer than serve's shutdown grace before killing it, so a process
// manager never cuts a pass in the middle of a step.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { DEFAULT_GRACE_MS } from '../../server/cli/serve.ts';
import { REPO_ROOT } from '../helpers/run-cli.ts';

const UNIT = path.join(REPO_ROOT, 'deploy/autofollow.service');
const BIN = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')).bin.autofollow as string;
/** Closing HTTP and the pool after the grace takes a moment too. */
const AFTER_GRACE_MS = 15_000;
const SYSTEMD_ANALYZE = ['/usr/bin/systemd-analyze', '/bin/systemd-analyze'].find((file) => existsSync(file));

/** The unit's [Service] settings; a key given twice keeps its values in order. */
function serviceSettings(): Map<string, string[]> {
  const service = /^\[Service\]\n([\s\S]*?)(?=^\[)/m.exec(readFileSync(UNIT, 'utf8'))?.[1] ?? '';
  const settings = new Map<string, string[]>();
  for (const line of service.split('\n').filter((l) => /^[A-Za-z]+=/.test(l))) {
    const [key, ...value] = line.split('=');
    settings.set(key!, [...(settings.get(key!) ?? []), value.join('=')]);
  }
  return settings;
}

describe('deploy/autofollow.service', () => {
  const settings = serviceSettings();
  const one = (key: string) => settings.get(key)?.at(-1);

  it('runs serve from the bin with node itself, as a dedicated user, with the settings in an EnvironmentFile', () => {
    expect(one('ExecStart')).toMatch(new RegExp(`^/usr/bin/node /opt/autofollow/${BIN.replace('.', '\\.')} serve$`));
    expect(one('User')).toBe('autofollow');
    expect(one('Group')).toBe('autofollow');
    expect(one('EnvironmentFile')).toBe('/etc/autofollow/autofollow.env');
    expect(one('Restart')).toBe('on-failure');
  });

  it('waits longer than the shutdown grace before killing', () => {
    expect(Number(one('TimeoutStopSec')) * 1000).toBeGreaterThanOrEqual(DEFAULT_GRACE_MS + AFTER_GRACE_MS);
    expect(one('KillSignal') ?? 'SIGTERM').toBe('SIGTERM');
  });

  it('is hardened', () => {
    for (const [key, value] of Object.entries({
      NoNewPrivileges: 'yes', ProtectSystem: 'strict', ProtectHome: 'yes', PrivateTmp: 'yes', PrivateDevices: 'yes',
      RestrictSUIDSGID: 'yes', ProtectKernelTunables: 'yes', ProtectControlGroups: 'yes', CapabilityBoundingSet: '',
    })) expect(one(key), key).toBe(value);
    expect(settings.has('MemoryDenyWriteExecute'), 'V8 needs writable executable memory').toBe(false);
  });

  it.skipIf(!SYSTEMD_ANALYZE)('passes systemd-analyze verify without a warning (skipped where systemd-analyze is not installed)', async () => {
    // The copy runs this test's node: CI's node need not live at /usr/bin/node, and verify checks that
    // ExecStart's program exists. Nothing else changes.
    const directory = mkdtempSync(path.join(tmpdir(), 'autofollow-unit-'));
    try {
      const copy = path.join(directory, 'autofollow.service');
      writeFileSync(copy, readFileSync(UNIT, 'utf8').replace('ExecStart=/usr/bin/node ', `ExecStart=${process.execPath} `));
      const { stdout, stderr } = await promisify(execFile)(SYSTEMD_ANALYZE!, ['verify', copy], { cwd: directory });
      expect(stderr + stdout).toBe('');
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });
});

describe('deploy/ecosystem.config.cjs', () => {
  const { apps } = createRequire(import.meta.url)(path.join(REPO_ROOT, 'deploy/ecosystem.config.cjs')) as {
    apps: Array<Record<string, unknown> & { cwd: string; script: string }>;
  };

  it('loads with require and starts serve from the bin of this checkout, as an executable', () => {
    expect(apps).toHaveLength(1);
    const [app] = apps;
    expect(path.resolve(app!.cwd)).toBe(path.resolve(REPO_ROOT));
    expect(app!.script).toBe(BIN);
    expect(existsSync(path.join(app!.cwd, app!.script))).toBe(true);
    expect(app).toMatchObject({ name: 'autofollow', args: 'serve', interpreter: 'none', exec_mode: 'fork', autorestart: true });
  });

  it('waits longer than the shutdown grace before killing', () => {
    expect(apps[0]!.kill_timeout).toBeGreaterThanOrEqual(DEFAULT_GRACE_MS + AFTER_GRACE_MS);
  });
});

describe('README "Running it as a service"', () => {
  /** The section's text on one line. */
  const section = (/\n## Running it as a service\n([\s\S]*?)\n## /.exec(readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8'))?.[1] ?? '').replace(/\s+/g, ' ');

  it('states the grace, the stop timeouts and the paths the files use', () => {
    const unit = serviceSettings();
    const timeout = Number(unit.get('TimeoutStopSec')!.at(-1));
    const { apps } = createRequire(import.meta.url)(path.join(REPO_ROOT, 'deploy/ecosystem.config.cjs')) as { apps: Array<{ kill_timeout: number }> };
    expect(apps[0]!.kill_timeout).toBe(timeout * 1000); // one figure in the README for both
    expect(section).toContain(`first signal ${timeout} s before killing it`);
    expect(section).toContain(`lets the current work finish for up to ${DEFAULT_GRACE_MS / 1000} s`);
    expect(section).toContain(`TimeoutStopSec=${timeout}`);
    expect(section).toContain(`\`kill_timeout\` ${timeout} s`);
    expect(section).toContain(`user \`${unit.get('User')!.at(-1)}\``);
    expect(section).toContain(`\`${unit.get('EnvironmentFile')!.at(-1)}\``);
    expect(section).toContain(`the checkout at \`${unit.get('WorkingDirectory')!.at(-1)}\``);
  });
});
