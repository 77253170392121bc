// The bodies sent to each channel. Robot messages are markdown for people (Chinese, like the
// dashboard); the webhook gets one JSON event per hot lead. Remarks come from an LLM: untrusted
// text, so markdown's link, image and heading syntax is neutralised and the length capped.
import type { HotLeadDetails } from './hot-lead-details.ts';

const REMARK_CHARS = 200;

/** One line of plain text that markdown shows as typed (no links, images, emphasis, headings). */
export function markdownText(text: string, maxChars = REMARK_CHARS): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  const cut = flat.length > maxChars ? `${flat.slice(0, maxChars)}…` : flat;
  return cut.replace(/[\\`*_[\]()#>!<|~]/g, (c) => `\\${c}`);
}

function leadLines(d: HotLeadDetails): string[] {
  return [
    `- 任务：${markdownText(d.taskName, 80)}`,
    `- 客户：${markdownText(d.leadName, 40)}　${d.maskedPhone}`,
    `- 备注：${markdownText(d.remark)}`,
    `- 下次跟进：${d.nextFollowTime ?? '未定'}`,
    ...(d.url ? [`- [在 autofollow 查看](${d.url})`] : []),
  ];
}

export interface RobotMessage {
  title: string;
  text: string;
}

/** One hot lead, or a digest of several. */
export function robotMessage(items: HotLeadDetails[]): RobotMessage {
  if (items.length === 1) {
    const d = items[0]!;
    return { title: `有意向客户：${d.leadName}`, text: [`### 有意向客户：${markdownText(d.leadName, 40)}`, ...leadLines(d)].join('\n') };
  }
  const blocks = items.map((d, i) => [`**${i + 1}. ${markdownText(d.leadName, 40)}**`, ...leadLines(d)].join('\n'));
  return { title: `${items.length} 位有意向客户`, text: [`### ${items.length} 位新的有意向客户`, ...blocks].join('\n\n') };
}

export function dingTalkBody(message: RobotMessage): string {
  return JSON.stringify({ msgtype: 'markdown', markdown: { title: message.title, text: message.text } });
}

export function weComBody(message: RobotMessage): string {
  return JSON.stringify({ msgtype: 'markdown', markdown: { content: message.text } });
}

/** The webhook's event: `id` is stable across retries and resends, for the receiver's de-duplication. */
export function webhookEvent(d: HotLeadDetails): string {
  return JSON.stringify({
    id: d.eventId,
    type: 'hot_lead',
    occurredAt: d.createdAt.toISOString(),
    task: { id: d.taskId, name: d.taskName },
    lead: { id: d.leadRowId, name: d.leadName, phone: d.maskedPhone },
    isInterested: 1,
    remark: d.remark,
    nextFollowTime: d.nextFollowTime,
    url: d.url,
  });
}

/**
 * Splits the due items into digests that fit the channel's size limit, oldest first. An item too
 * big on its own still goes alone (its remark is capped, so it always fits).
 */
export function packDigests(items: HotLeadDetails[], maxBytes: number, render: (items: HotLeadDetails[]) => string): HotLeadDetails[][] {
  const packs: HotLeadDetails[][] = [];
  let current: HotLeadDetails[] = [];
  for (const item of items) {
    const candidate = [...current, item];
    if (current.length > 0 && Buffer.byteLength(render(candidate)) > maxBytes) {
      packs.push(current);
      current = [item];
    } else {
      current = candidate;
    }
  }
  if (current.length > 0) packs.push(current);
  return packs;
}
