//! The integration suite: one binary, modules by area.

mod console;
mod doors;
mod errors;
mod escalation;
mod graphql;
mod helpers;
mod identity;
mod imports;
mod invitations;
mod invites;
mod listener;
mod members;
mod pages;
mod plans;
mod questions;
mod races;
mod rosters;
mod schema;
mod scim;
mod security;
mod signup;
mod users;
mod webhooks;
