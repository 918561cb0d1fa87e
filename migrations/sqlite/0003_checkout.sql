-- Merchants (OAuth clients), the wallet's grant-signing keys, and the checkout flow's state:
-- pushed authorization requests, consents, authorization codes and payment grants.

CREATE TABLE merchants (
    client_id              TEXT PRIMARY KEY,
    secret_hash            TEXT NOT NULL,         -- SHA-256 (hex) of a 256-bit random secret
    name                   TEXT NOT NULL,
    domain                 TEXT NOT NULL,
    status                 TEXT NOT NULL,         -- pending | verified | suspended
    webhook_url            TEXT,
    webhook_secret_wrapped BLOB NOT NULL,        -- wrapped by the KEK, bound to the client id
    webhook_kek_version    BIGINT NOT NULL,
    created_at             BIGINT NOT NULL
);

CREATE TABLE merchant_redirect_uris (
    client_id TEXT NOT NULL REFERENCES merchants (client_id) ON DELETE CASCADE,
    uri       TEXT NOT NULL,
    PRIMARY KEY (client_id, uri)
);

CREATE TABLE signing_keys (
    kid             TEXT PRIMARY KEY,
    private_sealed  BLOB NOT NULL,               -- PKCS#8 ES256 key, AES-256-GCM under wrapped_key
    wrapped_key     BLOB NOT NULL,               -- that data key, wrapped by the KEK
    kek_version     BIGINT NOT NULL,
    public_x        TEXT NOT NULL,                -- JWK coordinates, base64url
    public_y        TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    retired_at      BIGINT,                       -- no longer signs
    publish_until   BIGINT                        -- stays in the JWKS until every grant it signed expired
);

CREATE TABLE par_requests (
    id_hash        TEXT PRIMARY KEY,              -- SHA-256 of the request_uri's random part
    client_id      TEXT NOT NULL REFERENCES merchants (client_id) ON DELETE CASCADE,
    redirect_uri   TEXT NOT NULL,
    state          TEXT NOT NULL,
    code_challenge TEXT NOT NULL,
    details        TEXT NOT NULL,                 -- the validated authorization_details (JSON)
    expires_at     BIGINT NOT NULL,
    used_at        BIGINT
);
CREATE INDEX par_requests_expires_at ON par_requests (expires_at);

CREATE TABLE consents (
    id             TEXT PRIMARY KEY,              -- random; also bound to the browser session
    client_id      TEXT NOT NULL REFERENCES merchants (client_id) ON DELETE CASCADE,
    redirect_uri   TEXT NOT NULL,
    state          TEXT NOT NULL,
    code_challenge TEXT NOT NULL,
    details        TEXT NOT NULL,
    status         TEXT NOT NULL,                 -- pending | approved | denied
    user_id        TEXT REFERENCES users (id) ON DELETE CASCADE,
    card_id        TEXT,
    expires_at     BIGINT NOT NULL,
    created_at     BIGINT NOT NULL
);
CREATE INDEX consents_expires_at ON consents (expires_at);

CREATE TABLE auth_codes (
    code_hash      TEXT PRIMARY KEY,              -- SHA-256 of the code, never the code
    consent_id     TEXT NOT NULL REFERENCES consents (id) ON DELETE CASCADE,
    client_id      TEXT NOT NULL,
    redirect_uri   TEXT NOT NULL,
    code_challenge TEXT NOT NULL,
    user_id        TEXT NOT NULL,
    card_id        TEXT NOT NULL,
    details        TEXT NOT NULL,
    expires_at     BIGINT NOT NULL,
    used_at        BIGINT,
    replayed_at    BIGINT,                        -- set when the code came back a second time
    grant_jti      TEXT
);

CREATE TABLE grants (
    jti           TEXT PRIMARY KEY,
    client_id     TEXT NOT NULL REFERENCES merchants (client_id) ON DELETE CASCADE,
    user_id       TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    card_id       TEXT NOT NULL,
    currency      TEXT NOT NULL,
    amount_minor  BIGINT NOT NULL,
    details       TEXT NOT NULL,
    expires_at    BIGINT NOT NULL,
    revoked_at    BIGINT,
    consumed_at   BIGINT,
    created_at    BIGINT NOT NULL
);
CREATE INDEX grants_client_id ON grants (client_id);
