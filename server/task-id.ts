// A task id as the outside world sends it (CLI argument, URL segment). call_tasks.id is an
// INT UNSIGNED, so anything else ("abc", "-1", "1.5", "1e3", 2^32) is bad input, not an unknown task.

export const MAX_TASK_ID = 4_294_967_295;

/** The id, or null when the text is not a positive whole number within call_tasks.id's range. */
export function parseTaskId(text: string | undefined): number | null {
  if (text === undefined || !/^[1-9]\d{0,9}$/.test(text)) return null;
  const id = Number(text);
  return id <= MAX_TASK_ID ? id : null;
}
