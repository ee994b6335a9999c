-- Counters split into shard rows (SQLite). Append-only: never edit an applied migration.
-- Used by engines with concurrent writers (PostgreSQL) for the use count of a link
-- without a use limit and the member count of a space without a member limit: the
-- true count is the row's plus its shards'. SQLite has one writer and leaves it empty;
-- the table exists so both schemas (and exports) have the same shape.
CREATE TABLE counter_shards (
    owner_id BLOB NOT NULL,
    shard    INTEGER NOT NULL,
    delta    INTEGER NOT NULL,
    PRIMARY KEY (owner_id, shard)
) STRICT;
