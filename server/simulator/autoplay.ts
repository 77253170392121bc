// Autoplay: moves the simulator's jobs through their life on a timer, with a weighted mix of
// outcomes, so the demo shows calls being dialled, answered, missed and late conversations.
import type { JobOutcome, SimulatedJob } from './simulated-jobs.ts';

export interface AutoplayMix { interested: number; notInterested: number; unclear: number; failed: number; lateConversation: number }
export interface AutoplayOptions { intervalMs: number; /** jobs moved per stage per tick (default 3) */ perTick?: number; mix?: AutoplayMix; random?: () => number }

const DEFAULT_MIX: AutoplayMix = { interested: 3, notInterested: 3, unclear: 1, failed: 3, lateConversation: 1 };
const FAILURES = [
  { taskStatus: 'NoAnswer', failureReason: 'NoAnswer', weight: 5 },
  { taskStatus: 'Busy', failureReason: 'NoAnswer', weight: 2 },
  { taskStatus: 'PoweredOff', failureReason: 'CallFailed', weight: 2 },
  { taskStatus: 'Failed', failureReason: 'CallFailed', weight: 1 },
];

export interface AutoplayTarget {
  jobs(): SimulatedJob[];
  startJob(jobId: string): void;
  finishJob(jobId: string, outcome: JobOutcome): void;
  attachConversation(jobId: string): void;
}

/** Each tick: release withheld conversations that waited long enough, finish calls started on an earlier tick, dial new jobs. */
export function startAutoplay(target: AutoplayTarget, options: AutoplayOptions): () => void {
  const random = options.random ?? Math.random;
  const perTick = options.perTick ?? 3;
  const mix = options.mix ?? DEFAULT_MIX;
  const withheld = new Map<string, number>(); // jobId -> ticks left before the conversation appears
  const dialledThisTick = new Set<string>();

  function outcome(): JobOutcome {
    const kinds: Array<[keyof AutoplayMix, number]> = Object.entries(mix) as Array<[keyof AutoplayMix, number]>;
    const pick = pickWeighted(kinds.map(([k, w]) => ({ k, weight: w })), random).k;
    if (pick === 'failed') {
      const f = pickWeighted(FAILURES, random);
      return { status: 'Failed', failureReason: f.failureReason, taskStatus: f.taskStatus };
    }
    if (pick === 'lateConversation') {
      const kind = (['interested', 'not-interested', 'unclear'] as const)[Math.floor(random() * 3)]!;
      return { status: 'Succeeded', kind, conversationAvailable: false };
    }
    return { status: 'Succeeded', kind: pick === 'notInterested' ? 'not-interested' : pick };
  }

  function tick(): void {
    for (const [jobId, left] of withheld) {
      if (left > 1) withheld.set(jobId, left - 1);
      else {
        withheld.delete(jobId);
        target.attachConversation(jobId);
      }
    }
    const all = target.jobs();
    const executing = all.filter((j) => j.status === 'Executing' && !dialledThisTick.has(j.jobId)).slice(0, perTick);
    for (const job of executing) {
      const result = outcome();
      target.finishJob(job.jobId, result);
      if (result.status === 'Succeeded' && result.conversationAvailable === false) withheld.set(job.jobId, 1 + Math.floor(random() * 2));
    }
    dialledThisTick.clear();
    for (const job of all.filter((j) => j.status === 'Scheduling').slice(0, perTick)) {
      target.startJob(job.jobId);
      dialledThisTick.add(job.jobId);
    }
  }

  const timer = setInterval(tick, options.intervalMs);
  return () => clearInterval(timer);
}

function pickWeighted<T extends { weight: number }>(items: T[], random: () => number): T {
  const total = items.reduce((sum, item) => sum + Math.max(0, item.weight), 0);
  let roll = random() * total;
  for (const item of items) {
    roll -= Math.max(0, item.weight);
    if (roll < 0) return item;
  }
  return items.at(-1)!;
}
