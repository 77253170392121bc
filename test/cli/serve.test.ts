// `serve` as an operator runs it: it answers on HOST/PORT, and shuts down in two stages (STYLE §2):
// the first signal lets the current work finish, a second one exits at once.
import { once } from 'node:events';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import type { ChildProcess } from 'node:child_process';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { callTasks, leadsTaskList } from '../../server/db/schema/crm.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { collect, FAKE_LIVE_ENV, startCli, type CliResult } from '../helpers/run-cli.ts';

let db: TestDatabase;
let silentPeer: { server: Server; url: string; sockets: Set<Socket>; nextConnection(): Promise<Socket> };
const children = new Set<ChildProcess>();

beforeAll(async () => {
  db = await createTestDatabase();
  // Stands in for an OutboundBot endpoint that accepts the connection and never answers.
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  silentPeer = {
    server,
    sockets,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    nextConnection: async () => (await once(server, 'connection'))[0] as Socket,
  };
});
afterAll(async () => {
  for (const socket of silentPeer?.sockets ?? []) socket.destroy();
  silentPeer?.server.close();
  await db?.drop();
});
beforeEach(async () => {
  await db.reset();
});
afterEach(() => {
  for (const child of children) child.kill('SIGKILL');
  children.clear();
});

interface Served {
  child: ChildProcess;
  url: string;
  result: Promise<CliResult>;
  /** Resolves once a log line contains the text. */
  logged(text: string): Promise<void>;
}

async function serve(env: Record<string, string>): Promise<Served> {
  const child = startCli(['serve'], { ...FAKE_LIVE_ENV, DATABASE_URL: db.url, PORT: '0', ...env });
  children.add(child);
  const result = collect(child);
  let stderr = '';
  const waiters: Array<{ text: string; resolve: () => void }> = [];
  child.stderr!.on('data', (chunk: string) => {
    stderr += chunk;
    for (const waiter of waiters.filter((w) => stderr.includes(w.text))) waiter.resolve();
  });
  const logged = (text: string) =>
    stderr.includes(text) ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ text, resolve }));
  const exitedEarly = result.then((r) => {
    throw new Error(`serve exited with ${r.code}: ${r.stderr}`);
  });
  await Promise.race([logged('"msg":"listening at http://'), exitedEarly]);
  exitedEarly.catch(() => undefined);
  const url = /"address":"(http:\/\/[^"]+)"/.exec(stderr)![1]!;
  return { child, url, result, logged };
}

async function givenCallingTask(): Promise<number> {
  const [task] = await db.db.insert(callTasks).values({ taskName: 'shutdown test', taskType: 2, jobGroupId: 'jg-serve-1' }).$returningId();
  await db.db.insert(leadsTaskList).values({ taskId: task!.id, leadsId: 1, leadsName: '王五', leadsPhone: '13700000001' });
  return task!.id;
}

describe('serve', () => {
  it('answers /healthz on the configured address and exits 0 on SIGTERM', async () => {
    const served = await serve({});
    const response = await fetch(`${served.url}/healthz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ok' });
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');

    served.child.kill('SIGTERM');
    const result = await served.result;
    expect(result.code).toBe(0);
  });

  it('lets the work in progress finish after the first signal, then exits 0', async () => {
    const taskId = await givenCallingTask();
    const served = await serve({ OUTBOUNDBOT_ENDPOINT: silentPeer.url });
    const connected = silentPeer.nextConnection();
    const accepted = await fetch(`${served.url}/api/tasks/${taskId}/process`, { method: 'POST' });
    expect(accepted.status).toBe(202);
    const socket = await connected; // processTask is now waiting on the OutboundBot API

    served.child.kill('SIGTERM');
    await served.logged('shutting down');
    // The answer finally fails (connection reset); with RETRY_ATTEMPTS=1 the run ends and is recorded.
    socket.destroy();
    const result = await served.result;
    expect(result.code).toBe(0);
    const [runs] = await db.pool.query(`SELECT \`trigger\`, finished_at FROM af_task_runs WHERE task_id = ?`, [taskId]);
    expect(runs).toEqual([expect.objectContaining({ trigger: 'api', finished_at: expect.any(String) })]);
  });

  it('answers /readyz 503 from the first signal on, while /livez still answers and the work finishes', async () => {
    const taskId = await givenCallingTask();
    const served = await serve({ OUTBOUNDBOT_ENDPOINT: silentPeer.url });
    expect((await fetch(`${served.url}/readyz`)).status).toBe(200);
    const connected = silentPeer.nextConnection();
    expect((await fetch(`${served.url}/api/tasks/${taskId}/process`, { method: 'POST' })).status).toBe(202);
    const socket = await connected; // the run holds shutdown open until the peer lets go

    served.child.kill('SIGTERM');
    await served.logged('shutting down');
    const ready = await fetch(`${served.url}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toEqual({ status: 'shutting-down' });
    expect((await fetch(`${served.url}/healthz`)).status).toBe(503);
    expect((await fetch(`${served.url}/livez`)).status).toBe(200);

    socket.destroy();
    expect((await served.result).code).toBe(0);
  });

  it('exits at once on a second signal while work is still running', async () => {
    const taskId = await givenCallingTask();
    const served = await serve({ OUTBOUNDBOT_ENDPOINT: silentPeer.url, OUTBOUNDBOT_TIMEOUT_MS: '60000' });
    const connected = silentPeer.nextConnection();
    expect((await fetch(`${served.url}/api/tasks/${taskId}/process`, { method: 'POST' })).status).toBe(202);
    await connected;

    served.child.kill('SIGTERM');
    await served.logged('shutting down');
    served.child.kill('SIGTERM');
    const result = await served.result;
    expect(result.code).toBe(143);
    expect(result.errorLines.filter((line) => line.startsWith('autofollow:'))).toEqual([
      'autofollow: SIGTERM received again, exiting now without waiting for the current work',
    ]);
  });
});
