// Reading Outbound Bot request parameters (reference §2.4) and the refusals the simulator answers
// with when they are missing or wrong.

export type Params = Record<string, string>;

/** A refusal the simulator answers with: the gateway's §5.1 shape or the business envelope with Success:false. */
export class ApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string, readonly style: 'gateway' | 'business') {
    super(message);
  }
}
export const missing = (name: string) => new ApiError(400, `Missing${name}`, `The input parameter "${name}" that is mandatory for processing this request is not supplied.`, 'gateway');
export const invalid = (name: string, why: string) => new ApiError(400, 'InvalidParameter', `The specified parameter "${name}" is not valid: ${why}.`, 'gateway');
export const notFound = (code: string, message: string) => new ApiError(404, code, message, 'business');

/** Query parameters, then form-body parameters (AssignJobsAsync style) on top. */
export function mergeParams(query: URLSearchParams, body: Buffer, contentType: string | undefined): Params {
  const params: Params = Object.fromEntries(query);
  if (body.length > 0 && contentType?.includes('application/x-www-form-urlencoded')) {
    Object.assign(params, Object.fromEntries(new URLSearchParams(body.toString('utf8'))));
  }
  return params;
}

export function required(p: Params, name: string): string {
  const value = p[name];
  if (value === undefined || value === '') throw missing(name);
  return value;
}

export function intParam(p: Params, name: string, rule: { required: true; min: number; max?: number }): number;
export function intParam(p: Params, name: string, rule: { required?: false; min: number; max?: number }): number | undefined;
export function intParam(p: Params, name: string, rule: { required?: boolean; min: number; max?: number }): number | undefined {
  const raw = p[name];
  if (raw === undefined || raw === '') {
    if (rule.required) throw missing(name);
    return undefined;
  }
  if (!/^\d+$/.test(raw)) throw invalid(name, `"${raw}" is not a whole number`);
  const n = Number(raw);
  if (n < rule.min || (rule.max !== undefined && n > rule.max)) throw invalid(name, `must be between ${rule.min} and ${rule.max ?? 'any'}, got ${n}`);
  return n;
}

/** Name.1 .. Name.N, in index order (reference §2.4). */
export function listParam(p: Params, name: string): string[] {
  const pattern = new RegExp(`^${name.replace(/\./g, '\\.')}\\.(\\d+)$`);
  return Object.entries(p)
    .map(([key, value]) => [Number(pattern.exec(key)?.[1]), value] as const)
    .filter(([index]) => Number.isInteger(index))
    .sort(([a], [b]) => a - b)
    .map(([, value]) => value);
}
