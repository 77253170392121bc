import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createFollowUpAnalyzer, type FollowUpAnalyzerOptions } from '../../server/llm/client.ts';
import type { FollowUpRequest } from '../../server/llm/types.ts';
import { fromCrmDateTime } from '../../server/crm-time.ts';
import { startLlmSimulator, type LlmSimulator } from '../../server/simulator/llm.ts';
import { captureLog, type CapturedLog } from './capture-log.ts';

const timeZone = 'Asia/Shanghai';
const NOW = '2026-05-13 14:00:00'; // a Wednesday
const nowMs = fromCrmDateTime(NOW, timeZone)!;

let sim: LlmSimulator;
let logs: CapturedLog;

beforeEach(async () => {
  sim = await startLlmSimulator({ apiKey: 'sk-test-secret', now: () => nowMs, timeZone });
  logs = captureLog();
});
afterEach(async () => {
  await sim.stop();
});

function analyzer(overrides: Partial<FollowUpAnalyzerOptions> = {}) {
  return createFollowUpAnalyzer({
    baseUrl: sim.url,
    apiKey: sim.apiKey,
    model: 'qwen-plus',
    timeoutMs: 2000,
    concurrency: 4,
    retry: { attempts: 3, baseMs: 5, maxMs: 20 },
    timeZone,
    log: logs.log,
    now: () => nowMs,
    ...overrides,
  });
}

function call(...customerSays: string[]): FollowUpRequest {
  const conversation = [{ speaker: 'Robot', script: '您好，请问是王女士吗？这里是某某汽车4S店。', timestamp: 1 }];
  customerSays.forEach((script, i) => {
    conversation.push({ speaker: 'Contact', script, timestamp: 2 + 2 * i });
    conversation.push({ speaker: 'Robot', script: '好的，我帮您记下了。', timestamp: 3 + 2 * i });
  });
  return { leadName: '王女士', now: NOW, conversation };
}

describe('the follow-up analyser against an OpenAI-compatible server', () => {
  it('sends one request with the model, response_format json_object, a low temperature and every utterance in order', async () => {
    const request = call('是我，你说。', '我想试驾一下，明天下午三点可以吗？');
    await analyzer().analyse(request);

    expect(sim.requests).toHaveLength(1);
    const body = sim.requests[0]!.body;
    expect(body.model).toBe('qwen-plus');
    expect(body.response_format).toEqual({ type: 'json_object' });
    expect(body.temperature).toBeLessThanOrEqual(0.3);
    const transcript = body.messages.map((m: { content: string }) => m.content).join('\n').split('\n')
      .filter((line: string) => /^(机器人|客户)：/.test(line));
    expect(transcript).toEqual(request.conversation.map((u) => `${u.speaker === 'Robot' ? '机器人' : '客户'}：${u.script}`));
  });

  it('rates a customer who wants a test drive 1 and turns 明天下午三点 into a CRM-zone time', async () => {
    const result = await analyzer().analyse(call('我想试驾一下，明天下午三点可以吗？'));
    expect(result).toMatchObject({ ok: true, isInterested: 1, nextFollowTime: '2026-05-14 15:00:00' });
    expect(result.ok && result.remark).toContain('试驾');
  });

  it('resolves 周六上午 to the coming Saturday at 10:00', async () => {
    const result = await analyzer().analyse(call('周六上午我到店试驾看看。'));
    expect(result).toMatchObject({ ok: true, isInterested: 1, nextFollowTime: '2026-05-16 10:00:00' });
  });

  it('rates a customer who declines 2 with no follow time', async () => {
    expect(await analyzer().analyse(call('不需要，谢谢。'))).toMatchObject({ ok: true, isInterested: 2, nextFollowTime: null });
    expect(await analyzer().analyse(call('我已经买了，别再打了。'))).toMatchObject({ ok: true, isInterested: 2, nextFollowTime: null });
  });

  it('rates a conversation without a stance 0', async () => {
    expect(await analyzer().analyse(call('嗯。', '我现在在开车。'))).toMatchObject({ ok: true, isInterested: 0, nextFollowTime: null });
  });

  it('retries a 500 and a 429 and then returns the analysis', async () => {
    sim.failNext('server-error');
    sim.failNext('rate-limit', { delayMs: 5 });
    const result = await analyzer().analyse(call('我想试驾，明天下午三点。'));
    expect(result).toMatchObject({ ok: true, isInterested: 1 });
    expect(sim.requests).toHaveLength(3);
    expect(logs.warnings()).toHaveLength(0);
  });

  it('gives up after its attempts when the server keeps failing, with one warn line', async () => {
    sim.failNext('server-error', { times: 5 });
    expect(await analyzer().analyse(call('试驾。'))).toEqual({ ok: false, error: 'http 500' });
    expect(sim.requests).toHaveLength(3);
    expect(logs.warnings()).toHaveLength(1);
  });

  it('returns { ok: false, error: "timeout" } within attempts × timeout when the server hangs', async () => {
    sim.failNext('timeout', { times: 2 });
    const started = Date.now();
    const result = await analyzer({ timeoutMs: 150, retry: { attempts: 2, baseMs: 5, maxMs: 10 } }).analyse(call('试驾。'));
    expect(result).toEqual({ ok: false, error: 'timeout' });
    expect(sim.requests).toHaveLength(2);
    expect(Date.now() - started).toBeLessThan(2 * 150 + 500);
  });

  it('also times out a server that sends headers and then stalls the body', async () => {
    sim.failNext('stalled-body', { times: 2 });
    const started = Date.now();
    const result = await analyzer({ timeoutMs: 150, retry: { attempts: 2, baseMs: 5, maxMs: 10 } }).analyse(call('试驾。'));
    expect(result).toEqual({ ok: false, error: 'timeout' });
    expect(sim.requests).toHaveLength(2);
    expect(Date.now() - started).toBeLessThan(2 * 150 + 500);
  });

  it('does not retry a 400', async () => {
    sim.failNext('bad-request', { times: 3 });
    expect(await analyzer().analyse(call('试驾。'))).toEqual({ ok: false, error: 'http 400' });
    expect(sim.requests).toHaveLength(1);
  });

  it('does not retry a wrong API key (401)', async () => {
    expect(await analyzer({ apiKey: 'sk-wrong' }).analyse(call('试驾。'))).toEqual({ ok: false, error: 'http 401' });
  });

  it('fails each analysis, not its construction, when no API key is configured', async () => {
    expect(await analyzer({ apiKey: '' }).analyse(call('试驾。'))).toEqual({ ok: false, error: 'no api key' });
    expect(sim.requests).toHaveLength(0);
    expect(logs.warnings()).toHaveLength(1);
  });

  it('does not retry an answer that is not JSON: the pipeline records the analysis as failed', async () => {
    sim.failNext('not-json');
    // It was answered, so paid for: its tokens come along for the cost per task and day.
    expect(await analyzer().analyse(call('试驾。'))).toEqual({ ok: false, error: 'invalid json', usage: { inputTokens: expect.any(Number), outputTokens: expect.any(Number) } });
    expect(sim.requests).toHaveLength(1);
  });

  it('does not retry an answer that breaks the contract', async () => {
    sim.failNext('invalid-answer');
    expect(await analyzer().analyse(call('试驾。'))).toEqual({ ok: false, error: 'is_interested out of range', usage: { inputTokens: expect.any(Number), outputTokens: expect.any(Number) } });
    expect(sim.requests).toHaveLength(1);
  });

  it('retries when the server cannot be reached and then reports a connection error', async () => {
    const url = sim.url;
    await sim.stop();
    expect(await analyzer({ baseUrl: url }).analyse(call('试驾。'))).toEqual({ ok: false, error: 'connection error' });
    sim = await startLlmSimulator(); // afterEach stops it
  });

  it('logs failures without the API key, the lead name or the conversation', async () => {
    sim.failNext('server-error', { times: 3 });
    await analyzer().analyse(call('我的电话是13812345678，试驾。'));
    const warning = JSON.stringify(logs.warnings());
    expect(warning).toContain('http 500');
    for (const secret of ['sk-test-secret', '王女士', '13812345678', '试驾']) expect(warning).not.toContain(secret);
  });

  it('keeps at most `concurrency` requests in flight', async () => {
    sim.failNext('slow', { times: 9, delayMs: 30 });
    const llm = analyzer({ concurrency: 3 });
    const results = await Promise.all(Array.from({ length: 9 }, () => llm.analyse(call('试驾。'))));
    expect(results.every((r) => r.ok)).toBe(true);
    expect(sim.requests).toHaveLength(9);
    expect(sim.maxInFlight).toBe(3);
  });
});
