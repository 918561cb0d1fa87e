-- Payments made by redeeming grants, their refunds, and the idempotency keys of the
-- payments API. Amounts are integers in minor units.

CREATE TABLE payments (
    id              TEXT PRIMARY KEY,
    client_id       TEXT NOT NULL REFERENCES merchants (client_id),
    user_id         TEXT NOT NULL REFERENCES users (id),
    card_id         TEXT NOT NULL,                -- no foreign key: the card may be removed later
    card_brand      TEXT NOT NULL,
    card_last4      TEXT NOT NULL,
    grant_jti       TEXT NOT NULL UNIQUE,         -- one payment per grant, ever
    currency        TEXT NOT NULL,
    amount_minor    BIGINT NOT NULL,
    captured_minor  BIGINT NOT NULL DEFAULT 0,
    refunded_minor  BIGINT NOT NULL DEFAULT 0,
    status          TEXT NOT NULL,                -- pending | authorized | captured | voided | declined
    decline_code    TEXT,
    order_reference TEXT NOT NULL,
    authorization_ref TEXT,
    capture_ref     TEXT,
    points_earned   BIGINT NOT NULL DEFAULT 0,
    points_redeemed BIGINT NOT NULL DEFAULT 0,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    CHECK (refunded_minor <= captured_minor AND captured_minor <= amount_minor)
);
CREATE INDEX payments_client_order ON payments (client_id, order_reference);
CREATE INDEX payments_user ON payments (user_id, created_at);

CREATE TABLE refunds (
    id             TEXT PRIMARY KEY,
    payment_id     TEXT NOT NULL REFERENCES payments (id),
    amount_minor   BIGINT NOT NULL,
    status         TEXT NOT NULL,                 -- pending | succeeded
    processor_ref  TEXT,
    created_at     BIGINT NOT NULL
);
CREATE INDEX refunds_payment ON refunds (payment_id);

CREATE TABLE idempotency_keys (
    client_id     TEXT NOT NULL,
    endpoint      TEXT NOT NULL,                  -- method and path
    idem_key      TEXT NOT NULL,
    request_hash  TEXT NOT NULL,                  -- SHA-256 of the request body
    status        BIGINT,                         -- NULL while the first request runs
    body          BLOB,
    content_type  TEXT,
    locked_until  BIGINT NOT NULL,                -- a crashed first request frees the key then
    expires_at    BIGINT NOT NULL,
    PRIMARY KEY (client_id, endpoint, idem_key)
);
CREATE INDEX idempotency_keys_expires_at ON idempotency_keys (expires_at);
