-- Events leave the service: the forward feed, the live stream and webhooks follow the
-- log in sequence order. SQLite has one writer, so sequence order is commit order and
-- the log needs no change here (PostgreSQL records when a number settles).

-- Where a webhook endpoint's owner is told about changes. The signing secret is not
-- stored: it is derived from the endpoint's id and `generation` with the server's key,
-- so a copy of the database signs nothing. A rotation keeps the previous generation's
-- signature until `previous_until`.
CREATE TABLE webhook_endpoints (
    id              BLOB PRIMARY KEY,
    url             TEXT NOT NULL,
    description     TEXT NOT NULL DEFAULT '',
    -- The event kinds it follows, separated by spaces, or NULL for every kind.
    kinds           TEXT,
    -- The subtree it follows; NULL: everything (platform endpoints).
    space_id        BLOB REFERENCES spaces (id),
    space_path      TEXT,
    enabled         INTEGER NOT NULL,
    disabled_reason TEXT,
    generation      INTEGER NOT NULL,
    previous_until  INTEGER,
    -- Events after this sequence number are for it (the log's end at its creation).
    from_seq        INTEGER NOT NULL,
    failing_since   INTEGER,
    created_by      TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    deleted_at      INTEGER
) STRICT;
CREATE INDEX webhook_endpoints_by_space ON webhook_endpoints (space_path);

-- How far the log has been fanned out into deliveries (one row).
CREATE TABLE webhook_dispatch (
    id     INTEGER PRIMARY KEY CHECK (id = 1),
    cursor INTEGER NOT NULL
) STRICT;
INSERT INTO webhook_dispatch (id, cursor) VALUES (1, coalesce((SELECT max(seq) FROM events), 0));

-- One event for one endpoint: an outbox item. `next_attempt_at` doubles as the lease.
CREATE TABLE webhook_deliveries (
    id              BLOB PRIMARY KEY,
    endpoint_id     BLOB NOT NULL REFERENCES webhook_endpoints (id),
    event_seq       INTEGER NOT NULL,
    state           TEXT NOT NULL,
    attempts        INTEGER NOT NULL,
    next_attempt_at INTEGER NOT NULL,
    last_error      TEXT,
    created_at      INTEGER NOT NULL,
    delivered_at    INTEGER
) STRICT;
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE state = 'queued';
CREATE INDEX webhook_deliveries_by_endpoint ON webhook_deliveries (endpoint_id, id);

-- Every attempt, for the delivery log: what the receiver answered and how fast.
CREATE TABLE webhook_attempts (
    delivery_id BLOB NOT NULL REFERENCES webhook_deliveries (id),
    attempt     INTEGER NOT NULL,
    endpoint_id BLOB NOT NULL,
    at          INTEGER NOT NULL,
    status      INTEGER,
    latency_ms  INTEGER NOT NULL,
    response    TEXT,
    error       TEXT,
    PRIMARY KEY (delivery_id, attempt)
) STRICT;
CREATE INDEX webhook_attempts_by_endpoint ON webhook_attempts (endpoint_id, at);

-- Invitations that lapsed are told once: the sweeper marks them here.
ALTER TABLE invitations ADD COLUMN expiry_told INTEGER NOT NULL DEFAULT 0;
CREATE INDEX invitations_expiry_untold ON invitations (expires_at) WHERE status = 'pending' AND NOT expiry_told;
