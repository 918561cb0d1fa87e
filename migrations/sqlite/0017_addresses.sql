-- Shipping addresses the shopper keeps in the wallet (Japanese format: postal code NNN-NNNN,
-- one of the 47 prefectures in romaji), one of them the default; and, on a consent approved
-- for a merchant that asked for shipping, a copy (JSON) of the address the shopper chose, so
-- that later edits do not change what the merchant received.

CREATE TABLE addresses (
    id          TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    postal_code TEXT NOT NULL,
    prefecture  TEXT NOT NULL,
    city        TEXT NOT NULL,
    line1       TEXT NOT NULL,
    line2       TEXT,
    phone       TEXT NOT NULL,
    country     TEXT NOT NULL DEFAULT 'JP',
    is_default  BIGINT NOT NULL DEFAULT 0,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    position    BIGINT NOT NULL             -- the order they were added in, per shopper
);
CREATE INDEX addresses_user_id ON addresses (user_id);
-- At most one default address per shopper.
CREATE UNIQUE INDEX addresses_one_default ON addresses (user_id) WHERE is_default = 1;

ALTER TABLE consents ADD COLUMN shipping_address TEXT;
