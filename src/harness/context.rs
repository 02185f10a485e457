//! A run's state: what every scenario of one [`super::run`] shares (the fixtures, the
//! target, the MCP integration and its kept servers, the start-up failures so far, the
//! start-up slots). The runner builds one per run and hands it to each World in cucumber's
//! before-hook; nothing of a run outlives it, so two runs in one process do not meet.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use super::sandbox::SandboxRun;
use crate::fixtures::Fixtures;
use crate::integration::ServerFailure;
use crate::integration::mcp::shared::{FixedSite, SharedServers};
use crate::integration::mcp::{IntegrationConfig, StartupSlots};
use crate::mock::Grown;

/// Times the same start-up failure may happen before the run stops starting the server:
/// a wrong command or an environment that makes it exit fails the same way every time, and
/// starting it once for each scenario only repeats the cause. (A start-up that timed out is
/// always tried again: the start-up slots keep queueing out of its bound.)
const START_ATTEMPTS: usize = 2;

/// What the scenarios of one run share.
#[derive(Debug)]
pub(crate) struct RunContext {
    /// The fixtures the scenarios run on (and the report is built from).
    pub(crate) fixtures: Arc<Fixtures>,
    /// The sandbox, when the run targets one instead of the mock.
    pub(crate) sandbox: Option<Arc<SandboxRun>>,
    /// The MCP integration the run tests instead of the reference integration.
    pub(crate) mcp: Option<McpRun>,
    /// The next scenario's number (the ledger's scope of what it creates).
    next_scope: AtomicU64,
    /// The large collections the scenarios' mocks were made to hold, built once a run.
    pub(crate) grown: Arc<Grown>,
}

/// The run's MCP integration: its config, its start-up slots, its servers kept across
/// scenarios, and how its start-ups have failed so far.
#[derive(Debug)]
pub(crate) struct McpRun {
    /// The integration config.
    pub(crate) config: Arc<IntegrationConfig>,
    /// The start-ups at once.
    pub(crate) slots: StartupSlots,
    /// The servers kept across scenarios, when the run reuses them.
    pub(crate) kept: Option<Arc<SharedServers>>,
    /// How often each start-up failure has happened in this run.
    start_failures: Mutex<Vec<(ServerFailure, usize)>>,
}

impl RunContext {
    /// A run on `fixtures` against `sandbox` (the mock when `None`), testing `mcp` (the
    /// reference integration when `None`), keeping its servers across scenarios when
    /// `reuse_servers`, or reaching a server already running through `fixed_site`.
    pub(crate) fn new(
        fixtures: Arc<Fixtures>,
        sandbox: Option<Arc<SandboxRun>>,
        mcp: Option<Arc<IntegrationConfig>>,
        reuse_servers: bool,
        fixed_site: Option<&Arc<FixedSite>>,
    ) -> RunContext {
        let mcp = mcp.map(|config| {
            let slots = StartupSlots::per_cpu();
            let kept = match fixed_site {
                Some(site) => Some(SharedServers::running(
                    Arc::clone(&config),
                    Arc::clone(&fixtures),
                    slots.clone(),
                    Arc::clone(site),
                )),
                None => reuse_servers.then(|| {
                    SharedServers::new(Arc::clone(&config), Arc::clone(&fixtures), slots.clone())
                }),
            }
            .map(Arc::new);
            McpRun {
                config,
                slots,
                kept,
                start_failures: Mutex::new(Vec::new()),
            }
        });
        RunContext {
            fixtures,
            sandbox,
            mcp,
            next_scope: AtomicU64::new(1),
            grown: Arc::default(),
        }
    }

    /// A number no other scenario of this run has.
    pub(crate) fn next_scope(&self) -> u64 {
        self.next_scope.fetch_add(1, Ordering::Relaxed)
    }
}

impl McpRun {
    /// Records that the server failed to start (only failures that recur on every start
    /// count: a server that was merely slow to answer is started again).
    pub(crate) fn start_failed(&self, failure: &ServerFailure) {
        if !failure.ends_every_start() {
            return;
        }
        let mut failures = self
            .start_failures
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        match failures.iter_mut().find(|(f, _)| f == failure) {
            Some((_, count)) => *count += 1,
            None => failures.push((failure.clone(), 1)),
        }
    }

    /// A start-up failure that has already repeated in this run: the server is not started
    /// again, and the scenario is not judged for the same cause.
    pub(crate) fn repeated_start_failure(&self) -> Option<ServerFailure> {
        self.start_failures
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .find(|(_, count)| *count >= START_ATTEMPTS)
            .map(|(failure, _)| failure.clone())
    }
}
