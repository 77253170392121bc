// Which job each lead of a task follows, decided from a listing of its job group (DESIGN §3.6).
// Pure: no SQL, no HTTP, so the rules read in one place and are tested on their own.
//
// Per phone, the jobs in listing order (oldest first) and the task's rows with that phone:
// - a lead that has its follow record (or its interest, set by a person) is done: it keeps its job,
//   and one without a job still gets its phone's job (spec 3.1), never moved after;
// - the open leads take the newest jobs no done lead holds, one job each; a lead already on one of
//   those keeps it, so nothing moves without a reason;
// - when there are fewer such jobs than open leads, the rest share the phone's latest job (spec 3.1
//   updates every row with the phone), and each still gets its own follow record;
// - a lead with a final call status is never moved: its result is in, only its record is owed.
// An incomplete listing proves neither absence nor "newest": it only gives a lead without a job a
// job of its phone that no lead of the task holds.
import { normalizePhone } from '../phone.ts';
import type { GroupJob } from '../outboundbot/types.ts';

export interface LeadForPairing {
  id: number;
  phone: string;
  jobId: string | null;
  /** Has its follow record, or is_interested set by a person: never moved (DESIGN §3.6). */
  done: boolean;
  /** Has its follow record (the pipeline's or a person's 人工跟进): gets no job at all any more. */
  followed: boolean;
  /** call_status is Succeeded or Failed: the result is in, the lead stays on its job. */
  final: boolean;
}

export interface JobMove {
  leadRowId: number;
  /** null: the lead had no job yet. */
  fromJobId: string | null;
  toJobId: string;
}

export interface Pairing {
  moves: JobMove[];
  /** Leads without a job whose phone a complete listing does not contain. */
  absent: number[];
}

/**
 * `heldElsewhere`: jobs that leads of the task not among `leads` hold. The sync pairs a task a range
 * of phones at a time (pairing-scratch.ts), and with an incomplete listing a job any lead of the task
 * holds is not free. A job belongs to one phone, so nothing else crosses phones.
 */
export function pairJobsToLeads(leads: LeadForPairing[], jobs: GroupJob[], complete: boolean, heldElsewhere: Iterable<string> = []): Pairing {
  const leadsByPhone = groupBy(leads, (l) => normalizePhone(l.phone));
  const jobsByPhone = new Map<string, GroupJob[]>();
  for (const job of jobs) {
    // A job belongs to the first of its phones that the task has a lead for.
    const phone = job.phoneNumbers.map(normalizePhone).find((p) => leadsByPhone.has(p));
    if (phone !== undefined) jobsByPhone.set(phone, [...(jobsByPhone.get(phone) ?? []), job]);
  }
  const held = new Set([...leads.map((l) => l.jobId).filter((id): id is string => !!id), ...heldElsewhere]);
  const moves: JobMove[] = [];
  const absent: number[] = [];
  for (const [phone, phoneLeads] of leadsByPhone) {
    const phoneJobs = (jobsByPhone.get(phone) ?? []).map((j) => j.jobId);
    if (complete) {
      moves.push(...pairPhone(phoneLeads, phoneJobs));
      if (phoneJobs.length === 0) absent.push(...phoneLeads.filter(waitsForJob).map((l) => l.id));
    } else {
      moves.push(...pairWaitingOnly(phoneLeads, phoneJobs, held));
    }
  }
  return { moves, absent };
}

function pairPhone(phoneLeads: LeadForPairing[], phoneJobs: string[]): JobMove[] {
  if (phoneJobs.length === 0) return [];
  // Open leads first, then done ones that never had a job; everyone else stays where they are.
  const participants = [...phoneLeads.filter((l) => !l.done && !l.final), ...phoneLeads.filter(needsFirstJob)];
  if (participants.length === 0) return [];
  const taking = new Set(participants);
  const kept = new Set(phoneLeads.filter((l) => !taking.has(l)).map((l) => l.jobId));
  const free = phoneJobs.filter((id) => !kept.has(id));
  const chosen = free.slice(-participants.length);
  const unclaimed = new Set(chosen);
  const staying = new Set<number>();
  for (const l of participants) {
    if (l.jobId && unclaimed.has(l.jobId)) {
      unclaimed.delete(l.jobId);
      staying.add(l.id);
    }
  }
  const left = chosen.filter((id) => unclaimed.has(id));
  const latest = phoneJobs[phoneJobs.length - 1]!;
  const moves: JobMove[] = [];
  for (const l of participants) {
    if (staying.has(l.id)) continue;
    const to = left.shift() ?? latest;
    if (to !== l.jobId) moves.push({ leadRowId: l.id, fromJobId: l.jobId, toJobId: to });
  }
  return moves;
}

/** Handled by a person before any call (is_interested set, no follow record, no job): spec 3.1 still gives it its job. */
const needsFirstJob = (l: LeadForPairing) => l.done && !l.followed && !l.jobId && !l.final;

/** A lead that waits for its first job: not final, no follow record. */
const waitsForJob = (l: LeadForPairing) => !l.jobId && !l.followed && !l.final;

function pairWaitingOnly(phoneLeads: LeadForPairing[], phoneJobs: string[], held: Set<string>): JobMove[] {
  const free = phoneJobs.filter((id) => !held.has(id));
  const moves: JobMove[] = [];
  for (const l of [...phoneLeads.filter((l) => !l.done), ...phoneLeads.filter((l) => l.done)]) {
    if (!waitsForJob(l)) continue;
    const to = free.pop(); // the newest first, as with a complete listing: a re-call's new job, not the old one
    if (to === undefined) break;
    held.add(to);
    moves.push({ leadRowId: l.id, fromJobId: null, toJobId: to });
  }
  return moves;
}

function groupBy<T>(items: T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) groups.set(key(item), [...(groups.get(key(item)) ?? []), item]);
  return groups;
}
