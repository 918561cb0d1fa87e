// One error class for everything the SDK can report. It never carries a secret: no client
// secret, authorization code, PKCE verifier, grant or webhook secret reaches its message or
// its fields.

const INSPECT = Symbol.for('nodejs.util.inspect.custom');

/**
 * `code` is stable and meant for programs: a problem code of the payments API
 * (`card_declined`, `payment_not_found`, …), an RFC 6749 error of the OAuth endpoints
 * (`invalid_client`, `invalid_grant`, …), or one of the SDK's own (`state_mismatch`,
 * `issuer_mismatch`, `access_denied`, `grant_verification_failed`, `receipt_verification_failed`, `network_error`,
 * `webhook_signature_invalid`, …). `source` says which: `problem`, `oauth` or `sdk`.
 */
export class SaifuError extends Error {
  constructor(message, { code, status = null, detail = null, declineCode = null, problem = null, source = 'sdk', retryable = false, cause } = {}) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'SaifuError';
    this.code = code;
    this.status = status;
    this.detail = detail;
    this.decline_code = declineCode;
    /** The RFC 9457 problem document as the wallet sent it, for `source: 'problem'`. */
    this.problem = problem;
    this.source = source;
    /** True when trying again (with the same idempotency key) is safe and may succeed. */
    this.retryable = retryable;
  }

  /** Alias of `decline_code` in JavaScript style. */
  get declineCode() {
    return this.decline_code;
  }

  toJSON() {
    return {
      name: this.name,
      message: this.message,
      code: this.code,
      status: this.status,
      detail: this.detail,
      decline_code: this.decline_code,
      source: this.source,
      retryable: this.retryable,
    };
  }

  [INSPECT]() {
    return `SaifuError [${this.code}${this.status ? ` ${this.status}` : ''}]: ${this.message}`;
  }
}

/** A problem (RFC 9457) answer of the payments API. */
export function problemError(status, problem) {
  const code = typeof problem?.code === 'string' ? problem.code : 'unexpected_status';
  const detail = typeof problem?.detail === 'string' ? problem.detail : null;
  return new SaifuError(`the wallet refused the request (HTTP ${status}): ${code}${detail ? ` (${detail})` : ''}`, {
    code,
    status,
    detail,
    declineCode: typeof problem?.decline_code === 'string' ? problem.decline_code : null,
    problem: problem ?? null,
    source: problem ? 'problem' : 'sdk',
    // A 409 `idempotency_key_in_use` is retryable too (the first request with the key still
    // runs; the same key later gets its answer), but not retried automatically: as the Rust
    // SDK, the SDK gives it to the caller at once.
    retryable: status >= 500 || code === 'idempotency_key_in_use',
  });
}

/** An RFC 6749 error answer of the PAR or token endpoint. */
export function oauthError(status, error, description) {
  return new SaifuError(`the wallet refused the request (HTTP ${status}): ${error}${description ? ` (${description})` : ''}`, {
    code: error,
    status,
    detail: description ?? null,
    problem: { error, ...(description ? { error_description: description } : {}) },
    source: 'oauth',
    retryable: status >= 500,
  });
}

export function sdkError(code, message, extra = {}) {
  return new SaifuError(message, { code, source: 'sdk', ...extra });
}
