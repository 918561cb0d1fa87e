// The issuer console end to end, as DESIGN.md's "Issuer administration" describes it: `saifu
// admin invite` prints a one-time link; the invitee opens it in Chromium and creates their admin
// passkey with the virtual authenticator; they suspend a merchant in the console; that
// merchant's next pushed authorization request is refused; the audit page shows the action by
// this admin and a whole chain, as `saifu audit verify` does. Every console page visited passes
// an axe-core audit and fits a phone's width.
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  RESULTS_DIR,
  axeClean,
  createMerchant,
  noHorizontalOverflow,
  runSaifu,
  startCallbackServer,
  suiteEnv,
  withPage,
} from './helpers.js';

/** A pushed authorization request as a merchant's server sends it; returns the response. */
async function pushAuthorizationRequest(baseURL, merchant, redirectUri) {
  const body = new URLSearchParams({
    response_type: 'code',
    client_id: merchant.client_id,
    redirect_uri: redirectUri,
    state: 'console-e2e',
    code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
    code_challenge_method: 'S256',
    authorization_details: JSON.stringify([{
      type: 'payment',
      instructed_amount: { currency: 'JPY', amount: '3200' },
      order_reference: 'C-1',
      line_items: [{ name: 'Postcards', quantity: 1, unit_amount: '3200' }],
    }]),
  });
  const basic = Buffer.from(`${encodeURIComponent(merchant.client_id)}:${encodeURIComponent(merchant.client_secret)}`).toString('base64');
  return fetch(new URL('/oauth/par', baseURL), {
    method: 'POST',
    headers: { Authorization: `Basic ${basic}`, 'Content-Type': 'application/x-www-form-urlencoded' },
    body,
  });
}

describe('issuer console', () => {
  const env = suiteEnv({ before, after });
  const shop = {};

  before(async () => {
    shop.callback = await startCallbackServer();
    shop.redirectUri = shop.callback.url('/callback');
    shop.merchant = await createMerchant(env.wallet, {
      name: 'Postcard Shop', domain: 'postcard-shop.example', redirectUri: shop.redirectUri, verified: true,
    });
  });

  after(async () => {
    await shop.callback?.close();
  });

  it('invite, passkey, suspend a merchant, its next checkout is refused, the audit log shows it', async (t) => {
    // The merchant can push a checkout before the suspension.
    const before = await pushAuthorizationRequest(env.wallet.baseURL, shop.merchant, shop.redirectUri);
    assert.equal(before.status, 201, 'a verified merchant pushes its request');

    const { stdout } = await runSaifu(env.wallet, ['admin', 'invite', '--email', 'owner@issuer.example', '--role', 'owner', '--json']);
    const invite = JSON.parse(stdout);
    assert.deepEqual(Object.keys(invite).sort(), ['expires_at', 'invite_url'], 'exactly invite_url and expires_at');
    const link = new URL(invite.invite_url);
    assert.equal(link.origin, env.wallet.baseURL);
    const hours = (Date.parse(invite.expires_at) - Date.now()) / 3_600_000;
    assert.ok(hours > 23.9 && hours <= 24, `the link is valid for 24 hours (${hours.toFixed(2)})`);

    await withPage(t, env, async (h) => {
      const { page } = h;
      // The invitation: the page names address and role; one touch makes the passkey.
      await page.goto(link.href);
      await page.getByRole('heading', { level: 1, name: 'Join the Saifu console' }).waitFor();
      assert.match(await page.locator('main').innerText(), /owner@issuer\.example/);
      await axeClean(page, 'invitation page');
      await Promise.all([
        page.waitForURL(/\/admin\/passkeys\?welcome=1$/),
        page.getByRole('button', { name: 'Create admin passkey' }).click(),
      ]);
      assert.equal((await h.credentials()).length, 1, 'one admin passkey on the authenticator');
      const created = h.webauthnCalls.find((c) => c.method === 'create' && c.state === 'resolved');
      assert.ok(created, 'the page made the passkey with navigator.credentials.create');
      await page.getByRole('heading', { name: 'Add a second passkey' }).waitFor();
      await axeClean(page, 'passkeys page');

      // The same link again: refused with a page that says why.
      const again = await page.goto(link.href);
      assert.equal(again.status(), 410);
      await page.getByRole('heading', { level: 1, name: "This invitation can't be used" }).waitFor();
      assert.match(await page.locator('main').innerText(), /invite_used/);

      // The dashboard, then the merchant.
      await page.goto('/admin');
      await page.getByRole('heading', { level: 1 }).first().waitFor();
      await axeClean(page, 'dashboard');
      await page.goto('/admin/merchants');
      await axeClean(page, 'merchants');
      await Promise.all([
        page.waitForURL(new RegExp(`/admin/merchants/${shop.merchant.client_id}$`)),
        page.getByRole('link', { name: 'Postcard Shop' }).click(),
      ]);
      await axeClean(page, 'merchant page');
      await page.getByLabel('Status', { exact: true }).selectOption('suspended');
      await page.getByLabel(/^Reason/).fill('Chargebacks under investigation');
      await Promise.all([
        page.waitForURL(new RegExp(`/admin/merchants/${shop.merchant.client_id}$`)),
        page.getByRole('button', { name: 'Set status' }).click(),
      ]);
      assert.equal((await page.locator('#merchant-status').innerText()).trim(), 'suspended');
      assert.match(await page.locator('#status-reason').innerText(), /Chargebacks under investigation/);
      await page.screenshot({ path: path.join(RESULTS_DIR, 'console-merchant-suspended.png'), fullPage: true });

      // The merchant's next pushed request is refused.
      const refused = await pushAuthorizationRequest(env.wallet.baseURL, shop.merchant, shop.redirectUri);
      assert.equal(refused.status, 400);
      assert.equal((await refused.json()).error, 'unauthorized_client');

      // The audit page: this admin's action, and a whole chain.
      await page.goto('/admin/audit?action=merchant.status_changed');
      const state = (await page.locator('#chain-state').innerText()).trim();
      assert.match(state, /Whole/, `chain state: ${state}`);
      const rows = await page.locator('table.audit-table tbody tr').evaluateAll((trs) =>
        trs.map((tr) => [...tr.cells].map((c) => c.textContent.trim())));
      const mine = rows.filter((r) => r[2].startsWith('admin:') && r[3] === 'merchant.status_changed' && r[4] === shop.merchant.client_id);
      assert.equal(mine.length, 1, `one status change by an admin: ${JSON.stringify(rows)}`);
      assert.match(mine[0][5], /suspended/);
      await axeClean(page, 'audit page');
      await page.screenshot({ path: path.join(RESULTS_DIR, 'console-audit.png'), fullPage: true });

      // The console at phone width.
      await page.setViewportSize({ width: 390, height: 844 });
      for (const p of ['/admin', '/admin/merchants', `/admin/merchants/${shop.merchant.client_id}`, '/admin/audit', '/admin/admins', '/admin/webhooks']) {
        await page.goto(p);
        await noHorizontalOverflow(page, `${p} at 390px`);
      }
      await axeClean(page, 'webhooks page at phone width');
      assert.deepEqual(h.cspViolations, [], 'no CSP violation on any console page');
      assert.deepEqual(h.pageErrors, [], 'no uncaught page error');
    });

    // The CLI agrees with the console.
    const verify = await runSaifu(env.wallet, ['audit', 'verify', '--json']);
    assert.equal(JSON.parse(verify.stdout).ok, true);
  });
});
