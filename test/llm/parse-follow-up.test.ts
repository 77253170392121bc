import { describe, expect, it } from 'vitest';
import { MAX_REMARK_CHARS, parseFollowUp } from '../../server/llm/parse-follow-up.ts';
import { fromCrmDateTime } from '../../server/crm-time.ts';

const timeZone = 'Asia/Shanghai';
const now = fromCrmDateTime('2026-05-13 14:00:00', timeZone)!;
const parse = (content: string) => parseFollowUp(content, { now, timeZone });
const answer = (fields: Record<string, unknown>) =>
  JSON.stringify({ leads_remark: '客户想试驾，约明天下午到店。', is_interested: 1, next_follow_time: '2026-05-14 15:00:00', ...fields });

describe('parseFollowUp accepts', () => {
  it('a valid answer, trimming the remark', () => {
    expect(parse(answer({ leads_remark: '  客户想试驾。 ' }))).toEqual({
      ok: true, remark: '客户想试驾。', isInterested: 1, nextFollowTime: '2026-05-14 15:00:00',
    });
  });

  it('every interest value 0, 1 and 2, and the digit as a string', () => {
    for (const value of [0, 1, 2, '0', '1', '2']) {
      expect(parse(answer({ is_interested: value }))).toMatchObject({ ok: true, isInterested: Number(value) });
    }
  });

  it('null, "" or an absent next_follow_time as no time', () => {
    expect(parse(answer({ next_follow_time: null }))).toMatchObject({ ok: true, nextFollowTime: null });
    expect(parse(answer({ next_follow_time: '' }))).toMatchObject({ ok: true, nextFollowTime: null });
    expect(parse(JSON.stringify({ leads_remark: '客户未表态。', is_interested: 0 }))).toMatchObject({ ok: true, nextFollowTime: null });
  });

  it('a past time, or now itself, as no time: the remark and the interest stand', () => {
    for (const past of ['2026-05-13 09:00:00', '2026-05-13 14:00:00', '2025-01-01 10:00']) {
      expect(parse(answer({ next_follow_time: past }))).toEqual({ ok: true, remark: '客户想试驾，约明天下午到店。', isInterested: 1, nextFollowTime: null });
    }
  });

  it('a time without seconds, normalised to YYYY-MM-DD HH:mm:ss', () => {
    expect(parse(answer({ next_follow_time: '2026-05-16 10:00' }))).toMatchObject({ ok: true, nextFollowTime: '2026-05-16 10:00:00' });
  });

  it('a ```json fence around the object, and ignores extra keys', () => {
    const fenced = '```json\n' + answer({ confidence: 0.9 }) + '\n```';
    expect(parse(fenced)).toMatchObject({ ok: true, isInterested: 1 });
  });

  it('an overlong remark, cut to the cap', () => {
    const result = parse(answer({ leads_remark: '很'.repeat(MAX_REMARK_CHARS + 50) }));
    expect(result.ok && Array.from(result.remark)).toHaveLength(MAX_REMARK_CHARS);
  });
});

describe('parseFollowUp rejects', () => {
  it.each([
    ['an empty remark', answer({ leads_remark: '   ' }), 'leads_remark missing or empty'],
    ['a remark that is not text', answer({ leads_remark: 42 }), 'leads_remark missing or empty'],
    ['is_interested 3', answer({ is_interested: 3 }), 'is_interested out of range'],
    ['is_interested "x"', answer({ is_interested: 'x' }), 'is_interested out of range'],
    ['is_interested 1.5', answer({ is_interested: 1.5 }), 'is_interested out of range'],
    ['is_interested true', answer({ is_interested: true }), 'is_interested out of range'],
    ['a missing is_interested', JSON.stringify({ leads_remark: '客户未表态。', next_follow_time: null }), 'is_interested missing'],
    ['a time more than a year ahead', answer({ next_follow_time: '2099-01-01 10:00:00' }), 'next_follow_time more than a year ahead'],
    ['a malformed time', answer({ next_follow_time: '明天下午三点' }), 'next_follow_time malformed'],
    ['an impossible date', answer({ next_follow_time: '2026-02-30 10:00:00' }), 'next_follow_time malformed'],
    ['an ISO time with a zone', answer({ next_follow_time: '2026-05-14T15:00:00+08:00' }), 'next_follow_time malformed'],
    ['a time given as a number', answer({ next_follow_time: 1778742000000 }), 'next_follow_time malformed'],
    ['an array', '[1, 2]', 'answer is not a json object'],
    ['a bare string', '"有意向"', 'answer is not a json object'],
    ['prose', '客户很有意向。', 'invalid json'],
    ['an object wrapped in prose', `好的，分析如下：${answer({})}`, 'invalid json'],
    ['nothing', '', 'invalid json'],
  ])('%s', (_name, content, error) => {
    expect(parse(content)).toEqual({ ok: false, error });
  });
});
