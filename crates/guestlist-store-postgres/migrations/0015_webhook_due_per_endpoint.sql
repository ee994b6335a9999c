-- What is due is read per endpoint (those at their cap of attempts in flight are
-- skipped), so a backlog for a busy receiver is never scanned to find another's.
-- The index over all endpoints' due deliveries is then unused, and dropped.
CREATE INDEX webhook_deliveries_due_per_endpoint
    ON webhook_deliveries (endpoint_id, next_attempt_at) WHERE state = 'queued';
DROP INDEX webhook_deliveries_due;
