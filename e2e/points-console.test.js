// The points programme in the console end to end: an operator invited with `saifu admin invite`
// makes a new programme version (a refused field is shown next to it), adds a merchant's
// campaign with the browser's date-and-time inputs, and ends it with "End now". The pages pass
// an axe-core audit at desktop width and at 390×844, fit the phone's width, and the CLI agrees.
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  RESULTS_DIR,
  axeClean,
  createMerchant,
  expectFormRedirect,
  noHorizontalOverflow,
  runSaifu,
  suiteEnv,
  withPage,
} from './helpers.js';

const SHOP = { name: 'Frame Shop', domain: 'frame-shop.example', redirectUri: 'https://frame-shop.example/callback' };

describe('points programme console', () => {
  const env = suiteEnv({ before, after });
  const shop = {};

  before(async () => {
    shop.merchant = await createMerchant(env.wallet, { ...SHOP, verified: true });
  });

  it('an operator edits the programme and adds and ends a campaign', async (t) => {
    const { stdout } = await runSaifu(env.wallet, ['admin', 'invite', '--email', 'points@issuer.example', '--role', 'operator', '--json']);
    const invite = JSON.parse(stdout);

    await withPage(t, env, async (h) => {
      const { page } = h;
      await page.goto(invite.invite_url);
      await Promise.all([
        page.waitForURL(/\/admin\/passkeys\?welcome=1$/),
        page.getByRole('button', { name: 'Create admin passkey' }).click(),
      ]);

      // The programme in force, and a new version of it.
      await page.getByRole('link', { name: 'Points', exact: true }).click();
      await page.waitForURL(/\/admin\/points$/);
      await page.getByRole('heading', { level: 1, name: 'Points programme' }).waitFor();
      await page.getByRole('heading', { level: 2, name: 'In force: version 1' }).waitFor();
      assert.match(await page.locator('main').innerText(), /A change applies to new payments only; payments already approved keep the version they used\./);
      await axeClean(page, 'points programme page');
      await page.getByLabel('Value of 1 point in yen').fill('2');
      await page.getByLabel(/^Rolling/).check();
      await expectFormRedirect(page, /^\/admin\/points$/, () =>
        page.getByRole('button', { name: 'Save as version 2' }).click());
      await page.waitForURL(/\/admin\/points\?saved=1$/);
      assert.match(await page.locator('#programme-saved').innerText(), /Saved: version 2 is in force/);
      assert.equal(await page.getByLabel('Value of 1 point in yen').inputValue(), '2');
      assert.ok(await page.getByLabel(/^Rolling/).isChecked(), 'rolling expiry kept');
      const versions = await page.locator('#programme-history tbody th').allInnerTexts();
      assert.deepEqual(versions.map((v) => v.trim()), ['2', '1'], 'history, newest first');
      await axeClean(page, 'points programme page after a change');
      await page.screenshot({ path: path.join(RESULTS_DIR, 'console-points-programme.png'), fullPage: true });

      // A refused field: shown next to it, the page answers 400, nothing is saved.
      await page.getByLabel('Months until points expire').fill('0');
      const refused = page.waitForResponse((r) => new URL(r.url()).pathname === '/admin/points' && r.request().method() === 'POST');
      await page.getByRole('button', { name: 'Save as version 3' }).click();
      assert.equal((await refused).status(), 400);
      const fieldError = page.locator('#p-expiry_months-error');
      await fieldError.waitFor();
      assert.equal((await fieldError.innerText()).trim(), 'Type a whole number of months from 1 to 120.');
      assert.equal(await page.getByLabel('Months until points expire').getAttribute('aria-invalid'), 'true');
      await axeClean(page, 'points programme page with a refused field');

      // A campaign for the merchant, from now until 2099.
      await page.getByRole('link', { name: "Merchants' points campaigns" }).click();
      await page.waitForURL(/\/admin\/points\/campaigns$/);
      await page.getByRole('heading', { level: 1, name: 'Points campaigns' }).waitFor();
      await axeClean(page, 'campaigns page');
      await page.getByLabel('Merchant (funds the extra points)').selectOption(shop.merchant.client_id);
      await page.getByLabel('Multiplier, in percent').fill('200');
      await page.getByLabel('Ends (UTC)').fill('2099-01-01T00:00');
      await expectFormRedirect(page, /^\/admin\/points\/campaigns$/, () =>
        page.getByRole('button', { name: 'Add campaign' }).click());
      await page.locator('#campaign-notice').waitFor();
      assert.equal((await page.locator('#campaign-notice').innerText()).trim(), 'Campaign added.');
      const row = page.locator('#campaign-list tbody tr');
      assert.equal(await row.count(), 1);
      assert.equal(await row.getAttribute('data-state'), 'active');
      assert.match(await row.innerText(), /200 % \(2× points\)[\s\S]*2099-01-01 00:00 UTC[\s\S]*Active/);
      await axeClean(page, 'campaigns page with a campaign');
      await page.screenshot({ path: path.join(RESULTS_DIR, 'console-points-campaigns.png'), fullPage: true });

      // The same dates again overlap: refused with the reason, at 409.
      await page.getByLabel('Merchant (funds the extra points)').selectOption(shop.merchant.client_id);
      await page.getByLabel('Multiplier, in percent').fill('150');
      await page.getByLabel('Ends (UTC)').fill('2098-06-01T12:30');
      const overlap = page.waitForResponse((r) => new URL(r.url()).pathname === '/admin/points/campaigns' && r.request().method() === 'POST');
      await page.getByRole('button', { name: 'Add campaign' }).click();
      assert.equal((await overlap).status(), 409);
      const formError = page.locator('#campaign-form-error');
      await formError.waitFor();
      assert.equal(await formError.getAttribute('data-code'), 'campaign_overlaps');
      assert.equal(await page.getByLabel('Ends (UTC)').inputValue(), '2098-06-01T12:30', 'the typed end is kept');
      await axeClean(page, 'campaigns page with a refusal');

      // The console at phone width.
      await page.setViewportSize({ width: 390, height: 844 });
      for (const p of ['/admin/points', '/admin/points/campaigns']) {
        await page.goto(p);
        await noHorizontalOverflow(page, `${p} at 390px`);
        await axeClean(page, `${p} at 390×844`);
      }
      await page.screenshot({ path: path.join(RESULTS_DIR, 'console-points-campaigns-390x844.png'), fullPage: true });

      // End now, after a confirmation.
      page.once('dialog', (dialog) => dialog.accept());
      await expectFormRedirect(page, /\/end$/, () => page.getByRole('button', { name: /^End now/ }).click());
      await page.locator('#campaign-notice').waitFor();
      assert.equal((await page.locator('#campaign-notice').innerText()).trim(), 'Campaign ended.');
      assert.equal(await page.locator('#campaign-list tbody tr').getAttribute('data-state'), 'ended');
      assert.equal(await page.getByRole('button', { name: /^End now/ }).count(), 0, 'no End now for an ended campaign');

      assert.deepEqual(h.cspViolations, [], 'no CSP violation on the points pages');
      assert.deepEqual(h.pageErrors, [], 'no uncaught page error');
    });

    // The CLI agrees with the console.
    const shown = JSON.parse((await runSaifu(env.wallet, ['points', 'show', '--json'])).stdout);
    assert.equal(shown.version, 2);
    assert.equal(shown.value_jpy, '2');
    assert.equal(shown.expiry, 'rolling');
    assert.match(shown.created_by, /^admin:/);
    const campaigns = JSON.parse((await runSaifu(env.wallet, ['points', 'campaign', 'list', '--json'])).stdout);
    assert.equal(campaigns.length, 1);
    assert.equal(campaigns[0].state, 'ended');
    assert.equal(campaigns[0].client_id, shop.merchant.client_id);
  });
});
