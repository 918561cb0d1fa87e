// The Saifu Demo Shop as shoppers see it, from `saifu demo`: an orders page, a confirmation
// before a refund, shopper-facing words, money shown exactly (total − points = card), Japanese
// and English (from Accept-Language, and switchable in every page's footer), at desktop size and
// on a phone (390×844, and nothing overflowing at 320 px), with times in the zone chosen in the
// footer (Asia/Tokyo by default; the device's own zone offered). Every shop page passes an axe-core
// audit, and no page of the shop reports a CSP violation or a console error.
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  RESULTS_DIR,
  axeClean,
  expectFormRedirect,
  newShopper,
  noHorizontalOverflow,
  startDemo,
  suiteEnv,
  withPage,
} from './helpers.js';

const KETTLE = { name: 'Pour-over kettle', price: '¥6,400', earn: 64 };
const MUG = { name: 'Ceramic mug', price: '¥1,800', amount: 1800 };
const VISA = { number: '4242 4242 4242 4242', expiry: '12/34', cvc: '123', holder: 'AIKO TANAKA' };
const DESKTOP = { width: 1280, height: 900 };
const PHONE = { width: 390, height: 844 };
/** Words of the payments API and of webhooks that shoppers should not meet. */
const MERCHANT_WORDS = /captured|authorized|authorised|webhook|voided|decline code|grant/i;

const originOf = (url) => {
  try {
    return new URL(url).origin;
  } catch {
    return null;
  }
};

describe('the demo shop, polished', () => {
  before(async () => {
    await mkdir(RESULTS_DIR, { recursive: true });
  });
  const env = suiteEnv({ before, after }, startDemo);

  it('orders, a refund confirmation and exact money, in English and Japanese, on desktop and phone, with no axe violations or CSP errors', async (t) => {
    const demo = env.wallet;
    const wallet = demo.baseURL;
    const shopOrigin = originOf(demo.shopURL);
    const shopUrl = (p) => new URL(p, demo.shopURL).href;
    const onShop = (u) => originOf(typeof u === 'string' ? u : u.href) === shopOrigin;

    await withPage(t, env, async (h) => {
      const { page } = h;
      const shopConsole = [];
      page.on('console', (msg) => {
        // The 404 page answers 404 on purpose: Chromium logs that as a failed load.
        const expected404 = new URL(page.url()).pathname === '/nowhere' && /status of 404/.test(msg.text());
        if (['error', 'warning'].includes(msg.type()) && onShop(page.url()) && !expected404) {
          shopConsole.push({ type: msg.type(), text: msg.text(), url: page.url() });
        }
      });

      async function addToCart(product) {
        await page.goto(demo.shopURL);
        await expectFormRedirect(page, /^\/cart\/add$/, () =>
          page.getByRole('button', { name: new RegExp(`^Add to cart\\s?: ${product.name}$`) }).click());
        await page.waitForURL((u) => onShop(u) && u.pathname === '/cart');
      }

      async function payWithSaifu(product) {
        await expectFormRedirect(page, /^\/checkout$/, () =>
          page.getByRole('button', { name: `Pay with Saifu (${product.price})`, exact: true }).click());
        await page.waitForURL((u) => u.origin === wallet && /^\/checkout\/[^/]+$/.test(u.pathname));
        return new URL(page.url()).pathname;
      }

      // The consent's Pay button names the card's part and any points ("Pay ¥1,736 + 64 points").
      async function pay(product, points = 0) {
        const card = `¥${(Number(product.price.replace(/[¥,]/g, '')) - points).toLocaleString('en-US')}`;
        const name = points > 0 ? `Pay ${card} + ${points} points` : `Pay ${card}`;
        await page.getByRole('button', { name, exact: true }).click();
        await page.waitForURL((u) => onShop(u) && /^\/orders\/DEMO-[^/]+$/.test(u.pathname), { waitUntil: 'load' });
        await page.getByRole('heading', { level: 1, name: 'Thank you for your order' }).waitFor();
        return page.url();
      }

      // ---- A new shopper buys the kettle (earning 64 points), then the mug with those points. ----
      await addToCart(KETTLE);
      const consent = await payWithSaifu(KETTLE);
      await page.getByRole('link', { name: 'Create a wallet' }).click();
      await page.waitForURL((u) => u.origin === wallet && u.pathname === '/signup');
      const shopper = newShopper('polish');
      await page.getByLabel('Display name').fill(shopper.displayName);
      await page.getByLabel('Email', { exact: true }).fill(shopper.email);
      await page.getByRole('button', { name: 'Create passkey' }).click();
      await page.waitForURL((u) => u.origin === wallet && u.pathname === consent);
      await page.getByRole('link', { name: 'Add a card' }).click();
      await page.waitForURL((u) => u.origin === wallet && u.pathname === '/cards/new');
      await page.getByLabel('Card number').fill(VISA.number);
      await page.getByLabel('Expiry (MM/YY)').fill(VISA.expiry);
      await page.getByLabel('Security code').fill(VISA.cvc);
      await page.getByLabel('Name on card').fill(VISA.holder);
      await expectFormRedirect(page, /^\/cards$/, () => page.getByRole('button', { name: 'Add card' }).click());
      await page.waitForURL((u) => u.origin === wallet && u.pathname === consent);
      const kettleUrl = await pay(KETTLE);

      await addToCart(MUG);
      await payWithSaifu(MUG);
      await page.getByLabel(`Points to use (you have ${KETTLE.earn})`, { exact: true }).fill(String(KETTLE.earn));
      const mugUrl = await pay(MUG, KETTLE.earn);
      const mugRef = new URL(mugUrl).pathname.split('/').pop();
      const kettleRef = new URL(kettleUrl).pathname.split('/').pop();

      // Money shown exactly: total − points = card.
      const split = await page.locator('table.split tr').evaluateAll((trs) =>
        trs.map((tr) => [...tr.cells].map((c) => c.textContent.trim())));
      assert.deepEqual(split, [
        ['Total', '¥1,800'],
        ['Points used (64 points)', '−¥64'],
        ['Charged to your card', '¥1,736'],
      ], 'the mug: total − points = card');

      // Something in the cart, so the cart page shows its table and Pay button.
      await addToCart(MUG);

      // ---- The orders page: newest first, with status and amounts, each linking to its order. ----
      await page.goto(shopUrl('/orders'));
      await page.getByRole('heading', { level: 1, name: 'Your orders' }).waitFor();
      const listed = await page.locator('.order-card').evaluateAll((cards) => cards.map((c) => ({
        href: c.querySelector('h2 a').getAttribute('href'),
        status: c.querySelector('.badge').textContent.trim(),
        amount: c.querySelector('.amount').textContent.replace(/\s+/g, ' ').trim(),
      })));
      assert.deepEqual(listed, [
        { href: `/orders/${mugRef}`, status: 'Paid', amount: '¥1,800 (¥1,736 by card + 64 points)' },
        { href: `/orders/${kettleRef}`, status: 'Paid', amount: '¥6,400' },
      ], 'the orders, newest first');
      await page.getByRole('link', { name: `Order ${kettleRef}` }).click();
      await page.waitForURL((u) => u.href === kettleUrl);

      // ---- Every shop page, in both languages, at desktop and phone size. ----
      const pages = [
        { path: '/', h1: { en: 'Small things for slow mornings', ja: 'ゆったりした朝のための小さな道具' } },
        { path: '/cart', h1: { en: 'Your cart', ja: 'カート' } },
        { path: '/orders', h1: { en: 'Your orders', ja: '注文履歴' } },
        { path: `/orders/${mugRef}`, h1: { en: 'Thank you for your order', ja: 'ご注文ありがとうございます' } },
        { path: `/orders/${mugRef}/refund`, h1: { en: 'Refund this order?', ja: 'この注文を返金しますか?' } },
        { path: '/nowhere', h1: { en: 'Page not found', ja: 'ページが見つかりません' }, status: 404 },
      ];
      for (const lang of ['en', 'ja']) {
        // The footer's switcher: back on the same page, in the chosen language.
        await page.goto(shopUrl('/orders'));
        const name = lang === 'ja' ? '日本語' : 'English';
        await expectFormRedirect(page, /^\/language$/, () => page.getByRole('button', { name, exact: true }).click());
        await page.waitForURL((u) => onShop(u) && u.pathname === '/orders');
        assert.equal(await page.locator('html').getAttribute('lang'), lang, `the switcher chose ${lang}`);
        for (const [size, viewport] of [['desktop', DESKTOP], ['phone', PHONE]]) {
          await page.setViewportSize(viewport);
          for (const p of pages) {
            const label = `${p.path} (${lang}, ${size})`;
            const response = await page.goto(shopUrl(p.path));
            assert.equal(response.status(), p.status ?? 200, `${label}: status`);
            assert.equal(await page.locator('html').getAttribute('lang'), lang, `${label}: <html lang>`);
            await page.getByRole('heading', { level: 1, name: p.h1[lang], exact: true }).waitFor();
            const text = await page.locator('body').innerText();
            assert.doesNotMatch(text, MERCHANT_WORDS, `${label}: shopper words only`);
            assert.doesNotMatch(text, /\bshop-[a-z]/, `${label}: no message id shown`);
            if (lang === 'ja' && p.path === `/orders/${mugRef}`) {
              assert.match(text, /\d{4}年\d{1,2}月\d{1,2}日 \d{2}:\d{2} JST/, `${label}: the date in Japanese, Tokyo time`);
            }
            if (lang === 'en' && p.path === `/orders/${mugRef}`) {
              assert.match(text, /\d{1,2} [A-Z][a-z]{2} \d{4}, \d{2}:\d{2} JST/, `${label}: the date in English, Tokyo time`);
            }
            await noHorizontalOverflow(page, label);
            await axeClean(page, label);
            if (size === 'phone') {
              await page.setViewportSize({ width: 320, height: 640 });
              await noHorizontalOverflow(page, `${p.path} (${lang}, 320 px)`);
              await page.setViewportSize(viewport);
            }
          }
          await page.goto(shopUrl(`/orders/${mugRef}`));
          await page.screenshot({ path: path.join(RESULTS_DIR, `shop-order-${lang}-${size}.png`), fullPage: true });
        }
      }

      // ---- Times in the zone chosen in the footer (Tokyo until then), in Japanese on a phone. ----
      await page.setViewportSize(PHONE);
      await page.goto(mugUrl);
      const zoneLabel = '表示するタイムゾーン';
      async function chooseZone(zone) {
        await page.getByLabel(zoneLabel).selectOption(zone);
        await expectFormRedirect(page, /^\/language$/, () => page.getByRole('button', { name: 'タイムゾーンを保存', exact: true }).click());
        await page.waitForURL((u) => u.href === mugUrl, { waitUntil: 'load' });
        assert.equal(await page.getByLabel(zoneLabel).inputValue(), zone, `${zone} is kept`);
      }
      assert.equal(await page.getByLabel(zoneLabel).inputValue(), 'Asia/Tokyo', 'Tokyo by default');
      await chooseZone('Europe/London');
      const london = await page.locator('main').innerText();
      assert.match(london, /\d{4}年\d{1,2}月\d{1,2}日 \d{2}:\d{2} (GMT|BST)/, 'the order time in London, in Japanese');
      assert.doesNotMatch(london, /JST/);
      await axeClean(page, 'order in London time (ja, phone)');
      await noHorizontalOverflow(page, 'order in London time (ja, phone)');
      await page.goto(shopUrl('/orders'));
      assert.match((await page.locator('.order-card .placed').first().innerText()).trim(), /(GMT|BST)$/, 'the orders list too');
      await page.goto(mugUrl);
      await chooseZone('Asia/Tokyo');
      assert.match(await page.locator('main').innerText(), /\d{2}:\d{2} JST/);

      // ---- The refund, in Japanese on a phone: a confirmation first, then the refund. ----
      await page.setViewportSize(PHONE);
      await page.goto(mugUrl);
      const split_ja = await page.locator('table.split tr').evaluateAll((trs) =>
        trs.map((tr) => [...tr.cells].map((c) => c.textContent.trim())));
      assert.deepEqual(split_ja, [
        ['合計', '¥1,800'],
        ['ポイント利用（64ポイント）', '−¥64'],
        ['カードへの請求額', '¥1,736'],
      ], 'the breakdown in Japanese');
      await page.getByRole('link', { name: 'この注文を返金する（¥1,800）' }).click();
      await page.waitForURL((u) => u.href === `${mugUrl}/refund`);
      const effects = (await page.locator('ul.effects').innerText()).trim();
      assert.match(effects, /¥1,736 をお使いのVisa（末尾 4242）に返金します。/);
      assert.match(effects, /64ポイントを Saifu ウォレットに戻します。/);
      await page.screenshot({ path: path.join(RESULTS_DIR, 'shop-refund-confirmation-ja-phone.png'), fullPage: true });
      await expectFormRedirect(page, /^\/orders\/[^/]+\/refund$/, () =>
        page.getByRole('button', { name: '¥1,800 を返金する', exact: true }).click());
      await page.waitForURL((u) => u.href === mugUrl);
      await page.getByRole('heading', { level: 1, name: '返金が完了しました' }).waitFor();
      assert.match(await page.getByRole('status').innerText(), /¥1,736 をお使いのVisa（末尾 4242）に返金し、64ポイントを Saifu ウォレットに戻しました。/);
      assert.equal(await page.getByRole('link', { name: /返金する/ }).count(), 0, 'nothing left to refund');
      await axeClean(page, 'refunded order (ja, phone)');
      await noHorizontalOverflow(page, 'refunded order (ja, phone)');
      await page.goto(shopUrl('/orders'));
      assert.equal((await page.locator('.order-card .badge').first().innerText()).trim(), '返金済み');

      // ---- No CSP violation and no console error on any shop page. ----
      const shopCsp = h.cspViolations.filter((v) => onShop(v.url ?? ''));
      assert.deepEqual(shopCsp, [], 'no CSP violation on the shop');
      assert.deepEqual(shopConsole, [], 'no console error or warning on the shop');
      assert.deepEqual(h.pageErrors, [], 'no uncaught page error');
    });
  });

  it('the time zone chooser offers the device\'s own zone, keeps the choice, and passes axe at 390×844', async () => {
    // A phone in São Paulo, in Japanese: its zone is not in the shop's short list.
    const context = await env.browser.newContext({ locale: 'ja-JP', timezoneId: 'America/Sao_Paulo', viewport: PHONE });
    try {
      const page = await context.newPage();
      const problems = [];
      page.on('console', (msg) => {
        if (['error', 'warning'].includes(msg.type())) problems.push(msg.text());
      });
      page.on('pageerror', (err) => problems.push(String(err)));
      await page.goto(new URL('/cart', env.wallet.shopURL).href);
      const zone = page.getByLabel('表示するタイムゾーン');
      assert.equal(await zone.inputValue(), 'Asia/Tokyo', 'Tokyo until the shopper chooses');
      const device = zone.locator('option[value="America/Sao_Paulo"]');
      await device.waitFor({ state: 'attached' });
      assert.equal((await device.innerText()).trim(), 'America/Sao_Paulo（この端末）', 'the device\'s zone, offered by the page\'s script');
      assert.ok((await zone.locator('option').count()) > 10, 'with the common zones');
      await axeClean(page, 'footer with the zone chooser (ja, phone)');
      await noHorizontalOverflow(page, 'footer with the zone chooser (ja, 390 px)');
      await zone.selectOption('America/Sao_Paulo');
      await expectFormRedirect(page, /^\/language$/, () => page.getByRole('button', { name: 'タイムゾーンを保存', exact: true }).click());
      await page.waitForURL((u) => u.pathname === '/cart', { waitUntil: 'load' });
      assert.equal(await page.getByLabel('表示するタイムゾーン').inputValue(), 'America/Sao_Paulo', 'the choice is kept');
      assert.equal(await page.locator('#time-zone option[value="America/Sao_Paulo"]').count(), 1, 'listed once');
      const cookies = await context.cookies(env.wallet.shopURL);
      assert.equal(decodeURIComponent(cookies.find((c) => c.name === 'shop_tz')?.value ?? ''), 'America/Sao_Paulo');
      await page.setViewportSize({ width: 320, height: 640 });
      await noHorizontalOverflow(page, 'footer with the zone chooser (ja, 320 px)');
      assert.deepEqual(problems, [], 'no console error, CSP report or page error');
    } finally {
      await context.close();
    }
  });

  it('a Japanese browser gets the shop in Japanese from Accept-Language, and English stays one click away', async () => {
    const context = await env.browser.newContext({ locale: 'ja-JP', viewport: PHONE });
    try {
      const page = await context.newPage();
      const shopConsole = [];
      page.on('console', (msg) => {
        if (['error', 'warning'].includes(msg.type())) shopConsole.push(msg.text());
      });
      await page.goto(env.wallet.shopURL);
      assert.equal(await page.locator('html').getAttribute('lang'), 'ja');
      await page.getByRole('heading', { level: 1, name: 'ゆったりした朝のための小さな道具' }).waitFor();
      await page.getByRole('button', { name: 'カートに入れる: 陶器のマグカップ' }).click();
      await page.waitForURL((u) => u.pathname === '/cart');
      await page.getByRole('button', { name: 'Saifu で支払う（¥1,800）' }).waitFor();
      await axeClean(page, 'cart (ja from Accept-Language)');
      await noHorizontalOverflow(page, 'cart (ja, 390 px)');
      await page.getByRole('button', { name: 'English', exact: true }).click();
      await page.waitForURL((u) => u.pathname === '/cart');
      assert.equal(await page.locator('html').getAttribute('lang'), 'en');
      await page.getByRole('button', { name: 'Pay with Saifu (¥1,800)' }).waitFor();
      assert.deepEqual(shopConsole, [], 'no console error or warning');
    } finally {
      await context.close();
    }
  });
});
