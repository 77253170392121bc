// `npx autofollow demo` as a newcomer runs it: the simulators, its own database, and the demo tasks
// going from stage 2 to stage 4 with follow records, all through the real entry point.
import mysql from 'mysql2/promise';
import { describe, expect, it } from 'vitest';
import { migrateDatabase } from '../../server/db/migrate.ts';
import { urlFor } from '../helpers/database.ts';
import { runCli } from '../helpers/run-cli.ts';

describe('demo', () => {
  it('runs the demo tasks from stage 2 to 4 on the simulators, in autofollow_demo only', async () => {
    // What an operator's clicks in an earlier demo leave behind must not hold this one up.
    await migrateDatabase(urlFor('autofollow_demo'), 'autofollow_demo');
    const leftover = await mysql.createConnection({ uri: urlFor('autofollow_demo') });
    try {
      await leftover.query("REPLACE INTO af_settings (name, value, updated_at, updated_by) VALUES ('scheduler_paused', 'paused', UTC_TIMESTAMP(3), 'earlier demo')");
      await leftover.query("REPLACE INTO af_task_pauses (task_id, paused_at, paused_by) VALUES (1, UTC_TIMESTAMP(3), 'earlier demo')");
    } finally {
      await leftover.end();
    }
    const result = await runCli(['demo', '--until-done', '--port', '0', '--tick-ms', '100'], { DATABASE_URL: urlFor('autofollow') });
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/stage 2 -> 3/);
    expect(result.stderr).toMatch(/stage 3 -> 4/);
    expect(result.stderr).not.toMatch(/\b1[3-9]\d{9}\b/); // no whole phone number in the log

    const connection = await mysql.createConnection({ uri: urlFor('autofollow_demo') });
    try {
      const [tasks] = await connection.query<mysql.RowDataPacket[]>('SELECT task_name, task_type FROM call_tasks ORDER BY id');
      expect(tasks.map((t) => t.task_type)).toEqual([4, 4, 1]);
      const [[counts]] = await connection.query<mysql.RowDataPacket[]>(
        `SELECT (SELECT COUNT(*) FROM dcc_leads_follow) AS follows,
                (SELECT COUNT(*) FROM leads_task_list WHERE leads_follow_id IS NOT NULL) AS followed,
                (SELECT COUNT(DISTINCT leads_follow_id) FROM leads_task_list) AS distinctFollows`,
      );
      // 40 + 24 leads and 1 row sharing a customer's phone, less 2 never assigned, 1 rated by a
      // salesperson beforehand and 2 whose jobs were cancelled (left for 人工跟进).
      expect(counts).toEqual({ follows: 60, followed: 60, distinctFollows: 60 });
      const [cancelled] = await connection.query<mysql.RowDataPacket[]>(
        "SELECT l.call_job_id AS jobId, l.call_status AS status FROM leads_task_list l JOIN af_lead_states s ON s.lead_row_id = l.id WHERE s.last_job_status = 'Cancelled'",
      );
      expect(cancelled).toHaveLength(2);
      expect(cancelled.every((c) => c.jobId && c.status === null)).toBe(true);
      const [shared] = await connection.query<mysql.RowDataPacket[]>(
        'SELECT COUNT(*) AS n FROM leads_task_list WHERE call_job_id IS NOT NULL GROUP BY call_job_id HAVING COUNT(*) > 1',
      );
      expect(shared).toEqual([{ n: 2 }]); // two rows, one job, each with its own record
    } finally {
      await connection.end();
    }
  }, 120_000);

  it('rejects an unknown option with a one-line error and exit 2', async () => {
    const result = await runCli(['demo', '--bogus']);
    expect(result.code).toBe(2);
    expect(result.errorLines[0]).toBe('autofollow: unknown option "--bogus" for demo');
  });
});
