-- A membership is looked up by (space, user) on every authorization and every join
-- (PostgreSQL). Append-only: never edit an applied migration.
--
-- That lookup must read one index entry, whatever the statistics say. A prepared
-- statement runs on a generic plan, made once per connection for any user and space;
-- it was free to reach the rows through two other indexes, filtering the rest:
--   * memberships_by_join (space_id, created_at, id): every member of the space.
--     A generic plan made while the table looked empty (a new database), or while the
--     average space was small, tied it with the unique (space_id, user_id) index and
--     could pick it. The benchmark caught a join reading ~1,500 buffers per lookup this way.
--   * memberships_by_user (user_id): every membership of the user, thousands for a
--     service account that belongs to every space.
-- Now the user index holds the space too, so it finds the one entry, and the join-order
-- index is partial on a predicate only the member list states, so no (space, user)
-- lookup can be planned through it.
DROP INDEX memberships_by_user;
CREATE INDEX memberships_by_user ON memberships (user_id, space_id);
DROP INDEX memberships_by_join;
CREATE INDEX memberships_by_join ON memberships (space_id, created_at, id) WHERE created_at IS NOT NULL;
