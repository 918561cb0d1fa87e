// Risk limits end to end: an operator invited with `saifu admin invite` lowers the per-payment
// cap for JPY in the console; a shopper's checkout above it is refused on the consent page with
// the limit named in plain words (and the shop gets access_denied naming the limit); a checkout
// below it is paid with the passkey. The pages visited pass an axe-core audit.
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  RESULTS_DIR,
  axeClean,
  createMerchant,
  expectFormRedirect,
  newShopper,
  runSaifu,
  signUp,
  startCallbackServer,
  suiteEnv,
  withPage,
} from './helpers.js';

const SHOP = { name: 'Frame Shop', domain: 'frame-shop.example' };
const VISA = { number: '4242 4242 4242 4242', expiry: '12/34', cvc: '123', holder: 'AIKO TANAKA' };

/** A pushed authorization request for `amount` yen; returns the authorization URL. */
async function checkout(baseURL, merchant, redirectUri, amount, order) {
  const body = new URLSearchParams({
    response_type: 'code',
    client_id: merchant.client_id,
    redirect_uri: redirectUri,
    state: `risk-${order}`,
    code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
    code_challenge_method: 'S256',
    authorization_details: JSON.stringify([{
      type: 'payment',
      instructed_amount: { currency: 'JPY', amount },
      order_reference: order,
      line_items: [{ name: 'Frames', quantity: 1, unit_amount: amount }],
    }]),
  });
  const basic = Buffer.from(`${encodeURIComponent(merchant.client_id)}:${encodeURIComponent(merchant.client_secret)}`).toString('base64');
  const response = await fetch(new URL('/oauth/par', baseURL), {
    method: 'POST',
    headers: { Authorization: `Basic ${basic}`, 'Content-Type': 'application/x-www-form-urlencoded' },
    body,
  });
  assert.equal(response.status, 201, 'the shop pushes its request');
  const { request_uri: requestUri } = await response.json();
  const url = new URL('/oauth/authorize', baseURL);
  url.searchParams.set('client_id', merchant.client_id);
  url.searchParams.set('request_uri', requestUri);
  return url.href;
}

describe('risk limits', () => {
  const env = suiteEnv({ before, after });
  const shop = {};

  before(async () => {
    shop.callback = await startCallbackServer();
    shop.redirectUri = shop.callback.url('/callback');
    shop.merchant = await createMerchant(env.wallet, { ...SHOP, redirectUri: shop.redirectUri, verified: true });
  });

  after(async () => {
    await shop.callback?.close();
  });

  it('an operator lowers the per-payment cap; a checkout above it is refused with the message, one below it is paid', async (t) => {
    const { stdout } = await runSaifu(env.wallet, ['admin', 'invite', '--email', 'operator@issuer.example', '--role', 'operator', '--json']);
    const invite = JSON.parse(stdout);

    await withPage(t, env, async (h) => {
      const { page } = h;
      // The operator joins and lowers the JPY per-payment cap to ¥10,000.
      await page.goto(invite.invite_url);
      await Promise.all([
        page.waitForURL(/\/admin\/passkeys\?welcome=1$/),
        page.getByRole('button', { name: 'Create admin passkey' }).click(),
      ]);
      await page.getByRole('link', { name: 'Risk limits' }).click();
      await page.waitForURL(/\/admin\/risk$/);
      await page.getByRole('heading', { level: 1, name: 'Risk limits' }).waitFor();
      await axeClean(page, 'risk limits page');
      await page.locator('#JPY-per_payment').fill('10000');
      await expectFormRedirect(page, /^\/admin\/risk$/, () =>
        page.getByRole('button', { name: 'Save JPY limits' }).click());
      await page.waitForURL(/\/admin\/risk$/);
      assert.equal(await page.locator('#JPY-per_payment').inputValue(), '10000');
      await page.screenshot({ path: path.join(RESULTS_DIR, 'console-risk-limits.png'), fullPage: true });

      // A shopper with a card.
      await signUp(page, newShopper('risk'));
      await page.goto('/cards/new');
      await page.getByLabel('Card number').fill(VISA.number);
      await page.getByLabel('Expiry (MM/YY)').fill(VISA.expiry);
      await page.getByLabel('Security code').fill(VISA.cvc);
      await page.getByLabel('Name on card').fill(VISA.holder);
      await expectFormRedirect(page, /^\/cards$/, () => page.getByRole('button', { name: 'Add card' }).click());

      // ¥12,800 is above the cap: the consent page says so, and offers no Pay button.
      await page.goto(await checkout(env.wallet.baseURL, shop.merchant, shop.redirectUri, '12800', 'R-1'));
      await page.getByRole('heading', { level: 1, name: `Pay ${SHOP.name}` }).waitFor();
      const refusal = page.locator('#limit-refusal');
      await refusal.waitFor();
      assert.match(await refusal.innerText(), /limit of ¥10,000 per payment/);
      assert.equal(await page.getByRole('button', { name: /^Pay / }).count(), 0, 'no Pay button');
      await axeClean(page, 'refused consent page');
      await page.screenshot({ path: path.join(RESULTS_DIR, 'consent-limit-refused.png'), fullPage: true });
      const refused = shop.callback.waitFor('/callback');
      await page.getByRole('button', { name: `Return to ${SHOP.name}` }).click();
      const refusedUrl = new URL(await refused);
      assert.equal(refusedUrl.searchParams.get('error'), 'access_denied');
      assert.match(refusedUrl.searchParams.get('error_description'), /^limit_per_payment: /);

      // ¥9,800 is below it: paid with the passkey.
      await page.goto(await checkout(env.wallet.baseURL, shop.merchant, shop.redirectUri, '9800', 'R-2'));
      const paid = shop.callback.waitFor('/callback');
      await page.getByRole('button', { name: 'Pay ¥9,800', exact: true }).click();
      const paidUrl = new URL(await paid);
      assert.ok(paidUrl.searchParams.get('code'), `a code for the shop: ${paidUrl}`);
      assert.equal(paidUrl.searchParams.get('state'), 'risk-R-2');
    });
  });
});
