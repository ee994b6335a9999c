-- Events without a unique index on their id (PostgreSQL). Append-only: never edit an
-- applied migration.
-- An event's id is a UUID v7 made with it and never looked up by; its unique index was
-- one more B-tree written per event. `seq` (an identity column) stays the key, as on
-- SQLite, whose 0007 also drops AUTOINCREMENT's counter row.
ALTER TABLE events DROP CONSTRAINT IF EXISTS events_id_key;
