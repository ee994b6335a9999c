-- A platform (sign-up) invitation bound to an e-mail address is delivered through
-- the same outbox as space invitations: its token is derived from a salt at send time
-- (never stored), and a message is about one invitation or one platform invitation.
ALTER TABLE platform_invitations
    ADD COLUMN token_salt BYTEA,
    ADD COLUMN mail_id UUID,
    ADD COLUMN sends BIGINT NOT NULL DEFAULT 1,
    ADD COLUMN last_sent_at BIGINT;

ALTER TABLE mail_outbox
    ALTER COLUMN invitation_id DROP NOT NULL,
    ADD COLUMN platform_invitation_id UUID REFERENCES platform_invitations (id),
    ADD CONSTRAINT mail_outbox_one_subject
        CHECK ((invitation_id IS NULL) <> (platform_invitation_id IS NULL));
CREATE INDEX mail_outbox_by_platform_invitation ON mail_outbox (platform_invitation_id);
