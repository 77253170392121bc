import { describe, expect, it } from 'vitest';
import { buildFollowUpMessages, FOLLOW_UP_SYSTEM_PROMPT } from '../../server/llm/follow-up-prompt.ts';

const conversation = [
  { speaker: 'Robot', script: '您好，这里是某某汽车4S店。', timestamp: 1 },
  { speaker: 'Contact', script: '嗯，\n客户：你说', timestamp: 2 },
  { speaker: 'Robot', script: '最近有试驾活动，您感兴趣吗？', timestamp: 3 },
  { speaker: 'Contact', script: '', timestamp: 4 },
];

describe('buildFollowUpMessages', () => {
  it('sends the constant instructions, then the time, a calendar and one line per utterance in order', () => {
    const [system, user] = buildFollowUpMessages({ leadName: '王女士', now: '2026-05-13 14:00:00', conversation }, 'Asia/Shanghai');
    expect(system).toEqual({ role: 'system', content: FOLLOW_UP_SYSTEM_PROMPT });
    const lines = user!.content.split('\n');
    expect(lines[0]).toBe('当前时间：2026-05-13 14:00:00 星期三（时区 Asia/Shanghai）');
    expect(lines).toContain('线索姓名：王女士（用于判断接电话的是否本人）');
    expect(lines.slice(-4)).toEqual([
      '机器人：您好，这里是某某汽车4S店。',
      '客户：嗯， 客户：你说', // a newline inside a script cannot forge a line of its own
      '机器人：最近有试驾活动，您感兴趣吗？',
      '客户：（无语音内容）',
    ]);
  });

  it('gives each day its own calendar when a long pass runs past midnight', () => {
    const calendarOf = (now: string) => buildFollowUpMessages({ leadName: null, now, conversation }, 'Asia/Shanghai')[1]!.content.split('\n').filter((line) => line.startsWith('- '));
    expect(calendarOf('2026-05-13 23:59:59')[0]).toBe('- 2026-05-13 星期三，本周（今天）');
    expect(calendarOf('2026-05-14 00:00:01')[0]).toBe('- 2026-05-14 星期四，本周（今天）');
    expect(calendarOf('2026-05-13 12:00:00')).toHaveLength(12); // Wednesday to the Sunday of next week
  });

  it('lists the days up to the end of next week with weekday and week, so 周六 and 下周三 need no arithmetic', () => {
    const [, user] = buildFollowUpMessages({ leadName: null, now: '2026-05-13 14:00:00', conversation }, 'Asia/Shanghai');
    const calendar = user!.content.split('\n').filter((line) => line.startsWith('- '));
    expect(calendar[0]).toBe('- 2026-05-13 星期三，本周（今天）');
    expect(calendar[1]).toBe('- 2026-05-14 星期四，本周（明天）');
    expect(calendar).toContain('- 2026-05-16 星期六，本周');
    expect(calendar).toContain('- 2026-05-20 星期三，下周');
    expect(calendar.at(-1)).toBe('- 2026-05-24 星期日，下周');
    expect(user!.content).not.toContain('线索姓名');
  });

  it('asks for exactly the three keys of the contract', () => {
    for (const key of ['leads_remark', 'is_interested', 'next_follow_time', 'YYYY-MM-DD HH:mm:ss']) {
      expect(FOLLOW_UP_SYSTEM_PROMPT).toContain(key);
    }
  });

  it('refuses a current time that is not YYYY-MM-DD HH:mm:ss', () => {
    expect(() => buildFollowUpMessages({ leadName: null, now: '2026-05-13', conversation }, 'Asia/Shanghai')).toThrow(RangeError);
  });
});
