// One HTTP POST to a channel, and what its answer means. The robots answer 200 with
// {"errcode":0,"errmsg":"ok"}; any other errcode (DingTalk 410100 "too fast", WeCom 45009, a wrong
// signature) is a failed attempt like a 5xx or a timeout, retried with backoff until dead.
import { signedDingTalkUrl, WEBHOOK_EVENT_HEADER, WEBHOOK_SIGNATURE_HEADER, webhookSignature } from './signatures.ts';
import type { ChannelTarget } from './channels.ts';

export const POST_TIMEOUT_MS = 10_000;

export interface PostRequest {
  target: ChannelTarget;
  body: string;
  /** The webhook's event id (header beside the body's `id`). */
  eventId?: string;
  now: number;
}

/** Resolves when the receiver took the message; throws with a sentence otherwise. */
export async function postMessage(request: PostRequest): Promise<void> {
  const { target, body } = request;
  const headers: Record<string, string> = { 'content-type': 'application/json; charset=utf-8' };
  let url = target.url;
  if (target.name === 'dingtalk') url = signedDingTalkUrl(target.url, target.secret, request.now);
  if (target.name === 'webhook') {
    headers[WEBHOOK_SIGNATURE_HEADER] = webhookSignature(target.secret ?? '', body);
    if (request.eventId) headers[WEBHOOK_EVENT_HEADER] = request.eventId;
  }
  let response: Response;
  try {
    response = await fetch(url, { method: 'POST', headers, body, signal: AbortSignal.timeout(POST_TIMEOUT_MS) });
  } catch (error) {
    throw new Error(`${target.name}: no answer (${(error as Error).name === 'TimeoutError' ? `timed out after ${POST_TIMEOUT_MS / 1000} s` : (error as Error).message})`);
  }
  const text = await response.text().catch(() => '');
  if (!response.ok) throw new Error(`${target.name}: HTTP ${response.status}`);
  if (target.name === 'webhook') return;
  let answer: { errcode?: unknown; errmsg?: unknown };
  try {
    answer = JSON.parse(text) as typeof answer;
  } catch {
    throw new Error(`${target.name}: the answer is not JSON`);
  }
  if (answer.errcode !== 0) throw new Error(`${target.name}: errcode ${String(answer.errcode)} ${String(answer.errmsg ?? '').slice(0, 200)}`);
}
