// The follow-up analyser: one chat.completions request per conversation against any
// OpenAI-compatible server (DESIGN §4 "LLM exchange"), validated by parseFollowUp (DESIGN §3.5).
//
// The exchange itself is chat-completions.ts (plain node:http, no SDK). Retries are net/retry.ts, the same backoff and throttling-hint
// rules as the OutboundBot client's, each attempt is logged as "attempt n of m", and an
// invalid *answer* is never retried (it is a model's answer, not a transport fault: the pipeline
// records the analysis as failed so an operator can re-run it). Worst case wall time is about
// attempts × timeoutMs plus the backoff between them; keep that below LEASE_SECONDS (DESIGN §3.9).
//
// Throttling (429) is different (issue 12): it says the account's quota is spent, not that this
// request is at fault. A throttled call gives its place back, the concurrency shrinks
// (adaptive-concurrency.ts, AIMD), and the call waits its turn again, at the front, after any
// Retry-After. Those rounds do not use up RETRY_ATTEMPTS, so throttling never turns into an
// "AI分析失败" record while THROTTLED_ROUNDS last.
import type { Logger } from '../log.ts';
import { countLlmError, countLlmTokens, startLlmRequest, type LlmPrices } from '../metrics.ts';
import { withRetry } from '../net/retry.ts';
import { classifyLlmError, type LlmFailure } from './classify-llm-error.ts';
import { createChatCompletions } from './chat-completions.ts';
import { buildFollowUpMessages } from './follow-up-prompt.ts';
import { parseFollowUp } from './parse-follow-up.ts';
import { createAdaptiveConcurrency } from '../net/adaptive-concurrency.ts';
import type { FollowUpAnalysis, FollowUpAnalyzer, FollowUpRequest } from './types.ts';

export interface FollowUpAnalyzerOptions {
  baseUrl: string;
  apiKey: string;
  model: string;
  /** Per attempt. */
  timeoutMs: number;
  /** Analyses in flight at once (LLM_CONCURRENCY, DESIGN §3.10). */
  concurrency: number;
  /** attempts counts the first try: 1 means no retry. */
  retry: { attempts: number; baseMs: number; maxMs: number };
  timeZone: string;
  log: Logger;
  /** Epoch ms; "the future" of next_follow_time is judged against it. */
  now?: () => number;
  /** For the cost counted in /metrics (LLM_PRICE_PER_1K_INPUT / _OUTPUT); without it, tokens only. */
  prices?: LlmPrices;
}

/** Throttled rounds one analysis may go through before it is recorded as failed ("http 429"). */
export const THROTTLED_ROUNDS = 30;

/** Low but not zero: the answer should be stable, and a little freedom helps the remark read naturally. */
const TEMPERATURE = 0.1;

export function createFollowUpAnalyzer(options: FollowUpAnalyzerOptions): FollowUpAnalyzer {
  const log = options.log.child({ component: 'llm', model: options.model });
  // Commands that never analyse (diagnose, migrate) still build their deps, so a missing key fails
  // each analysis instead of start-up.
  if (!options.apiKey) return missingKeyAnalyzer(log);
  const now = options.now ?? Date.now;
  const attempts = Math.max(1, Math.floor(options.retry.attempts));
  const chatCompletions = createChatCompletions({ baseUrl: options.baseUrl, apiKey: options.apiKey, timeoutMs: options.timeoutMs });
  // A place is held across the retries of one analysis, backoff included: when the server fails,
  // our total request rate drops instead of other analyses taking the freed place (DESIGN §3.10).
  // A throttled call gives its place back and the limit shrinks (see the top of this file).
  const places = createAdaptiveConcurrency({ max: options.concurrency });

  /** `answered`: the server sent an answer (valid or not), so it is not overloaded. */
  type Attempted = FollowUpAnalysis & { attempt: number; answered?: true; throttled?: { retryAfterMs: number | null } };

  /** The analysis through the gate: throttled rounds wait their turn again, up to THROTTLED_ROUNDS. */
  async function throughGate(request: FollowUpRequest): Promise<Attempted> {
    for (let round = 1; ; round++) {
      const place = await places.acquire(round > 1);
      let result: Attempted;
      try {
        result = await attemptAll(request);
      } catch (error) {
        place.release();
        throw error;
      }
      if (result.throttled) {
        place.throttled(result.throttled.retryAfterMs);
        if (round < THROTTLED_ROUNDS) {
          log.debug({ round, limit: places.limit }, `LLM request throttled; waiting for a place again (round ${round} of ${THROTTLED_ROUNDS})`);
          continue;
        }
      } else if (result.answered) {
        place.succeeded();
      } else {
        place.release();
      }
      return result;
    }
  }

  async function attemptAll(request: FollowUpRequest): Promise<Attempted> {
    const body = {
      model: options.model,
      messages: buildFollowUpMessages(request, options.timeZone),
      response_format: { type: 'json_object' as const },
      temperature: TEMPERATURE,
    };
    let attempt = 0;
    try {
      return await withRetry(
        async (n) => {
          attempt = n;
          const finished = startLlmRequest();
          try {
            const completion = await chatCompletions(body).finally(finished);
            const content = completion.choices?.[0]?.message?.content;
            const analysis = content ? parseFollowUp(content, { now: now(), timeZone: options.timeZone }) : { ok: false as const, error: 'empty answer' };
            if (!analysis.ok) countLlmError(analysis.error);
            const usage = completion.usage ? { inputTokens: completion.usage.prompt_tokens ?? 0, outputTokens: completion.usage.completion_tokens ?? 0 } : undefined;
            if (usage) countLlmTokens(usage, options.prices ?? { perThousandInput: 0, perThousandOutput: 0 });
            // Every answer is paid for, usable or not: its tokens go to /metrics and with the analysis
            // to af_lead_states and the cost per task and day, a failed analysis's included.
            return { ...analysis, attempt: n, answered: true as const, ...(usage ? { usage } : {}) };
          } catch (error) {
            const failure = classifyLlmError(error);
            countLlmError(failure.reason);
            if (failure.retryable) throw new RetryableLlmFailure(failure);
            return { ok: false, error: failure.reason, attempt: n };
          }
        },
        {
          policy: { ...options.retry, attempts },
          // A 429 leaves the retries: the gate decides when it goes again (throughGate).
          isRetryable: (error) => error instanceof RetryableLlmFailure && !error.failure.throttled,
          retryAfterMs: (error) => (error as RetryableLlmFailure).failure.retryAfterMs ?? null,
          onRetry: ({ attempt: failed, delayMs, error }) =>
            log.debug({ reason: (error as RetryableLlmFailure).failure.reason, delayMs }, `LLM request failed, retrying (attempt ${failed} of ${attempts})`),
        },
      );
    } catch (error) {
      if (error instanceof RetryableLlmFailure) {
        const { reason, throttled, retryAfterMs } = error.failure;
        return { ok: false, error: reason, attempt, ...(throttled ? { throttled: { retryAfterMs: retryAfterMs ?? null } } : {}) };
      }
      throw error;
    }
  }

  return {
    async analyse(request) {
      const started = performance.now();
      try {
        const { attempt, throttled: _throttled, answered: _answered, ...analysis } = await throughGate(request);
        const durationMs = Math.round(performance.now() - started);
        if (analysis.ok) {
          log.debug({ lead: request.leadName, isInterested: analysis.isInterested, durationMs }, `LLM analysis done (attempt ${attempt} of ${attempts})`);
        } else {
          log.warn({ reason: analysis.error, durationMs }, `LLM analysis failed: ${analysis.error} (attempt ${attempt} of ${attempts})`);
        }
        return analysis;
      } catch (error) {
        // Only a bug (e.g. a malformed request.now) gets here; analyse() still must not throw.
        const reason = `unexpected error (${error instanceof Error ? error.message : String(error)})`;
        countLlmError(reason);
        log.warn({ reason }, 'LLM analysis failed');
        return { ok: false, error: reason };
      }
    },
  };
}

function missingKeyAnalyzer(log: Logger): FollowUpAnalyzer {
  return {
    async analyse() {
      countLlmError('no api key');
      log.warn({ reason: 'no api key' }, 'LLM analysis failed: no API key configured (set LLM_API_KEY)');
      return { ok: false, error: 'no api key' };
    },
  };
}

/** A transport failure worth another attempt; carried through withRetry, then turned into { ok: false }. */
class RetryableLlmFailure extends Error {
  constructor(readonly failure: LlmFailure) {
    super(failure.reason);
  }
}
