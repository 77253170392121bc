// Spreadsheet formula injection (issue 11): a cell that starts with = + - @ (or a tab or carriage
// return, which some spreadsheets skip before reading a formula) is prefixed with an apostrophe, so
// Excel and WPS show the text instead of evaluating it. LLM remarks and names are untrusted text.
const FORMULA_START = /^[=+\-@\t\r]/;

export function neutraliseCell(value: string): string {
  return FORMULA_START.test(value) ? `'${value}` : value;
}
