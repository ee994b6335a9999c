-- Idempotency keys are kept for a day; this index finds the old ones (SQLite).
-- Append-only: never edit an applied migration.
CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_at);
