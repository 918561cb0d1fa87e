// Points statements end to end: a shopper pays a merchant with a passkey (earning points), then
// pays again with 20 of them; the merchant reads its month's statement through the API; an
// auditor invited with `saifu admin invite` opens Statements in the console, sees the merchant's
// line and the totals, downloads the CSV, and a refused month is shown next to the month picker.
// The pages pass axe-core and fit a phone's width.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
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
  suiteEnv,
  withPage,
} from './helpers.js';

const SHOP = { name: 'Frame Shop', domain: 'frame-shop.example' };
const VISA = { number: '4242 4242 4242 4242', expiry: '12/34', cvc: '123', holder: 'AIKO TANAKA' };
const INSECURE = { [oauth.allowInsecureRequests]: true };
const PHONE = { width: 390, height: 844 };

describe('points statements', () => {
  const env = suiteEnv({ before, after });
  const shop = {};

  before(async () => {
    shop.callback = await startCallbackServer();
    shop.redirectUri = shop.callback.url('/callback');
    shop.merchant = await createMerchant(env.wallet, { ...SHOP, redirectUri: shop.redirectUri, verified: true });
    shop.client = { client_id: shop.merchant.client_id };
    shop.auth = oauth.ClientSecretBasic(shop.merchant.client_secret);
    const issuer = new URL(env.wallet.baseURL);
    const discovery = await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', ...INSECURE });
    shop.as = await oauth.processDiscoveryResponse(issuer, discovery);
  });

  after(async () => {
    await shop.callback?.close();
  });

  /** The merchant's server: Basic credentials, and an idempotency key on every POST. */
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

  /** PAR + PKCE for `amount` yen: the authorization URL and what the shop keeps. */
  async function startCheckout(amount, order) {
    const codeVerifier = oauth.generateRandomCodeVerifier();
    const state = oauth.generateRandomState();
    const params = new URLSearchParams({
      response_type: 'code',
      client_id: shop.client.client_id,
      redirect_uri: shop.redirectUri,
      state,
      code_challenge: await oauth.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: 'S256',
      authorization_details: JSON.stringify([{
        type: 'payment',
        instructed_amount: { currency: 'JPY', amount },
        order_reference: order,
        line_items: [{ name: 'Frames', quantity: 1, unit_amount: amount }],
      }]),
    });
    const response = await oauth.pushedAuthorizationRequest(shop.as, shop.client, shop.auth, params, INSECURE);
    const pushed = await oauth.processPushedAuthorizationResponse(shop.as, shop.client, response);
    const authorizationUrl = new URL(shop.as.authorization_endpoint);
    authorizationUrl.searchParams.set('client_id', shop.client.client_id);
    authorizationUrl.searchParams.set('request_uri', pushed.request_uri);
    return { authorizationUrl, state, codeVerifier, amount };
  }

  /** The shop's callback: exchange the code, then take the captured payment. */
  async function capture(checkout, callbackUrl) {
    const params = oauth.validateAuthResponse(shop.as, shop.client, new URL(callbackUrl), checkout.state);
    const tokenResponse = await oauth.authorizationCodeGrantRequest(
      shop.as, shop.client, shop.auth, params, shop.redirectUri, checkout.codeVerifier, INSECURE,
    );
    const token = await oauth.processAuthorizationCodeResponse(shop.as, shop.client, tokenResponse);
    const paid = await api('POST', '/v1/payments', { grant: token.access_token, amount: { currency: 'JPY', amount: checkout.amount }, capture: true });
    assert.equal(paid.status, 201, `the payment is taken: ${paid.text}`);
    return paid.body;
  }

  it('a redemption at the shop shows in its statement, the console lists it with totals and a CSV', async (t) => {
    const month = new Date().toISOString().slice(0, 7);
    await withPage(t, env, async (h) => {
      const { page } = h;
      // 1. A shopper pays ¥3,200 (32 points), then ¥1,000 using 20 of them.
      await signUp(page, newShopper('statements'));
      await page.goto('/cards/new');
      await page.getByLabel('Card number').fill(VISA.number);
      await page.getByLabel('Expiry (MM/YY)').fill(VISA.expiry);
      await page.getByLabel('Security code').fill(VISA.cvc);
      await page.getByLabel('Name on card').fill(VISA.holder);
      await expectFormRedirect(page, /^\/cards$/, () => page.getByRole('button', { name: 'Add card' }).click());
      const first = await startCheckout('3200', 'S-1');
      await page.goto(first.authorizationUrl.href);
      let arrived = shop.callback.waitFor('/callback');
      await page.getByRole('button', { name: 'Pay ¥3,200', exact: true }).click();
      await page.waitForURL((u) => u.pathname === '/callback', { waitUntil: 'load' });
      assert.equal((await capture(first, await arrived)).points_earned, 32);
      const second = await startCheckout('1000', 'S-2');
      await page.goto(second.authorizationUrl.href);
      await page.getByLabel(/^Points to use/).fill('20');
      arrived = shop.callback.waitFor('/callback');
      await page.getByRole('button', { name: /^Pay / }).click();
      await page.waitForURL((u) => u.pathname === '/callback', { waitUntil: 'load' });
      assert.equal((await capture(second, await arrived)).points_redeemed, 20);

      // 2. The merchant's statement: 20 points redeemed, which the programme owes it.
      const statement = await api('GET', `/v1/points/statements?month=${month}`);
      assert.equal(statement.status, 200, statement.text);
      assert.deepEqual(statement.body.lines, [{
        currency: 'JPY',
        points_issued: 0,
        points_redeemed: 20,
        issued_amount: { currency: 'JPY', amount: '0' },
        redeemed_amount: { currency: 'JPY', amount: '20' },
        net_amount: { currency: 'JPY', amount: '20' },
      }]);
    });

    // 3. An auditor opens Statements in the console.
    const { stdout } = await runSaifu(env.wallet, ['admin', 'invite', '--email', 'auditor@issuer.example', '--role', 'auditor', '--json']);
    const invite = JSON.parse(stdout);
    const admin = await openPage(env.browser, env.wallet.baseURL);
    try {
      const c = admin.page;
      await c.goto(invite.invite_url);
      await Promise.all([
        c.waitForURL(/\/admin\/passkeys\?welcome=1$/),
        c.getByRole('button', { name: 'Create admin passkey' }).click(),
      ]);
      await c.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: 'Statements' }).click();
      await c.waitForURL((u) => u.pathname === '/admin/points/statements');
      await c.getByRole('heading', { level: 1, name: 'Points statements' }).waitFor();
      assert.equal(await c.getByLabel('Month (UTC)').inputValue(), month, 'the current month by default');
      const rows = await c.locator('#statements tbody tr').evaluateAll((trs) =>
        trs.map((tr) => [...tr.cells].map((cell) => cell.textContent.replace(/\s+/g, ' ').trim())));
      assert.deepEqual(rows, [[`${SHOP.name} ${shop.merchant.client_id}`, 'JPY', '0', '20', '¥0', '¥20', '¥20']]);
      const totals = await c.locator('#statements-totals tbody tr').evaluateAll((trs) =>
        trs.map((tr) => [...tr.cells].map((cell) => cell.textContent.trim())));
      assert.deepEqual(totals, [['JPY', '0', '20', '¥0', '¥20', '¥20']]);
      await axeClean(c, 'points statements');
      await c.screenshot({ path: path.join(RESULTS_DIR, 'console-points-statements.png'), fullPage: true });

      const [download] = await Promise.all([
        c.waitForEvent('download'),
        c.getByRole('link', { name: 'Download CSV' }).click(),
      ]);
      assert.equal(download.suggestedFilename(), `saifu-points-statements-${month}.csv`);
      const csv = await readFile(await download.path(), 'utf8');
      assert.equal(csv.split('\r\n')[1], `${month},${shop.merchant.client_id},${SHOP.name},JPY,0,20,0,20,20`);

      // A month before 2000-01 is refused next to the picker; an empty month says so.
      await c.goto('/admin/points/statements?month=1999-12');
      const error = c.locator('#statements-month-error');
      assert.match(await error.innerText(), /from 2000-01 to/);
      assert.equal(await c.getByLabel('Month (UTC)').getAttribute('aria-invalid'), 'true');
      await axeClean(c, 'points statements, refused month');
      await c.goto('/admin/points/statements?month=2001-01');
      await c.locator('#statements-empty').waitFor();

      // At phone width.
      await c.setViewportSize(PHONE);
      await c.goto(`/admin/points/statements?month=${month}`);
      await noHorizontalOverflow(c, 'points statements at 390px');
      await axeClean(c, 'points statements at phone width');
      await c.screenshot({ path: path.join(RESULTS_DIR, 'console-points-statements-390.png'), fullPage: true });
      assert.deepEqual(admin.cspViolations, [], 'no CSP violation in the console');
      assert.deepEqual(admin.pageErrors, [], 'no uncaught page error');
    } finally {
      await admin.close();
    }
  });
});
