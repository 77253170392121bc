// Errors the OutboundBot client throws after classifying a failure at the edge (STYLE §2).

/** The service said no: bad parameters, unknown job group, auth. Never retried (DESIGN §3.9). */
export class BusinessError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly httpStatus: number | null = null,
    readonly requestId: string | null = null,
  ) {
    super(`${code}: ${message}`);
    this.name = 'BusinessError';
  }
}

/** Network error, timeout, 5xx, throttling or a malformed body that persisted through every retry. */
export class RetriesExhaustedError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly attempts: number,
  ) {
    super(`${code}: ${message} (after ${attempts} attempt${attempts === 1 ? '' : 's'})`);
    this.name = 'RetriesExhaustedError';
  }
}

/** A short code for run history and diagnose, whatever was thrown. */
export function errorCodeOf(error: unknown): string {
  if (error instanceof BusinessError || error instanceof RetriesExhaustedError) return error.code;
  const code = (error as { code?: unknown })?.code;
  if (typeof code === 'string' && code) return code;
  return (error as Error)?.name ?? 'Error';
}
