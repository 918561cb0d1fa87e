-- Shopper accounts, passkeys, WebAuthn ceremony state, sessions and sign-in rate limits.
-- Instants are Unix seconds (BIGINT) on both backends.

CREATE TABLE users (
    id               TEXT PRIMARY KEY,          -- UUID; also the WebAuthn user handle
    email            TEXT NOT NULL,             -- as the shopper typed it (trimmed)
    email_normalized TEXT NOT NULL UNIQUE,      -- lower case: one account per address
    display_name     TEXT NOT NULL,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL
);

CREATE TABLE passkeys (
    id            TEXT PRIMARY KEY,
    user_id       TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    credential_id TEXT NOT NULL UNIQUE,         -- base64url
    name          TEXT NOT NULL,
    credential    TEXT NOT NULL,                -- webauthn-rs Passkey as JSON (public key only)
    sign_count    BIGINT NOT NULL DEFAULT 0,
    created_at    BIGINT NOT NULL,
    last_used_at  BIGINT
);
CREATE INDEX passkeys_user_id ON passkeys (user_id);

CREATE TABLE ceremonies (
    id         TEXT PRIMARY KEY,                -- random, held only in the owner's session
    kind       TEXT NOT NULL,
    state      TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX ceremonies_expires_at ON ceremonies (expires_at);

CREATE TABLE sessions (
    id_hash    TEXT PRIMARY KEY,                -- SHA-256 of the session id, never the id
    data       TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_expires_at ON sessions (expires_at);

CREATE TABLE rate_limits (
    key          TEXT PRIMARY KEY,
    window_start BIGINT NOT NULL,
    count        BIGINT NOT NULL
);
