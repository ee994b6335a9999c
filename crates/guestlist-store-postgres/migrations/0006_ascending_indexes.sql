-- Invite indexes in ascending order (PostgreSQL). Append-only: never edit an applied
-- migration. New invites have the latest created_at, so an ascending index takes them
-- at its rightmost page, which splits leaving full pages behind; a descending one took
-- them at its leftmost, splitting pages half-empty. Lists read the same index backwards.
DROP INDEX invites_by_created;
DROP INDEX invites_by_space;
DROP INDEX invites_by_creator;
CREATE INDEX invites_by_created ON invites (created_at, id);
CREATE INDEX invites_by_space ON invites (space_path, created_at, id);
CREATE INDEX invites_by_creator ON invites (created_by, created_at, id);
