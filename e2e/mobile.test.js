// Phone-sized screenshots, saved to e2e/test-results/ for a person to look at.
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  RESULTS_DIR,
  newShopper,
  noHorizontalOverflow,
  signUp,
  submitSignUp,
  suiteEnv,
  tapTargetsBigEnough,
  withPage,
} from './helpers.js';

const PHONE = { viewport: { width: 390, height: 844 } };

describe('phone-sized pages', () => {
  const env = suiteEnv({ before, after });

  before(async () => {
    await mkdir(RESULTS_DIR, { recursive: true });
  });

  it('renders /signup readably at 390x844 and saves a screenshot', async (t) => {
    await withPage(t, env, async (h) => {
      const { page } = h;
      await page.goto('/signup');
      await page.getByRole('button', { name: 'Create passkey' }).waitFor();
      await noHorizontalOverflow(page, '/signup');
      await tapTargetsBigEnough(page, '/signup');
      const file = path.join(RESULTS_DIR, 'signup-390x844.png');
      await page.screenshot({ path: file, fullPage: true });
      const box = await page.getByRole('button', { name: 'Create passkey' }).boundingBox();
      assert.ok(box.x >= 0 && box.x + box.width <= 390, 'the button fits the screen width');
      t.diagnostic(`screenshot: ${file}`);
    }, PHONE);
  });

  it('shows a field error readably on a phone and saves a screenshot', async (t) => {
    const shopper = newShopper('phone');
    await withPage(t, env, async (h) => signUp(h.page, shopper), PHONE);
    await withPage(t, env, async (h) => {
      const { page } = h;
      await submitSignUp(page, { displayName: 'Someone Else', email: shopper.email });
      await page.locator('#email-error').filter({ hasText: /./ }).waitFor();
      await noHorizontalOverflow(page, '/signup with error');
      const file = path.join(RESULTS_DIR, 'signup-error-390x844.png');
      await page.screenshot({ path: file, fullPage: true });
      t.diagnostic(`screenshot: ${file}`);
    }, PHONE);
  });

  it('renders /passkeys on a phone without horizontal scrolling', async (t) => {
    await withPage(t, env, async (h) => {
      const { page } = h;
      await signUp(page, newShopper('phonekeys'));
      await page.goto('/passkeys');
      await page.getByRole('heading', { level: 1, name: 'Passkeys' }).waitFor();
      const file = path.join(RESULTS_DIR, 'passkeys-390x844.png');
      await page.screenshot({ path: file, fullPage: true });
      t.diagnostic(`screenshot: ${file}`);
      await noHorizontalOverflow(page, '/passkeys');
      await tapTargetsBigEnough(page, '/passkeys');
    }, PHONE);
  });
});
