-- The issuer console: admins (separate from shoppers), their passkeys, one-time invitations,
-- frozen shoppers, and the reason behind a merchant's vetting status.
CREATE TABLE admins (
    id               TEXT PRIMARY KEY,          -- UUID; also the WebAuthn user handle
    email            TEXT NOT NULL,
    email_normalized TEXT NOT NULL UNIQUE,      -- lower case: one admin per address
    role             TEXT NOT NULL,             -- owner | operator | support | auditor
    created_at       BIGINT NOT NULL
);

CREATE TABLE admin_passkeys (
    id            TEXT PRIMARY KEY,
    admin_id      TEXT NOT NULL REFERENCES admins (id) ON DELETE CASCADE,
    credential_id TEXT NOT NULL UNIQUE,         -- base64url
    name          TEXT NOT NULL,
    credential    TEXT NOT NULL,                -- webauthn-rs Passkey as JSON (public key only)
    sign_count    BIGINT NOT NULL DEFAULT 0,
    created_at    BIGINT NOT NULL,
    last_used_at  BIGINT
);
CREATE INDEX admin_passkeys_admin_id ON admin_passkeys (admin_id);

-- An invitation is found by the SHA-256 of its token; the token itself is only in the link.
CREATE TABLE admin_invites (
    token_hash  TEXT PRIMARY KEY,
    email       TEXT NOT NULL,
    role        TEXT NOT NULL,
    invited_by  TEXT NOT NULL,                  -- cli | admin:<id>
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    used_at     BIGINT,
    admin_id    TEXT                            -- the admin it created, once used
);

-- A frozen shopper cannot sign in, approve a payment, or have a grant redeemed.
ALTER TABLE users ADD COLUMN frozen_at BIGINT;
ALTER TABLE users ADD COLUMN frozen_reason TEXT;

-- Why the merchant has its vetting status (shown in the console), and since when.
ALTER TABLE merchants ADD COLUMN status_reason TEXT;
ALTER TABLE merchants ADD COLUMN status_changed_at BIGINT;
