//! The integration suite: one binary, modules by area.

mod errors;
mod helpers;
mod invites;
mod members;
mod races;
