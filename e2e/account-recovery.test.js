// Recovery without SMS end to end: a shopper signs up and is shown ten recovery codes once on
// the wallet home; the phone with the passkey is lost (the virtual authenticator removed); on
// a new one the shopper signs in with a code from "Lost your passkey?", is led straight to
// making a new passkey (the wallet stays closed until then), adds a card and pays with it.
// The recovery pages pass an axe-core audit, at desktop and phone width.
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  AUTHENTICATOR_OPTIONS,
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

/** A pushed authorization request for `amount` yen; returns the authorization URL. */
async function checkout(baseURL, merchant, redirectUri, amount, order) {
  const body = new URLSearchParams({
    response_type: 'code',
    client_id: merchant.client_id,
    redirect_uri: redirectUri,
    state: `recovery-${order}`,
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

describe('account recovery', () => {
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

  for (const viewport of [undefined, { width: 390, height: 844 }]) {
    const label = viewport ? 'phone' : 'desktop';
    it(`signs in with a recovery code after the passkey is lost, makes a new passkey and pays (${label})`, async (t) => {
      await withPage(t, env, async (h) => {
        const { page, cdp } = h;
        const shopper = newShopper(viewport ? 'rcp' : 'rcd');

        // 1. Sign-up: the home page shows ten codes, once.
        await signUp(page, shopper);
        const codes = await page.locator('#recovery-codes code').allInnerTexts();
        assert.equal(codes.length, 10, 'ten recovery codes after sign-up');
        for (const c of codes) assert.match(c, /^[a-z2-9]{5}-[a-z2-9]{5}$/);
        await axeClean(page, 'home with recovery codes');
        if (viewport) await noHorizontalOverflow(page, 'home with recovery codes');
        await page.screenshot({ path: path.join(RESULTS_DIR, `recovery-codes-${label}.png`), fullPage: true });
        await page.reload();
        assert.equal(await page.locator('#recovery-codes').count(), 0, 'the codes are shown only once');

        // 2. The phone is lost: its passkey is gone, and so is the session.
        await cdp.send('WebAuthn.removeVirtualAuthenticator', { authenticatorId: h.authenticatorId });
        await h.context.clearCookies();
        const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', { options: AUTHENTICATOR_OPTIONS });

        // 3. "Lost your passkey?": a wrong code first, then a right one typed loosely.
        await page.goto('/signin');
        await page.getByRole('link', { name: 'Lost your passkey?' }).click();
        await page.waitForURL((u) => u.pathname === '/recover');
        await axeClean(page, 'recover page');
        if (viewport) await noHorizontalOverflow(page, 'recover page');
        await page.getByLabel('Email').fill(shopper.email);
        await page.getByLabel('Recovery code').fill('aaaaa-aaaaa');
        await page.getByRole('button', { name: 'Sign in with the code' }).click();
        const error = page.locator('#code-error');
        await error.filter({ hasText: /do not match/ }).waitFor();
        assert.equal(await page.getByLabel('Recovery code').getAttribute('aria-invalid'), 'true');
        await axeClean(page, 'recover page with an error');
        await page.getByLabel('Recovery code').fill(codes[3].toUpperCase().replace('-', ' '));
        await expectFormRedirect(page, /^\/recover$/, () => page.getByRole('button', { name: 'Sign in with the code' }).click());
        await page.waitForURL((u) => u.pathname === '/recover/passkey');
        await page.getByRole('heading', { level: 1, name: 'Make a new passkey' }).waitFor();
        await axeClean(page, 'new passkey after recovery');

        // Until the passkey exists, the wallet stays closed.
        await page.goto('/cards');
        await page.waitForURL((u) => u.pathname === '/signin');
        await page.goto('/recover/passkey');

        // 4. The new passkey; then signed in, on the passkeys page.
        await page.getByRole('button', { name: 'Create a new passkey' }).click();
        await page.waitForURL((u) => u.pathname === '/passkeys');
        await page.getByRole('heading', { level: 1, name: 'Passkeys' }).waitFor();
        assert.equal((await h.credentials(authenticatorId)).length, 1, 'a passkey on the new device');

        // 5. A card, and a payment approved with the new passkey.
        await page.goto('/cards/new');
        await page.getByLabel('Card number').fill(VISA.number);
        await page.getByLabel('Expiry (MM/YY)').fill(VISA.expiry);
        await page.getByLabel('Security code').fill(VISA.cvc);
        await page.getByLabel('Name on card').fill(VISA.holder);
        await expectFormRedirect(page, /^\/cards$/, () => page.getByRole('button', { name: 'Add card' }).click());
        await page.goto(await checkout(env.wallet.baseURL, shop.merchant, shop.redirectUri, '9800', `R-${label}`));
        const paid = shop.callback.waitFor('/callback');
        await page.getByRole('button', { name: 'Pay ¥9,800', exact: true }).click();
        const paidUrl = new URL(await paid);
        assert.ok(paidUrl.searchParams.get('code'), `a code for the shop: ${paidUrl}`);
        await page.waitForURL((u) => u.pathname === '/callback');

        // 6. Activity lists what happened.
        await page.goto('/activity');
        const security = page.locator('#account-security');
        await security.waitFor();
        assert.match(await security.innerText(), /You signed in with a recovery code/);
        assert.match(await security.innerText(), /You made recovery codes/);
        await axeClean(page, 'activity with account security');
      }, viewport ? { viewport } : {});
    });
  }
});
