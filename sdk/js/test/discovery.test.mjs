// Wallet addresses, discovery and registration refusals, against small local HTTP servers that
// play a non-wallet, a redirecting server, a slow or oversized one and a wallet that refuses
// registrations; the address checks (private, loopback, ...) and the pinned connection; the
// registration stores. The real wallet's side is in registration.test.mjs.
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { inspect } from 'node:util';
import standardwebhooks from 'standardwebhooks';
import {
  FileRegistrationStore, MemoryRegistrationStore, Registration, SaifuError, SaifuWallets, discoverWallet, isPrivateAddress, parseWalletAddress,
} from '../src/index.js';
import { guardedFetch } from '../src/net.js';
import { startRecorder } from './helpers.mjs';

function rejectsWith(promise, code) {
  return assert.rejects(promise, (err) => {
    assert.ok(err instanceof SaifuError, `a SaifuError, got ${err?.stack ?? err}`);
    assert.equal(err.code, code, `code of ${inspect(err)}: ${err.message}`);
    return true;
  });
}

function throwsWith(fn, code) {
  assert.throws(fn, (err) => {
    assert.ok(err instanceof SaifuError, `a SaifuError, got ${err?.stack ?? err}`);
    assert.equal(err.code, code, `code of ${inspect(err)}: ${err.message}`);
    return true;
  });
}

const json = (res, status, body, headers = {}) => res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));

/** The metadata of a Saifu wallet at `origin`, as the wallet serves it. */
function saifuMetadata(origin, extra = {}) {
  const at = (p) => new URL(p, origin).href;
  return {
    issuer: `${origin}/`,
    authorization_endpoint: at('/oauth/authorize'),
    token_endpoint: at('/oauth/token'),
    pushed_authorization_request_endpoint: at('/oauth/par'),
    jwks_uri: at('/oauth/jwks'),
    registration_endpoint: at('/oauth/register'),
    require_pushed_authorization_requests: true,
    response_types_supported: ['code'],
    code_challenge_methods_supported: ['S256'],
    token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
    authorization_details_types_supported: ['payment'],
    authorization_response_iss_parameter_supported: true,
    ...extra,
  };
}

describe('parseWalletAddress', () => {
  it('turns a host, name@host or issuer URL into the issuer', () => {
    const cases = [
      ['wallet.example.jp', 'https://wallet.example.jp/', null],
      ['aiko@wallet.example.jp', 'https://wallet.example.jp/', 'aiko'],
      ['  Wallet.Example.JP:8443 ', 'https://wallet.example.jp:8443/', null],
      ['aiko.tanaka@wallet.example.jp:8443', 'https://wallet.example.jp:8443/', 'aiko.tanaka'],
      ['https://wallet.example.jp/', 'https://wallet.example.jp/', null],
      ['https://wallet.example.jp:443', 'https://wallet.example.jp/', null],
      ['bücher.example.jp', 'https://xn--bcher-kva.example.jp/', null],
    ];
    for (const [address, issuer, account] of cases) {
      const parsed = parseWalletAddress(address);
      assert.equal(parsed.issuer, issuer, address);
      assert.equal(parsed.account, account, address);
    }
    assert.equal(parseWalletAddress('wallet.example.jp:8443').host, 'wallet.example.jp:8443');
  });

  it('takes http://localhost only in development', () => {
    assert.equal(parseWalletAddress('http://localhost:8081', { development: true }).issuer, 'http://localhost:8081/');
    assert.equal(parseWalletAddress('localhost:8080', { development: true }).issuer, 'http://localhost:8080/');
    assert.equal(parseWalletAddress('aiko@127.0.0.1:8080', { development: true }).issuer, 'http://127.0.0.1:8080/');
    throwsWith(() => parseWalletAddress('http://localhost:8081'), 'invalid_wallet_address');
    throwsWith(() => parseWalletAddress('http://wallet.example.jp', { development: true }), 'invalid_wallet_address');
    throwsWith(() => parseWalletAddress('http://wallet.example.jp'), 'invalid_wallet_address');
  });

  it('refuses what is not a wallet address, and private or loopback hosts outside development', () => {
    for (const address of ['', '   ', 'wallet', 'a@b@wallet.example.jp', '@wallet.example.jp', 'wallet.example.jp/path', 'wallet.example.jp?x=1',
      'wallet.example.jp#x', 'ftp://wallet.example.jp', 'https://user@wallet.example.jp', 'wal let.example.jp', '-bad-.example.jp', 'wallet.example.jp:99999',
      `${'a'.repeat(64)}.example.jp`, 42, null]) {
      throwsWith(() => parseWalletAddress(address), 'invalid_wallet_address');
    }
    for (const address of ['localhost', 'localhost:8080', 'shop.localhost', '127.0.0.1', '10.0.0.8', '[::1]:8443', '192.168.1.20', '169.254.169.254', '[fd00::1]', '[::ffff:127.0.0.1]']) {
      throwsWith(() => parseWalletAddress(address), 'private_address');
    }
  });
});

describe('isPrivateAddress', () => {
  it('knows the ranges a wallet must not be in', () => {
    const refused = ['0.0.0.0', '10.1.2.3', '100.64.0.1', '127.0.0.1', '127.255.0.9', '169.254.169.254', '172.16.0.1', '172.31.255.255', '192.168.0.1',
      '192.0.2.1', '198.18.0.1', '224.0.0.1', '255.255.255.255', '::', '::1', 'fc00::1', 'fd12:3456::1', 'fe80::1', 'fe80::1%eth0', 'ff02::1',
      '::ffff:127.0.0.1', '::ffff:7f00:1', '::ffff:10.0.0.1', '64:ff9b::a00:1', '2002:c0a8:101::1', '2001:db8::1', 'not an address', ''];
    const allowed = ['8.8.8.8', '1.1.1.1', '172.32.0.1', '100.128.0.1', '203.0.114.1', '2606:4700:4700::1111', '2001:4860:4860::8888', '::ffff:8.8.8.8', '2002:808:808::1'];
    for (const a of refused) assert.equal(isPrivateAddress(a), true, a);
    for (const a of allowed) assert.equal(isPrivateAddress(a), false, a);
  });
});

describe('discovery refuses what is not a Saifu wallet', () => {
  const servers = {};
  const dev = { development: true, timeoutMs: 2_000 };

  before(async () => {
    servers.notFound = await startRecorder((_req, _e, res) => json(res, 404, { error: 'not_found' }));
    servers.plainOAuth = await startRecorder((_req, _e, res) => json(res, 200, {
      issuer: `${servers.plainOAuth.origin}/`, authorization_endpoint: `${servers.plainOAuth.origin}/authorize`, token_endpoint: `${servers.plainOAuth.origin}/token`,
    }));
    servers.html = await startRecorder((_req, _e, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>Shop</title>'));
    servers.otherIssuer = await startRecorder((_req, _e, res) => json(res, 200, saifuMetadata('https://wallet.example.jp')));
    servers.noPar = await startRecorder((_req, _e, res) => json(res, 200, saifuMetadata(servers.noPar.origin, { require_pushed_authorization_requests: false })));
    servers.redirect = await startRecorder((_req, _e, res) => res.writeHead(302, { location: 'https://evil.example/.well-known/oauth-authorization-server' }).end());
    servers.huge = await startRecorder((_req, _e, res) => json(res, 200, saifuMetadata(servers.huge.origin, { padding: 'x'.repeat(100 * 1024) })));
    servers.slow = await startRecorder(() => {}); // never answers
    servers.closed = await startRecorder((req, _e, res) => json(res, 200, saifuMetadata(servers.closed.origin, { registration_endpoint: undefined })));
    servers.good = await startRecorder((_req, _e, res) => json(res, 200, saifuMetadata(servers.good.origin)));
  });

  after(async () => {
    for (const s of Object.values(servers)) await s.close();
  });

  it('a 404, plain OAuth metadata, an HTML page, another issuer or PAR not required: not_a_saifu_wallet', async () => {
    for (const name of ['notFound', 'plainOAuth', 'html', 'otherIssuer', 'noPar']) {
      await rejectsWith(discoverWallet(servers[name].origin, dev), 'not_a_saifu_wallet');
    }
    await assert.rejects(discoverWallet(servers.notFound.origin, dev), /HTTP 404/);
    await assert.rejects(discoverWallet(servers.plainOAuth.origin, dev), /require_pushed_authorization_requests/);
    await assert.rejects(discoverWallet(servers.otherIssuer.origin, dev), /another issuer/);
    assert.equal(servers.notFound.requests[0].url, `${servers.notFound.origin}/.well-known/oauth-authorization-server`);
  });

  it('a redirect is an error naming it, and is not followed', async () => {
    const seen = servers.redirect.requests.length;
    await assert.rejects(discoverWallet(servers.redirect.origin, dev), (err) => {
      assert.equal(err.code, 'wallet_redirected');
      assert.equal(err.status, 302);
      assert.match(err.message, /redirect \(HTTP 302 to https:\/\/evil\.example\//);
      return true;
    });
    assert.equal(servers.redirect.requests.length, seen + 1, 'one request, the redirect not followed');
  });

  it('an oversized answer, a server that does not answer, a host that does not resolve or answer', async () => {
    await rejectsWith(discoverWallet(servers.huge.origin, dev), 'response_too_large');
    const started = Date.now();
    await rejectsWith(discoverWallet(servers.slow.origin, { development: true, timeoutMs: 300 }), 'network_error');
    assert.ok(Date.now() - started < 2_000, 'the timeout applies');
    const nxdomain = async (host) => {
      throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
    };
    await rejectsWith(discoverWallet('wallet.does-not-exist.example', { lookup: nxdomain }), 'wallet_not_found');
    const port = new URL(servers.good.origin).port;
    await servers.good.close();
    await rejectsWith(discoverWallet(`localhost:${port}`, dev), 'wallet_not_found');
    servers.good = await startRecorder((_req, _e, res) => json(res, 200, saifuMetadata(servers.good.origin)));
  });

  it('a good wallet is discovered; one without registration_endpoint says it takes no new shops', async () => {
    const { issuer, metadata } = await discoverWallet(servers.good.origin, dev);
    assert.equal(issuer, `${servers.good.origin}/`);
    assert.equal(metadata.registration_endpoint, `${servers.good.origin}/oauth/register`);
    const wallets = new SaifuWallets({ clientName: 'Kissa Tanuki', redirectUris: ['http://localhost:1/callback'], ...dev });
    await rejectsWith(wallets.connect(servers.closed.origin), 'registration_closed');
    wallets.close();
  });

  it('outside development: a name resolving to a private address is refused before any request', async () => {
    const port = new URL(servers.good.origin).port;
    const seen = servers.good.requests.length;
    await rejectsWith(discoverWallet(`localhost:${port}`), 'private_address');
    await rejectsWith(discoverWallet(`http://localhost:${port}`), 'invalid_wallet_address');
    for (const answer of [
      [{ address: '127.0.0.1', family: 4 }],
      [{ address: '93.184.215.14', family: 4 }, { address: '10.0.0.7', family: 4 }], // one private address is enough
      [{ address: '::ffff:169.254.169.254', family: 6 }],
      [{ address: 'fd00::5', family: 6 }],
    ]) {
      const lookup = async () => answer;
      await rejectsWith(discoverWallet(`wallet.example.jp:${port}`, { lookup }), 'private_address');
      const wallets = new SaifuWallets({ clientName: 'Kissa Tanuki', redirectUris: ['https://shop.example/callback'], lookup });
      await rejectsWith(wallets.connect(`aiko@wallet.example.jp:${port}`), 'private_address');
      wallets.close();
    }
    assert.equal(servers.good.requests.length, seen, 'nothing was sent');
  });

  it('the connection goes to the address that was checked, not to a second resolution', async () => {
    const port = new URL(servers.good.origin).port;
    const asked = [];
    // The recorder listens on 127.0.0.1 only: 127.0.0.2 is loopback too, but nothing answers there.
    const lookup = (address) => async (host, options) => {
      asked.push({ host, options });
      return [{ address, family: 4 }];
    };
    await rejectsWith(discoverWallet(`localhost:${port}`, { development: true, lookup: lookup('127.0.0.2') }), 'wallet_not_found');
    const { issuer } = await discoverWallet(`localhost:${port}`, { development: true, lookup: lookup('127.0.0.1') });
    assert.equal(issuer, `${servers.good.origin}/`);
    assert.deepEqual(asked.map((a) => [a.host, a.options.all]), [['localhost', true], ['localhost', true]], 'one resolution, of all addresses, per request');

    const fetchPinned = guardedFetch({ development: true, lookup: lookup('127.0.0.1') });
    const res = await fetchPinned(`${servers.good.origin}/.well-known/oauth-authorization-server`, { headers: new Headers({ accept: 'application/json' }) });
    assert.equal(res.status, 200);
    assert.equal((await res.json()).issuer, `${servers.good.origin}/`);
    fetchPinned.close();
    await rejectsWith(guardedFetch()(`${servers.good.origin}/`), 'insecure_wallet');
  });
});

describe('registration refusals (RFC 7591 §3.2.2)', () => {
  let wallet;
  let answer;
  before(async () => {
    wallet = await startRecorder((req, _e, res) => {
      if (req.url === '/.well-known/oauth-authorization-server') return json(res, 200, saifuMetadata(wallet.origin));
      const [status, body, headers] = answer;
      return json(res, status, body, headers);
    });
  });
  after(() => wallet.close());

  const connect = async () => {
    const wallets = new SaifuWallets({ clientName: 'Kissa Tanuki', redirectUris: ['http://localhost:1/callback'], development: true });
    try {
      return await wallets.connect(wallet.origin);
    } finally {
      wallets.close();
    }
  };

  it('invalid metadata, switched off, rate limited', async () => {
    answer = [400, { error: 'invalid_redirect_uri', error_description: 'redirect URIs are https' }];
    await assert.rejects(connect(), (err) => {
      assert.equal(err.code, 'registration_refused');
      assert.equal(err.status, 400);
      assert.equal(err.source, 'oauth');
      assert.deepEqual(err.problem, { error: 'invalid_redirect_uri', error_description: 'redirect URIs are https' });
      assert.match(err.message, /invalid_redirect_uri: redirect URIs are https/);
      return true;
    });
    answer = [403, { error: 'registration_disabled' }];
    await rejectsWith(connect(), 'registration_closed');
    answer = [429, { error: 'too_many_requests' }, { 'retry-after': '37' }];
    await assert.rejects(connect(), (err) => {
      assert.equal(err.code, 'too_many_requests');
      assert.equal(err.retryAfter, 37);
      assert.equal(err.retryable, true);
      return true;
    });
    answer = [307, {}, { location: 'https://elsewhere.example/register' }];
    await rejectsWith(connect(), 'wallet_redirected');
    answer = [201, { client_id: 'c1' }];
    await rejectsWith(connect(), 'unexpected_response');
    const posts = wallet.requests.filter((r) => r.method === 'POST');
    assert.equal(posts.length, 5);
    assert.deepEqual(JSON.parse(posts[0].body), { client_name: 'Kissa Tanuki', redirect_uris: ['http://localhost:1/callback'], token_endpoint_auth_method: 'client_secret_basic' });
    assert.equal(posts[0].headers['content-type'], 'application/json');
  });

  it('refuses bad options before any request', () => {
    const ok = { clientName: 'Kissa Tanuki', redirectUris: ['https://shop.example/callback'] };
    for (const bad of [{ clientName: '' }, { redirectUris: [] }, { redirectUris: ['not a url'] }, { redirectUris: ['http://shop.example/callback'] },
      { webhookUrl: 'http://shop.example/hooks' }, { store: {} }]) {
      throwsWith(() => new SaifuWallets({ ...ok, ...bad }), 'invalid_config');
    }
  });
});

describe('registration stores', () => {
  const record = (issuer, n) => ({
    issuer, client_id: `client-${n}`, client_secret: `secret-${n}`, registration_access_token: `rat-${n}`,
    registration_client_uri: `${issuer}oauth/register/client-${n}`, client_name: 'Kissa Tanuki', redirect_uris: ['https://shop.example/callback'], saifu_status: 'pending',
  });
  let dir;
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'saifu-store-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('FileRegistrationStore: a round trip through the file, mode 0o600, no temporary file left', async () => {
    const file = path.join(dir, 'nested', 'registrations.json');
    const store = new FileRegistrationStore(file);
    assert.equal(await store.get('https://a.example/'), null);
    assert.deepEqual(await store.list(), []);
    await Promise.all([store.set('https://a.example/', record('https://a.example/', 1)), store.set('https://b.example/', record('https://b.example/', 2))]);
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    const again = new FileRegistrationStore(file); // another process, or after a restart
    assert.deepEqual(await again.get('https://a.example/'), record('https://a.example/', 1));
    assert.deepEqual((await again.list()).map((r) => r.client_id).sort(), ['client-1', 'client-2']);
    const copy = await again.get('https://b.example/');
    copy.client_id = 'changed';
    assert.equal((await again.get('https://b.example/')).client_id, 'client-2', 'get gives a copy');
    await again.delete('https://a.example/');
    await again.delete('https://nowhere.example/');
    assert.equal(await store.get('https://a.example/'), null);
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    assert.deepEqual(await readdir(path.dirname(file)), ['registrations.json']);
    assert.deepEqual(JSON.parse(await readFile(file, 'utf8')), { version: 1, registrations: { 'https://b.example/': record('https://b.example/', 2) } });
    assert.ok(!inspect(store).includes('secret-2'));

    await writeFile(file, '{not json');
    await rejectsWith(new FileRegistrationStore(file).get('https://b.example/'), 'invalid_store');
    await writeFile(file, '{"registrations": []}');
    await rejectsWith(new FileRegistrationStore(file).list(), 'invalid_store');
  });

  it('MemoryRegistrationStore keeps copies', async () => {
    const store = new MemoryRegistrationStore();
    const r = record('https://a.example/', 1);
    await store.set(r.issuer, r);
    r.client_id = 'changed';
    assert.equal((await store.get('https://a.example/')).client_id, 'client-1');
    assert.equal((await store.list()).length, 1);
    await store.delete('https://a.example/');
    assert.equal(await store.get('https://a.example/'), null);
  });

  it('a Registration hides its secrets; verifyWebhook tells which wallet signed', async () => {
    const a = { ...record('https://a.example/', 1), webhook_secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' };
    const b = { ...record('https://b.example/', 2), webhook_secret: 'whsec_dGhpcyBpcyBhIHNlY29uZCBzZWNyZXQ=' };
    const reg = new Registration(a);
    assert.equal(reg.clientSecret, 'secret-1');
    assert.equal(reg.webhookSecret, a.webhook_secret);
    for (const shown of [inspect(reg), JSON.stringify(reg)]) {
      for (const secret of ['secret-1', 'rat-1', 'MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw']) assert.ok(!shown.includes(secret), shown);
    }
    const store = new MemoryRegistrationStore();
    await store.set(a.issuer, a);
    await store.set(b.issuer, b);
    const wallets = new SaifuWallets({ clientName: 'Kissa Tanuki', redirectUris: ['https://shop.example/callback'], store });
    const body = JSON.stringify({ id: 'evt_9', type: 'payment.captured', timestamp: '2026-11-29T09:30:00Z', data: { id: 'pay_1' } });
    const at = new Date();
    const headers = { 'webhook-id': 'evt_9', 'webhook-timestamp': String(Math.floor(at / 1000)), 'webhook-signature': new standardwebhooks.Webhook(b.webhook_secret).sign('evt_9', at, body) };
    const { issuer, event } = await wallets.verifyWebhook(body, headers);
    assert.equal(issuer, 'https://b.example/');
    assert.equal(event.data.id, 'pay_1');
    await rejectsWith(wallets.verifyWebhook(body, { ...headers, 'webhook-signature': 'v1,AAAA' }), 'webhook_signature_invalid');
    assert.equal((await wallets.registrations()).length, 2);
    wallets.close();
  });
});

describe('registration lifecycle against a stand-in that speaks the wire contract', () => {
  let wallet;
  const clients = new Map();
  let n = 0;
  before(async () => {
    wallet = await startRecorder((req, entry, res) => {
      const url = new URL(entry.url);
      if (url.pathname === '/.well-known/oauth-authorization-server') return json(res, 200, saifuMetadata(wallet.origin));
      if (url.pathname === '/oauth/register' && req.method === 'POST') {
        n += 1;
        const meta = JSON.parse(entry.body);
        const client = { ...meta, client_id: `c${n}`, client_secret: `s${n}`, registration_access_token: `t${n}`, registration_client_uri: `${wallet.origin}/oauth/register/c${n}`, saifu_status: 'pending', webhook_secret: meta.webhook_url ? `whsec_c2VjcmV0${n}` : undefined };
        clients.set(client.client_id, client);
        return json(res, 201, client, { 'cache-control': 'no-store' });
      }
      const client = clients.get(url.pathname.split('/').pop());
      if (!client || req.headers.authorization !== `Bearer ${client.registration_access_token}`) return json(res, 401, { error: 'invalid_token' }, { 'www-authenticate': 'Bearer' });
      const { client_secret: _s, webhook_secret: _w, ...shown } = client;
      if (req.method === 'GET') return json(res, 200, shown);
      if (req.method === 'PUT') {
        Object.assign(client, JSON.parse(entry.body));
        const { client_secret: _s2, webhook_secret: _w2, ...now } = client;
        return json(res, 200, now);
      }
      if (req.method === 'DELETE') {
        clients.delete(client.client_id);
        return res.writeHead(204).end();
      }
      return json(res, 405, {});
    });
  });
  after(() => wallet.close());

  it('registers once, reuses, sends changed options, reads, deletes', async () => {
    const store = new MemoryRegistrationStore();
    const options = { clientName: 'Kissa Tanuki', redirectUris: ['http://localhost:1/callback'], webhookUrl: 'http://localhost:1/hooks', store, development: true };
    const wallets = new SaifuWallets(options);
    const [a, b] = await Promise.all([wallets.connect(wallet.origin), wallets.connect(`aiko@${new URL(wallet.origin).host}`)]);
    assert.equal(a, b);
    assert.equal(a.clientId, 'c1');
    const count = (method) => wallet.requests.filter((r) => r.method === method).length;
    assert.equal(count('POST'), 1);
    const stored = await store.get(`${wallet.origin}/`);
    assert.equal(stored.client_secret, 's1');
    assert.equal(stored.webhook_secret, 'whsec_c2VjcmV01');

    const renamed = new SaifuWallets({ ...options, clientName: 'Kissa Tanuki Ginza' });
    assert.equal((await renamed.connect(wallet.origin)).clientId, 'c1');
    assert.equal(count('POST'), 1, 'no second registration');
    assert.equal(count('PUT'), 1, 'the changed name was sent');
    const put = wallet.requests.find((r) => r.method === 'PUT');
    assert.deepEqual(JSON.parse(put.body), { client_name: 'Kissa Tanuki Ginza', redirect_uris: ['http://localhost:1/callback'], token_endpoint_auth_method: 'client_secret_basic', webhook_url: 'http://localhost:1/hooks', client_id: 'c1' });
    assert.equal(put.headers.authorization, 'Bearer t1');
    const after = await store.get(`${wallet.origin}/`);
    assert.equal(after.client_name, 'Kissa Tanuki Ginza');
    assert.equal(after.client_secret, 's1', 'secrets the answer leaves out stay');
    assert.equal(after.webhook_secret, 'whsec_c2VjcmV01');
    assert.equal((await renamed.registration(wallet.origin)).clientName, 'Kissa Tanuki Ginza');

    await renamed.delete(wallet.origin);
    assert.equal(await store.get(`${wallet.origin}/`), null);
    await store.set(`${wallet.origin}/`, after);
    await rejectsWith(renamed.registration(wallet.origin), 'invalid_token');
    await renamed.forget(wallet.origin);
    assert.equal(await store.get(`${wallet.origin}/`), null, 'forgotten without asking the wallet');
    const deletes = count('DELETE');
    assert.equal((await renamed.connect(wallet.origin)).clientId, 'c2', 'registered anew');
    assert.equal(count('DELETE'), deletes);
    wallets.close();
    renamed.close();
  });
});

describe('https to a checked address', () => {
  it('the certificate is verified for the wallet\'s name while the connection goes to the address that was checked', async (t) => {
    const { execFileSync, execFile } = await import('node:child_process');
    const { createServer } = await import('node:https');
    const dir = await mkdtemp(path.join(tmpdir(), 'saifu-tls-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const ssl = (...args) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
    const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
    ssl('req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=Saifu Test CA');
    ssl('req', ...ec, '-keyout', 'wallet.key', '-out', 'wallet.csr', '-subj', '/CN=wallet.example.jp');
    await writeFile(path.join(dir, 'ext.cnf'), 'subjectAltName=DNS:wallet.example.jp\n');
    ssl('x509', '-req', '-in', 'wallet.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'wallet.pem', '-days', '2', '-extfile', 'ext.cnf');

    const server = createServer({ key: await readFile(path.join(dir, 'wallet.key')), cert: await readFile(path.join(dir, 'wallet.pem')) }, (req, res) => {
      json(res, 200, saifuMetadata(`https://${req.headers.host}`));
    });
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    t.after(() => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(resolve);
    }));
    const { port } = server.address();

    // A child process trusts the test CA (NODE_EXTRA_CA_CERTS is read at start-up). Both names
    // resolve to 127.0.0.1 through the resolver given: development, so loopback is allowed.
    const script = `
      import { discoverWallet } from ${JSON.stringify(new URL('../src/index.js', import.meta.url).href)};
      const lookup = async () => [{ address: '127.0.0.1', family: 4 }];
      const out = {};
      for (const host of ['wallet.example.jp', 'other.example.jp']) {
        try {
          out[host] = (await discoverWallet(host + ':${port}', { development: true, lookup })).issuer;
        } catch (err) {
          out[host] = err.code + ' ' + err.message;
        }
      }
      console.log(JSON.stringify(out));`;
    const stdout = await new Promise((resolve, reject) => {
      execFile(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, NODE_EXTRA_CA_CERTS: path.join(dir, 'ca.pem') }, timeout: 20_000 },
        (err, out, stderr) => (err ? reject(new Error(stderr)) : resolve(out)));
    });
    const out = JSON.parse(stdout);
    assert.equal(out['wallet.example.jp'], `https://wallet.example.jp:${port}/`);
    assert.match(out['other.example.jp'], /^network_error .*ERR_TLS_CERT_ALTNAME_INVALID/, 'a certificate for another name is refused');
  });
});
