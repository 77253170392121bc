// sync_call_job_ids and query_task_execution overlap (issue 12): while the first writes the job ids it
// paired, the second already asks Outbound Bot for the leads whose job ids are written, so the
// request pipe does not idle for the seconds a large task's writes take. The first step writes in
// lead-id order and raises a mark after each batch: every lead with a row id up to the mark has the
// job this pass gives it. The second reads its pages by lead id and takes only a page that lies
// wholly under the mark (DESIGN §3.6's rules are the first step's, unchanged; only the timing moves).

export interface JobIdsWritten {
  /** The highest lead row id whose job id is settled; Infinity once every job id of the pass is. */
  readonly through: number;
  /** Resolves once the mark is above `mark`; rejects when the job-id step failed. */
  movedPast(mark: number): Promise<void>;
}

export interface JobIdsProgress {
  /** Every lead with a row id up to `leadRowId` has its job id for this pass. */
  writtenThrough(leadRowId: number): void;
}

export function createJobIdsWritten(): JobIdsWritten & JobIdsProgress & { failed(error: unknown): void } {
  let through = 0;
  let failure: { error: unknown } | null = null;
  let waiters: Array<{ resolve: () => void; reject: (e: unknown) => void }> = [];
  const wake = () => {
    const woken = waiters;
    waiters = [];
    for (const w of woken) (failure ? w.reject(failure.error) : w.resolve());
  };
  return {
    get through() {
      return through;
    },
    movedPast(mark) {
      if (failure) return Promise.reject(failure.error);
      if (through > mark) return Promise.resolve();
      return new Promise((resolve, reject) => waiters.push({ resolve, reject }));
    },
    writtenThrough(leadRowId) {
      if (leadRowId <= through) return;
      through = leadRowId;
      wake();
    },
    failed(error) {
      failure = { error };
      wake();
    },
  };
}

/** No overlap: the job-id step has already ended (a step run on its own). */
export const ALL_JOB_IDS_WRITTEN: JobIdsWritten = { through: Infinity, movedPast: () => Promise.resolve() };
