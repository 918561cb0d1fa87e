// The SaifuError paths that need a wallet with other settings, or a shopper who acts after
// the grant was issued: one wallet, restarted on the same data (same port, so the same issuer)
// with the setting that makes each path reachable, and a shopper in headless Chromium.
//   - card_unavailable (409): the shopper removes the card in the Cards page, then the shop pays;
//   - amount_below_points (422): points earned by a captured payment are redeemed at consent,
//     then the shop pays less than their value;
//   - idempotency_key_in_use (409): SAIFU_PROCESSOR_LATENCY_MS=2000, two concurrent creates
//     with the same key;
//   - processor_error (502): SAIFU_PROCESSOR_FAULT_RATE=1.0, retried with the same key, then
//     the same call succeeds once the card network is back, and charges once;
//   - grant_expired (400): SAIFU_GRANT_TTL_SECS=1 (the least the wallet accepts);
// and the refusals of what the merchant sends: idempotency_key_required (400, an empty or
// overlong key of the merchant's) and payload_too_large (413).
import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { SaifuClient, SaifuError } from '../src/index.js';
import { approveCheckout, createMerchant, launchBrowser, openShopperPage, startRecorder, startWallet } from './helpers.mjs';

const JPY = (amount, orderReference) => ({ currency: 'JPY', amount, orderReference, lineItems: [{ name: 'Frames', quantity: 1, unitAmount: amount }] });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Asserts `promise` rejects with a SaifuError of `code` and `status`; returns the error. */
async function rejectsWith(promise, code, status) {
  let caught;
  await assert.rejects(promise, (err) => {
    assert.ok(err instanceof SaifuError, `a SaifuError, got ${err?.stack ?? err}`);
    assert.equal(err.code, code, `code of ${inspect(err)}`);
    assert.equal(err.status, status, `status of ${inspect(err)}`);
    assert.equal(err.source, 'problem');
    assert.equal(err.problem.code, code, 'the problem document comes along');
    caught = err;
    return true;
  });
  return caught;
}

describe('SaifuError paths that need other wallet settings', () => {
  const env = {};
  let orderNo = 0;
  const nextOrder = () => `E-${process.pid}-${++orderNo}`;

  /** A client whose fetch records the idempotency key of every POST to the payments API. */
  async function countingClient() {
    const keys = [];
    const client = await SaifuClient.discover({
      issuer: env.wallet.baseURL,
      clientId: env.merchant.client_id,
      clientSecret: env.merchant.client_secret,
      fetch: (url, init) => {
        if (init?.method === 'POST' && String(url).includes('/v1/payments')) keys.push(init.headers['idempotency-key']);
        return fetch(url, init);
      },
    });
    return { client, keys };
  }

  /** A checkout approved by the shopper in Chromium; returns the grant. */
  async function checkout(amount, { card, points } = {}) {
    const orderReference = nextOrder();
    const { authorizationUrl, pending } = await env.client.startCheckout(JPY(amount, orderReference), { redirectUri: env.redirectUri });
    const callbackUrl = await approveCheckout(env.shopper.page, authorizationUrl, { card, points, walletOrigin: env.wallet.baseURL });
    return env.client.completeCheckout(callbackUrl, pending);
  }

  before(async () => {
    env.wallet = await startWallet();
    env.callback = await startRecorder();
    env.redirectUri = env.callback.url('/callback');
    env.merchant = await createMerchant(env.wallet, { name: 'Frame Shop', redirectUri: env.redirectUri, domain: 'frames.example' });
    env.client = await SaifuClient.discover({ issuer: env.wallet.baseURL, clientId: env.merchant.client_id, clientSecret: env.merchant.client_secret });
    env.browser = await launchBrowser();
    env.shopper = await openShopperPage(env.browser);
    // Grants issued now, while the card network works, for the tests under other settings.
    env.slowGrant = await checkout('2400');
    env.faultGrant = await checkout('3600');
  });

  after(async () => {
    await env.shopper?.close();
    await env.browser?.close().catch(() => {});
    await env.callback?.close();
    await env.wallet?.stop();
  });

  it('idempotency_key_required (400) and payload_too_large (413): a key or a body the wallet refuses', async () => {
    const { client, keys } = await countingClient();
    const amount = { currency: 'JPY', amount: '100' };
    for (const idempotencyKey of ['', 'k'.repeat(256)]) {
      await rejectsWith(client.payments.create({ grant: env.slowGrant, amount, idempotencyKey }), 'idempotency_key_required', 400);
    }
    await rejectsWith(client.payments.create({ grant: 'x'.repeat(70 * 1024), amount }), 'payload_too_large', 413);
    assert.equal(keys.length, 3, 'no retries of a 4xx');
  });

  it('card_unavailable (409): the shopper removed the card the grant was for', async () => {
    const grant = await checkout('1500', { card: '5555 5555 5555 4444' });
    assert.equal(grant.payment.instructed_amount.amount, '1500');
    const { page } = env.shopper;
    await page.goto(`${env.wallet.baseURL}/cards`);
    page.once('dialog', (dialog) => dialog.accept());
    await page.getByRole('button', { name: /^Remove .*•••• 4444$/ }).click();
    await page.waitForLoadState();
    assert.equal(await page.getByRole('button', { name: /^Remove .*•••• 4444$/ }).count(), 0, 'the card is gone');
    const err = await rejectsWith(env.client.payments.create({ grant }), 'card_unavailable', 409);
    assert.equal(err.retryable, false);
  });

  it('amount_below_points (422): points redeemed at consent are worth more than the amount paid', async () => {
    // An earlier captured payment earns points: ¥12,800 at one point per ¥100.
    const earning = await env.client.payments.create({ grant: await checkout('12800') });
    assert.equal(earning.status, 'captured');
    assert.equal(earning.points_earned, 128);

    const grant = await checkout('5000', { points: 100 });
    assert.equal(grant.payment.points_redeemed, 100, 'the signed details carry the points');
    const err = await rejectsWith(env.client.payments.create({ grant, amount: { currency: 'JPY', amount: '50' } }), 'amount_below_points', 422);
    assert.equal(err.retryable, false);
    // The grant is not spent by the refusal: the points' value and more is accepted.
    const paid = await env.client.payments.create({ grant, amount: { currency: 'JPY', amount: '100' } });
    assert.equal(paid.points_redeemed, 100);
    assert.equal(paid.amount, '100');
  });

  it('idempotency_key_in_use (409): a second request while the first with the key runs; not retried', async () => {
    await env.wallet.restart({ SAIFU_PROCESSOR_LATENCY_MS: '2000' });
    const { client, keys } = await countingClient();
    const key = `pay-${env.slowGrant.payment.order_reference}`;
    // Captured at once: the capture is the card-network call (the card was authorized when
    // the shopper approved).
    const call = () => client.payments.create({ grant: env.slowGrant, capture: true, idempotencyKey: key });
    const first = call();
    first.catch(() => {});
    await sleep(500); // the first request holds the key while the card network is slow
    const started = Date.now();
    const err = await rejectsWith(call(), 'idempotency_key_in_use', 409);
    assert.ok(Date.now() - started < 1500, 'answered at once, not after the first request');
    // As the Rust SDK: given to the caller at once, not retried; retryable with the same key.
    assert.equal(err.retryable, true);
    const captured = await first;
    assert.equal(captured.status, 'captured');
    assert.deepEqual(keys, [key, key], 'one request each, no automatic retry of the 409');
    // The same key once the first has finished: its answer, not a second payment.
    assert.deepEqual(await call(), captured);
  });

  it('processor_error (502): retried with the same key, then the same call succeeds once and charges once', async () => {
    await env.wallet.restart({ SAIFU_PROCESSOR_FAULT_RATE: '1.0' });
    const { client, keys } = await countingClient();
    const grant = env.faultGrant;
    const key = `pay-${grant.payment.order_reference}`;
    const err = await rejectsWith(client.payments.create({ grant, idempotencyKey: key }), 'processor_error', 502);
    assert.equal(err.retryable, true);
    assert.deepEqual(keys, [key, key, key], 'the first try and two retries, all with the same key');
    await rejectsWith(client.payments.findByOrderReference(grant.payment.order_reference), 'payment_not_found', 404);

    await env.wallet.restart();
    keys.length = 0;
    const paid = await client.payments.create({ grant, idempotencyKey: key });
    assert.deepEqual(keys, [key]);
    assert.equal(paid.status, 'captured');
    assert.equal(paid.captured_amount, '3600');
    // Charged once: one payment for the order, the same answer for the same key, and the
    // grant spent for any other key.
    assert.deepEqual(await client.payments.findByOrderReference(grant.payment.order_reference), paid);
    assert.deepEqual(await client.payments.create({ grant, idempotencyKey: key }), paid);
    await rejectsWith(client.payments.create({ grant }), 'grant_already_used', 409);
  });

  it('grant_expired (400): a grant paid after its lifetime (SAIFU_GRANT_TTL_SECS=1)', async () => {
    await env.wallet.restart({ SAIFU_GRANT_TTL_SECS: '1' });
    const grant = await checkout('2000');
    assert.equal(grant.claims.exp - grant.claims.iat, 1);
    // The wallet refuses a grant once its whole second `exp` has passed.
    const wait = (grant.claims.exp + 1) * 1000 - Date.now();
    if (wait > 0) await sleep(wait + 50);
    const err = await rejectsWith(env.client.payments.create({ grant }), 'grant_expired', 400);
    assert.equal(err.retryable, false);
  });
});
