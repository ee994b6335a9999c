-- SCIM 2.0 provisioning. An API key may be a SCIM key, bound to a space subtree
-- (its root): it serves /scim/v2 only, for that subtree. The users an identity
-- provider provisions are kept per root, as the provider sent them (the resource's
-- attributes as JSON); a group is a space within the root, and what the provider put
-- in it is kept apart from the memberships it gives (a deactivated user keeps their
-- groups and loses the memberships; reactivated, gets them back).
ALTER TABLE api_keys ADD COLUMN scim_root TEXT;

CREATE TABLE scim_users (
    id            UUID PRIMARY KEY,
    root          TEXT NOT NULL,
    user_id       TEXT NOT NULL,
    user_name_key TEXT NOT NULL,
    external_id   TEXT,
    active        BOOLEAN NOT NULL,
    resource      TEXT NOT NULL,
    version       BIGINT NOT NULL,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);
CREATE UNIQUE INDEX scim_users_by_user_name ON scim_users (root, user_name_key);
CREATE UNIQUE INDEX scim_users_by_user_id ON scim_users (root, user_id);
CREATE INDEX scim_users_by_external_id ON scim_users (root, external_id);

-- A space seen as a group: its external id, its version, and whether the provider
-- deleted the group (the space stays; it is no longer shown as a group).
CREATE TABLE scim_groups (
    space_id    UUID PRIMARY KEY REFERENCES spaces (id),
    root        TEXT NOT NULL,
    external_id TEXT,
    deleted     BOOLEAN NOT NULL,
    version     BIGINT NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);

CREATE TABLE scim_group_members (
    space_id     UUID NOT NULL REFERENCES spaces (id),
    scim_user_id UUID NOT NULL REFERENCES scim_users (id) ON DELETE CASCADE,
    PRIMARY KEY (space_id, scim_user_id)
);
CREATE INDEX scim_group_members_by_user ON scim_group_members (scim_user_id);

-- The identities a SCIM user carries are the user's known identities too, kept apart
-- ('scim') so that the provider's list replaces only what the provider said.
ALTER TABLE user_identities DROP CONSTRAINT user_identities_source_check;
ALTER TABLE user_identities ADD CONSTRAINT user_identities_source_check
    CHECK (source IN ('token', 'host', 'scim'));
