-- Webhooks: a durable outbox written in the same transaction as the change it announces, the
-- delivery state of each event, a log of attempts, and the merchant's endpoint state.

-- During a webhook-secret rotation the previous secret keeps signing until it expires. It is
-- wrapped by the KEK under the same context as the current one (the merchant's client id).
ALTER TABLE merchants ADD COLUMN webhook_prev_secret_wrapped BLOB;
ALTER TABLE merchants ADD COLUMN webhook_prev_kek_version BIGINT;
ALTER TABLE merchants ADD COLUMN webhook_prev_expires_at BIGINT;
-- Set after the last retry failed or the endpoint answered 410; deliveries wait until an
-- issuer enables the endpoint again.
ALTER TABLE merchants ADD COLUMN webhook_disabled_at BIGINT;
ALTER TABLE merchants ADD COLUMN webhook_disabled_reason TEXT;

CREATE TABLE webhook_events (
    id              TEXT PRIMARY KEY,             -- evt_…, sent as webhook-id
    client_id       TEXT NOT NULL REFERENCES merchants (client_id),
    event_type      TEXT NOT NULL,                -- payment.captured, dispute.opened, …
    subject_id      TEXT NOT NULL,                -- the payment (dispute, merchant) it is about
    payload         TEXT NOT NULL,                -- the exact JSON body, identical on every attempt
    created_at      BIGINT NOT NULL,
    state           TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_ms BIGINT NOT NULL,
    lease_token     TEXT,                         -- the node delivering it now
    lease_until_ms  BIGINT,
    last_status     BIGINT,                       -- HTTP status of the last attempt, if any
    last_error      TEXT,
    delivered_at    BIGINT
);
CREATE INDEX webhook_events_due ON webhook_events (state, next_attempt_ms);
CREATE INDEX webhook_events_merchant ON webhook_events (client_id, created_at);
CREATE INDEX webhook_events_subject ON webhook_events (subject_id);

CREATE TABLE webhook_attempts (
    event_id    TEXT NOT NULL REFERENCES webhook_events (id),
    attempt     BIGINT NOT NULL,
    at_ms       BIGINT NOT NULL,
    status      BIGINT,                           -- HTTP status, or NULL when none came back
    error       TEXT,                             -- why it failed, never the body or secrets
    duration_ms BIGINT NOT NULL,
    PRIMARY KEY (event_id, attempt)
);
