// What the pipeline needs from the LLM: one analysis per finished conversation (DESIGN §4).
import type { Utterance } from '../outboundbot/types.ts';

export type Interest = 0 | 1 | 2; // 0 无法判断 · 1 有意向 · 2 无意向

export interface FollowUpRequest {
  leadName: string | null;
  conversation: Utterance[];
  /** "YYYY-MM-DD HH:mm:ss" in the CRM zone: lets the model resolve "明天下午" to a date. */
  now: string;
}

/** The API's `usage` of the answer the analysis was made from (issue 12: tokens and cost). */
export interface TokenUsage {
  inputTokens: number;
  outputTokens: number;
}

export type FollowUpAnalysis = (
  | { ok: true; remark: string; isInterested: Interest; nextFollowTime: string | null }
  | { ok: false; error: string }
) & { usage?: TokenUsage };

export interface FollowUpAnalyzer {
  /** Never throws: timeouts, API errors and invalid answers come back as { ok: false } (DESIGN §3.5). */
  analyse(request: FollowUpRequest): Promise<FollowUpAnalysis>;
}
