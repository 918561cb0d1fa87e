-- The shopper a session is signed in as (the `user_id` of its data), so that loading the
-- session reads the shopper with it. NULL when signed out, and in rows written before this
-- column: the shopper of such a session is then read on its own.

ALTER TABLE sessions ADD COLUMN user_id TEXT;
