-- Counters split into shard rows (PostgreSQL; same version as SQLite's). Append-only.
-- The use count of a link without a use limit and the member count of a space without
-- a member limit are the row's plus its shards': concurrent redemptions of one popular
-- link add to different shard rows instead of queueing on the link's row until each
-- commit is flushed. Limited links and spaces keep the exact single-row guard; setting
-- a limit folds the shards into the row first (under the row's lock).
CREATE TABLE counter_shards (
    owner_id UUID NOT NULL,
    shard    BIGINT NOT NULL,
    delta    BIGINT NOT NULL,
    PRIMARY KEY (owner_id, shard)
);
