-- Guestlist core schema (PostgreSQL). Same version as SQLite's 0001 for the same
-- change. Append-only: never edit an applied migration.
-- Times are Unix milliseconds (BIGINT), as in the SQLite schema, so both engines share
-- one SQL implementation; ids are UUID v7. Paths use the "C" collation so that range
-- scans over a subtree follow byte order.

-- What people are invited into. Paths end in '/' and form a tree (acme/, acme/eng/).
CREATE TABLE spaces (
    id           UUID PRIMARY KEY,
    path         TEXT COLLATE "C" NOT NULL UNIQUE,
    name         TEXT NOT NULL,
    join_mode    TEXT NOT NULL CHECK (join_mode IN ('open', 'invite_only', 'request')),
    -- NULL: no limit. member_count is maintained in the same transaction as every
    -- membership change, so a limit check is one conditional UPDATE, never a COUNT.
    member_limit BIGINT CHECK (member_limit IS NULL OR member_limit >= 0),
    member_count BIGINT NOT NULL DEFAULT 0 CHECK (member_count >= 0),
    created_at   BIGINT NOT NULL,
    created_by   TEXT NOT NULL
);

-- Custom roles: a named permission bit set, valid on the space and beneath it.
CREATE TABLE roles (
    space_id    UUID NOT NULL REFERENCES spaces (id),
    name        TEXT NOT NULL,
    permissions BIGINT NOT NULL,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (space_id, name)
);

-- Invite links. Only a keyed hash of the code is stored: a copy of this table
-- redeems nothing. space_path is denormalised (paths never change) for subtree scans.
CREATE TABLE invites (
    id              UUID PRIMARY KEY,
    code_hash       BYTEA NOT NULL UNIQUE,
    space_id        UUID NOT NULL REFERENCES spaces (id),
    space_path      TEXT COLLATE "C" NOT NULL,
    role            TEXT NOT NULL,
    max_uses        BIGINT CHECK (max_uses IS NULL OR max_uses > 0),
    uses            BIGINT NOT NULL DEFAULT 0,
    expires_at      BIGINT,
    description     TEXT,
    allow_narrowing BOOLEAN NOT NULL DEFAULT FALSE,
    created_by      TEXT NOT NULL,
    created_by_name TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    revoked_at      BIGINT,
    revoked_by      TEXT,
    -- The claim's guard, restated as an invariant: a use limit is never overshot.
    CHECK (max_uses IS NULL OR uses <= max_uses)
);
CREATE INDEX invites_by_created ON invites (created_at DESC, id DESC);
CREATE INDEX invites_by_space ON invites (space_path, created_at DESC, id DESC);
CREATE INDEX invites_by_creator ON invites (created_by, created_at DESC, id DESC);

-- One row per (space, user): a user never holds two memberships of one space.
CREATE TABLE memberships (
    id         UUID PRIMARY KEY,
    space_id   UUID NOT NULL REFERENCES spaces (id),
    user_id    TEXT NOT NULL,
    role       TEXT NOT NULL,
    status     TEXT NOT NULL CHECK (status IN ('active', 'pending')),
    source     TEXT NOT NULL,
    -- The invite that brought this member, if any.
    invite_id  UUID REFERENCES invites (id),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (space_id, user_id)
);
CREATE INDEX memberships_by_user ON memberships (user_id);
CREATE INDEX memberships_by_join ON memberships (space_id, created_at, id);

-- The outbox and audit log: appended in the same transaction as the change.
CREATE TABLE events (
    seq        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id         UUID NOT NULL UNIQUE,
    kind       TEXT NOT NULL,
    space_id   UUID,
    space_path TEXT COLLATE "C",
    actor      TEXT NOT NULL,
    subject    TEXT,
    data       TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX events_by_space ON events (space_path, seq);

-- Machine clients. Only a hash of the key is stored.
CREATE TABLE api_keys (
    id             UUID PRIMARY KEY,
    name           TEXT NOT NULL UNIQUE,
    key_hash       BYTEA NOT NULL UNIQUE,
    platform_admin BOOLEAN NOT NULL DEFAULT FALSE,
    created_at     BIGINT NOT NULL,
    revoked_at     BIGINT
);
