// The checkout flow end to end, as DESIGN.md's "The checkout flow" describes it: a merchant
// registered with the CLI pushes an authorization request with an independent OAuth client
// library (oauth4webapi, unmodified apart from allowing http://localhost), a new shopper signs up
// and adds a card from the consent page, pays with a passkey, and the merchant validates the
// callback and exchanges the code for an ES256 payment grant that it verifies against the JWKS.
// A second checkout is cancelled and ends in error=access_denied.
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as oauth from 'oauth4webapi';
import {
  RESULTS_DIR,
  createMerchant,
  expectFormRedirect,
  newShopper,
  startCallbackServer,
  suiteEnv,
  withPage,
} from './helpers.js';

const SHOP = { name: 'Frame Shop', domain: 'frame-shop.example' };
const PAYMENT = {
  type: 'payment',
  instructed_amount: { currency: 'JPY', amount: '12800' },
  order_reference: 'A-1001',
  line_items: [{ name: 'Frames', quantity: 1, unit_amount: '12800' }],
};
const TOTAL = '¥12,800';
const VISA = { number: '4242 4242 4242 4242', expiry: '12/34', cvc: '123', holder: 'AIKO TANAKA' };

// oauth4webapi refuses plain http:// endpoints unless told otherwise; nothing else is relaxed.
const INSECURE = { [oauth.allowInsecureRequests]: true };

const b64json = (part) => JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));

/** Console errors, uncaught page errors and CSP violations: none are expected in a checkout. */
function assertCleanConsole(h, label) {
  assert.deepEqual(h.consoleErrors, [], `${label}: console errors`);
  assert.deepEqual(h.pageErrors, [], `${label}: uncaught page errors`);
  assert.deepEqual(h.cspViolations, [], `${label}: CSP violations`);
}

/** The consent page shows the vetted merchant, the order and its total. */
async function assertConsentShows(page, label) {
  await page.getByRole('heading', { level: 1, name: `Pay ${SHOP.name}` }).waitFor();
  assert.equal((await page.locator('.merchant-domain').innerText()).trim(), SHOP.domain, `${label}: merchant domain`);
  const badge = page.locator('.badge-verified');
  assert.ok(await badge.isVisible(), `${label}: the verified badge is shown`);
  assert.match(await badge.innerText(), /Verified by Saifu/, `${label}: badge text`);
  assert.equal(await page.getByText('Not verified.').count(), 0, `${label}: no "not verified" warning`);
  const order = page.locator('table.order');
  assert.match(await order.locator('caption').innerText(), /A-1001/, `${label}: order reference`);
  const rows = await order.locator('tbody tr').evaluateAll((trs) =>
    trs.map((tr) => [...tr.cells].map((td) => td.textContent.trim())));
  assert.deepEqual(rows, [['Frames', '1', TOTAL]], `${label}: line items`);
  assert.equal((await order.locator('tfoot .total').innerText()).trim(), TOTAL, `${label}: total`);
}

describe('checkout', () => {
  const env = suiteEnv({ before, after });
  /** The merchant's side: callback server, credentials, discovered metadata. */
  const shop = {};

  before(async () => {
    shop.callback = await startCallbackServer();
    shop.redirectUri = shop.callback.url('/callback');
    shop.merchant = await createMerchant(env.wallet, { ...SHOP, redirectUri: shop.redirectUri, verified: true });
    shop.client = { client_id: shop.merchant.client_id };
    shop.auth = oauth.ClientSecretBasic(shop.merchant.client_secret);
    // The issuer identifier as the WHATWG URL serializes it: http://localhost:PORT/
    shop.issuer = new URL(env.wallet.baseURL);
    shop.discovery = await oauth.discoveryRequest(shop.issuer, { algorithm: 'oauth2', ...INSECURE });
    shop.as = await oauth.processDiscoveryResponse(shop.issuer, shop.discovery.clone());
  });

  after(async () => {
    await shop.callback?.close();
  });

  /** PAR + PKCE with oauth4webapi; returns the authorization URL and what the shop keeps. */
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
    assert.equal(response.status, 201, 'PAR answers 201');
    const pushed = await oauth.processPushedAuthorizationResponse(shop.as, shop.client, response);
    assert.match(pushed.request_uri, /^urn:ietf:params:oauth:request_uri:.+/, 'request_uri (RFC 9126 §2.2)');
    assert.ok(pushed.expires_in > 0 && pushed.expires_in <= 600, `expires_in ${pushed.expires_in} is at most 600`);
    const authorizationUrl = new URL(shop.as.authorization_endpoint);
    authorizationUrl.searchParams.set('client_id', shop.client.client_id);
    authorizationUrl.searchParams.set('request_uri', pushed.request_uri);
    return { authorizationUrl, state, codeVerifier };
  }

  /** Open the authorization URL; returns the consent page's path (/checkout/{id}). */
  async function openConsent(page, checkout) {
    const response = await page.goto(checkout.authorizationUrl.href);
    assert.equal(response.status(), 200, 'the consent page loads');
    const redirected = response.request().redirectedFrom();
    assert.ok(redirected, '/oauth/authorize redirects to the consent page');
    assert.equal(new URL(redirected.url()).pathname, '/oauth/authorize');
    assert.equal((await redirected.response()).status(), 303, '/oauth/authorize answers 303');
    const consentPath = new URL(page.url()).pathname;
    assert.match(consentPath, /^\/checkout\/[^/]+$/, `the consent page is /checkout/{id}: ${page.url()}`);
    assert.equal(new URL(page.url()).origin, env.wallet.baseURL, 'the consent page is the wallet\'s own');
    return consentPath;
  }

  it('discovers the wallet with oauth4webapi: RFC 8414 metadata as DESIGN.md lists it', async () => {
    assert.equal(shop.discovery.status, 200);
    assert.equal(shop.discovery.url, new URL('/.well-known/oauth-authorization-server', env.wallet.baseURL).href);
    const as = shop.as;
    assert.equal(as.issuer, `${env.wallet.baseURL}/`, 'issuer is http://localhost:PORT/');
    const endpoint = (p) => new URL(p, env.wallet.baseURL).href;
    assert.equal(as.authorization_endpoint, endpoint('/oauth/authorize'));
    assert.equal(as.token_endpoint, endpoint('/oauth/token'));
    assert.equal(as.pushed_authorization_request_endpoint, endpoint('/oauth/par'));
    assert.equal(as.jwks_uri, endpoint('/oauth/jwks'));
    assert.equal(as.require_pushed_authorization_requests, true);
    assert.deepEqual(as.code_challenge_methods_supported, ['S256']);
    assert.deepEqual(as.authorization_details_types_supported, ['payment']);
    assert.equal(as.authorization_response_iss_parameter_supported, true);
    assert.ok(as.token_endpoint_auth_methods_supported.includes('client_secret_basic'));
    assert.ok(as.response_types_supported.includes('code'));
  });

  it('a new shopper signs up and adds a card from the consent page, pays ¥12,800 with a passkey, and the shop gets a verifiable grant', async (t) => {
    await withPage(t, env, async (h) => {
      const { page } = h;
      const checkout = await startCheckout();

      // 1. A new shopper, signed out, arrives at the consent page.
      const consentPath = await openConsent(page, checkout);
      await assertConsentShows(page, 'signed out');
      const next = encodeURIComponent(consentPath);
      assert.equal(await page.getByRole('link', { name: 'Sign in to choose a card or use points' }).getAttribute('href'), `/signin?next=${next}`);
      assert.equal(await page.getByRole('radio').count(), 0, 'no card chooser before signing in');
      assert.equal(await page.getByRole('button', { name: `Pay ${TOTAL}`, exact: true }).count(), 0, 'no Pay button before signing in');
      assert.equal(await page.getByRole('button', { name: `Pay ${TOTAL} with a passkey`, exact: true }).count(), 1, 'one touch for a returning shopper');

      // 2. "Create a wallet": sign up with a passkey, and land back on the consent page.
      await page.getByRole('link', { name: 'Create a wallet' }).click();
      await page.waitForURL((u) => u.pathname === '/signup');
      assert.equal(new URL(page.url()).searchParams.get('next'), consentPath, 'sign-up keeps the way back to the consent');
      const shopper = newShopper('checkout');
      await page.getByLabel('Display name').fill(shopper.displayName);
      await page.getByLabel('Email', { exact: true }).fill(shopper.email);
      await page.getByRole('button', { name: 'Create passkey' }).click();
      await page.waitForURL((u) => u.pathname === consentPath);
      await assertConsentShows(page, 'signed in, no card');
      await page.getByText('You have no cards in your wallet yet.').waitFor();
      assert.equal(await page.getByRole('button', { name: `Pay ${TOTAL}`, exact: true }).count(), 0, 'no Pay button without a card');
      assert.equal((await h.credentials()).length, 1, 'sign-up created one passkey');

      // 3. "Add a card": the card form returns to the consent page.
      const addCard = page.getByRole('link', { name: 'Add a card' });
      assert.equal(await addCard.getAttribute('href'), `/cards/new?return_to=${next}`);
      await addCard.click();
      await page.waitForURL((u) => u.pathname === '/cards/new');
      assert.equal(await page.locator('input[name="return_to"]').inputValue(), consentPath);
      await page.getByLabel('Card number').fill(VISA.number);
      await page.getByLabel('Expiry (MM/YY)').fill(VISA.expiry);
      await page.getByLabel('Security code').fill(VISA.cvc);
      await page.getByLabel('Name on card').fill(VISA.holder);
      await expectFormRedirect(page, /^\/cards$/, () => page.getByRole('button', { name: 'Add card' }).click());
      await page.waitForURL((u) => u.pathname === consentPath);

      // 4. Back on the consent page with that card chosen.
      await assertConsentShows(page, 'signed in, with a card');
      const radios = page.getByRole('radio');
      assert.equal(await radios.count(), 1, 'one card to choose from');
      const visa = page.getByRole('radio', { name: /^Visa •••• 4242\b/ });
      assert.equal(await visa.count(), 1, 'the card is labelled "Visa •••• 4242 …"');
      assert.equal(await visa.isChecked(), true, 'the new (default) card is chosen');
      assert.equal(await visa.getAttribute('name'), 'card_id');
      assert.equal(
        await page.getByRole('button', { name: `Cancel and return to ${SHOP.name}` }).count(), 1,
        'a way to cancel',
      );

      const shot = path.join(RESULTS_DIR, 'consent.png');
      await page.screenshot({ path: shot, fullPage: true });
      t.diagnostic(`screenshot: ${shot}`);

      // 5. Pay: a WebAuthn assertion with user verification required, then 303 to the shop.
      const begun = page.waitForResponse((r) => r.url().endsWith(`${consentPath}/begin`) && r.request().method() === 'POST');
      // Its body is gone once the form has navigated away: the WebAuthn recorder keeps the
      // options the page passed to navigator.credentials.get instead.
      const approved = page.waitForResponse((r) => r.url().endsWith(`${consentPath}/approve`) && r.request().method() === 'POST');
      const arrived = shop.callback.waitFor('/callback');
      const signCount = (await h.credentials())[0].signCount;
      const callsBefore = h.webauthnCalls.length;
      await page.getByRole('button', { name: `Pay ${TOTAL}`, exact: true }).click();
      const beginResponse = await begun;
      assert.equal(beginResponse.status(), 200, 'the payment confirmation starts');
      const approveResponse = await approved;
      assert.equal(approveResponse.status(), 303, 'approving answers 303');
      const location = approveResponse.headers().location;
      const callbackUrl = await arrived;
      assert.equal(callbackUrl, location, 'the browser followed the 303 to the redirect URI');
      await page.waitForURL((u) => u.origin === shop.callback.origin);
      assert.equal(page.url(), callbackUrl, 'the browser is at the redirect URI');
      await page.getByRole('heading', { name: 'Back at the shop' }).waitFor();

      const calls = h.webauthnCalls.slice(callsBefore).filter((c) => c.method === 'get');
      assert.deepEqual(calls.map((c) => [c.mediation, c.state]), [['optional', 'called'], ['optional', 'resolved']]);
      assert.equal(calls[0].userVerification, 'required', 'the payment asks for user verification');
      assert.equal(new URL(calls[0].url).pathname, consentPath, 'the passkey is asked on the consent page');
      assert.equal((await h.credentials())[0].signCount, signCount + 1, 'the passkey confirmed the payment');
      assertCleanConsole(h, 'checkout');

      // 6. The callback: code, state and iss (RFC 9207) on the registered redirect URI.
      const callback = new URL(callbackUrl);
      assert.equal(`${callback.origin}${callback.pathname}`, shop.redirectUri);
      assert.deepEqual([...callback.searchParams.keys()].sort(), ['code', 'iss', 'state']);
      assert.equal(callback.searchParams.get('state'), checkout.state);
      assert.equal(callback.searchParams.get('iss'), shop.as.issuer);
      const params = oauth.validateAuthResponse(shop.as, shop.client, callback, checkout.state);
      assert.ok(params.get('code'), 'a code');

      // 7. The token exchange.
      const tokenResponse = await oauth.authorizationCodeGrantRequest(
        shop.as, shop.client, shop.auth, params, shop.redirectUri, checkout.codeVerifier, INSECURE,
      );
      assert.equal(tokenResponse.status, 200, 'the token endpoint answers 200');
      assert.match(tokenResponse.headers.get('cache-control') ?? '', /no-store/, 'token responses are not cached (RFC 6749 §5.1)');
      const token = await oauth.processAuthorizationCodeResponse(shop.as, shop.client, tokenResponse);
      assert.equal(token.token_type, 'bearer');
      assert.ok(token.expires_in > 0 && token.expires_in <= 600, `expires_in ${token.expires_in}`);
      assert.equal(token.authorization_details?.[0]?.instructed_amount?.amount, '12800');
      assert.equal(token.authorization_details[0].instructed_amount.currency, 'JPY');

      // 8. The grant: an RFC 9068 JWT access token, ES256, kid in the JWKS, signature valid.
      const parts = token.access_token.split('.');
      assert.equal(parts.length, 3, 'the access token is a JWS compact serialization');
      const [h64, p64, s64] = parts;
      const header = b64json(h64);
      assert.equal(header.typ, 'at+jwt');
      assert.equal(header.alg, 'ES256');
      assert.equal(typeof header.kid, 'string');
      const jwksResponse = await fetch(shop.as.jwks_uri);
      assert.equal(jwksResponse.status, 200);
      const jwks = await jwksResponse.json();
      const jwk = jwks.keys.find((k) => k.kid === header.kid);
      assert.ok(jwk, `kid ${header.kid} is published in ${shop.as.jwks_uri}: ${JSON.stringify(jwks)}`);
      assert.equal(jwk.kty, 'EC');
      assert.equal(jwk.crv, 'P-256');
      assert.equal(jwk.d, undefined, 'the JWKS holds no private key');
      const key = await crypto.subtle.importKey('jwk', jwk, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['verify']);
      const signature = Buffer.from(s64, 'base64url');
      assert.equal(signature.length, 64, 'an ES256 signature is r||s, 64 bytes');
      const ecdsa = { name: 'ECDSA', hash: 'SHA-256' };
      assert.equal(await crypto.subtle.verify(ecdsa, key, signature, Buffer.from(`${h64}.${p64}`)), true, 'the signature verifies');
      const forged = Buffer.from(JSON.stringify({ ...b64json(p64), authorization_details: [{ ...PAYMENT, instructed_amount: { currency: 'JPY', amount: '99999' } }] })).toString('base64url');
      assert.equal(await crypto.subtle.verify(ecdsa, key, signature, Buffer.from(`${h64}.${forged}`)), false, 'a changed amount does not verify');

      const claims = b64json(p64);
      const now = Math.floor(Date.now() / 1000);
      assert.equal(claims.iss, shop.as.issuer);
      assert.equal(claims.aud, new URL('/v1/payments', env.wallet.baseURL).href, 'aud is the payments API');
      assert.equal(typeof claims.sub, 'string');
      assert.ok(claims.sub.length > 0);
      assert.equal(claims.client_id, shop.client.client_id);
      assert.equal(typeof claims.jti, 'string');
      assert.ok(Number.isInteger(claims.iat) && Math.abs(claims.iat - now) <= 60, `iat ${claims.iat} is now`);
      assert.ok(Number.isInteger(claims.exp) && claims.exp > now, `exp ${claims.exp} is in the future`);
      assert.ok(claims.exp - claims.iat <= 600, `the grant lives ${claims.exp - claims.iat} s, at most 600`);
      assert.equal(claims.authorization_details?.[0]?.type, 'payment');
      assert.equal(claims.authorization_details[0].instructed_amount.amount, '12800');
      assert.equal(claims.authorization_details[0].instructed_amount.currency, 'JPY');
      assert.equal(claims.authorization_details[0].order_reference, 'A-1001');
      t.diagnostic(`grant header ${JSON.stringify(header)}; claims ${Object.keys(claims).join(', ')}`);

      // 9. The code is single-use: a second exchange is refused with invalid_grant.
      const replay = await oauth.authorizationCodeGrantRequest(
        shop.as, shop.client, shop.auth, params, shop.redirectUri, checkout.codeVerifier, INSECURE,
      );
      await assert.rejects(
        oauth.processAuthorizationCodeResponse(shop.as, shop.client, replay),
        (err) => err instanceof oauth.ResponseBodyError && err.error === 'invalid_grant',
        'a replayed code is refused',
      );
    });
  });

  it('a shopper who cancels returns to the shop with error=access_denied, state and iss', async (t) => {
    await withPage(t, env, async (h) => {
      const { page } = h;
      const checkout = await startCheckout();
      const consentPath = await openConsent(page, checkout);
      await assertConsentShows(page, 'cancel');

      const arrived = shop.callback.waitFor('/callback');
      await expectFormRedirect(page, new RegExp(`^${consentPath}/cancel$`), () =>
        page.getByRole('button', { name: `Cancel and return to ${SHOP.name}` }).click());
      const callbackUrl = await arrived;
      await page.waitForURL((u) => u.origin === shop.callback.origin);
      assert.equal(page.url(), callbackUrl, 'the browser is at the redirect URI');
      assertCleanConsole(h, 'cancel');

      const callback = new URL(callbackUrl);
      assert.equal(`${callback.origin}${callback.pathname}`, shop.redirectUri);
      assert.equal(callback.searchParams.get('error'), 'access_denied');
      assert.equal(callback.searchParams.get('state'), checkout.state);
      assert.equal(callback.searchParams.get('iss'), shop.as.issuer);
      assert.equal(callback.searchParams.get('code'), null, 'no code');

      // oauth4webapi v3 throws AuthorizationResponseError for an error response (after
      // checking iss and state, so a forged state is reported as such instead).
      assert.throws(
        () => oauth.validateAuthResponse(shop.as, shop.client, callback, checkout.state),
        (err) => err instanceof oauth.AuthorizationResponseError && err.error === 'access_denied',
      );
      assert.throws(
        () => oauth.validateAuthResponse(shop.as, shop.client, callback, oauth.generateRandomState()),
        (err) => err instanceof oauth.OperationProcessingError && /state/.test(err.message),
      );

      // The consent is closed: it can be neither shown nor cancelled again.
      const again = await page.request.get(new URL(consentPath, env.wallet.baseURL).href, { maxRedirects: 0 });
      assert.equal(again.status(), 409, 'a cancelled consent is not shown again');
      assert.match(await again.text(), /already approved or cancelled/);
    });
  });
});
