// A dispute end to end, as issue 15 and DESIGN.md's "Issuer administration" describe it: a
// shopper pays a merchant (registered with the CLI, with a webhook endpoint) with a passkey; they
// report "not received" from Activity; the merchant's signed dispute.opened webhook arrives; the
// merchant answers with evidence through the API; a support admin invited with `saifu admin
// invite --role support` decides for the shopper in the console; the shopper's Activity shows the
// refund and the dispute as resolved. Every page passes axe-core and fits a phone's width.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as oauth from 'oauth4webapi';
import {
  RESULTS_DIR,
  axeClean,
  createMerchant,
  expectFormRedirect,
  newShopper,
  noHorizontalOverflow,
  openPage,
  runSaifu,
  signUp,
  startCallbackServer,
  startWebhookReceiver,
  suiteEnv,
  withPage,
} from './helpers.js';

const SHOP = { name: 'Frame Shop', domain: 'frame-shop.example' };
const PAYMENT = {
  type: 'payment',
  instructed_amount: { currency: 'JPY', amount: '3200' },
  order_reference: 'D-1001',
  line_items: [{ name: 'Postcards', quantity: 1, unit_amount: '3200' }],
};
const TOTAL = '¥3,200';
const VISA = { number: '4242 4242 4242 4242', expiry: '12/34', cvc: '123', holder: 'AIKO TANAKA' };
const INSECURE = { [oauth.allowInsecureRequests]: true };
const PHONE = { width: 390, height: 844 };

describe('disputes', () => {
  const env = suiteEnv({ before, after });
  const shop = {};

  before(async () => {
    shop.callback = await startCallbackServer();
    shop.redirectUri = shop.callback.url('/callback');
    shop.hooks = await startWebhookReceiver();
    shop.merchant = await createMerchant(env.wallet, { ...SHOP, redirectUri: shop.redirectUri, webhookUrl: shop.hooks.url, verified: true });
    shop.hooks.useSecret(shop.merchant.webhook_secret);
    shop.client = { client_id: shop.merchant.client_id };
    shop.auth = oauth.ClientSecretBasic(shop.merchant.client_secret);
    const issuer = new URL(env.wallet.baseURL);
    const discovery = await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', ...INSECURE });
    shop.as = await oauth.processDiscoveryResponse(issuer, discovery);
  });

  after(async () => {
    await shop.callback?.close();
    await shop.hooks?.close();
  });

  /** The merchant's server: Basic credentials and an idempotency key on every POST. */
  async function api(method, p, body) {
    const basic = Buffer.from(`${encodeURIComponent(shop.merchant.client_id)}:${encodeURIComponent(shop.merchant.client_secret)}`).toString('base64');
    const headers = { Authorization: `Basic ${basic}`, Accept: 'application/json' };
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      headers['Idempotency-Key'] = randomUUID();
    }
    const response = await fetch(new URL(p, env.wallet.baseURL), { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : null, text };
  }

  /** PAR + PKCE with oauth4webapi: the authorization URL and what the shop keeps. */
  async function startCheckout() {
    const codeVerifier = oauth.generateRandomCodeVerifier();
    const state = oauth.generateRandomState();
    const params = new URLSearchParams({
      response_type: 'code',
      client_id: shop.client.client_id,
      redirect_uri: shop.redirectUri,
      state,
      code_challenge: await oauth.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: 'S256',
      authorization_details: JSON.stringify([PAYMENT]),
    });
    const response = await oauth.pushedAuthorizationRequest(shop.as, shop.client, shop.auth, params, INSECURE);
    const pushed = await oauth.processPushedAuthorizationResponse(shop.as, shop.client, response);
    const authorizationUrl = new URL(shop.as.authorization_endpoint);
    authorizationUrl.searchParams.set('client_id', shop.client.client_id);
    authorizationUrl.searchParams.set('request_uri', pushed.request_uri);
    return { authorizationUrl, state, codeVerifier };
  }

  /** The shop's callback: exchange the code, then take the captured payment. */
  async function capture(checkout, callbackUrl) {
    const params = oauth.validateAuthResponse(shop.as, shop.client, new URL(callbackUrl), checkout.state);
    const tokenResponse = await oauth.authorizationCodeGrantRequest(
      shop.as, shop.client, shop.auth, params, shop.redirectUri, checkout.codeVerifier, INSECURE,
    );
    const token = await oauth.processAuthorizationCodeResponse(shop.as, shop.client, tokenResponse);
    const paid = await api('POST', '/v1/payments', { grant: token.access_token, amount: PAYMENT.instructed_amount, capture: true });
    assert.equal(paid.status, 201, `the payment is taken: ${paid.text}`);
    assert.equal(paid.body.status, 'captured');
    return paid.body;
  }

  it('pay, report "not received", webhook, evidence, support decides for the shopper, Activity shows the refund', async (t) => {
    await withPage(t, env, async (h) => {
      const { page } = h;
      // 1. A shopper with a card pays ¥3,200 with their passkey.
      await signUp(page, newShopper('dispute'));
      await page.goto('/cards/new');
      await page.getByLabel('Card number').fill(VISA.number);
      await page.getByLabel('Expiry (MM/YY)').fill(VISA.expiry);
      await page.getByLabel('Security code').fill(VISA.cvc);
      await page.getByLabel('Name on card').fill(VISA.holder);
      await expectFormRedirect(page, /^\/cards$/, () => page.getByRole('button', { name: 'Add card' }).click());
      const checkout = await startCheckout();
      await page.goto(checkout.authorizationUrl.href);
      const arrived = shop.callback.waitFor('/callback');
      await page.getByRole('button', { name: `Pay ${TOTAL}`, exact: true }).click();
      const payment = await capture(checkout, await arrived);

      // 2. Activity offers "Report a problem"; the form has plain reasons and the amount filled in.
      await page.goto('/activity');
      await axeClean(page, 'activity');
      await page.getByRole('link', { name: /^Report a problem/ }).click();
      await page.waitForURL((u) => u.pathname === `/activity/${payment.id}/dispute`);
      await page.getByRole('heading', { level: 1, name: 'Report a problem' }).waitFor();
      assert.equal(await page.getByLabel('Amount in dispute (JPY)').inputValue(), '3200', 'the amount is the most that can be disputed');
      for (const label of ["I didn't receive it", "It isn't as described", "I didn't authorise this payment", 'I was charged twice']) {
        assert.equal(await page.getByRole('radio', { name: label }).count(), 1, `the reason "${label}"`);
      }
      await axeClean(page, 'report form');
      await page.setViewportSize(PHONE);
      await noHorizontalOverflow(page, 'report form at 390px');
      await page.getByRole('radio', { name: "I didn't receive it" }).check();
      await page.getByLabel('What happened').fill('The postcards never arrived. Ordered on 1 December.');
      await expectFormRedirect(page, new RegExp(`^/activity/${payment.id}/dispute$`), () =>
        page.getByRole('button', { name: `Send to ${SHOP.name}` }).click());
      await page.waitForURL(/\/disputes\/dsp_[^/]+$/);
      const disputeId = new URL(page.url()).pathname.split('/').pop();
      await page.getByRole('heading', { level: 1, name: `Your dispute with ${SHOP.name}` }).waitFor();
      assert.match(await page.locator('#dispute-status').innerText(), /Waiting for the shop/);
      await noHorizontalOverflow(page, 'dispute page at 390px');
      await axeClean(page, 'dispute page');
      await page.setViewportSize({ width: 1280, height: 900 });

      // 3. The merchant hears of it: a signed dispute.opened webhook.
      const opened = await shop.hooks.waitFor('dispute.opened', (e) => e.data?.id === disputeId);
      assert.equal(opened.data.payment_id, payment.id);
      assert.equal(opened.data.reason, 'not_received');
      assert.deepEqual(opened.data.amount, { currency: 'JPY', amount: '3200' });

      // 4. The merchant answers with evidence.
      const listed = await api('GET', '/v1/disputes?status=open');
      assert.equal(listed.status, 200, listed.text);
      assert.ok(listed.body.disputes.some((d) => d.id === disputeId), 'the merchant lists the open dispute');
      const answered = await api('POST', `/v1/disputes/${disputeId}/respond`, {
        evidence: { text: 'Posted on 2 December.', carrier: 'Japan Post', tracking_number: 'JP-7788' },
      });
      assert.equal(answered.status, 200, answered.text);
      assert.equal(answered.body.status, 'evidence_received');

      // 5. A support admin, invited from the command line, decides for the shopper.
      const { stdout } = await runSaifu(env.wallet, ['admin', 'invite', '--email', 'support@issuer.example', '--role', 'support', '--json']);
      const invite = JSON.parse(stdout);
      const admin = await openPage(env.browser, env.wallet.baseURL);
      try {
        const c = admin.page;
        await c.goto(invite.invite_url);
        await Promise.all([
          c.waitForURL(/\/admin\/passkeys\?welcome=1$/),
          c.getByRole('button', { name: 'Create admin passkey' }).click(),
        ]);
        await c.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: 'Disputes' }).click();
        await c.waitForURL((u) => u.pathname === '/admin/disputes');
        await axeClean(c, 'console disputes');
        const queued = c.locator('#dispute-queue').getByRole('link', { name: disputeId });
        await queued.click();
        await c.waitForURL((u) => u.pathname === `/admin/disputes/${disputeId}`);
        assert.match(await c.locator('#evidence-text').innerText(), /Posted on 2 December\./);
        assert.match(await c.locator('main').innerText(), /JP-7788/);
        await axeClean(c, 'console dispute');
        await c.setViewportSize(PHONE);
        await noHorizontalOverflow(c, 'console dispute at 390px');
        await Promise.all([
          c.waitForURL((u) => u.pathname === `/admin/disputes/${disputeId}`),
          c.getByRole('button', { name: 'Decide for the shopper' }).click(),
        ]);
        await c.locator('#decision').getByText('For the shopper').waitFor();
        assert.equal((await c.locator('#dispute-status').getAttribute('data-status')), 'resolved');
        assert.match(await c.locator('main').innerText(), /Refunded ¥3,200/);
        await c.screenshot({ path: path.join(RESULTS_DIR, 'console-dispute-decided.png'), fullPage: true });
        await c.goto('/admin/guarantee');
        await axeClean(c, 'guarantee fund');
        await noHorizontalOverflow(c, 'guarantee fund at 390px');
        assert.deepEqual(admin.cspViolations, [], 'no CSP violation in the console');
      } finally {
        await admin.close();
      }

      // 6. The merchant is told, and the shopper sees the refund and the dispute resolved.
      const resolved = await shop.hooks.waitFor('dispute.resolved', (e) => e.data?.id === disputeId);
      assert.equal(resolved.data.outcome, 'refunded');
      await page.goto('/activity');
      const card = page.locator(`li[id="${payment.id}"]`);
      assert.match(await card.innerText(), /Refunded/);
      assert.match(await card.innerText(), /¥3,200 refunded on/);
      assert.match(await card.getByRole('link', { name: /^Dispute:/ }).innerText(), /Dispute: Resolved/);
      assert.equal(await card.getByRole('link', { name: /^Report a problem/ }).count(), 0, 'nothing left to dispute');
      await card.getByRole('link', { name: /^Dispute:/ }).click();
      await page.waitForURL((u) => u.pathname === `/disputes/${disputeId}`);
      const text = await page.locator('main').innerText();
      assert.match(text, /Resolved/);
      assert.match(text, /Saifu decided in your favour\./);
      assert.match(text, /¥3,200 was refunded to your card\./);
      await axeClean(page, 'resolved dispute');
      await page.screenshot({ path: path.join(RESULTS_DIR, 'dispute-resolved.png'), fullPage: true });
      assert.deepEqual(h.cspViolations, [], 'no CSP violation on the wallet pages');
      assert.deepEqual(h.pageErrors, [], 'no uncaught page error');
      assert.deepEqual(shop.hooks.refused, [], 'every delivery was signed with the endpoint secret');
    });
  });
});
