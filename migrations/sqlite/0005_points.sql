-- The points ledger: double-entry and append-only. Accounts are named
-- `shopper:<user>:available`, `shopper:<user>:held`, `issuer:liability` and
-- `merchant:<client>:campaign`. The entries of every posting sum to zero; balances are kept
-- beside them in the same transaction, and a shopper's balance can never go below zero.

ALTER TABLE merchants ADD COLUMN points_multiplier_percent BIGINT NOT NULL DEFAULT 100;
ALTER TABLE grants ADD COLUMN consent_id TEXT;
ALTER TABLE payments ADD COLUMN points_reversed BIGINT NOT NULL DEFAULT 0;
ALTER TABLE payments ADD COLUMN points_restored BIGINT NOT NULL DEFAULT 0;

CREATE TABLE points_entries (
    id          TEXT PRIMARY KEY,
    posting_id  TEXT NOT NULL,                    -- the legs of one posting share it
    account     TEXT NOT NULL,
    amount      BIGINT NOT NULL,                  -- signed
    kind        TEXT NOT NULL,                    -- earn | hold | redeem | release | reverse | restore | expire
    payment_id  TEXT,
    created_at  BIGINT NOT NULL
);
CREATE INDEX points_entries_account ON points_entries (account, created_at);
CREATE INDEX points_entries_payment ON points_entries (payment_id);

CREATE TABLE points_balances (
    account TEXT PRIMARY KEY,
    balance BIGINT NOT NULL,
    CHECK (balance >= 0 OR account NOT LIKE 'shopper:%')
);

-- Available points by when they were earned, so that they expire (and are spent) oldest first.
CREATE TABLE points_lots (
    id          TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL,
    remaining   BIGINT NOT NULL CHECK (remaining >= 0),
    expires_at  BIGINT NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX points_lots_user ON points_lots (user_id, expires_at);

-- Points held at approval, until the payment captures (posted), voids or the grant lapses (released).
CREATE TABLE points_holds (
    consent_id  TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL,
    points      BIGINT NOT NULL,
    status      TEXT NOT NULL,                    -- held | in_payment | posted | released
    expires_at  BIGINT NOT NULL
);
CREATE INDEX points_holds_expires ON points_holds (status, expires_at);

-- Which lots a hold took points from, to put them back on release.
CREATE TABLE points_hold_lots (
    consent_id TEXT NOT NULL,
    lot_id     TEXT NOT NULL,
    points     BIGINT NOT NULL,
    PRIMARY KEY (consent_id, lot_id)
);
