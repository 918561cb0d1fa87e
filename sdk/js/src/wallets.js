// Any Saifu wallet at one shop: the shopper types their wallet's address, the SDK discovers the
// wallet (RFC 8414), checks that it is a Saifu wallet, registers the shop with it once (RFC 7591)
// and keeps that registration in the shop's store; RFC 7592 reads, updates and deletes it.

import { parseWalletAddress } from './address.js';
import { clientFromMetadata, metadataProblem } from './client.js';
import { SaifuError, sdkError } from './errors.js';
import { guardedFetch } from './net.js';
import { MemoryRegistrationStore } from './stores.js';
import { verifyWebhook } from './webhooks.js';

const INSPECT = Symbol.for('nodejs.util.inspect.custom');
const WELL_KNOWN = '/.well-known/oauth-authorization-server';
/** Discovery metadata is a few kilobytes; anything much larger is not a wallet's. */
const METADATA_MAX_BYTES = 64 * 1024;
const REGISTRATION_MAX_BYTES = 256 * 1024;
const DEFAULT_TIMEOUT_MS = 10_000;
const AUTH_METHOD = 'client_secret_basic';
const SECRET_FIELDS = ['client_secret', 'registration_access_token', 'webhook_secret'];

function networkFailure(err, host) {
  if (err instanceof SaifuError) return err;
  if (err?.name === 'TimeoutError') return sdkError('network_error', `${host} did not answer in time`, { retryable: true });
  const code = err?.cause?.code;
  if (['ENOTFOUND', 'EAI_NONAME', 'EAI_NODATA', 'ENODATA'].includes(code)) {
    return sdkError('wallet_not_found', `no wallet found at ${host}: the name does not resolve`);
  }
  if (['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH'].includes(code)) {
    return sdkError('wallet_not_found', `no wallet found at ${host}: nothing answers there (${code})`, { retryable: true });
  }
  return sdkError('network_error', `the request to ${host} failed: ${code ?? err?.message ?? 'failed'}`, { retryable: true });
}

async function readJson(response) {
  const text = await response.text();
  try {
    return text ? JSON.parse(text) : null;
  } catch {
    return undefined;
  }
}

function redirected(response, host, what) {
  const location = response.headers.get('location');
  return sdkError('wallet_redirected', `${host} answered its ${what} with a redirect (HTTP ${response.status}${location ? ` to ${location}` : ''}); redirects are not followed`, {
    status: response.status,
    detail: location,
  });
}

function urlIsSafe(value, development) {
  try {
    const url = new URL(value);
    return url.protocol === 'https:' || (development && url.protocol === 'http:');
  } catch {
    return false;
  }
}

/**
 * Fetches and checks a wallet's RFC 8414 metadata: no redirect, at most 64 KiB, the issuer
 * named by the address, PAR required, S256, `payment` details, `client_secret_basic`, https
 * endpoints and a `registration_endpoint`. Outside development, a private or loopback address
 * is refused, and the request goes to the address that was checked.
 * Returns `{ issuer, metadata }`.
 */
export async function discoverWallet(address, { development = false, timeoutMs = DEFAULT_TIMEOUT_MS, lookup, fetch: fetchImpl } = {}) {
  const { issuer, host } = parseWalletAddress(address, { development });
  const request = fetchImpl ?? guardedFetch({ development, lookup, maxBytes: METADATA_MAX_BYTES });
  let response;
  try {
    response = await request(new URL(WELL_KNOWN, issuer).href, {
      method: 'GET',
      headers: { accept: 'application/json' },
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
      maxBytes: METADATA_MAX_BYTES,
    });
  } catch (err) {
    throw networkFailure(err, host);
  } finally {
    if (!fetchImpl) request.close();
  }
  if (response.status >= 300 && response.status < 400) throw redirected(response, host, 'metadata request');
  const notAWallet = (why) => sdkError('not_a_saifu_wallet', `${host} is not a Saifu wallet: ${why}`, { status: response.status });
  if (response.status !== 200) throw notAWallet(`its metadata (${WELL_KNOWN}) answered HTTP ${response.status}`);
  const metadata = await readJson(response);
  if (!metadata || typeof metadata !== 'object' || Array.isArray(metadata)) throw notAWallet('its metadata is not a JSON object');
  if (metadata.issuer !== issuer) throw notAWallet(`its metadata names another issuer (${String(metadata.issuer).slice(0, 200)}, not ${issuer})`);
  const problem = metadataProblem(metadata);
  if (problem) throw notAWallet(problem);
  if (!development) {
    for (const field of ['authorization_endpoint', 'token_endpoint', 'pushed_authorization_request_endpoint', 'jwks_uri']) {
      if (!urlIsSafe(metadata[field], false)) throw notAWallet(`${field} is not https`);
    }
  }
  if (metadata.registration_endpoint !== undefined && !urlIsSafe(metadata.registration_endpoint, development)) {
    throw notAWallet('registration_endpoint is not an https URL');
  }
  return { issuer, metadata };
}

/** The redirect URIs, normalized as the wallet stores them. */
function checkedRedirectUris(redirectUris, development) {
  if (!Array.isArray(redirectUris) || redirectUris.length === 0) throw sdkError('invalid_config', 'redirectUris needs at least one callback URL');
  return redirectUris.map((uri) => {
    let url;
    try {
      url = new URL(uri);
    } catch {
      throw sdkError('invalid_config', `redirect URI ${String(uri).slice(0, 100)} is not a URL`);
    }
    if (url.protocol !== 'https:' && !(development && url.protocol === 'http:')) throw sdkError('invalid_config', 'redirect URIs are https URLs (http only in development)');
    if (url.hash) throw sdkError('invalid_config', 'a redirect URI has no fragment');
    return url.href;
  });
}

/** `clientUri`, `logoUri` and `webhookUrl`, when given: https URLs (http in development), normalized. */
function checkedUrls({ clientUri, logoUri, webhookUrl }, development) {
  const out = {};
  for (const [name, value] of Object.entries({ clientUri, logoUri, webhookUrl })) {
    if (value === undefined || value === null || value === '') continue;
    if (!urlIsSafe(value, development)) throw sdkError('invalid_config', `${name} is an https URL (http only in development)`);
    out[name] = new URL(value).href;
  }
  return out;
}

/** The metadata the shop registers with (RFC 7591 names), from the SaifuWallets options. */
function clientMetadata(options) {
  return {
    client_name: options.clientName,
    redirect_uris: [...options.redirectUris],
    token_endpoint_auth_method: AUTH_METHOD,
    ...(options.clientUri ? { client_uri: options.clientUri } : {}),
    ...(options.logoUri ? { logo_uri: options.logoUri } : {}),
    ...(options.webhookUrl ? { webhook_url: options.webhookUrl } : {}),
  };
}

/** True when the stored registration says what `wanted` says. */
function sameMetadata(record, wanted) {
  const fields = ['client_name', 'client_uri', 'logo_uri', 'webhook_url'];
  return fields.every((f) => (record[f] ?? null) === (wanted[f] ?? null))
    && JSON.stringify(record.redirect_uris ?? []) === JSON.stringify(wanted.redirect_uris);
}

/** A registration endpoint's refusal (RFC 7591 §3.2.2, RFC 7592 §3) as a SaifuError. */
async function registrationError(response, host, what) {
  const body = await readJson(response);
  const error = typeof body?.error === 'string' ? body.error : null;
  const description = typeof body?.error_description === 'string' ? body.error_description : null;
  const detail = `${error ?? `HTTP ${response.status}`}${description ? `: ${description}` : ''}`;
  const extra = { status: response.status, detail: description, problem: error ? { error, ...(description ? { error_description: description } : {}) } : null, source: error ? 'oauth' : 'sdk' };
  if (response.status === 429) {
    const retryAfter = Number.parseInt(response.headers.get('retry-after') ?? '', 10);
    const err = sdkError('too_many_requests', `${host} refused the ${what} for now: too many requests${Number.isFinite(retryAfter) ? `, try again in ${retryAfter} s` : ''}`, { ...extra, retryable: true });
    err.retryAfter = Number.isFinite(retryAfter) ? retryAfter : null;
    return err;
  }
  if (response.status === 403 && error === 'registration_disabled') {
    return sdkError('registration_closed', `${host} does not take new shops (registration is switched off)`, extra);
  }
  if (response.status === 401) {
    return sdkError('invalid_token', `${host} refused the registration access token: the registration is gone or the token is wrong`, extra);
  }
  if (response.status >= 400 && response.status < 500) {
    return sdkError('registration_refused', `${host} refused the ${what}: ${detail}`, extra);
  }
  return sdkError('unexpected_status', `${host} answered the ${what} with HTTP ${response.status}`, { ...extra, retryable: response.status >= 500 });
}

/** A wallet's registration of this shop, as `SaifuWallets.registration` gives it: secrets hidden. */
export class Registration {
  #record;
  constructor(record) {
    this.#record = record;
    this.issuer = record.issuer;
    this.clientId = record.client_id;
    /** `pending` until the wallet's issuer vets the shop, then `verified` (or `suspended`). */
    this.status = record.saifu_status ?? null;
    this.clientName = record.client_name;
    this.redirectUris = record.redirect_uris;
    this.clientUri = record.client_uri ?? null;
    this.logoUri = record.logo_uri ?? null;
    this.webhookUrl = record.webhook_url ?? null;
    this.clientIdIssuedAt = record.client_id_issued_at ?? null;
    this.registrationClientUri = record.registration_client_uri;
    Object.freeze(this);
  }

  get clientSecret() {
    return this.#record.client_secret;
  }

  get registrationAccessToken() {
    return this.#record.registration_access_token;
  }

  /** The secret the wallet signs this shop's webhooks with (null without a webhook URL). */
  get webhookSecret() {
    return this.#record.webhook_secret ?? null;
  }

  toJSON() {
    return { ...this };
  }

  [INSPECT](depth, options, inspect) {
    return `Registration ${inspect({ ...this.toJSON(), clientSecret: '[REDACTED]', registrationAccessToken: '[REDACTED]' }, options)}`;
  }
}

/**
 * One shop, any Saifu wallet. `connect(address)` gives a `SaifuClient` for the shopper's wallet,
 * registering the shop with that wallet the first time (and updating the registration when
 * the shop's metadata has changed since), reusing the stored registration after.
 */
export class SaifuWallets {
  #options;
  #store;
  #fetch;
  #clients = new Map();
  #inFlight = new Map();

  constructor({ clientName, redirectUris, clientUri, logoUri, webhookUrl, store, development = false, timeoutMs = DEFAULT_TIMEOUT_MS, maxRetries, lookup } = {}) {
    if (typeof clientName !== 'string' || !clientName.trim()) throw sdkError('invalid_config', 'clientName is needed: the shop\'s name as shoppers know it');
    const redirects = checkedRedirectUris(redirectUris, development);
    const urls = checkedUrls({ clientUri, logoUri, webhookUrl }, development);
    const s = store ?? new MemoryRegistrationStore();
    for (const method of ['get', 'set', 'delete', 'list']) {
      if (typeof s[method] !== 'function') throw sdkError('invalid_config', `the registration store has no ${method}() method`);
    }
    this.#options = { clientName, redirectUris: redirects, ...urls, development, timeoutMs, maxRetries, lookup };
    this.#store = s;
    this.#fetch = guardedFetch({ development, lookup });
    this.development = development;
    Object.freeze(this);
  }

  /** Parses a wallet address with this instance's `development` setting. */
  parse(address) {
    return parseWalletAddress(address, { development: this.#options.development });
  }

  /** Fetches and checks the metadata of the wallet at `address`. */
  discover(address) {
    const { development, timeoutMs, lookup } = this.#options;
    return discoverWallet(address, { development, timeoutMs, lookup });
  }

  /**
   * A SaifuClient for the wallet at `address` (a wallet address or its issuer URL). The first
   * time, the shop registers with the wallet; later calls reuse the stored registration.
   */
  async connect(address) {
    const { issuer } = this.parse(address);
    const known = this.#clients.get(issuer);
    if (known) return known;
    // One connection attempt per wallet at a time: two shoppers of a new wallet register once.
    let running = this.#inFlight.get(issuer);
    if (!running) {
      running = this.#connect(address).finally(() => this.#inFlight.delete(issuer));
      this.#inFlight.set(issuer, running);
    }
    return running;
  }

  async #connect(address) {
    const { issuer, metadata } = await this.discover(address);
    const wanted = clientMetadata(this.#options);
    let record = await this.#store.get(issuer);
    const expired = record?.client_secret_expires_at > 0 && record.client_secret_expires_at <= Date.now() / 1000;
    if (!record || expired) {
      record = await this.#register(issuer, metadata, wanted);
    } else if (!sameMetadata(record, wanted)) {
      record = await this.#put(record, wanted);
    }
    const client = clientFromMetadata(metadata, {
      clientId: record.client_id,
      clientSecret: record.client_secret,
      fetch: this.#fetch,
      maxRetries: this.#options.maxRetries,
      timeoutMs: Math.max(this.#options.timeoutMs, 30_000),
    });
    this.#clients.set(issuer, client);
    return client;
  }

  async #call(url, init, what) {
    const host = new URL(url).host;
    let response;
    try {
      response = await this.#fetch(url, { ...init, redirect: 'manual', signal: AbortSignal.timeout(this.#options.timeoutMs), maxBytes: REGISTRATION_MAX_BYTES });
    } catch (err) {
      throw networkFailure(err, host);
    }
    if (response.status >= 300 && response.status < 400) throw redirected(response, host, what);
    return { response, host };
  }

  async #register(issuer, metadata, wanted) {
    if (typeof metadata.registration_endpoint !== 'string') {
      throw sdkError('registration_closed', `${new URL(issuer).host} does not take new shops (its metadata has no registration_endpoint)`);
    }
    const { response, host } = await this.#call(metadata.registration_endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify(wanted),
    }, 'registration');
    if (response.status !== 201 && response.status !== 200) throw await registrationError(response, host, 'registration');
    const body = await readJson(response);
    const record = this.#checkRecord(body, issuer, host);
    for (const field of ['client_secret', 'registration_access_token']) {
      if (typeof body[field] !== 'string' || !body[field]) throw sdkError('unexpected_response', `${host}'s registration answer has no ${field}`);
    }
    await this.#store.set(issuer, record);
    return record;
  }

  #checkRecord(body, issuer, host) {
    if (!body || typeof body !== 'object') throw sdkError('unexpected_response', `${host}'s registration answer is not JSON`);
    if (typeof body.client_id !== 'string' || !body.client_id) throw sdkError('unexpected_response', `${host}'s registration answer has no client_id`);
    if (!urlIsSafe(body.registration_client_uri, this.#options.development)) {
      throw sdkError('unexpected_response', `${host}'s registration answer has no https registration_client_uri`);
    }
    return { ...body, issuer };
  }

  async #stored(address) {
    const { issuer } = this.parse(address);
    const record = await this.#store.get(issuer);
    if (!record) throw sdkError('registration_not_found', `the shop is not registered with ${new URL(issuer).host}`);
    return record;
  }

  /** An RFC 7592 request to the registration's own URL, with its access token. */
  #manage(record, method, body, what) {
    return this.#call(record.registration_client_uri, {
      method,
      headers: {
        authorization: `Bearer ${record.registration_access_token}`,
        accept: 'application/json',
        ...(body ? { 'content-type': 'application/json' } : {}),
      },
      body: body ? JSON.stringify(body) : undefined,
    }, what);
  }

  /** Merges the wallet's answer to GET or PUT into the stored record; the secrets it omits stay. */
  async #keep(record, response, host) {
    const body = await readJson(response);
    const next = this.#checkRecord(body, record.issuer, host);
    if (next.client_id !== record.client_id) throw sdkError('unexpected_response', `${host} answered for another client_id`);
    for (const field of SECRET_FIELDS) if (!next[field]) next[field] = record[field];
    await this.#store.set(record.issuer, next);
    return next;
  }

  async #put(record, wanted) {
    const { response, host } = await this.#manage(record, 'PUT', { ...wanted, client_id: record.client_id }, 'registration update');
    if (response.status !== 200) throw await registrationError(response, host, 'registration update');
    return this.#keep(record, response, host);
  }

  /** The shop's registration with the wallet at `address`, read from the wallet (RFC 7592), e.g. to see its status. */
  async registration(address) {
    const record = await this.#stored(address);
    const { response, host } = await this.#manage(record, 'GET', null, 'registration read');
    if (response.status !== 200) throw await registrationError(response, host, 'registration read');
    return new Registration(await this.#keep(record, response, host));
  }

  /**
   * Sends the shop's current metadata (these options, with `changes` over them) to the wallet
   * at `address` (RFC 7592 PUT) and stores the answer. `changes` takes `clientName`,
   * `redirectUris`, `clientUri`, `logoUri`, `webhookUrl`; a changed webhook URL keeps its secret.
   */
  async update(address, changes = {}) {
    const record = await this.#stored(address);
    const merged = { ...this.#options, ...changes };
    if (changes.redirectUris) merged.redirectUris = checkedRedirectUris(changes.redirectUris, this.#options.development);
    const wanted = clientMetadata({ ...merged, ...checkedUrls(merged, this.#options.development) });
    const next = await this.#put(record, wanted);
    return new Registration(next);
  }

  /** Deletes the shop's registration with the wallet at `address` (RFC 7592), there and in the store. */
  async delete(address) {
    const record = await this.#stored(address);
    const { response, host } = await this.#manage(record, 'DELETE', null, 'registration delete');
    if (response.status !== 204 && response.status !== 200) throw await registrationError(response, host, 'registration delete');
    await response.arrayBuffer().catch(() => {});
    await this.#store.delete(record.issuer);
    this.#clients.delete(record.issuer);
  }

  /**
   * Drops the stored registration for the wallet at `address` without asking the wallet, e.g.
   * after the wallet's issuer removed the shop (its calls answer `invalid_client`): the next
   * `connect` registers anew.
   */
  async forget(address) {
    const { issuer } = this.parse(address);
    await this.#store.delete(issuer);
    this.#clients.delete(issuer);
  }

  /** Every stored registration (secrets hidden from inspect and JSON). */
  async registrations() {
    return (await this.#store.list()).map((record) => new Registration(record));
  }

  /**
   * Verifies a webhook delivery from any wallet the shop is registered with: tries each
   * registration's webhook secret and gives `{ issuer, event }`, so you know which wallet sent
   * it (payment ids are per wallet). Throws a SaifuError as `verifyWebhook` does.
   */
  async verifyWebhook(rawBody, headers) {
    const records = (await this.#store.list()).filter((r) => r.webhook_secret);
    if (records.length === 0) throw sdkError('webhook_no_secret', 'no registration has a webhook secret');
    let last;
    for (const record of records) {
      try {
        return { issuer: record.issuer, event: verifyWebhook(rawBody, headers, record.webhook_secret) };
      } catch (err) {
        if (err?.code !== 'webhook_signature_invalid') throw err;
        last = err;
      }
    }
    throw last;
  }

  /** Drops the kept-alive connections to wallets. */
  close() {
    this.#fetch.close();
  }

  toJSON() {
    return { clientName: this.#options.clientName, development: this.development };
  }

  [INSPECT](depth, options, inspect) {
    return `SaifuWallets ${inspect(this.toJSON(), options)}`;
  }
}
