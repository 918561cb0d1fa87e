// The SDK against a real wallet started from the built binary, with a shopper driven in
// headless Chromium (virtual WebAuthn authenticator): discovery, checkouts completed, pay,
// capture, void, refund, idempotent replays and retries, a card declined at the consent, the wallet's real
// webhooks verified, and the SaifuError paths the wallet produces.
import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { after, before, describe, it } from 'node:test';
import standardwebhooks from 'standardwebhooks';
import { SaifuClient, SaifuError, Grant, verifyWebhook } from '../src/index.js';
import {
  approveCheckout, createMerchant, launchBrowser, openShopperPage, runSaifu, startRecorder, startWallet,
} from './helpers.mjs';

const JPY = (amount, orderReference) => ({ currency: 'JPY', amount, orderReference, lineItems: [{ name: 'Frames', quantity: 1, unitAmount: amount }] });

/** Asserts `promise` rejects with a SaifuError of `code` (and `status` when given). */
async function rejectsWith(promise, code, status) {
  await assert.rejects(promise, (err) => {
    assert.ok(err instanceof SaifuError, `a SaifuError, got ${err?.stack ?? err}`);
    assert.equal(err.code, code, `code of ${inspect(err)}`);
    if (status !== undefined) assert.equal(err.status, status, `status of ${inspect(err)}`);
    return true;
  });
}

describe('saifu-sdk against a real wallet', () => {
  const env = {};
  let orderNo = 0;
  const nextOrder = () => `A-${process.pid}-${++orderNo}`;

  before(async () => {
    env.wallet = await startWallet();
    env.callback = await startRecorder();
    env.hooks = await startRecorder((_req, _entry, res) => res.writeHead(204).end());
    env.redirectUri = env.callback.url('/callback');
    env.merchant = await createMerchant(env.wallet, {
      name: 'Frame Shop', redirectUri: env.redirectUri, domain: 'frames.example', webhookUrl: env.hooks.url('/webhooks/saifu'),
    });
    env.client = await SaifuClient.discover({ issuer: env.wallet.baseURL, clientId: env.merchant.client_id, clientSecret: env.merchant.client_secret });
    env.browser = await launchBrowser();
    env.shopper = await openShopperPage(env.browser);
  });

  after(async () => {
    await env.shopper?.close();
    await env.browser?.close().catch(() => {});
    await env.callback?.close();
    await env.hooks?.close();
    await env.wallet?.stop();
  });

  /** A checkout approved by the shopper in Chromium; returns the grant. */
  async function checkout(amount, { card, points, declinedThen } = {}) {
    const orderReference = nextOrder();
    const { authorizationUrl, pending } = await env.client.startCheckout(JPY(amount, orderReference), { redirectUri: env.redirectUri });
    // `pending` is plain JSON for the shop's session.
    const kept = JSON.parse(JSON.stringify(pending));
    const callbackUrl = await approveCheckout(env.shopper.page, authorizationUrl, { card, points, declinedThen, walletOrigin: env.wallet.baseURL });
    const grant = await env.client.completeCheckout(callbackUrl, kept);
    return { grant, orderReference, callbackUrl, pending: kept };
  }

  it('discovers the wallet (RFC 8414) and refuses unusable configurations', async () => {
    const c = env.client;
    assert.equal(c.issuer, `${env.wallet.baseURL}/`);
    assert.equal(c.metadata.pushed_authorization_request_endpoint, `${env.wallet.baseURL}/oauth/par`);
    assert.equal(c.metadata.authorization_response_iss_parameter_supported, true);
    assert.ok(!inspect(c).includes(env.merchant.client_secret), 'inspect hides the client secret');
    assert.ok(!JSON.stringify(c).includes(env.merchant.client_secret), 'JSON hides the client secret');

    const creds = { clientId: env.merchant.client_id, clientSecret: env.merchant.client_secret };
    // The wallet says its issuer is http://localhost:PORT/: another spelling is another issuer.
    const port = new URL(env.wallet.baseURL).port;
    await rejectsWith(SaifuClient.discover({ issuer: `http://127.0.0.1:${port}`, ...creds }), 'invalid_metadata');
    await rejectsWith(SaifuClient.discover({ issuer: 'http://wallet.example', ...creds }), 'invalid_config');
    await rejectsWith(SaifuClient.discover({ issuer: 'not a url', ...creds }), 'invalid_config');
    await rejectsWith(SaifuClient.discover({ issuer: env.wallet.baseURL, clientId: '', clientSecret: 'x' }), 'invalid_config');
    await rejectsWith(SaifuClient.discover({ issuer: 'http://localhost:1', ...creds }), 'network_error');
  });

  it('a full checkout: PAR + PKCE, the shopper approves with a passkey, the grant verifies', async () => {
    const { grant, orderReference, callbackUrl, pending } = await checkout('12800');
    assert.ok(grant instanceof Grant);
    assert.equal(grant.claims.client_id, env.merchant.client_id);
    assert.equal(grant.claims.aud, `${env.wallet.baseURL}/v1/payments`);
    assert.deepEqual(grant.payment.instructed_amount, { currency: 'JPY', amount: '12800' });
    assert.equal(grant.payment.order_reference, orderReference);
    assert.equal(grant.authorizationDetails[0].order_reference, orderReference);
    assert.ok(grant.expiresIn > 0 && grant.expiresIn <= 600);
    assert.ok(!inspect(grant).includes(grant.token), 'inspect hides the grant');
    assert.ok(!JSON.stringify(grant).includes(grant.token), 'JSON hides the grant');

    const claims = await env.client.verifyGrant(grant.token);
    assert.equal(claims.jti, grant.claims.jti);
    const [h, p, s] = grant.token.split('.');
    const forged = Buffer.from(JSON.stringify({ ...grant.claims, authorization_details: [{ ...grant.payment, instructed_amount: { currency: 'JPY', amount: '1' } }] })).toString('base64url');
    await rejectsWith(env.client.verifyGrant(`${h}.${forged}.${s}`), 'grant_verification_failed');
    const none = Buffer.from(JSON.stringify({ alg: 'none', typ: 'at+jwt' })).toString('base64url');
    await rejectsWith(env.client.verifyGrant(`${none}.${p}.`), 'grant_verification_failed');
    await rejectsWith(env.client.verifyGrant('not.a.jwt'), 'grant_verification_failed');

    // The callback is checked before anything is sent: state, then iss (RFC 9207).
    const wrongState = new URL(callbackUrl);
    wrongState.searchParams.set('state', 'forged');
    await rejectsWith(env.client.completeCheckout(wrongState, pending), 'state_mismatch');
    const twice = new URL(callbackUrl);
    twice.searchParams.append('state', pending.state);
    await rejectsWith(env.client.completeCheckout(twice, pending), 'state_mismatch');
    const wrongIss = new URL(callbackUrl);
    wrongIss.searchParams.set('iss', 'https://evil.example/');
    await rejectsWith(env.client.completeCheckout(wrongIss, pending), 'issuer_mismatch');
    const noIss = new URL(callbackUrl);
    noIss.searchParams.delete('iss');
    await rejectsWith(env.client.completeCheckout(noIss, pending), 'issuer_mismatch');
    const noCode = new URL(callbackUrl);
    noCode.searchParams.delete('code');
    await rejectsWith(env.client.completeCheckout(noCode, pending), 'missing_code');
    await rejectsWith(env.client.completeCheckout(callbackUrl, null), 'invalid_pending');
    // A code works once; presenting it again revokes the grant it gave.
    await rejectsWith(env.client.completeCheckout(callbackUrl, pending), 'invalid_grant', 400);
    await rejectsWith(env.client.payments.create({ grant }), 'grant_revoked', 409);
  });

  it('requireShipping: the shopper chooses an address at the consent and the grant carries it', async () => {
    const orderReference = nextOrder();
    const { authorizationUrl, pending } = await env.client.startCheckout(
      { ...JPY('3200', orderReference), requireShipping: true }, { redirectUri: env.redirectUri });
    const callbackUrl = await approveCheckout(env.shopper.page, authorizationUrl, { walletOrigin: env.wallet.baseURL });
    const grant = await env.client.completeCheckout(callbackUrl, pending);
    assert.deepEqual(grant.shippingAddress, {
      name: 'Aiko Tanaka', postal_code: '100-0001', prefecture: 'Tokyo', city: 'Chiyoda-ku',
      line1: '1-1 Chiyoda', phone: '09012345678', country: 'JP',
    });
    assert.equal(grant.payment.shipping.required, true);
    assert.deepEqual(grant.authorizationDetails[0].shipping, grant.payment.shipping);
    // Unknown members of `shipping` are the wallet's to refuse.
    await rejectsWith(env.client.startCheckout(
      { ...JPY('3200', nextOrder()), type: 'payment', shipping: { required: true, giftWrap: true } },
      { redirectUri: env.redirectUri }), 'invalid_authorization_details', 400);
    // Without requireShipping there is no address.
    const { grant: plain } = await checkout('500');
    assert.equal(plain.shippingAddress, null);
    assert.equal(plain.payment.shipping, undefined);
  });

  it('pays: authorize, idempotent replay, capture, refund, and the API\'s refusals', async () => {
    const { grant } = await checkout('12800');
    const payments = env.client.payments;
    const key = `order-${grant.payment.order_reference}`;
    await rejectsWith(payments.create({ grant, amount: { currency: 'JPY', amount: '99999' }, capture: false }), 'amount_exceeds_grant', 422);
    await rejectsWith(payments.create({ grant, amount: { currency: 'USD', amount: '12.00' }, capture: false }), 'currency_mismatch', 422);
    await rejectsWith(payments.create({ grant, amount: { currency: 'JPY', amount: '12.5' }, capture: false }), 'invalid_amount', 400);
    await rejectsWith(payments.create({ grant: 'eyJ.not.a-grant', amount: { currency: 'JPY', amount: '1' } }), 'invalid_grant', 400);

    const authorized = await payments.create({ grant, capture: false, idempotencyKey: key });
    assert.equal(authorized.status, 'authorized');
    assert.equal(authorized.amount, '12800');
    assert.equal(authorized.captured_amount, '0');
    assert.equal(authorized.card.last4, '4242');
    assert.match(authorized.id, /^pay_/);

    // The same key and body: the first answer again, not a second payment.
    const replayed = await payments.create({ grant, capture: false, idempotencyKey: key });
    assert.deepEqual(replayed, authorized);
    // The same key with other parameters, and the spent grant under a new key.
    await rejectsWith(payments.create({ grant, capture: true, idempotencyKey: key }), 'idempotency_key_reused', 422);
    await rejectsWith(payments.create({ grant, capture: false }), 'grant_already_used', 409);

    await rejectsWith(payments.capture(authorized.id, { amount: { currency: 'JPY', amount: '20000' } }), 'amount_exceeds_authorization', 422);
    await rejectsWith(payments.capture(authorized.id, { amount: { currency: 'USD', amount: '1.00' } }), 'currency_mismatch', 422);
    await assert.rejects(payments.capture(authorized.id, { amount: '100' }), (e) => e instanceof SaifuError && e.code === 'invalid_request' && /currency, amount/.test(e.message));
    await assert.rejects(payments.refund(authorized.id, { amount: '100' }), (e) => e instanceof SaifuError && e.code === 'invalid_request' && /currency, amount/.test(e.message));
    await rejectsWith(payments.refund(authorized.id, { amount: { currency: 'JPY', amount: '100' } }), 'payment_not_refundable', 409);
    const captured = await payments.capture(authorized.id);
    assert.equal(captured.status, 'captured');
    assert.equal(captured.captured_amount, '12800');
    await rejectsWith(payments.capture(authorized.id), 'payment_not_capturable', 409);
    await rejectsWith(payments.void(authorized.id), 'payment_not_voidable', 409);

    const refunded = await payments.refund(authorized.id, { amount: { currency: 'JPY', amount: '2800' } });
    assert.equal(refunded.refunded_amount, '2800');
    await rejectsWith(payments.refund(authorized.id, { amount: { currency: 'JPY', amount: '10001' } }), 'refund_exceeds_captured', 422);

    assert.deepEqual(await payments.get(authorized.id), refunded);
    assert.deepEqual(await payments.findByOrderReference(grant.payment.order_reference), refunded);
    // The receipt signed at approval: verified against the JWKS, never taken for a grant.
    const receipt = await payments.receipt(authorized.id);
    const said = await env.client.verifyReceipt(receipt);
    assert.equal(said.grant_id, grant.claims.jti);
    assert.equal(said.order_reference, grant.payment.order_reference);
    assert.deepEqual(said.amount, { currency: 'JPY', amount: '12800' });
    assert.equal(said.card.last4, '4242');
    const [h, , sig] = receipt.split('.');
    const changed = Buffer.from(JSON.stringify({ ...said, points_used: 1 })).toString('base64url');
    await rejectsWith(env.client.verifyReceipt(`${h}.${changed}.${sig}`), 'receipt_verification_failed');
    await rejectsWith(env.client.verifyReceipt(grant.token), 'receipt_verification_failed');
    await rejectsWith(env.client.verifyGrant(receipt), 'grant_verification_failed');
    await rejectsWith(payments.receipt('pay_doesnotexist'), 'not_found', 404);
    await rejectsWith(payments.get('pay_doesnotexist'), 'payment_not_found', 404);
    await rejectsWith(payments.findByOrderReference('no-such-order'), 'payment_not_found', 404);

    const stranger = await SaifuClient.discover({ issuer: env.wallet.baseURL, clientId: env.merchant.client_id, clientSecret: 'saifu_sk_wrong' });
    await assert.rejects(stranger.payments.get(authorized.id), (err) => {
      assert.equal(err.code, 'invalid_client');
      assert.equal(err.status, 401);
      assert.equal(err.problem.code, 'invalid_client', 'the problem document comes along');
      return true;
    });
    await rejectsWith(stranger.startCheckout(JPY('100', nextOrder()), { redirectUri: env.redirectUri }), 'invalid_client', 401);
    await rejectsWith(env.client.startCheckout(JPY('100', nextOrder()), { redirectUri: env.callback.url('/elsewhere') }), 'invalid_request', 400);
    await rejectsWith(env.client.startCheckout(JPY('12.5', nextOrder()), { redirectUri: env.redirectUri }), 'invalid_authorization_details', 400);
    env.payment = refunded;
  });

  it('retries lost answers and 5xx with the same idempotency key, and never charges twice', async () => {
    const seen = [];
    let mode = 'lose-answer';
    const flaky = async (url, init) => {
      if (init?.method === 'POST') seen.push(init.headers['idempotency-key']);
      if (mode === 'lose-answer' && seen.length === 1) {
        await fetch(url, init); // the wallet does the work, the answer is lost
        throw new TypeError('fetch failed');
      }
      if (mode === 'server-error' && seen.length === 1) return new Response('upstream hiccup', { status: 503 });
      if (mode === 'down') throw new TypeError('fetch failed');
      return fetch(url, init);
    };
    const client = await SaifuClient.discover({
      issuer: env.wallet.baseURL, clientId: env.merchant.client_id, clientSecret: env.merchant.client_secret, fetch: flaky,
    });
    const after1 = await client.payments.refund(env.payment.id, { amount: { currency: 'JPY', amount: '1000' } });
    assert.equal(seen.length, 2, 'one retry');
    assert.equal(seen[0], seen[1], 'the retry carries the same idempotency key');
    assert.equal(after1.refunded_amount, '3800', 'refunded once, not twice');

    seen.length = 0;
    mode = 'server-error';
    const after2 = await client.payments.refund(env.payment.id, { amount: { currency: 'JPY', amount: '1000' }, idempotencyKey: 'refund-2' });
    assert.deepEqual(seen, ['refund-2', 'refund-2']);
    assert.equal(after2.refunded_amount, '4800');

    mode = 'down';
    const started = Date.now();
    await rejectsWith(client.payments.get(env.payment.id), 'network_error');
    assert.ok(Date.now() - started >= 200 + 600, 'it backed off before giving up');
  });

  it('a card declined when the shopper pays is told in the wallet: the shop gets its code once another card pays', async () => {
    const { grant } = await checkout('3000', { card: '4000 0000 0000 0341', declinedThen: '4242 4242 4242 4242' });
    const paid = await env.client.payments.create({ grant });
    assert.equal(paid.status, 'captured');
    assert.equal(paid.captured_amount, '3000');
    assert.equal(paid.card.last4, '4242', 'the card that was not declined paid');
  });

  it('voids an authorization; a cancelled checkout ends in access_denied', async () => {
    const { grant } = await checkout('4500', { card: '4242 4242 4242 4242' });
    const authorized = await env.client.payments.create({ grant, capture: false });
    const voided = await env.client.payments.void(authorized.id);
    assert.equal(voided.status, 'voided');
    await rejectsWith(env.client.payments.capture(authorized.id), 'payment_not_capturable', 409);

    const { authorizationUrl, pending } = await env.client.startCheckout(JPY('100', nextOrder()), { redirectUri: env.redirectUri });
    const { page } = env.shopper;
    await page.goto(authorizationUrl);
    await page.getByRole('button', { name: 'Cancel and return to Frame Shop' }).click();
    await page.waitForURL((u) => u.origin === env.callback.origin);
    await rejectsWith(env.client.completeCheckout(page.url(), pending), 'access_denied');
  });

  it('verifies the wallet\'s real webhooks, and refuses tampered, stale and unsigned ones', async () => {
    const paymentId = env.payment.id;
    const captured = await env.hooks.waitFor((r) => JSON.parse(r.body).type === 'payment.captured' && JSON.parse(r.body).data.id === paymentId);
    const event = verifyWebhook(captured.body, captured.headers, env.merchant.webhook_secret);
    assert.equal(event.type, 'payment.captured');
    assert.equal(event.id, captured.headers['webhook-id']);
    assert.equal(event.data.id, paymentId);
    assert.equal(event.data.status, 'captured');
    // A string body, fetch-style Headers and a secret list (rotation) work too.
    const asHeaders = new Headers(captured.headers);
    assert.deepEqual(verifyWebhook(captured.body.toString(), asHeaders, ['whsec_' + Buffer.alloc(32, 7).toString('base64'), env.merchant.webhook_secret]), event);
    const types = new Set((await Promise.all([
      env.hooks.waitFor((r) => JSON.parse(r.body).type === 'payment.authorized'),
      env.hooks.waitFor((r) => JSON.parse(r.body).type === 'payment.refunded'),
      env.hooks.waitFor((r) => JSON.parse(r.body).type === 'payment.voided'),
    ])).map((r) => verifyWebhook(r.body, r.headers, env.merchant.webhook_secret).type));
    assert.deepEqual([...types].sort(), ['payment.authorized', 'payment.refunded', 'payment.voided']);

    const tampered = Buffer.from(captured.body.toString().replace('"captured"', '"voided"'));
    assert.throws(() => verifyWebhook(tampered, captured.headers, env.merchant.webhook_secret), (e) => e.code === 'webhook_signature_invalid');
    const otherSecret = `whsec_${Buffer.alloc(32, 1).toString('base64')}`;
    assert.throws(() => verifyWebhook(captured.body, captured.headers, otherSecret), (e) => e.code === 'webhook_signature_invalid');
    // Re-signed correctly but ten minutes old: a replay.
    const old = new Date(Date.now() - 600_000);
    const signer = new standardwebhooks.Webhook(env.merchant.webhook_secret);
    const stale = { ...captured.headers, 'webhook-timestamp': String(Math.floor(old / 1000)), 'webhook-signature': signer.sign(event.id, old, captured.body.toString()) };
    assert.throws(() => verifyWebhook(captured.body, stale, env.merchant.webhook_secret), (e) => e.code === 'webhook_timestamp_out_of_tolerance');
    const { 'webhook-signature': _, ...unsigned } = captured.headers;
    assert.throws(() => verifyWebhook(captured.body, unsigned, env.merchant.webhook_secret), (e) => e.code === 'webhook_missing_header');
    assert.throws(() => verifyWebhook(JSON.parse(captured.body), captured.headers, env.merchant.webhook_secret), (e) => e.code === 'webhook_invalid_body');
    assert.throws(() => verifyWebhook(captured.body, captured.headers, 'not-a-secret'), (e) => e.code === 'webhook_invalid_secret');
    for (const fn of [() => verifyWebhook(tampered, captured.headers, env.merchant.webhook_secret)]) {
      try { fn(); } catch (e) { assert.ok(!inspect(e).includes(env.merchant.webhook_secret)); }
    }
  });

  it('during a webhook secret rotation, deliveries carry two signatures and either secret verifies', async () => {
    const { stdout } = await runSaifu(env.wallet, ['merchant', 'rotate-webhook-secret', '--client-id', env.merchant.client_id, '--overlap-secs', '3600', '--json']);
    const rotated = JSON.parse(stdout).webhook_secret;
    assert.notEqual(rotated, env.merchant.webhook_secret);
    const refunded = await env.client.payments.refund(env.payment.id, { amount: { currency: 'JPY', amount: '100' } });
    const delivery = await env.hooks.waitFor((r) => {
      const e = JSON.parse(r.body);
      return e.type === 'payment.refunded' && e.data.refunded_amount === refunded.refunded_amount;
    });
    assert.equal(delivery.headers['webhook-signature'].split(' ').length, 2, 'one signature per secret');
    for (const secret of [rotated, env.merchant.webhook_secret, [rotated, env.merchant.webhook_secret]]) {
      assert.equal(verifyWebhook(delivery.body, delivery.headers, secret).data.refunded_amount, refunded.refunded_amount);
    }
    env.merchant.webhook_secret = rotated;
  });

  it('disputes: a shopper reports a problem; the shop lists, reads and answers it, idempotently', async () => {
    const { grant } = await checkout('1500');
    const payment = await env.client.payments.create({ grant });
    assert.equal(payment.status, 'captured');
    const page = env.shopper.page;
    await page.goto(new URL(`/activity/${payment.id}/dispute`, env.wallet.baseURL).href);
    await page.getByLabel("I didn't receive it").check();
    await page.getByLabel('What happened').fill('The parcel never came.');
    await Promise.all([
      page.waitForURL(/\/disputes\/dsp_[^/]+$/),
      page.getByRole('button', { name: /^Send to / }).click(),
    ]);
    const disputeId = new URL(page.url()).pathname.split('/').pop();

    const delivery = await env.hooks.waitFor((r) => JSON.parse(r.body).type === 'dispute.opened');
    const opened = verifyWebhook(delivery.body, delivery.headers, env.merchant.webhook_secret);
    assert.equal(opened.data.id, disputeId);
    assert.equal(opened.data.payment_id, payment.id);
    assert.deepEqual(opened.data.amount, { currency: 'JPY', amount: '1500' });

    const open = await env.client.disputes.list({ status: 'open' });
    assert.ok(open.some((d) => d.id === disputeId), 'listed among the open disputes');
    assert.deepEqual(await env.client.disputes.list({ status: 'resolved' }), []);
    const read = await env.client.disputes.get(disputeId);
    assert.equal(read.reason, 'not_received');
    assert.equal(read.description, 'The parcel never came.');
    assert.ok(Date.parse(read.respond_by) > Date.now(), 'respond_by is ahead');

    const evidence = { evidence: { text: 'Delivered to the front desk.', carrier: 'Yamato', trackingNumber: '4455-6677' } };
    const answered = await env.client.disputes.respond(disputeId, evidence, { idempotencyKey: `answer-${disputeId}` });
    assert.equal(answered.status, 'evidence_received');
    assert.equal(answered.evidence.tracking_number, '4455-6677');
    // The same key replays the answer; another answer is refused.
    assert.deepEqual(await env.client.disputes.respond(disputeId, evidence, { idempotencyKey: `answer-${disputeId}` }), answered);
    await rejectsWith(env.client.disputes.respond(disputeId, { accept: true }), 'dispute_closed', 409);
    await rejectsWith(env.client.disputes.get('dsp_nobody'), 'not_found', 404);
    await rejectsWith(env.client.disputes.respond(disputeId, { evidence: { text: ' ' } }), 'invalid_request');
    await rejectsWith(env.client.disputes.list({ status: 'lost' }), 'invalid_request');
  });

  it('points statements: points redeemed at the shop this month, a month without activity, refused months', async () => {
    const month = new Date().toISOString().slice(0, 7);
    const jpyLine = (statement) => statement.lines.find((l) => l.currency === 'JPY');
    const before = await env.client.points.statement(month);
    assert.equal(before.object, 'points_statement');
    assert.equal(before.client_id, env.merchant.client_id);
    assert.equal(before.month, month);
    assert.equal(before.from, `${month}-01T00:00:00Z`);
    const redeemedBefore = jpyLine(before)?.points_redeemed ?? 0;

    // ¥1,000 earns 10 points; 5 of them pay part of the next payment, at this shop.
    const earned = await env.client.payments.create({ grant: (await checkout('1000')).grant });
    assert.equal(earned.points_earned, 10);
    const spent = await env.client.payments.create({ grant: (await checkout('500', { points: 5 })).grant });
    assert.equal(spent.points_redeemed, 5);

    const line = jpyLine(await env.client.points.statement(month));
    const redeemed = redeemedBefore + 5;
    // No campaign: the shop funds no points; the programme owes it ¥1 a point redeemed.
    assert.deepEqual(line, {
      currency: 'JPY',
      points_issued: 0,
      points_redeemed: redeemed,
      issued_amount: { currency: 'JPY', amount: '0' },
      redeemed_amount: { currency: 'JPY', amount: String(redeemed) },
      net_amount: { currency: 'JPY', amount: String(redeemed) },
    });

    const quiet = await env.client.points.statement('2001-01');
    assert.deepEqual(quiet.lines, []);
    assert.equal(quiet.to, '2001-02-01T00:00:00Z');
    await rejectsWith(env.client.points.statement('2026-13'), 'invalid_month', 400);
    await rejectsWith(env.client.points.statement('1999-12'), 'invalid_month', 400);
    await rejectsWith(env.client.points.statement(202611), 'invalid_request');
  });

  it('a suspended merchant: unauthorized_client at checkout, merchant_suspended at payment', async () => {
    await runSaifu(env.wallet, ['merchant', 'set-status', '--client-id', env.merchant.client_id, '--status', 'suspended', '--reason', 'Chargebacks under review']);
    try {
      await rejectsWith(env.client.startCheckout(JPY('100', nextOrder()), { redirectUri: env.redirectUri }), 'unauthorized_client');
      await rejectsWith(env.client.payments.create({ grant: 'x.y.z', amount: { currency: 'JPY', amount: '100' } }), 'merchant_suspended', 403);
      // What was paid before can still be read.
      assert.equal((await env.client.payments.get(env.payment.id)).id, env.payment.id);
    } finally {
      await runSaifu(env.wallet, ['merchant', 'set-status', '--client-id', env.merchant.client_id, '--status', 'verified']);
    }
  });
});
