-- Every door, the same rules (docs/SECURITY.md).
--
-- A code is unique across every link, whatever form it was stored in: a link whose
-- code is known here (chosen, carried over) claims the keyed hashes of its code's
-- digests, and a link carried over as a digest claims that digest's, so that a chosen
-- code and another system's digest of the same code can never both be links. A claim
-- is the first 16 bytes of the keyed hash; a link claims its forms before it is
-- inserted, and gives them back in the same transaction if it is not.
CREATE TABLE invite_code_digests (
    digest_hash BYTEA PRIMARY KEY
);

-- A mirrored link's external id names it within its space: another space cannot
-- squat an id a later mirror needs.
DROP INDEX invites_by_external_id;
CREATE UNIQUE INDEX invites_by_external_id ON invites (space_id, external_id) WHERE external_id IS NOT NULL;

-- An identity asserted by a SCIM key counts only within that key's subtree (its
-- root path); NULL for identities a token verified or the host set.
ALTER TABLE user_identities ADD COLUMN scope TEXT;
