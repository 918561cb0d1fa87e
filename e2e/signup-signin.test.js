// Sign-up, sign-out and sign-in with the "Sign in with a passkey" button; duplicate email.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { newShopper, signOut, signUp, submitSignUp, suiteEnv, withPage } from './helpers.js';

async function waitFor(predicate, what, timeoutMs = 5_000) {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('sign-up and sign-in', () => {
  const env = suiteEnv({ before, after });

  it('signs up with a passkey, signs out, and signs back in with the button', async (t) => {
    await withPage(t, env, async (h) => {
      const { page } = h;
      const shopper = newShopper('signup');

      await signUp(page, shopper);
      assert.equal(new URL(page.url()).pathname, '/', 'sign-up should land on the dashboard');
      await page.getByText(`Signed in as ${shopper.email}.`).waitFor();
      assert.ok(await page.getByText('1 passkey', { exact: true }).isVisible(), 'dashboard should count one passkey');
      assert.ok(
        await page.getByRole('heading', { name: 'Add a second passkey' }).isVisible(),
        'with one passkey the dashboard suggests a second one',
      );

      const creds = await h.credentials();
      assert.equal(creds.length, 1, 'the authenticator should hold exactly one credential');
      assert.equal(creds[0].isResidentCredential, true, 'the credential should be discoverable (resident)');
      assert.equal(creds[0].rpId, 'localhost');
      assert.equal(creds[0].userName, shopper.email);
      assert.equal(creds[0].userDisplayName, shopper.displayName);
      const created = h.webauthnCalls.filter((c) => c.method === 'create' && c.state === 'resolved');
      assert.equal(created.length, 1);
      assert.equal(created[0].id, creds[0].credentialId.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, ''));

      await signOut(page);
      assert.equal(new URL(page.url()).pathname, '/');
      assert.ok(await page.getByRole('link', { name: 'Sign in' }).first().isVisible(), 'signed-out header offers Sign in');
      assert.equal(await page.getByRole('button', { name: 'Sign out' }).count(), 0, 'no Sign out button once signed out');
      // From here on, keep the passkey-autofill request that /signin starts on load pending (no
      // simulated touch), so that the sign-in below is the button's doing.
      await h.cdp.send('WebAuthn.setAutomaticPresenceSimulation', { authenticatorId: h.authenticatorId, enabled: false });
      // The signed-out session really is gone: a protected page sends us to sign in, and back.
      const began = page.waitForResponse((r) => r.url().endsWith('/signin/begin') && r.request().method() === 'POST');
      const callsBefore = h.webauthnCalls.length;
      await page.goto('/passkeys');
      assert.equal(new URL(page.url()).pathname, '/signin', 'a signed-out shopper is sent to /signin');
      assert.equal(new URL(page.url()).searchParams.get('next'), '/passkeys');
      assert.equal((await began).status(), 200);
      await waitFor(() => h.webauthnCalls.slice(callsBefore).some((c) => c.mediation === 'conditional'), 'autofill request');

      // The shopper presses the button and touches the authenticator.
      await h.cdp.send('WebAuthn.setAutomaticPresenceSimulation', { authenticatorId: h.authenticatorId, enabled: true });
      assert.equal(new URL(page.url()).pathname, '/signin', 'still signed out before the button is pressed');
      await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
      await page.getByRole('heading', { level: 1, name: 'Passkeys' }).waitFor();
      assert.equal(new URL(page.url()).pathname, '/passkeys', 'sign-in returns to the page that asked for it');
      const lastUsed = await page.locator('tbody tr td[data-label="Last used"]').allInnerTexts();
      assert.equal(lastUsed.length, 1);
      assert.match(lastUsed[0], /^\d{4}-\d{2}-\d{2} \d{2}:\d{2} [A-Z]{3,4}$/, `the passkey shows when it was last used: ${lastUsed[0]}`);
      await page.getByRole('link', { name: 'Home' }).click();
      await page.getByRole('heading', { level: 1, name: `Welcome, ${shopper.displayName}` }).waitFor();

      const after = h.webauthnCalls.slice(callsBefore).filter((c) => c.method === 'get');
      assert.deepEqual(
        after.map((c) => [c.mediation, c.state, c.error ?? null]),
        [
          ['conditional', 'called', null],
          ['conditional', 'rejected', 'AbortError'],
          ['optional', 'called', null],
          ['optional', 'resolved', null],
        ],
        'the button aborts the pending autofill request and its own (modal) request resolves',
      );
      assert.equal((await h.credentials())[0].signCount, 2, 'the passkey was used once more to sign in');
      assert.deepEqual(h.pageErrors, []);
    });
  });

  it('refuses a second account with the same email, next to the Email field', async (t) => {
    const shopper = newShopper('dup');
    await withPage(t, env, async (h) => {
      await signUp(h.page, shopper);
    });
    // Another browser (fresh context and authenticator) tries the same address, differently cased.
    await withPage(t, env, async (h) => {
      const { page } = h;
      await submitSignUp(page, { displayName: 'Someone Else', email: shopper.email.toUpperCase() });
      const emailError = page.locator('#email-error');
      await emailError.filter({ hasText: /./ }).waitFor();
      assert.equal(await emailError.innerText(), 'An account with this email address already exists.');
      const email = page.getByLabel('Email', { exact: true });
      assert.equal(await email.getAttribute('aria-invalid'), 'true');
      assert.ok((await email.getAttribute('aria-describedby')).split(' ').includes('email-error'));
      assert.ok(await email.evaluate((el) => el === document.activeElement), 'focus moves to the Email field');
      assert.equal(await page.locator('#form-error').innerText(), '', 'the error is on the field, not in the form alert');
      assert.equal(new URL(page.url()).pathname, '/signup');
      assert.equal((await h.credentials()).length, 0, 'no passkey was created for the refused sign-up');
      assert.ok(await page.getByRole('button', { name: 'Create passkey' }).isEnabled(), 'the form is usable again');

      // Editing the field clears the error.
      await email.fill('another.address@example.com');
      assert.equal(await emailError.innerText(), '');
      assert.equal(await email.getAttribute('aria-invalid'), null);
    });
  });

  it('explains when this device already holds a passkey for the account', async (t) => {
    await withPage(t, env, async (h) => {
      const { page } = h;
      await signUp(page, newShopper('exclude'));
      await page.goto('/passkeys');
      await page.getByRole('button', { name: 'Add a passkey' }).click();
      const alert = page.locator('#form-error');
      await alert.filter({ hasText: /./ }).waitFor();
      assert.equal(
        await alert.innerText(),
        'This device already holds a passkey for this account. Try another device or security key.',
      );
      assert.equal((await h.credentials()).length, 1, 'excludeCredentials kept a second credential off this device');
      assert.equal(await page.locator('tbody tr').count(), 1);
    });
  });
});
