-- Invite indexes in ascending order (SQLite). Append-only: never edit an applied migration.
-- New invites have the latest created_at, so an ascending index takes them at its
-- end, where a full page is split cheaply; a descending one took them at its start,
-- rebalancing pages with their neighbours. Lists read the same index backwards.
DROP INDEX invites_by_created;
DROP INDEX invites_by_space;
DROP INDEX invites_by_creator;
CREATE INDEX invites_by_created ON invites (created_at, id);
CREATE INDEX invites_by_space ON invites (space_path, created_at, id);
CREATE INDEX invites_by_creator ON invites (created_by, created_at, id);
