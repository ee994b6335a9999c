-- Signed-in browsers of the pages (/i/{code}, /invitations/accept, /me): the cookie's
-- random token is kept only as its SHA-256. Signing out deletes the row; rows past
-- their expiry are swept by the housekeeping tick.
CREATE TABLE sessions (
    token_hash BYTEA PRIMARY KEY,
    user_id    TEXT   NOT NULL,
    -- Who the host's token said the user is, as JSON: email, email_verified,
    -- username, platform_admin. Pages act as this identity until the session ends.
    identity   TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_by_expiry ON sessions (expires_at);
CREATE INDEX sessions_by_user ON sessions (user_id);
