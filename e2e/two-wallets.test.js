// `saifu demo --wallets 2` end to end: one Saifu Demo Shop and two wallets. A shopper of the
// first wallet leaves "Your wallet" empty and pays at the wallet the shop is verified at; a
// shopper of the second wallet types its address, the shop registers itself there on the spot
// and the consent page says it is not verified; both checkouts end on a paid order at the shop,
// and a refund of the second order goes back to the second wallet.
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { RESULTS_DIR, expectFormRedirect, newShopper, startDemo, suiteEnv, withPage } from './helpers.js';

const SHOP_NAME = 'Saifu Demo Shop';
const KETTLE = { name: 'Pour-over kettle', price: '¥6,400' };
const MUG = { name: 'Ceramic mug', price: '¥1,800' };
const VISA = { number: '4242 4242 4242 4242', expiry: '12/34', cvc: '123', holder: 'AIKO TANAKA' };

describe('saifu demo --wallets 2', () => {
  before(async () => {
    await mkdir(RESULTS_DIR, { recursive: true });
  });
  const env = suiteEnv({ before, after }, () => startDemo({ wallets: 2 }));

  it('prints both wallets and how to reach the second', () => {
    const logs = env.wallet.logs();
    assert.match(logs, new RegExp(`^Saifu wallet 2:\\s+${env.wallet.secondURL}/?\\s*$`, 'm'), '"Saifu wallet 2:" line');
    const address = new URL(env.wallet.secondURL).host;
    assert.ok(logs.includes(`Type ${address}`), `the instructions name ${address}`);
  });

  /**
   * One shopper's checkout in a page of its own: the product into the cart, the wallet named
   * (or not), a new wallet account with a passkey and a card at that wallet, "Pay", and the
   * shop's paid order page. Returns { orderUrl, reference }.
   */
  async function checkout(page, { product, walletAddress, walletURL, label, consentCheck }) {
    const demo = env.wallet;
    const shopOrigin = new URL(demo.shopURL).origin;
    const onShop = (u) => u.origin === shopOrigin;

    const home = await page.goto(demo.shopURL);
    assert.equal(home.status(), 200, `${label}: the shop loads`);
    await expectFormRedirect(page, /^\/cart\/add$/, () =>
      page.getByRole('button', { name: new RegExp(`^Add to cart\\s?: ${product.name}$`) }).click());
    await page.waitForURL((u) => onShop(u) && u.pathname === '/cart');
    const field = page.getByLabel('Your wallet (e.g. wallet.example.jp)');
    assert.equal(await field.count(), 1, `${label}: the cart asks which wallet`);
    if (walletAddress) await field.fill(walletAddress);
    await expectFormRedirect(page, /^\/checkout$/, () =>
      page.getByRole('button', { name: `Pay with Saifu (${product.price})`, exact: true }).click());
    await page.waitForURL((u) => u.origin === walletURL && /^\/checkout\/[^/]+$/.test(u.pathname));
    const consent = new URL(page.url()).pathname;
    await page.getByRole('heading', { level: 1, name: `Pay ${SHOP_NAME}` }).waitFor();
    await consentCheck(label);

    // A new wallet account at this wallet, then a card, each bringing the shopper back.
    await page.getByRole('link', { name: 'Create a wallet' }).click();
    await page.waitForURL((u) => u.origin === walletURL && u.pathname === '/signup');
    const shopper = newShopper(label.replace(/[^a-z0-9]+/gi, '-'));
    await page.getByLabel('Display name').fill(shopper.displayName);
    await page.getByLabel('Email', { exact: true }).fill(shopper.email);
    await page.getByRole('button', { name: 'Create passkey' }).click();
    await page.waitForURL((u) => u.origin === walletURL && u.pathname === consent);
    await page.getByRole('link', { name: 'Add a card' }).click();
    await page.waitForURL((u) => u.origin === walletURL && u.pathname === '/cards/new');
    await page.getByLabel('Card number').fill(VISA.number);
    await page.getByLabel('Expiry (MM/YY)').fill(VISA.expiry);
    await page.getByLabel('Security code').fill(VISA.cvc);
    await page.getByLabel('Name on card').fill(VISA.holder);
    await expectFormRedirect(page, /^\/cards$/, () => page.getByRole('button', { name: 'Add card' }).click());
    await page.waitForURL((u) => u.origin === walletURL && u.pathname === consent);
    await consentCheck(`${label}, with a card`);

    await page.getByRole('button', { name: `Pay ${product.price}`, exact: true }).click();
    await page.waitForURL((u) => onShop(u) && /^\/orders\/DEMO-[^/]+$/.test(u.pathname));
    await page.getByRole('heading', { level: 1, name: 'Thank you for your order' }).waitFor();
    const status = await page.locator('dl.summary dt', { hasText: /^Status$/ }).locator('xpath=following-sibling::dd[1]').innerText();
    assert.equal(status.trim(), 'Paid', `${label}: the order is paid`);
    const orderUrl = page.url();
    return { orderUrl, reference: decodeURIComponent(new URL(orderUrl).pathname.split('/').pop()) };
  }

  it('a shopper of each wallet pays at the one shop; the second wallet sees a shop it has not verified', async (t) => {
    const demo = env.wallet;
    const first = demo.baseURL;
    const second = demo.secondURL;

    await withPage(t, env, async ({ page }) => {
      const order = await checkout(page, {
        product: KETTLE,
        walletAddress: '',
        walletURL: first,
        label: 'first wallet',
        consentCheck: async (label) => {
          const badge = page.locator('.badge-verified');
          assert.ok(await badge.isVisible(), `${label}: the verified badge`);
        },
      });
      t.diagnostic(`first wallet's order: ${order.reference}`);
      const activity = await page.goto(`${first}/activity`);
      assert.equal(activity.status(), 200);
      assert.match(await page.locator('main').innerText(), new RegExp(`Order ${order.reference}`), 'the first wallet lists the payment');
    });

    await withPage(t, env, async ({ page }) => {
      const order = await checkout(page, {
        product: MUG,
        walletAddress: `shopper@${new URL(second).host}`,
        walletURL: second,
        label: 'second wallet',
        consentCheck: async (label) => {
          assert.equal(await page.locator('.badge-verified').count(), 0, `${label}: no verified badge`);
          assert.match(await page.getByRole('note').first().innerText(), /Not verified\./, `${label}: "Not verified"`);
          assert.equal((await page.locator('#merchant-domain').innerText()).trim(), 'localhost', `${label}: the shop's domain`);
        },
      });
      t.diagnostic(`second wallet's order: ${order.reference}`);
      const activity = await page.goto(`${second}/activity`);
      assert.equal(activity.status(), 200);
      assert.match(await page.locator('main').innerText(), new RegExp(`Order ${order.reference}`), 'the second wallet lists the payment');

      // The shop refunds it at the wallet that took it.
      await page.goto(order.orderUrl);
      await page.getByRole('link', { name: /^Refund this order/ }).click();
      await page.waitForURL((u) => u.href === `${order.orderUrl}/refund`);
      await page.getByRole('heading', { level: 1, name: 'Refund this order?' }).waitFor();
      await expectFormRedirect(page, /^\/orders\/[^/]+\/refund$/, () =>
        page.getByRole('button', { name: /^Refund / }).click());
      await page.waitForURL((u) => u.href === order.orderUrl);
      await page.getByRole('heading', { level: 1, name: 'Order refunded' }).waitFor();
      await page.goto(`${second}/activity`);
      assert.match(await page.locator('main').innerText(), /Refunded/, 'the second wallet shows the refund');
    });
  });

  it('stops on SIGTERM with exit code 0', async () => {
    const exit = await env.wallet.stop();
    assert.deepEqual({ code: exit.code, signal: exit.signal }, { code: 0, signal: null }, `saifu demo exit: ${env.wallet.logs().slice(-2000)}`);
  });
});
