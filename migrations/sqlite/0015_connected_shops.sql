-- Connected shops (issue 19): a shopper's own settings for each shop they pay, and the
-- approvals counted toward a shop's monthly cap. Amounts are minor units; instants are Unix
-- seconds; months are UTC calendar months.

-- A shopper's row for one shop: made at the first approval (its row lock orders concurrent
-- approvals at that shop), and where a block is kept.
CREATE TABLE connected_shops (
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    client_id  TEXT NOT NULL REFERENCES merchants (client_id) ON DELETE CASCADE,
    blocked_at BIGINT,                            -- NULL while the shop is not blocked
    PRIMARY KEY (user_id, client_id)
);

-- The most a shopper lets one shop take in a UTC calendar month, per currency.
CREATE TABLE shop_caps (
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    client_id  TEXT NOT NULL REFERENCES merchants (client_id) ON DELETE CASCADE,
    currency   TEXT NOT NULL,
    cap_minor  BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, client_id, currency),
    CHECK (cap_minor > 0)
);

-- Every approval at a shop, with its amount: counted toward the month while no payment was
-- made from it and it could still become one (until `counts_until`).
CREATE TABLE shop_approvals (
    consent_id   TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL,
    client_id    TEXT NOT NULL,
    currency     TEXT NOT NULL,
    amount_minor BIGINT NOT NULL,
    approved_at  BIGINT NOT NULL,
    counts_until BIGINT NOT NULL
);
CREATE INDEX shop_approvals_user ON shop_approvals (user_id, client_id, approved_at);
-- Finds the grant (and so the payment) made from an approval.
CREATE INDEX grants_consent ON grants (consent_id);
