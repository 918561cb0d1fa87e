-- The card vault. The card number exists only as AES-256-GCM ciphertext under a per-card data
-- key; the data key is stored wrapped by a versioned key-encryption key. Brand, last four,
-- expiry and holder are kept in clear for display. The CVC is never stored.

CREATE TABLE cards (
    id                TEXT PRIMARY KEY,
    user_id           TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    brand             TEXT NOT NULL,
    last4             TEXT NOT NULL,
    exp_month         BIGINT NOT NULL,
    exp_year          BIGINT NOT NULL,
    holder            TEXT NOT NULL,
    fingerprint       TEXT NOT NULL,          -- keyed HMAC of owner and number: duplicate check
    number_ciphertext BLOB NOT NULL,          -- nonce ‖ ciphertext ‖ tag; card id and owner are the AAD
    wrapped_key       BLOB NOT NULL,          -- the data key, wrapped by KEK version kek_version
    kek_version       BIGINT NOT NULL,
    is_default        BIGINT NOT NULL DEFAULT 0,
    created_at        BIGINT NOT NULL,
    UNIQUE (user_id, fingerprint)
);
CREATE INDEX cards_user_id ON cards (user_id);
CREATE INDEX cards_kek_version ON cards (kek_version);
-- At most one default card per shopper.
CREATE UNIQUE INDEX cards_one_default ON cards (user_id) WHERE is_default = 1;
