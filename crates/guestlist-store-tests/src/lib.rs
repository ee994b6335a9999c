//! The storage contract's stories live in `tests/stories.rs`: each feature's primitive
//! queries run directly against the engine under test (SQLite, or PostgreSQL when
//! `GUESTLIST_TEST_POSTGRES_URL` is set), without the application, an HTTP server or
//! an SMTP sink. This crate has no code of its own.
