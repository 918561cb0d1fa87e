// Passkey autofill (WebAuthn conditional mediation) on /signin.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { newShopper, signOut, signUp, suiteEnv, withPage } from './helpers.js';

describe('passkey autofill', () => {
  const env = suiteEnv({ before, after });

  it('signs in from the Email field through conditional mediation, without the button', async (t) => {
    await withPage(t, env, async (h) => {
      const { page } = h;
      const shopper = newShopper('autofill');
      await signUp(page, shopper);
      await signOut(page);

      const available = await page.evaluate(() => PublicKeyCredential.isConditionalMediationAvailable());
      assert.equal(available, true, 'Chromium should offer conditional mediation');

      // Chromium's virtual authenticator (automatic presence simulation) answers a conditional
      // request by itself, as if the shopper had picked the suggestion, and that can happen
      // before the test gets to the field. So hold the page's challenge request until the
      // Email field has focus, which is where a person would see the passkey suggestion.
      let release;
      const gate = new Promise((r) => { release = r; });
      let held;
      const heldSeen = new Promise((r) => { held = r; });
      await page.route('**/signin/begin', async (route) => {
        held();
        await gate;
        await route.continue();
      });

      const callsBefore = h.webauthnCalls.length;
      const requestsBefore = h.requests.length;
      await page.goto('/signin');
      await heldSeen; // the page asked for a sign-in challenge on load, without any click
      const email = page.getByLabel('Email', { exact: true });
      assert.equal(await email.getAttribute('autocomplete'), 'username webauthn');
      await email.focus();
      assert.ok(await email.evaluate((el) => el === document.activeElement));
      assert.equal(new URL(page.url()).pathname, '/signin');
      const began = page.waitForResponse((r) => r.url().endsWith('/signin/begin'));
      release();
      assert.equal((await began).status(), 200);

      await page.getByRole('heading', { level: 1, name: `Welcome, ${shopper.displayName}` }).waitFor();
      assert.equal(new URL(page.url()).pathname, '/');

      const calls = h.webauthnCalls.slice(callsBefore).filter((c) => c.method === 'get');
      assert.deepEqual(
        calls.map((c) => [c.mediation, c.state]),
        [['conditional', 'called'], ['conditional', 'resolved']],
        'exactly one request, a conditional one, and it resolved',
      );
      const posts = h.requests.slice(requestsBefore).filter((r) => r.method === 'POST').map((r) => new URL(r.url).pathname);
      assert.deepEqual(posts, ['/signin/begin', '/signin/finish'], 'no button-started ceremony');
      assert.equal((await h.credentials())[0].signCount, 2);
      assert.deepEqual(h.pageErrors, []);
      assert.deepEqual(h.consoleErrors, []);
    });
  });

  it('keeps the autofill request pending until the shopper picks a passkey', async (t) => {
    await withPage(t, env, async (h) => {
      const { page } = h;
      await signUp(page, newShopper('pending'));
      await signOut(page);
      // No simulated touch: the request must wait, and the page must not show an error meanwhile.
      await h.cdp.send('WebAuthn.setAutomaticPresenceSimulation', { authenticatorId: h.authenticatorId, enabled: false });
      const callsBefore = h.webauthnCalls.length;
      await page.goto('/signin');
      await page.getByLabel('Email', { exact: true }).focus();
      await page.waitForTimeout(750);
      assert.equal(new URL(page.url()).pathname, '/signin');
      const gets = h.webauthnCalls.slice(callsBefore).filter((c) => c.method === 'get');
      assert.deepEqual(gets.map((c) => [c.mediation, c.state]), [['conditional', 'called']], 'one pending conditional request');
      assert.equal(await page.locator('#form-error').innerText(), '');
      assert.ok(await page.getByRole('button', { name: 'Sign in with a passkey' }).isEnabled());
      assert.deepEqual(h.pageErrors, []);
    });
  });
});
