-- A platform (sign-up) invitation bound to an e-mail address is delivered through
-- the same outbox as space invitations: its token is derived from a salt at send time
-- (never stored), and a message is about one invitation or one platform invitation.
ALTER TABLE platform_invitations ADD COLUMN token_salt BLOB;
ALTER TABLE platform_invitations ADD COLUMN mail_id BLOB;
ALTER TABLE platform_invitations ADD COLUMN sends INTEGER NOT NULL DEFAULT 1;
ALTER TABLE platform_invitations ADD COLUMN last_sent_at INTEGER;

-- SQLite cannot drop a NOT NULL: the outbox is rebuilt with its rows.
CREATE TABLE mail_outbox_next (
    id                     BLOB PRIMARY KEY,
    invitation_id          BLOB REFERENCES invitations (id),
    platform_invitation_id BLOB REFERENCES platform_invitations (id),
    recipient              TEXT NOT NULL,
    state                  TEXT NOT NULL CHECK (state IN ('queued', 'sent', 'failed', 'cancelled')),
    attempts               INTEGER NOT NULL DEFAULT 0,
    -- When a queued message is due; while a sender holds it, the end of its lease.
    next_attempt_at        INTEGER NOT NULL,
    last_error             TEXT,
    created_at             INTEGER NOT NULL,
    sent_at                INTEGER,
    CHECK ((invitation_id IS NULL) <> (platform_invitation_id IS NULL))
) STRICT;
INSERT INTO mail_outbox_next (id, invitation_id, recipient, state, attempts, next_attempt_at, last_error, created_at, sent_at)
    SELECT id, invitation_id, recipient, state, attempts, next_attempt_at, last_error, created_at, sent_at FROM mail_outbox;
DROP TABLE mail_outbox;
ALTER TABLE mail_outbox_next RENAME TO mail_outbox;
CREATE INDEX mail_outbox_due ON mail_outbox (next_attempt_at) WHERE state = 'queued';
CREATE INDEX mail_outbox_by_invitation ON mail_outbox (invitation_id);
CREATE INDEX mail_outbox_by_platform_invitation ON mail_outbox (platform_invitation_id);
