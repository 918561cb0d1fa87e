-- Money operations that survive a crash, and the simulated processor's own state.
--
-- A payment records the card-network step in flight (`operation`) and until when the node
-- that started it holds it (`operation_until`). After that a retry with the same
-- Idempotency-Key (`request_key`) or the reconciler takes it over and finishes it with the
-- same processor idempotency key. A refund is `pending` until the processor answers; until
-- then its amount is only reserved (`refunding_minor`), not refunded.

ALTER TABLE payments ADD COLUMN operation TEXT;             -- authorize | authorize_capture | capture | void
ALTER TABLE payments ADD COLUMN operation_amount BIGINT;    -- capture: the amount to capture
ALTER TABLE payments ADD COLUMN operation_until BIGINT;
ALTER TABLE payments ADD COLUMN request_key TEXT;           -- the Idempotency-Key of the request that made it
ALTER TABLE payments ADD COLUMN operation_key TEXT;         -- the Idempotency-Key of the latest capture or void
ALTER TABLE payments ADD COLUMN refunding_minor BIGINT NOT NULL DEFAULT 0;
CREATE INDEX payments_operation ON payments (operation_until) WHERE operation IS NOT NULL;

ALTER TABLE refunds ADD COLUMN lease_until BIGINT;
ALTER TABLE refunds ADD COLUMN request_key TEXT;
CREATE INDEX refunds_pending ON refunds (lease_until) WHERE status = 'pending';
CREATE INDEX refunds_request ON refunds (payment_id, request_key);

-- The simulated processor: it keeps its authorizations, captures and saved replies in the
-- database, like a remote service, so every node sees the same card network.
CREATE TABLE sim_replies (
    slot        TEXT PRIMARY KEY,                -- operation:idempotency key
    reply       TEXT NOT NULL,                   -- the saved result, replayed to a repeat
    effect      BIGINT NOT NULL,                 -- 1 when the operation took effect
    created_at  BIGINT NOT NULL
);

CREATE TABLE sim_authorizations (
    reference    TEXT PRIMARY KEY,
    currency     TEXT NOT NULL,
    amount_minor BIGINT NOT NULL,
    state        TEXT NOT NULL                   -- open | captured | voided
);

CREATE TABLE sim_captures (
    reference      TEXT PRIMARY KEY,
    authorization_ref TEXT NOT NULL REFERENCES sim_authorizations (reference),
    currency       TEXT NOT NULL,
    amount_minor   BIGINT NOT NULL,
    refunded_minor BIGINT NOT NULL DEFAULT 0
);
