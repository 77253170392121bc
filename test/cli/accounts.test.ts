// `autofollow operator …` and `autofollow token …` as an operator types them: the password comes on
// stdin (never argv), the token is printed once, and each change is audited as the CLI's user.
import { spawn } from 'node:child_process';
import { eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { findApiToken } from '../../server/access/api-tokens.ts';
import { findOperatorWithHash } from '../../server/access/operators.ts';
import { verifyPassword } from '../../server/access/password-hash.ts';
import { auditLog } from '../../server/db/schema/app.ts';
import { useTestDatabase } from '../helpers/database.ts';
import { cliEnv, collect, REPO_ROOT, runCli } from '../helpers/run-cli.ts';

const db = useTestDatabase();

function cli(args: string[], stdin: string) {
  const child = spawn(process.execPath, ['bin/autofollow.js', ...args], { cwd: REPO_ROOT, env: cliEnv({ DATABASE_URL: db.url }), stdio: ['pipe', 'pipe', 'pipe'] });
  child.stdin!.end(stdin);
  return collect(child);
}

describe('autofollow operator', () => {
  it('adds an account with the password from stdin, lists it, changes its password and disables it', async () => {
    const added = await cli(['operator', 'add', 'wang.fang', '--role', 'operator'], 'a long password 1\n');
    expect(added.code, added.stderr).toBe(0);
    const account = await findOperatorWithHash(db.db, 'wang.fang');
    expect(account).toMatchObject({ role: 'operator', disabled: false });
    expect(await verifyPassword('a long password 1', account!.passwordHash)).toBe(true);

    const listed = await cli(['operator', 'list'], '');
    expect(listed.stdout).toMatch(/^wang\.fang\toperator\tactive/m);

    expect((await cli(['operator', 'passwd', 'wang.fang'], 'another long one\n')).code).toBe(0);
    expect(await verifyPassword('another long one', (await findOperatorWithHash(db.db, 'wang.fang'))!.passwordHash)).toBe(true);

    expect((await cli(['operator', 'disable', 'wang.fang'], '')).code).toBe(0);
    expect((await findOperatorWithHash(db.db, 'wang.fang'))!.disabled).toBe(true);
    const actions = (await db.db.select().from(auditLog).where(eq(auditLog.outcome, 'ok'))).map((row) => row.action);
    expect(actions).toEqual(['operator-add', 'operator-passwd', 'operator-disable']);
  });

  it('refuses a short password, a taken name, a missing role, and a password in argv', async () => {
    expect((await cli(['operator', 'add', 'li', '--role', 'viewer'], 'short\n')).code).toBe(2);
    expect((await cli(['operator', 'add', 'li', '--role', 'viewer'], 'long enough pw\n')).code).toBe(0);
    expect((await cli(['operator', 'add', 'li', '--role', 'viewer'], 'long enough pw\n')).code).toBe(1);
    expect((await cli(['operator', 'add', 'zhao'], 'long enough pw\n')).code).toBe(2);
    const argv = await runCli(['operator', 'add', 'zhao', '--role', 'viewer', '--password', 'x'], { DATABASE_URL: db.url });
    expect(argv.code).toBe(2);
  });
});

describe('autofollow token', () => {
  it('prints a new token once, stores only its hash, and revokes it by name', async () => {
    const added = await cli(['token', 'add', 'crm', '--role', 'operator'], '');
    expect(added.code, added.stderr).toBe(0);
    const token = added.stdout.trim();
    expect(token).toMatch(/^af_[\w-]{40,}$/);
    expect(await findApiToken(db.db, token)).toEqual({ name: 'crm', role: 'operator' });
    expect((await cli(['token', 'list'], '')).stdout).not.toContain(token);
    expect((await cli(['token', 'add', 'boss', '--role', 'admin'], '')).code).toBe(2); // tokens are operator or viewer
    expect((await cli(['token', 'revoke', 'crm'], '')).code).toBe(0);
    expect(await findApiToken(db.db, token)).toBeNull();
  });
});
