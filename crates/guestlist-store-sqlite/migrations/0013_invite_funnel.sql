-- Each link's funnel, counted in aggregate and naming no one: how often its landing
-- page was viewed and how often a visitor set off from it to sign in. (Joins are the
-- memberships that name it; requests the join requests that do.) Counted in memory and
-- added here every few seconds.
CREATE TABLE invite_funnel (
    invite_id BLOB PRIMARY KEY REFERENCES invites (id),
    views     INTEGER NOT NULL DEFAULT 0,
    sign_ins  INTEGER NOT NULL DEFAULT 0
) STRICT;
-- The requests a link brought, counted per link for the console.
CREATE INDEX join_requests_by_invite ON join_requests (invite_id) WHERE invite_id IS NOT NULL;
-- And the members it brought (a link's uses count requests too).
CREATE INDEX memberships_by_invite ON memberships (invite_id) WHERE invite_id IS NOT NULL;
