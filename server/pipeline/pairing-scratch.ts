// The job group's listing and the task's leads, kept in the database for the length of one sync
// (issue 12), so the process holds one range of phones at a time, not every job and lead of the
// task. Two temporary tables on one connection: private to it, so copies syncing one task never see
// each other's rows, and gone with it, so a crash leaves nothing behind.
//
// The pairing rules stay in pair-jobs-to-leads.ts, applied to one range of phones at a time with all
// the leads and jobs of those phones. Two facts need the whole task and are settled here: which of a
// job's phones owns it (the first the task has a lead for) and, for an incomplete listing, which
// jobs other leads of the task hold.
//
// Rows go through mysql2 directly: drizzle's builder costs microseconds per value, and a listing of
// 100,000 jobs brings hundreds of thousands of values.
import type { Connection, RowDataPacket } from 'mysql2/promise';
import { sessionOf, type Db } from '../db/client.ts';
import type { GroupJob } from '../outboundbot/types.ts';
import { normalizePhone } from '../phone.ts';
import type { ListingSink } from './job-group-listing.ts';
import type { LeadForPairing } from './pair-jobs-to-leads.ts';

/** Leads per range of phones (a phone with more leads than this is taken whole). */
export const PAIRING_CHUNK = 2000;

const LEADS = 'af_tmp_pairing_leads';
const JOBS = 'af_tmp_pairing_jobs';
const NEW_JOBS = 'af_tmp_pairing_new_jobs';

export interface PhoneRange {
  leads: LeadForPairing[];
  /** The jobs these leads' phones own, once each, in listing order. */
  jobs: GroupJob[];
  /** Of `jobs`, those some lead of the task holds (read only for an incomplete listing). */
  held: string[];
}

export interface PairingScratch extends ListingSink {
  /** Before any page: the leads decide which phone owns a job. */
  addLeads(leads: LeadForPairing[]): Promise<void>;
  ranges(options: { withHeld: boolean }): AsyncGenerator<PhoneRange>;
  /** Jobs the pairing gave to leads that had none, kept until every range is paired. */
  addNewJobs(moves: ReadonlyArray<{ leadRowId: number; toJobId: string }>): Promise<void>;
  /** Those new jobs back in lead-id order, `size` at a time. */
  newJobsInLeadOrder(size: number): AsyncGenerator<Array<{ leadRowId: number; toJobId: string }>>;
  close(): Promise<void>;
}

/** `chunk`: leads per range (tests use small ones to cross many range edges). */
export async function openPairingScratch(db: Db, { chunk = PAIRING_CHUNK }: { chunk?: number } = {}): Promise<PairingScratch> {
  const session = await sessionOf(db);
  try {
    await createTables(session);
  } catch (error) {
    session.destroy();
    throw error;
  }
  const query = async <T extends RowDataPacket>(text: string, values: unknown[] = []) => (await session.query<T[]>(text, values))[0];

  return {
    async addLeads(leads) {
      if (leads.length === 0) return;
      await session.query(`INSERT INTO ${LEADS} (phone, lead_row_id, raw_phone, job_id, done, followed, final) VALUES ?`, [
        leads.map((l) => [normalizePhone(l.phone), l.id, l.phone, l.jobId, l.done, l.followed, l.final]),
      ]);
    },

    async addPage(page, jobs) {
      if (jobs.length === 0) return;
      const phones = [...new Set(jobs.flatMap((j) => j.phoneNumbers.map(normalizePhone)))];
      const taskPhones = new Set(phones.length === 0 ? [] : (await query<RowDataPacket>(`SELECT DISTINCT phone FROM ${LEADS} WHERE phone IN (?)`, [phones])).map((r) => r.phone as string));
      await session.query(`INSERT INTO ${JOBS} (page, idx, job_id, phone, raw_phone) VALUES ?`, [
        jobs.map((job, i) => {
          // A job belongs to the first of its phones that the task has a lead for (pair-jobs-to-leads.ts).
          const owner = job.phoneNumbers.find((p) => taskPhones.has(normalizePhone(p)));
          return [page, i, job.jobId, owner === undefined ? null : normalizePhone(owner), owner ?? null];
        }),
      ]);
    },

    async clear() {
      await session.query(`DELETE FROM ${JOBS}`);
    },

    async distinctJobs() {
      const [row] = await query<RowDataPacket>(`SELECT COUNT(DISTINCT job_id) AS n FROM ${JOBS}`);
      return Number(row!.n);
    },

    async *ranges({ withHeld }) {
      let after: string | null = null;
      for (;;) {
        const rows = await query<RowDataPacket>(
          `SELECT phone, lead_row_id, raw_phone, job_id, done, followed, final FROM ${LEADS} ${after === null ? '' : 'WHERE phone > ?'} ORDER BY phone, lead_row_id LIMIT ?`,
          after === null ? [chunk] : [after, chunk],
        );
        if (rows.length === 0) return;
        const last = rows[rows.length - 1]!;
        if (rows.length === chunk) {
          // The last phone may go on past the chunk: a range holds whole phones only.
          if (rows[0]!.phone === last.phone) {
            rows.push(...(await query<RowDataPacket>(`SELECT phone, lead_row_id, raw_phone, job_id, done, followed, final FROM ${LEADS} WHERE phone = ? AND lead_row_id > ? ORDER BY lead_row_id`, [last.phone, last.lead_row_id])));
          } else {
            while (rows[rows.length - 1]!.phone === last.phone) rows.pop();
          }
        }
        const from = rows[0]!.phone as string;
        const to = rows[rows.length - 1]!.phone as string;
        after = to;
        const jobRows = await query<RowDataPacket>(`SELECT job_id, raw_phone FROM ${JOBS} WHERE phone BETWEEN ? AND ? ORDER BY page, idx`, [from, to]);
        const seen = new Set<string>();
        const jobs: GroupJob[] = [];
        for (const r of jobRows) {
          if (seen.has(r.job_id)) continue; // listed twice (moved between pages): its first place counts
          seen.add(r.job_id);
          jobs.push({ jobId: r.job_id, phoneNumbers: [r.raw_phone], referenceIds: [], status: 'Scheduling', failureReason: null });
        }
        const held = withHeld && jobs.length > 0
          ? (await query<RowDataPacket>(`SELECT DISTINCT job_id FROM ${LEADS} WHERE job_id IN (?)`, [jobs.map((j) => j.jobId)])).map((r) => r.job_id as string)
          : [];
        yield {
          leads: rows.map((r) => ({ id: r.lead_row_id, phone: r.raw_phone, jobId: r.job_id, done: !!r.done, followed: !!r.followed, final: !!r.final })),
          jobs,
          held,
        };
      }
    },

    async addNewJobs(moves) {
      if (moves.length === 0) return;
      await session.query(`INSERT INTO ${NEW_JOBS} (lead_row_id, job_id) VALUES ?`, [moves.map((m) => [m.leadRowId, m.toJobId])]);
    },

    async *newJobsInLeadOrder(size) {
      let after = 0;
      for (;;) {
        const rows = await query<RowDataPacket>(`SELECT lead_row_id, job_id FROM ${NEW_JOBS} WHERE lead_row_id > ? ORDER BY lead_row_id LIMIT ?`, [after, size]);
        if (rows.length === 0) return;
        after = rows[rows.length - 1]!.lead_row_id as number;
        yield rows.map((r) => ({ leadRowId: r.lead_row_id as number, toJobId: r.job_id as string }));
      }
    },

    async close() {
      try {
        await session.end(); // its temporary tables go with it
      } catch {
        session.destroy(); // its temporary tables go with it
      }
    },
  };
}

async function createTables(session: Connection): Promise<void> {
  await session.query(`DROP TEMPORARY TABLE IF EXISTS ${LEADS}, ${JOBS}, ${NEW_JOBS}`);
  // phone: normalised (phone.ts); raw_phone: as stored or listed, handed to the pairing unchanged.
  // Binary collation: ids and phones compare as the pairing compares them, byte for byte.
  await session.query(`CREATE TEMPORARY TABLE ${LEADS} (
    phone VARCHAR(64) NOT NULL, lead_row_id INT UNSIGNED NOT NULL, raw_phone VARCHAR(64) NOT NULL,
    job_id VARCHAR(128) NULL, done TINYINT NOT NULL, followed TINYINT NOT NULL, final TINYINT NOT NULL,
    PRIMARY KEY (phone, lead_row_id), KEY by_job (job_id)
  ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`);
  // phone: the owning phone, normalised; NULL when the task has no lead for any of the job's phones.
  await session.query(`CREATE TEMPORARY TABLE ${JOBS} (
    page INT NOT NULL, idx INT NOT NULL, job_id VARCHAR(128) NOT NULL, phone VARCHAR(128) NULL, raw_phone VARCHAR(128) NULL,
    PRIMARY KEY (page, idx), KEY by_phone (phone, page, idx)
  ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`);
  await session.query(`CREATE TEMPORARY TABLE ${NEW_JOBS} (
    lead_row_id INT UNSIGNED NOT NULL PRIMARY KEY, job_id VARCHAR(128) NOT NULL
  ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`);
}
