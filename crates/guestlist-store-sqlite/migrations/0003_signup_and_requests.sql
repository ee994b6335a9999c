-- The sign-up gate, platform invitations and referrals, join requests, and links that
-- ask for approval (SQLite). Append-only: never edit an applied migration.

-- The platform's gate: one row. seats_taken counts live reservations and confirmed
-- sign-ups, so the cap is one conditional UPDATE, never a COUNT.
CREATE TABLE signup_gate (
    id               INTEGER PRIMARY KEY CHECK (id = 1),
    invite_only      INTEGER NOT NULL DEFAULT 0,
    cap              INTEGER CHECK (cap IS NULL OR cap >= 0),
    seats_taken      INTEGER NOT NULL DEFAULT 0 CHECK (seats_taken >= 0),
    -- May users (not only platform admins) send platform invitations, and how many
    -- (per period when quota_period_secs is set, else in all).
    user_invitations INTEGER NOT NULL DEFAULT 0,
    user_quota       INTEGER CHECK (user_quota IS NULL OR user_quota >= 0),
    quota_period_secs INTEGER CHECK (quota_period_secs IS NULL OR quota_period_secs > 0),
    updated_at       INTEGER NOT NULL
) STRICT;
INSERT INTO signup_gate (id, updated_at) VALUES (1, 0);

-- Invitations to the platform itself (referrals). Only a keyed hash of the token is
-- stored. reserved counts uses held by live claims: uses + reserved never passes
-- max_uses.
CREATE TABLE platform_invitations (
    id         BLOB PRIMARY KEY,
    token_hash BLOB NOT NULL UNIQUE,
    email      TEXT,
    max_uses   INTEGER NOT NULL CHECK (max_uses > 0),
    uses       INTEGER NOT NULL DEFAULT 0,
    reserved   INTEGER NOT NULL DEFAULT 0 CHECK (reserved >= 0),
    expires_at INTEGER,
    invited_by TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER,
    revoked_by TEXT,
    CHECK (uses + reserved <= max_uses)
) STRICT;
CREATE INDEX platform_invitations_by_created ON platform_invitations (created_at DESC, id DESC);
CREATE INDEX platform_invitations_by_inviter ON platform_invitations (invited_by, created_at DESC, id DESC);

-- How many platform invitations each user sent in the current quota period.
CREATE TABLE inviter_quotas (
    inviter      TEXT PRIMARY KEY,
    period_start INTEGER NOT NULL,
    sent         INTEGER NOT NULL
) STRICT;

-- Two-phase sign-up: a claim reserves a seat (and a use of its invitation) until it
-- is confirmed, released, or lapses. One live claim per e-mail.
CREATE TABLE signup_claims (
    id            BLOB PRIMARY KEY,
    email         TEXT NOT NULL,
    invitation_id BLOB REFERENCES platform_invitations (id),
    state         TEXT NOT NULL CHECK (state IN ('reserved', 'confirmed', 'released', 'lapsed')),
    expires_at    INTEGER NOT NULL,
    user_id       TEXT,
    created_at    INTEGER NOT NULL,
    decided_at    INTEGER
) STRICT;
CREATE UNIQUE INDEX signup_claims_live_email ON signup_claims (email) WHERE state IN ('reserved', 'confirmed');
CREATE INDEX signup_claims_lapsing ON signup_claims (expires_at) WHERE state = 'reserved';

-- Accounts that came through the gate, and who invited them (the referral tree).
CREATE TABLE signups (
    user_id       TEXT PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE,
    invited_by    TEXT,
    invitation_id BLOB REFERENCES platform_invitations (id),
    created_at    INTEGER NOT NULL
) STRICT;
CREATE INDEX signups_by_inviter ON signups (invited_by, created_at);

-- Asking to join a request-mode space (or through a link that needs approval).
CREATE TABLE join_requests (
    id         BLOB PRIMARY KEY,
    space_id   BLOB NOT NULL REFERENCES spaces (id),
    space_path TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    email      TEXT,
    username   TEXT,
    role       TEXT NOT NULL,
    message    TEXT,
    invite_id  BLOB REFERENCES invites (id),
    status     TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'denied', 'cancelled')),
    created_at INTEGER NOT NULL,
    decided_by TEXT,
    decided_at INTEGER
) STRICT;
-- One pending request per user and space: the key a concurrent second request loses on.
CREATE UNIQUE INDEX join_requests_one_pending ON join_requests (space_id, user_id) WHERE status = 'pending';
CREATE INDEX join_requests_by_space ON join_requests (space_id, created_at, id);
CREATE INDEX join_requests_pending_by_user ON join_requests (user_id) WHERE status = 'pending';

-- A link may create join requests instead of memberships, approving verified e-mail
-- addresses of some domains at once (comma-separated, lower case).
ALTER TABLE invites ADD COLUMN requires_approval INTEGER NOT NULL DEFAULT 0;
ALTER TABLE invites ADD COLUMN auto_approve_domains TEXT;
