//! Integration tests of the mock ConnectWise's wire behaviour, called over HTTP with
//! reqwest exactly as an integration would call ConnectWise.
//!
//! One module per area of the wire; [`support`] starts a mock on 127.0.0.1 and builds
//! authenticated requests.
#![expect(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]

mod acceptance;
mod ci;
mod cleanup;
mod cli;
mod clients;
mod docs;
mod faulty;
mod fidelity;
mod first_contact;
mod hostile;
mod http;
mod journal;
mod listing;
mod mcp;
mod metamorphic;
mod parity;
mod records;
mod reports;
mod reuse;
mod routing;
mod runs;
mod sandbox;
mod security;
mod sign_in;
mod support;
mod sweeps;
mod text_integration;
