//! Step definitions, one module per domain concept.

mod actions;
mod audit;
mod catalog;
mod credentials;
mod journal;
mod outcomes;
mod paging;
mod roles;
mod safety;
mod security;
mod workflows;
