// Webhook verification with the Standard Webhooks library (`standardwebhooks`): HMAC-SHA256
// over `{id}.{timestamp}.{body}`, constant-time comparison, 5-minute timestamp tolerance, any
// of several secrets while one is being rotated.

import standardwebhooks from 'standardwebhooks';
import { SaifuError, sdkError } from './errors.js';

const { Webhook, WebhookVerificationError } = standardwebhooks;

export const WEBHOOK_TOLERANCE_SECS = 300;

export const EVENT_TYPES = Object.freeze([
  'payment.authorized',
  'payment.captured',
  'payment.voided',
  'payment.refunded',
  'dispute.opened',
  'dispute.resolved',
  'merchant.trust_mark_changed',
]);

/** Headers as a plain object with lower-case names: a fetch `Headers`, Node's `req.headers`, or a plain object. */
function plainHeaders(headers) {
  const out = {};
  if (!headers || typeof headers !== 'object') return out;
  const entries = typeof headers.entries === 'function' && !Array.isArray(headers) ? headers.entries() : Object.entries(headers);
  for (const [name, value] of entries) {
    const v = Array.isArray(value) ? value.join(' ') : value;
    if (typeof v === 'string') out[name.toLowerCase()] = v;
  }
  return out;
}

function secretList(secret) {
  const list = Array.isArray(secret) ? secret : [secret];
  if (list.length === 0) throw sdkError('webhook_no_secret', 'no webhook secret was given to verify the webhook with');
  return list.map((s) => {
    if (typeof s !== 'string' || !/^whsec_[A-Za-z0-9+/]+={0,2}$/.test(s)) {
      throw sdkError('webhook_invalid_secret', 'a webhook secret must be `whsec_` followed by standard base64');
    }
    try {
      return new Webhook(s);
    } catch {
      throw sdkError('webhook_invalid_secret', 'a webhook secret must be `whsec_` followed by standard base64');
    }
  });
}

/**
 * Verifies one webhook delivery and returns its event `{ id, type, timestamp, data }`.
 * `rawBody` is the body exactly as received (a string, Buffer or Uint8Array), before any JSON
 * parsing; `headers` are the request's headers; `secret` is the merchant's `whsec_…` secret, or
 * an array of them during a rotation. Throws a `SaifuError` (answer 400) for a missing header,
 * a stale or future timestamp, no matching signature or a body that is not a Saifu event.
 */
export function verifyWebhook(rawBody, headers, secret) {
  let payload;
  if (typeof rawBody === 'string') payload = rawBody;
  else if (rawBody instanceof Uint8Array) payload = Buffer.from(rawBody.buffer, rawBody.byteOffset, rawBody.byteLength);
  else throw sdkError('webhook_invalid_body', 'the webhook body must be the raw body (a string or Buffer), not parsed JSON');
  const hooks = secretList(secret);
  const h = plainHeaders(headers);
  for (const name of ['webhook-id', 'webhook-timestamp', 'webhook-signature']) {
    if (!h[name]) throw sdkError('webhook_missing_header', `the ${name} header is missing`, { status: 400 });
  }
  if (!/^[0-9]+$/.test(h['webhook-timestamp'])) {
    throw sdkError('webhook_invalid_timestamp', 'the webhook-timestamp header is not a whole number of seconds', { status: 400 });
  }
  let verified = false;
  for (const hook of hooks) {
    try {
      hook.verify(payload, h, { jsonParse: false });
      verified = true;
      break;
    } catch (err) {
      if (!(err instanceof WebhookVerificationError)) throw err;
      if (/timestamp/i.test(err.message)) {
        throw sdkError('webhook_timestamp_out_of_tolerance',
          `the webhook timestamp is more than ${WEBHOOK_TOLERANCE_SECS} seconds away from now: a replayed delivery, or a wrong clock`, { status: 400 });
      }
      // No matching signature for this secret: try the next one.
    }
  }
  if (!verified) throw sdkError('webhook_signature_invalid', 'no v1 signature in the webhook-signature header matches a webhook secret', { status: 400 });

  let event;
  try {
    event = JSON.parse(payload.toString());
  } catch {
    throw sdkError('webhook_invalid_body', 'the webhook body is not JSON', { status: 400 });
  }
  for (const field of ['id', 'type', 'timestamp']) {
    if (typeof event?.[field] !== 'string') throw sdkError('webhook_invalid_body', `the webhook body is not a Saifu event: no ${field}`, { status: 400 });
  }
  if (!event.data || typeof event.data !== 'object') throw sdkError('webhook_invalid_body', 'the webhook body is not a Saifu event: no data', { status: 400 });
  if (event.id !== h['webhook-id']) throw sdkError('webhook_id_mismatch', 'the event id in the webhook body differs from the webhook-id header', { status: 400 });
  return event;
}

export { SaifuError };
