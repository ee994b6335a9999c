-- Invitations addressed to one person, their e-mail outbox, and idempotency keys
-- (PostgreSQL; same version as SQLite's). Append-only: never edit an applied migration.

-- Who a membership's user was when they joined, so "already a member" can be
-- answered for an invitation addressed by e-mail or username. Lower-cased.
ALTER TABLE memberships ADD COLUMN email TEXT;
ALTER TABLE memberships ADD COLUMN username TEXT;
CREATE INDEX memberships_by_email ON memberships (email) WHERE email IS NOT NULL;
CREATE INDEX memberships_by_username ON memberships (username) WHERE username IS NOT NULL;

-- An invitation for one person. The token is derived from token_salt with a server
-- key and only its keyed hash is stored: a copy of this table accepts nothing.
-- status is what was decided; a pending invitation past expires_at reads 'expired'.
CREATE TABLE invitations (
    id              UUID PRIMARY KEY,
    token_hash      BYTEA NOT NULL UNIQUE,
    token_salt      BYTEA NOT NULL,
    space_id        UUID NOT NULL REFERENCES spaces (id),
    space_path      TEXT COLLATE "C" NOT NULL,
    role            TEXT NOT NULL,
    email           TEXT,
    username        TEXT,
    user_id         TEXT,
    -- The strongest identifier given (user:…, email:…, username:…).
    addressee       TEXT NOT NULL,
    message         TEXT,
    status          TEXT NOT NULL CHECK (status IN ('pending', 'accepted', 'declined', 'revoked')),
    lifetime_secs   BIGINT NOT NULL CHECK (lifetime_secs > 0),
    expires_at      BIGINT NOT NULL,
    sends           BIGINT NOT NULL DEFAULT 1,
    last_sent_at    BIGINT NOT NULL,
    -- The latest e-mail about it (mail_outbox), if it has an address.
    mail_id         UUID,
    created_by      TEXT NOT NULL,
    created_by_name TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    decided_by      TEXT,
    decided_at      BIGINT
);
-- One pending invitation per person and space: the key a concurrent create loses on.
CREATE UNIQUE INDEX invitations_one_pending ON invitations (space_id, addressee) WHERE status = 'pending';
CREATE INDEX invitations_by_created ON invitations (created_at DESC, id DESC);
CREATE INDEX invitations_by_space ON invitations (space_path, created_at DESC, id DESC);
CREATE INDEX invitations_pending_email ON invitations (email) WHERE status = 'pending';
CREATE INDEX invitations_pending_username ON invitations (username) WHERE status = 'pending';
CREATE INDEX invitations_pending_user ON invitations (user_id) WHERE status = 'pending';

-- The transactional outbox of e-mail: written in the transaction that creates or
-- re-sends an invitation, delivered afterwards by the sender with retries. The message
-- is rendered at send time; the token is derived then, never stored.
CREATE TABLE mail_outbox (
    id              UUID PRIMARY KEY,
    invitation_id   UUID NOT NULL REFERENCES invitations (id),
    recipient       TEXT NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('queued', 'sent', 'failed', 'cancelled')),
    attempts        BIGINT NOT NULL DEFAULT 0,
    -- When a queued message is due; while a sender holds it, the end of its lease.
    next_attempt_at BIGINT NOT NULL,
    last_error      TEXT,
    created_at      BIGINT NOT NULL,
    sent_at         BIGINT
);
CREATE INDEX mail_outbox_due ON mail_outbox (next_attempt_at) WHERE state = 'queued';
CREATE INDEX mail_outbox_by_invitation ON mail_outbox (invitation_id);

-- A retried request with the same Idempotency-Key gets the first answer again.
CREATE TABLE idempotency_keys (
    owner        TEXT NOT NULL,
    key          TEXT NOT NULL,
    request_hash BYTEA NOT NULL,
    response     TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (owner, key)
);
