// The LLM usage page /usage (issue 12): analyses, tokens and estimated cost per day over the last
// USAGE_DAYS days; and the same figures of one task, shown on its page. Figures are formatted here,
// once, for both.
import type { FastifyPluginAsync } from 'fastify';
import { readDailyLlmUsage, USAGE_DAYS, type LlmUsage } from '../../dashboard/llm-usage.ts';
import { pricesOf } from '../../metrics.ts';
import type { DashboardOptions } from '../dashboard.ts';

export interface UsageView {
  analyses: string;
  input: string;
  output: string;
  /** Yuan: four decimals below one yuan, where a few thousand tokens still show, else two. */
  cost: string;
}

const count = (n: number) => n.toLocaleString('en-US');

export function usageView(usage: LlmUsage): UsageView {
  return { analyses: count(usage.analyses), input: count(usage.inputTokens), output: count(usage.outputTokens), cost: usage.cost.toFixed(usage.cost < 1 ? 4 : 2) };
}

export const llmUsageRoutes: FastifyPluginAsync<DashboardOptions> = async (app, options) => {
  app.get('/usage', async (_request, reply) => {
    const prices = pricesOf(options.config);
    const { days, total } = await readDailyLlmUsage(options.reads.db, options.reads.clock.now(), options.config.timeZone, prices);
    return reply.view('pages/usage', {
      days: days.map((d) => ({ day: d.day, ...usageView(d) })),
      total: usageView(total),
      usageDays: USAGE_DAYS,
      prices: { input: String(prices.perThousandInput), output: String(prices.perThousandOutput) },
    });
  });
};
