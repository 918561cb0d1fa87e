// Every page carries a strict Content-Security-Policy and runs without console errors or CSP
// violations.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { newShopper, signUp, suiteEnv, withPage } from './helpers.js';

function checkHeaders(path, headers) {
  const csp = headers['content-security-policy'];
  assert.ok(csp, `${path}: Content-Security-Policy header missing`);
  assert.match(csp, /(^|;)\s*frame-ancestors 'none'\s*(;|$)/, `${path}: CSP lacks frame-ancestors 'none': ${csp}`);
  assert.ok(!csp.includes('unsafe-inline'), `${path}: CSP allows unsafe-inline: ${csp}`);
  assert.ok(!csp.includes('unsafe-eval'), `${path}: CSP allows unsafe-eval: ${csp}`);
  assert.match(csp, /(^|;)\s*script-src 'self'\s*(;|$)/, `${path}: script-src should be 'self' only: ${csp}`);
  assert.equal(headers['referrer-policy'], 'no-referrer', `${path}: Referrer-Policy`);
  assert.equal(headers['x-content-type-options'], 'nosniff', `${path}: X-Content-Type-Options`);
}

async function visit(h, path, { expectPath = path } = {}) {
  const { page } = h;
  const errorsBefore = h.consoleErrors.length;
  const pageErrorsBefore = h.pageErrors.length;
  const cspBefore = h.cspViolations.length;
  const response = await page.goto(path, { waitUntil: 'load' });
  assert.ok(response, `${path}: no response`);
  assert.equal(response.status(), 200, `${path}: status`);
  assert.equal(new URL(page.url()).pathname, expectPath, `${path}: ended on ${page.url()}`);
  checkHeaders(path, await response.allHeaders());
  // Let the page's module run (on /signin it starts the autofill request).
  await page.waitForLoadState('networkidle');
  assert.deepEqual(h.consoleErrors.slice(errorsBefore), [], `${path}: console errors`);
  assert.deepEqual(h.pageErrors.slice(pageErrorsBefore), [], `${path}: uncaught page errors`);
  assert.deepEqual(h.cspViolations.slice(cspBefore), [], `${path}: CSP violations`);
  // The page's script ran without complaint (e.g. "This browser does not support passkeys.").
  const alert = await page.evaluate(() => document.querySelector('[data-ceremony] .form-error')?.textContent ?? '');
  assert.equal(alert, '', `${path}: the page shows an error on load`);
}

describe('security headers and clean pages', () => {
  const env = suiteEnv({ before, after });

  it('serves every page with a strict CSP and no console errors or CSP violations', async (t) => {
    await withPage(t, env, async (h) => {
      // No simulated touch: /signin's autofill request stays pending, as in a real browser where
      // the shopper has not picked a passkey (an empty virtual authenticator would reject it).
      await h.cdp.send('WebAuthn.setAutomaticPresenceSimulation', { authenticatorId: h.authenticatorId, enabled: false });
      for (const path of ['/', '/signup', '/signin']) await visit(h, path);
      // /passkeys needs a session: signed out it redirects to sign in.
      await visit(h, '/passkeys', { expectPath: '/signin' });

      await h.cdp.send('WebAuthn.setAutomaticPresenceSimulation', { authenticatorId: h.authenticatorId, enabled: true });
      await signUp(h.page, newShopper('csp'));
      for (const path of ['/', '/passkeys']) await visit(h, path);
      // Nothing on any page along the way either (sign-up, the dashboard it lands on).
      assert.deepEqual(h.consoleErrors, []);
      assert.deepEqual(h.pageErrors, []);
      assert.deepEqual(h.cspViolations, []);
    });
  });

  it('sends the same headers on error pages and static assets', async (t) => {
    await withPage(t, env, async (h) => {
      const missing = await h.page.goto('/no-such-page');
      assert.equal(missing.status(), 404);
      checkHeaders('/no-such-page', await missing.allHeaders());
      const css = await h.page.locator('link[rel="stylesheet"]').getAttribute('href');
      const js = await h.page.locator('script[type="module"]').getAttribute('src');
      for (const asset of [css, js]) {
        const r = await h.page.request.get(asset);
        assert.equal(r.status(), 200, asset);
        checkHeaders(asset, r.headers());
      }
    });
  });

  it('would notice a CSP violation (the detector works)', async (t) => {
    await withPage(t, env, async (h) => {
      const { page } = h;
      await page.goto('/signup');
      await page.waitForLoadState('networkidle');
      assert.deepEqual(h.cspViolations, []);
      // An inline script, as an XSS would inject it: the CSP must block it, and we must see it.
      await page.evaluate(() => {
        const s = document.createElement('script');
        s.textContent = 'window.__inlineRan = true;';
        document.body.append(s);
      });
      const deadline = Date.now() + 5_000;
      while (h.cspViolations.length === 0 && Date.now() < deadline) await page.waitForTimeout(25);
      assert.equal(await page.evaluate(() => window.__inlineRan ?? false), false, 'the inline script must not run');
      assert.equal(h.cspViolations.length, 1, 'the violation was reported');
      assert.match(h.cspViolations[0].directive, /^script-src/);
      assert.equal(h.cspViolations[0].blocked, 'inline');
      assert.ok(
        h.consoleErrors.some((e) => /Content Security Policy/i.test(e.text)),
        `Chromium should log the violation: ${JSON.stringify(h.consoleErrors)}`,
      );
    });
  });
});
