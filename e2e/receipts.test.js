// The receipt check page, signed out, on a phone and on a desktop: axe-clean before and after a
// check, the field error next to the field, a chosen file read into the box, and the content
// shown with a verdict that does not vouch for it.
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { RESULTS_DIR, axeClean, noHorizontalOverflow, suiteEnv, tapTargetsBigEnough, withPage } from './helpers.js';

const b64 = (json) => Buffer.from(JSON.stringify(json)).toString('base64url');

/** A receipt-shaped JWS under a key no wallet publishes. */
function strangerReceipt() {
  const header = { alg: 'ES256', typ: 'saifu-receipt+jwt', kid: 'not-a-wallet-key' };
  const claims = {
    iss: 'http://localhost/', iat: 1764000000, receipt_version: 1,
    payment_reference: 'consent-123', grant_id: '0b7c5b52-0000-4000-8000-000000000000',
    merchant: { client_id: 'mch_x', name: 'Frame Shop', domain: 'frame-shop.example', status: 'verified' },
    order_reference: 'A-1001', amount: { currency: 'JPY', amount: '12800' },
    line_items: [{ name: 'Frames', quantity: 1, unit_amount: '12800' }],
    points_used: 0, points_earned_estimate: 128, card: { brand: 'Visa', last4: '4242' },
    confirmation_sha256: Buffer.alloc(32, 7).toString('base64url'),
  };
  return `${b64(header)}.${b64(claims)}.${Buffer.alloc(64, 1).toString('base64url')}`;
}

for (const [label, viewport] of [['phone', { width: 390, height: 844 }], ['desktop', { width: 1280, height: 900 }]]) {
  describe(`receipt check page (${label})`, () => {
    const env = suiteEnv({ before, after });

    it('checks a pasted or chosen receipt and shows a clear verdict', async (t) => {
      await withPage(t, env, async (h) => {
        const { page } = h;
        await page.goto('/receipts/verify');
        await page.getByRole('heading', { name: 'Check a receipt' }).waitFor();
        await axeClean(page, `/receipts/verify (${label})`);
        await noHorizontalOverflow(page, `/receipts/verify (${label})`);
        await tapTargetsBigEnough(page, `/receipts/verify (${label})`, 'main button');

        // Nothing pasted: the error sits next to the field.
        await page.getByRole('button', { name: 'Check the receipt' }).click();
        await page.waitForURL('**/receipts/verify');
        const box = page.getByLabel('Receipt', { exact: true });
        assert.equal(await box.getAttribute('aria-invalid'), 'true');
        assert.match(await page.locator('#receipt-error').textContent(), /Paste a receipt/);
        await axeClean(page, `empty receipt (${label})`);

        // A chosen file goes into the box; a key the wallet does not publish is not vouched for.
        await mkdir(RESULTS_DIR, { recursive: true });
        const file = path.join(RESULTS_DIR, `stranger-${label}.jws`);
        const jws = strangerReceipt();
        await writeFile(file, `${jws}\n`);
        await page.getByLabel('Receipt file (optional)').setInputFiles(file);
        await page.waitForFunction((expected) => document.getElementById('receipt').value === expected, jws);
        await page.getByRole('button', { name: 'Check the receipt' }).click();
        await page.locator('#verdict').waitFor();
        assert.equal(await page.locator('#verdict').getAttribute('data-verdict'), 'unknown_key');
        await page.getByRole('heading', { name: 'What it claims (not confirmed)' }).waitFor();
        assert.match(await page.locator('main').textContent(), /Frame Shop/);
        await axeClean(page, `unknown key (${label})`);
        await noHorizontalOverflow(page, `unknown key (${label})`);

        // Not a receipt at all.
        await box.fill('hello');
        await page.getByRole('button', { name: 'Check the receipt' }).click();
        await page.locator('#verdict[data-verdict="not_a_receipt"]').waitFor();
        await axeClean(page, `not a receipt (${label})`);
        await page.screenshot({ path: path.join(RESULTS_DIR, `receipt-verify-${label}.png`), fullPage: true });
      }, { viewport });
    });
  });
}
