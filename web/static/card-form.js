// Saifu wallet: the add-card form. Formats the number and expiry as the shopper types, names
// the card's network, checks the number (Luhn), expiry, security code and name before sending,
// and sends the form with fetch so that whatever the shopper typed stays in the page when the
// wallet refuses one field. The texts come from the form's data-msg-* attributes, in the page's
// language and worded as the wallet words the same refusal ({brand} and {char} filled in here).
// Our own code only: no dependencies, no inline script. Loaded as an integrity-checked module.

// Networks by number prefix, narrow ranges first (as the wallet's own check).
export function brandOf(digits) {
  const lead = (n) => (digits.length >= n ? Number(digits.slice(0, n)) : NaN);
  const [p1, p2, p3, p4, p6] = [lead(1), lead(2), lead(3), lead(4), lead(6)];
  if ((p6 >= 622126 && p6 <= 622925) || p4 === 6011 || (p3 >= 644 && p3 <= 649) || p2 === 65) return 'discover';
  if (p2 === 62 || p2 === 81) return 'unionpay';
  if (p4 >= 3528 && p4 <= 3589) return 'jcb';
  if (p2 === 34 || p2 === 37) return 'amex';
  if ((p3 >= 300 && p3 <= 305) || p4 === 3095 || p2 === 36 || p2 === 38 || p2 === 39) return 'diners';
  if ((p2 >= 51 && p2 <= 55) || (p4 >= 2221 && p4 <= 2720)) return 'mastercard';
  if (p1 === 4) return 'visa';
  return null;
}

const BRAND_NAMES = {
  visa: 'Visa', mastercard: 'Mastercard', amex: 'American Express', jcb: 'JCB',
  diners: 'Diners Club', discover: 'Discover', unionpay: 'UnionPay',
};

const LENGTHS = {
  visa: [13, 16, 19], mastercard: [16], amex: [15], jcb: [16, 17, 18, 19],
  discover: [16, 17, 18, 19], unionpay: [16, 17, 18, 19], diners: [14, 15, 16, 17, 18, 19],
};

export function luhnValid(digits) {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 1) { d *= 2; if (d > 9) d -= 9; }
    sum += d;
  }
  return digits.length > 0 && sum % 10 === 0;
}

// "4242424242424242" → "4242 4242 4242 4242"; American Express 4-6-5, Diners 14 digits 4-6-4.
export function groupDigits(digits) {
  const brand = brandOf(digits);
  const groups = brand === 'amex' || (brand === 'diners' && digits.length <= 14) ? [4, 6, 5] : [4, 4, 4, 4, 3];
  const out = [];
  let at = 0;
  for (const size of groups) {
    if (at >= digits.length) break;
    out.push(digits.slice(at, at + size));
    at += size;
  }
  if (at < digits.length) out.push(digits.slice(at));
  return out.join(' ');
}

// Month and year (four digits) of "MM/YY", "MM / YY", "MM/YYYY", "MMYY", "M/YY"; else null,
// or { badMonth: true } for a month outside 01–12.
export function parseExpiry(raw) {
  const s = raw.trim();
  let m;
  let y;
  if (s.includes('/')) [m, y] = s.split('/').map((p) => p.trim());
  else if (/^\d{4}$/.test(s)) [m, y] = [s.slice(0, 2), s.slice(2)];
  else return null;
  if (!/^\d{1,2}$/.test(m) || !/^(\d{2}|\d{4})$/.test(y)) return null;
  const month = Number(m);
  if (month < 1 || month > 12) return { badMonth: true };
  const year = y.length === 2 ? 2000 + Number(y) : Number(y);
  return { month, year };
}

// How far ahead an expiry may be, in months (as the wallet's check).
const MAX_MONTHS_AHEAD = 20 * 12;

// The first invisible or control character of a name, as "U+202E"; else null.
export function hiddenCharacter(text) {
  const found = text.match(/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u);
  return found ? `U+${found[0].codePointAt(0).toString(16).toUpperCase().padStart(4, '0')}` : null;
}

function setup(form) {
  const msg = (key) => form.dataset[key] || form.dataset.msgGeneric || '';
  const number = form.querySelector('input[name="number"]');
  const expiry = form.querySelector('input[name="expiry"]');
  const cvc = form.querySelector('input[name="cvc"]');
  const holder = form.querySelector('input[name="holder"]');
  const brandLabel = form.querySelector('[data-brand]');
  const formError = form.querySelector('.form-error');
  const button = form.querySelector('button[type="submit"]');
  const digitsOf = () => number.value.replace(/\D/g, '');

  function showBrand() {
    const brand = brandOf(digitsOf());
    brandLabel.textContent = brand ? BRAND_NAMES[brand] : '';
    form.dataset.brand = brand ?? '';
    cvc.maxLength = brand === 'amex' ? 4 : 3;
  }

  // Reformat the number and keep the caret after the same digit.
  number.addEventListener('input', () => {
    const caret = number.selectionStart ?? number.value.length;
    const before = number.value.slice(0, caret).replace(/\D/g, '').length;
    const digits = digitsOf().slice(0, 19);
    const shown = groupDigits(digits);
    if (shown !== number.value) {
      number.value = shown;
      let pos = 0;
      let seen = 0;
      while (pos < shown.length && seen < before) { if (/\d/.test(shown[pos])) seen++; pos++; }
      number.setSelectionRange(pos, pos);
    }
    showBrand();
  });

  // "1230" → "12/30"; a single digit month above 1 gets its zero ("4" → "04/").
  expiry.addEventListener('input', (ev) => {
    if (ev.inputType && ev.inputType.startsWith('delete')) return;
    let v = expiry.value.replace(/[^\d/]/g, '');
    if (/^[2-9]$/.test(v)) v = `0${v}`;
    if (/^\d{2}$/.test(v)) v = `${v}/`;
    else if (/^\d{3,4}$/.test(v)) v = `${v.slice(0, 2)}/${v.slice(2)}`;
    expiry.value = v;
  });

  // The error under `input`, with the wallet's stable code for it (as the server names it).
  function fieldError(input, text, code = '') {
    const target = document.getElementById(`${input.id}-error`);
    if (!target) return;
    target.textContent = text;
    if (text) {
      input.setAttribute('aria-invalid', 'true');
      target.setAttribute('role', 'alert');
      target.dataset.code = code;
    } else {
      input.removeAttribute('aria-invalid');
      target.removeAttribute('role');
      delete target.dataset.code;
    }
  }

  function clearAll() {
    for (const input of [number, expiry, cvc, holder]) fieldError(input, '');
    formError.textContent = '';
  }

  // What the wallet would refuse, found before sending, in the order the wallet checks:
  // [input, text, code] triples.
  function check() {
    const errors = [];
    const digits = digitsOf();
    const brand = brandOf(digits);
    if (!digits) errors.push([number, msg('msgNumberEmpty'), 'invalid_card_number']);
    else if (digits.length < 13 || digits.length > 19) errors.push([number, msg('msgNumberDigits'), 'invalid_card_number']);
    else if (!luhnValid(digits)) errors.push([number, msg('msgNumberCheckDigit'), 'invalid_card_number']);
    else if (!brand) errors.push([number, msg('msgNumberNetwork'), 'unsupported_brand']);
    else if (!LENGTHS[brand].includes(digits.length)) {
      errors.push([number, msg('msgNumberLength').replace('{brand}', BRAND_NAMES[brand]), 'invalid_card_number']);
    }
    const exp = parseExpiry(expiry.value);
    if (!exp) errors.push([expiry, msg('msgExpiryFormat'), 'invalid_expiry']);
    else if (exp.badMonth) errors.push([expiry, msg('msgExpiryMonth'), 'invalid_expiry']);
    else {
      const now = new Date();
      const ahead = (exp.year - now.getFullYear()) * 12 + exp.month - (now.getMonth() + 1);
      if (ahead < 0) errors.push([expiry, msg('msgExpiryPast'), 'card_expired']);
      else if (ahead > MAX_MONTHS_AHEAD) errors.push([expiry, msg('msgExpiryTooFar'), 'invalid_expiry']);
    }
    const wanted = brand === 'amex' ? 4 : 3;
    if (!new RegExp(`^\\d{${wanted}}$`).test(cvc.value.trim())) errors.push([cvc, msg(brand === 'amex' ? 'msgCvcAmex' : 'msgCvc'), 'invalid_cvc']);
    const name = holder.value.trim().split(/\s+/).join(' ');
    const hidden = hiddenCharacter(name);
    if (!name) errors.push([holder, msg('msgHolder'), 'invalid_holder_name']);
    else if (hidden) errors.push([holder, msg('msgHolderHidden').replace('{char}', hidden), 'invalid_holder_name']);
    return errors;
  }

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (form.getAttribute('aria-busy') === 'true') return;
    clearAll();
    const errors = check();
    if (errors.length) {
      for (const [input, text, code] of errors) fieldError(input, text, code);
      errors[0][0].focus();
      return;
    }
    form.setAttribute('aria-busy', 'true');
    button.disabled = true;
    const label = button.textContent;
    button.textContent = msg('msgBusy');
    let res;
    let data = null;
    try {
      res = await fetch(form.action, {
        method: 'POST',
        credentials: 'same-origin',
        headers: { Accept: 'application/json' },
        body: new URLSearchParams(new FormData(form)),
      });
      data = await res.json().catch(() => null);
    } catch {
      res = null;
    }
    if (res && res.ok && typeof data?.redirect === 'string' && data.redirect.startsWith('/') && !data.redirect.startsWith('//')) {
      location.assign(data.redirect);
      return;
    }
    form.removeAttribute('aria-busy');
    button.disabled = false;
    button.textContent = label;
    if (!res) { formError.textContent = msg('msgNetwork'); return; }
    const byField = { number, expiry, cvc, holder };
    const listed = Array.isArray(data?.errors) ? data.errors.filter((e) => byField[e.field]) : [];
    for (const e of listed) fieldError(byField[e.field], e.message, e.code);
    if (listed.length) byField[listed[0].field].focus();
    else formError.textContent = data?.detail || msg('msgGeneric');
  });

  showBrand();
}

for (const form of document.querySelectorAll('form[data-card-form]')) setup(form);
