-- Signed receipts (issue 19): one per approval, written in the approval's own transaction. The
-- grant id is chosen at approval (the receipt names it) and kept on the code until the grant
-- is issued; a payment finds its receipt through its grant.
CREATE TABLE receipts (
    consent_id  TEXT PRIMARY KEY REFERENCES consents (id),
    grant_jti   TEXT NOT NULL UNIQUE,            -- the grant the approval gives; payments.grant_jti
    user_id     TEXT NOT NULL REFERENCES users (id),
    client_id   TEXT NOT NULL,
    jws         TEXT NOT NULL,                   -- compact JWS, typ saifu-receipt+jwt
    created_at  BIGINT NOT NULL
);
CREATE INDEX receipts_user ON receipts (user_id);
