// Logs carry no personal data and no secret, in either mode: JSON lines (a service) and pretty lines
// (a terminal) go through the same redaction. A failing dashboard request that searched by phone and
// a failing Outbound Bot call whose error echoes a phone are logged in both modes, then read back.
import { Writable } from 'node:stream';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPipelineDeps } from '../../server/cli/build-deps.ts';
import { loadConfig } from '../../server/config.ts';
import { createLogger } from '../../server/log.ts';
import { createOutboundBotClient } from '../../server/outboundbot/client.ts';
import { startOutboundBotSimulator, type OutboundBotSimulator } from '../../server/simulator/outboundbot.ts';
import { buildApp } from '../../server/web/build-app.ts';
import { givenLeads, givenTask } from '../helpers/builders.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { FAKE_LIVE_ENV } from '../helpers/run-cli.ts';

const PHONE = '13912345678';
const SECRET = 'sim-secret-never-logged';

let db: TestDatabase;
let sim: OutboundBotSimulator;
beforeAll(async () => {
  [db, sim] = await Promise.all([createTestDatabase(), startOutboundBotSimulator({ accessKeySecret: SECRET })]);
});
afterAll(async () => Promise.all([db?.drop(), sim?.stop()]));

function capture(pretty: boolean) {
  const lines: string[] = [];
  const sink = new Writable({ write: (chunk, _encoding, done) => (lines.push(String(chunk)), done()) });
  return { log: createLogger('info', { pretty, destination: sink }), text: () => lines.join('') };
}

function expectClean(text: string) {
  expect(text).not.toMatch(/12345678|1234 ?5678/);
  expect(text).not.toContain(SECRET);
  expect(text).not.toContain('test-key-secret');
}

describe.each([['JSON', false], ['pretty', true]] as const)('the %s log', (_mode, pretty) => {
  it('names the path and the database error of a failed dashboard request, never the phone searched for', async () => {
    const { log, text } = capture(pretty);
    const config = loadConfig({ ...FAKE_LIVE_ENV, DATABASE_URL: db.url });
    const app = await buildApp({ pipeline: buildPipelineDeps(config, log, { database: db }).deps, config, log });
    const taskId = await givenTask(db.db, { jobGroupId: 'g' });
    await givenLeads(db.db, taskId, [{ phone: PHONE }]);
    await db.db.execute(sql`RENAME TABLE af_lead_states TO af_lead_states_away`);
    try {
      const response = await app.inject({ url: `/tasks/${taskId}?q=${PHONE}`, headers: { accept: 'text/html' } });
      expect(response.statusCode).toBe(500);
    } finally {
      await db.db.execute(sql`RENAME TABLE af_lead_states_away TO af_lead_states`);
      await app.close();
    }
    expect(text()).toContain('dashboard request failed');
    // JSON keeps the fields; pretty lines show the sentence only (hideObject).
    if (!pretty) expect(text()).toContain(`/tasks/${taskId}`);
    if (!pretty) expect(text()).toContain("af_lead_states' doesn't exist"); // what went wrong is still there
    expectClean(text());
  });

  it('names a failed Outbound Bot call and its code, never the phone it echoed or the key secret', async () => {
    const { log, text } = capture(pretty);
    const client = createOutboundBotClient({
      endpoint: sim.url, instanceId: sim.instanceId, accessKeyId: sim.accessKeyId, accessKeySecret: SECRET,
      timeoutMs: 2000, qps: 200, retry: { attempts: 2, baseMs: 10, maxMs: 20 }, log,
    });
    sim.failNext('server-error', { code: `InternalError.Phone${PHONE}` });
    sim.failNext('business-error', { code: `InvalidParameter.Phone${PHONE}` });
    const error = await client.listJobsByGroup('group-1', 1, 50).then(() => null, (e: unknown) => e as Error);
    expect(error).toBeInstanceOf(Error);
    // As a step logs what it could not do: the error object and a sentence quoting it.
    log.error({ err: error, request: { accessKeySecret: SECRET, headers: { authorization: `Bearer ${SECRET}` } } }, `sync failed: ${error!.message}`);
    expect(text()).toContain('InvalidParameter');
    expect(text()).toContain('139****5678');
    expectClean(text());
  });
});
