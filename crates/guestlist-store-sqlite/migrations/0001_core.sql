-- Guestlist core schema (SQLite). Append-only: never edit an applied migration.
-- Times are Unix milliseconds (INTEGER); ids are UUID v7 (16-byte BLOB).

-- What people are invited into. Paths end in '/' and form a tree (acme/, acme/eng/).
CREATE TABLE spaces (
    id           BLOB PRIMARY KEY,
    path         TEXT NOT NULL UNIQUE,
    name         TEXT NOT NULL,
    join_mode    TEXT NOT NULL CHECK (join_mode IN ('open', 'invite_only', 'request')),
    -- NULL: no limit. member_count is maintained in the same transaction as every
    -- membership change, so a limit check is one conditional UPDATE, never a COUNT.
    member_limit INTEGER CHECK (member_limit IS NULL OR member_limit >= 0),
    member_count INTEGER NOT NULL DEFAULT 0 CHECK (member_count >= 0),
    created_at   INTEGER NOT NULL,
    created_by   TEXT NOT NULL
) STRICT;

-- Custom roles: a named permission bit set, valid on the space and beneath it.
CREATE TABLE roles (
    space_id    BLOB NOT NULL REFERENCES spaces (id),
    name        TEXT NOT NULL,
    permissions INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (space_id, name)
) STRICT;

-- Invite links. Only a keyed hash of the code is stored: a copy of this table
-- redeems nothing. space_path is denormalised (paths never change) for subtree scans.
CREATE TABLE invites (
    id              BLOB PRIMARY KEY,
    code_hash       BLOB NOT NULL UNIQUE,
    space_id        BLOB NOT NULL REFERENCES spaces (id),
    space_path      TEXT NOT NULL,
    role            TEXT NOT NULL,
    max_uses        INTEGER CHECK (max_uses IS NULL OR max_uses > 0),
    uses            INTEGER NOT NULL DEFAULT 0,
    expires_at      INTEGER,
    description     TEXT,
    allow_narrowing INTEGER NOT NULL DEFAULT 0,
    created_by      TEXT NOT NULL,
    created_by_name TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    revoked_at      INTEGER,
    revoked_by      TEXT,
    -- The claim's guard, restated as an invariant: a use limit is never overshot.
    CHECK (max_uses IS NULL OR uses <= max_uses)
) STRICT;
CREATE INDEX invites_by_created ON invites (created_at DESC, id DESC);
CREATE INDEX invites_by_space ON invites (space_path, created_at DESC, id DESC);
CREATE INDEX invites_by_creator ON invites (created_by, created_at DESC, id DESC);

-- Every invite listed under its space and under each ancestor of it. A subtree's
-- invites in creation order are then one range of this index, so a page of a list
-- costs the same whatever the size of the table. Written with the invite.
CREATE TABLE invite_scopes (
    scope_path TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    invite_id  BLOB NOT NULL REFERENCES invites (id),
    PRIMARY KEY (scope_path, created_at, invite_id)
) STRICT, WITHOUT ROWID;

-- One row per (space, user): a user never holds two memberships of one space.
CREATE TABLE memberships (
    id         BLOB PRIMARY KEY,
    space_id   BLOB NOT NULL REFERENCES spaces (id),
    user_id    TEXT NOT NULL,
    role       TEXT NOT NULL,
    status     TEXT NOT NULL CHECK (status IN ('active', 'pending')),
    source     TEXT NOT NULL,
    -- The invite that brought this member, if any.
    invite_id  BLOB REFERENCES invites (id),
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    UNIQUE (space_id, user_id)
) STRICT;
CREATE INDEX memberships_by_user ON memberships (user_id);
CREATE INDEX memberships_by_join ON memberships (space_id, created_at, id);

-- The outbox and audit log: appended in the same transaction as the change.
CREATE TABLE events (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    id         BLOB NOT NULL UNIQUE,
    kind       TEXT NOT NULL,
    space_id   BLOB,
    space_path TEXT,
    actor      TEXT NOT NULL,
    subject    TEXT,
    data       TEXT NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;
CREATE INDEX events_by_space ON events (space_path, seq);

-- Machine clients. Only a hash of the key is stored.
CREATE TABLE api_keys (
    id             BLOB PRIMARY KEY,
    name           TEXT NOT NULL UNIQUE,
    key_hash       BLOB NOT NULL UNIQUE,
    platform_admin INTEGER NOT NULL DEFAULT 0,
    created_at     INTEGER NOT NULL,
    revoked_at     INTEGER
) STRICT;
