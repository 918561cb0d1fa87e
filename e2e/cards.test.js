// The card vault in the browser: adding test cards through the plain HTML form, every decline
// shown next to the right field, invalid input, default and removal, return_to, phone layout.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  REPO_ROOT,
  RESULTS_DIR,
  TAP_TARGETS,
  expectFormRedirect,
  newShopper,
  noHorizontalOverflow,
  signUp,
  suiteEnv,
  tapTargetsBigEnough,
  withPage,
} from './helpers.js';

// The simulated processor's table, read as the wallet embeds it (never hand-copied here).
const TABLE = JSON.parse(readFileSync(path.join(REPO_ROOT, 'src', 'processor', 'test-cards.json'), 'utf8'));
const CARDS = TABLE.cards;
const INVALID = TABLE.invalid;

const BRAND_NAMES = {
  visa: 'Visa',
  mastercard: 'Mastercard',
  amex: 'American Express',
  jcb: 'JCB',
  diners: 'Diners Club',
  discover: 'Discover',
};

/** The approved test card of a brand. */
function approved(brand) {
  const card = CARDS.find((c) => c.brand === brand && c.outcome === 'approved' && !c.when);
  assert.ok(card, `test-cards.json has no approved ${brand} card`);
  return card;
}

const last4 = (card) => card.number.slice(-4);
const masked = (card) => `${BRAND_NAMES[card.brand]} •••• ${last4(card)}`;
const cvcFor = (card) => (card.brand === 'amex' ? '7391' : '739');
const spaced = (number) => number.replace(/(\d{4})(?=\d)/g, '$1 ');

// A future expiry (three years ahead) as MM/YY, and how /cards shows it.
const FUTURE_YY = String((new Date().getUTCFullYear() + 3) % 100).padStart(2, '0');
const FUTURE = `11/${FUTURE_YY}`;

/** Which field a refused card's message belongs to. */
function fieldFor(card) {
  if (card.outcome === 'error') return null; // form-level alert
  if (card.decline_code === 'incorrect_cvc') return 'cvc';
  if (card.decline_code === 'expired_card') return 'expiry';
  return 'number';
}

const FIELDS = ['number', 'expiry', 'cvc', 'holder'];
const PHONE = { viewport: { width: 390, height: 844 } };

/** Fill the add-card form through its labels. `type: true` types the number key by key. */
async function fillCard(page, { number, expiry = FUTURE, cvc, holder = 'AIKO TANAKA', type = false }) {
  const numberField = page.getByLabel('Card number');
  if (type) {
    await numberField.fill('');
    await numberField.pressSequentially(number);
  } else {
    await numberField.fill(number);
  }
  await page.getByLabel('Expiry (MM/YY)').fill(expiry);
  await page.getByLabel('Security code').fill(cvc);
  await page.getByLabel('Name on card').fill(holder);
}

// Statuses of the add-card form's error responses, per page. Chromium logs a console error
// ("Failed to load resource: the server responded with a status of 422 ...") for every document
// answered with 4xx/5xx, also a form re-rendered with its errors: those, and only those, are expected.
const formErrorStatuses = new WeakMap();

/** Submit the add-card form; returns the POST /cards response once the next page has loaded. */
async function submitCard(page) {
  const posted = page.waitForResponse((r) => new URL(r.url()).pathname === '/cards' && r.request().method() === 'POST');
  await page.getByRole('button', { name: 'Add card' }).click();
  const response = await posted;
  if (response.status() >= 400) {
    if (!formErrorStatuses.has(page)) formErrorStatuses.set(page, []);
    formErrorStatuses.get(page).push(response.status());
  }
  await page.waitForLoadState('load');
  return response;
}

/** Add an approved card through /cards/new and land back on /cards. */
async function addCard(page, card, options = {}) {
  await page.goto('/cards/new');
  await fillCard(page, { number: card.number, cvc: cvcFor(card), ...options });
  await expectFormRedirect(page, /^\/cards$/, () => page.getByRole('button', { name: 'Add card' }).click());
  await page.getByRole('heading', { level: 1, name: 'Cards' }).waitFor();
  await page.getByRole('heading', { level: 2, name: masked(card) }).waitFor();
}

/** The cards on /cards, in page order: { title, isDefault, text }. */
function listCards(page) {
  return page.evaluate(() =>
    [...document.querySelectorAll('ul.cards > li.card')].map((li) => {
      const h2 = li.querySelector('h2');
      const badge = h2.querySelector('.badge');
      const title = [...h2.childNodes]
        .filter((n) => n !== badge)
        .map((n) => n.textContent)
        .join('')
        .replace(/\s+/g, ' ')
        .trim();
      return { title, isDefault: Boolean(badge), text: li.innerText.replace(/\s+/g, ' ').trim() };
    }),
  );
}

/** The page's HTML (and the raw response body, if given) never contains the full number. */
async function assertNumberAbsent(page, number, label, response) {
  const html = await page.content();
  assert.ok(!html.includes(number), `${label}: the page HTML contains the full card number`);
  // The test-mode notice quotes 4242 4242 4242 4242 on purpose: look everywhere else.
  const rest = await page.evaluate(() => {
    const doc = document.documentElement.cloneNode(true);
    for (const n of doc.querySelectorAll('.notice')) n.remove();
    return doc.outerHTML;
  });
  assert.ok(!rest.includes(spaced(number)), `${label}: the page HTML contains the full card number (spaced)`);
  if (response && response.status() !== 303) {
    const body = await response.text();
    assert.ok(!body.includes(number), `${label}: the response body contains the full card number`);
  }
}

/** The form was sent with fetch and kept: the number is still in its field, typed as it was. */
async function assertNumberKept(page, number, label) {
  const kept = (await page.locator('#number').inputValue()).replace(/\D/g, '');
  assert.equal(kept, number, `${label}: the number the shopper typed stays in its field`);
}

/** On /cards: none of the cards' full numbers appear in the HTML. */
async function assertNoFullNumbers(page, cards, label) {
  const html = await page.content();
  for (const card of cards) {
    assert.ok(!html.includes(card.number), `${label}: /cards HTML contains ${masked(card)}'s full number`);
  }
}

/** The form shows exactly one field error, on `field`, with `code`; returns its text. */
async function assertFieldError(page, field, code, label) {
  const error = page.locator(`#${field}-error`);
  await error.filter({ hasText: /./ }).waitFor();
  assert.ok(await error.isVisible(), `${label}: #${field}-error is not visible`);
  const text = (await error.innerText()).trim();
  assert.ok(text.length > 0, `${label}: #${field}-error is empty`);
  assert.equal(await error.getAttribute('data-code'), code, `${label}: data-code on #${field}-error`);
  assert.equal(await error.getAttribute('role'), 'alert', `${label}: #${field}-error role`);
  const input = page.locator(`#${field}`);
  assert.equal(await input.getAttribute('aria-invalid'), 'true', `${label}: #${field} aria-invalid`);
  assert.ok(
    (await input.getAttribute('aria-describedby')).split(/\s+/).includes(`${field}-error`),
    `${label}: #${field} is not described by its error`,
  );
  for (const other of FIELDS.filter((f) => f !== field)) {
    assert.equal(await page.locator(`#${other}-error`).innerText(), '', `${label}: unexpected error on ${other}`);
    assert.equal(await page.locator(`#${other}`).getAttribute('aria-invalid'), null, `${label}: ${other} marked invalid`);
  }
  assert.equal((await page.locator('#form-error').innerText()).trim(), '', `${label}: unexpected form-level alert`);
  return text;
}

/** On the card pages, the button-styled links are tap targets too. */
const CARD_TAP_TARGETS = `${TAP_TARGETS}, main a.button`;

/**
 * No console errors (other than Chromium's own note about each error status the form answered
 * with, see formErrorStatuses), page errors or CSP violations so far.
 */
function assertCleanConsole(h, label) {
  const expected = [...(formErrorStatuses.get(h.page) ?? [])];
  const unexpected = h.consoleErrors.filter((e) => {
    const m = /^Failed to load resource: the server responded with a status of (\d+) /.exec(e.text);
    const i = m && ['/cards', '/cards/new'].includes(new URL(e.url).pathname) ? expected.indexOf(Number(m[1])) : -1;
    if (i < 0) return true;
    expected.splice(i, 1);
    return false;
  });
  assert.deepEqual(unexpected, [], `${label}: console errors`);
  assert.deepEqual(h.pageErrors, [], `${label}: uncaught page errors`);
  assert.deepEqual(h.cspViolations, [], `${label}: CSP violations`);
}

describe('card vault', () => {
  const env = suiteEnv({ before, after });

  before(async () => {
    await mkdir(RESULTS_DIR, { recursive: true });
  });

  it('adds Visa, Mastercard, American Express and JCB cards, shown masked, the first one default', async (t) => {
    await withPage(t, env, async (h) => {
      const { page } = h;
      await signUp(page, newShopper('cards'));
      await page.getByRole('link', { name: 'Cards', exact: true }).click();
      await page.getByRole('heading', { level: 1, name: 'Cards' }).waitFor();
      assert.match(await page.getByRole('note').innerText(), /^Test mode\./, 'the cards page says it is in test mode');
      assert.ok(await page.getByText('You have no cards yet.').isVisible());
      await page.getByRole('link', { name: 'Add a card' }).click();
      await page.getByRole('heading', { level: 1, name: 'Add a card' }).waitFor();
      assert.equal(new URL(page.url()).pathname, '/cards/new');

      const added = ['visa', 'mastercard', 'amex', 'jcb'].map(approved);
      const holders = {};
      for (const [i, card] of added.entries()) {
        holders[card.brand] = `AIKO TANAKA ${i + 1}`;
        // The Visa is typed key by key with spaces, as printed on the card.
        const number = card.brand === 'visa' ? spaced(card.number) : card.number;
        if (i > 0) await page.goto('/cards/new');
        await fillCard(page, { number, cvc: cvcFor(card), holder: holders[card.brand], type: card.brand === 'visa' });
        await expectFormRedirect(page, /^\/cards$/, () => page.getByRole('button', { name: 'Add card' }).click());
        await page.getByRole('heading', { level: 2, name: masked(card) }).waitFor();
        assert.equal(new URL(page.url()).pathname, '/cards', `${card.brand}: back on /cards`);
        await assertNoFullNumbers(page, added, card.brand);
      }

      const cards = await listCards(page);
      assert.deepEqual(cards.map((c) => c.title).sort(), added.map(masked).sort(), 'every card is listed, masked');
      assert.deepEqual(cards.filter((c) => c.isDefault).map((c) => c.title), [masked(added[0])], 'exactly one default: the first card');
      assert.equal(cards[0].title, masked(added[0]), 'the default card is listed first');
      assert.equal(await page.locator('.badge', { hasText: 'Default' }).count(), 1);
      for (const card of added) {
        const item = cards.find((c) => c.title === masked(card));
        assert.ok(item.text.includes(`Expires ${FUTURE}`), `${card.brand}: expiry shown: ${item.text}`);
        assert.ok(item.text.includes(holders[card.brand]), `${card.brand}: holder shown: ${item.text}`);
        assert.equal(
          await page.getByRole('button', { name: `Remove ${masked(card)}`, exact: true }).count(), 1,
          `${card.brand}: a remove button`,
        );
        assert.equal(
          await page.getByRole('button', { name: `Make ${masked(card)} the default`, exact: true }).count(),
          card === added[0] ? 0 : 1,
          `${card.brand}: a make-default button on non-default cards only`,
        );
      }
      assertCleanConsole(h, 'adding cards');
    });
  });

  it('refuses every declined test card with its code next to the right field, and shows processing errors on the form', async (t) => {
    await withPage(t, env, async (h) => {
      const { page } = h;
      await signUp(page, newShopper('declines'));
      await page.goto('/cards/new');

      const refused = CARDS.filter((c) => c.outcome !== 'approved' && !(c.when ?? '').startsWith('authorize only'));
      assert.ok(refused.length >= 8, `expected the table's declines and errors, got ${refused.length}`);
      const seen = [];
      for (const card of refused) {
        const label = `${card.number} (${card.decline_code})`;
        const holder = `DECLINE ${card.decline_code.toUpperCase()}`;
        // The re-rendered form is used for the next attempt, as a shopper would.
        await fillCard(page, { number: card.number, cvc: cvcFor(card), holder });
        const response = await submitCard(page);
        await page.getByRole('heading', { level: 1, name: 'Add a card' }).waitFor();
        const field = fieldFor(card);
        if (field) {
          assert.equal(response.status(), 422, `${label}: status`);
          const text = await assertFieldError(page, field, card.decline_code, label);
          seen.push([card.decline_code, field, text]);
        } else {
          assert.equal(response.status(), 502, `${label}: status`);
          const alert = page.locator('#form-error');
          await alert.filter({ hasText: /./ }).waitFor();
          assert.ok(await alert.isVisible(), `${label}: the form-level alert is not visible`);
          assert.equal(await alert.getAttribute('role'), 'alert');
          assert.match(await alert.innerText(), /try again/i, `${label}: the alert says to try again`);
          for (const f of FIELDS) {
            assert.equal(await page.locator(`#${f}-error`).innerText(), '', `${label}: unexpected error on ${f}`);
          }
          seen.push([card.decline_code, 'form', await alert.innerText()]);
        }
        await assertNumberAbsent(page, card.number, label, response);
        await assertNumberKept(page, card.number, label);
        assert.equal(await page.getByLabel('Expiry (MM/YY)').inputValue(), FUTURE, `${label}: expiry kept`);
        assert.equal(await page.getByLabel('Name on card').inputValue(), holder, `${label}: name kept`);
        assert.equal(await page.locator('input[name="return_to"]').inputValue(), '/cards', `${label}: return_to kept`);
      }
      t.diagnostic(`messages: ${JSON.stringify(seen)}`);
      // Each decline reads differently where the wallet knows why (not one generic message).
      const numberMessages = new Set(seen.filter(([, f]) => f === 'number').map(([, , m]) => m));
      assert.ok(numberMessages.size >= 5, `distinct messages for distinct declines: ${[...numberMessages].join(' | ')}`);

      // The card whose decline only applies to payments is added fine.
      const authorizeOnly = CARDS.find((c) => (c.when ?? '').startsWith('authorize only'));
      assert.ok(authorizeOnly, 'the table has an authorize-only decline');
      await fillCard(page, { number: authorizeOnly.number, cvc: cvcFor(authorizeOnly) });
      await expectFormRedirect(page, /^\/cards$/, () => page.getByRole('button', { name: 'Add card' }).click());
      await page.getByRole('heading', { level: 2, name: masked(authorizeOnly) }).waitFor();
      assert.deepEqual((await listCards(page)).map((c) => c.title), [masked(authorizeOnly)], 'no refused card was stored');
      assertCleanConsole(h, 'declines');
    });
  });

  it('rejects an invalid number and an expired date in the page, before anything is sent', async (t) => {
    await withPage(t, env, async (h) => {
      const { page } = h;
      await signUp(page, newShopper('invalid'));
      await page.goto('/cards/new');
      const visa = approved('visa');
      const posts = () => h.requests.filter((r) => r.method === 'POST' && new URL(r.url).pathname === '/cards').length;

      const luhn = INVALID.find((c) => /luhn/i.test(c.reason));
      assert.ok(luhn, 'test-cards.json lists a Luhn failure');
      await fillCard(page, { number: luhn.number, cvc: '739' });
      await page.getByRole('button', { name: 'Add card' }).click();
      const luhnText = await assertFieldError(page, 'number', 'invalid_card_number', 'Luhn failure');
      assert.match(luhnText, /not valid/i);
      assert.doesNotMatch(luhnText, /accepts/i, 'an invalid number is not called an unaccepted network');
      await assertNumberAbsent(page, luhn.number, 'Luhn failure');
      await assertNumberKept(page, luhn.number, 'Luhn failure');
      assert.equal(await page.getByLabel('Expiry (MM/YY)').inputValue(), FUTURE);

      const short = INVALID.find((c) => /short/i.test(c.reason));
      if (short) {
        await fillCard(page, { number: short.number, cvc: '739' });
        await page.getByRole('button', { name: 'Add card' }).click();
        await assertFieldError(page, 'number', 'invalid_card_number', 'too short');
      }

      await fillCard(page, { number: visa.number, cvc: '739', expiry: '01/20' });
      await page.getByRole('button', { name: 'Add card' }).click();
      const expiredText = await assertFieldError(page, 'expiry', 'card_expired', 'expired 01/20');
      assert.match(expiredText, /expired/i);
      assert.equal(await page.getByLabel('Expiry (MM/YY)').inputValue(), '01/20', 'the expiry typed is kept');
      await assertNumberKept(page, visa.number, 'expired');
      assert.equal(posts(), 0, 'nothing was sent to the wallet');

      // Editing the field clears its error (saifu.js), and nothing was stored.
      await page.getByLabel('Expiry (MM/YY)').fill(FUTURE);
      assert.equal(await page.locator('#expiry-error').innerText(), '');
      assert.equal(await page.getByLabel('Expiry (MM/YY)').getAttribute('aria-invalid'), null);
      await page.goto('/cards');
      assert.ok(await page.getByText('You have no cards yet.').isVisible(), 'no card was added');
      assertCleanConsole(h, 'invalid input');
    });
  });

  it('moves the default to another card and removes a card after confirmation', async (t) => {
    await withPage(t, env, async (h) => {
      const { page } = h;
      await signUp(page, newShopper('default'));
      const visa = approved('visa');
      const mc = approved('mastercard');
      await addCard(page, visa);
      await addCard(page, mc);
      const defaults = async () => (await listCards(page)).filter((c) => c.isDefault).map((c) => c.title);
      assert.deepEqual(await defaults(), [masked(visa)]);

      await expectFormRedirect(page, /^\/cards\/[^/]+\/default$/, () =>
        page.getByRole('button', { name: `Make ${masked(mc)} the default` }).click());
      await page.getByRole('button', { name: `Make ${masked(visa)} the default` }).waitFor();
      assert.equal(new URL(page.url()).pathname, '/cards');
      assert.deepEqual(await defaults(), [masked(mc)], 'the badge moved to the Mastercard');
      assert.equal((await listCards(page))[0].title, masked(mc), 'the default is listed first');
      assert.equal(await page.getByRole('button', { name: `Make ${masked(mc)} the default` }).count(), 0);

      // Cancelling the confirmation keeps the card (no request is sent).
      const dialogs = [];
      let answer = 'dismiss';
      page.on('dialog', (d) => {
        dialogs.push({ type: d.type(), message: d.message() });
        (answer === 'accept' ? d.accept() : d.dismiss()).catch(() => {});
      });
      const deletes = () => h.requests.filter((r) => r.method === 'POST' && /\/cards\/[^/]+\/delete$/.test(r.url)).length;
      await page.getByRole('button', { name: `Remove ${masked(mc)}` }).click();
      await page.waitForTimeout(200);
      assert.equal(deletes(), 0, 'dismissing the dialog sends nothing');
      assert.equal((await listCards(page)).length, 2, 'both cards are still there');

      // Accepting removes it: the default card goes, and the remaining card becomes the default.
      answer = 'accept';
      await expectFormRedirect(page, /^\/cards\/[^/]+\/delete$/, () =>
        page.getByRole('button', { name: `Remove ${masked(mc)}` }).click());
      await page.getByRole('button', { name: `Remove ${masked(mc)}` }).waitFor({ state: 'detached' });
      assert.equal(new URL(page.url()).pathname, '/cards');
      const left = await listCards(page);
      assert.deepEqual(left.map((c) => c.title), [masked(visa)], 'the Mastercard disappeared');
      assert.deepEqual(await defaults(), [masked(visa)], 'the remaining card became the default');
      assert.deepEqual(dialogs, [
        { type: 'confirm', message: `Remove ${masked(mc)} from your wallet?` },
        { type: 'confirm', message: `Remove ${masked(mc)} from your wallet?` },
      ]);
      assert.equal(await page.getByText(mc.number.slice(-4)).count(), 0, 'no trace of the removed card');
      assertCleanConsole(h, 'default and removal');
    });
  });

  it('returns to return_to after adding a card, also after an error, and never leaves the wallet', async (t) => {
    await withPage(t, env, async (h) => {
      const { page } = h;
      await signUp(page, newShopper('return'));
      await page.goto('/cards/new?return_to=/passkeys');
      assert.equal(await page.locator('input[name="return_to"]').inputValue(), '/passkeys');
      assert.equal(await page.getByRole('link', { name: 'Cancel' }).getAttribute('href'), '/passkeys');

      // A decline first: the re-rendered form still returns to /passkeys.
      const generic = CARDS.find((c) => c.decline_code === 'generic_decline' && !c.when);
      await fillCard(page, { number: generic.number, cvc: '739' });
      const response = await submitCard(page);
      assert.equal(response.status(), 422);
      await assertFieldError(page, 'number', 'generic_decline', 'generic decline');
      assert.equal(await page.locator('input[name="return_to"]').inputValue(), '/passkeys', 'return_to survives the error');

      const visa = approved('visa');
      await fillCard(page, { number: visa.number, cvc: '739' });
      await expectFormRedirect(page, /^\/cards$/, () => page.getByRole('button', { name: 'Add card' }).click());
      await page.getByRole('heading', { level: 1, name: 'Passkeys' }).waitFor();
      assert.equal(new URL(page.url()).pathname, '/passkeys', 'adding the card lands on return_to');
      await page.goto('/cards');
      assert.deepEqual((await listCards(page)).map((c) => c.title), [masked(visa)]);

      // Another origin is not a place to return to.
      await page.goto(`/cards/new?return_to=${encodeURIComponent('https://evil.example/steal')}`);
      const fallback = await page.locator('input[name="return_to"]').inputValue();
      assert.match(fallback, /^\/(?!\/)/, `an off-site return_to becomes a wallet path: ${fallback}`);
      const mc = approved('mastercard');
      await fillCard(page, { number: mc.number, cvc: '739' });
      await expectFormRedirect(page, /^\/cards$/, () => page.getByRole('button', { name: 'Add card' }).click());
      await page.waitForLoadState('load');
      assert.equal(new URL(page.url()).origin, env.wallet.baseURL, `stayed on the wallet: ${page.url()}`);
      assertCleanConsole(h, 'return_to');
    });
  });

  it('is clean (no console errors or CSP violations) and readable on a phone', async (t) => {
    await withPage(t, env, async (h) => {
      const { page } = h;
      await signUp(page, newShopper('phonecards'));

      for (const p of ['/cards', '/cards/new']) {
        const response = await page.goto(p);
        assert.equal(response.status(), 200, `${p}: status`);
        await page.waitForLoadState('networkidle');
        await noHorizontalOverflow(page, p);
        await tapTargetsBigEnough(page, p, CARD_TAP_TARGETS);
      }

      // The form with an error under the card number (and the "you typed" hint).
      const lost = CARDS.find((c) => c.decline_code === 'lost_card');
      await fillCard(page, { number: lost.number, cvc: '739', holder: 'AIKO TANAKA' });
      await submitCard(page);
      await assertFieldError(page, 'number', 'lost_card', 'lost card on a phone');
      await page.waitForLoadState('networkidle');
      await noHorizontalOverflow(page, '/cards/new with an error');
      await tapTargetsBigEnough(page, '/cards/new with an error', CARD_TAP_TARGETS);
      const errorBox = await page.locator('#number-error').boundingBox();
      assert.ok(errorBox.x >= 0 && errorBox.x + errorBox.width <= 390, 'the error fits the screen width');
      const formShot = path.join(RESULTS_DIR, 'card-new-error-390x844.png');
      await page.screenshot({ path: formShot, fullPage: true });
      t.diagnostic(`screenshot: ${formShot}`);

      // A few cards, including the longest brand name.
      for (const brand of ['visa', 'amex', 'mastercard']) {
        await addCard(page, approved(brand), { holder: 'AIKO TANAKA-WATANABE' });
      }
      await page.waitForLoadState('networkidle');
      await noHorizontalOverflow(page, '/cards with cards');
      await tapTargetsBigEnough(page, '/cards with cards', CARD_TAP_TARGETS);
      const listShot = path.join(RESULTS_DIR, 'cards-390x844.png');
      await page.screenshot({ path: listShot, fullPage: true });
      t.diagnostic(`screenshot: ${listShot}`);

      assertCleanConsole(h, '/cards and /cards/new');
    }, PHONE);
  });
});
