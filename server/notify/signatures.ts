// Request signatures, with node:crypto only.
import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * DingTalk custom robot, signed mode: the string `${timestamp}\n${secret}` is HMAC-SHA256'd with the
 * secret as key, base64-encoded, and sent URL-encoded as `sign` beside `timestamp` (epoch ms) in the
 * webhook's query. DingTalk refuses a timestamp more than an hour away from its clock.
 */
export function dingTalkSign(secret: string, timestampMs: number): string {
  return createHmac('sha256', secret).update(`${timestampMs}\n${secret}`, 'utf8').digest('base64');
}

export function signedDingTalkUrl(webhook: string, secret: string | undefined, timestampMs: number): string {
  if (!secret) return webhook;
  const url = new URL(webhook);
  // URLSearchParams percent-encodes the base64's + / = as DingTalk expects.
  url.searchParams.set('timestamp', String(timestampMs));
  url.searchParams.set('sign', dingTalkSign(secret, timestampMs));
  return url.toString();
}

/** The generic webhook: `X-Autofollow-Signature: sha256=<hex HMAC-SHA256 of the raw body>`. */
export const WEBHOOK_SIGNATURE_HEADER = 'x-autofollow-signature';
export const WEBHOOK_EVENT_HEADER = 'x-autofollow-event-id';

export function webhookSignature(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body, 'utf8').digest('hex')}`;
}

/** For receivers (the demo's, the tests'): constant-time comparison. */
export function webhookSignatureValid(secret: string, body: string, header: string | undefined): boolean {
  const expected = Buffer.from(webhookSignature(secret, body));
  const given = Buffer.from(header ?? '');
  return given.length === expected.length && timingSafeEqual(given, expected);
}
