// The <saifu-pay-button> in headless Chromium under a strict Content-Security-Policy, and the
// example shop (examples/shop.mjs) end to end: product page, button, the wallet's consent,
// back to the shop paid, and the signed webhook accepted.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createShop } from '../examples/shop.mjs';
import {
  PACKAGE_ROOT, approveCheckout, createMerchant, freePort, launchBrowser, openShopperPage, startWallet,
} from './helpers.mjs';

const STRICT_CSP = "default-src 'self'; script-src 'self'; style-src 'self'";
const BUTTON = path.join(PACKAGE_ROOT, 'browser', 'saifu-pay-button.js');

function clean(h, label) {
  assert.deepEqual(h.consoleErrors, [], `${label}: console errors and warnings`);
  assert.deepEqual(h.pageErrors, [], `${label}: uncaught errors`);
  assert.deepEqual(h.cspViolations, [], `${label}: CSP violations`);
}

describe('<saifu-pay-button> under a strict CSP', () => {
  const env = {};
  before(async () => {
    const js = await readFile(BUTTON);
    env.posts = [];
    env.server = createServer((req, res) => {
      const url = new URL(req.url, 'http://localhost');
      if (url.pathname === '/saifu-pay-button.js') {
        res.writeHead(200, { 'content-type': 'text/javascript', 'content-security-policy': STRICT_CSP });
        return res.end(js);
      }
      if (req.method === 'POST') {
        const chunks = [];
        req.on('data', (c) => chunks.push(c));
        req.on('end', () => {
          env.posts.push({ path: url.pathname, form: Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString())) });
          // Slow on purpose, like a real server pushing the authorization request.
          setTimeout(() => {
            res.writeHead(200, { 'content-type': 'text/html', 'content-security-policy': STRICT_CSP });
            res.end('<!doctype html><html lang="en"><title>Wallet</title><h1>At the wallet</h1></html>');
          }, 1500);
        });
        return undefined;
      }
      const lang = url.searchParams.get('lang') ?? 'en';
      const theme = url.searchParams.get('theme') ?? 'auto';
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-security-policy': STRICT_CSP });
      return res.end(`<!doctype html><html lang="${lang}"><head><meta charset="utf-8"><title>Shop</title>
<script type="module" src="/saifu-pay-button.js"></script></head><body>
<h1>Frames</h1>
<saifu-pay-button id="standalone" action="/start" amount="12800" currency="JPY" order-reference="A-1" theme="${theme}"></saifu-pay-button>
<form method="post" action="/shop-form"><input type="hidden" name="csrf" value="t0k3n">
<saifu-pay-button id="in-form" amount="1250" currency="USD"></saifu-pay-button></form>
</body></html>`);
    });
    await new Promise((r) => env.server.listen(0, '127.0.0.1', r));
    env.origin = `http://localhost:${env.server.address().port}`;
    env.browser = await launchBrowser();
  });
  after(async () => {
    await env.browser?.close().catch(() => {});
    env.server?.closeAllConnections?.();
    await new Promise((r) => env.server?.close(r));
  });

  it('renders in English, is keyboard operable, and submits with a spinner while the page redirects', async () => {
    const h = await openShopperPage(env.browser);
    try {
      const { page } = h;
      await page.goto(`${env.origin}/?lang=en`);
      const button = page.locator('#standalone').getByRole('button');
      await button.waitFor();
      assert.equal((await button.innerText()).trim(), 'Pay with Saifu');
      assert.equal(await page.getByRole('button', { name: 'Pay ¥12,800 with Saifu' }).count(), 1, 'the accessible name says the amount');
      // Styles applied (constructable stylesheet, no inline style): a 44px tap target.
      const box = await button.boundingBox();
      assert.ok(box.height >= 44, `height ${box.height}`);
      // The amount is read when pressed, not when the script loaded.
      await page.locator('#standalone').evaluate((el) => el.setAttribute('amount', '13800'));
      assert.equal(await page.getByRole('button', { name: 'Pay ¥13,800 with Saifu' }).count(), 1);
      await page.keyboard.press('Tab');
      assert.equal(await page.evaluate(() => document.activeElement?.id), 'standalone', 'the first Tab reaches the button');
      clean(h, 'before paying');
      // The page is gone once the redirect commits: the element's state is reported from an
      // observer as soon as it turns busy.
      const states = [];
      await page.exposeFunction('reportBusy', (state) => states.push(state));
      await page.evaluate(() => {
        const el = document.getElementById('standalone');
        new MutationObserver(() => {
          const root = el.shadowRoot;
          const b = root.querySelector('button');
          const spinner = root.querySelector('.spinner');
          window.reportBusy({
            busy: el.hasAttribute('busy'),
            disabled: b.disabled,
            ariaBusy: b.getAttribute('aria-busy'),
            spinner: getComputedStyle(spinner).display !== 'none' && spinner.getBoundingClientRect().width > 0,
            status: root.querySelector('[role=status]').textContent,
            label: b.textContent,
          });
        }).observe(el, { attributes: true, attributeFilter: ['busy'] });
      });
      await page.keyboard.press('Enter');
      await page.getByRole('heading', { name: 'At the wallet' }).waitFor();
      assert.deepEqual(states[0], { busy: true, disabled: true, ariaBusy: 'true', spinner: true, status: 'Redirecting to Saifu…', label: 'Redirecting to Saifu…' });
      assert.deepEqual(env.posts.at(-1), { path: '/start', form: { amount: '13800', currency: 'JPY', order_reference: 'A-1' } });
      clean(h, 'after paying');
    } finally {
      await h.close();
    }
  });

  it('in Japanese and dark; inside the shop\'s form it submits that form with its fields', async () => {
    const h = await openShopperPage(env.browser);
    try {
      const { page } = h;
      await page.goto(`${env.origin}/?lang=ja&theme=dark`);
      const standalone = page.locator('#standalone').getByRole('button');
      await standalone.waitFor();
      assert.equal((await standalone.innerText()).trim(), 'Saifuで支払う');
      const colors = await page.evaluate(() => {
        const bg = (id) => getComputedStyle(document.getElementById(id).shadowRoot.querySelector('button')).backgroundColor;
        return { dark: bg('standalone'), light: bg('in-form') };
      });
      assert.notEqual(colors.dark, colors.light, `dark and light differ: ${JSON.stringify(colors)}`);
      await page.locator('#in-form').getByRole('button').click();
      await page.getByRole('heading', { name: 'At the wallet' }).waitFor();
      assert.deepEqual(env.posts.at(-1), { path: '/shop-form', form: { csrf: 't0k3n', amount: '1250', currency: 'USD' } });
      clean(h, 'japanese');
    } finally {
      await h.close();
    }
  });
});

describe('examples/shop.mjs against a real wallet', () => {
  const env = {};
  before(async () => {
    env.wallet = await startWallet();
    const port = await freePort();
    const origin = `http://localhost:${port}`;
    env.merchant = await createMerchant(env.wallet, {
      name: 'Frame Shop', redirectUri: `${origin}/callback`, domain: 'frames.example', webhookUrl: `${origin}/webhooks/saifu`,
    });
    env.shop = await createShop({
      issuer: env.wallet.baseURL,
      clientId: env.merchant.client_id,
      clientSecret: env.merchant.client_secret,
      webhookSecret: env.merchant.webhook_secret,
      publicUrl: origin,
    });
    env.origin = await env.shop.listen(port);
    env.browser = await launchBrowser();
  });
  after(async () => {
    await env.browser?.close().catch(() => {});
    await env.shop?.close();
    await env.wallet?.stop();
  });

  it('sells one item: button, consent with a passkey, paid on the callback, confirmed by webhook', async () => {
    const h = await openShopperPage(env.browser);
    try {
      const { page } = h;
      const home = await page.goto(env.origin);
      assert.match(home.headers()['content-security-policy'], /script-src 'self'/);
      await page.getByRole('button', { name: 'Pay ¥12,800 with Saifu' }).click();
      await page.waitForURL((u) => u.origin === env.wallet.baseURL);
      clean(h, 'shop page');
      await approveCheckout(page, null, { walletOrigin: env.wallet.baseURL });
      await page.getByRole('heading', { name: 'Thank you!' }).waitFor();
      const text = await page.locator('#order').innerText();
      const ref = /Order (A-[0-9A-F]+): captured/.exec(text)?.[1];
      assert.ok(ref, `the order is captured: ${text}`);
      const deadline = Date.now() + 10_000;
      let order;
      while (Date.now() < deadline) {
        order = await (await fetch(`${env.origin}/orders/${ref}.json`)).json();
        if (order.paidByWebhook) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal(order.status, 'captured');
      assert.equal(order.paidByWebhook, true, 'the signed payment.captured webhook arrived and verified');
      const forged = await fetch(`${env.origin}/webhooks/saifu`, {
        method: 'POST',
        headers: { 'webhook-id': 'evt_x', 'webhook-timestamp': String(Math.floor(Date.now() / 1000)), 'webhook-signature': 'v1,AAAA' },
        body: '{}',
      });
      assert.equal(forged.status, 400, 'a forged webhook is refused');
    } finally {
      await h.close();
    }
  });
});
