//! `harness::run` twice in one process, at the same time: each run's scenarios use that
//! run's own fixtures and integration, and its summary says so. This is what a parity run
//! needs (the suite on the mock and on a sandbox, from one process).

use std::path::Path;
use std::sync::Arc;

use cw_conform::fixtures::Fixtures;
use cw_conform::harness::{self, IntegrationUnderTest, RunOptions, RunSummary, ScenarioResult};
use cw_conform::integration::mcp::IntegrationConfig;
use cw_conform::model::{Level, Levels, Outcome};

use crate::support::{Scratch, faulty_integration_config, function_named};

/// One scenario, as `features/authentication.feature` has it: a member whose role grants
/// nothing searches contacts.
const FEATURE: &str = "Feature: Contacts without access

  @TS-03
  Scenario: Listing contacts without Contacts Inquire is denied
    Given an API member with the role \"no-access\"
    When the AI asks to search contacts \"Doe\"
    Then the outcome is denied
";

/// The built-in fixtures, except that the `no-access` profile grants Contacts Inquire All.
fn fixtures_granting_contacts() -> Arc<Fixtures> {
    let mut fixtures = Fixtures::builtin().unwrap().clone();
    let role = fixtures.roles.get_mut("no-access").unwrap();
    role.grant(
        function_named("Companies / Contacts"),
        Levels {
            inquire: Level::All,
            ..Levels::default()
        },
    );
    Arc::new(fixtures)
}

fn options(
    fixtures: Arc<Fixtures>,
    feature: &Path,
    integration: IntegrationUnderTest,
) -> RunOptions {
    RunOptions {
        fixtures,
        paths: vec![feature.to_path_buf()],
        progress: false,
        concurrency: 2,
        integration,
        ..RunOptions::default()
    }
}

/// The one scenario a run ran.
fn only_scenario(summary: &RunSummary) -> &ScenarioResult {
    assert_eq!(
        summary.scenarios.len(),
        1,
        "expected one scenario, the run has: {:?}",
        summary.scenarios
    );
    &summary.scenarios[0]
}

#[tokio::test(flavor = "multi_thread")]
async fn two_runs_at_once_each_use_their_own_fixtures_and_integration() {
    let scratch = Scratch::new("runs");
    let feature = scratch.write("contacts.feature", FEATURE);
    let config_path = scratch.write("faulty.toml", &faulty_integration_config("args = []"));
    let config = IntegrationConfig::load(&config_path, &Fixtures::builtin().unwrap().actions)
        .unwrap_or_else(|e| panic!("{e}"));
    let builtin = options(
        Fixtures::shared_builtin().unwrap(),
        &feature,
        IntegrationUnderTest::Reference,
    );
    let granting = options(
        fixtures_granting_contacts(),
        &feature,
        IntegrationUnderTest::Mcp(Arc::new(config)),
    );

    let (on_builtin, on_granting) = tokio::join!(
        harness::run(&builtin, Box::new(std::io::sink())),
        harness::run(&granting, Box::new(std::io::sink())),
    );
    let (on_builtin, on_granting) = (on_builtin.unwrap(), on_granting.unwrap());

    // The built-in `no-access` grants nothing: ConnectWise refuses, as the scenario says.
    let denied = only_scenario(&on_builtin);
    assert_eq!(
        (
            denied.outcome,
            denied.failure.as_deref(),
            denied.not_judged.as_deref()
        ),
        (Some(Outcome::Denied), None, None),
        "the run on the built-in fixtures: {denied:?}"
    );
    assert_eq!(on_builtin.integration, None, "the reference integration");
    // The other run's `no-access` grants Contacts Inquire: the search is allowed, and the
    // scenario fails, naming the outcome it observed.
    let allowed = only_scenario(&on_granting);
    assert_eq!(
        allowed.outcome,
        Some(Outcome::Allowed),
        "the run on fixtures granting contacts: {allowed:?}"
    );
    let failure = allowed.failure.as_deref().unwrap_or_default();
    assert!(
        failure.contains("allowed"),
        "the failure names the outcome observed: {failure}"
    );
    assert_eq!(
        on_granting.integration.as_deref(),
        Some("cw-conform mcp-serve (reference integration)"),
        "the MCP integration of its own run"
    );
    assert!(
        allowed.exercised && denied.exercised,
        "both integrations were exercised: {allowed:?} {denied:?}"
    );
}

/// The same scenario for three contacts, so that a server that cannot start fails the
/// same way more than once.
const OUTLINE: &str = "Feature: Contacts without access

  @TS-03
  Scenario Outline: Listing contacts without Contacts Inquire is denied
    Given an API member with the role \"no-access\"
    When the AI asks to search contacts \"<name>\"
    Then the outcome is denied

    Examples:
      | name  |
      | Doe   |
      | Smith |
      | Lee   |
";

/// A server that cannot start stops being started within its own run, and only there: a
/// run beside it starts its own server for each scenario.
#[tokio::test(flavor = "multi_thread")]
async fn start_up_failures_stay_in_their_own_run() {
    let scratch = Scratch::new("runs");
    let feature = scratch.write("contacts.feature", OUTLINE);
    let catalog = &Fixtures::builtin().unwrap().actions;
    let broken_path = scratch.write(
        "broken.toml",
        &faulty_integration_config("args = []").replace(
            &crate::support::faulty_integration().display().to_string(),
            &scratch.0.join("no-such-server").display().to_string(),
        ),
    );
    let broken = IntegrationConfig::load(&broken_path, catalog).unwrap_or_else(|e| panic!("{e}"));
    let working_path = scratch.write("working.toml", &faulty_integration_config("args = []"));
    let working = IntegrationConfig::load(&working_path, catalog).unwrap_or_else(|e| panic!("{e}"));
    let fixtures = Fixtures::shared_builtin().unwrap();
    let failing = options(
        Arc::clone(&fixtures),
        &feature,
        IntegrationUnderTest::Mcp(Arc::new(broken)),
    );
    let sound = options(
        fixtures,
        &feature,
        IntegrationUnderTest::Mcp(Arc::new(working)),
    );

    let (failing, sound) = tokio::join!(
        harness::run(&failing, Box::new(std::io::sink())),
        harness::run(&sound, Box::new(std::io::sink())),
    );
    let (failing, sound) = (failing.unwrap(), sound.unwrap());

    assert_eq!(failing.scenarios.len(), 3, "{:?}", failing.scenarios);
    for scenario in &failing.scenarios {
        assert!(
            scenario
                .not_judged
                .as_deref()
                .is_some_and(|cause| cause.contains("no-such-server")),
            "the run with the missing server could not judge: {scenario:?}"
        );
    }
    assert_eq!(sound.scenarios.len(), 3, "{:?}", sound.scenarios);
    for scenario in &sound.scenarios {
        assert_eq!(
            (
                scenario.outcome,
                scenario.failure.as_deref(),
                scenario.not_judged.as_deref()
            ),
            (Some(Outcome::Denied), None, None),
            "the run beside it started its own servers: {scenario:?}"
        );
    }
}
