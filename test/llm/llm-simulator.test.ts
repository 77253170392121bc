import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildFollowUpMessages } from '../../server/llm/follow-up-prompt.ts';
import { startLlmSimulator, type LlmSimulator } from '../../server/simulator/llm.ts';

const timeZone = 'Asia/Shanghai';
let sim: LlmSimulator;

beforeEach(async () => {
  sim = await startLlmSimulator({ apiKey: 'sk-sim', timeZone });
});
afterEach(async () => {
  await sim.stop();
});

function post(body: unknown, apiKey = sim.apiKey, signal?: AbortSignal): Promise<Response> {
  return fetch(`${sim.url}/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal,
  });
}

/** What the simulated model answers when the customer says `says` at `now` (CRM zone). */
async function answerTo(says: string, now = '2026-05-13 14:00:00'): Promise<{ leads_remark: string; is_interested: number; next_follow_time: string | null }> {
  const conversation = [{ speaker: 'Robot', script: '您好，这里是某某汽车。', timestamp: 1 }, { speaker: 'Contact', script: says, timestamp: 2 }];
  const res = await post({ model: 'm', messages: buildFollowUpMessages({ leadName: null, now, conversation }, timeZone) });
  const completion = (await res.json()) as { choices: Array<{ message: { content: string } }> };
  expect(completion).toMatchObject({ object: 'chat.completion', model: 'm', choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant' } }] });
  return JSON.parse(completion.choices[0]!.message.content);
}

describe('the LLM simulator', () => {
  it('answers 401 without the right bearer key and records only authorised requests', async () => {
    const res = await post({ model: 'm', messages: [] }, 'sk-other');
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(/API key/);
    expect(sim.requests).toHaveLength(0);
  });

  it.each([
    ['明天下午三点来试驾', '2026-05-14 15:00:00'],
    ['后天上午到店', '2026-05-15 10:00:00'],
    ['周六上午试驾', '2026-05-16 10:00:00'],
    ['周日吧，可以', '2026-05-17 10:00:00'],
    ['下周三晚上八点半可以', '2026-05-20 20:30:00'],
    ['那就明天晚上吧，可以', '2026-05-14 19:00:00'],
    ['下午三点再打给我，可以', '2026-05-13 15:00:00'],
    ['上午再说吧，可以', '2026-05-14 10:00:00'],
    ['今天上午不方便，可以', null],
    ['三点吧，可以', null],
    ['便宜一点的话可以', null],
  ])('reads "%s" said on Wednesday 14:00 as %s', async (says, expected) => {
    expect((await answerTo(says)).next_follow_time).toBe(expected);
  });

  it('resolves a weekday named on that very day, after its hour, to next week', async () => {
    expect((await answerTo('周六上午试驾', '2026-05-16 11:00:00')).next_follow_time).toBe('2026-05-23 10:00:00');
  });

  it('judges interest by the customer\'s words only, and writes a Chinese remark', async () => {
    expect(await answerTo('我不感兴趣')).toMatchObject({ is_interested: 2, next_follow_time: null, leads_remark: expect.stringContaining('不感兴趣') });
    expect(await answerTo('这车多少钱？')).toMatchObject({ is_interested: 1, leads_remark: expect.stringContaining('多少钱') });
    expect(await answerTo('喂？')).toMatchObject({ is_interested: 0 });
  });

  it('answers faults in order, each for its number of times', async () => {
    sim.failNext('server-error', { times: 2 });
    sim.failNext('rate-limit', { delayMs: 7 });
    sim.failNext('bad-request');
    const body = { model: 'm', messages: [{ role: 'user', content: '客户：好的' }] };
    const statuses = [];
    for (let i = 0; i < 5; i += 1) {
      const res = await post(body);
      statuses.push([res.status, res.headers.get('retry-after-ms')]);
    }
    expect(statuses).toEqual([[500, null], [500, null], [429, '7'], [400, null], [200, null]]);
  });

  it('closes a hung request when stopped', async () => {
    sim.failNext('timeout');
    const pending = post({ model: 'm', messages: [] }).then(() => 'answered', () => 'closed');
    await expect.poll(() => sim.inFlight).toBe(1);
    await sim.stop();
    expect(await pending).toBe('closed');
    sim = await startLlmSimulator(); // afterEach stops it
  });
});
