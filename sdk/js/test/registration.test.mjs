// Any Saifu wallet at one shop, against a real wallet started from the built binary: the
// wallet discovered from its address and the shop registered once (RFC 7591), the registration
// reused from the store, two shops registering themselves, a full checkout through the
// dynamically registered client (a pending shop: "Not verified" on the consent page), the
// wallet's webhook told apart by its secret, and RFC 7592 read, update and delete.
import assert from 'node:assert/strict';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { inspect } from 'node:util';
import { FileRegistrationStore, MemoryRegistrationStore, Registration, SaifuClient, SaifuError, SaifuWallets } from '../src/index.js';
import { createShop } from '../examples/any-wallet-shop.mjs';
import { approveCheckout, freePort, launchBrowser, openShopperPage, runSaifu, startRecorder, startWallet } from './helpers.mjs';

async function rejectsWith(promise, code, status) {
  await assert.rejects(promise, (err) => {
    assert.ok(err instanceof SaifuError, `a SaifuError, got ${err?.stack ?? err}`);
    assert.equal(err.code, code, `code of ${inspect(err)}: ${err.message}`);
    if (status !== undefined) assert.equal(err.status, status, `status of ${inspect(err)}`);
    return true;
  });
}

describe('any Saifu wallet: discovery and dynamic registration against a real wallet', () => {
  const env = {};
  const merchants = async () => JSON.parse((await runSaifu(env.wallet, ['merchant', 'list', '--json'])).stdout);
  const named = async (name) => (await merchants()).filter((m) => m.name === name);
  const shop = (extra = {}) => new SaifuWallets({
    clientName: 'Kissa Tanuki',
    redirectUris: [env.redirectUri],
    clientUri: env.callback.origin,
    webhookUrl: env.hooks.url('/webhooks/saifu'),
    store: env.store,
    development: true,
    ...extra,
  });

  before(async () => {
    env.wallet = await startWallet();
    env.port = new URL(env.wallet.baseURL).port;
    env.issuer = `${env.wallet.baseURL}/`;
    env.callback = await startRecorder();
    env.hooks = await startRecorder((_req, _entry, res) => res.writeHead(204).end());
    env.redirectUri = env.callback.url('/callback');
    env.dir = await mkdtemp(path.join(tmpdir(), 'saifu-registrations-'));
    env.file = path.join(env.dir, 'registrations.json');
    env.store = new FileRegistrationStore(env.file);
    env.wallets = shop();
  });

  after(async () => {
    env.wallets?.close();
    await env.shopper?.close();
    await env.browser?.close().catch(() => {});
    await env.callback?.close();
    await env.hooks?.close();
    await env.wallet?.stop();
    await rm(env.dir, { recursive: true, force: true });
  });

  it('discovers the wallet from its address, registers once and reuses the registration', async () => {
    const { issuer, metadata } = await env.wallets.discover(`aiko@localhost:${env.port}`);
    assert.equal(issuer, env.issuer);
    assert.equal(metadata.registration_endpoint, `${env.wallet.baseURL}/oauth/register`);

    const client = await env.wallets.connect(`aiko@localhost:${env.port}`);
    assert.ok(client instanceof SaifuClient);
    assert.equal(client.issuer, env.issuer);
    const record = await env.store.get(env.issuer);
    assert.equal(record.client_id, client.clientId);
    assert.equal(record.saifu_status, 'pending', 'a shop registered this way starts pending');
    assert.equal(record.client_name, 'Kissa Tanuki');
    assert.deepEqual(record.redirect_uris, [env.redirectUri]);
    assert.match(record.webhook_secret, /^whsec_/);
    assert.equal(record.registration_client_uri, `${env.wallet.baseURL}/oauth/register/${client.clientId}`);
    assert.equal((await stat(env.file)).mode & 0o777, 0o600);
    assert.ok(!inspect(client).includes(record.client_secret), 'the client hides its secret');

    // The same wallet, named another way, is the same registration and the same client.
    assert.equal(await env.wallets.connect(`http://localhost:${env.port}`), client);
    assert.equal(await env.wallets.connect(env.issuer), client);
    // After a restart of the shop: a new SaifuWallets on the same store reuses the registration.
    const restarted = shop();
    try {
      const again = await restarted.connect(`localhost:${env.port}`);
      assert.equal(again.clientId, client.clientId);
    } finally {
      restarted.close();
    }
    const listed = await named('Kissa Tanuki');
    assert.equal(listed.length, 1, 'registered once');
    assert.equal(listed[0].status, 'pending');
  });

  it('a second shop registers itself; two shoppers of a new wallet at once make one registration', async () => {
    const store = new MemoryRegistrationStore();
    const second = shop({ clientName: 'Hanaya Florist', store, webhookUrl: undefined, clientUri: undefined });
    try {
      const [a, b] = await Promise.all([second.connect(`localhost:${env.port}`), second.connect(`aiko@localhost:${env.port}`)]);
      assert.equal(a, b);
      assert.notEqual(a.clientId, (await env.store.get(env.issuer)).client_id, 'its own client');
      assert.equal((await named('Hanaya Florist')).length, 1);
      const record = await store.get(env.issuer);
      assert.equal(record.webhook_secret ?? null, null, 'no webhook URL, no webhook secret');
    } finally {
      second.close();
    }
  });

  it('a full checkout through the dynamically registered client: "Not verified" at consent, paid, webhook told apart', async () => {
    const client = await env.wallets.connect(`localhost:${env.port}`);
    const orderReference = `R-${process.pid}-1`;
    const { authorizationUrl, pending } = await client.startCheckout(
      { currency: 'JPY', amount: '1800', orderReference, lineItems: [{ name: 'Matcha', quantity: 1, unitAmount: '1800' }] },
      { redirectUri: env.redirectUri },
    );
    env.browser = await launchBrowser();
    env.shopper = await openShopperPage(env.browser);
    const { page } = env.shopper;
    await page.goto(authorizationUrl);
    await page.waitForURL((u) => /^\/checkout\/[^/]+$/.test(u.pathname));
    const notice = page.getByRole('note').filter({ hasText: 'Not verified' });
    assert.equal(await notice.count(), 1, 'the consent page says the shop is not verified');
    assert.equal(await page.locator('#consent-heading').innerText(), 'Pay Kissa Tanuki');
    const callbackUrl = await approveCheckout(page, null, { walletOrigin: env.wallet.baseURL });
    // The shop keeps which wallet the checkout went to, and connects again at the callback.
    const back = await env.wallets.connect(client.issuer);
    const grant = await back.completeCheckout(callbackUrl, pending);
    assert.equal(grant.claims.client_id, client.clientId);
    assert.equal(grant.payment.order_reference, orderReference);
    const payment = await back.payments.create({ grant });
    assert.equal(payment.status, 'captured');
    assert.equal(payment.captured_amount, '1800');

    const delivery = await env.hooks.waitFor((r) => JSON.parse(r.body.toString() || '{}').type === 'payment.captured');
    const { issuer, event } = await env.wallets.verifyWebhook(delivery.body, delivery.headers);
    assert.equal(issuer, env.issuer);
    assert.equal(event.data.id, payment.id);
  });

  it('one shop, two wallets: each shopper pays with their own wallet, and each webhook names its wallet', async () => {
    env.wallet2 = await startWallet();
    try {
      const port2 = new URL(env.wallet2.baseURL).port;
      const payWith = async (address, shopper, walletOrigin, amount) => {
        const client = await env.wallets.connect(address);
        const orderReference = `R-${process.pid}-${port2}-${amount}`;
        const { authorizationUrl, pending } = await client.startCheckout({ currency: 'JPY', amount, orderReference }, { redirectUri: env.redirectUri });
        assert.ok(authorizationUrl.startsWith(`${walletOrigin}/`), 'the checkout goes to the shopper\'s wallet');
        const callbackUrl = await approveCheckout(shopper.page, authorizationUrl, { walletOrigin });
        const grant = await (await env.wallets.connect(client.issuer)).completeCheckout(callbackUrl, pending);
        return { client, payment: await client.payments.create({ grant }) };
      };
      // Cookies are per host, not per port: the second wallet's shopper has a browser of their own.
      const second = await openShopperPage(env.browser);
      try {
        const one = await payWith(`aiko@localhost:${env.port}`, env.shopper, env.wallet.baseURL, '1200');
        const two = await payWith(`hiro@localhost:${port2}`, second, env.wallet2.baseURL, '2300');
        assert.equal(two.client.issuer, `${env.wallet2.baseURL}/`);
        assert.notEqual(one.client, two.client);
        assert.equal(one.payment.status, 'captured');
        assert.equal(two.payment.status, 'captured');
        assert.deepEqual((await env.store.list()).map((r) => r.issuer).sort(), [env.issuer, `${env.wallet2.baseURL}/`].sort());
        const captured = (r, id) => {
          const body = JSON.parse(r.body.toString() || '{}');
          return body.type === 'payment.captured' && body.data?.id === id;
        };
        const fromTwo = await env.hooks.waitFor((r) => captured(r, two.payment.id));
        assert.equal((await env.wallets.verifyWebhook(fromTwo.body, fromTwo.headers)).issuer, `${env.wallet2.baseURL}/`);
        const fromOne = await env.hooks.waitFor((r) => captured(r, one.payment.id));
        assert.equal((await env.wallets.verifyWebhook(fromOne.body, fromOne.headers)).issuer, env.issuer);
      } finally {
        await second.close();
      }
    } finally {
      await env.wallet2.stop();
    }
  });

  it('RFC 7592: reads the registration, updates it (also when the shop\'s options change) and deletes it', async () => {
    const address = `localhost:${env.port}`;
    const before = await env.store.get(env.issuer);
    const read = await env.wallets.registration(address);
    assert.ok(read instanceof Registration);
    assert.equal(read.clientId, before.client_id);
    assert.equal(read.status, 'pending');
    assert.equal(read.clientName, 'Kissa Tanuki');
    for (const secret of [before.client_secret, before.registration_access_token, before.webhook_secret]) {
      assert.ok(!inspect(read).includes(secret) && !JSON.stringify(read).includes(secret), 'no secret shown');
    }

    const updated = await env.wallets.update(address, { clientName: 'Kissa Tanuki Ginza', webhookUrl: env.hooks.url('/webhooks/saifu-v2') });
    assert.equal(updated.clientName, 'Kissa Tanuki Ginza');
    assert.equal(updated.webhookUrl, env.hooks.url('/webhooks/saifu-v2'));
    assert.equal(updated.status, 'pending', 'the status is never the client\'s to change');
    const stored = await env.store.get(env.issuer);
    assert.equal(stored.client_secret, before.client_secret, 'the client secret stays');
    assert.equal(stored.webhook_secret, before.webhook_secret, 'a changed webhook URL keeps its secret');
    const [listed] = await named('Kissa Tanuki Ginza');
    assert.equal(listed.client_id, before.client_id);
    assert.equal(listed.webhook_url, env.hooks.url('/webhooks/saifu-v2'));

    // The shop's options changed since it registered: connect sends them (PUT) before use.
    const renamed = shop({ clientName: 'Kissa Tanuki Shibuya' });
    try {
      assert.equal((await renamed.connect(address)).clientId, before.client_id);
      assert.equal((await renamed.registration(address)).clientName, 'Kissa Tanuki Shibuya');
      assert.equal((await named('Kissa Tanuki Shibuya')).length, 1);
    } finally {
      renamed.close();
    }

    const client = await env.wallets.connect(address);
    await env.wallets.delete(address);
    assert.equal(await env.store.get(env.issuer), null, 'gone from the store');
    await rejectsWith(client.startCheckout({ currency: 'JPY', amount: '100', orderReference: `R-${process.pid}-2` }, { redirectUri: env.redirectUri }), 'invalid_client', 401);
    await rejectsWith(env.wallets.registration(address), 'registration_not_found');
    await rejectsWith(env.wallets.delete(address), 'registration_not_found');

    // The deleted registration's token no longer opens it.
    const stale = new MemoryRegistrationStore();
    await stale.set(env.issuer, before);
    const staleShop = shop({ store: stale });
    try {
      await rejectsWith(staleShop.registration(address), 'invalid_token', 401);
    } finally {
      staleShop.close();
    }

    // Connecting again registers the shop anew.
    const fresh = await env.wallets.connect(address);
    assert.notEqual(fresh.clientId, before.client_id);
    assert.equal((await env.store.get(env.issuer)).client_id, fresh.clientId);
  });

  it('the wallet refuses bad metadata: registration_refused with its RFC 7591 error', async () => {
    for (const [options, error] of [
      [{ redirectUris: ['http://shop.example/callback'] }, 'invalid_redirect_uri'], // plain http only on loopback
      [{ clientName: 'Kissa\u202ETanuki' }, 'invalid_client_metadata'], // a right-to-left override
    ]) {
      const other = shop({ store: new MemoryRegistrationStore(), ...options });
      try {
        await assert.rejects(other.connect(`localhost:${env.port}`), (err) => {
          assert.equal(err.code, 'registration_refused', err.message);
          assert.equal(err.status, 400);
          assert.equal(err.source, 'oauth');
          assert.equal(err.problem.error, error);
          assert.ok(err.detail, 'the wallet says why');
          return true;
        });
      } finally {
        other.close();
      }
    }
  });

  it('the issuer switches registration off: registration_closed for a new shop, a registered one goes on', async () => {
    await runSaifu(env.wallet, ['registration', 'disable', '--json']);
    try {
      const { metadata } = await env.wallets.discover(`localhost:${env.port}`);
      assert.equal(metadata.registration_endpoint, undefined, 'no longer advertised');
      const newcomer = shop({ store: new MemoryRegistrationStore(), clientName: 'Closed Door Cafe' });
      try {
        await assert.rejects(newcomer.connect(`localhost:${env.port}`), (err) => {
          assert.equal(err.code, 'registration_closed', err.message);
          assert.match(err.message, /does not take new shops/);
          return true;
        });
      } finally {
        newcomer.close();
      }
      const known = shop();
      try {
        const client = await known.connect(`localhost:${env.port}`);
        assert.equal(client.clientId, (await env.store.get(env.issuer)).client_id, 'the stored registration still works');
        assert.equal((await known.registration(`localhost:${env.port}`)).clientId, client.clientId);
      } finally {
        known.close();
      }
    } finally {
      assert.deepEqual(JSON.parse((await runSaifu(env.wallet, ['registration', 'enable', '--json'])).stdout), { open: true });
    }
  });

  it('the wallet\'s per-address limit: too_many_requests with Retry-After', async () => {
    // Restarted on the same data with a limit of one registration per address and hour, which
    // the registrations above have used up.
    await env.wallet.restart({ SAIFU_REGISTRATION_PER_HOUR: '1' });
    const late = shop({ store: new MemoryRegistrationStore(), clientName: 'Late Bakery' });
    try {
      await assert.rejects(late.connect(`localhost:${env.port}`), (err) => {
        assert.equal(err.code, 'too_many_requests', err.message);
        assert.equal(err.status, 429);
        assert.equal(err.retryable, true);
        assert.ok(err.retryAfter >= 1 && err.retryAfter <= 3600, `Retry-After ${err.retryAfter}`);
        return true;
      });
      assert.equal((await named('Late Bakery')).length, 0);
      // A registered shop is not held up: its stored registration is used as it is.
      const known = shop();
      try {
        assert.equal((await known.connect(`localhost:${env.port}`)).clientId, (await env.store.get(env.issuer)).client_id);
      } finally {
        known.close();
      }
    } finally {
      late.close();
    }
  });
});

describe('examples/any-wallet-shop.mjs: one shop, two wallets, shoppers type their wallet\'s address', () => {
  const env = {};
  before(async () => {
    env.wallets = [await startWallet(), await startWallet()];
    const port = await freePort();
    env.shop = createShop({ publicUrl: `http://localhost:${port}`, store: new MemoryRegistrationStore(), development: true });
    env.origin = await env.shop.listen(port);
    env.browser = await launchBrowser();
  });
  after(async () => {
    await env.browser?.close().catch(() => {});
    await env.shop?.close();
    for (const w of env.wallets ?? []) await w.stop();
  });

  it('a checkout on each wallet, confirmed by each wallet\'s webhook; a non-wallet address is explained', async () => {
    for (const [i, wallet] of env.wallets.entries()) {
      const h = await openShopperPage(env.browser);
      try {
        const { page } = h;
        const home = await page.goto(env.origin);
        assert.match(home.headers()['content-security-policy'], /form-action 'self' https: http:\/\/localhost:\*/);
        if (i === 0) {
          // Not a wallet: the shop itself answers 404 to the metadata request.
          await page.getByLabel('Which wallet do you use?').fill(`aiko@localhost:${new URL(env.origin).port}`);
          await page.getByRole('button', { name: 'Pay ¥1,800' }).click();
          assert.equal(await page.getByRole('alert').innerText(), 'That address is not a Saifu wallet.');
          assert.equal(await page.getByLabel('Which wallet do you use?').getAttribute('aria-invalid'), 'true');
        }
        await page.getByLabel('Which wallet do you use?').fill(`shopper${i}@localhost:${new URL(wallet.baseURL).port}`);
        await page.getByRole('button', { name: 'Pay ¥1,800' }).click();
        await page.waitForURL((u) => u.origin === wallet.baseURL);
        assert.equal(await page.locator('#consent-heading').innerText(), 'Pay Matcha Corner');
        assert.equal(await page.getByRole('note').filter({ hasText: 'Not verified' }).count(), 1);
        await approveCheckout(page, null, { walletOrigin: wallet.baseURL });
        await page.getByRole('heading', { name: 'Thank you!' }).waitFor();
        const ref = /Order (M-[0-9A-F]+): captured/.exec(await page.locator('#order').innerText())?.[1];
        assert.ok(ref, 'the order is captured');
        const deadline = Date.now() + 10_000;
        let order;
        while (Date.now() < deadline) {
          order = await (await fetch(`${env.origin}/orders/${ref}.json`)).json();
          if (order.paidByWebhook) break;
          await new Promise((r) => setTimeout(r, 100));
        }
        assert.equal(order.wallet, `${wallet.baseURL}/`);
        assert.equal(order.paidByWebhook, true, 'the wallet\'s signed payment.captured webhook verified with its own secret');
      } finally {
        await h.close();
      }
    }
    assert.equal((await env.shop.wallets.registrations()).length, 2, 'one registration per wallet');
  });
});
