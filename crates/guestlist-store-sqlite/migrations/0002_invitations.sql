-- Invitations addressed to one person, their e-mail outbox, and idempotency keys
-- (SQLite). Append-only: never edit an applied migration.

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
    id              BLOB PRIMARY KEY,
    token_hash      BLOB NOT NULL UNIQUE,
    token_salt      BLOB NOT NULL,
    space_id        BLOB NOT NULL REFERENCES spaces (id),
    space_path      TEXT NOT NULL,
    role            TEXT NOT NULL,
    email           TEXT,
    username        TEXT,
    user_id         TEXT,
    -- The strongest identifier given (user:…, email:…, username:…).
    addressee       TEXT NOT NULL,
    message         TEXT,
    status          TEXT NOT NULL CHECK (status IN ('pending', 'accepted', 'declined', 'revoked')),
    lifetime_secs   INTEGER NOT NULL CHECK (lifetime_secs > 0),
    expires_at      INTEGER NOT NULL,
    sends           INTEGER NOT NULL DEFAULT 1,
    last_sent_at    INTEGER NOT NULL,
    -- The latest e-mail about it (mail_outbox), if it has an address.
    mail_id         BLOB,
    created_by      TEXT NOT NULL,
    created_by_name TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    decided_by      TEXT,
    decided_at      INTEGER
) STRICT;
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
    id              BLOB PRIMARY KEY,
    invitation_id   BLOB NOT NULL REFERENCES invitations (id),
    recipient       TEXT NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('queued', 'sent', 'failed', 'cancelled')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    -- When a queued message is due; while a sender holds it, the end of its lease.
    next_attempt_at INTEGER NOT NULL,
    last_error      TEXT,
    created_at      INTEGER NOT NULL,
    sent_at         INTEGER
) STRICT;
CREATE INDEX mail_outbox_due ON mail_outbox (next_attempt_at) WHERE state = 'queued';
CREATE INDEX mail_outbox_by_invitation ON mail_outbox (invitation_id);

-- A retried request with the same Idempotency-Key gets the first answer again.
CREATE TABLE idempotency_keys (
    owner        TEXT NOT NULL,
    key          TEXT NOT NULL,
    request_hash BLOB NOT NULL,
    response     TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (owner, key)
) STRICT;
