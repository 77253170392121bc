// The fixed remarks of follow records written without the LLM (DESIGN §3.3, §3.5).

export const UNANSWERED_REMARK = '客户未接电话，未打通；';
export const CALL_FAILED_REMARK = '呼叫失败；';
export const ANALYSIS_FAILED_REMARK = 'AI分析失败，请人工查看通话记录后跟进；';

/** Task statuses (reference §4.4) that mean the customer was never reached by a ringing phone. */
const UNANSWERED_TASK_STATUSES = new Set([
  'NoAnswer', 'Busy', 'NotConnected', 'PoweredOff', 'OutOfService', 'InArrears', 'NotExist',
  'EmptyNumber', 'OutOfServiceNoCall', 'InArrearsNoCall',
]);

/** Job failure reasons (reference §4.3) of the same kind: no answer, refused, unreachable, suspended. */
const UNANSWERED_FAILURE_REASONS = new Set(['NoAnswer', 'EmptyNumber', 'OutOfService', 'InArrears', 'ContactSuspended']);

/** "Not answered" when the last attempt or the job's failure reason says so; any other failure is a failed call. */
export function failedCallRemark(jobFailureReason: string | null, lastTaskStatus: string | null): string {
  if (lastTaskStatus && UNANSWERED_TASK_STATUSES.has(lastTaskStatus)) return UNANSWERED_REMARK;
  if (jobFailureReason && UNANSWERED_FAILURE_REASONS.has(jobFailureReason)) return UNANSWERED_REMARK;
  return CALL_FAILED_REMARK;
}
