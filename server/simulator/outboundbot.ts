// A faithful stand-in for the Outbound Bot OpenAPI (2019-12-26) over real HTTP on loopback
// (DESIGN §5). It follows reference/outboundbot-api.md §7: routes on x-acs-action (or Action),
// accepts GET and POST, merges query and form params, reads Name.N lists, answers with the
// §2.7 envelope or the §5.1 error shapes, keeps the quirky spellings (PlanedTime, RowCount vs
// TotalCount, ModifyTime as a string). Tests and the demo drive its state in-process.
//
// This file assembles the parts: simulated-jobs.ts (state and transitions), outboundbot-actions.ts
// (what each action answers), outboundbot-http.ts (routing, envelope, signature, faults) and
// autoplay.ts (jobs moving on a timer).
import { randomUUID } from 'node:crypto';
import type { Logger } from '../log.ts';
import { startAutoplay, type AutoplayOptions } from './autoplay.ts';
import { createFaultQueue, type FaultName, type FaultOptions } from './faults.ts';
import { createListingBehaviour, createOutboundBotActions } from './outboundbot-actions.ts';
import { listenOutboundBotHttp, type RecordedRequest } from './outboundbot-http.ts';
import { createSimulatedJobs, type JobGroupSpec, type JobOutcome, type SimContact, type SimulatedJob } from './simulated-jobs.ts';

export { API_VERSION } from './outboundbot-http.ts';
export type { RecordedRequest } from './outboundbot-http.ts';
export type { AutoplayMix, AutoplayOptions } from './autoplay.ts';
export { CALLING_NUMBERS, SCRIPTS } from './simulated-jobs.ts';
export type { JobGroupSpec, JobOutcome, SimContact, SimulatedJob, SimulatedTask, SimUtterance } from './simulated-jobs.ts';

export interface OutboundBotSimulatorOptions {
  instanceId?: string; accessKeyId?: string; accessKeySecret?: string;
  /** Check the ACS3-HMAC-SHA256 signature (reference §6.4) and answer SignatureDoesNotMatch. */
  verifySignature?: boolean;
  /** Clock for job and call times (epoch ms). */
  now?: () => number;
  log?: Logger;
}

export interface OutboundBotSimulator {
  readonly url: string; readonly instanceId: string; readonly accessKeyId: string; readonly accessKeySecret: string;
  readonly requests: RecordedRequest[];
  /** The most requests it was answering at once since the last resetRequests(). */
  readonly maxInFlight: number;
  createJobGroup(nameOrSpec?: string | JobGroupSpec): string;
  /** The group ends: AssignJobs into it answers JobGroupCompleted, DescribeJobGroup says Completed. */
  endJobGroup(jobGroupId: string): void;
  /** Every job group, for tests that count them. */
  jobGroups(): Array<{ jobGroupId: string; name: string; ended: boolean }>;
  assignJobs(jobGroupId: string, contacts: SimContact[]): string[];
  startJob(jobId: string): void;
  finishJob(jobId: string, outcome: JobOutcome): void;
  attachConversation(jobId: string): void;
  cancelJob(jobId: string): void;
  removeJob(jobId: string): void;
  /** ListJobsByGroup answers at most `size` jobs a page (null: back to normal); `echoRequested`: it still reports the PageSize asked for. */
  capPageSize(size: number | null, options?: { echoRequested?: boolean }): void;
  /** The group gets these jobs right after the next page of it is answered: it grows mid-listing. */
  addJobsWhileListing(jobGroupId: string, contacts: SimContact[]): void;
  jobsOf(jobGroupId: string): SimulatedJob[];
  autoplay(options: AutoplayOptions): () => void;
  failNext(fault: FaultName, options?: FaultOptions): void;
  /** Every answer without a fault comes this many ms late (0: at once), like a distant API. */
  setLatency(ms: number): void;
  /** Answers wait (requests are still recorded) until the returned release is called. */
  holdAnswers(): () => void;
  /** Drops faults still queued (a test that queued more than it used leaves none for the next). */
  clearFaults(): void;
  resetRequests(): void;
  stop(): Promise<void>;
}

export async function startOutboundBotSimulator(options: OutboundBotSimulatorOptions = {}): Promise<OutboundBotSimulator> {
  const instanceId = options.instanceId ?? randomUUID();
  const accessKeyId = options.accessKeyId ?? 'sim-access-key-id';
  const accessKeySecret = options.accessKeySecret ?? 'sim-access-key-secret';
  const now = options.now ?? Date.now;
  const state = createSimulatedJobs(now);
  const requests: RecordedRequest[] = [];
  const faults = createFaultQueue();
  const stoppers = new Set<() => void>();
  const listing = createListingBehaviour();
  const latency = { ms: 0 };
  const hold: { until: Promise<void> | null } = { until: null };
  const server = await listenOutboundBotHttp({
    actions: createOutboundBotActions({ state, instanceId, now, listing }),
    faults, requests, accessKeyId, accessKeySecret, verifySignature: options.verifySignature, log: options.log, latency, hold,
  });
  const { createJobGroup, endJobGroup, assignJobs, startJob, finishJob, attachConversation, cancelJob, removeJob, jobsOf } = state;

  return {
    url: server.url,
    get maxInFlight() { return server.maxInFlight; },
    instanceId, accessKeyId, accessKeySecret, requests,
    createJobGroup, endJobGroup, assignJobs, startJob, finishJob, attachConversation, cancelJob, removeJob, jobsOf,
    jobGroups: () => [...state.groups.values()].map((g) => ({ jobGroupId: g.jobGroupId, name: g.name, ended: g.ended })),
    capPageSize(size, capOptions) {
      listing.maxPageSize = size;
      listing.echoRequestedPageSize = capOptions?.echoRequested ?? false;
    },
    addJobsWhileListing(jobGroupId, contacts) {
      listing.addAfterNextPage.push({ jobGroupId, contacts });
    },
    autoplay(autoplayOptions) {
      const stop = startAutoplay({ jobs: () => [...state.jobs.values()], startJob, finishJob, attachConversation }, autoplayOptions);
      stoppers.add(stop);
      return () => {
        stop();
        stoppers.delete(stop);
      };
    },
    failNext(fault, faultOptions) {
      faults.add(fault, faultOptions);
    },
    setLatency(ms) {
      latency.ms = Math.max(0, ms);
    },
    holdAnswers() {
      let release!: () => void;
      hold.until = new Promise<void>((resolve) => (release = resolve));
      return () => {
        hold.until = null;
        release();
      };
    },
    clearFaults() {
      faults.clear();
    },
    resetRequests() {
      requests.length = 0;
      server.resetMaxInFlight();
    },
    async stop() {
      for (const stop of stoppers) stop();
      await server.close();
    },
  };
}
