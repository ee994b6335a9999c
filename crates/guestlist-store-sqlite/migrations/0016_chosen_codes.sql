-- Links whose code was chosen (a vanity code) or carried over from another system
-- keep that code sealed (encrypted with a key derived from the link secret, so that
-- its managers can be shown it again) and, for chosen codes, a keyed hash of its
-- confusable skeleton (no two chosen codes read alike). A link mirrored from another
-- system is named by that system's id.
ALTER TABLE invites ADD COLUMN code_sealed BLOB;
ALTER TABLE invites ADD COLUMN code_skeleton BLOB;
ALTER TABLE invites ADD COLUMN external_id TEXT;
CREATE UNIQUE INDEX invites_by_code_skeleton ON invites (code_skeleton) WHERE code_skeleton IS NOT NULL;
CREATE UNIQUE INDEX invites_by_external_id ON invites (external_id) WHERE external_id IS NOT NULL;
