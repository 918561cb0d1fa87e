// `saifu demo` end to end, the way README's walkthrough tells a person to click through it: the
// wallet and the Saifu Demo Shop run from one process, a new shopper buys the kettle in the shop,
// creates a wallet, adds a card and pays with a passkey on the consent page, and earns points;
// a second purchase (the mug) spends those points, with the earn preview following the points
// field live; the shop refunds the mug and the wallet takes the earned points back and gives the
// spent ones back. All in one browser context, both origins (wallet and shop) side by side.
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { RESULTS_DIR, expectFormRedirect, newShopper, startDemo, suiteEnv, withPage } from './helpers.js';

const SHOP_NAME = 'Saifu Demo Shop';
const KETTLE = { id: 'kettle', name: 'Pour-over kettle', price: '¥6,400', earn: 64 };
const MUG = { id: 'mug', name: 'Ceramic mug', price: '¥1,800', amount: 1800, earn: 18 };
const VISA = { number: '4242 4242 4242 4242', expiry: '12/34', cvc: '123', holder: 'AIKO TANAKA' };
// What the mug earns when 64 points (at ¥1 each) pay part of it: floor(18 × 1736 / 1800).
const MUG_EARN_WITH_POINTS = Math.floor((MUG.earn * (MUG.amount - KETTLE.earn)) / MUG.amount);

const originOf = (url) => {
  try {
    return new URL(url).origin;
  } catch {
    return null;
  }
};

/**
 * The wallet's pages have no console errors and no CSP violations; no page (wallet or shop) threw.
 * The shop is another origin with its own CSP: its console is recorded (see `shopConsole`) but
 * only its uncaught errors fail the test.
 */
function assertCleanConsole(h, wallet, label) {
  const onWallet = (e) => originOf(e.url) === wallet;
  assert.deepEqual(h.consoleErrors.filter(onWallet), [], `${label}: console errors on wallet pages`);
  assert.deepEqual(h.cspViolations.filter(onWallet), [], `${label}: CSP violations on wallet pages`);
  assert.deepEqual(h.pageErrors, [], `${label}: uncaught page errors (wallet or shop)`);
}

/** The `<dl class="summary">` of a shop order page as { term: description }. */
function orderSummary(page) {
  return page.locator('dl.summary').evaluate((dl) => {
    const out = {};
    for (const dt of dl.querySelectorAll('dt')) {
      const dd = dt.nextElementSibling;
      out[dt.textContent.trim()] = dd ? dd.textContent.replace(/\s+/g, ' ').trim() : null;
    }
    return out;
  });
}

/** The figures on the wallet's /points page: { available, held, expiring, history }. */
async function walletPoints(page) {
  const response = await page.goto('/points');
  assert.equal(response.status(), 200, '/points loads');
  await page.getByRole('heading', { level: 1, name: 'Points' }).waitFor();
  return page.evaluate(() => {
    const figure = (title) => {
      const card = [...document.querySelectorAll('li.card')].find((li) => li.querySelector('h2')?.textContent.trim() === title);
      return card?.querySelector('.points-figure')?.textContent.trim() ?? null;
    };
    const history = [...document.querySelectorAll('main table tbody tr')].map((tr) => {
      const cells = [...tr.cells].map((td) => td.textContent.replace(/\s+/g, ' ').trim());
      return { what: cells[1], points: cells[2], payment: cells[3], href: tr.querySelector('a')?.getAttribute('href') ?? null };
    });
    return {
      available: document.querySelector('[data-points-available]')?.textContent.trim() ?? null,
      held: figure('Held'),
      expiring: figure('Expiring within 30 days'),
      history,
    };
  });
}

/** The wallet's /activity entry for an order reference: { title, status, text }. */
async function walletPayment(page, reference) {
  const response = await page.goto('/activity');
  assert.equal(response.status(), 200, '/activity loads');
  await page.getByRole('heading', { level: 1, name: 'Activity' }).waitFor();
  const entries = await page.evaluate(() =>
    [...document.querySelectorAll('ul.cards > li.card')].map((li) => ({
      id: li.id,
      title: li.querySelector('h2')?.textContent.replace(/\s+/g, ' ').trim(),
      status: li.querySelector('.badge')?.textContent.trim(),
      text: li.innerText.replace(/\s+/g, ' ').trim(),
    })));
  const matching = entries.filter((e) => e.text.includes(`Order ${reference}`));
  assert.equal(matching.length, 1, `one /activity entry for ${reference}: ${JSON.stringify(entries)}`);
  return { ...matching[0], count: entries.length };
}

describe('saifu demo', () => {
  before(async () => {
    await mkdir(RESULTS_DIR, { recursive: true });
  });
  const env = suiteEnv({ before, after }, startDemo);
  /** The shop's console messages and CSP reports, as diagnostics (they do not fail the test). */
  const shopConsole = [];

  it('prints where the wallet and the shop are', () => {
    assert.equal(env.wallet.announced.wallet.replace(/\/$/, ''), env.wallet.baseURL, '"Saifu wallet:" line');
    assert.equal(env.wallet.announced.shop, env.wallet.shopURL, '"Saifu Demo Shop:" line');
  });

  it('a new shopper buys in the shop, pays with a passkey and earns points, spends them on a second order, and a refund reverses both', async (t) => {
    const demo = env.wallet;
    const wallet = demo.baseURL;
    const shopOrigin = originOf(demo.shopURL);
    const shopUrl = (p) => new URL(p, demo.shopURL).href;
    const onShop = (u) => u.origin === shopOrigin;

    await withPage(t, env, async (h) => {
      const { page } = h;
      page.on('console', (msg) => {
        if (['error', 'warning'].includes(msg.type()) && originOf(page.url()) === shopOrigin) {
          shopConsole.push({ type: msg.type(), text: msg.text(), url: page.url(), source: msg.location()?.url });
        }
      });

      /** Shop: put one product in the cart, and land on /cart. */
      async function addToCart(product) {
        const home = await page.goto(demo.shopURL);
        assert.equal(home.status(), 200, 'the shop home page loads');
        await page.getByRole('heading', { level: 1, name: 'Small things for slow mornings' }).waitFor();
        await expectFormRedirect(page, /^\/cart\/add$/, () =>
          // The name is "Add to cart: …" in the HTML; Chromium computes "Add to cart : …" (the
          // visually hidden span is absolutely positioned, hence block-level, so it adds a space).
          page.getByRole('button', { name: new RegExp(`^Add to cart\\s?: ${product.name}$`) }).click());
        await page.waitForURL((u) => onShop(u) && u.pathname === '/cart');
        await page.getByRole('heading', { level: 1, name: 'Your cart' }).waitFor();
        const rows = await page.locator('table.lines tbody tr').evaluateAll((trs) =>
          trs.map((tr) => tr.querySelector('th').firstChild.textContent.trim()));
        assert.deepEqual(rows, [product.name], `the cart holds just the ${product.name}`);
        assert.equal((await page.locator('table.lines tfoot .total').innerText()).trim(), product.price, 'cart total');
      }

      /** Shop: "Pay with Saifu" → the wallet's consent page; returns its path. */
      async function payWithSaifu(product) {
        await expectFormRedirect(page, /^\/checkout$/, () =>
          page.getByRole('button', { name: `Pay with Saifu (${product.price})`, exact: true }).click());
        await page.waitForURL((u) => u.origin === wallet && /^\/checkout\/[^/]+$/.test(u.pathname));
        return new URL(page.url()).pathname;
      }

      /** Wallet: the consent page names the verified demo shop, the product and its price. */
      async function assertConsentShows(product, label) {
        await page.getByRole('heading', { level: 1, name: `Pay ${SHOP_NAME}` }).waitFor();
        assert.equal((await page.locator('.merchant-domain').innerText()).trim(), 'localhost', `${label}: merchant domain`);
        const badge = page.locator('.badge-verified');
        assert.ok(await badge.isVisible(), `${label}: the verified badge is shown`);
        assert.match(await badge.innerText(), /Verified by Saifu/, `${label}: badge text`);
        const order = page.locator('table.order');
        assert.match(await order.locator('caption').innerText(), /^Order DEMO-/, `${label}: the shop's order reference`);
        const rows = await order.locator('tbody tr').evaluateAll((trs) =>
          trs.map((tr) => [...tr.cells].map((td) => td.textContent.trim())));
        assert.deepEqual(rows, [[product.name, '1', product.price]], `${label}: line items`);
        assert.equal((await order.locator('tfoot .total').innerText()).trim(), product.price, `${label}: total`);
      }

      /** Wallet: press "Pay ¥X"; the wallet 303s to the shop's /callback, which 303s to the order. */
      async function pay(product, consentPath, button = `Pay ${product.price}`) {
        const approved = page.waitForResponse((r) => r.url() === `${wallet}${consentPath}/approve` && r.request().method() === 'POST');
        const callback = page.waitForResponse((r) => {
          const u = new URL(r.url());
          return onShop(u) && u.pathname === '/callback';
        });
        await page.getByRole('button', { name: button, exact: true }).click();
        const approve = await approved;
        assert.equal(approve.status(), 303, 'approving answers 303');
        assert.equal(new URL(approve.headers().location).origin, shopOrigin, 'to the shop');
        assert.equal(new URL(approve.headers().location).pathname, '/callback', 'to the shop\'s redirect URI');
        const cb = await callback;
        assert.equal(cb.status(), 303, `the shop's /callback answers 303 (not ${cb.status()})`);
        await page.waitForURL((u) => onShop(u) && /^\/orders\/DEMO-[^/]+$/.test(u.pathname));
        await page.getByRole('heading', { level: 1, name: 'Thank you for your order' }).waitFor();
        const orderUrl = page.url();
        return { orderUrl, reference: decodeURIComponent(new URL(orderUrl).pathname.split('/').pop()) };
      }

      // ---- 1. A new shopper buys the kettle: sign-up and a card from the consent page. ----
      await addToCart(KETTLE);
      const firstConsent = await payWithSaifu(KETTLE);
      await assertConsentShows(KETTLE, 'kettle, signed out');
      await page.getByRole('link', { name: 'Create a wallet' }).click();
      await page.waitForURL((u) => u.origin === wallet && u.pathname === '/signup');
      assert.equal(new URL(page.url()).searchParams.get('next'), firstConsent, 'sign-up keeps the way back to the consent');
      const shopper = newShopper('demo');
      await page.getByLabel('Display name').fill(shopper.displayName);
      await page.getByLabel('Email', { exact: true }).fill(shopper.email);
      await page.getByRole('button', { name: 'Create passkey' }).click();
      await page.waitForURL((u) => u.origin === wallet && u.pathname === firstConsent);
      await assertConsentShows(KETTLE, 'kettle, signed in without a card');
      assert.equal((await h.credentials()).length, 1, 'sign-up created one passkey');
      assert.equal(await page.getByLabel(/^Points to use/).count(), 0, 'no points to use yet');

      await page.getByRole('link', { name: 'Add a card' }).click();
      await page.waitForURL((u) => u.origin === wallet && u.pathname === '/cards/new');
      await page.getByLabel('Card number').fill(VISA.number);
      await page.getByLabel('Expiry (MM/YY)').fill(VISA.expiry);
      await page.getByLabel('Security code').fill(VISA.cvc);
      await page.getByLabel('Name on card').fill(VISA.holder);
      await expectFormRedirect(page, /^\/cards$/, () => page.getByRole('button', { name: 'Add card' }).click());
      await page.waitForURL((u) => u.origin === wallet && u.pathname === firstConsent);
      await assertConsentShows(KETTLE, 'kettle, with a card');
      assert.equal(await page.getByRole('radio', { name: /^Visa •••• 4242\b/ }).isChecked(), true, 'the new card is chosen');
      assert.match(
        await page.locator('#pay-form').innerText(),
        new RegExp(`You earn about ${KETTLE.earn} points on this payment\\.`),
        'the kettle earns 64 points (1%)',
      );

      const kettle = await pay(KETTLE, firstConsent);
      const kettleSummary = await orderSummary(page);
      t.diagnostic(`kettle order ${kettle.reference}: ${JSON.stringify(kettleSummary)}`);
      assert.equal(kettleSummary.Order, kettle.reference);
      assert.equal(kettleSummary.Status, 'Paid');
      assert.equal(kettleSummary['Points earned'], `${KETTLE.earn} points`, 'the shop shows 64 points earned');
      assert.equal(await page.locator('table.split').count(), 0, 'no points used on the first order: no breakdown');
      assert.match(await page.getByRole('status').innerText(), new RegExp(`Your payment of ${KETTLE.price} went through\\.`));
      // The wallet's signed payment.captured webhook confirms the order at the shop.
      let confirmation = '';
      for (let i = 0; i < 50 && !confirmation.includes('Payment confirmed by your Saifu wallet'); i++) {
        if (i > 0) {
          await new Promise((resolve) => setTimeout(resolve, 200));
          await page.reload();
        }
        confirmation = (await page.locator('p.confirmation').innerText()).trim();
      }
      assert.equal(confirmation, 'Payment confirmed by your Saifu wallet.', 'the webhook confirmed the order');

      // ---- 2. The wallet shows the payment and the points. ----
      const kettlePayment = await walletPayment(page, kettle.reference);
      assert.equal(kettlePayment.title, `${SHOP_NAME} ${KETTLE.price}`, '/activity: merchant and amount');
      assert.equal(kettlePayment.status, 'Paid', '/activity: status');
      assert.match(kettlePayment.text, new RegExp(`Earned ${KETTLE.earn} points\\.`), '/activity: points earned');
      assert.match(kettlePayment.text, /Visa •••• 4242/, '/activity: the card');
      let points = await walletPoints(page);
      t.diagnostic(`/points after the kettle: ${JSON.stringify(points)}`);
      assert.equal(points.available, String(KETTLE.earn), '/points: 64 available');
      assert.equal(points.held, '0', '/points: nothing held');
      assertCleanConsole(h, wallet, 'first purchase');

      // ---- 3. The mug, paid partly with the 64 points; the earn preview follows the field. ----
      await addToCart(MUG);
      const secondConsent = await payWithSaifu(MUG);
      await assertConsentShows(MUG, 'mug');
      const pointsField = page.getByLabel(`Points to use (you have ${KETTLE.earn})`, { exact: true });
      assert.equal(await pointsField.count(), 1, 'a points field labelled "Points to use (you have 64)"');
      assert.equal(await pointsField.getAttribute('max'), String(Math.min(KETTLE.earn, MUG.amount)), 'up to min(balance, amount) points');
      assert.equal(await pointsField.getAttribute('min'), '0');
      assert.equal(await pointsField.inputValue(), '0', 'no points used unless asked');
      const earn = page.locator('[data-points] [data-earn]');
      const earnText = async () => (await earn.innerText()).trim();
      assert.equal(await earnText(), String(MUG.earn), 'the preview starts at the full 18');
      await pointsField.fill(String(KETTLE.earn));
      assert.equal(await earnText(), String(MUG_EARN_WITH_POINTS), 'using 64 points, the card part (¥1,736) earns 17');
      await pointsField.fill('');
      assert.equal(await earnText(), String(MUG.earn), 'cleared, the preview is back at 18');
      await pointsField.fill(String(KETTLE.earn));
      assert.equal(await earnText(), String(MUG_EARN_WITH_POINTS), 'and 17 again with 64 points');
      assert.equal(await page.getByRole('button', { name: `Pay ¥1,736 + ${KETTLE.earn} points`, exact: true }).count(), 1, 'the Pay button shows what the card pays and the points');
      const shot = path.join(RESULTS_DIR, 'demo-consent-points.png');
      await page.screenshot({ path: shot, fullPage: true });
      t.diagnostic(`screenshot: ${shot}`);

      const begun = page.waitForRequest((r) => r.url() === `${wallet}${secondConsent}/begin` && r.method() === 'POST');
      const mugPaid = pay(MUG, secondConsent, `Pay ¥1,736 + ${KETTLE.earn} points`);
      const beginBody = (await begun).postDataJSON();
      assert.equal(beginBody.points, KETTLE.earn, 'the payment confirmation covers the 64 points');
      const mug = await mugPaid;
      const mugSummary = await orderSummary(page);
      const mugNotice = (await page.getByRole('status').innerText()).trim();
      t.diagnostic(`mug order ${mug.reference}: ${JSON.stringify(mugSummary)}; notice: ${mugNotice}`);
      const split = await page.locator('table.split tr').evaluateAll((trs) =>
        trs.map((tr) => [...tr.cells].map((c) => c.textContent.trim())));
      assert.deepEqual(split, [
        ['Total', MUG.price],
        [`Points used (${KETTLE.earn} points)`, `−¥${KETTLE.earn}`],
        ['Charged to your card', `¥${(MUG.amount - KETTLE.earn).toLocaleString('en-US')}`],
      ], 'the shop shows total − points = card');
      assert.equal(mugSummary['Points earned'], `${MUG_EARN_WITH_POINTS} points`, 'the shop shows 17 points earned');
      assert.equal(mugSummary.Status, 'Paid');

      points = await walletPoints(page);
      t.diagnostic(`/points after the mug: ${JSON.stringify(points)}`);
      assert.equal(points.available, String(MUG_EARN_WITH_POINTS), '/points: 64 − 64 + 17 = 17 available');
      assert.equal(points.held, '0', '/points: nothing held once the mug is captured');
      const mugPayment = await walletPayment(page, mug.reference);
      assert.equal(mugPayment.title, `${SHOP_NAME} ${MUG.price}`, '/activity: the mug payment');
      assert.equal(mugPayment.status, 'Paid');
      assert.match(mugPayment.text, new RegExp(`Earned ${MUG_EARN_WITH_POINTS} points\\. Used ${KETTLE.earn} points\\.`));
      // Activity splits the total: points paid ¥64 of it, the card the rest.
      assert.match(mugPayment.text, /Total\s*¥1,800\s*Points \(64\)\s*−¥64\s*Card Visa •••• 4242\s*¥1,736/, '/activity: total − points = card');
      assertCleanConsole(h, wallet, 'second purchase');

      // ---- 4. The shop refunds the mug: earned points taken back, spent points given back. ----
      await page.goto(mug.orderUrl);
      await page.getByRole('heading', { level: 1, name: 'Thank you for your order' }).waitFor();
      const refundLink = page.getByRole('link', { name: `Refund this order (${MUG.price})` });
      assert.equal(await refundLink.count(), 1, 'a link to refund the order');
      await refundLink.click();
      await page.waitForURL((u) => u.href === `${mug.orderUrl}/refund`);
      await page.getByRole('heading', { level: 1, name: 'Refund this order?' }).waitFor();
      const effects = (await page.locator('ul.effects').innerText()).trim();
      t.diagnostic(`mug refund confirmation: ${effects}`);
      assert.match(effects, new RegExp(`${KETTLE.earn} points go back to your Saifu wallet\\.`));
      await expectFormRedirect(page, /^\/orders\/[^/]+\/refund$/, () =>
        page.getByRole('button', { name: `Refund ${MUG.price}`, exact: true }).click());
      await page.waitForURL((u) => u.href === mug.orderUrl);
      await page.getByRole('heading', { level: 1, name: 'Order refunded' }).waitFor();
      const refunded = await orderSummary(page);
      t.diagnostic(`mug order after the refund: ${JSON.stringify(refunded)}; notice: ${(await page.getByRole('status').innerText()).trim()}`);
      assert.equal(refunded.Status, 'Refunded', 'the order page says refunded');
      assert.equal(await page.getByRole('link', { name: /^Refund this order/ }).count(), 0, 'nothing left to refund');

      points = await walletPoints(page);
      t.diagnostic(`/points after the refund: ${JSON.stringify(points)}`);
      assert.equal(points.available, String(KETTLE.earn), '/points: 17 − 17 + 64 = 64 available again');
      assert.equal(points.held, '0');
      const mugHistory = points.history.filter((e) => e.payment.includes(mug.reference));
      assert.ok(
        mugHistory.some((e) => e.what === 'Taken back (refund)' && e.points === `-${MUG_EARN_WITH_POINTS}`),
        `/points history: the 17 earned are taken back: ${JSON.stringify(mugHistory)}`,
      );
      assert.ok(
        mugHistory.some((e) => e.what === 'Given back (refund)' && e.points === `+${KETTLE.earn}`),
        `/points history: the 64 spent are given back: ${JSON.stringify(mugHistory)}`,
      );
      const mugAfter = await walletPayment(page, mug.reference);
      t.diagnostic(`/activity for the mug after the refund: ${mugAfter.text}`);
      assert.equal(mugAfter.status, 'Refunded', '/activity: the mug is refunded');
      assert.match(mugAfter.text, /refunded on /, '/activity: the refund is listed');
      const kettleAfter = await walletPayment(page, kettle.reference);
      assert.equal(kettleAfter.status, 'Paid', '/activity: the kettle is still paid');
      assert.equal(kettleAfter.count, 2, '/activity: two payments');

      // ---- 5. No console errors or CSP violations on the wallet, no page errors anywhere. ----
      assertCleanConsole(h, wallet, 'the whole demo');
      if (shopConsole.length) t.diagnostic(`shop console: ${JSON.stringify(shopConsole)}`);
      const shopCsp = h.cspViolations.filter((v) => originOf(v.url) === shopOrigin);
      if (shopCsp.length) t.diagnostic(`shop CSP reports: ${JSON.stringify(shopCsp)}`);
    });
  });

  it('stops on SIGTERM with exit code 0', async () => {
    const exit = await env.wallet.stop();
    assert.deepEqual({ code: exit.code, signal: exit.signal }, { code: 0, signal: null }, `saifu demo exit: ${env.wallet.logs().slice(-2000)}`);
  });
});
