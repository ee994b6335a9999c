-- The same indexes on memberships as PostgreSQL's 0008 (SQLite). Append-only: never
-- edit an applied migration.
-- SQLite already plans a (space, user) lookup on the unique index, whatever the
-- statistics; the two engines keep one schema. The user index holds the space too,
-- and the join-order index serves only a query that states `created_at IS NOT NULL`
-- (always true): the member list.
DROP INDEX memberships_by_user;
CREATE INDEX memberships_by_user ON memberships (user_id, space_id);
DROP INDEX memberships_by_join;
CREATE INDEX memberships_by_join ON memberships (space_id, created_at, id) WHERE created_at IS NOT NULL;
