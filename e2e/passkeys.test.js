// The passkeys page: add a second passkey, rename, remove, and the last one can't be removed.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { expectFormRedirect, newShopper, signUp, suiteEnv, withPage } from './helpers.js';

describe('passkeys page', () => {
  const env = suiteEnv({ before, after });

  it('adds, renames and removes passkeys, and keeps the last one', async (t) => {
    await withPage(t, env, async (h) => {
      const { page } = h;
      const names = () => page.locator('tbody tr th[scope="row"]').allInnerTexts();
      const row = (name) => page.locator('tbody tr').filter({ has: page.getByRole('rowheader', { name, exact: true }) });

      await signUp(page, newShopper('keys'));
      await page.getByRole('link', { name: 'Passkeys', exact: true }).first().click();
      await page.getByRole('heading', { level: 1, name: 'Passkeys' }).waitFor();
      assert.deepEqual(await names(), ['Passkey 1']);
      assert.ok(await page.getByRole('heading', { name: 'Add a second passkey' }).isVisible(), 'one passkey: suggest a second');
      const onlyRemove = page.getByRole('button', { name: 'Remove passkey “Passkey 1”' });
      assert.equal(await onlyRemove.isDisabled(), true, 'the only passkey cannot be removed');

      // --- Add a second passkey on a security key. The laptop's (internal) authenticator is left
      // untouched, so the security key answers; excludeCredentials keeps the laptop from
      // registering twice anyway.
      const laptop = h.authenticatorId;
      const key = await h.addAuthenticator({ transport: 'usb' });
      await h.cdp.send('WebAuthn.setAutomaticPresenceSimulation', { authenticatorId: laptop, enabled: false });
      await page.getByLabel('Passkey name').fill('Blue security key');
      await page.getByRole('button', { name: 'Add a passkey' }).click();
      await row('Blue security key').waitFor();
      await h.cdp.send('WebAuthn.setAutomaticPresenceSimulation', { authenticatorId: laptop, enabled: true });
      assert.equal(new URL(page.url()).pathname, '/passkeys');
      assert.deepEqual((await names()).sort(), ['Blue security key', 'Passkey 1']);
      assert.equal((await h.credentials(key)).length, 1, 'the security key now holds a credential');
      assert.equal((await h.credentials(laptop)).length, 1, 'the laptop still holds exactly one');
      assert.equal(await page.getByRole('heading', { name: 'Add a second passkey' }).count(), 0, 'no more suggestion');
      for (const n of ['Passkey 1', 'Blue security key']) {
        assert.equal(await page.getByRole('button', { name: `Remove passkey “${n}”` }).isEnabled(), true, `${n} removable`);
      }

      // --- Rename the first passkey.
      await page.getByLabel('New name for Passkey 1').fill('Work laptop');
      await expectFormRedirect(page, /^\/passkeys\/[^/]+\/rename$/, () =>
        row('Passkey 1').getByRole('button', { name: 'Rename' }).click());
      await row('Work laptop').waitFor();
      assert.equal(new URL(page.url()).pathname, '/passkeys');
      assert.deepEqual((await names()).sort(), ['Blue security key', 'Work laptop']);
      assert.equal(await page.getByLabel('New name for Work laptop').inputValue(), 'Work laptop');

      // --- Remove the security key's passkey (after the confirmation dialog).
      const dialogs = [];
      page.on('dialog', (d) => {
        dialogs.push({ type: d.type(), message: d.message() });
        d.accept().catch(() => {});
      });
      await expectFormRedirect(page, /^\/passkeys\/[^/]+\/delete$/, () =>
        page.getByRole('button', { name: 'Remove passkey “Blue security key”' }).click());
      await page.getByRole('button', { name: 'Remove passkey “Work laptop”', disabled: true }).waitFor();
      assert.deepEqual(dialogs, [{
        type: 'confirm',
        message: 'Remove passkey “Blue security key”? You will no longer be able to sign in with it.',
      }]);
      assert.deepEqual(await names(), ['Work laptop'], 'the list shrinks to one');

      // --- The last passkey can't be removed: the button is disabled and explained ...
      const last = page.getByRole('button', { name: 'Remove passkey “Work laptop”' });
      assert.equal(await last.isDisabled(), true);
      assert.equal(await last.getAttribute('aria-describedby'), 'last-passkey-note');
      assert.equal(
        await page.locator('#last-passkey-note').innerText(),
        'Your last passkey can\'t be removed: add another one first.',
      );
      assert.ok(await page.getByRole('heading', { name: 'Add a second passkey' }).isVisible());

      // ... and the server refuses it even if the button is forced.
      await last.evaluate((b) => b.removeAttribute('disabled'));
      const refused = page.waitForResponse((r) => /\/passkeys\/[^/]+\/delete$/.test(r.url()));
      await last.click();
      const response = await refused;
      assert.equal(response.status(), 409);
      await page.getByRole('heading', { level: 1 }).waitFor();
      assert.match(
        await page.locator('main').innerText(),
        /This is your only passkey, so it can't be removed: you would be locked out\. Add another passkey first\./,
      );
      assert.match(await page.locator('main').innerText(), /last_passkey/);
      await page.goto('/passkeys');
      assert.deepEqual(await names(), ['Work laptop'], 'the last passkey is still there');
      assert.equal(dialogs.length, 2, 'removing asks for confirmation each time');
      assert.deepEqual(h.pageErrors, []);
    });
  });
});
