// call_tasks.task_type, named as the spec names the stages (spec 1.2).
export const STAGE = { notStarted: 1, calling: 2, callsDone: 3, followedUp: 4 } as const;

export const STAGE_NAMES: Record<number, string> = {
  1: '待开始 (not started)',
  2: '外呼开始 (calling)',
  3: '外呼完成 (calls done, follow-ups pending)',
  4: '跟进完成 (follow-up done)',
};

export function stageName(taskType: number): string {
  return STAGE_NAMES[taskType] ?? `unknown stage ${taskType}`;
}
