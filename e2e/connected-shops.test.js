// Connected shops end to end: a shopper pays a shop with a passkey (the shop takes the payment),
// finds it on the Connected shops page with this month's spending, and sets a monthly limit
// there; a checkout that would pass the limit is refused on the consent page with the limit in
// plain words (and the shop gets access_denied naming the code); one within it is paid. On a
// desktop and at 390x844, every page visited passes axe-core and fits the screen.
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
  signUp,
  startCallbackServer,
  suiteEnv,
  withPage,
} from './helpers.js';

const SHOP = { name: 'Frame Shop', domain: 'frame-shop.example' };
const VISA = { number: '4242 4242 4242 4242', expiry: '12/34', cvc: '123', holder: 'AIKO TANAKA' };
const INSECURE = { [oauth.allowInsecureRequests]: true };
const PHONE = { width: 390, height: 844 };

describe('connected shops', () => {
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

  /** The shop's callback: exchange the code, then take the payment (captured). */
  async function capture(checkout, callbackUrl) {
    const params = oauth.validateAuthResponse(shop.as, shop.client, new URL(callbackUrl), checkout.state);
    const tokenResponse = await oauth.authorizationCodeGrantRequest(
      shop.as, shop.client, shop.auth, params, shop.redirectUri, checkout.codeVerifier, INSECURE,
    );
    const token = await oauth.processAuthorizationCodeResponse(shop.as, shop.client, tokenResponse);
    const basic = Buffer.from(`${encodeURIComponent(shop.merchant.client_id)}:${encodeURIComponent(shop.merchant.client_secret)}`).toString('base64');
    const response = await fetch(new URL('/v1/payments', env.wallet.baseURL), {
      method: 'POST',
      headers: {
        Authorization: `Basic ${basic}`,
        'Content-Type': 'application/json',
        'Idempotency-Key': randomUUID(),
      },
      body: JSON.stringify({ grant: token.access_token, amount: { currency: 'JPY', amount: checkout.amount }, capture: true }),
    });
    const text = await response.text();
    assert.equal(response.status, 201, `the payment is taken: ${text}`);
  }

  /** On the consent page: pay with the passkey; the shop's callback URL. */
  async function pay(page, total) {
    const callback = shop.callback.waitFor('/callback');
    await page.getByRole('button', { name: `Pay ${total}`, exact: true }).click();
    const url = new URL(await callback);
    // The browser is still arriving at the shop: let it land before going anywhere else.
    await page.waitForURL((u) => u.pathname === '/callback', { waitUntil: 'load' });
    assert.ok(url.searchParams.get('code'), `a code for the shop: ${url}`);
    return url;
  }

  async function capRefusedAndWithinPaid(t, label, viewport) {
    await withPage(t, env, async (h) => {
      const { page } = h;
      const fits = async (what) => {
        await axeClean(page, `${label}: ${what}`);
        await noHorizontalOverflow(page, `${label}: ${what}`);
      };
      await signUp(page, newShopper(`shops-${label}`));
      await page.goto('/cards/new');
      await page.getByLabel('Card number').fill(VISA.number);
      await page.getByLabel('Expiry (MM/YY)').fill(VISA.expiry);
      await page.getByLabel('Security code').fill(VISA.cvc);
      await page.getByLabel('Name on card').fill(VISA.holder);
      await expectFormRedirect(page, /^\/cards$/, () => page.getByRole('button', { name: 'Add card' }).click());

      // Nothing paid yet: no shops.
      await page.goto('/shops');
      await page.getByRole('heading', { level: 1, name: 'Connected shops' }).waitFor();
      assert.match(await page.locator('main').innerText(), /No shops yet/);

      // ¥3,000 paid at the shop and taken: the shop is listed with this month's spending.
      const first = await startCheckout('3000', `S-${label}-1`);
      await page.goto(first.authorizationUrl.href);
      await capture(first, await pay(page, '¥3,000'));
      await page.goto('/');
      assert.equal(await page.locator('nav a[href="/shops"]').count(), 1, 'Shops is in the wallet\'s navigation');
      await page.goto('/shops');
      const card = page.locator('li.card', { has: page.getByRole('heading', { name: SHOP.name }) });
      assert.match(await card.innerText(), /This month: ¥3,000 \(no limit\)/);
      assert.match(await card.innerText(), /frame-shop\.example/);
      await fits('connected shops');

      // A limit that is not a whole amount of yen is refused next to the field.
      const limit = page.getByLabel(`Monthly limit at ${SHOP.name} (JPY)`);
      await limit.fill('5000.50');
      await page.getByRole('button', { name: `Save the JPY limit for ${SHOP.name}` }).click();
      const error = page.locator('.field-error[data-code="invalid_shop_cap"]');
      await error.waitFor();
      assert.match(await error.innerText(), /whole amount of yen/);
      assert.equal(await limit.getAttribute('aria-invalid'), 'true');
      await fits('limit refused');

      // The limit: ¥5,000 a month.
      await limit.fill('5000');
      await expectFormRedirect(page, /^\/shops\/[^/]+\/cap$/, () =>
        page.getByRole('button', { name: `Save the JPY limit for ${SHOP.name}` }).click());
      await page.waitForURL(/\/shops$/);
      assert.match(await card.innerText(), /This month: ¥3,000 of your ¥5,000 limit/);
      await page.screenshot({ path: path.join(RESULTS_DIR, `connected-shops-${label}.png`), fullPage: true });

      // ¥2,500 more would pass it: refused with the message, and no Pay button.
      await page.goto((await startCheckout('2500', `S-${label}-2`)).authorizationUrl.href);
      await page.getByRole('heading', { level: 1, name: `Pay ${SHOP.name}` }).waitFor();
      const refusal = page.locator('#limit-refusal');
      await refusal.waitFor();
      assert.match(
        await refusal.innerText(),
        /This payment would take your spending at Frame Shop this month to ¥5,500, over the ¥5,000 limit you set\. You can change the limit in Connected shops\./,
      );
      assert.equal(await page.getByRole('button', { name: /^Pay / }).count(), 0, 'no Pay button');
      await fits('consent refused by the limit');
      await page.screenshot({ path: path.join(RESULTS_DIR, `consent-shop-cap-${label}.png`), fullPage: true });
      const refused = shop.callback.waitFor('/callback');
      await page.getByRole('button', { name: `Return to ${SHOP.name}` }).click();
      const refusedUrl = new URL(await refused);
      assert.equal(refusedUrl.searchParams.get('error'), 'access_denied');
      assert.match(refusedUrl.searchParams.get('error_description'), /^shop_cap_exceeded: /);

      // ¥2,000 fits exactly: paid with the passkey.
      const within = await startCheckout('2000', `S-${label}-3`);
      await page.goto(within.authorizationUrl.href);
      await fits('consent within the limit');
      await pay(page, '¥2,000');
    }, { viewport });
  }

  it('on a desktop: a limit set in Connected shops refuses a checkout above it and lets one within it pay', async (t) => {
    await capRefusedAndWithinPaid(t, 'desktop', undefined);
  });

  it('at 390x844: the same, on a phone', async (t) => {
    await capRefusedAndWithinPaid(t, 'phone', PHONE);
  });
});
