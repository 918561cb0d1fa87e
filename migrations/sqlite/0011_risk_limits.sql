-- Risk limits (issue 14): the issuer's limits per currency, edited in the console, and the
-- per-shopper counters the approvals move. Amounts are minor units; a NULL limit is no limit.
-- Instants are Unix seconds.
CREATE TABLE risk_limits (
    currency               TEXT PRIMARY KEY,    -- JPY | USD
    per_payment            BIGINT,              -- the largest payment
    per_payment_unverified BIGINT,              -- the largest payment to a merchant not verified
    daily_total            BIGINT,              -- a shopper's approved total per UTC day
    hourly_count           BIGINT,              -- a shopper's approved payments per UTC hour
    updated_at             BIGINT NOT NULL,
    CHECK (per_payment IS NULL OR per_payment > 0),
    CHECK (per_payment_unverified IS NULL OR per_payment_unverified > 0),
    CHECK (daily_total IS NULL OR daily_total > 0),
    CHECK (hourly_count IS NULL OR hourly_count > 0)
);

INSERT INTO risk_limits (currency, updated_at) VALUES ('JPY', 0), ('USD', 0);

-- What a shopper's approvals added up to in one window: the UTC day (`span` 'day') or the
-- UTC clock hour ('hour') that starts at `starts_at`. Moved by a conditional update in the
-- approval's own transaction, so concurrent approvals on any node never pass a limit together.
CREATE TABLE risk_counters (
    user_id      TEXT NOT NULL REFERENCES users (id),
    currency     TEXT NOT NULL,
    span         TEXT NOT NULL,
    starts_at    BIGINT NOT NULL,
    amount_minor BIGINT NOT NULL,
    payments     BIGINT NOT NULL,
    PRIMARY KEY (user_id, currency, span, starts_at)
);
