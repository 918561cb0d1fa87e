// Shipping addresses in a checkout, in Chromium, on a desktop and at phone width (390x844): a
// shop asks for an address (`"shipping": {"required": true}`); a new shopper signs up from the
// consent page, adds a card, then adds an address from the consent's "Add an address" (first
// with a postal code the form refuses next to the field) and comes back to the consent with it
// chosen; pays with a passkey; and the shop's token response carries exactly that address. The
// consent page, the address form (with its error) and the addresses page are axe-clean.
import assert from 'node:assert/strict';
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
  startCallbackServer,
  suiteEnv,
  withPage,
} from './helpers.js';

const SHOP = { name: 'Parcel Shop', domain: 'parcel-shop.example' };
const TOTAL = '¥3,200';
const INSECURE = { [oauth.allowInsecureRequests]: true };
const VIEWPORTS = [
  { label: 'desktop', viewport: { width: 1280, height: 900 } },
  { label: 'phone', viewport: { width: 390, height: 844 } },
];
const ADDRESS = {
  name: 'Aiko Tanaka', postal_code: '150-0001', prefecture: 'Tokyo', city: 'Shibuya-ku',
  line1: '1-2-3 Jingumae', line2: 'Room 401', phone: '09012345678', country: 'JP',
};

describe('shipping addresses', () => {
  const env = suiteEnv({ before, after });
  const shop = {};

  before(async () => {
    shop.callback = await startCallbackServer();
    shop.redirectUri = shop.callback.url('/callback');
    shop.merchant = await createMerchant(env.wallet, { ...SHOP, redirectUri: shop.redirectUri, verified: true });
    shop.client = { client_id: shop.merchant.client_id };
    shop.auth = oauth.ClientSecretBasic(shop.merchant.client_secret);
    shop.issuer = new URL(env.wallet.baseURL);
    const discovery = await oauth.discoveryRequest(shop.issuer, { algorithm: 'oauth2', ...INSECURE });
    shop.as = await oauth.processDiscoveryResponse(shop.issuer, discovery);
  });

  after(async () => {
    await shop.callback?.close();
  });

  /** PAR for a ¥3,200 order that asks for a shipping address. */
  async function startCheckout(orderReference) {
    const codeVerifier = oauth.generateRandomCodeVerifier();
    const state = oauth.generateRandomState();
    const payment = {
      type: 'payment',
      instructed_amount: { currency: 'JPY', amount: '3200' },
      order_reference: orderReference,
      line_items: [{ name: 'Tea set', quantity: 1, unit_amount: '3200' }],
      shipping: { required: true },
    };
    const params = new URLSearchParams({
      response_type: 'code',
      client_id: shop.client.client_id,
      redirect_uri: shop.redirectUri,
      state,
      code_challenge: await oauth.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: 'S256',
      authorization_details: JSON.stringify([payment]),
    });
    const response = await oauth.pushedAuthorizationRequest(shop.as, shop.client, shop.auth, params, INSECURE);
    assert.equal(response.status, 201, 'PAR answers 201');
    const pushed = await oauth.processPushedAuthorizationResponse(shop.as, shop.client, response);
    const authorizationUrl = new URL(shop.as.authorization_endpoint);
    authorizationUrl.searchParams.set('client_id', shop.client.client_id);
    authorizationUrl.searchParams.set('request_uri', pushed.request_uri);
    return { authorizationUrl, state, codeVerifier };
  }

  for (const { label, viewport } of VIEWPORTS) {
    it(`${label}: a checkout asks for an address, the shopper adds one from the consent and pays, and the shop receives it`, async (t) => {
      await withPage(t, env, async (h) => {
        const { page } = h;
        const checkout = await startCheckout(`SHIP-${label}`);
        await page.goto(checkout.authorizationUrl.href);
        await page.waitForURL((u) => /^\/checkout\/[^/]+$/.test(u.pathname));
        const consentPath = new URL(page.url()).pathname;
        const next = encodeURIComponent(consentPath);

        // A new shopper signs up from the consent page and adds a card from it.
        await page.getByRole('link', { name: 'Create a wallet' }).click();
        await page.waitForURL((u) => u.pathname === '/signup');
        const shopper = newShopper(`ship-${label}`);
        await page.getByLabel('Display name').fill(shopper.displayName);
        await page.getByLabel('Email', { exact: true }).fill(shopper.email);
        await page.getByRole('button', { name: 'Create passkey' }).click();
        await page.waitForURL((u) => u.pathname === consentPath);
        await page.getByRole('link', { name: 'Add a card' }).click();
        await page.waitForURL((u) => u.pathname === '/cards/new');
        await page.getByLabel('Card number').fill('4242 4242 4242 4242');
        await page.getByLabel('Expiry (MM/YY)').fill('12/34');
        await page.getByLabel('Security code').fill('123');
        await page.getByLabel('Name on card').fill('AIKO TANAKA');
        await expectFormRedirect(page, /^\/cards$/, () => page.getByRole('button', { name: 'Add card' }).click());
        await page.waitForURL((u) => u.pathname === consentPath);

        // The chooser: no address yet, and the way to add one.
        const shipTo = page.getByRole('group', { name: 'Ship to' });
        await shipTo.waitFor();
        await shipTo.getByText('You have no addresses in your wallet yet.').waitFor();
        await shipTo.getByText(`${SHOP.name} receives this address for this order only.`).waitFor();
        await axeClean(page, `${label} consent without an address`);
        await noHorizontalOverflow(page, `${label} consent`);
        const add = page.getByRole('link', { name: 'Add an address' });
        assert.equal(await add.getAttribute('href'), `/addresses/new?return_to=${next}`);
        await add.click();
        await page.waitForURL((u) => u.pathname === '/addresses/new');
        assert.equal(await page.locator('input[name="return_to"]').inputValue(), consentPath);

        // A postal code the form refuses: the error is next to the field, and what was typed stays.
        await page.getByLabel('Full name').fill(ADDRESS.name);
        await page.getByLabel('Postal code').fill('150-01');
        await page.getByLabel('Prefecture').selectOption(ADDRESS.prefecture);
        await page.getByLabel('City, ward, town or village').fill(ADDRESS.city);
        await page.getByLabel('Address', { exact: true }).fill(ADDRESS.line1);
        await page.getByLabel('Address line 2').fill(ADDRESS.line2);
        await page.getByLabel('Phone').fill('090-1234-5678');
        const refused = page.waitForResponse((r) => new URL(r.url()).pathname === '/addresses' && r.request().method() === 'POST');
        await page.getByRole('button', { name: 'Add address' }).click();
        assert.equal((await refused).status(), 400);
        const postal = page.getByLabel('Postal code');
        await page.locator('#postal_code-error[data-code="invalid_address"]').waitFor();
        assert.equal(await postal.getAttribute('aria-invalid'), 'true');
        assert.match(await postal.getAttribute('aria-describedby'), /\bpostal_code-error\b/);
        assert.match(await page.locator('#postal_code-error').innerText(), /7 digits/);
        assert.equal(await page.getByLabel('City, ward, town or village').inputValue(), ADDRESS.city);
        await axeClean(page, `${label} address form with an error`);
        await noHorizontalOverflow(page, `${label} address form`);
        await page.screenshot({ path: path.join(RESULTS_DIR, `address-form-${label}.png`), fullPage: true });

        // Corrected: back to the same consent, the new address chosen.
        await postal.fill(ADDRESS.postal_code);
        await page.getByRole('button', { name: 'Add address' }).click();
        await page.waitForURL((u) => u.pathname === consentPath);
        const chosen = page.getByRole('radio', { name: new RegExp(`^${ADDRESS.name}`) });
        assert.equal(await chosen.count(), 1);
        assert.equal(await chosen.isChecked(), true, 'the new (default) address is chosen');
        await axeClean(page, `${label} consent with an address`);
        await noHorizontalOverflow(page, `${label} consent with an address`);
        await page.screenshot({ path: path.join(RESULTS_DIR, `consent-shipping-${label}.png`), fullPage: true });

        // Pay with the passkey; the shop exchanges the code and gets the address.
        const arrived = shop.callback.waitFor('/callback');
        await page.getByRole('button', { name: `Pay ${TOTAL}`, exact: true }).click();
        const callbackUrl = new URL(await arrived);
        // The browser is still arriving at the shop: let it land before going anywhere else.
        await page.waitForURL((url) => url.pathname === '/callback', { waitUntil: 'load' });
        const params = oauth.validateAuthResponse(shop.as, shop.client, callbackUrl, checkout.state);
        const tokenResponse = await oauth.authorizationCodeGrantRequest(
          shop.as, shop.client, shop.auth, params, shop.redirectUri, checkout.codeVerifier, INSECURE,
        );
        const token = await oauth.processAuthorizationCodeResponse(shop.as, shop.client, tokenResponse);
        assert.deepEqual(token.authorization_details[0].shipping, { required: true, address: ADDRESS });

        // The addresses page lists it as the default.
        await page.goto('/addresses');
        await page.getByRole('heading', { level: 1, name: 'Addresses' }).waitFor();
        await page.getByText('〒150-0001 Tokyo, Shibuya-ku, 1-2-3 Jingumae, Room 401', { exact: true }).waitFor();
        assert.equal(await page.locator('.badge', { hasText: 'Default' }).count(), 1);
        await axeClean(page, `${label} addresses page`);
        await noHorizontalOverflow(page, `${label} addresses page`);
        assert.deepEqual(h.pageErrors, [], 'no uncaught page errors');
        assert.deepEqual(h.cspViolations, [], 'no CSP violations');
      }, { viewport });
    });
  }
});
