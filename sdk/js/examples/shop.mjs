// A small shop on node:http that sells one item with Saifu, using only saifu-sdk:
//   GET  /                   the product page with <saifu-pay-button> (strict CSP, SRI)
//   POST /checkout           starts the checkout (PAR + PKCE) and redirects the whole page
//   GET  /callback           completes it (state, iss, code exchange, grant), pays and captures
//   POST /webhooks/saifu     verifies webhooks and marks orders paid on payment.captured
//   GET  /orders/REF.json    an order as the shop sees it
//
// Run it against a wallet:
//   SAIFU_ISSUER=http://localhost:8080 SAIFU_CLIENT_ID=mch_… SAIFU_CLIENT_SECRET=… \
//   SAIFU_WEBHOOK_SECRET=whsec_… PORT=3000 node examples/shop.mjs
// after registering it with
//   saifu merchant create --name "Frame Shop" --redirect-uri http://localhost:3000/callback \
//     --webhook-url http://localhost:3000/webhooks/saifu --domain frames.example --verified --json

import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { fileURLToPath } from 'node:url';
import { SaifuClient, SaifuError, verifyWebhook } from 'saifu-sdk';

const ITEM = { name: 'Frames', currency: 'JPY', amount: '12800', label: '¥12,800' };
const BUTTON_FILE = fileURLToPath(import.meta.resolve('saifu-sdk/button'));
const MAX_BODY = 64 * 1024;

const escapeHtml = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(title, body, lang = 'en') {
  return `<!doctype html><html lang="${lang}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>${escapeHtml(title)}</title></head>
<body><main>${body}</main></body></html>`;
}

/**
 * Builds the shop. Returns { server, listen(port), orders, webhookEvents, close() }.
 * `publicUrl` is the shop's own origin as shoppers reach it (the redirect URI is under it).
 */
export async function createShop({ issuer, clientId, clientSecret, webhookSecret, publicUrl }) {
  const saifu = await SaifuClient.discover({ issuer, clientId, clientSecret });
  const button = readFileSync(BUTTON_FILE);
  const buttonIntegrity = `sha384-${createHash('sha384').update(button).digest('base64')}`;
  const walletOrigin = new URL(saifu.issuer).origin;
  const csp = `default-src 'self'; script-src 'self'; style-src 'self'; form-action 'self' ${walletOrigin}; frame-ancestors 'none'; base-uri 'none'`;
  const sessions = new Map(); // sid -> { csrf, pending }
  const orders = new Map(); // order reference -> { status, paymentId, paidByWebhook }
  const webhookEvents = new Map(); // event id -> event (deliveries repeat: act once per id)
  let base = publicUrl;

  function session(req, res) {
    const sid = /(?:^|;\s*)sid=([A-Za-z0-9_-]{43})/.exec(req.headers.cookie ?? '')?.[1];
    if (sid && sessions.has(sid)) return sessions.get(sid);
    const fresh = randomBytes(32).toString('base64url');
    const s = { csrf: randomBytes(32).toString('base64url'), pending: null };
    sessions.set(fresh, s);
    // Lax: the wallet's redirect back to /callback is a top-level GET, so the cookie comes along.
    res.setHeader('set-cookie', `sid=${fresh}; HttpOnly; SameSite=Lax; Path=/`);
    return s;
  }

  function send(res, status, html) {
    res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'content-security-policy': csp, 'cache-control': 'no-store' });
    res.end(html);
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
    if (req.method === 'GET' && url.pathname === '/') {
      const s = session(req, res);
      const lang = url.searchParams.get('lang') === 'ja' ? 'ja' : 'en';
      return send(res, 200, page('Frame Shop', `
<h1>${ITEM.name}</h1><p>${ITEM.label}</p>
<form method="post" action="/checkout">
  <input type="hidden" name="csrf" value="${s.csrf}">
  <saifu-pay-button amount="${ITEM.amount}" currency="${ITEM.currency}"></saifu-pay-button>
</form>
<script type="module" src="/saifu-pay-button.js" integrity="${buttonIntegrity}"></script>`, lang));
    }
    if (url.pathname === '/favicon.ico') {
      res.writeHead(204);
      return res.end();
    }
    if (req.method === 'GET' && url.pathname === '/saifu-pay-button.js') {
      res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'max-age=300', 'x-content-type-options': 'nosniff' });
      return res.end(button);
    }
    if (req.method === 'POST' && url.pathname === '/checkout') {
      const s = session(req, res);
      const form = new URLSearchParams((await readBody(req)).toString());
      const csrf = Buffer.from(form.get('csrf') ?? '');
      if (csrf.length !== s.csrf.length || !timingSafeEqual(csrf, Buffer.from(s.csrf))) return send(res, 403, page('Forbidden', '<p>Please reload the page.</p>'));
      const orderReference = `A-${randomBytes(6).toString('hex').toUpperCase()}`;
      const { authorizationUrl, pending } = await saifu.startCheckout(
        { currency: ITEM.currency, amount: ITEM.amount, orderReference, lineItems: [{ name: ITEM.name, quantity: 1, unitAmount: ITEM.amount }] },
        { redirectUri: new URL('/callback', base).href },
      );
      s.pending = pending;
      orders.set(orderReference, { status: 'pending', paymentId: null, paidByWebhook: false });
      res.writeHead(303, { location: authorizationUrl, 'cache-control': 'no-store' });
      return res.end();
    }
    if (req.method === 'GET' && url.pathname === '/callback') {
      const s = session(req, res);
      const pending = s.pending;
      s.pending = null; // one use
      try {
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
      let event;
      try {
        event = verifyWebhook(raw, req.headers, webhookSecret);
      } catch (err) {
        if (!(err instanceof SaifuError)) throw err;
        res.writeHead(400, { 'content-type': 'text/plain' });
        return res.end(err.code);
      }
      if (!webhookEvents.has(event.id)) {
        webhookEvents.set(event.id, event);
        const order = orders.get(event.data.order_reference);
        if (order && event.type === 'payment.captured') order.paidByWebhook = true;
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
    webhookEvents,
    buttonIntegrity,
    listen: (port = 0, host = '127.0.0.1') => new Promise((resolve) => server.listen(port, host, () => {
      base ??= `http://localhost:${server.address().port}`;
      resolve(base);
    })),
    close: () => new Promise((resolve) => {
      server.closeAllConnections?.();
      server.close(() => resolve());
    }),
  };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const port = Number(process.env.PORT ?? 3000);
  const shop = await createShop({
    issuer: process.env.SAIFU_ISSUER,
    clientId: process.env.SAIFU_CLIENT_ID,
    clientSecret: process.env.SAIFU_CLIENT_SECRET,
    webhookSecret: process.env.SAIFU_WEBHOOK_SECRET,
    publicUrl: process.env.SHOP_URL ?? `http://localhost:${port}`,
  });
  console.log(`Frame Shop: ${await shop.listen(port)}`);
}
