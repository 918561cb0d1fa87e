-- The audit log: every administrative and security-relevant change, one row per change,
-- written in the same transaction as the change. Rows are hash-chained: `hash` is SHA-256
-- over `prev_hash` and the canonical entry (see src/audit/chain.rs and the README, "Audit
-- log"), so editing, removing or reordering a row is detected by `saifu audit verify`.
-- `sequence` counts 1, 2, 3… without gaps: appends are serialized, and a rolled-back change
-- takes its entry with it.
CREATE TABLE audit_log (
    sequence    BIGINT PRIMARY KEY,
    at          BIGINT NOT NULL,                 -- Unix seconds
    actor       TEXT NOT NULL,                   -- cli | system | admin:<id>
    action      TEXT NOT NULL,                   -- merchant.created, signing_key.rotated, …
    target      TEXT NOT NULL,                   -- what was acted on (a client id, a key id, …)
    details     TEXT NOT NULL,                   -- canonical JSON object; never a secret
    prev_hash   TEXT NOT NULL,                   -- the previous entry's hash (64 zeros for the first)
    hash        TEXT NOT NULL
);
CREATE INDEX audit_log_target ON audit_log (target, sequence);
CREATE INDEX audit_log_action ON audit_log (action, sequence);
