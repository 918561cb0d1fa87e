// The merchant's server side of a Saifu checkout: discovery, the pushed authorization request
// with PKCE, the callback and code exchange (oauth4webapi), offline verification of payment
// grants against the wallet's JWKS (jose), and the payments API.

import { randomBytes } from 'node:crypto';
import * as oauth from 'oauth4webapi';
import * as jose from 'jose';
import { SaifuError, oauthError, problemError, sdkError } from './errors.js';

const INSPECT = Symbol.for('nodejs.util.inspect.custom');
const REDACTED = '[REDACTED]';
const PAYMENT_TYPE = 'payment';
const GRANT_TYP = 'at+jwt';
/** A receipt's `typ`: never taken for a grant, nor a grant for a receipt. */
const RECEIPT_TYP = 'saifu-receipt+jwt';
const EXP_LEEWAY_SECS = 30;
// An unknown `kid` refetches the JWKS at most once a second: a grant arrives in the answer to
// our own token request, so an unknown `kid` is almost always a key the wallet just rotated to.
const JWKS_COOLDOWN_MS = 1_000;
const REQUEST_TIMEOUT_MS = 30_000;
const DEFAULT_MAX_RETRIES = 2;
const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);

/** 32 random bytes, base64url without padding: a state, a nonce or an idempotency key. */
export function randomToken() {
  return randomBytes(32).toString('base64url');
}

/**
 * A verified payment grant. `token` is a bearer credential (anyone holding it can spend it
 * once): it is left out of `util.inspect` and `JSON.stringify`.
 */
export class Grant {
  #token;
  constructor({ token, expiresIn, authorizationDetails, claims }) {
    this.#token = token;
    this.expiresIn = expiresIn;
    /** As the token endpoint returned them; `claims.authorization_details` are the signed ones. */
    this.authorizationDetails = authorizationDetails;
    this.claims = claims;
  }

  /** The grant JWT, for `payments.create`. */
  get token() {
    return this.#token;
  }

  /** The signed payment details (the first and only `payment` entry). */
  get payment() {
    return this.claims.authorization_details?.[0] ?? null;
  }

  /**
   * The shipping address the shopper chose for this order, when the checkout asked for one
   * (`requireShipping`): a copy made at approval, from the signed details. Otherwise null.
   */
  get shippingAddress() {
    return this.payment?.shipping?.address ?? null;
  }

  toJSON() {
    return { token: REDACTED, expiresIn: this.expiresIn, authorizationDetails: this.authorizationDetails, claims: this.claims };
  }

  [INSPECT](depth, options, inspect) {
    return `Grant ${inspect(this.toJSON(), options)}`;
  }
}

function redirectIsSafe(url) {
  return url.protocol === 'https:' || (url.protocol === 'http:' && LOOPBACK.has(url.hostname));
}

function parseUrl(value, what) {
  try {
    return new URL(value);
  } catch {
    throw sdkError('invalid_config', `${what} is not a URL`);
  }
}

/** Basic authentication as RFC 6749 §2.3.1 says: each part form-urlencoded first. */
function basicAuth(clientId, clientSecret) {
  const enc = (s) => new URLSearchParams({ s }).toString().slice(2);
  return `Basic ${Buffer.from(`${enc(clientId)}:${enc(clientSecret)}`).toString('base64')}`;
}

/** The callback's parameters; one given twice counts as absent, so it fails its check. */
function single(params, name) {
  const values = params.getAll(name);
  return values.length === 1 ? values[0] : null;
}

function networkError(err) {
  const reason = err?.name === 'TimeoutError' ? 'timed out' : (err?.cause?.code ?? err?.message ?? 'failed');
  return sdkError('network_error', `the request to the wallet failed: ${reason}`, { retryable: true });
}

/** Turns an oauth4webapi failure into a SaifuError, without its cause (it may hold secrets). */
async function fromOAuth(err, step) {
  if (err instanceof SaifuError) return err;
  if (err instanceof oauth.ResponseBodyError) return oauthError(err.status, err.error, err.error_description);
  if (err instanceof oauth.WWWAuthenticateChallengeError) {
    let body = null;
    try {
      body = await err.response.clone().json();
    } catch {
      // no JSON body
    }
    const error = body?.error ?? err.cause?.[0]?.parameters?.error ?? 'invalid_client';
    return oauthError(err.status, error, body?.error_description ?? null);
  }
  if (err instanceof TypeError || err?.name === 'TimeoutError' || err?.name === 'AbortError') return networkError(err);
  if (err instanceof oauth.OperationProcessingError && err.code === oauth.RESPONSE_IS_NOT_CONFORM) {
    const status = err.cause?.status ?? null;
    return sdkError('unexpected_status', `the wallet's ${step} answer is not valid${status ? ` (HTTP ${status})` : ''}`, { status, retryable: status >= 500 });
  }
  return sdkError('unexpected_response', `the wallet's ${step} answer was refused: ${err?.message ?? 'unknown reason'}`);
}

function grantRejection(err) {
  const reasons = {
    ERR_JWT_EXPIRED: 'it has expired',
    ERR_JWS_SIGNATURE_VERIFICATION_FAILED: 'its signature does not verify',
    ERR_JOSE_ALG_NOT_ALLOWED: 'its algorithm is not accepted, only ES256',
    ERR_JWKS_NO_MATCHING_KEY: 'unknown signing key (kid)',
    ERR_JWKS_MULTIPLE_MATCHING_KEYS: 'the signing key is ambiguous',
    ERR_JWS_INVALID: 'it is not a well-formed JWS',
    ERR_JWT_INVALID: 'it is not a well-formed JWT',
    ERR_JOSE_NOT_SUPPORTED: 'it uses an unsupported feature',
  };
  if (err?.code === 'ERR_JWT_CLAIM_VALIDATION_FAILED') {
    const what = { iss: 'it was issued by another server (iss)', aud: 'it is meant for another audience (aud)', typ: 'its typ is not at+jwt' };
    return what[err.claim] ?? `its ${err.claim} claim is not valid (${err.reason})`;
  }
  return reasons[err?.code] ?? 'it was refused';
}

/**
 * Why `as` (RFC 8414 metadata) is not a Saifu wallet's, or null when it is: PAR required, PKCE
 * S256, `payment` details, `client_secret_basic`, and https endpoints (http for localhost).
 */
export function metadataProblem(as) {
  if (!as || typeof as !== 'object') return 'it is not a JSON object';
  if (as.require_pushed_authorization_requests !== true) return 'require_pushed_authorization_requests is not true';
  const needs = [
    ['code_challenge_methods_supported', 'S256'],
    ['authorization_details_types_supported', PAYMENT_TYPE],
    ['token_endpoint_auth_methods_supported', 'client_secret_basic'],
  ];
  for (const [field, value] of needs) {
    if (!Array.isArray(as[field]) || !as[field].includes(value)) return `${field} lacks "${value}"`;
  }
  for (const field of ['authorization_endpoint', 'token_endpoint', 'pushed_authorization_request_endpoint', 'jwks_uri']) {
    if (typeof as[field] !== 'string') return `${field} is missing`;
    let url;
    try {
      url = new URL(as[field]);
    } catch {
      return `${field} is not a URL`;
    }
    if (!redirectIsSafe(url)) return `${field} is not https`;
  }
  return null;
}

/** A SaifuClient for metadata already fetched and checked (`SaifuWallets.connect`). */
export let clientFromMetadata;

export class SaifuClient {
  #clientSecret;
  #as;
  #client;
  #clientAuth;
  #fetch;
  #oauthOptions;
  #jwks;
  #audience;
  #maxRetries;
  #timeoutMs;

  /** Use `SaifuClient.discover`. */
  constructor(secrets, internals) {
    if (secrets !== SaifuClient.#token) throw new TypeError('use SaifuClient.discover({ issuer, clientId, clientSecret })');
    Object.assign(this, internals.public);
    this.#clientSecret = internals.clientSecret;
    this.#as = internals.as;
    this.#client = { client_id: internals.public.clientId };
    this.#clientAuth = oauth.ClientSecretBasic(internals.clientSecret);
    this.#fetch = internals.fetch;
    this.#oauthOptions = internals.oauthOptions;
    this.#audience = new URL('/v1/payments', internals.as.issuer).href;
    this.#maxRetries = internals.maxRetries;
    this.#timeoutMs = internals.timeoutMs;
    this.#jwks = jose.createRemoteJWKSet(new URL(internals.as.jwks_uri), {
      cooldownDuration: JWKS_COOLDOWN_MS,
      timeoutDuration: internals.timeoutMs,
      [jose.customFetch]: internals.fetch,
    });
    this.payments = new Payments(this, (...args) => this.#request(...args));
    this.disputes = new Disputes((...args) => this.#request(...args));
    this.points = new Points((...args) => this.#request(...args));
    Object.freeze(this);
  }

  static #token = Symbol('SaifuClient');

  static {
    clientFromMetadata = (as, { clientId, clientSecret, fetch: fetchImpl, maxRetries = DEFAULT_MAX_RETRIES, timeoutMs = REQUEST_TIMEOUT_MS }) => new SaifuClient(SaifuClient.#token, {
      public: { issuer: as.issuer, clientId, metadata: Object.freeze({ ...as }) },
      clientSecret,
      as,
      fetch: fetchImpl,
      oauthOptions: {
        [oauth.customFetch]: fetchImpl,
        [oauth.allowInsecureRequests]: new URL(as.issuer).protocol === 'http:',
        signal: () => AbortSignal.timeout(timeoutMs),
      },
      maxRetries,
      timeoutMs,
    });
  }

  /**
   * Reads the wallet's RFC 8414 metadata and checks it: the issuer is the configured one, PAR is
   * required, PKCE S256, `payment` details and `client_secret_basic` are supported.
   * Plain `http://` is accepted for localhost only.
   */
  static async discover({ issuer, clientId, clientSecret, fetch: fetchImpl = globalThis.fetch, maxRetries = DEFAULT_MAX_RETRIES, timeoutMs = REQUEST_TIMEOUT_MS } = {}) {
    const issuerUrl = parseUrl(issuer, 'the issuer');
    if (issuerUrl.protocol !== 'https:' && !(issuerUrl.protocol === 'http:' && LOOPBACK.has(issuerUrl.hostname))) {
      throw sdkError('invalid_config', 'the issuer must be an https URL (http is accepted for localhost only)');
    }
    if (issuerUrl.search || issuerUrl.hash) throw sdkError('invalid_config', 'the issuer may have no query or fragment (RFC 8414)');
    if (typeof clientId !== 'string' || !clientId) throw sdkError('invalid_config', 'the clientId is empty');
    if (typeof clientSecret !== 'string' || !clientSecret) throw sdkError('invalid_config', 'the clientSecret is empty');
    const oauthOptions = {
      [oauth.customFetch]: fetchImpl,
      [oauth.allowInsecureRequests]: issuerUrl.protocol === 'http:',
      signal: () => AbortSignal.timeout(timeoutMs),
    };
    let as;
    try {
      const response = await oauth.discoveryRequest(issuerUrl, { algorithm: 'oauth2', ...oauthOptions, signal: AbortSignal.timeout(timeoutMs) });
      as = await oauth.processDiscoveryResponse(issuerUrl, response);
    } catch (err) {
      if (err instanceof oauth.OperationProcessingError && err.code === oauth.JSON_ATTRIBUTE_COMPARISON) {
        throw sdkError('invalid_metadata', 'the metadata\'s issuer is not the configured issuer');
      }
      throw await fromOAuth(err, 'discovery');
    }
    const problem = metadataProblem(as);
    if (problem) throw sdkError('invalid_metadata', `unusable discovery metadata: ${problem}`);
    return new SaifuClient(SaifuClient.#token, {
      public: { issuer: as.issuer, clientId, metadata: Object.freeze({ ...as }) },
      clientSecret,
      as,
      fetch: fetchImpl,
      oauthOptions,
      maxRetries,
      timeoutMs,
    });
  }

  /**
   * Pushes the authorization request (PAR with PKCE S256 and `authorization_details`) and
   * returns the URL to send the shopper to, and `pending`: plain JSON to keep in the shopper's
   * session until the callback. `pending` holds the PKCE verifier: keep it server-side.
   */
  async startCheckout(details, { redirectUri } = {}) {
    const redirect = parseUrl(redirectUri, 'the redirectUri');
    const payment = normalizeDetails(details);
    const state = oauth.generateRandomState();
    const codeVerifier = oauth.generateRandomCodeVerifier();
    const params = new URLSearchParams({
      response_type: 'code',
      client_id: this.clientId,
      redirect_uri: redirect.href,
      state,
      code_challenge: await oauth.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: 'S256',
      authorization_details: JSON.stringify([payment]),
    });
    let pushed;
    try {
      const response = await oauth.pushedAuthorizationRequest(this.#as, this.#client, this.#clientAuth, params, this.#oauthOptions);
      pushed = await oauth.processPushedAuthorizationResponse(this.#as, this.#client, response);
    } catch (err) {
      throw await fromOAuth(err, 'pushed authorization request');
    }
    const authorizationUrl = new URL(this.#as.authorization_endpoint);
    authorizationUrl.searchParams.set('client_id', this.clientId);
    authorizationUrl.searchParams.set('request_uri', pushed.request_uri);
    return {
      authorizationUrl: authorizationUrl.href,
      pending: { state, codeVerifier, redirectUri: redirect.href, orderReference: payment.order_reference },
    };
  }

  /**
   * Handles the wallet's redirect back: checks `state` and `iss` (RFC 9207) before anything
   * else, exchanges the code and verifies the grant against the JWKS. `callbackUrl` is the full
   * URL the shopper's browser requested (a string or a URL).
   */
  async completeCheckout(callbackUrl, pending) {
    const url = callbackUrl instanceof URL ? callbackUrl : parseUrl(callbackUrl, 'the callback URL');
    if (!pending || typeof pending.state !== 'string' || !pending.state || typeof pending.codeVerifier !== 'string') {
      throw sdkError('invalid_pending', 'the pending checkout is missing or malformed');
    }
    const params = url.searchParams;
    // A response to a request this session did not make (CSRF, injected code) or from another
    // authorization server (mix-up, RFC 9207) is dropped unread.
    if (single(params, 'state') !== pending.state) throw sdkError('state_mismatch', 'the callback\'s state is not the pending checkout\'s');
    if (single(params, 'iss') !== this.#as.issuer) throw sdkError('issuer_mismatch', 'the callback\'s iss is missing or is not the wallet\'s issuer');
    const error = single(params, 'error');
    if (error === 'access_denied') throw sdkError('access_denied', 'the shopper declined the payment');
    if (error) {
      const description = single(params, 'error_description');
      throw sdkError(error, `the wallet ended the authorization with ${error}${description ? ` (${description})` : ''}`, { detail: description, source: 'oauth' });
    }
    if (!single(params, 'code')) throw sdkError('missing_code', 'the callback carries no authorization code');

    let token;
    try {
      const checked = oauth.validateAuthResponse(this.#as, this.#client, params, pending.state);
      const response = await oauth.authorizationCodeGrantRequest(
        this.#as, this.#client, this.#clientAuth, checked, pending.redirectUri ?? '', pending.codeVerifier, this.#oauthOptions,
      );
      token = await oauth.processAuthorizationCodeResponse(this.#as, this.#client, response);
    } catch (err) {
      throw await fromOAuth(err, 'token');
    }
    const claims = await this.verifyGrant(token.access_token);
    if (pending.orderReference && claims.authorization_details?.[0]?.order_reference !== pending.orderReference) {
      throw sdkError('grant_verification_failed', 'invalid payment grant: it is for another order');
    }
    return new Grant({
      token: token.access_token,
      expiresIn: token.expires_in,
      authorizationDetails: token.authorization_details ?? [],
      claims,
    });
  }

  /**
   * Verifies a grant JWT offline: ES256 only, `typ` `at+jwt`, a key of the wallet's JWKS
   * (cached; an unknown `kid` refetches at most once a second), and `iss`, `aud`, `exp` and
   * `client_id` for this merchant. Returns its claims.
   */
  async verifyGrant(jwt) {
    const token = jwt instanceof Grant ? jwt.token : jwt;
    if (typeof token !== 'string') throw sdkError('grant_verification_failed', 'invalid payment grant: it is not a string');
    let payload;
    try {
      ({ payload } = await jose.jwtVerify(token, this.#jwks, {
        algorithms: ['ES256'],
        typ: GRANT_TYP,
        issuer: this.#as.issuer,
        audience: this.#audience,
        clockTolerance: EXP_LEEWAY_SECS,
        requiredClaims: ['iss', 'aud', 'exp', 'sub', 'client_id', 'authorization_details'],
      }));
    } catch (err) {
      if (err instanceof SaifuError) throw err;
      if (err instanceof TypeError || err?.code === 'ERR_JWKS_TIMEOUT') throw networkError(err);
      throw sdkError('grant_verification_failed', `invalid payment grant: ${grantRejection(err)}`);
    }
    if (payload.client_id !== this.clientId) {
      throw sdkError('grant_verification_failed', 'invalid payment grant: it was issued to another merchant (client_id)');
    }
    const details = payload.authorization_details;
    if (!Array.isArray(details) || details.length !== 1 || details[0]?.type !== PAYMENT_TYPE) {
      throw sdkError('grant_verification_failed', 'invalid payment grant: it carries no payment details');
    }
    return payload;
  }

  /**
   * Verifies a receipt (from `payments.receipt`, or one a shopper sends you): ES256 only, `typ`
   * `saifu-receipt+jwt`, a key of the wallet's JWKS, and `iss`. Returns its content.
   */
  async verifyReceipt(jws) {
    if (typeof jws !== 'string') throw sdkError('receipt_verification_failed', 'invalid receipt: it is not a string');
    try {
      const { payload } = await jose.jwtVerify(jws.trim(), this.#jwks, {
        algorithms: ['ES256'],
        typ: RECEIPT_TYP,
        issuer: this.#as.issuer,
        requiredClaims: ['iss', 'payment_reference', 'grant_id', 'merchant', 'amount'],
      });
      return payload;
    } catch (err) {
      if (err instanceof SaifuError) throw err;
      if (err instanceof TypeError || err?.code === 'ERR_JWKS_TIMEOUT') throw networkError(err);
      const why = err?.code === 'ERR_JWT_CLAIM_VALIDATION_FAILED' && err.claim === 'typ'
        ? 'its typ is not saifu-receipt+jwt'
        : grantRejection(err);
      throw sdkError('receipt_verification_failed', `invalid receipt: ${why}`);
    }
  }

  /**
   * One request to the payments API, retried on network errors and 5xx answers with the same
   * idempotency key (so a retry never charges twice).
   */
  async #request(method, path, { body, idempotencyKey, query } = {}) {
    const url = new URL(path, this.#as.issuer);
    for (const [k, v] of Object.entries(query ?? {})) url.searchParams.set(k, v);
    const headers = {
      authorization: basicAuth(this.clientId, this.#clientSecret),
      accept: 'application/json',
    };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (method === 'POST') headers['idempotency-key'] = idempotencyKey ?? randomToken();
    const payload = body === undefined ? undefined : JSON.stringify(body);
    for (let attempt = 0; ; attempt++) {
      let failure;
      try {
        const response = await this.#fetch(url, {
          method,
          headers,
          body: payload,
          redirect: 'manual',
          signal: AbortSignal.timeout(this.#timeoutMs),
        });
        const text = await response.text();
        let json = null;
        try {
          json = text ? JSON.parse(text) : null;
        } catch {
          // not JSON
        }
        if (response.ok && json && typeof json === 'object') return json;
        failure = response.ok
          ? sdkError('unexpected_response', `the wallet answered HTTP ${response.status} without a JSON body`, { status: response.status })
          : problemError(response.status, json && typeof json.code === 'string' ? json : null);
      } catch (err) {
        failure = err instanceof SaifuError ? err : networkError(err);
      }
      const retryable = failure.code === 'network_error' || failure.status >= 500;
      if (!retryable || attempt >= this.#maxRetries) throw failure;
      await new Promise((r) => setTimeout(r, 200 * 3 ** attempt));
    }
  }

  toJSON() {
    return { issuer: this.issuer, clientId: this.clientId };
  }

  [INSPECT](depth, options, inspect) {
    return `SaifuClient ${inspect({ issuer: this.issuer, clientId: this.clientId, clientSecret: REDACTED }, options)}`;
  }
}

/**
 * `{ currency, amount, orderReference, lineItems, requireShipping }` or wire-style
 * `authorization_details` (with `shipping: { required: true }`, passed on for the wallet to check).
 */
function normalizeDetails(d) {
  if (!d || typeof d !== 'object') throw sdkError('invalid_request', 'the payment details are missing');
  const amount = d.instructed_amount ?? { currency: d.currency, amount: d.amount };
  const orderReference = d.order_reference ?? d.orderReference;
  if (typeof amount.currency !== 'string' || typeof amount.amount !== 'string') {
    throw sdkError('invalid_request', 'the payment needs a currency and an amount, both strings ("JPY", "12800")');
  }
  if (typeof orderReference !== 'string' || !orderReference) throw sdkError('invalid_request', 'the payment needs an orderReference');
  const items = (d.line_items ?? d.lineItems ?? []).map((i) => ({
    name: i.name,
    quantity: i.quantity,
    unit_amount: i.unit_amount ?? i.unitAmount,
  }));
  return {
    type: PAYMENT_TYPE,
    instructed_amount: { currency: amount.currency, amount: amount.amount },
    order_reference: orderReference,
    ...(items.length ? { line_items: items } : {}),
    ...(d.shipping !== undefined ? { shipping: d.shipping } : d.requireShipping ? { shipping: { required: true } } : {}),
  };
}

/** Every amount the payments API takes has one shape: `{ currency: 'JPY', amount: '12800' }`. */
function wireAmount(amount, what) {
  if (!amount || typeof amount.currency !== 'string' || typeof amount.amount !== 'string') {
    throw sdkError('invalid_request', `${what} needs an amount { currency, amount }, both strings ({ currency: 'JPY', amount: '12800' })`);
  }
  return { currency: amount.currency, amount: amount.amount };
}

const segment = (id, what = 'a payment id') => {
  if (typeof id !== 'string' || !id) throw sdkError('invalid_request', `${what} is needed`);
  return encodeURIComponent(id);
};

const DISPUTE_STATUSES = ['open', 'evidence_received', 'resolving', 'resolved'];

/** The payments API (`/v1/payments`). Every POST carries an idempotency key, generated unless given. */
class Payments {
  #request;
  constructor(client, request) {
    this.#request = request;
    Object.freeze(this);
  }

  /**
   * Redeems a grant (a `Grant` or its JWT) for `amount` (`{ currency, amount }`, at most the
   * granted amount; defaults to the granted amount when `grant` is a `Grant`), capturing at once
   * unless `capture` is false.
   */
  async create({ grant, amount, capture = true, idempotencyKey } = {}) {
    const token = grant instanceof Grant ? grant.token : grant;
    if (typeof token !== 'string' || !token) throw sdkError('invalid_request', 'a grant is needed');
    const chosen = amount ?? (grant instanceof Grant ? grant.payment?.instructed_amount : undefined);
    if (!chosen) throw sdkError('invalid_request', 'an amount ({ currency, amount }) is needed');
    return this.#request('POST', '/v1/payments', {
      body: { grant: token, amount: { currency: chosen.currency, amount: chosen.amount }, capture: Boolean(capture) },
      idempotencyKey,
    });
  }

  /** Captures an authorization: all of it, or `amount` (`{ currency, amount }`). */
  async capture(paymentId, { amount, idempotencyKey } = {}) {
    return this.#request('POST', `/v1/payments/${segment(paymentId)}/capture`, {
      body: amount === undefined ? {} : { amount: wireAmount(amount, 'a capture') },
      idempotencyKey,
    });
  }

  /** Releases an uncaptured authorization. */
  async void(paymentId, { idempotencyKey } = {}) {
    return this.#request('POST', `/v1/payments/${segment(paymentId)}/void`, { body: {}, idempotencyKey });
  }

  /** Refunds part or all of a captured payment: `amount` is `{ currency, amount }`. */
  async refund(paymentId, { amount, idempotencyKey } = {}) {
    return this.#request('POST', `/v1/payments/${segment(paymentId)}/refunds`, {
      body: { amount: wireAmount(amount, 'a refund') },
      idempotencyKey,
    });
  }

  async get(paymentId) {
    return this.#request('GET', `/v1/payments/${segment(paymentId)}`);
  }

  /**
   * The receipt the wallet signed when the shopper approved this payment: a compact JWS
   * (`client.verifyReceipt` checks it and gives its content).
   */
  async receipt(paymentId) {
    const { receipt } = await this.#request('GET', `/v1/payments/${segment(paymentId)}/receipt`);
    return receipt;
  }

  /** The latest payment for one of your order references. */
  async findByOrderReference(orderReference) {
    if (typeof orderReference !== 'string' || !orderReference) throw sdkError('invalid_request', 'an order reference is needed');
    return this.#request('GET', '/v1/payments', { query: { order_reference: orderReference } });
  }
}

/**
 * The disputes API (`/v1/disputes`): the disputes shoppers opened on your payments, and your
 * answer to each, within its `respond_by`.
 */
class Disputes {
  #request;
  constructor(request) {
    this.#request = request;
    Object.freeze(this);
  }

  /** Your disputes, newest first; `status` narrows them (`open`, `evidence_received`, `resolving`, `resolved`). */
  async list({ status } = {}) {
    if (status !== undefined && !DISPUTE_STATUSES.includes(status)) {
      throw sdkError('invalid_request', `status must be one of ${DISPUTE_STATUSES.join(', ')}`);
    }
    const answer = await this.#request('GET', '/v1/disputes', { query: status === undefined ? {} : { status } });
    return answer.disputes;
  }

  async get(disputeId) {
    return this.#request('GET', `/v1/disputes/${segment(disputeId, 'a dispute id')}`);
  }

  /**
   * Answers a dispute: `{ accept: true }` refunds the disputed amount at once; `{ evidence: {
   * text, carrier?, trackingNumber? } }` sends your side to the issuer, who decides.
   */
  async respond(disputeId, answer, { idempotencyKey } = {}) {
    let body;
    if (answer?.accept === true) {
      body = { accept: true };
    } else if (answer?.evidence && typeof answer.evidence.text === 'string' && answer.evidence.text.trim()) {
      const e = answer.evidence;
      body = {
        evidence: {
          text: e.text,
          ...(e.carrier ? { carrier: e.carrier } : {}),
          ...((e.trackingNumber ?? e.tracking_number) ? { tracking_number: e.trackingNumber ?? e.tracking_number } : {}),
        },
      };
    } else {
      throw sdkError('invalid_request', 'answer { accept: true } or { evidence: { text, carrier?, trackingNumber? } }');
    }
    return this.#request('POST', `/v1/disputes/${segment(disputeId, 'a dispute id')}/respond`, { body, idempotencyKey });
  }
}

/**
 * The points statements API (`/v1/points/statements`): your monthly statement of the points
 * issued at your shop that your campaigns fund and the points redeemed there that the programme
 * reimburses.
 */
class Points {
  #request;
  constructor(request) {
    this.#request = request;
    Object.freeze(this);
  }

  /**
   * Your statement for `month` (`YYYY-MM`, a UTC calendar month). A month without activity has
   * no lines; one not written `YYYY-MM`, before 2000-01 or after next month is `invalid_month`.
   */
  async statement(month) {
    if (typeof month !== 'string') throw sdkError('invalid_request', 'month is a string, YYYY-MM');
    return this.#request('GET', '/v1/points/statements', { query: { month } });
  }
}
