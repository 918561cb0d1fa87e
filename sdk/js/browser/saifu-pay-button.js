// <saifu-pay-button>: a "Pay with Saifu" button for the shop's own pages. Dependency-free, no
// inline script or style (styles are a constructable stylesheet), so it runs under a strict
// Content-Security-Policy when served from the shop's own origin. It never opens a popup or an
// iframe: it submits a form to the shop's server, which redirects the whole page to the wallet.
//
//   <form method="post" action="/checkout">            (the shop's form: CSRF fields and all)
//     <input type="hidden" name="csrf" value="…">
//     <saifu-pay-button></saifu-pay-button>
//   </form>
// or, standalone, posting its own form:
//   <saifu-pay-button action="/checkout" amount="12800" currency="JPY" order-reference="A-1001">
//
// Attributes: action, method (post), amount, currency, order-reference (sent as form fields,
// read when the button is pressed, never fixed at load), lang (en, ja; else the page's),
// theme (auto, light, dark), disabled.

const LABELS = {
  en: { pay: 'Pay with Saifu', busy: 'Redirecting to Saifu…', payAmount: (a) => `Pay ${a} with Saifu` },
  ja: { pay: 'Saifuで支払う', busy: 'Saifuに移動しています…', payAmount: (a) => `${a}をSaifuで支払う` },
};

const CSS = `
:host { display: inline-block; --saifu-bg: #0b3d2e; --saifu-fg: #ffffff; --saifu-focus: #1a73e8; font: inherit; }
:host([hidden]) { display: none; }
:host([theme="dark"]) { --saifu-bg: #e8f5ef; --saifu-fg: #0b3d2e; --saifu-focus: #8ab4f8; }
@media (prefers-color-scheme: dark) {
  :host(:not([theme="light"])) { --saifu-bg: #e8f5ef; --saifu-fg: #0b3d2e; --saifu-focus: #8ab4f8; }
}
button {
  display: inline-flex; align-items: center; justify-content: center; gap: 0.5em;
  min-height: 44px; min-width: 12em; padding: 0.6em 1.4em; border: 0; border-radius: 8px;
  background: var(--saifu-bg); color: var(--saifu-fg); font: inherit; font-weight: 600;
  font-size: 1rem; line-height: 1.2; cursor: pointer;
}
button:hover:not(:disabled) { filter: brightness(1.15); }
button:focus-visible { outline: 3px solid var(--saifu-focus); outline-offset: 2px; }
button:disabled { cursor: progress; opacity: 0.85; }
.spinner {
  display: none; width: 1em; height: 1em; border-radius: 50%;
  border: 2px solid currentColor; border-right-color: transparent;
  animation: saifu-spin 0.8s linear infinite;
}
:host([busy]) .spinner { display: inline-block; }
@media (prefers-reduced-motion: reduce) { .spinner { animation-duration: 2.4s; } }
@media (forced-colors: active) { button { border: 2px solid ButtonText; } }
@keyframes saifu-spin { to { transform: rotate(360deg); } }
.sr-only { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
form { display: contents; }
`;

let sheet = null;
function styles() {
  if (!sheet) {
    sheet = new CSSStyleSheet();
    sheet.replaceSync(CSS);
  }
  return sheet;
}

export class SaifuPayButton extends HTMLElement {
  static formAssociated = true;
  static observedAttributes = ['lang', 'amount', 'currency', 'disabled'];

  #internals;
  #button;
  #label;
  #status;
  #onPageShow = (e) => {
    // Back from the wallet through the back/forward cache: usable again.
    if (e.persisted) this.#setBusy(false);
  };

  constructor() {
    super();
    this.#internals = this.attachInternals?.() ?? null;
    const root = this.attachShadow({ mode: 'open', delegatesFocus: true });
    root.adoptedStyleSheets = [styles()];
    this.#button = document.createElement('button');
    this.#button.type = 'button';
    this.#button.part = 'button';
    const spinner = document.createElement('span');
    spinner.className = 'spinner';
    spinner.setAttribute('aria-hidden', 'true');
    this.#label = document.createElement('span');
    this.#status = document.createElement('span');
    this.#status.className = 'sr-only';
    this.#status.setAttribute('role', 'status');
    this.#button.append(spinner, this.#label);
    root.append(this.#button, this.#status);
    this.#button.addEventListener('click', () => this.#pay());
  }

  connectedCallback() {
    this.#render();
    window.addEventListener('pageshow', this.#onPageShow);
  }

  disconnectedCallback() {
    window.removeEventListener('pageshow', this.#onPageShow);
  }

  attributeChangedCallback() {
    this.#render();
  }

  /** en or ja: the element's lang, else the closest ancestor's, else the document's. */
  get language() {
    const lang = (this.closest('[lang]')?.getAttribute('lang') || document.documentElement.lang || navigator.language || 'en').toLowerCase();
    return lang.startsWith('ja') ? 'ja' : 'en';
  }

  #formattedAmount() {
    const amount = this.getAttribute('amount');
    const currency = this.getAttribute('currency');
    if (!amount || !currency || !Number.isFinite(Number(amount))) return null;
    try {
      return new Intl.NumberFormat(this.language === 'ja' ? 'ja-JP' : 'en', { style: 'currency', currency }).format(Number(amount));
    } catch {
      return null;
    }
  }

  #render() {
    if (!this.#label) return;
    const t = LABELS[this.language];
    const busy = this.hasAttribute('busy');
    const amount = this.#formattedAmount();
    this.#label.textContent = busy ? t.busy : t.pay;
    if (amount && !busy) this.#button.setAttribute('aria-label', t.payAmount(amount));
    else this.#button.removeAttribute('aria-label');
    this.#button.disabled = busy || this.hasAttribute('disabled');
  }

  #setBusy(busy) {
    this.toggleAttribute('busy', busy);
    this.#button.setAttribute('aria-busy', String(busy));
    this.#status.textContent = busy ? LABELS[this.language].busy : '';
    this.#render();
  }

  #fields() {
    const out = [];
    for (const [attr, name] of [['amount', 'amount'], ['currency', 'currency'], ['order-reference', 'order_reference']]) {
      const value = this.getAttribute(attr);
      if (value !== null) out.push([name, value]);
    }
    return out;
  }

  #pay() {
    if (this.#button.disabled) return;
    const form = this.#internals?.form ?? null;
    if (form && !this.hasAttribute('action')) {
      // The shop's own form: its fields (CSRF token…) go along; the values read now go too.
      this.#internals.setFormValue(this.#fields().length ? this.#formData() : null);
      const onSubmit = (e) => {
        // The shop's own handler may cancel the submission: stay usable then.
        setTimeout(() => { if (!e.defaultPrevented) this.#setBusy(true); }, 0);
      };
      form.addEventListener('submit', onSubmit, { once: true });
      form.requestSubmit();
      setTimeout(() => form.removeEventListener('submit', onSubmit), 0);
      return;
    }
    const action = this.getAttribute('action');
    if (!action) {
      console.error('<saifu-pay-button> needs an action attribute or an enclosing <form>');
      return;
    }
    this.shadowRoot.querySelector('form')?.remove();
    const own = document.createElement('form');
    own.method = this.getAttribute('method') || 'post';
    own.action = new URL(action, document.baseURI).href;
    for (const [name, value] of this.#fields()) {
      const input = document.createElement('input');
      input.type = 'hidden';
      input.name = name;
      input.value = value;
      own.append(input);
    }
    this.shadowRoot.append(own);
    this.#setBusy(true);
    own.submit();
  }

  #formData() {
    const data = new FormData();
    for (const [name, value] of this.#fields()) data.append(name, value);
    return data;
  }
}

if (!customElements.get('saifu-pay-button')) customElements.define('saifu-pay-button', SaifuPayButton);
