// A small shop on node:http that takes any Saifu wallet, using only saifu-sdk:
//   GET  /                   the product page: "Which wallet do you use?" and a Pay button
//   POST /checkout           connects to the shopper's wallet (discovery, and registration the
//                            first time), starts the checkout and redirects the whole page there
//   GET  /callback           completes it with the same wallet, pays and captures
//   POST /webhooks/saifu     verifies webhooks from any of its wallets, marks orders paid
//   GET  /orders/REF.json    an order as the shop sees it
//
// Run it (registrations are kept in ./registrations.json):
//   PORT=3000 SHOP_URL=https://shop.example node examples/any-wallet-shop.mjs
// or against wallets on this machine (`saifu demo --wallets 2`):
//   SAIFU_DEVELOPMENT=1 PORT=3000 node examples/any-wallet-shop.mjs

import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';
import { fileURLToPath } from 'node:url';
import { FileRegistrationStore, SaifuError, SaifuWallets } from 'saifu-sdk';

const ITEM = { name: 'Matcha', currency: 'JPY', amount: '1800', label: '¥1,800' };
const MAX_BODY = 64 * 1024;

const escapeHtml = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** What the shopper reads when their wallet can't be used. */
const WALLET_PROBLEMS = {
  invalid_wallet_address: 'Type your wallet\'s address, like wallet.example.jp or name@wallet.example.jp.',
  private_address: 'That address is not on the public internet.',
  wallet_not_found: 'No wallet answers at that address.',
  not_a_saifu_wallet: 'That address is not a Saifu wallet.',
  wallet_redirected: 'That address sends us elsewhere: type your wallet\'s own address.',
  registration_closed: 'That wallet does not take new shops at the moment.',
  registration_refused: 'That wallet did not accept this shop.',
  too_many_requests: 'That wallet is busy: please try again in a few minutes.',
};

function page(title, body) {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>${escapeHtml(title)}</title></head>
<body><main>${body}</main></body></html>`;
}

/**
 * Builds the shop. Returns { server, listen(port), orders, wallets, close() }. `publicUrl` is
 * the shop's origin as shoppers reach it; `development` accepts wallets on localhost.
 */
export function createShop({ publicUrl, store, development = false }) {
  let base = publicUrl;
  let wallets;
  const sessions = new Map(); // sid -> { csrf, pending, wallet }
  const orders = new Map(); // order reference -> { status, wallet, paymentId, paidByWebhook }
  const seenEvents = new Set(); // `${issuer} ${event id}`: deliveries repeat
  // The checkout form's 303 goes to whichever wallet the shopper names.
  const csp = `default-src 'self'; form-action 'self' https:${development ? ' http://localhost:*' : ''}; frame-ancestors 'none'; base-uri 'none'`;

  function session(req, res) {
    const sid = /(?:^|;\s*)sid=([A-Za-z0-9_-]{43})/.exec(req.headers.cookie ?? '')?.[1];
    if (sid && sessions.has(sid)) return sessions.get(sid);
    const fresh = randomBytes(32).toString('base64url');
    const s = { csrf: randomBytes(32).toString('base64url'), pending: null, wallet: null };
    sessions.set(fresh, s);
    res.setHeader('set-cookie', `sid=${fresh}; HttpOnly; SameSite=Lax; Path=/`);
    return s;
  }

  function send(res, status, html) {
    res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'content-security-policy': csp, 'cache-control': 'no-store' });
    res.end(html);
  }

  function productPage(s, { address = '', problem = null } = {}) {
    return page('Matcha', `
<h1>${ITEM.name}</h1><p>${ITEM.label}</p>
<form method="post" action="/checkout">
  <input type="hidden" name="csrf" value="${s.csrf}">
  <label for="wallet">Which wallet do you use?</label>
  <input id="wallet" name="wallet" type="text" autocomplete="on" inputmode="email" required
    placeholder="wallet.example.jp" value="${escapeHtml(address)}"${problem ? ' aria-invalid="true" aria-describedby="wallet-problem"' : ''}>
  ${problem ? `<p id="wallet-problem" role="alert">${escapeHtml(problem)}</p>` : ''}
  <button type="submit">Pay ${ITEM.label}</button>
</form>`);
  }

  async function readBody(req) {
    const chunks = [];
    let size = 0;
    for await (const chunk of req) {
      size += chunk.length;
      if (size > MAX_BODY) throw new Error('body too large');
      chunks.push(chunk);
    }
    return Buffer.concat(chunks);
  }

  async function handle(req, res) {
    const url = new URL(req.url, base);
    if (req.method === 'GET' && url.pathname === '/') return send(res, 200, productPage(session(req, res)));
    if (req.method === 'POST' && url.pathname === '/checkout') {
      const s = session(req, res);
      const form = new URLSearchParams((await readBody(req)).toString());
      const csrf = Buffer.from(form.get('csrf') ?? '');
      if (csrf.length !== s.csrf.length || !timingSafeEqual(csrf, Buffer.from(s.csrf))) return send(res, 403, page('Forbidden', '<p>Please reload the page.</p>'));
      const address = (form.get('wallet') ?? '').slice(0, 320);
      let saifu;
      try {
        saifu = await wallets.connect(address);
      } catch (err) {
        if (!(err instanceof SaifuError)) throw err;
        const problem = WALLET_PROBLEMS[err.code] ?? 'That wallet can\'t be reached right now: please try again.';
        return send(res, 400, productPage(s, { address, problem }));
      }
      const orderReference = `M-${randomBytes(6).toString('hex').toUpperCase()}`;
      const { authorizationUrl, pending } = await saifu.startCheckout(
        { currency: ITEM.currency, amount: ITEM.amount, orderReference, lineItems: [{ name: ITEM.name, quantity: 1, unitAmount: ITEM.amount }] },
        { redirectUri: new URL('/callback', base).href },
      );
      s.pending = pending;
      s.wallet = saifu.issuer; // which wallet this checkout went to
      orders.set(orderReference, { status: 'pending', wallet: saifu.issuer, paymentId: null, paidByWebhook: false });
      res.writeHead(303, { location: authorizationUrl, 'cache-control': 'no-store' });
      return res.end();
    }
    if (req.method === 'GET' && url.pathname === '/callback') {
      const s = session(req, res);
      const { pending, wallet } = s;
      s.pending = null; // one use
      s.wallet = null;
      try {
        if (!wallet) throw new SaifuError('no checkout is pending', { code: 'invalid_pending' });
        const saifu = await wallets.connect(wallet);
        const grant = await saifu.completeCheckout(url, pending);
        const payment = await saifu.payments.create({ grant, capture: true });
        orders.set(payment.order_reference, { ...orders.get(payment.order_reference), status: payment.status, paymentId: payment.id });
        return send(res, 200, page('Thank you', `<h1>Thank you!</h1><p id="order">Order ${escapeHtml(payment.order_reference)}: ${escapeHtml(payment.status)}</p>`));
      } catch (err) {
        if (!(err instanceof SaifuError)) throw err;
        const message = err.code === 'access_denied' ? 'You cancelled the payment.' : `The payment did not go through (${escapeHtml(err.code)}).`;
        return send(res, err.code === 'access_denied' ? 200 : 400, page('Payment', `<h1>No payment</h1><p id="order">${message}</p>`));
      }
    }
    if (req.method === 'POST' && url.pathname === '/webhooks/saifu') {
      const raw = await readBody(req);
      let verified;
      try {
        verified = await wallets.verifyWebhook(raw, req.headers);
      } catch (err) {
        if (!(err instanceof SaifuError)) throw err;
        res.writeHead(400, { 'content-type': 'text/plain' });
        return res.end(err.code);
      }
      const { issuer, event } = verified;
      if (!seenEvents.has(`${issuer} ${event.id}`)) {
        seenEvents.add(`${issuer} ${event.id}`);
        const order = orders.get(event.data.order_reference);
        // Order references are the shop's own; the wallet must be the one the order went to.
        if (order && order.wallet === issuer && event.type === 'payment.captured') order.paidByWebhook = true;
      }
      res.writeHead(204);
      return res.end();
    }
    const order = /^\/orders\/([A-Za-z0-9-]+)\.json$/.exec(url.pathname);
    if (req.method === 'GET' && order && orders.has(order[1])) {
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end(JSON.stringify(orders.get(order[1])));
    }
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not found');
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err) => {
      console.error('shop error:', err instanceof SaifuError ? err.message : err);
      if (!res.headersSent) send(res, 500, page('Error', '<p>Something went wrong.</p>'));
      else res.end();
    });
  });
  return {
    server,
    orders,
    get wallets() {
      return wallets;
    },
    listen: (port = 0, host = '127.0.0.1') => new Promise((resolve) => server.listen(port, host, () => {
      base ??= `http://localhost:${server.address().port}`;
      wallets = new SaifuWallets({
        clientName: 'Matcha Corner',
        redirectUris: [new URL('/callback', base).href],
        clientUri: base,
        webhookUrl: new URL('/webhooks/saifu', base).href,
        store,
        development,
      });
      resolve(base);
    })),
    close: () => new Promise((resolve) => {
      wallets?.close();
      server.closeAllConnections?.();
      server.close(() => resolve());
    }),
  };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const port = Number(process.env.PORT ?? 3000);
  const shop = createShop({
    publicUrl: process.env.SHOP_URL ?? `http://localhost:${port}`,
    store: new FileRegistrationStore(process.env.SAIFU_REGISTRATIONS ?? 'registrations.json'),
    development: process.env.SAIFU_DEVELOPMENT === '1',
  });
  console.log(`Matcha Corner: ${await shop.listen(port)}`);
}
