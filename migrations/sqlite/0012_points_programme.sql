-- The points programme (issue 14): the issuer's rules as numbered versions, merchant-funded
-- campaigns with a start and an end, and lots that know who funds them and which payment made
-- them. Amounts of money are minor units; instants are Unix seconds.

-- Every change of the programme is a new row; the highest version is the one in force. A
-- payment records the version it used, so a change applies to new payments only.
CREATE TABLE points_programmes (
    version            BIGINT PRIMARY KEY,
    earn_jpy           BIGINT NOT NULL CHECK (earn_jpy > 0),      -- minor units spent per point earned
    earn_usd           BIGINT NOT NULL CHECK (earn_usd > 0),
    value_jpy          BIGINT NOT NULL CHECK (value_jpy > 0),     -- minor units a point is worth
    value_usd          BIGINT NOT NULL CHECK (value_usd > 0),
    expiry_months      BIGINT NOT NULL CHECK (expiry_months BETWEEN 1 AND 120),
    expiry_rolling     BIGINT NOT NULL CHECK (expiry_rolling IN (0, 1)), -- 1: any earn extends every lot
    min_redeem_points  BIGINT NOT NULL CHECK (min_redeem_points >= 0),
    max_redeem_points  BIGINT CHECK (max_redeem_points IS NULL OR max_redeem_points > 0),
    max_redeem_percent BIGINT NOT NULL CHECK (max_redeem_percent BETWEEN 1 AND 100),
    created_at         BIGINT NOT NULL,
    created_by         TEXT NOT NULL
);

-- A merchant-funded multiplier, in force from `starts_at` (inclusive) to `ends_at` (exclusive).
-- Campaigns of one merchant never overlap; ending one early moves its `ends_at`.
CREATE TABLE points_campaigns (
    id                 TEXT PRIMARY KEY,
    client_id          TEXT NOT NULL REFERENCES merchants (client_id),
    multiplier_percent BIGINT NOT NULL CHECK (multiplier_percent BETWEEN 101 AND 1000),
    starts_at          BIGINT NOT NULL,
    ends_at            BIGINT NOT NULL,
    created_at         BIGINT NOT NULL,
    created_by         TEXT NOT NULL,
    CHECK (ends_at > starts_at)
);
CREATE INDEX points_campaigns_client ON points_campaigns (client_id, starts_at);

-- A multiplier set before campaigns existed becomes a campaign without an end (9999-12-31).
INSERT INTO points_campaigns (id, client_id, multiplier_percent, starts_at, ends_at, created_at, created_by)
SELECT 'cmp_' || client_id, client_id, points_multiplier_percent, 0, 253402300799, created_at, 'system'
FROM merchants WHERE points_multiplier_percent > 100;
ALTER TABLE merchants DROP COLUMN points_multiplier_percent;

-- What an approval used: the programme version and the campaign multiplier shown.
ALTER TABLE consents ADD COLUMN points_programme_version BIGINT;
ALTER TABLE consents ADD COLUMN points_multiplier_percent BIGINT;
-- The same, copied to the payment its grant made (NULL version: made before versions, version 1).
ALTER TABLE payments ADD COLUMN points_programme_version BIGINT;
ALTER TABLE payments ADD COLUMN points_multiplier_percent BIGINT NOT NULL DEFAULT 100;

-- Lots: who funds them (`issuer`, or `merchant:<client_id>` for a campaign's share), the
-- payment that made them, whether earned or given back by a refund, the points credited, and
-- what refunds took back (`reversed`) or could not, because the shopper had spent them
-- (`unreversed`).
ALTER TABLE points_lots ADD COLUMN funder TEXT NOT NULL DEFAULT 'issuer';
ALTER TABLE points_lots ADD COLUMN payment_id TEXT;
ALTER TABLE points_lots ADD COLUMN source TEXT NOT NULL DEFAULT 'earn';
ALTER TABLE points_lots ADD COLUMN points BIGINT NOT NULL DEFAULT 0;
ALTER TABLE points_lots ADD COLUMN reversed BIGINT NOT NULL DEFAULT 0;
ALTER TABLE points_lots ADD COLUMN unreversed BIGINT NOT NULL DEFAULT 0;
UPDATE points_lots SET points = remaining;
CREATE INDEX points_lots_payment ON points_lots (payment_id);
-- Statements read a month of entries by account.
CREATE INDEX points_entries_kind ON points_entries (kind, created_at);
-- Earned points a payment's refunds could not take back because the shopper had spent them.
ALTER TABLE payments ADD COLUMN points_unreversed BIGINT NOT NULL DEFAULT 0;
