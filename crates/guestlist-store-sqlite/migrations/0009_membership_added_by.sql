-- Who added a pending membership (an owner's add, waiting for the user's consent): the
-- sponsor whose rights it must stay within. A sponsor whose rights shrink loses the
-- pending adds beyond them, as they lose their links and invitations.
ALTER TABLE memberships ADD COLUMN added_by TEXT;
CREATE INDEX memberships_added_by ON memberships (added_by) WHERE added_by IS NOT NULL;
