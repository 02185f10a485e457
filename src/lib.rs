//! `cw-conform`: a conformance harness for AI integrations with ConnectWise PSA.
//!
//! An MSP connects an AI assistant to ConnectWise through a dedicated API member whose
//! security role decides what the assistant may read or change. Two documents describe the
//! recommended role, what each permission level enables, what the integration blocks or
//! holds for confirmation whatever the role grants, and how 401 and 403 errors should be
//! explained. This crate turns each of those rules into Gherkin scenarios and runs them.
//!
//! The tour, following one scenario:
//!
//! 1. `features/*.feature` state a rule in business language; each scenario carries the
//!    rule's ID as a tag (`@SD-01`).
//! 2. [`harness`] glues the Gherkin steps to the rest: it gives each scenario its own
//!    [`mock::MockConnectWise`] with API members whose [`model::SecurityRole`]s come from
//!    `fixtures/roles/`, and an [`integration::Integration`] to drive.
//! 3. The [`integration::ReferenceIntegration`] applies the [`policy`] (block, escalate or
//!    pass), validates referenced records by lookups, and calls ConnectWise through
//!    [`connectwise::Client`]. Or, in a run of a vendor's integration,
//!    [`integration::mcp::McpIntegration`] starts its MCP server for the scenario, calls its
//!    tools, and judges each call by what the mock received.
//! 4. The mock authenticates, authorises each request by the member's role using
//!    `fixtures/connectwise/permissions.toml`, answers in ConnectWise's JSON and error
//!    shapes, and journals every request, so a step can prove ConnectWise saw no write.
//! 5. The step compares the observed [`model::Outcome`] with the one the scenario states;
//!    [`report`] sums results up by rule ID.
//!
//! `model` holds pure types; `mock` knows ConnectWise's wire behaviour; `integration`
//! knows the AI side; `harness` only glues Gherkin to them.
//!
//! Around the suite:
//! - [`plan`]: what to create on a sandbox (roles cell by cell, API members, profiles file).
//! - [`target`]: a real ConnectWise sandbox instead of the mock (`CONNECTWISE_*`), with
//!   [`harness::sandbox`] leaving out what only the mock can set up and removing every
//!   record the run created.
//! - [`oracle`]: the expected outcome of an action under a role, and why; used by
//!   `matrix`, `explain`, [`audit`] and the catalog-wide steps (scenarios still state their
//!   outcomes themselves, so they can catch the oracle being wrong).
//! - [`audit`]: a least-privilege review of a role or of the API member itself.
//! - [`docs`]: the living documentation, a static site of the rules, their scenarios, the
//!   expected-outcome matrix and the latest verdicts of a run.
//! - [`cells`]: LP-02 by behaviour, each cell of a role exercised through the integration.
//! - [`commands`]: the binary's commands as library functions, with the exit codes.

pub mod audit;
pub mod baseline;
pub mod cells;
pub mod cleanup;
pub mod commands;
pub mod connectwise;
pub mod docs;
pub mod fixtures;
pub mod harness;
pub mod integration;
pub mod ledger;
pub mod mock;
pub mod model;
pub mod oracle;
pub mod parity;
pub mod plan;
pub mod policy;
pub mod report;
pub mod target;

#[cfg(test)]
mod scratch;
