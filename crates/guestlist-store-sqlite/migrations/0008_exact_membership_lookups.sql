-- The user index of memberships holds the space too, as on PostgreSQL (its 0008).
-- Append-only: never edit an applied migration.
-- SQLite plans a (space, user) lookup on the unique index whatever its statistics;
-- this keeps the two engines' user index alike. PostgreSQL's 0008 also makes the
-- join-order index partial on `created_at IS NOT NULL`; SQLite keeps it whole, since
-- it drops that term (always true on a NOT NULL column) before matching partial
-- indexes, and the member list would then sort the whole space.
DROP INDEX memberships_by_user;
CREATE INDEX memberships_by_user ON memberships (user_id, space_id);
