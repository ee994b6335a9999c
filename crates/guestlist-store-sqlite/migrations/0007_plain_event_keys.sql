-- Events keyed by a plain INTEGER PRIMARY KEY, without a unique index on their id
-- (SQLite). Append-only: never edit an applied migration.
-- Events are never deleted, so the largest seq + 1 (what a plain INTEGER PRIMARY KEY
-- takes) only grows, as AUTOINCREMENT's counter did, without updating a row of
-- sqlite_sequence at every append. An event's id is a UUID v7 made with it and never
-- looked up by; its unique index was one more B-tree written per event. Together they
-- were ~9 % of the writer's time per new invite (docs/PERFORMANCE.md).
CREATE TABLE events_plain (
    seq        INTEGER PRIMARY KEY,
    id         BLOB NOT NULL,
    kind       TEXT NOT NULL,
    space_id   BLOB,
    space_path TEXT,
    actor      TEXT NOT NULL,
    subject    TEXT,
    data       TEXT NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;
INSERT INTO events_plain (seq, id, kind, space_id, space_path, actor, subject, data, created_at)
    SELECT seq, id, kind, space_id, space_path, actor, subject, data, created_at FROM events;
DROP TABLE events;
ALTER TABLE events_plain RENAME TO events;
CREATE INDEX events_by_space ON events (space_path, seq);
DELETE FROM sqlite_sequence WHERE name = 'events';
