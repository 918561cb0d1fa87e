// Shared harness for the Saifu browser end-to-end tests.
//
// Each test file starts its own wallet process (fresh temp data dir, free port, SQLite unless
// SAIFU_E2E_DATABASE_URL is set) and its own headless Chromium; each test gets a fresh browser
// context with Chromium's virtual WebAuthn authenticator attached through CDP.

import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { mkdtemp, mkdir, readFile, rm } from 'node:fs/promises';
import { createServer as createHttpServer } from 'node:http';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = path.resolve(HERE, '..');
export const RESULTS_DIR = path.join(HERE, 'test-results');

export const SAIFU_BIN = process.env.SAIFU_BIN || path.join(REPO_ROOT, 'target', 'debug', 'saifu');
export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

// Timeouts are generous for a 2-core machine but keep a hung step from eating the whole budget.
export const ACTION_TIMEOUT_MS = 10_000;
const READY_TIMEOUT_MS = 30_000;

// ---------------------------------------------------------------------------------------------
// Wallet process
// ---------------------------------------------------------------------------------------------

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Start `saifu serve` on a free port with a fresh data directory and wait for /readyz.
 * Returns { baseURL, dataDir, env, logs(), stop() }. stop() is idempotent. `env` is the
 * environment the wallet runs with (for CLI commands against the same data, see runSaifu).
 */
export async function startWallet() {
  return startRetrying(startWalletOnce);
}

// The free port could be taken between our probe and the server's bind: retry a few times.
async function startRetrying(startOnce) {
  let lastError;
  for (let attempt = 1; attempt <= 3; attempt++) {
    try {
      return await startOnce();
    } catch (err) {
      lastError = err;
      if (!err.retryable) break;
    }
  }
  throw lastError;
}

/** The environment of a `saifu` process listening on `port` with its data in `dataDir`. */
function saifuEnv(port, dataDir) {
  const env = {
    ...process.env,
    SAIFU_ISSUER: `http://localhost:${port}`,
    SAIFU_LISTEN: `127.0.0.1:${port}`,
    SAIFU_DATA_DIR: dataDir,
    RUST_LOG: process.env.RUST_LOG || 'info',
    NO_COLOR: '1',
  };
  delete env.SAIFU_DATABASE_URL;
  if (process.env.SAIFU_E2E_DATABASE_URL) env.SAIFU_DATABASE_URL = process.env.SAIFU_E2E_DATABASE_URL;
  return env;
}

async function startWalletOnce() {
  const port = await freePort();
  const dataDir = await mkdtemp(path.join(tmpdir(), 'saifu-e2e-'));
  const baseURL = `http://localhost:${port}`;
  const env = saifuEnv(port, dataDir);

  const child = spawn(SAIFU_BIN, ['serve'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const output = [];
  const keep = (chunk) => {
    output.push(chunk.toString());
    if (output.length > 2000) output.splice(0, output.length - 2000);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  let exited = null;
  const exitPromise = new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      exited = { code, signal };
      resolve(exited);
    });
    child.on('error', (err) => {
      exited = { code: null, signal: null, error: err };
      resolve(exited);
    });
  });

  const logs = () => output.join('');
  let stopped = false;
  const stop = async () => {
    if (!stopped) {
      stopped = true;
      if (!exited) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => { if (!exited) child.kill('SIGKILL'); }, 5_000);
        await exitPromise;
        clearTimeout(timer);
      }
      await rm(dataDir, { recursive: true, force: true }).catch(() => {});
    }
  };

  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (exited) {
      await stop();
      const tail = logs().slice(-4000);
      const err = new Error(
        `saifu (${SAIFU_BIN}) exited before it was ready (code ${exited.code}, signal ${exited.signal}` +
          `${exited.error ? `, ${exited.error.message}` : ''}).\n--- wallet log ---\n${tail}`,
      );
      err.retryable = /address already in use|AddrInUse/i.test(tail);
      throw err;
    }
    try {
      const res = await fetch(`${baseURL}/readyz`, { signal: AbortSignal.timeout(2_000) });
      if (res.status === 200) return { baseURL, dataDir, env, logs, stop };
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  await stop();
  throw new Error(`saifu did not become ready within ${READY_TIMEOUT_MS} ms.\n--- wallet log ---\n${logs().slice(-4000)}`);
}

/**
 * Run a `saifu` CLI command against the running wallet's data (same data dir, database and
 * issuer). Resolves to { stdout, stderr }; rejects with both in the message on a non-zero exit.
 */
export function runSaifu(wallet, args, { timeoutMs = 30_000 } = {}) {
  const env = { ...wallet.env };
  delete env.SAIFU_LISTEN;
  return new Promise((resolve, reject) => {
    execFile(SAIFU_BIN, args, { env, timeout: timeoutMs, maxBuffer: 4 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) {
        reject(new Error(`saifu ${args.join(' ')} failed (${err.code ?? err.signal}): ${err.message}\n--- stdout ---\n${stdout}\n--- stderr ---\n${stderr.slice(-4000)}`));
      } else {
        resolve({ stdout, stderr });
      }
    });
  });
}

/**
 * Register a merchant with `saifu merchant create --json`; returns the one JSON object it prints
 * on stdout: { client_id, client_secret, webhook_secret }.
 */
export async function createMerchant(wallet, { name, redirectUri, domain, verified = true, webhookUrl }) {
  const args = ['merchant', 'create', '--name', name, '--redirect-uri', redirectUri, '--domain', domain];
  if (webhookUrl) args.push('--webhook-url', webhookUrl);
  if (verified) args.push('--verified');
  args.push('--json');
  const { stdout, stderr } = await runSaifu(wallet, args);
  let created;
  try {
    created = JSON.parse(stdout);
  } catch (err) {
    throw new Error(`saifu merchant create --json printed no single JSON object on stdout (${err.message}):\n${stdout}\n--- stderr ---\n${stderr.slice(-2000)}`);
  }
  for (const key of ['client_id', 'client_secret', 'webhook_secret']) {
    if (typeof created[key] !== 'string' || !created[key]) {
      throw new Error(`saifu merchant create --json: no ${key} in ${stdout}`);
    }
  }
  return created;
}

/**
 * A merchant's redirect URI: a tiny HTTP server on 127.0.0.1 (named `localhost` in the URL) that
 * records every request's URL and answers a small HTML page. Returns
 * { origin, url(path), hits, waitFor(pathname, after?), close() }; `hits` are absolute URLs.
 */
export async function startCallbackServer() {
  const hits = [];
  const waiters = [];
  const server = createHttpServer((req, res) => {
    const url = new URL(req.url, origin).href;
    if (new URL(url).pathname === '/favicon.ico') {
      res.writeHead(204).end();
      return;
    }
    hits.push(url);
    for (const w of [...waiters]) {
      if (w.test(url)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(url);
      }
    }
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    res.end('<!doctype html><html lang="en"><title>Frame Shop</title><h1>Back at the shop</h1></html>');
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const origin = `http://localhost:${server.address().port}`;
  return {
    origin,
    url: (p) => new URL(p, origin).href,
    hits,
    /** The next request (from index `after` of `hits` on) whose path is `pathname`. */
    waitFor(pathname, after = hits.length, timeoutMs = ACTION_TIMEOUT_MS) {
      const test = (u) => new URL(u).pathname === pathname;
      const seen = hits.slice(after).find(test);
      if (seen) return Promise.resolve(seen);
      const p = new Promise((resolve, reject) => {
        const w = { test, resolve };
        waiters.push(w);
        setTimeout(() => {
          const i = waiters.indexOf(w);
          if (i >= 0) {
            waiters.splice(i, 1);
            reject(new Error(`no request for ${pathname} reached the callback server within ${timeoutMs} ms (hits: ${JSON.stringify(hits)})`));
          }
        }, timeoutMs).unref();
      });
      p.catch(() => {}); // a test that failed before awaiting it gets no unhandled rejection
      return p;
    },
    close: () => new Promise((resolve) => {
      server.closeAllConnections?.();
      server.close(() => resolve());
    }),
  };
}

/**
 * A merchant's webhook endpoint: a tiny HTTP server on 127.0.0.1 that checks each delivery's
 * Standard Webhooks signature with the endpoint's secret (`whsec_…`, given with useSecret once
 * `saifu merchant create` printed it), answers 204 to a good one and 401 to any other, and keeps
 * the good ones' parsed bodies. Returns
 * { url, events, refused, useSecret(secret), waitFor(type, match?), close() }.
 */
export async function startWebhookReceiver() {
  let key = null;
  const events = [];
  const refused = [];
  const waiters = [];
  const signed = (headers, body) => {
    const id = headers['webhook-id'];
    const timestamp = headers['webhook-timestamp'];
    const sent = String(headers['webhook-signature'] ?? '').split(' ');
    if (!key || !id || !timestamp) return false;
    const expected = createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest();
    return sent.some((s) => {
      const [version, sig] = s.split(',');
      const got = Buffer.from(sig ?? '', 'base64');
      return version === 'v1' && got.length === expected.length && timingSafeEqual(got, expected);
    });
  };
  const server = createHttpServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      if (req.method !== 'POST' || !signed(req.headers, body)) {
        refused.push({ method: req.method, url: req.url, headers: req.headers, body });
        res.writeHead(401).end();
        return;
      }
      const event = JSON.parse(body);
      events.push(event);
      for (const w of [...waiters]) {
        if (w.test(event)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(event);
        }
      }
      res.writeHead(204).end();
    });
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const url = `http://127.0.0.1:${server.address().port}/webhooks`;
  return {
    url,
    events,
    refused,
    useSecret(secret) {
      key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
    },
    /** The first signed event of `type` for which `match(event)` holds, past or future. */
    waitFor(type, match = () => true, timeoutMs = 30_000) {
      const test = (e) => e.type === type && match(e);
      const seen = events.find(test);
      if (seen) return Promise.resolve(seen);
      const p = new Promise((resolve, reject) => {
        const w = { test, resolve };
        waiters.push(w);
        setTimeout(() => {
          const i = waiters.indexOf(w);
          if (i >= 0) {
            waiters.splice(i, 1);
            reject(new Error(`no signed ${type} webhook within ${timeoutMs} ms (got ${JSON.stringify(events.map((e) => e.type))}, refused ${refused.length})`));
          }
        }, timeoutMs).unref();
      });
      p.catch(() => {});
      return p;
    },
    close: () => new Promise((resolve) => {
      server.closeAllConnections?.();
      server.close(() => resolve());
    }),
  };
}

// ---------------------------------------------------------------------------------------------
// Browser
// ---------------------------------------------------------------------------------------------

export function launchBrowser() {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-quic',
      '--no-first-run',
      '--disable-sync',
    ],
  });
}

export const AUTHENTICATOR_OPTIONS = {
  protocol: 'ctap2',
  transport: 'internal',
  hasResidentKey: true,
  hasUserVerification: true,
  isUserVerified: true,
  automaticPresenceSimulation: true,
};

// Wraps navigator.credentials.get/create to report each call and its outcome to the test
// (through a CDP binding), so a test can tell a conditional (autofill) request from a modal one.
const WEBAUTHN_RECORDER = `(() => {
  const c = navigator.credentials;
  if (!c) return;
  const report = (e) => { try { window.__saifuReport?.('webauthn', e); } catch {} };
  for (const method of ['get', 'create']) {
    const original = c[method].bind(c);
    c[method] = function (options) {
      const mediation = options?.mediation ?? 'optional';
      const userVerification = options?.publicKey?.userVerification ?? null;
      report({ method, mediation, state: 'called', userVerification });
      const p = original(options);
      p.then(
        (cred) => report({ method, mediation, state: 'resolved', id: cred?.id ?? null }),
        (err) => report({ method, mediation, state: 'rejected', error: err?.name ?? String(err) }),
      );
      return p;
    };
  }
})();`;

// Reports securitypolicyviolation events (the CSP has no report-uri), so tests can assert
// there were none on any page. Init scripts are injected through CDP, so they are not
// themselves subject to the page's CSP.
const CSP_RECORDER = `(() => {
  document.addEventListener('securitypolicyviolation', (e) => {
    const v = { directive: e.violatedDirective, blocked: e.blockedURI, source: e.sourceFile, line: e.lineNumber, sample: e.sample };
    try { window.__saifuReport?.('csp', v); } catch {}
  });
})();`;

/**
 * A fresh context + page with a virtual authenticator, plus diagnostics: console errors and
 * warnings, uncaught page errors, CSP violations, WebAuthn calls and every request made.
 */
export async function openPage(browser, baseURL, { viewport, locale } = {}) {
  const context = await browser.newContext({ baseURL, viewport: viewport ?? { width: 1280, height: 900 }, ...(locale ? { locale } : {}) });
  context.setDefaultTimeout(ACTION_TIMEOUT_MS);
  context.setDefaultNavigationTimeout(ACTION_TIMEOUT_MS);
  const webauthnCalls = [];
  const cspViolations = [];
  await context.exposeBinding('__saifuReport', (source, kind, entry) => {
    const record = { ...entry, url: source.frame?.url() ?? source.page?.url() };
    if (kind === 'webauthn') webauthnCalls.push(record);
    else if (kind === 'csp') cspViolations.push(record);
  });
  await context.addInitScript({ content: CSP_RECORDER });
  await context.addInitScript({ content: WEBAUTHN_RECORDER });
  const page = await context.newPage();

  const consoleErrors = [];
  const consoleWarnings = [];
  const pageErrors = [];
  const requests = [];
  page.on('console', (msg) => {
    const entry = { text: msg.text(), url: page.url() };
    if (msg.type() === 'error') consoleErrors.push(entry);
    else if (msg.type() === 'warning') consoleWarnings.push(entry);
  });
  page.on('pageerror', (err) => pageErrors.push({ message: String(err?.message ?? err), url: page.url() }));
  page.on('request', (req) => requests.push({ method: req.method(), url: req.url(), at: Date.now() }));

  const cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', { options: AUTHENTICATOR_OPTIONS });

  const h = {
    context,
    page,
    cdp,
    authenticatorId,
    consoleErrors,
    consoleWarnings,
    pageErrors,
    requests,
    webauthnCalls,
    /** Another authenticator; Chromium allows one 'internal' one, so this is a USB security key. */
    async addAuthenticator(options = {}) {
      const { authenticatorId: id } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
        options: { ...AUTHENTICATOR_OPTIONS, transport: 'usb', ...options },
      });
      return id;
    },
    async credentials(id = h.authenticatorId) {
      const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId: id });
      return credentials;
    },
    /** Every CSP violation reported so far, on any page of this context. */
    cspViolations,
    async close() {
      await context.close().catch(() => {});
    },
  };
  return h;
}

/** Text that helps understand a failure: URL, title, alerts, field errors, diagnostics. */
export async function pageContext(h) {
  const { page } = h;
  const lines = [];
  try {
    lines.push(`page URL: ${page.url()}`);
    lines.push(`page title: ${await page.title().catch(() => '?')}`);
    const visible = await page
      .evaluate(() => {
        const out = [];
        const h1 = document.querySelector('h1');
        if (h1) out.push(`h1: ${h1.textContent.trim()}`);
        for (const el of document.querySelectorAll('[role="alert"], .form-error, .field-error, .lead')) {
          const t = el.textContent.trim();
          if (t) out.push(`${el.id ? `#${el.id}` : el.className}: ${t}`);
        }
        return out;
      })
      .catch((e) => [`(could not read page: ${e.message})`]);
    lines.push(...visible);
  } catch (e) {
    lines.push(`(no page context: ${e.message})`);
  }
  if (h.consoleErrors.length) lines.push(`console errors: ${JSON.stringify(h.consoleErrors)}`);
  if (h.consoleWarnings.length) lines.push(`console warnings: ${JSON.stringify(h.consoleWarnings)}`);
  if (h.pageErrors.length) lines.push(`page errors: ${JSON.stringify(h.pageErrors)}`);
  if (h.cspViolations.length) lines.push(`CSP violations: ${JSON.stringify(h.cspViolations)}`);
  if (h.webauthnCalls.length) lines.push(`WebAuthn calls: ${JSON.stringify(h.webauthnCalls.slice(-8))}`);
  const recent = h.requests.slice(-12).map((r) => `${r.method} ${r.url}`);
  if (recent.length) lines.push(`recent requests:\n    ${recent.join('\n    ')}`);
  return lines.join('\n  ');
}

/**
 * Run `body(h)` in a fresh context; on failure, append page context (URL, visible alerts,
 * console errors) and the tail of the wallet log to the error, and save a screenshot.
 */
export async function withPage(t, env, body, options = {}) {
  const h = await openPage(env.browser, env.wallet.baseURL, options);
  try {
    await body(h);
  } catch (err) {
    const ctx = await pageContext(h);
    let shot = '';
    try {
      await mkdir(RESULTS_DIR, { recursive: true });
      const file = path.join(RESULTS_DIR, `failure-${t.name.replace(/[^a-z0-9]+/gi, '-').slice(0, 60)}.png`);
      await h.page.screenshot({ path: file, fullPage: true, timeout: 5_000 });
      shot = `\n  screenshot: ${file}`;
    } catch {
      // best effort
    }
    const log = env.wallet.logs().split('\n').slice(-15).join('\n    ');
    const extra = `\n--- browser context ---\n  ${ctx}${shot}\n--- wallet log (tail) ---\n    ${log}`;
    if (err && typeof err === 'object') {
      // Reporters print the stack, which was computed with the old message: extend both.
      try {
        const header = `${err.name}: ${err.message}`;
        const stack = typeof err.stack === 'string' ? err.stack : header;
        const frames = stack.startsWith(header) ? stack.slice(header.length) : `\n${stack}`;
        err.message = `${err.message}${extra}`;
        err.stack = `${err.name}: ${err.message}${frames}`;
      } catch {
        // frozen error object: fall through
      }
      throw err;
    }
    throw new Error(`${String(err)}${extra}`);
  } finally {
    await h.close();
  }
}

/**
 * before/after hooks for a test file: one wallet and one browser for the file. `start` starts
 * the wallet (startWallet, or startDemo for `saifu demo`).
 */
export function suiteEnv({ before, after }, start = startWallet) {
  const env = { wallet: null, browser: null };
  before(async () => {
    env.wallet = await start();
    try {
      env.browser = await launchBrowser();
    } catch (err) {
      await env.wallet.stop();
      throw err;
    }
  });
  after(async () => {
    await env.browser?.close().catch(() => {});
    await env.wallet?.stop();
  });
  return env;
}

// ---------------------------------------------------------------------------------------------
// Layout checks
// ---------------------------------------------------------------------------------------------

/** The controls whose height tapTargetsBigEnough checks, unless told otherwise. */
export const TAP_TARGETS = 'main button, main input:not([type=hidden])';

export async function noHorizontalOverflow(page, label) {
  const { scroll, client } = await page.evaluate(() => ({
    scroll: document.documentElement.scrollWidth,
    client: document.documentElement.clientWidth,
  }));
  assert.ok(scroll <= client, `${label}: page is ${scroll}px wide in a ${client}px viewport (horizontal scrolling)`);
}

const require = createRequire(import.meta.url);
let axeSource = null;

/**
 * axe-core on the page, injected through the DevTools protocol (so the page's CSP, which allows
 * no inline script, does not apply to it). Fails on any violation, naming rule and elements.
 */
export async function axeClean(page, label) {
  axeSource ??= readFile(require.resolve('axe-core/axe.min.js'), 'utf8');
  await page.evaluate(await axeSource);
  const result = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
  const found = result.violations.map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
  assert.deepEqual(found, [], `${label}: axe-core violations`);
}

export async function tapTargetsBigEnough(page, label, selector = TAP_TARGETS) {
  const small = await page.evaluate(
    (sel) =>
      [...document.querySelectorAll(sel)]
        .map((el) => ({ el, r: el.getBoundingClientRect() }))
        .filter(({ r }) => r.width > 0 && r.height > 0 && r.height < 24)
        .map(({ el, r }) => `${el.tagName.toLowerCase()}#${el.id || el.name || el.textContent.trim()} ${Math.round(r.height)}px`),
    selector,
  );
  assert.deepEqual(small, [], `${label}: controls shorter than 24px`);
}

// ---------------------------------------------------------------------------------------------
// Flows
// ---------------------------------------------------------------------------------------------

let counter = 0;
/** A unique shopper for this run. */
export function newShopper(label = 'shopper') {
  counter += 1;
  const tag = `${Date.now().toString(36)}${process.pid.toString(36)}${counter}`;
  return { displayName: `Aiko ${label} ${counter}`, email: `${label}.${tag}@example.com` };
}

/** Fill and submit the sign-up form; does not wait for the outcome. */
export async function submitSignUp(page, { displayName, email }) {
  await page.goto('/signup');
  await page.getByLabel('Display name').fill(displayName);
  await page.getByLabel('Email', { exact: true }).fill(email);
  await page.getByRole('button', { name: 'Create passkey' }).click();
}

/** Sign up and wait for the dashboard greeting. */
export async function signUp(page, shopper) {
  await submitSignUp(page, shopper);
  await page.getByRole('heading', { level: 1, name: `Welcome, ${shopper.displayName}` }).waitFor();
}

/**
 * Do `action` (a click that submits a plain HTML form), and check that the POST to a path
 * matching `pathRe` answered with a redirect (303), as the wallet's forms do on success.
 * On anything else, fail with the status, the request's Origin and what the page says.
 */
export async function expectFormRedirect(page, pathRe, action) {
  const posted = page.waitForResponse((r) => pathRe.test(new URL(r.url()).pathname) && r.request().method() === 'POST');
  const before = page.url();
  await action();
  const response = await posted;
  // A form the page's script sends with fetch (the card form) answers {redirect} as JSON and
  // the script goes there (the body may be gone by then: the page has moved on).
  if (response.status() === 200 && response.request().resourceType() === 'fetch') {
    await page.waitForURL((u) => u.href !== before, { waitUntil: 'load' });
    return response;
  }
  if (response.status() !== 303) {
    await page.waitForLoadState().catch(() => {});
    const text = await page.locator('main').innerText().catch(() => '?');
    const origin = await response.request().headerValue('origin');
    throw new Error(
      `POST ${new URL(response.url()).pathname} answered ${response.status()}, not 303 (request Origin: ${origin}); ` +
        `page says: ${text.replace(/\s+/g, ' ').trim()}`,
    );
  }
  return response;
}

export async function signOut(page) {
  await expectFormRedirect(page, /^\/signout$/, () => page.getByRole('button', { name: 'Sign out' }).click());
  await page.getByRole('heading', { level: 1, name: 'Pay any shop with a passkey' }).waitFor();
}

// ---------------------------------------------------------------------------------------------
// `saifu demo`: the wallet and the demo shop in one process
// ---------------------------------------------------------------------------------------------

/**
 * Start `saifu demo` (the wallet and the Saifu Demo Shop, registered as a verified merchant) on
 * two free ports with a fresh data directory. Waits for the "Saifu wallet:" and "Saifu Demo Shop:"
 * lines on stdout, the wallet's /readyz and the shop's home page. Returns
 * { baseURL, shopURL, dataDir, env, logs(), stop() }: `baseURL` is the wallet's origin (so
 * withPage and pageContext work as for `saifu serve`), `shopURL` the shop's base URL with its
 * trailing slash. stop() sends SIGTERM, waits for the exit, removes the data directory and
 * resolves to { code, signal } (the same object on every call).
 * `startDemo({ wallets: 2 })` runs `saifu demo --wallets 2`: the second wallet listens on the
 * first's port + 1 and is `secondURL` (its readiness is awaited too).
 */
export async function startDemo({ wallets = 1 } = {}) {
  return startRetrying(() => startDemoOnce({ wallets }));
}

async function startDemoOnce({ wallets = 1 } = {}) {
  const port = await freePort();
  let shopPort = await freePort();
  while (shopPort === port || shopPort === port + 1) shopPort = await freePort();
  const dataDir = await mkdtemp(path.join(tmpdir(), 'saifu-e2e-demo-'));
  const baseURL = `http://localhost:${port}`;
  const shopURL = `http://localhost:${shopPort}/`;
  const env = saifuEnv(port, dataDir);

  const args = ['demo', '--shop-listen', `127.0.0.1:${shopPort}`, '--shop-url', shopURL];
  const secondURL = wallets === 2 ? `http://localhost:${port + 1}` : null;
  if (secondURL) args.push('--wallets', '2');
  const child = spawn(SAIFU_BIN, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const output = [];
  let stdout = '';
  const keep = (chunk) => {
    output.push(chunk.toString());
    if (output.length > 2000) output.splice(0, output.length - 2000);
  };
  child.stdout.on('data', (chunk) => {
    stdout += chunk.toString();
    if (stdout.length > 64_000) stdout = stdout.slice(-64_000);
    keep(chunk);
  });
  child.stderr.on('data', keep);
  let exited = null;
  const exitPromise = new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      exited = { code, signal };
      resolve(exited);
    });
    child.on('error', (err) => {
      exited = { code: null, signal: null, error: err };
      resolve(exited);
    });
  });

  const logs = () => output.join('');
  let stopping = null;
  const stop = () => {
    stopping ??= (async () => {
      if (!exited) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => { if (!exited) child.kill('SIGKILL'); }, 5_000);
        await exitPromise;
        clearTimeout(timer);
      }
      await rm(dataDir, { recursive: true, force: true }).catch(() => {});
      return exited;
    })();
    return stopping;
  };

  const announced = (label) => {
    const m = new RegExp(`^${label}:\\s+(\\S+)\\s*$`, 'm').exec(stdout);
    return m ? m[1] : null;
  };
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (exited) {
      await stop();
      const tail = logs().slice(-4000);
      const err = new Error(
        `saifu demo (${SAIFU_BIN}) exited before it was ready (code ${exited.code}, signal ${exited.signal}` +
          `${exited.error ? `, ${exited.error.message}` : ''}).\n--- demo log ---\n${tail}`,
      );
      err.retryable = /address already in use|AddrInUse/i.test(tail);
      throw err;
    }
    const walletLine = announced('Saifu wallet');
    const shopLine = announced('Saifu Demo Shop');
    if (walletLine && shopLine) {
      try {
        const [ready, home, second] = await Promise.all([
          fetch(`${baseURL}/readyz`, { signal: AbortSignal.timeout(2_000) }),
          fetch(shopURL, { signal: AbortSignal.timeout(2_000) }),
          secondURL ? fetch(`${secondURL}/readyz`, { signal: AbortSignal.timeout(2_000) }) : null,
        ]);
        await Promise.all([ready.arrayBuffer(), home.arrayBuffer(), second?.arrayBuffer()]);
        if (ready.status === 200 && home.status === 200 && (!second || second.status === 200)) {
          return { baseURL, shopURL, secondURL, dataDir, env, logs, stop, announced: { wallet: walletLine, shop: shopLine } };
        }
      } catch {
        // not answering yet
      }
    }
    await sleep(100);
  }
  await stop();
  throw new Error(`saifu demo did not become ready within ${READY_TIMEOUT_MS} ms.\n--- demo log ---\n${logs().slice(-4000)}`);
}
