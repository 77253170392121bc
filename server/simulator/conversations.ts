// Scripted car-dealer follow-up calls between the bot ("Robot") and the lead ("Contact").
// The LLM simulator tells the three kinds apart by keywords in the Contact's lines only:
//   interested      Contact mentions 试驾 and a time (明天下午三点, 周六上午, …)
//   not-interested  Contact says 不需要 or 已经买了
//   unclear         none of those words from the Contact (the Robot may still say 试驾)
// Keep these keyword sets disjoint when editing the scripts below.

export type ConversationKind = 'interested' | 'not-interested' | 'unclear';

/** One utterance in the simulator's own shape; serialised as the API's Conversation[] item. */
export interface ConversationLine {
  speaker: 'Robot' | 'Contact';
  script: string;
  timestamp: number; // epoch ms
  action: string; // reference §4.6
  sequenceId: string;
}

type Turn = [speaker: 'Robot' | 'Contact', script: string, pauseMs?: number];

function opening(name: string): Turn[] {
  return [
    ['Robot', `您好，请问是${name}吗？我是星辰汽车4S店的顾问小王。`],
    ['Contact', '嗯，是我，什么事？', 2500],
    ['Robot', '您之前在我们店留了信息，咨询过新款SUV，这周店里有到店礼和置换补贴，想问问您最近方便来店看看车、试驾一下吗？'],
  ];
}

const SCRIPTS: Record<ConversationKind, Turn[][]> = {
  interested: [
    [
      ['Contact', '可以啊，正好想试驾一下那款混动的。'],
      ['Robot', '好的，您看什么时间方便呢？'],
      ['Contact', '明天下午三点吧，我下班早。', 3000],
      ['Robot', '好的，已为您预约明天下午三点试驾，稍后顾问会加您微信发送门店地址。'],
      ['Contact', '行，谢谢。'],
    ],
    [
      ['Contact', '最近是在看车，价格能再优惠点吗？'],
      ['Robot', '具体优惠到店可以为您详细核算，还可以安排试驾。'],
      ['Contact', '那周六上午我过去试驾吧，带我爱人一起。', 3500],
      ['Robot', '好的，周六上午给您留好试驾车，期待您到店。'],
    ],
  ],
  'not-interested': [
    [
      ['Contact', '不需要了，谢谢。', 1500],
      ['Robot', '好的，请问是已经有合适的车了吗？'],
      ['Contact', '对，上个月已经买了。'],
      ['Robot', '好的，恭喜您提车，打扰您了，祝您用车愉快。'],
    ],
    [
      ['Contact', '我已经买了别家的车，以后不需要再打了。'],
      ['Robot', '好的，非常抱歉打扰您，祝您生活愉快，再见。'],
    ],
  ],
  unclear: [
    [
      ['Contact', '喂？你说什么？信号不太好。', 4000],
      ['Robot', '您好，请问您最近有看车的计划吗？'],
      ['Contact', '我现在在开车，回头再说吧。'],
      ['Robot', '好的，那稍后再联系您，祝您一路平安。'],
    ],
    [
      ['Contact', '嗯……我考虑考虑，先这样。', 3000],
      ['Robot', '好的，有任何问题欢迎随时联系我们。'],
    ],
  ],
};

const CLOSING: Turn = ['Robot', '感谢您的接听，再见。'];

/** A whole call, timestamps starting at startAt; the variant is picked from startAt so runs differ but are reproducible. */
export function buildConversation(kind: ConversationKind, options: { leadName?: string; startAt: number }): ConversationLine[] {
  const variants = SCRIPTS[kind];
  const variant = variants[Math.abs(Math.floor(options.startAt / 1000)) % variants.length]!;
  const turns: Turn[] = [...opening(options.leadName?.trim() || '您本人'), ...variant, CLOSING];
  let at = options.startAt;
  return turns.map(([speaker, script, pauseMs], index) => {
    at += pauseMs ?? 1500 + script.length * 120; // roughly speaking time
    return {
      speaker,
      script,
      timestamp: at,
      action: actionOf(speaker, index, turns.length),
      sequenceId: String(index + 1),
    };
  });
}

function actionOf(speaker: 'Robot' | 'Contact', index: number, total: number): string {
  if (speaker === 'Contact') return 'Dialogue';
  if (index === 0) return 'Broadcast';
  return index === total - 1 ? 'HangUp' : 'Dialogue';
}
