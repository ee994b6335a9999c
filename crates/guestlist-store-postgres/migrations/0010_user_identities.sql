-- Who a user is known as: e-mail addresses and usernames vouched for by the host
-- (its identity provider's tokens, verified addresses only, or PUT /users/{id}).
-- One identity names one user; values are compared as identity_key makes them.
CREATE TABLE user_identities (
    kind       TEXT   NOT NULL CHECK (kind IN ('email', 'username')),
    value      TEXT   NOT NULL,
    user_id    TEXT   NOT NULL,
    -- 'token' (seen in a verified token) or 'host' (set through the API).
    source     TEXT   NOT NULL CHECK (source IN ('token', 'host')),
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (kind, value)
);
CREATE INDEX user_identities_by_user ON user_identities (user_id);
