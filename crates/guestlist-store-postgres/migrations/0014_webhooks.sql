-- Events leave the service: the forward feed, the live stream and webhooks follow the
-- log in sequence order, so a follower must know when everything below a number is
-- final. Numbers are drawn in one order and committed in another, so each row records
-- `settles_at`, a transaction id assigned after its number was drawn: every
-- transaction that drew a smaller number had its id, taken before its draw, below it.
-- Once the oldest running transaction is at or past `settles_at`
-- (pg_snapshot_xmin), nothing at or below this number can still commit.
--
-- The number is drawn by a trigger after the transaction has its id. A snapshot's xmax
-- is only the latest completed id + 1, not the next id to be assigned, so the id
-- assigned after the draw is taken from a subtransaction that writes one row to an
-- unlogged scratch table and rolls back (the row's xmin is that id).
ALTER TABLE events ALTER COLUMN seq DROP IDENTITY;
CREATE SEQUENCE events_seq OWNED BY events.seq;
SELECT setval('events_seq', coalesce((SELECT max(seq) FROM events), 0) + 1, false);
ALTER TABLE events ADD COLUMN settles_at xid8;
CREATE UNLOGGED TABLE events_clock (tick INTEGER);

CREATE FUNCTION events_number() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    top numeric;
    low numeric;
    later xid;
    l numeric;
BEGIN
    IF NEW.seq IS NULL THEN
        top := pg_current_xact_id()::text::numeric;
        NEW.seq := nextval('events_seq');
        BEGIN
            INSERT INTO events_clock VALUES (1) RETURNING xmin INTO later;
            RAISE EXCEPTION USING ERRCODE = 'GLCLK';
        EXCEPTION WHEN SQLSTATE 'GLCLK' THEN
            NULL;
        END;
        -- xmin is a 32-bit id: give it the epoch of this transaction's 64-bit id (the
        -- next one, when the counter wrapped in between).
        low := mod(top, 4294967296);
        l := later::text::numeric;
        IF l < low THEN
            l := l + 4294967296;
        END IF;
        NEW.settles_at := (top - low + l)::text::xid8;
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER events_number BEFORE INSERT ON events
    FOR EACH ROW EXECUTE FUNCTION events_number();

-- Where a webhook endpoint's owner is told about changes. The signing secret is not
-- stored: it is derived from the endpoint's id and `generation` with the server's key,
-- so a copy of the database signs nothing. A rotation keeps the previous generation's
-- signature until `previous_until`.
CREATE TABLE webhook_endpoints (
    id              UUID PRIMARY KEY,
    url             TEXT NOT NULL,
    description     TEXT NOT NULL DEFAULT '',
    -- The event kinds it follows, separated by spaces, or NULL for every kind.
    kinds           TEXT,
    -- The subtree it follows; NULL: everything (platform endpoints).
    space_id        UUID REFERENCES spaces (id),
    space_path      TEXT COLLATE "C",
    enabled         BOOLEAN NOT NULL,
    disabled_reason TEXT,
    generation      BIGINT NOT NULL,
    previous_until  BIGINT,
    -- Events after this sequence number are for it (the log's end at its creation).
    from_seq        BIGINT NOT NULL,
    failing_since   BIGINT,
    created_by      TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    deleted_at      BIGINT
);
CREATE INDEX webhook_endpoints_by_space ON webhook_endpoints (space_path);

-- How far the log has been fanned out into deliveries (one row).
CREATE TABLE webhook_dispatch (
    id     INTEGER PRIMARY KEY CHECK (id = 1),
    cursor BIGINT NOT NULL
);
INSERT INTO webhook_dispatch (id, cursor) VALUES (1, coalesce((SELECT max(seq) FROM events), 0));

-- One event for one endpoint: an outbox item. `next_attempt_at` doubles as the lease.
CREATE TABLE webhook_deliveries (
    id              UUID PRIMARY KEY,
    endpoint_id     UUID NOT NULL REFERENCES webhook_endpoints (id),
    event_seq       BIGINT NOT NULL,
    state           TEXT NOT NULL,
    attempts        BIGINT NOT NULL,
    next_attempt_at BIGINT NOT NULL,
    last_error      TEXT,
    created_at      BIGINT NOT NULL,
    delivered_at    BIGINT
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE state = 'queued';
CREATE INDEX webhook_deliveries_by_endpoint ON webhook_deliveries (endpoint_id, id);

-- Every attempt, for the delivery log: what the receiver answered and how fast.
CREATE TABLE webhook_attempts (
    delivery_id UUID NOT NULL REFERENCES webhook_deliveries (id),
    attempt     BIGINT NOT NULL,
    endpoint_id UUID NOT NULL,
    at          BIGINT NOT NULL,
    status      BIGINT,
    latency_ms  BIGINT NOT NULL,
    response    TEXT,
    error       TEXT,
    PRIMARY KEY (delivery_id, attempt)
);
CREATE INDEX webhook_attempts_by_endpoint ON webhook_attempts (endpoint_id, at);

-- Invitations that lapsed are told once: the sweeper marks them here.
ALTER TABLE invitations ADD COLUMN expiry_told BOOLEAN NOT NULL DEFAULT FALSE;
CREATE INDEX invitations_expiry_untold ON invitations (expires_at) WHERE status = 'pending' AND NOT expiry_told;
