// A failing dashboard request is logged without the personal data it carried: a lead search by
// phone that hits a database error must not put the number into the log (URL, message or error).
import { Writable } from 'node:stream';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPipelineDeps } from '../../server/cli/build-deps.ts';
import { loadConfig } from '../../server/config.ts';
import { createLogger } from '../../server/log.ts';
import { buildApp } from '../../server/web/build-app.ts';
import { givenLeads, givenTask } from '../helpers/builders.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { FAKE_LIVE_ENV } from '../helpers/run-cli.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => db?.drop());

describe('the log of a failed dashboard request', () => {
  it('names the path and the database error, never the phone number searched for', async () => {
    const lines: string[] = [];
    const sink = new Writable({ write: (chunk, _encoding, done) => (lines.push(String(chunk)), done()) });
    const log = createLogger('info', { pretty: false, destination: sink });
    const config = loadConfig({ ...FAKE_LIVE_ENV, DATABASE_URL: db.url });
    const app = await buildApp({ pipeline: buildPipelineDeps(config, log, { database: db }).deps, config, log });
    const taskId = await givenTask(db.db, { jobGroupId: 'g' });
    await givenLeads(db.db, taskId, [{ phone: '13912345678' }]);
    await db.db.execute(sql`RENAME TABLE af_lead_states TO af_lead_states_away`);
    try {
      const response = await app.inject({ url: `/tasks/${taskId}?q=13912345678`, headers: { accept: 'text/html' } });
      expect(response.statusCode).toBe(500);
    } finally {
      await db.db.execute(sql`RENAME TABLE af_lead_states_away TO af_lead_states`);
      await app.close();
    }
    const text = lines.join('');
    expect(text).toContain(`/tasks/${taskId}`);
    expect(text).toContain("af_lead_states' doesn't exist"); // what went wrong is still there
    expect(text).not.toMatch(/12345678|1234 ?5678/);
  });
});
