-- Disputes (issue 15): a shopper reports a problem with a captured payment, the merchant
-- answers (accepts, or sends evidence) before `respond_by`, and the issuer decides. A decision
-- for the shopper refunds through the processor; where that fails for good, the guarantee fund
-- pays the shopper up to a cap. Instants are Unix seconds; amounts are minor units.
CREATE TABLE disputes (
    id                   TEXT PRIMARY KEY,          -- dsp_ + random
    payment_id           TEXT NOT NULL REFERENCES payments (id),
    client_id            TEXT NOT NULL REFERENCES merchants (client_id),
    user_id              TEXT NOT NULL REFERENCES users (id),
    reason               TEXT NOT NULL,             -- not_received | not_as_described | unauthorized | duplicate
    description          TEXT NOT NULL,
    amount_minor         BIGINT NOT NULL,
    currency             TEXT NOT NULL,
    status               TEXT NOT NULL,             -- open | evidence_received | resolving | resolved
    opened_at            BIGINT NOT NULL,
    respond_by           BIGINT NOT NULL,
    evidence             TEXT,                      -- JSON: {"text", "carrier", "tracking_number"}
    responded_at         BIGINT,
    decision             TEXT,                      -- merchant_accepted | for_shopper | for_merchant
    decision_reason      TEXT,
    decided_by           TEXT,                      -- admin:<id>, or merchant:<client id>
    decided_at           BIGINT,
    outcome              TEXT,                      -- refunded | guarantee_paid | rejected
    refund_id            TEXT,
    guarantee_paid_minor BIGINT,
    unpaid_minor         BIGINT,                    -- what the cap left unpaid
    resolved_at          BIGINT,
    lease_until          BIGINT,                    -- while resolving: until when a node holds it
    CHECK (amount_minor > 0)
);
-- One dispute per payment that is not resolved: a second one, even racing, is refused here.
CREATE UNIQUE INDEX disputes_one_open ON disputes (payment_id) WHERE status <> 'resolved';
CREATE INDEX disputes_client ON disputes (client_id, opened_at);
CREATE INDEX disputes_user ON disputes (user_id, opened_at);
CREATE INDEX disputes_status ON disputes (status, respond_by);

-- The guarantee fund, a double-entry ledger: each posting's entries sum to zero. A payout moves
-- from `fund` to `paid_out`, a contribution from `issuer` to `fund`. The fund may go below zero.
CREATE TABLE guarantee_entries (
    id           TEXT PRIMARY KEY,
    posting_id   TEXT NOT NULL,
    dispute_id   TEXT REFERENCES disputes (id),     -- NULL for a contribution
    account      TEXT NOT NULL,                     -- fund | paid_out | issuer
    amount_minor BIGINT NOT NULL,
    currency     TEXT NOT NULL,
    at           BIGINT NOT NULL,
    memo         TEXT NOT NULL
);
CREATE INDEX guarantee_entries_account ON guarantee_entries (account, currency);
CREATE UNIQUE INDEX guarantee_entries_payout ON guarantee_entries (dispute_id, account) WHERE dispute_id IS NOT NULL;

-- When a payment was captured: the dispute window runs from then. Payments captured before
-- this migration count from when they were made.
ALTER TABLE payments ADD COLUMN captured_at BIGINT;
UPDATE payments SET captured_at = created_at WHERE status = 'captured';
