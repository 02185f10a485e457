//! Step definitions, one module per domain concept.

mod actions;
mod credentials;
mod journal;
mod outcomes;
mod roles;
mod security;
