// Test harness: a real wallet started from the built binary (free port, temp data dir,
// `saifu serve`, wait for /readyz), merchants made with the CLI, and headless Chromium with
// its virtual WebAuthn authenticator for the shopper's side.
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer as createHttpServer } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const PACKAGE_ROOT = path.resolve(HERE, '..');
export const REPO_ROOT = path.resolve(PACKAGE_ROOT, '..', '..');
export const SAIFU_BIN = process.env.SAIFU_BIN
  ? path.resolve(process.env.SAIFU_BIN)
  : path.join(REPO_ROOT, 'target', 'debug', 'saifu');
export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
export const ACTION_TIMEOUT_MS = 15_000;

export function freePort() {
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
 * `saifu serve` on a free port with a fresh data directory; resolves once /readyz answers 200.
 * `settings` are extra environment variables (`{ SAIFU_GRANT_TTL_SECS: '1' }`).
 * `wallet.restart(settings)` stops the process and starts it again on the same port (so the
 * same issuer) and the same data directory, with other settings; `wallet.stop()` ends it and
 * removes its data.
 */
export async function startWallet(settings = {}) {
  let lastError;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const dataDir = await mkdtemp(path.join(tmpdir(), 'saifu-sdk-js-'));
    const database = await freshDatabase();
    try {
      const wallet = { baseURL: `http://localhost:${port}` };
      if (database) settings = { ...settings, SAIFU_DATABASE_URL: database.url };
      const base = database ? { SAIFU_DATABASE_URL: database.url } : {};
      let running = await launch(port, dataDir, settings);
      const current = () => running;
      Object.defineProperties(wallet, {
        env: { get: () => current().env, enumerable: true },
        logs: { value: () => current().logs() },
        restart: {
          value: async (next = {}) => {
            await running.stop();
            running = await launch(port, dataDir, { ...base, ...next });
          },
        },
        stop: {
          value: async () => {
            await running.stop();
            await rm(dataDir, { recursive: true, force: true }).catch(() => {});
            await database?.drop();
          },
        },
      });
      return wallet;
    } catch (err) {
      await rm(dataDir, { recursive: true, force: true }).catch(() => {});
      await database?.drop();
      lastError = err;
      if (!/address already in use|AddrInUse/i.test(err.message)) break;
    }
  }
  throw lastError;
}

let databases = 0;
/**
 * With SAIFU_TEST_DATABASE_URL (postgres://…), a fresh PostgreSQL database on that server for
 * one wallet, made and dropped with psql; without it, null (the wallet's SQLite file).
 */
async function freshDatabase() {
  const server = process.env.SAIFU_TEST_DATABASE_URL;
  if (!server) return null;
  const name = `saifu_js_${process.pid}_${++databases}_${Date.now().toString(36)}`;
  const admin = new URL(server);
  admin.pathname = '/postgres';
  const psql = (sql) => new Promise((resolve, reject) => {
    execFile('psql', [admin.href, '-v', 'ON_ERROR_STOP=1', '-c', sql], { timeout: 30_000 }, (err, _out, stderr) => (err ? reject(new Error(`psql: ${stderr}`)) : resolve()));
  });
  await psql(`CREATE DATABASE ${name}`);
  const url = new URL(server);
  url.pathname = `/${name}`;
  return { url: url.href, drop: () => psql(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => {}) };
}

/** One `saifu serve` process on `port` and `dataDir`; resolves once /readyz answers 200. */
async function launch(port, dataDir, settings) {
  const baseURL = `http://localhost:${port}`;
  const env = {
    ...process.env,
    SAIFU_ISSUER: baseURL,
    SAIFU_LISTEN: `127.0.0.1:${port}`,
    SAIFU_DATA_DIR: dataDir,
    SAIFU_WEBHOOK_RETRY_SCHEDULE: '0s,1s,2s',
    RUST_LOG: process.env.RUST_LOG || 'warn',
    NO_COLOR: '1',
  };
  delete env.SAIFU_DATABASE_URL;
  Object.assign(env, settings);
  const child = spawn(SAIFU_BIN, ['serve'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const output = [];
  const keep = (chunk) => {
    output.push(chunk.toString());
    if (output.length > 1000) output.splice(0, output.length - 1000);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  let exited = null;
  const exit = new Promise((resolve) => {
    child.on('exit', (code, signal) => resolve((exited = { code, signal })));
    child.on('error', (error) => resolve((exited = { error })));
  });
  const logs = () => output.join('');
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    if (!exited) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => exited || child.kill('SIGKILL'), 5_000);
      await exit;
      clearTimeout(timer);
    }
  };
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (exited) {
      await stop();
      throw new Error(`saifu (${SAIFU_BIN}) exited before it was ready: ${JSON.stringify(exited)}\n${logs().slice(-3000)}`);
    }
    try {
      const res = await fetch(`${baseURL}/readyz`, { signal: AbortSignal.timeout(2_000) });
      if (res.status === 200) return { env, logs, stop };
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  await stop();
  throw new Error(`saifu did not become ready within 30 s\n${logs().slice(-3000)}`);
}

export function runSaifu(wallet, args) {
  const env = { ...wallet.env };
  delete env.SAIFU_LISTEN;
  return new Promise((resolve, reject) => {
    execFile(SAIFU_BIN, args, { env, timeout: 30_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`saifu ${args[0]} ${args[1] ?? ''} failed: ${stderr.slice(-2000)}`));
      else resolve({ stdout, stderr });
    });
  });
}

/** `saifu merchant create --verified --json`: { client_id, client_secret, webhook_secret }. */
export async function createMerchant(wallet, { name, redirectUri, domain, webhookUrl }) {
  const args = ['merchant', 'create', '--name', name, '--redirect-uri', redirectUri, '--domain', domain, '--verified', '--json'];
  if (webhookUrl) args.push('--webhook-url', webhookUrl);
  const { stdout } = await runSaifu(wallet, args);
  return JSON.parse(stdout);
}

/**
 * A tiny HTTP server on 127.0.0.1 (named localhost in URLs) that records requests and answers
 * with `handler(req, body, res)` or a small page. Returns { origin, url(p), requests, waitFor, close }.
 */
export async function startRecorder(handler) {
  const requests = [];
  const waiters = [];
  const server = createHttpServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const entry = { method: req.method, url: new URL(req.url, origin).href, headers: req.headers, body: Buffer.concat(chunks) };
      requests.push(entry);
      for (const w of [...waiters]) {
        if (w.test(entry)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(entry);
        }
      }
      if (handler) return handler(req, entry, res);
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end('<!doctype html><html lang="en"><title>Shop</title><h1>Back at the shop</h1></html>');
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://localhost:${server.address().port}`;
  return {
    origin,
    url: (p) => new URL(p, origin).href,
    requests,
    waitFor(test, timeoutMs = ACTION_TIMEOUT_MS) {
      const seen = requests.find(test);
      if (seen) return Promise.resolve(seen);
      const p = new Promise((resolve, reject) => {
        const w = { test, resolve };
        waiters.push(w);
        setTimeout(() => {
          const i = waiters.indexOf(w);
          if (i >= 0) {
            waiters.splice(i, 1);
            reject(new Error(`no matching request within ${timeoutMs} ms (saw ${requests.map((r) => `${r.method} ${r.url}`).join(', ')})`));
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

export async function launchBrowser() {
  const { chromium } = await import('playwright-core');
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync'],
  });
}

/** A fresh context and page with Chromium's virtual authenticator, and diagnostics. */
export async function openShopperPage(browser) {
  const context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
  context.setDefaultTimeout(ACTION_TIMEOUT_MS);
  const cspViolations = [];
  await context.exposeBinding('__cspReport', (_source, v) => cspViolations.push(v));
  await context.addInitScript({
    content: `document.addEventListener('securitypolicyviolation', (e) => {
      try { window.__cspReport({ directive: e.violatedDirective, blocked: e.blockedURI, source: e.sourceFile, sample: e.sample }); } catch {}
    });`,
  });
  const page = await context.newPage();
  const consoleErrors = [];
  const pageErrors = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error' || msg.type() === 'warning') consoleErrors.push(`${msg.type()}: ${msg.text()} (${page.url()})`);
  });
  page.on('pageerror', (err) => pageErrors.push(String(err?.message ?? err)));
  const cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
  });
  return { context, page, consoleErrors, pageErrors, cspViolations, close: () => context.close().catch(() => {}) };
}

let shoppers = 0;
/**
 * On the wallet's consent page (opened from `authorizationUrl`, or already open when it is null): sign up if signed out, add `card` if the wallet has no card
 * with its last 4 digits, choose it, use `points` if given, and pay. Resolves once the browser has left the wallet.
 */
export async function approveCheckout(page, authorizationUrl, { card = '4242 4242 4242 4242', points, walletOrigin, declinedThen }) {
  if (authorizationUrl) await page.goto(authorizationUrl);
  await page.waitForURL((u) => /^\/checkout\/[^/]+$/.test(u.pathname));
  const consentPath = new URL(page.url()).pathname;
  const signUp = page.getByRole('link', { name: 'Create a wallet' });
  if (await signUp.count()) {
    shoppers += 1;
    await signUp.click();
    await page.waitForURL((u) => u.pathname === '/signup');
    await page.getByLabel('Display name').fill(`Aiko ${shoppers}`);
    await page.getByLabel('Email', { exact: true }).fill(`aiko.${Date.now().toString(36)}.${process.pid}.${shoppers}@example.com`);
    await page.getByRole('button', { name: 'Create passkey' }).click();
    await page.waitForURL((u) => u.pathname === consentPath);
  }
  const last4 = card.replace(/\s/g, '').slice(-4);
  const radio = page.getByRole('radio', { name: new RegExp(`•••• ${last4}\\b`) });
  if (!(await radio.count())) {
    await page.getByRole('link', { name: 'Add a card' }).click();
    await page.waitForURL((u) => u.pathname === '/cards/new');
    await page.getByLabel('Card number').fill(card);
    await page.getByLabel('Expiry (MM/YY)').fill('12/34');
    await page.getByLabel('Security code').fill('123');
    await page.getByLabel('Name on card').fill('AIKO TANAKA');
    await page.getByRole('button', { name: 'Add card' }).click();
    await page.waitForURL((u) => u.pathname === consentPath);
  }
  await radio.check();
  // A checkout that asks for a shipping address, from a shopper who has none yet.
  const addAddress = page.getByRole('link', { name: 'Add an address' });
  if ((await addAddress.count()) && !(await page.locator('input[name="address_id"]').count())) {
    await addAddress.click();
    await page.waitForURL((u) => u.pathname === '/addresses/new');
    await page.getByLabel('Full name').fill('Aiko Tanaka');
    await page.getByLabel('Postal code').fill('100-0001');
    await page.getByLabel('Prefecture').selectOption('Tokyo');
    await page.getByLabel('City, ward, town or village').fill('Chiyoda-ku');
    await page.getByLabel('Address', { exact: true }).fill('1-1 Chiyoda');
    await page.getByLabel('Phone').fill('090-1234-5678');
    await page.getByRole('button', { name: 'Add address' }).click();
    await page.waitForURL((u) => u.pathname === consentPath);
    await page.getByRole('radio', { name: new RegExp(`•••• ${last4}\\b`) }).check();
  }
  if (points !== undefined) await page.getByLabel(/^Points to use/).fill(String(points));
  await page.getByRole('button', { name: /^Pay / }).click();
  if (declinedThen) {
    // The card is declined when the shopper pays: the consent says so and offers another.
    await page.locator('#card-declined').waitFor();
    if (new URL(page.url()).pathname !== consentPath) throw new Error(`expected the consent again, at ${page.url()}`);
    await page.getByRole('radio', { name: new RegExp(`•••• ${declinedThen.replace(/\s/g, '').slice(-4)}\\b`) }).check();
    await page.getByRole('button', { name: /^Pay / }).click();
  }
  await page.waitForURL((u) => u.origin !== walletOrigin);
  return page.url();
}
