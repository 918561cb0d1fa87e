-- The card authorization made when the shopper approves a payment, so that a decline is told
-- on the consent page, where another card can be chosen. It is recorded before the card
-- network is called (state `authorizing`, held by the approving node until `lease_until`) and
-- keyed by the id of the grant the approval will give; the approval's own transaction moves it
-- to `approved`. The payment that redeems the grant adopts it (`adopted`) instead of
-- authorizing again. An authorization whose approval never committed, or whose grant lapsed
-- unredeemed (`void_after`), is voided (`voiding`, then `voided`) by the reconciler.

CREATE TABLE approval_authorizations (
    grant_jti    TEXT PRIMARY KEY,
    consent_id   TEXT NOT NULL,
    user_id      TEXT NOT NULL,
    card_id      TEXT NOT NULL,
    currency     TEXT NOT NULL,
    amount_minor BIGINT NOT NULL,
    state        TEXT NOT NULL,        -- authorizing, approved, adopted, declined, failed, voiding, voided
    reference    TEXT,                 -- the processor's authorization, once known
    decline_code TEXT,
    lease_until  BIGINT NOT NULL,
    void_after   BIGINT NOT NULL,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL
);

CREATE INDEX approval_authorizations_open ON approval_authorizations (state, lease_until);
