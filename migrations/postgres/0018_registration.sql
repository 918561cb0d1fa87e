-- Dynamic registration of merchants (RFC 7591, managed per RFC 7592). A registered merchant
-- keeps the digest of its registration access token and the metadata it registered; it starts
-- pending like any other. A name that imitates a verified merchant's is kept for the issuer's
-- review with the name it resembles. A deleted registration keeps its row for the payments
-- that name it, but no credential of it works again. The issuer's switch for registration is
-- kept here so that every node sees it.

ALTER TABLE merchants ADD COLUMN registration_token_hash TEXT;  -- SHA-256 (hex); NULL if the issuer created it
ALTER TABLE merchants ADD COLUMN token_endpoint_auth_method TEXT;
ALTER TABLE merchants ADD COLUMN client_uri TEXT;
ALTER TABLE merchants ADD COLUMN logo_uri TEXT;
ALTER TABLE merchants ADD COLUMN review_resembles TEXT;         -- the verified merchant's name it imitates
ALTER TABLE merchants ADD COLUMN deleted_at BIGINT;

CREATE TABLE issuer_switches (
    name       TEXT PRIMARY KEY,                -- registration
    is_on      BIGINT NOT NULL,                 -- 1 on, 0 off; no row means the default (on)
    changed_at BIGINT NOT NULL,
    changed_by TEXT NOT NULL
);
