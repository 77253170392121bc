// At most `limit` LLM analyses run at once (LLM_CONCURRENCY, DESIGN §3.10). Kept here rather than
// shared: the LLM client only needs a counter and a FIFO queue, nothing rate-based.

export class Semaphore {
  private active = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`Semaphore limit must be a whole number of at least 1, got ${limit}`);
  }

  /** Runs `task` once a slot is free; the slot is released however `task` ends. */
  async run<T>(task: () => Promise<T>): Promise<T> {
    await this.acquire();
    try {
      return await task();
    } finally {
      this.release();
    }
  }

  private acquire(): Promise<void> {
    if (this.active < this.limit) {
      this.active += 1;
      return Promise.resolve();
    }
    // The releasing caller hands its slot straight to the next waiter, so `active` never dips and
    // a newcomer cannot overtake a queued task.
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.active -= 1;
  }
}
