// The wallet's own pages at desktop and phone size, in English and Japanese: the card form
// (formatting and network as you type, checks before sending that name the field and the cause
// in the page's language, errors next to their field, the number kept when another field is
// refused), the home (first-card prompt, points, cards),
// the navigation in one row on a phone, the time zone chooser, and on every wallet page an
// axe-core audit with no violations and no horizontal scrolling.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  axeClean,
  expectFormRedirect,
  newShopper,
  noHorizontalOverflow,
  signUp,
  suiteEnv,
  withPage,
} from './helpers.js';

const DESKTOP = { viewport: { width: 1280, height: 900 } };
const PHONE = { viewport: { width: 390, height: 844 } };
const FUTURE = `12/${String((new Date().getFullYear() + 3) % 100).padStart(2, '0')}`;

// Words the test looks for, per language (the page's own texts, from web/i18n).
const WORDS = {
  en: {
    addCard: 'Add card', newCard: 'Add a card', cardNumber: 'Card number', expiry: 'Expiry (MM/YY)', cvc: 'Security code',
    holder: 'Name on card', cards: 'Cards', firstCard: 'Add your first card', luhn: 'This card number is not valid.',
    expired: 'This card has expired.', incorrectCvc: 'The security code is incorrect.', zone: 'Show times in',
    saveZone: 'Save time zone', points: 'Points', recent: 'Recent activity',
    amexLength: 'American Express card numbers do not have this many digits.', badMonth: 'The expiry month must be between 01 and 12.',
  },
  ja: {
    addCard: 'カードを追加', newCard: 'カードを追加', cardNumber: 'カード番号', expiry: '有効期限（MM/YY）', cvc: 'セキュリティコード',
    holder: 'カード名義', cards: 'カード', firstCard: '最初のカードを追加しましょう', luhn: 'カード番号が正しくありません。',
    expired: 'このカードは有効期限が切れています。', incorrectCvc: 'セキュリティコードが正しくありません。', zone: '表示するタイムゾーン',
    saveZone: 'タイムゾーンを保存', points: 'ポイント', recent: '最近のご利用',
    amexLength: 'American Express のカード番号としては桁数が正しくありません。', badMonth: '有効期限の月は01～12の数字で入力してください。',
  },
};

// Every wallet page this suite audits (the consent, sign-in, sign-up and error pages have their own).
const PAGES = ['/', '/cards', '/cards/new', '/activity', '/points', '/addresses', '/addresses/new', '/shops',
  '/passkeys', '/disputes', '/receipts/verify', '/recovery-codes'];

async function switchTo(page, lang) {
  if (lang === 'en') return;
  await expectFormRedirect(page, /^\/language$/, () => page.getByRole('button', { name: '日本語' }).click());
  await page.waitForLoadState('load');
  assert.equal(await page.locator('html').getAttribute('lang'), 'ja');
}

/** Each POST /cards the page sends, with its status. */
function watchCardPosts(page) {
  const posts = [];
  page.on('response', (r) => {
    if (new URL(r.url()).pathname === '/cards' && r.request().method() === 'POST') posts.push(r.status());
  });
  return posts;
}

for (const [size, options] of [['desktop', DESKTOP], ['phone', PHONE]]) {
  for (const lang of ['en', 'ja']) {
    describe(`wallet pages, ${size}, ${lang}`, () => {
      const env = suiteEnv({ before, after });
      const w = WORDS[lang];

      it('card form: formats and names the card, checks before sending, keeps the number after another field is refused', async (t) => {
        await withPage(t, env, async (h) => {
          const { page } = h;
          await signUp(page, newShopper(`polish-${size}-${lang}`));
          await switchTo(page, lang);

          // Home before any card: the first-card prompt leads to the form.
          await page.getByRole('heading', { level: 2, name: w.firstCard }).waitFor();
          await page.locator('#first-card').getByRole('link').click();
          await page.getByRole('heading', { level: 1, name: w.newCard }).waitFor();
          const posts = watchCardPosts(page);

          const number = page.getByLabel(w.cardNumber);
          await number.pressSequentially('4242424242424241');
          assert.equal(await number.inputValue(), '4242 4242 4242 4241', 'grouped by four as typed');
          assert.equal((await page.locator('#number-brand').innerText()).trim(), 'Visa');
          await page.getByLabel(w.expiry).pressSequentially('1220');
          assert.equal(await page.getByLabel(w.expiry).inputValue(), '12/20', 'the slash comes by itself');
          await page.getByLabel(w.cvc).fill('739');
          await page.getByLabel(w.holder).fill('AIKO TANAKA');
          await page.getByRole('button', { name: w.addCard, exact: true }).click();
          await page.locator('#number-error').filter({ hasText: w.luhn }).waitFor();
          await page.locator('#expiry-error').filter({ hasText: w.expired }).waitFor();
          assert.equal(await number.getAttribute('aria-invalid'), 'true');
          assert.deepEqual(posts, [], 'nothing sent while the form has errors');
          await noHorizontalOverflow(page, `card form with errors (${size}, ${lang})`);
          await axeClean(page, `card form with errors (${size}, ${lang})`);

          // The checks name the cause as the wallet does, in the page's language: a number too
          // long for its network (named), a month that does not exist.
          await number.fill('');
          await number.pressSequentially('3714496353984314');
          await page.getByLabel(w.expiry).fill('13/30');
          await page.getByRole('button', { name: w.addCard, exact: true }).click();
          await page.locator('#number-error').filter({ hasText: w.amexLength }).waitFor();
          await page.locator('#expiry-error').filter({ hasText: w.badMonth }).waitFor();
          assert.equal(await page.locator('#number-error').getAttribute('data-code'), 'invalid_card_number');
          assert.deepEqual(posts, [], 'still nothing sent');

          // American Express: 4-6-5 and a 4-digit code.
          await number.fill('');
          await number.pressSequentially('378282246310005');
          assert.equal(await number.inputValue(), '3782 822463 10005');
          assert.equal((await page.locator('#number-brand').innerText()).trim(), 'American Express');

          // The issuer refuses the security code: its error sits under it, the number stays.
          await number.fill('');
          await number.pressSequentially('4000000000000127');
          await page.getByLabel(w.expiry).fill(FUTURE);
          await page.getByRole('button', { name: w.addCard, exact: true }).click();
          await page.locator('#cvc-error').filter({ hasText: w.incorrectCvc }).waitFor();
          assert.deepEqual(posts, [422]);
          assert.equal(await number.inputValue(), '4000 0000 0000 0127', 'the number is kept');
          assert.equal(await page.locator('#number-error').innerText(), '');
          assert.equal(await page.getByLabel(w.cvc).getAttribute('aria-invalid'), 'true');
          assert.equal(await page.content().then((html) => html.includes('value="4000')), false, 'not written into the HTML');

          // A good card: back to the cards page, and the home shows it.
          await number.fill('');
          await number.pressSequentially('4242424242424242');
          await page.getByLabel(w.cvc).fill('739');
          await expectFormRedirect(page, /^\/cards$/, () => page.getByRole('button', { name: w.addCard, exact: true }).click());
          await page.getByRole('heading', { level: 1, name: w.cards }).waitFor();
          await page.goto('/');
          await page.locator('#home-cards').getByText('Visa •••• 4242').waitFor();
          assert.equal(await page.locator('#first-card').count(), 0, 'no first-card prompt once there is a card');
          await page.getByRole('heading', { level: 2, name: w.recent }).waitFor();
          await page.getByRole('heading', { level: 2, name: w.points, exact: true }).waitFor();
        }, options);
      });

      it('every wallet page: one-row navigation, no sideways scrolling, no axe violations, times in the chosen zone', async (t) => {
        await withPage(t, env, async (h) => {
          const { page } = h;
          await signUp(page, newShopper(`audit-${size}-${lang}`));
          await switchTo(page, lang);

          for (const path of PAGES) {
            await page.goto(path);
            await page.locator('h1').first().waitFor();
            assert.equal(await page.locator('html').getAttribute('lang'), lang, path);
            await noHorizontalOverflow(page, `${path} (${size}, ${lang})`);
            const rows = await page.evaluate(() => new Set([...document.querySelectorAll('.nav > li')].map((li) => Math.round(li.getBoundingClientRect().top))).size);
            assert.equal(rows, 1, `${path}: the navigation is one row`);
            await axeClean(page, `${path} (${size}, ${lang})`);
          }

          // The passkey's date follows the time zone chosen on the home.
          await page.goto('/passkeys');
          assert.match(await page.locator('main').innerText(), /JST/, 'Tokyo time by default');
          await page.goto('/');
          await page.getByLabel(w.zone).selectOption('Europe/London');
          await expectFormRedirect(page, /^\/language$/, () => page.getByRole('button', { name: w.saveZone }).click());
          await page.waitForLoadState('load');
          assert.equal(await page.getByLabel(w.zone).inputValue(), 'Europe/London');
          await page.goto('/passkeys');
          const text = await page.locator('main').innerText();
          assert.match(text, /GMT|BST/, 'London time');
          assert.doesNotMatch(text, /JST/);
        }, options);
      });
    });
  }
}

describe('the desktop layout uses its width', () => {
  const env = suiteEnv({ before, after });
  it('a card added on the way from a checkout goes back to it with the new card named', async (t) => {
    await withPage(t, env, async (h) => {
      const { page } = h;
      await signUp(page, newShopper('from-consent'));
      await page.goto('/cards/new?return_to=/checkout/c-123%3Fstep%3Dpay');
      await page.getByLabel('Card number').fill('4242424242424242');
      await page.getByLabel('Expiry (MM/YY)').fill(FUTURE);
      await page.getByLabel('Security code').fill('739');
      await page.getByLabel('Name on card').fill('AIKO TANAKA');
      await page.getByRole('button', { name: 'Add card', exact: true }).click();
      await page.waitForURL((u) => u.pathname === '/checkout/c-123');
      const url = new URL(page.url());
      assert.equal(url.searchParams.get('step'), 'pay', 'the consent\'s own query is kept');
      assert.match(url.searchParams.get('card') ?? '', /^[0-9a-f-]{36}$/, `the new card's id: ${url}`);
      await page.goto('/cards');
      assert.equal(await page.locator(`form[action="/cards/${url.searchParams.get('card')}/delete"]`).count(), 1, 'it is the card just added');
    }, DESKTOP);
  });

  it('the home spreads its cards across a wide screen', async (t) => {
    await withPage(t, env, async (h) => {
      const { page } = h;
      await signUp(page, newShopper('wide'));
      const main = await page.locator('main').boundingBox();
      assert.ok(main.width > 900, `main is ${main.width}px wide at 1280px`);
      const tops = await page.evaluate(() => [...document.querySelectorAll('.dashboard > .card')].map((c) => Math.round(c.getBoundingClientRect().top)));
      assert.ok(new Set(tops).size < tops.length, `several cards share a row: ${tops}`);
    }, DESKTOP);
  });
});
