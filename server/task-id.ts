// A task id as the outside world sends it (CLI argument, URL segment). call_tasks.id is an
// INT UNSIGNED, so anything else ("abc", "-1", "1.5", "1e3", 2^32) is bad input, not an unknown task.

export const MAX_TASK_ID = 4_294_967_295;

/**
 * 1 to MAX_TASK_ID in decimal, no sign, no leading zero, as one regular expression: the route
 * schemas state it (JSON Schema `pattern`, so /api's OpenAPI document shows the rule) and
 * parseTaskId uses it, so the schema and the CLI accept exactly the same ids. Ten-digit numbers are
 * bounded digit by digit against 4294967295.
 */
export const TASK_ID_PATTERN =
  '^(?:[1-9][0-9]{0,8}|[1-3][0-9]{9}|4[01][0-9]{8}|42[0-8][0-9]{7}|429[0-3][0-9]{6}|4294[0-8][0-9]{5}' +
  '|42949[0-5][0-9]{4}|429496[0-6][0-9]{3}|4294967[01][0-9]{2}|42949672[0-8][0-9]|429496729[0-5])$';

const taskIdText = new RegExp(TASK_ID_PATTERN);

/** The id, or null when the text is not a positive whole number within call_tasks.id's range. */
export function parseTaskId(text: string | undefined): number | null {
  return text !== undefined && taskIdText.test(text) ? Number(text) : null;
}
