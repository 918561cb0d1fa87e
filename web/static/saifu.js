// Saifu wallet: passkey (WebAuthn) ceremonies for sign-up, sign-in and adding a passkey.
// Our own code only: no dependencies, no inline script. Loaded as an integrity-checked ES module.

const CSRF = document.querySelector('meta[name="csrf-token"]')?.getAttribute('content') ?? '';

// The page's language: the layout puts the texts on <body data-msg-*>; English otherwise.
const PAGE_MSG = document.body?.dataset ?? {};
const MSG = {
  unsupported: PAGE_MSG.msgUnsupported || 'This browser does not support passkeys.',
  cancelled: PAGE_MSG.msgCancelled || 'Passkey request was cancelled or timed out.',
  noneHere: PAGE_MSG.msgNoneHere || 'This device has no passkey for your Saifu account.',
  notVerified: PAGE_MSG.msgNotVerified || 'Your passkey could not be verified. Please try again.',
  exists: PAGE_MSG.msgExists || 'This device already holds a passkey for this account. Try another device or security key.',
  security: PAGE_MSG.msgSecurity || 'Passkeys cannot be used on this address.',
  network: PAGE_MSG.msgNetwork || 'Could not reach Saifu. Check your connection and try again.',
  generic: PAGE_MSG.msgGeneric || 'Something went wrong. Please try again.',
};

// --- base64url <-> ArrayBuffer (webauthn-rs sends unpadded base64url) ---

export function b64urlToBuf(str) {
  const b64 = String(str).replace(/-/g, '+').replace(/_/g, '/');
  const bin = atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4));
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return bytes.buffer;
}

export function bufToB64url(buf) {
  const bytes = ArrayBuffer.isView(buf)
    ? new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength)
    : new Uint8Array(buf);
  let bin = '';
  for (let i = 0; i < bytes.length; i++) bin += String.fromCharCode(bytes[i]);
  return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

// --- HTTP ---

class ProblemError extends Error {
  constructor(problem) {
    super(problem.detail || problem.title || MSG.generic);
    this.name = 'ProblemError';
    this.field = problem.field ?? null;
    this.code = problem.code ?? null;
  }
}

async function postJSON(url, body) {
  let res;
  try {
    res = await fetch(url, {
      method: 'POST',
      credentials: 'same-origin',
      headers: {
        'Content-Type': 'application/json',
        Accept: 'application/json, application/problem+json',
        'X-CSRF-Token': CSRF,
      },
      body: JSON.stringify(body ?? {}),
    });
  } catch {
    const err = new ProblemError({ detail: MSG.network });
    err.network = true;
    throw err;
  }
  let data = null;
  if ((res.headers.get('Content-Type') || '').includes('json')) {
    try { data = await res.json(); } catch { data = null; }
  }
  if (!res.ok) {
    throw new ProblemError(data && typeof data === 'object' ? data : { detail: `${MSG.generic} (HTTP ${res.status})` });
  }
  return data;
}

// Follow a {"redirect": "/path"} answer; only same-origin paths are accepted.
function follow(data) {
  const to = data?.redirect;
  const ok = typeof to === 'string' && to.startsWith('/') && !to.startsWith('//') && !to.startsWith('/\\');
  location.assign(ok ? to : '/');
}

// --- WebAuthn JSON <-> browser objects ---

// Drop nulls so optional members are absent rather than null (null timeout would mean 0).
function dropNulls(v) {
  if (Array.isArray(v)) return v.map(dropNulls);
  if (v && typeof v === 'object') {
    const out = {};
    for (const [k, x] of Object.entries(v)) if (x !== null && x !== undefined) out[k] = dropNulls(x);
    return out;
  }
  return v;
}

const withBufId = (c) => ({ ...c, id: b64urlToBuf(c.id) });

function creationOptions(json) {
  const pk = dropNulls(json.publicKey);
  pk.challenge = b64urlToBuf(pk.challenge);
  pk.user = { ...pk.user, id: b64urlToBuf(pk.user.id) };
  if (pk.excludeCredentials) pk.excludeCredentials = pk.excludeCredentials.map(withBufId);
  return pk;
}

function requestOptions(json) {
  const pk = dropNulls(json.publicKey);
  pk.challenge = b64urlToBuf(pk.challenge);
  if (pk.allowCredentials) pk.allowCredentials = pk.allowCredentials.map(withBufId);
  return pk;
}

// Client extension results may hold ArrayBuffers; make them JSON-safe.
function jsonSafe(v) {
  if (ArrayBuffer.isView(v) || Object.prototype.toString.call(v) === '[object ArrayBuffer]') return bufToB64url(v);
  if (Array.isArray(v)) return v.map(jsonSafe);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, jsonSafe(x)]));
  return v;
}

const extensionsOf = (cred) => jsonSafe(cred.getClientExtensionResults?.() ?? {});

// A credential as the server reads it, around its ceremony's `response` fields.
const credentialJSON = (cred, response) => ({
  id: cred.id,
  rawId: bufToB64url(cred.rawId),
  type: cred.type,
  response,
  extensions: extensionsOf(cred),
});

function registrationJSON(cred) {
  const r = cred.response;
  return credentialJSON(cred, {
    attestationObject: bufToB64url(r.attestationObject),
    clientDataJSON: bufToB64url(r.clientDataJSON),
    transports: typeof r.getTransports === 'function' ? r.getTransports() : undefined,
  });
}

function assertionJSON(cred) {
  const r = cred.response;
  return credentialJSON(cred, {
    authenticatorData: bufToB64url(r.authenticatorData),
    clientDataJSON: bufToB64url(r.clientDataJSON),
    signature: bufToB64url(r.signature),
    userHandle: r.userHandle && r.userHandle.byteLength ? bufToB64url(r.userHandle) : null,
  });
}

// --- Messages and busy state ---

// A message in the page's language: forms that name their texts (data-msg-*) are used first.
function msg(form, key) {
  const name = 'msg' + key.replace(/(^|-)([a-z])/g, (_, __, c) => c.toUpperCase());
  return form?.dataset?.[name] || MSG[key.replace(/-([a-z])/g, (_, c) => c.toUpperCase())] || MSG.generic;
}

// Names the cause of a failed passkey ceremony: the wallet's answer (by its stable code), or
// the browser's DOMException name.
function describe(err, creating, form = null) {
  if (err instanceof ProblemError) {
    if (err.code === 'unknown_passkey') return msg(form, 'none-here');
    if (err.code === 'webauthn_failed' || err.code === 'webauthn_challenge_mismatch') return msg(form, 'not-verified');
    if (err.network) return msg(form, 'network');
    return err.message;
  }
  switch (err?.name) {
    case 'NotAllowedError':
    case 'AbortError': return msg(form, 'cancelled');
    case 'InvalidStateError': return creating ? msg(form, 'exists') : msg(form, 'none-here');
    case 'SecurityError': return msg(form, 'security');
    case 'NotSupportedError': return msg(form, 'unsupported');
    default: return msg(form, 'generic');
  }
}

function errorTargetFor(input) {
  const ids = (input.getAttribute('aria-describedby') || '').split(/\s+/).filter(Boolean);
  return ids.map((id) => document.getElementById(id)).find((el) => el?.classList.contains('field-error'));
}

function clearErrors(form) {
  const alert = form.querySelector('.form-error');
  if (alert) alert.textContent = '';
  for (const el of form.querySelectorAll('.field-error')) el.textContent = '';
  for (const el of form.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
}

function showError(form, err, creating = false) {
  const text = describe(err, creating, form);
  const input = err instanceof ProblemError && err.field ? form.querySelector(`[name="${CSS.escape(err.field)}"]`) : null;
  const target = input && errorTargetFor(input);
  if (input && target) {
    input.setAttribute('aria-invalid', 'true');
    target.textContent = text;
    input.focus();
    return;
  }
  const alert = form.querySelector('.form-error');
  if (alert) alert.textContent = text;
}

function setBusy(form, busy) {
  if (busy) form.setAttribute('aria-busy', 'true');
  else form.removeAttribute('aria-busy');
  for (const b of form.querySelectorAll('button')) b.disabled = busy;
}

const isBusy = (form) => form.getAttribute('aria-busy') === 'true';

// Run `flow` on submit; on success the flow navigates away, so the form stays busy.
function onSubmit(form, flow, creating) {
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (isBusy(form)) return;
    clearErrors(form);
    setBusy(form, true);
    try {
      await flow();
    } catch (err) {
      setBusy(form, false);
      showError(form, err, creating);
    }
  });
}

// --- Flows ---

function setupSignup(form) {
  onSubmit(form, async () => {
    const data = new FormData(form);
    const options = await postJSON('/signup/begin', {
      display_name: String(data.get('display_name') ?? '').trim(),
      email: String(data.get('email') ?? '').trim(),
      next: form.dataset.next ?? '',
    });
    const cred = await navigator.credentials.create({ publicKey: creationOptions(options) });
    follow(await postJSON('/signup/finish', registrationJSON(cred)));
  }, true);
}

function setupAddPasskey(form) {
  onSubmit(form, async () => {
    const name = String(new FormData(form).get('name') ?? '').trim();
    const options = await postJSON('/passkeys/register/begin', { name });
    const cred = await navigator.credentials.create({ publicKey: creationOptions(options) });
    follow(await postJSON('/passkeys/register/finish', registrationJSON(cred)));
  }, true);
}

function setupSignin(form) {
  const next = form.dataset.next ?? '';
  let conditional = null; // { controller, settled: Promise }
  let modal = null; // AbortController of the button-started request

  async function startConditional() {
    const pkc = window.PublicKeyCredential;
    if (!pkc?.isConditionalMediationAvailable || !(await pkc.isConditionalMediationAvailable())) return;
    const controller = new AbortController();
    const run = (async () => {
      // The begin request is not aborted, so the server has stored this ceremony before a
      // button press starts the next one (see `settled` below).
      const options = await postJSON('/signin/begin', { next });
      if (controller.signal.aborted) return;
      const cred = await navigator.credentials.get({
        publicKey: requestOptions(options), mediation: 'conditional', signal: controller.signal,
      });
      if (!cred || controller.signal.aborted) return;
      clearErrors(form);
      setBusy(form, true);
      follow(await postJSON('/signin/finish', assertionJSON(cred)));
    })();
    conditional = {
      controller,
      settled: run.catch((err) => {
        if (controller.signal.aborted || err?.name === 'AbortError') return;
        setBusy(form, false);
        // The shopper never started an autofill request, so its refusal is not news to them.
        if (err?.name === 'NotAllowedError') return;
        showError(form, err);
      }),
    };
  }

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (isBusy(form)) return;
    clearErrors(form);
    setBusy(form, true);
    if (conditional) {
      conditional.controller.abort();
      await conditional.settled;
      conditional = null;
    }
    try {
      const options = await postJSON('/signin/begin', { next });
      modal = new AbortController();
      const cred = await navigator.credentials.get({ publicKey: requestOptions(options), signal: modal.signal });
      follow(await postJSON('/signin/finish', assertionJSON(cred)));
    } catch (err) {
      setBusy(form, false);
      showError(form, err);
      // The user cancelled: offer passkey autofill again.
      if (err?.name === 'NotAllowedError' || err?.name === 'AbortError') startConditional().catch(() => {});
    }
  });

  window.addEventListener('pagehide', () => { conditional?.controller.abort(); modal?.abort(); });
  startConditional().catch(() => {});
}

// Issuer console: the same ceremonies at the addresses the page names (data-begin,
// data-finish). Admins use the button, not autofill; the invitation's token comes from the page.
function setupAdminSignin(form) {
  onSubmit(form, async () => {
    const options = await postJSON(form.dataset.begin, { next: form.dataset.next ?? '' });
    const cred = await navigator.credentials.get({ publicKey: requestOptions(options) });
    follow(await postJSON(form.dataset.finish, assertionJSON(cred)));
  });
}

function setupAdminRegister(form) {
  onSubmit(form, async () => {
    const options = await postJSON(form.dataset.begin, form.dataset.token ? { token: form.dataset.token } : {});
    const cred = await navigator.credentials.create({ publicKey: creationOptions(options) });
    follow(await postJSON(form.dataset.finish, registrationJSON(cred)));
  }, true);
}

// Confirm destructive plain forms (e.g. removing a passkey).
for (const form of document.querySelectorAll('form[data-confirm]')) {
  form.addEventListener('submit', (ev) => {
    if (!window.confirm(form.dataset.confirm)) ev.preventDefault();
  });
}

// Clear a field's error as soon as the shopper edits it.
document.addEventListener('input', (ev) => {
  const input = ev.target;
  if (!(input instanceof HTMLElement) || input.getAttribute('aria-invalid') !== 'true') return;
  // The consent's points field checks itself as the shopper types.
  if (input.closest('[data-points]')) return;
  input.removeAttribute('aria-invalid');
  const target = errorTargetFor(input);
  if (target) target.textContent = '';
});

const SETUP = {
  signup: setupSignup, signin: setupSignin, 'add-passkey': setupAddPasskey,
  pay: setupPay, 'one-touch': setupOneTouch,
  'admin-signin': setupAdminSignin, 'admin-register': setupAdminRegister,
};
// After a recovery sign-in: the new passkey, at the addresses the page names.
SETUP['recover-passkey'] = setupAdminRegister;

for (const form of document.querySelectorAll('[data-ceremony]')) {
  const setup = SETUP[form.dataset.ceremony];
  if (!setup) continue;
  if (!window.PublicKeyCredential || !navigator.credentials) {
    const alert = form.querySelector('.form-error');
    if (alert) alert.textContent = msg(form, 'unsupported');
    for (const b of form.querySelectorAll('button')) b.disabled = true;
    continue;
  }
  setup(form);
}

// A page restored from the back/forward cache must not stay stuck in its busy state.
window.addEventListener('pageshow', (ev) => {
  if (!ev.persisted) return;
  for (const form of document.querySelectorAll('[data-ceremony][aria-busy="true"]')) {
    if (form.dataset.working) setPaying(form, false);
    else setBusy(form, false);
  }
});

// Receipt check: a chosen file's text goes into the receipt box.
for (const input of document.querySelectorAll('input[type="file"][data-receipt-file]')) {
  input.addEventListener('change', async () => {
    const target = document.getElementById(input.dataset.receiptFile);
    const file = input.files && input.files[0];
    if (target && file) target.value = (await file.text()).trim();
  });
}

// --- Consent (the checkout page) ---

const fill = (template, values) => template.replace(/\{(\w+)\}/g, (m, k) => (k in values ? String(values[k]) : m));

function groupDigits(n) {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

// Minor units as the page writes money: "¥1,736", "$12.50".
function consentMoney(minor, symbol, digits) {
  const scale = 10 ** digits;
  const major = Math.floor(minor / scale);
  const frac = digits > 0 ? `.${String(minor % scale).padStart(digits, '0')}` : '';
  return `${symbol}${groupDigits(major)}${frac}`;
}

// The points field: what it means for the payment, and whether it can be used.
function consentPoints(field) {
  const d = field.dataset;
  const input = field.querySelector('input[name="points"]');
  const raw = String(input.value ?? '').trim();
  const max = Number(input.max) || 0;
  const available = Number(d.available) || 0;
  const min = Number(d.min) || 0;
  let error = null;
  let points = 0;
  if (raw !== '') {
    if (!/^\d+$/.test(raw)) error = d.notWhole;
    else {
      points = Number(raw);
      if (points > available) error = fill(d.aboveBalance, { available: groupDigits(available) });
      else if (points > max) error = fill(d.aboveMax, { max: groupDigits(max) });
      else if (points > 0 && points < min) error = fill(d.belowMin, { min: groupDigits(min) });
    }
  }
  return { points: error ? 0 : points, error };
}

// Keeps the Pay button, the total − points = card line and the earn preview exact as the
// shopper types, and shows a wrong number of points next to the field.
function consentUpdate(field, { showError = true } = {}) {
  const d = field.dataset;
  const form = field.closest('form');
  const input = field.querySelector('input[name="points"]');
  const errorBox = field.querySelector('#points-error');
  const line = field.querySelector('[data-breakdown-line]');
  const earn = field.querySelector('[data-earn]');
  const button = form?.querySelector('.pay-button');
  const { points, error } = consentPoints(field);
  const value = Number(d.pointValue) || 1;
  const amount = Number(d.amount) || 0;
  const digits = Number(d.digits) || 0;
  const card = Math.max(0, amount - points * value);
  const money = (m) => consentMoney(m, d.symbol, digits);
  const rule = new Intl.PluralRules(d.lang || 'en').select(points);
  const pointsText = fill(rule === 'one' ? d.pointsOne : d.pointsOther, { count: groupDigits(points) });
  if (button) {
    button.textContent = points > 0 ? fill(d.payPoints, { amount: money(card), points: pointsText }) : fill(d.pay, { amount: money(amount) });
    button.dataset.label = button.textContent;
  }
  if (line) {
    line.hidden = points === 0;
    line.textContent = points > 0 ? fill(d.breakdown, { total: money(amount), points: pointsText, card: money(card) }) : '';
  }
  const full = Number(d.earnPer) || 0;
  if (earn) earn.textContent = String(amount > 0 ? Math.floor((full * card) / amount) : 0);
  if (showError) {
    errorBox.textContent = error ?? '';
    if (error) input.setAttribute('aria-invalid', 'true');
    else input.removeAttribute('aria-invalid');
  }
  return error;
}

function consentSetupPoints() {
  for (const field of document.querySelectorAll('[data-points]')) {
    const input = field.querySelector('input[name="points"]');
    input?.addEventListener('input', () => consentUpdate(field));
    consentUpdate(field, { showError: false });
  }
}

// While the passkey is asked: Pay shows progress, and neither Pay nor Cancel can be pressed.
function setPaying(form, paying) {
  setBusy(form, paying);
  const cancel = document.getElementById('cancel-button');
  if (cancel) cancel.disabled = paying;
  const button = form.querySelector('.pay-button');
  if (!button) return;
  if (paying) {
    button.dataset.label = button.dataset.label || button.textContent;
    button.textContent = form.dataset.working;
    button.classList.add('is-working');
  } else {
    if (button.dataset.label) button.textContent = button.dataset.label;
    button.classList.remove('is-working');
  }
}

// The consent's passkey flows: on submit, `begin` gives the request options, the passkey
// signs them, and the signed answer is posted with the form (the wallet answers with the
// redirect back to the shop).
function consentCeremony(form, begin) {
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (isBusy(form)) return;
    clearErrors(form);
    const field = form.querySelector('[data-points]');
    if (field && consentUpdate(field)) {
      field.querySelector('input[name="points"]').focus();
      return;
    }
    setPaying(form, true);
    try {
      const options = await postJSON(`/checkout/${encodeURIComponent(form.dataset.consent)}/${begin.path}`, begin.body());
      const cred = await navigator.credentials.get({ publicKey: requestOptions(options) });
      form.querySelector('input[name="credential"]').value = JSON.stringify(assertionJSON(cred));
      HTMLFormElement.prototype.submit.call(form);
    } catch (err) {
      setPaying(form, false);
      showError(form, err);
    }
  });
}

// Payment confirmation by a signed-in shopper: the challenge is derived from this exact
// payment (shop, amount, card, points, shipping address).
function setupPay(form) {
  consentCeremony(form, {
    path: 'begin',
    body: () => {
      const data = new FormData(form);
      return {
        card_id: String(data.get('card_id') ?? ''),
        points: Number(data.get('points') ?? 0),
        address_id: String(data.get('address_id') ?? ''),
      };
    },
  });
}

// One touch: a signed-out shopper's passkey identifies them and confirms the payment with
// their default card, in one assertion.
function setupOneTouch(form) {
  consentCeremony(form, { path: 'one-touch/begin', body: () => ({}) });
}

consentSetupPoints();
