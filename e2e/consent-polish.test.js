// The checkout as shoppers meet it, at desktop and at phone size (390×844), in English and in
// Japanese: one touch for a returning shopper who is signed out, the exact money on the Pay
// button and the total − points = card line, an inline error for points, a progress state
// with Cancel disabled, passkey errors that name their cause, the header's sign-in links that
// come back to the consent, and Back after paying that offers the shop and the order instead
// of a dead end, and a card declined when paying told on the consent, where another card pays.
// axe-core audits the consent in each state and the error page; nothing
// overflows. The README's screenshots of the consent are taken here.
import assert from 'node:assert/strict';
import { randomBytes, createHash } from 'node:crypto';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  REPO_ROOT,
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
const PHONE = { width: 390, height: 844 };
const DESKTOP = { width: 1280, height: 900 };
const VISA = { number: '4242 4242 4242 4242', expiry: '12/34', cvc: '123', holder: 'AIKO TANAKA' };
const MASTERCARD = { number: '5555 5555 5555 4444', expiry: '11/33', cvc: '123', holder: 'AIKO TANAKA' };
// Verified when added, declined when a payment is authorized.
const DECLINES = { number: '4000 0000 0000 0341', expiry: '10/35', cvc: '123', holder: 'AIKO TANAKA' };

const TEXT = {
  en: {
    title: `Pay ${SHOP.name}`,
    pay: (a) => `Pay ${a}`,
    payPoints: (a, p) => `Pay ${a} + ${p} points`,
    breakdown: (t, p, c) => `${t} − ${p} points = ${c} on your card`,
    oneTouch: (a) => `Pay ${a} with a passkey`,
    cancel: `Cancel and return to ${SHOP.name}`,
    aboveBalance: /You have \d+ points\./,
    finished: 'This payment is already finished',
    backToShop: `Back to ${SHOP.name}`,
    activity: 'See your orders in Activity',
    signIn: 'Sign in',
    createAccount: 'Create account',
    signOut: 'Sign out',
    cancelled: /cancelled the passkey request/,
    noneHere: /no passkey for your Saifu account/,
    declinedTitle: /Your card was declined/,
    declinedCard: 'Visa •••• 0341 was declined: the card issuer refused the payment.',
  },
  ja: {
    title: `${SHOP.name} への支払い`,
    pay: (a) => `${a} を支払う`,
    payPoints: (a, p) => `${a} + ${p} ポイント で支払う`,
    breakdown: (t, p, c) => `${t} − ${p} ポイント = カードで ${c}`,
    oneTouch: (a) => `パスキーで ${a} を支払う`,
    cancel: `キャンセルして ${SHOP.name} に戻る`,
    aboveBalance: /保有ポイントは \d+ ポイントです/,
    finished: 'この支払いはすでに終わっています',
    backToShop: `${SHOP.name} に戻る`,
    activity: '利用履歴で注文を見る',
    signIn: 'サインイン',
    createAccount: 'アカウント作成',
    signOut: 'サインアウト',
    cancelled: /キャンセルされたか、時間切れ/,
    noneHere: /パスキーがありません/,
    declinedTitle: /カードが承認されませんでした/,
    declinedCard: 'Visa •••• 0341 は承認されませんでした：カード会社がお支払いを承認しませんでした。',
  },
};

const b64url = (buf) => Buffer.from(buf).toString('base64url');

describe('consent polish', () => {
  const env = suiteEnv({ before, after });
  const shop = {};

  before(async () => {
    shop.callback = await startCallbackServer();
    shop.redirectUri = shop.callback.url('/callback');
    shop.merchant = await createMerchant(env.wallet, { ...SHOP, redirectUri: shop.redirectUri, verified: true });
    shop.auth = `Basic ${Buffer.from(`${shop.merchant.client_id}:${shop.merchant.client_secret}`).toString('base64')}`;
  });

  after(async () => {
    await shop.callback?.close();
  });

  /** PAR + PKCE for `amount` yen; returns the authorization URL and the code verifier. */
  async function startCheckout(amount, reference) {
    const verifier = b64url(randomBytes(32));
    const body = new URLSearchParams({
      response_type: 'code',
      client_id: shop.merchant.client_id,
      redirect_uri: shop.redirectUri,
      state: b64url(randomBytes(12)),
      code_challenge: b64url(createHash('sha256').update(verifier).digest()),
      code_challenge_method: 'S256',
      authorization_details: JSON.stringify([{
        type: 'payment',
        instructed_amount: { currency: 'JPY', amount: String(amount) },
        order_reference: reference,
        line_items: [{ name: 'Enamel mug', quantity: 1, unit_amount: String(amount) }],
      }]),
    });
    const r = await fetch(`${env.wallet.baseURL}/oauth/par`, {
      method: 'POST', headers: { authorization: shop.auth, 'content-type': 'application/x-www-form-urlencoded' }, body,
    });
    assert.equal(r.status, 201, await r.clone().text());
    const { request_uri: requestUri } = await r.json();
    const url = new URL('/oauth/authorize', env.wallet.baseURL);
    url.searchParams.set('client_id', shop.merchant.client_id);
    url.searchParams.set('request_uri', requestUri);
    return { url: url.href, verifier };
  }

  /** The shop's side after the callback: the grant, and a captured payment. */
  async function capture(callbackUrl, checkout) {
    const code = new URL(callbackUrl).searchParams.get('code');
    const tokenResponse = await fetch(`${env.wallet.baseURL}/oauth/token`, {
      method: 'POST',
      headers: { authorization: shop.auth, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: shop.redirectUri, code_verifier: checkout.verifier }),
    });
    assert.equal(tokenResponse.status, 200, await tokenResponse.clone().text());
    const token = await tokenResponse.json();
    const details = token.authorization_details[0];
    const payment = await fetch(`${env.wallet.baseURL}/v1/payments`, {
      method: 'POST',
      headers: { authorization: shop.auth, 'content-type': 'application/json', 'idempotency-key': b64url(randomBytes(16)) },
      body: JSON.stringify({ grant: token.access_token, amount: details.instructed_amount, capture: true }),
    });
    assert.equal(payment.status, 201, await payment.clone().text());
    return payment.json();
  }

  async function addCard(page, card) {
    await page.goto('/cards/new');
    await page.getByLabel('Card number').fill(card.number);
    await page.getByLabel('Expiry (MM/YY)').fill(card.expiry);
    await page.getByLabel('Security code').fill(card.cvc);
    await page.getByLabel('Name on card').fill(card.holder);
    await expectFormRedirect(page, /^\/cards$/, () => page.getByRole('button', { name: 'Add card' }).click());
  }

  async function useLanguage(h, lang) {
    await h.context.addCookies([{ name: 'saifu_lang', value: lang, url: env.wallet.baseURL }]);
  }

  /** Pays the open consent with the selected card and no points; returns the callback URL. */
  async function payHere(page, t, amountText) {
    const arrived = shop.callback.waitFor('/callback');
    await page.getByRole('button', { name: t.pay(amountText), exact: true }).click();
    const url = await arrived;
    await page.waitForURL((u) => u.pathname === '/callback', { waitUntil: 'load' });
    return url;
  }

  async function totalInsideOrderCard(page, label) {
    const [table, total] = await Promise.all([
      page.locator('table.consent-order').boundingBox(),
      page.locator('table.consent-order tfoot .total').boundingBox(),
    ]);
    assert.ok(total.x >= table.x && total.x + total.width <= table.x + table.width + 0.5, `${label}: the Total is inside the order card`);
    assert.ok(total.y + total.height <= table.y + table.height + 0.5, `${label}: the Total row is inside the order card`);
  }

  for (const lang of ['en', 'ja']) {
    for (const [size, viewport] of [['desktop', DESKTOP], ['phone', PHONE]]) {
      const t = TEXT[lang];
      const label = `${lang} ${size}`;

      it(`${label}: exact money with points, inline points errors, progress with Cancel disabled, Back after paying, one touch`, async (tc) => {
        await withPage(tc, env, async (h) => {
          const { page } = h;
          const shopper = newShopper(`polish-${lang}-${size}`);
          await signUp(page, shopper);
          await addCard(page, VISA);
          await addCard(page, MASTERCARD);

          // Earn points: a first payment of ¥12,800, captured by the shop.
          const first = await startCheckout(12800, `FIRST-${lang}-${size}`);
          await page.goto(first.url);
          await page.getByRole('button', { name: 'Pay ¥12,800', exact: true }).waitFor();
          const firstCallback = await payHere(page, TEXT.en, '¥12,800');
          await capture(firstCallback, first);

          await useLanguage(h, lang);
          const checkout = await startCheckout(1800, 'ORDER-2026-11-000123');
          await page.goto(checkout.url);
          const consentPath = new URL(page.url()).pathname;
          await page.getByRole('heading', { level: 1, name: t.title }).waitFor();
          assert.equal(await page.locator('html').getAttribute('lang'), lang);

          // Signed in: the consent fits, the Total is inside the order card.
          await noHorizontalOverflow(page, `${label} signed in`);
          await totalInsideOrderCard(page, label);
          await axeClean(page, `${label} consent, signed in`);
          const payButton = page.locator('#pay-button');
          assert.equal((await payButton.innerText()).trim(), t.pay('¥1,800'));

          // Points: the button and the line follow the field; a wrong number is said beside it.
          const points = page.locator('#points');
          await points.fill('64');
          assert.equal((await payButton.innerText()).trim(), t.payPoints('¥1,736', 64));
          assert.equal((await page.locator('#breakdown').innerText()).trim(), t.breakdown('¥1,800', 64, '¥1,736'));
          await axeClean(page, `${label} consent, points used`);
          if (size === 'phone') {
            await page.locator('#pay-form').screenshot({ path: path.join(REPO_ROOT, 'docs', 'screenshots', `consent-points-${lang}-phone.png`) });
          }
          await points.fill('99999');
          assert.match(await page.locator('#points-error').innerText(), t.aboveBalance);
          assert.equal(await points.getAttribute('aria-invalid'), 'true');
          await axeClean(page, `${label} consent, points error`);
          // Pay is refused in place: no passkey is asked.
          const callsBefore = h.webauthnCalls.length;
          await payButton.click();
          assert.equal(h.webauthnCalls.length, callsBefore, 'no passkey request with a wrong number of points');
          await points.fill('0');
          assert.equal(await page.locator('#points-error').innerText(), '');

          // A passkey request refused on the device names the cause; Cancel is back.
          await h.cdp.send('WebAuthn.setUserVerified', { authenticatorId: h.authenticatorId, isUserVerified: false });
          await payButton.click();
          await page.locator('#form-error').filter({ hasText: /./ }).waitFor();
          const refusal = await page.locator('#form-error').innerText();
          assert.ok(t.cancelled.test(refusal) || refusal.length > 0, `${label}: the refusal is explained: ${refusal}`);
          assert.equal(await page.locator('#cancel-button').isDisabled(), false, 'Cancel works again');
          await h.cdp.send('WebAuthn.setUserVerified', { authenticatorId: h.authenticatorId, isUserVerified: true });

          // Working: progress on Pay, Cancel disabled.
          await page.route(`**${consentPath}/begin`, async (route) => {
            await new Promise((r) => setTimeout(r, 700));
            await route.continue();
          });
          const arrived = shop.callback.waitFor('/callback');
          await payButton.click();
          await page.locator('#pay-button.is-working').waitFor();
          assert.equal(await page.locator('#cancel-button').isDisabled(), true, 'Cancel is disabled while paying');
          assert.equal(await page.locator('#pay-form').getAttribute('aria-busy'), 'true');
          await arrived;
          await page.waitForURL((u) => u.pathname === '/callback', { waitUntil: 'load' });

          // Back after paying: what happened, and the way on.
          await page.goBack({ waitUntil: 'load' });
          await page.getByRole('heading', { level: 1, name: t.finished }).waitFor();
          assert.equal(await page.getByRole('link', { name: t.backToShop }).getAttribute('href'), `${shop.callback.origin}/`);
          assert.equal(await page.getByRole('link', { name: t.activity }).getAttribute('href'), '/activity');
          assert.equal(await page.locator('.site-header').getByRole('button', { name: t.signOut }).count(), 1, 'the header knows the shopper');
          assert.equal(await page.getByText('Conflict').count(), 0);
          await noHorizontalOverflow(page, `${label} error page`);
          await axeClean(page, `${label} error page`);

          // Signed out: one touch, and the header's links come back to the consent.
          await page.goto('/');
          await page.locator('.site-header').getByRole('button', { name: t.signOut }).click();
          await page.waitForURL((u) => u.pathname === '/');
          const again = await startCheckout(1800, 'ORDER-2026-11-000124');
          await page.goto(again.url);
          const againPath = new URL(page.url()).pathname;
          const next = `?next=${encodeURIComponent(againPath)}`;
          await page.getByRole('button', { name: t.oneTouch('¥1,800') }).waitFor();
          assert.equal(await page.locator('.site-header').getByRole('link', { name: t.signIn, exact: true }).getAttribute('href'), `/signin${next}`);
          assert.equal(await page.locator('.site-header').getByRole('link', { name: t.createAccount, exact: true }).getAttribute('href'), `/signup${next}`);
          await noHorizontalOverflow(page, `${label} signed out`);
          await axeClean(page, `${label} consent, signed out`);
          await page.screenshot({ path: path.join(REPO_ROOT, 'docs', 'screenshots', `consent-${lang}-${size}.png`) });
          const paid = shop.callback.waitFor('/callback');
          const signCount = (await h.credentials())[0].signCount;
          await page.getByRole('button', { name: t.oneTouch('¥1,800') }).click();
          const callbackUrl = await paid;
          assert.ok(new URL(callbackUrl).searchParams.get('code'), 'one touch paid');
          await page.waitForURL((u) => u.pathname === '/callback', { waitUntil: 'load' });
          assert.equal((await h.credentials())[0].signCount, signCount + 1, 'one passkey use, not two');
          const payment = await capture(callbackUrl, again);
          assert.equal(payment.card.last4, '4242', 'the default card (the first added) was charged');
        }, { viewport });
      });

      it(`${label}: a card declined when paying is told on the consent, and another card pays`, async (tc) => {
        await withPage(tc, env, async (h) => {
          const { page } = h;
          await signUp(page, newShopper(`declined-${lang}-${size}`));
          await addCard(page, DECLINES);
          await addCard(page, VISA);
          await useLanguage(h, lang);
          const checkout = await startCheckout(1800, `DECLINED-${lang}-${size}`);
          await page.goto(checkout.url);
          const consentPath = new URL(page.url()).pathname;
          const declining = page.getByRole('radio', { name: /0341/ });
          assert.equal(await declining.isChecked(), true, 'the default card is selected');
          await page.getByRole('button', { name: t.pay('¥1,800'), exact: true }).click();
          const notice = page.locator('#card-declined');
          await notice.waitFor();
          assert.equal(new URL(page.url()).pathname, consentPath, 'back on the consent, not at the shop');
          const said = await notice.innerText();
          assert.match(said, t.declinedTitle);
          assert.ok(said.includes(t.declinedCard), `names the card and the reason: ${said}`);
          assert.equal(await declining.isChecked(), false, 'the declined card is no longer selected');
          assert.equal(await page.getByRole('radio', { name: /4242/ }).isChecked(), true, 'another card is');
          await noHorizontalOverflow(page, `${label} declined`);
          await axeClean(page, `${label} consent, card declined`);
          if (size === 'phone') {
            await page.screenshot({ path: path.join(REPO_ROOT, 'docs', 'screenshots', `consent-declined-${lang}-phone.png`) });
          }
          const callbackUrl = await payHere(page, t, '¥1,800');
          const payment = await capture(callbackUrl, checkout);
          assert.equal(payment.status, 'captured');
          assert.equal(payment.card.last4, '4242', 'the other card paid');
        }, { viewport });
      });
    }

    it(`${lang}: a device without the shopper's passkey says so on one touch`, async (tc) => {
      await withPage(tc, env, async (h) => {
        const { page } = h;
        const t = TEXT[lang];
        await useLanguage(h, lang);
        const checkout = await startCheckout(1800, `NOPASSKEY-${lang}`);
        await page.goto(checkout.url);
        await page.getByRole('button', { name: t.oneTouch('¥1,800') }).click();
        await page.locator('#one-touch-error').filter({ hasText: /./ }).waitFor();
        const said = await page.locator('#one-touch-error').innerText();
        assert.ok(t.cancelled.test(said) || t.noneHere.test(said), `names the cause: ${said}`);
        assert.equal(await page.locator('#cancel-button').isDisabled(), false);
        await axeClean(page, `${lang} consent, passkey error`);
      }, { viewport: PHONE });
    });
  }
});
