// Strings of the LLM usage page (/usage) and the task page's usage line (issue 12), in both languages.
import type { Catalogue } from './index.ts';

export const usageMessages: Catalogue = {
  zh: {
    'nav.usage': 'LLM 用量',
    'usage.title': 'LLM 用量与费用',
    'usage.intro': '最近 {days} 天每天的 LLM 分析次数、token 数与估算费用（重新分析也计入）。价格：输入每千 token ¥{input}，输出每千 token ¥{output}（LLM_PRICE_PER_1K_INPUT / LLM_PRICE_PER_1K_OUTPUT）。',
    'usage.col.day': '日期',
    'usage.col.analyses': '分析次数',
    'usage.col.input': '输入 token',
    'usage.col.output': '输出 token',
    'usage.col.cost': '估算费用（元）',
    'usage.total': '合计',
    'usage.task': 'LLM：{analyses} 次分析 · 输入 {input} token · 输出 {output} token · 估算费用 ¥{cost}',
  },
  en: {
    'nav.usage': 'LLM usage',
    'usage.title': 'LLM usage and cost',
    'usage.intro': 'LLM analyses, tokens and estimated cost per day over the last {days} days (re-run analyses included). Prices: ¥{input} per 1,000 input tokens, ¥{output} per 1,000 output tokens (LLM_PRICE_PER_1K_INPUT / LLM_PRICE_PER_1K_OUTPUT).',
    'usage.col.day': 'Day',
    'usage.col.analyses': 'Analyses',
    'usage.col.input': 'Input tokens',
    'usage.col.output': 'Output tokens',
    'usage.col.cost': 'Estimated cost (yuan)',
    'usage.total': 'Total',
    'usage.task': 'LLM: {analyses} analyses · {input} input tokens · {output} output tokens · estimated ¥{cost}',
  },
};
