-- Idempotency keys are kept for a day; this index finds the old ones (PostgreSQL;
-- same version as SQLite's). Append-only: never edit an applied migration.
CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_at);
