-- Account recovery without SMS (issue 19): one-time recovery codes kept only as Argon2id
-- hashes, recoveries started by the issuer's support with a one-time link that works after a
-- cool-down, and the shopper's own list of these account-security events. Instants are Unix
-- seconds.

-- Raised when the shopper recovers the account: every session signed in before then ends.
ALTER TABLE users ADD COLUMN session_epoch BIGINT NOT NULL DEFAULT 0;

-- The shopper's current set of codes; a new set replaces the old one whole.
CREATE TABLE recovery_codes (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash  TEXT NOT NULL,              -- Argon2id PHC string; the set shares one salt
    created_at BIGINT NOT NULL,
    used_at    BIGINT                      -- set once, when the code signs the shopper in
);
CREATE INDEX recovery_codes_user ON recovery_codes (user_id);

-- Recoveries started from the console. At most one is pending per shopper.
CREATE TABLE recovery_requests (
    id          TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash  TEXT NOT NULL UNIQUE,      -- SHA-256 of the link's token, hex
    started_by  TEXT NOT NULL,             -- the audit log's actor
    created_at  BIGINT NOT NULL,
    usable_at   BIGINT NOT NULL,           -- the end of the cool-down
    expires_at  BIGINT NOT NULL,
    state       TEXT NOT NULL,             -- pending | cancelled | completed | replaced
    ended_at    BIGINT,
    notice      BIGINT NOT NULL DEFAULT 0, -- 1 while the shopper has not dismissed the cancellation notice
    CHECK (state IN ('pending', 'cancelled', 'completed', 'replaced'))
);
CREATE INDEX recovery_requests_user ON recovery_requests (user_id, state);

-- What the shopper's Activity lists under "Account security".
CREATE TABLE account_security_events (
    id      TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind    TEXT NOT NULL,
    at      BIGINT NOT NULL
);
CREATE INDEX account_security_events_user ON account_security_events (user_id, at);
