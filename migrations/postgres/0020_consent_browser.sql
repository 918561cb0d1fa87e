-- The browser a consent was opened in: the SHA-256 (hex) of a random key that the browser's
-- session keeps from its first page on (and across the new session id of a sign-in). Only a
-- request whose session holds that key may use the consent. Consents opened before this
-- column have none; their browser is the one whose session lists them.

ALTER TABLE consents ADD COLUMN browser_hash TEXT;
