//! Runs features through cucumber-rs and collects a result per scenario.
//!
//! The shipped features are built into the binary; a user's own feature files (which may
//! use the same steps) can be run instead. Each scenario gets its own mock; the after-hook
//! drops the mock on a task of its own (dropping a wiremock server inline can hang a
//! concurrent cucumber run). The scenarios are spread over one cucumber runner per core,
//! each on a thread of its own, and their events merged for the writers (`runner/lanes.rs`).
//!
//! Every feature is parsed and checked before anything runs (`features.rs`): a file that is
//! not valid Gherkin, or that has a block which would check nothing (an empty file or
//! Feature, a Background or Scenario with no steps, a Rule with no scenarios, a Scenario
//! Outline without Examples rows or with a placeholder no Examples column fills) is a
//! feature error, `file:line: what is wrong`, in [`RunSummary::parse_errors`]. None of
//! that file's scenarios runs, none counts as passed, and the run does not conform
//! (`cw-conform run` exits 2).

use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use cucumber::event::{
    self, Cucumber, Feature, RetryableScenario, Rule, Scenario, Step, StepError,
};
use cucumber::feature::Ext as _;
use cucumber::gherkin;
use cucumber::gherkin::tagexpr::TagOperation;
use cucumber::parser;
use cucumber::tag::Ext as _;
use cucumber::writer::{self, Verbosity};
use cucumber::{Event, World as _, Writer as _, WriterExt as _};
use futures::stream;
use include_dir::{Dir, include_dir};

use super::context::RunContext;
use super::features::{FeatureError, FeatureText};
use super::partition::Partition;
use super::sandbox::SandboxRun;
use super::world::ConformanceWorld;
use crate::connectwise::behaviour::SWITCHES;
use crate::fixtures::Fixtures;
use crate::integration::Finding;
use crate::integration::mcp::IntegrationConfig;
use crate::integration::mcp::shared::{FixedSite, ServerReuse};
use crate::mock::JournalEntry;
use crate::model::{Outcome, RuleId};

static BUILTIN_FEATURES: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/features");

/// What to run and how.
#[derive(Debug, Clone)]
#[expect(
    clippy::struct_excessive_bools,
    reason = "independent switches of `run` (colour, progress, Cucumber JSON, server reuse), not states of one thing"
)]
pub struct RunOptions {
    /// The fixtures the scenarios run on (the roles, actions, policy, rules and seed), and
    /// the report is built from.
    pub fixtures: Arc<Fixtures>,
    /// A cucumber tag expression (`@SD-01 and not @writes`).
    pub tags: Option<String>,
    /// Feature files or folders; empty runs the built-in features.
    pub paths: Vec<PathBuf>,
    /// Scenarios run at once.
    pub concurrency: usize,
    /// Threads the scenarios are spread over (each runs its share, `concurrency` in all):
    /// by default one per core against the mock with the reference integration, one per
    /// two cores otherwise (`default_threads`). Never more than `concurrency`.
    pub threads: Option<std::num::NonZeroUsize>,
    /// Colour the progress display.
    pub color: bool,
    /// Print the progress display at all.
    pub progress: bool,
    /// Keep Cucumber's standard JSON report of the run ([`RunSummary::cucumber_json`]).
    pub cucumber_json: bool,
    /// Run against this sandbox instead of the mock.
    pub sandbox: Option<Arc<SandboxRun>>,
    /// The integration the scenarios drive.
    pub integration: IntegrationUnderTest,
    /// Only this shard of the selected scenarios (see [`Partition`]).
    pub partition: Option<Partition>,
    /// An MCP integration: keep one server per credential set and role across scenarios instead of
    /// starting one for each scenario (see [`crate::integration::mcp::shared`]).
    pub reuse_servers: bool,
    /// An MCP server already running: the site it was configured with. Scenarios that
    /// configure the integration otherwise (other keys, another member) are left out.
    pub fixed_site: Option<Arc<FixedSite>>,
}

/// The integration a run tests.
#[derive(Debug, Clone, Default)]
pub enum IntegrationUnderTest {
    /// The reference integration, in process.
    #[default]
    Reference,
    /// A vendor's MCP server, started for each scenario as the config says. Scenarios that
    /// ask for an action the config maps to no tool are left out: not offered.
    Mcp(Arc<IntegrationConfig>),
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            fixtures: Fixtures::shared_builtin().unwrap_or_else(|e| panic!("{e}")),
            tags: None,
            paths: Vec::new(),
            concurrency: 16,
            threads: None,
            color: false,
            progress: true,
            cucumber_json: false,
            sandbox: None,
            integration: IntegrationUnderTest::Reference,
            partition: None,
            reuse_servers: false,
            fixed_site: None,
        }
    }
}

/// A run that could not start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RunError {
    /// A feature file could not be read.
    #[error("failed to read feature {path}: {reason}")]
    Read {
        /// The file or folder.
        path: String,
        /// Why.
        reason: String,
    },
    /// The threads that run the scenarios could not be started.
    #[error("could not start the threads that run the scenarios: {reason}")]
    Threads {
        /// Why.
        reason: String,
    },
    /// The tag expression does not parse.
    #[error("invalid tag expression \"{expression}\": {reason}")]
    Tags {
        /// As given.
        expression: String,
        /// Why.
        reason: String,
    },
}

/// One scenario's result.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ScenarioResult {
    /// The feature file.
    pub feature: String,
    /// The feature's name.
    pub feature_name: String,
    /// The scenario's name.
    pub name: String,
    /// For a row of a Scenario Outline's Examples: its values, `column = value, …`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub example: Option<String>,
    /// Line in the feature file (an Examples row's line for an outline).
    pub line: usize,
    /// How long it took, from its start to its end as cucumber reported them.
    #[serde(
        rename = "duration_seconds",
        serialize_with = "seconds",
        deserialize_with = "from_seconds",
        default
    )]
    pub duration: Duration,
    /// Every tag that applies (feature, rule and scenario), without `@`.
    pub tags: Vec<String>,
    /// Steps that passed.
    pub steps_passed: usize,
    /// Every step with its status, in order.
    pub steps: Vec<StepRecord>,
    /// Why it failed, if it did.
    pub failure: Option<String>,
    /// A mistake in the feature that stopped the scenario (the author's, not the
    /// integration's): the scenario judges nothing.
    pub feature_error: Option<String>,
    /// Why the scenario could not be judged: the integration gave no answer to judge (its
    /// server did not start, timed out, refused the arguments, or the config has no place
    /// for a field). Neither met nor violated.
    pub not_judged: Option<String>,
    /// Whether the integration performed an action in the scenario (a scenario that only
    /// audits a role, or asks only for actions not offered, exercises nothing).
    pub exercised: bool,
    /// The outcome of the scenario's last action, if it performed one.
    pub outcome: Option<Outcome>,
    /// The requests ConnectWise received during the scenario.
    pub requests: Vec<JournalEntry>,
    /// The records the scenario arranged: the name its steps gave each, and its id on the
    /// target (`cw-conform parity` names the ids a request carries by them). Kept in memory
    /// only, as the answers are.
    #[serde(skip)]
    pub arranged: Vec<(String, i64)>,
    /// The members the scenario can refer to by phrase ("the API member", "another
    /// member") and their identifiers on the target, which differ from site to site
    /// (`cw-conform parity` names them by the phrase). Kept in memory only.
    #[serde(skip)]
    pub members: Vec<(String, String)>,
    /// What the integration under test was found doing beyond the outcomes the steps
    /// checked: a failing one (a rule's, or an integrity check's) fails the scenario.
    pub findings: Vec<Finding>,
    /// Why its failure is expected: the reasons of the baseline entries that list every
    /// rule it violated (`run --baseline`). It still violates them; it fails no run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_failure: Option<String>,
    /// On a sandbox: the documented behaviours the scenario chose that the sandbox does not
    /// follow, which the harness emulated (`setup_table_reads = "table-setup" (the
    /// sandbox's own: setup_table_reads = "open" (probed))`). Such a scenario checks the
    /// integration, not whether the mock matches ConnectWise.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub emulated: Vec<String>,
}

/// A duration as seconds, the way reports give it.
fn seconds<S: serde::Serializer>(duration: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_f64(duration.as_secs_f64())
}

/// A duration read back from a report's seconds (`report merge`); a negative, infinite or
/// absurd value is refused.
fn from_seconds<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
    let seconds = <f64 as serde::Deserialize>::deserialize(deserializer)?;
    Duration::try_from_secs_f64(seconds).map_err(|e| {
        serde::de::Error::custom(format!("duration_seconds {seconds} is not a duration: {e}"))
    })
}

/// One step of a scenario and how it went.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct StepRecord {
    /// Keyword and text (`When the AI asks to …`).
    pub text: String,
    /// `passed`, `failed` or `skipped`.
    pub status: &'static str,
}

/// A step as a report holds it.
#[derive(serde::Deserialize)]
struct ReadStep {
    text: String,
    status: String,
}

/// Read back from a report (`report merge`).
impl<'de> serde::Deserialize<'de> for StepRecord {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let step = ReadStep::deserialize(deserializer)?;
        let status = ["passed", "failed", "skipped"]
            .into_iter()
            .find(|s| *s == step.status)
            .ok_or_else(|| {
                serde::de::Error::custom(format!(
                    "unknown step status \"{}\" (expected passed, failed or skipped)",
                    step.status
                ))
            })?;
        Ok(StepRecord {
            text: step.text,
            status,
        })
    }
}

impl ScenarioResult {
    /// A result for report tests: one passed step, tagged, failed when `failure` is given.
    #[cfg(test)]
    pub(crate) fn sample(tags: &[&str], failure: Option<&str>) -> ScenarioResult {
        ScenarioResult {
            feature: "features/x.feature".into(),
            feature_name: "X".into(),
            name: "a scenario".into(),
            example: None,
            line: 7,
            duration: Duration::from_millis(250),
            tags: tags.iter().map(|t| (*t).to_owned()).collect(),
            steps_passed: 1,
            steps: Vec::new(),
            failure: failure.map(str::to_owned),
            feature_error: None,
            not_judged: None,
            exercised: true,
            outcome: None,
            requests: Vec::new(),
            arranged: Vec::new(),
            members: Vec::new(),
            findings: Vec::new(),
            expected_failure: None,
            emulated: Vec::new(),
        }
    }

    /// Whether every step passed and nothing failing was found (a scenario stopped by a
    /// feature mistake, or that could not be judged, did not pass).
    pub fn passed(&self) -> bool {
        self.failure.is_none()
            && self.feature_error.is_none()
            && self.not_judged.is_none()
            && !self.findings.iter().any(Finding::fails)
    }

    /// Whether the integration failed it: a finding that fails it (whatever else stopped
    /// the scenario), or a step that failed, not by a feature mistake nor for want of an
    /// answer to judge.
    pub fn violated(&self) -> bool {
        self.feature_error.is_none()
            && (self.findings.iter().any(Finding::fails)
                || (self.failure.is_some() && self.not_judged.is_none()))
    }

    /// The rule IDs the scenario judged: those among its tags, then the rules its findings
    /// say were broken (a write to members fails SAFE-01 in a scenario about tickets).
    pub fn rules(&self) -> Vec<RuleId> {
        let mut rules: Vec<RuleId> = self
            .tags
            .iter()
            .filter_map(|t| RuleId::from_tag(t))
            .collect();
        for rule in self.findings.iter().filter_map(Finding::broken_rule) {
            if !rules.contains(rule) {
                rules.push(rule.clone());
            }
        }
        rules
    }

    /// Whether the scenario judged `rule` (one of [`Self::rules`]), without listing them: a
    /// report asks this of every scenario for every rule.
    pub fn judges(&self, rule: &RuleId) -> bool {
        self.tags
            .iter()
            .any(|tag| tag.trim_start_matches('@') == rule.as_str())
            || self
                .findings
                .iter()
                .filter_map(Finding::broken_rule)
                .any(|broken| broken == rule)
    }
}

/// Everything a run produced.
#[derive(Debug, Clone, Default)]
pub struct RunSummary {
    /// Results in the order scenarios finished, normalised to feature order.
    pub scenarios: Vec<ScenarioResult>,
    /// Feature errors: files that are not valid Gherkin, and blocks that would check
    /// nothing (see the module documentation). Their features did not run.
    pub parse_errors: Vec<FeatureError>,
    /// Wall time.
    pub elapsed: Duration,
    /// When the run started (`None` for a summary not made by a run).
    pub started: Option<std::time::SystemTime>,
    /// Scenarios left out of a sandbox run, with the reason.
    pub left_out: Vec<LeftOut>,
    /// What the run created on a sandbox and could not remove (filled in by the run's
    /// final cleanup, from its ledger).
    pub left_behind: Vec<crate::cleanup::LeftBehind>,
    /// Earlier runs on the same sandbox whose ledgers still list records.
    pub earlier_leftovers: Vec<crate::ledger::EarlierRun>,
    /// On a sandbox: what it does for each documented behaviour, and whether the
    /// preflight probed it or the profiles file declared it
    /// (`page_zero = "first-page" (probed)`).
    pub sandbox_behaviours: Vec<String>,
    /// The run was interrupted: `scenarios` holds those that finished.
    pub interrupted: bool,
    /// Scenarios left out because they ask for actions the integration does not offer
    /// (also listed in `left_out`).
    pub not_offered: Vec<NotOffered>,
    /// The shard this run was, if it was one (`--partition`).
    pub partition: Option<Partition>,
    /// Whether the run selected the whole built-in suite (no tag filter, no features of
    /// the user's own, against the mock), before any partition: all shards of such a run,
    /// merged, must check every rule.
    pub whole_suite: bool,
    /// The name of the MCP integration tested, if one was (else the reference).
    pub integration: Option<String>,
    /// How the MCP integration tested was reached (`stdio`, `Streamable HTTP at …`).
    pub integration_transport: Option<String>,
    /// What the baseline of known failures found, when one was applied.
    pub baseline: Option<crate::baseline::BaselineCheck>,
    /// Cucumber's standard JSON report of the run, when [`RunOptions::cucumber_json`]
    /// asked for it and the run finished.
    pub cucumber_json: Option<String>,
    /// When the run kept MCP servers across scenarios (`--reuse-servers`): how many it
    /// started, and what they did after the last scenario each served.
    pub server_reuse: Option<ServerReuse>,
}

/// A scenario left out because the integration under test does not offer an action it
/// asks for.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct NotOffered {
    /// The feature file.
    pub feature: String,
    /// Line in the feature file.
    pub line: usize,
    /// The scenario's name.
    pub name: String,
    /// Every tag that applies, without `@`.
    pub tags: Vec<String>,
    /// The actions it asks for that no tool performs.
    pub actions: Vec<String>,
    /// Those of them it expects blocked or escalated: the scenario is its rule's blocking
    /// one, and the rule cannot be met without it.
    pub blocking: Vec<String>,
}

/// A scenario left out of a run, and why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LeftOut {
    /// The feature file.
    pub feature: String,
    /// Line in the feature file.
    pub line: usize,
    /// The scenario's name.
    pub name: String,
    /// Why it cannot run here.
    pub reason: String,
    /// Every tag that applies, without `@` (its rule IDs: what leaving it out leaves
    /// unchecked).
    pub tags: Vec<String>,
}

impl RunSummary {
    /// Scenarios that failed (the integration did not behave as the feature says), but
    /// not those the baseline expects.
    pub fn failed(&self) -> impl Iterator<Item = &ScenarioResult> {
        self.scenarios
            .iter()
            .filter(|s| s.violated() && s.expected_failure.is_none())
    }

    /// Scenarios that failed as the baseline expects (`run --baseline`).
    pub fn expected_failures(&self) -> impl Iterator<Item = &ScenarioResult> {
        self.scenarios
            .iter()
            .filter(|s| s.violated() && s.expected_failure.is_some())
    }

    /// Scenarios that could not be judged (see [`ScenarioResult::not_judged`]).
    pub fn not_judged(&self) -> impl Iterator<Item = &ScenarioResult> {
        self.scenarios
            .iter()
            .filter(|s| s.feature_error.is_none() && s.not_judged.is_some())
    }

    /// Scenarios stopped by a mistake in their feature.
    pub fn feature_errors(&self) -> impl Iterator<Item = &ScenarioResult> {
        self.scenarios.iter().filter(|s| s.feature_error.is_some())
    }

    /// Whether everything conforms: no failure (but those the baseline expects), no parse
    /// error, no baseline entry stale or naming nothing, nothing left behind on a sandbox,
    /// and not interrupted.
    pub fn conforms(&self) -> bool {
        self.baseline.as_ref().is_none_or(|b| b.problems.is_empty()) && self.conforms_but_baseline()
    }

    fn conforms_but_baseline(&self) -> bool {
        self.feature_errors().next().is_none()
            && self.parse_errors.is_empty()
            && self.failed().next().is_none()
            && self.not_judged().next().is_none()
            && self.left_behind.is_empty()
            && !self.interrupted
            && !self
                .server_reuse
                .as_ref()
                .is_some_and(|reuse| reuse.findings.iter().any(Finding::fails))
    }

    /// Steps that passed in the whole run.
    pub fn steps_passed(&self) -> usize {
        self.scenarios.iter().map(|s| s.steps_passed).sum()
    }
}

/// cucumber's own options, built from ours rather than parsed from the command line.
type Opts = cucumber::cli::Opts<
    cucumber::cli::Empty,
    cucumber::runner::basic::Cli,
    cucumber::cli::Compose<
        cucumber::cli::Compose<writer::basic::Cli, cucumber::cli::Empty>,
        cucumber::cli::Empty,
    >,
    cucumber::cli::Empty,
>;

/// Where cucumber's JSON writer puts its report, to be read when the run is over.
#[derive(Debug, Clone, Default)]
struct SharedBuffer(Arc<Mutex<Vec<u8>>>);

impl io::Write for SharedBuffer {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

pub(super) fn builtin_features() -> Vec<FeatureText> {
    let mut files: Vec<FeatureText> = Vec::new();
    collect_builtin(&BUILTIN_FEATURES, &mut files);
    files.sort_by(|a, b| a.path.cmp(&b.path));
    files
}

fn collect_builtin(dir: &Dir<'static>, files: &mut Vec<FeatureText>) {
    for file in dir.files() {
        if file.path().extension().is_some_and(|e| e == "feature")
            && let Some(text) = file.contents_utf8()
        {
            files.push(FeatureText {
                path: Path::new("features").join(file.path()),
                text: text.to_owned(),
            });
        }
    }
    for sub in dir.dirs() {
        collect_builtin(sub, files);
    }
}

pub(super) fn user_features(paths: &[PathBuf]) -> Result<Vec<FeatureText>, RunError> {
    let mut files = Vec::new();
    // A file named twice (itself and in its folder, or by two spellings) runs once: its
    // scenarios are known by file and line.
    let mut seen = std::collections::HashSet::new();
    let mut first_time =
        |path: &Path| seen.insert(path.canonicalize().unwrap_or_else(|_| path.to_path_buf()));
    for path in paths {
        if path.is_dir() {
            let mut found = Vec::new();
            feature_files(path, &mut found)?;
            found.sort();
            for entry in found {
                if first_time(&entry) {
                    files.push(read_feature(entry)?);
                }
            }
        } else if first_time(path) {
            files.push(read_feature(path.clone())?);
        }
    }
    Ok(files)
}

/// The `.feature` files in a folder and its subfolders, as cucumber finds them.
fn feature_files(dir: &Path, found: &mut Vec<PathBuf>) -> Result<(), RunError> {
    let entries = std::fs::read_dir(dir).map_err(|e| RunError::Read {
        path: dir.display().to_string(),
        reason: e.to_string(),
    })?;
    for entry in entries.filter_map(Result::ok) {
        let path = entry.path();
        // A link to a folder is not followed: a loop of links cannot hang the run.
        let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
        if is_dir {
            feature_files(&path, found)?;
        } else if path.extension().is_some_and(|e| e == "feature") {
            found.push(path);
        }
    }
    Ok(())
}

fn read_feature(path: PathBuf) -> Result<FeatureText, RunError> {
    let text = std::fs::read_to_string(&path).map_err(|e| RunError::Read {
        path: path.display().to_string(),
        reason: e.to_string(),
    })?;
    Ok(FeatureText { path, text })
}

type Shared = Arc<Mutex<Vec<ScenarioResult>>>;

/// What the after-hook keeps of each scenario's World: the last outcome, the journal, the
/// ids of the records it arranged, whether the integration performed an action, and the
/// findings.
type Evidence = Arc<
    Mutex<
        std::collections::HashMap<
            (String, usize),
            (
                Option<Outcome>,
                Vec<JournalEntry>,
                (Vec<(String, i64)>, Vec<(String, String)>, Vec<String>),
                bool,
                Vec<Finding>,
            ),
        >,
    >,
>;

/// Why a scenario fails by its findings, if it does: each failing finding on a line of its
/// own, under its ID.
fn failing(findings: &[Finding]) -> Option<String> {
    let lines: Vec<String> = findings
        .iter()
        .filter(|f| f.fails())
        .map(|f| format!("  {f}"))
        .collect();
    (!lines.is_empty()).then(|| {
        format!(
            "the integration did what fails this scenario, whatever its outcomes:\n{}",
            lines.join("\n")
        )
    })
}

/// Collects one [`ScenarioResult`] per scenario from cucumber's (normalised) events.
#[derive(Debug, Clone, Default)]
struct Ledger {
    results: Shared,
    parse_errors: Arc<Mutex<Vec<FeatureError>>>,
    /// The scenarios started and not yet finished, with when they started.
    current: Vec<((String, usize), std::time::SystemTime, ScenarioResult)>,
}

/// An Examples row's values, `column = value, …`, for a scenario expanded from an outline.
fn example_row(scenario: &gherkin::Scenario) -> Option<String> {
    let table = scenario.examples.first()?.table.as_ref()?;
    let (header, row) = (table.rows.first()?, table.rows.get(1)?);
    Some(
        header
            .iter()
            .zip(row)
            .map(|(column, value)| format!("{column} = {value}"))
            .collect::<Vec<_>>()
            .join(", "),
    )
}

impl Ledger {
    fn scenario_event(
        &mut self,
        feature: &gherkin::Feature,
        rule: Option<&gherkin::Rule>,
        scenario: &gherkin::Scenario,
        event: Scenario<ConformanceWorld>,
        at: std::time::SystemTime,
    ) {
        let path = feature
            .path
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        let key = (path.clone(), scenario.position.line);
        let position = self.current.iter().position(|(k, _, _)| *k == key);
        match event {
            Scenario::Started => {
                let tags = super::tags_of(feature, rule, scenario).cloned().collect();
                self.current.push((
                    key,
                    at,
                    ScenarioResult {
                        feature: path,
                        feature_name: feature.name.clone(),
                        name: scenario.name.clone(),
                        example: example_row(scenario),
                        line: scenario.position.line,
                        duration: Duration::ZERO,
                        tags,
                        steps_passed: 0,
                        steps: Vec::new(),
                        failure: None,
                        feature_error: None,
                        not_judged: None,
                        exercised: false,
                        outcome: None,
                        requests: Vec::new(),
                        arranged: Vec::new(),
                        members: Vec::new(),
                        findings: Vec::new(),
                        expected_failure: None,
                        emulated: Vec::new(),
                    },
                ));
            }
            Scenario::Step(step, ev) | Scenario::Background(step, ev) => {
                let Some(index) = position else { return };
                let result = &mut self.current[index].2;
                let text = format!("{} {}", step.keyword.trim(), step.value);
                let status = match &ev {
                    Step::Started => None,
                    Step::Passed(..) => Some("passed"),
                    Step::Skipped => Some("skipped"),
                    Step::Failed(..) => Some("failed"),
                };
                if let Some(status) = status {
                    result.steps.push(StepRecord { text, status });
                }
                // Where a feature mistake is, as an editor jumps to it.
                let place = || {
                    format!(
                        "{}:{}: {} {}",
                        result.feature,
                        step.position.line,
                        step.keyword.trim(),
                        step.value
                    )
                };
                match ev {
                    Step::Passed(..) => result.steps_passed += 1,
                    Step::Skipped => {
                        let mistake = format!(
                            "{}\nstep not implemented (run `cw-conform steps` for the steps there are)",
                            place()
                        );
                        result.feature_error.get_or_insert(mistake);
                    }
                    Step::Failed(_, _, _, error) => match (mistake(&error), not_judged(&error)) {
                        (Some(mistake), _) => {
                            let mistake = format!("{}\n{mistake}", place());
                            result.feature_error.get_or_insert(mistake);
                        }
                        (None, Some(cause)) => {
                            result.not_judged.get_or_insert(cause);
                        }
                        (None, None) => {
                            result
                                .failure
                                .get_or_insert_with(|| describe(&step, &error));
                        }
                    },
                    Step::Started => {}
                }
            }
            // The after-hook fails a scenario in which the integration was found doing
            // what fails it, with the findings as the reason.
            Scenario::Hook(event::HookType::After, event::Hook::Failed(_, info)) => {
                if let Some(index) = position {
                    self.current[index]
                        .2
                        .failure
                        .get_or_insert_with(|| panic_text(&info));
                }
            }
            // The harness could not set the scenario up: nothing was judged (an `<error>`
            // in JUnit, exit 2), never a verdict against the integration.
            Scenario::Hook(_, event::Hook::Failed(_, info)) => {
                if let Some(index) = position {
                    self.current[index].2.not_judged.get_or_insert_with(|| {
                        format!(
                            "the harness could not set the scenario up: {}",
                            panic_text(&info)
                        )
                    });
                }
            }
            Scenario::Finished => {
                if let Some(index) = position {
                    let (_, started, mut result) = self.current.remove(index);
                    result.duration = at.duration_since(started).unwrap_or_default();
                    self.results
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .push(result);
                }
            }
            Scenario::Hook(..) | Scenario::Log(_) => {}
        }
    }
}

/// The feature mistake a step stopped with, if that is why it failed.
fn mistake(error: &StepError) -> Option<String> {
    match error {
        StepError::Panic(info) => panic_text(info)
            .strip_prefix(super::MISTAKE_PREFIX)
            .map(str::to_owned),
        // `fail_on_skipped` reports a step that no definition matches as this error.
        StepError::NotFound => Some(
            "step not implemented: no step matches this text (run `cw-conform steps` for the steps there are)"
                .to_owned(),
        ),
        StepError::AmbiguousMatch(_) => Some(format!("{error} (reword the step)")),
    }
}

/// Why a step could not be judged, if that is why it stopped.
fn not_judged(error: &StepError) -> Option<String> {
    match error {
        StepError::Panic(info) => panic_text(info)
            .strip_prefix(super::NOT_JUDGED_PREFIX)
            .map(str::to_owned),
        StepError::NotFound | StepError::AmbiguousMatch(_) => None,
    }
}

fn panic_text(info: &event::Info) -> String {
    info.downcast_ref::<String>()
        .cloned()
        .or_else(|| info.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_else(|| "(no message)".to_owned())
}

/// What Rust's assertion macros wrap a step's message in: not the domain's words.
const ASSERTION_WRAPPERS: [&str; 3] = [
    "assertion `left == right` failed: ",
    "assertion `left != right` failed: ",
    "assertion failed: ",
];

/// One line of a step's failure as a report shows it, or `None` to leave it out: the
/// wrappers of Rust's assertion macros and cucumber's "Step panicked. Captured output:" are
/// left out, and so is the source location of the step definition; the values an equality
/// check compared are named as the steps pass them, observed first, then expected.
fn domain_line(line: &str) -> Option<String> {
    let plain: String = strip_ansi(line);
    if plain.trim_start().starts_with("Matched: ") {
        return None;
    }
    let mut line = line
        .replace("Step panicked. Captured output: ", "")
        .replace("Defined: ", "at ");
    let trimmed = plain.trim_start();
    if trimmed.starts_with("left: ") {
        line = line.replacen("left: ", "observed: ", 1);
    } else if trimmed.starts_with("right: ") {
        line = line.replacen("right: ", "expected: ", 1);
    }
    for wrapper in ASSERTION_WRAPPERS {
        line = line.replace(wrapper, "");
    }
    Some(line)
}

/// `text` without ANSI colour sequences.
fn strip_ansi(text: &str) -> String {
    let mut plain = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            plain.push(c);
        }
    }
    plain
}

/// A step's failure text in the domain's words ([`domain_line`] for each line).
fn domain_text(text: &str) -> String {
    text.lines()
        .filter_map(domain_line)
        .collect::<Vec<_>>()
        .join("\n")
}

/// The progress display, in the domain's words: each line passes through [`domain_line`].
struct DomainProgress {
    inner: Box<dyn io::Write + Send>,
    pending: Vec<u8>,
}

impl io::Write for DomainProgress {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.pending.extend_from_slice(buf);
        while let Some(end) = self.pending.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.pending.drain(..=end).collect();
            let text = String::from_utf8_lossy(&line[..line.len() - 1]);
            if let Some(shown) = domain_line(&text) {
                self.inner.write_all(shown.as_bytes())?;
                self.inner.write_all(b"\n")?;
            }
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if !self.pending.is_empty() {
            let rest = std::mem::take(&mut self.pending);
            self.inner.write_all(&rest)?;
        }
        self.inner.flush()
    }
}

fn describe(step: &gherkin::Step, error: &StepError) -> String {
    let what = match error {
        StepError::Panic(info) => domain_text(&panic_text(info)),
        // `fail_on_skipped` reports a step that no definition matches as this error.
        StepError::NotFound => {
            "step not implemented: no step definition matches this text".to_owned()
        }
        StepError::AmbiguousMatch(_) => error.to_string(),
    };
    format!(
        "{} {} (line {})\n{what}",
        step.keyword.trim(),
        step.value,
        step.position.line
    )
}

impl cucumber::Writer<ConformanceWorld> for Ledger {
    type Cli = cucumber::cli::Empty;

    async fn handle_event(
        &mut self,
        event: parser::Result<Event<Cucumber<ConformanceWorld>>>,
        _: &Self::Cli,
    ) {
        match event.map(Event::split) {
            Err(error) => self
                .parse_errors
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(FeatureError::from_cucumber(&error)),
            Ok((
                Cucumber::Feature(
                    feature,
                    Feature::Scenario(scenario, RetryableScenario { event, .. }),
                ),
                meta,
            )) => {
                self.scenario_event(&feature, None, &scenario, event, meta.at);
            }
            Ok((
                Cucumber::Feature(
                    feature,
                    Feature::Rule(rule, Rule::Scenario(scenario, RetryableScenario { event, .. })),
                ),
                meta,
            )) => {
                self.scenario_event(&feature, Some(&rule), &scenario, event, meta.at);
            }
            Ok(_) => {}
        }
    }
}

impl writer::Normalized for Ledger {}
impl writer::NonTransforming for Ledger {}

/// A writer present only when asked for. Cucumber's JSON writer looks up each event's
/// feature element by a linear search, so a run of N scenarios in one feature costs it
/// N² steps: it is part of the chain only when `--format cucumber` wants its output.
#[derive(Debug)]
struct Optional<Wr>(Option<Wr>);

impl<W: cucumber::World, Wr: cucumber::Writer<W>> cucumber::Writer<W> for Optional<Wr> {
    type Cli = Wr::Cli;

    async fn handle_event(
        &mut self,
        event: parser::Result<Event<cucumber::event::Cucumber<W>>>,
        cli: &Self::Cli,
    ) {
        if let Some(inner) = &mut self.0 {
            inner.handle_event(event, cli).await;
        }
    }
}

impl<W, Wr, Val> writer::Arbitrary<W, Val> for Optional<Wr>
where
    W: cucumber::World,
    Wr: writer::Arbitrary<W, Val>,
{
    async fn write(&mut self, val: Val) {
        if let Some(inner) = &mut self.0 {
            inner.write(val).await;
        }
    }
}

impl<W, Wr> writer::Stats<W> for Optional<Wr>
where
    W: cucumber::World,
    Wr: writer::Stats<W>,
{
    fn passed_steps(&self) -> usize {
        self.0.as_ref().map_or(0, writer::Stats::passed_steps)
    }

    fn skipped_steps(&self) -> usize {
        self.0.as_ref().map_or(0, writer::Stats::skipped_steps)
    }

    fn failed_steps(&self) -> usize {
        self.0.as_ref().map_or(0, writer::Stats::failed_steps)
    }

    fn retried_steps(&self) -> usize {
        self.0.as_ref().map_or(0, writer::Stats::retried_steps)
    }

    fn parsing_errors(&self) -> usize {
        self.0.as_ref().map_or(0, writer::Stats::parsing_errors)
    }

    fn hook_errors(&self) -> usize {
        self.0.as_ref().map_or(0, writer::Stats::hook_errors)
    }
}

impl<Wr: writer::Normalized> writer::Normalized for Optional<Wr> {}
impl<Wr: writer::NonTransforming> writer::NonTransforming for Optional<Wr> {}

/// Runs the features and returns one result per scenario. Progress goes to `out`.
pub async fn run(
    options: &RunOptions,
    out: Box<dyn io::Write + Send>,
) -> Result<RunSummary, RunError> {
    run_until(options, out, std::future::pending()).await
}

/// Runs the features until they are done or `stop` completes (an interrupt): then the
/// summary holds the scenarios that finished, and says it was interrupted.
pub async fn run_until(
    options: &RunOptions,
    out: Box<dyn io::Write + Send>,
    stop: impl std::future::Future<Output = ()>,
) -> Result<RunSummary, RunError> {
    let started = Instant::now();
    let started_at = std::time::SystemTime::now();
    let loaded = super::features::load(if options.paths.is_empty() {
        builtin_features()
    } else {
        user_features(&options.paths)?
    });
    let args = vec![
        "cw-conform".to_owned(),
        "--concurrency".to_owned(),
        options.concurrency.max(1).to_string(),
    ];
    // Tags are evaluated here, not by cucumber: its own tag filter would replace the
    // sandbox filter below instead of combining with it.
    let tags: Option<TagOperation> = match &options.tags {
        Some(expression) => {
            Some(
                expression
                    .parse::<TagOperation>()
                    .map_err(|e| RunError::Tags {
                        expression: expression.clone(),
                        reason: e.to_string(),
                    })?,
            )
        }
        None => None,
    };
    let cli = <Opts as clap::Parser>::try_parse_from(&args).map_err(|e| RunError::Tags {
        expression: options.tags.clone().unwrap_or_default(),
        reason: e.kind().to_string(),
    })?;
    let mcp = match &options.integration {
        IntegrationUnderTest::Reference => None,
        IntegrationUnderTest::Mcp(config) => Some(Arc::clone(config)),
    };
    let context = Arc::new(RunContext::new(
        Arc::clone(&options.fixtures),
        options.sandbox.clone(),
        mcp.clone(),
        options.reuse_servers,
        options.fixed_site.as_ref(),
    ));
    let running_already = options.fixed_site.is_some();
    let left_out: Arc<Mutex<Vec<LeftOut>>> = Arc::default();
    let left_out_sink = Arc::clone(&left_out);
    let not_offered: Arc<Mutex<Vec<NotOffered>>> = Arc::default();
    let not_offered_sink = Arc::clone(&not_offered);
    let sandbox = options.sandbox.clone();
    let filter_fixtures = Arc::clone(&options.fixtures);
    // A shard is chosen among the scenarios the tags select, before the integration or the
    // sandbox leaves any out: each shard reports what it left out of its own share.
    let shard = options.partition.map(|partition| {
        partition.select(
            selected(&loaded.features)
                .filter(|(feature, rule, scenario)| {
                    tags.as_ref()
                        .is_none_or(|t| t.eval(super::tags_of(feature, *rule, scenario)))
                })
                .map(|(feature, _, scenario)| (path_of(feature), scenario.position.line)),
        )
    });
    let filter = move |feature: &gherkin::Feature,
                       rule: Option<&gherkin::Rule>,
                       scenario: &gherkin::Scenario| {
        let all_tags = super::tags_of(feature, rule, scenario);
        if tags.as_ref().is_some_and(|t| !t.eval(all_tags)) {
            return false;
        }
        if shard
            .as_ref()
            .is_some_and(|s| !s.contains(&(path_of(feature), scenario.position.line)))
        {
            return false;
        }
        if let Some(left) = mcp
            .as_ref()
            .and_then(|config| unoffered(config, &filter_fixtures, feature, rule, scenario))
        {
            left_out_sink
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(LeftOut {
                    feature: left.feature.clone(),
                    line: left.line,
                    name: left.name.clone(),
                    reason: format!(
                        "not offered by this integration: {}",
                        left.actions.join(", ")
                    ),
                    tags: left.tags.clone(),
                });
            not_offered_sink
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(left);
            return false;
        }
        if running_already
            && let Some(reason) = super::steps_of(feature, rule, scenario)
                .find_map(|step| super::steps::needs_own_server(&step.value))
        {
            left_out_sink
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(LeftOut {
                    feature: path_of(feature),
                    line: scenario.position.line,
                    name: scenario.name.clone(),
                    reason: format!(
                        "needs a server started for it, not one already running: {reason}"
                    ),
                    tags: super::tags_of(feature, rule, scenario).cloned().collect(),
                });
            return false;
        }
        let Some(run) = &sandbox else { return true };
        match super::sandbox::exclusion(run, &filter_fixtures, feature, rule, scenario) {
            None => true,
            Some(reason) => {
                left_out_sink
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push(LeftOut {
                        feature: feature
                            .path
                            .as_ref()
                            .map(|p| p.display().to_string())
                            .unwrap_or_default(),
                        line: scenario.position.line,
                        name: scenario.name.clone(),
                        reason,
                        tags: super::tags_of(feature, rule, scenario).cloned().collect(),
                    });
                false
            }
        }
    };
    let ledger = Ledger::default();
    let evidence: Evidence = Arc::default();
    let evidence_sink = Arc::clone(&evidence);
    let results = Arc::clone(&ledger.results);
    let parse_errors = Arc::clone(&ledger.parse_errors);
    let color = if options.color {
        writer::Coloring::Always
    } else {
        writer::Coloring::Never
    };
    let verbosity = Verbosity::Default;
    let progress: Box<dyn io::Write + Send> = if options.progress {
        Box::new(DomainProgress {
            inner: out,
            pending: Vec::new(),
        })
    } else {
        Box::new(io::sink())
    };
    let cucumber_json = SharedBuffer::default();
    let writer = writer::Basic::raw(progress, color, verbosity)
        .tee::<ConformanceWorld, _>(ledger)
        .tee::<ConformanceWorld, _>(Optional(
            options
                .cucumber_json
                .then(|| writer::Json::for_tee(cucumber_json.clone())),
        ))
        .normalized();
    let mut writer = writer.fail_on_skipped();
    let cucumber::cli::Opts {
        runner: runner_cli,
        writer: writer_cli,
        ..
    } = cli;
    // The filter is applied here, once, before the scenarios are shared out over lanes.
    let features: Vec<gherkin::Feature> = loaded
        .features
        .into_iter()
        .map(|feature| chosen_scenarios(feature, &filter))
        .collect();
    let feature_order: std::collections::HashMap<String, usize> = features
        .iter()
        .enumerate()
        .map(|(i, feature)| (path_of(feature), i))
        .rev()
        .collect();
    let scenario_count = features.iter().map(gherkin::Feature::count_scenarios).sum();
    // A lane runs on a runtime of its own unless something its scenarios spawn lives on
    // across them: the servers an MCP run starts (and may keep), a sandbox's connections.
    let runtime = if context.mcp.is_none() && context.sandbox.is_none() {
        lanes::LaneRuntime::Own
    } else {
        lanes::LaneRuntime::Shared(tokio::runtime::Handle::current())
    };
    let threads = options.threads.map_or_else(
        || {
            default_threads(
                std::thread::available_parallelism().map_or(1, std::num::NonZero::get),
                &runtime,
            )
        },
        std::num::NonZero::get,
    );
    let concurrency = options.concurrency.max(1);
    let lane_count = lanes::count(concurrency, scenario_count, threads);
    let lanes::Plan { shares, mut merger } = lanes::plan(features, lane_count);
    let each = lanes::concurrency_of_each(concurrency, shares.len());
    let steps = ConformanceWorld::collection();
    let lane = lane_runner(&context, &evidence_sink, steps, runner_cli);
    let quiet = lanes::QuietPanics::hold();
    let mut lanes = lanes::Lanes::start(shares.into_iter().zip(each).collect(), lane, &runtime)
        .map_err(|e| RunError::Threads {
            reason: e.to_string(),
        })?;
    let write_all = async {
        for event in merger.opening() {
            writer.handle_event(event, &writer_cli).await;
        }
        while let Some(arrived) = lanes.arrived().await {
            for event in arrived.into_iter().flat_map(|event| merger.accept(event)) {
                writer.handle_event(event, &writer_cli).await;
            }
        }
        for event in lanes::Merger::closing() {
            writer.handle_event(event, &writer_cli).await;
        }
    };
    let interrupted = tokio::select! {
        () = write_all => false,
        () = stop => true,
    };
    if interrupted {
        lanes.cancel();
    }
    lanes.join().await;
    drop(quiet);
    drop(writer);
    // Kept servers are stopped after the last scenario, and on an interrupt.
    // A server already running reports only what it sent after the last scenario.
    let server_reuse = match context.mcp.as_ref().and_then(|mcp| mcp.kept.as_ref()) {
        Some(kept) => {
            let reuse = kept.stop().await;
            (!kept.is_running_already() || !reuse.findings.is_empty()).then_some(reuse)
        }
        None => None,
    };
    let mut scenarios = results
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    let mut evidence = evidence.lock().unwrap_or_else(PoisonError::into_inner);
    for scenario in &mut scenarios {
        if let Some((outcome, requests, arranged, exercised, findings)) =
            evidence.remove(&(scenario.feature.clone(), scenario.line))
        {
            scenario.outcome = outcome;
            scenario.requests = requests;
            (scenario.arranged, scenario.members, scenario.emulated) = arranged;
            scenario.exercised = exercised;
            scenario.findings = findings;
        }
    }
    drop(evidence);
    // Lanes finish in any order; the results are given in the order the scenarios are
    // written, as one runner gives them.
    scenarios.sort_by_key(|s| {
        (
            feature_order.get(&s.feature).copied().unwrap_or(usize::MAX),
            s.line,
        )
    });
    let left_out = left_out
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    let mut feature_errors = loaded.errors;
    feature_errors.extend(
        parse_errors
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .drain(..),
    );
    let not_offered = not_offered
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    Ok(RunSummary {
        scenarios,
        parse_errors: feature_errors,
        elapsed: started.elapsed(),
        started: Some(started_at),
        cucumber_json: (options.cucumber_json && !interrupted).then(|| {
            String::from_utf8_lossy(
                &cucumber_json
                    .0
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner),
            )
            .into_owned()
        }),
        left_out,
        left_behind: Vec::new(),
        earlier_leftovers: options
            .sandbox
            .as_ref()
            .map(|run| run.earlier.clone())
            .unwrap_or_default(),
        sandbox_behaviours: options
            .sandbox
            .as_ref()
            .map(|run| {
                SWITCHES
                    .iter()
                    .filter_map(|switch| run.own_behaviour(&context.fixtures, switch))
                    .map(|own| own.to_string())
                    .collect()
            })
            .unwrap_or_default(),
        interrupted,
        not_offered,
        partition: options.partition,
        whole_suite: options.tags.is_none()
            && options.paths.is_empty()
            && options.sandbox.is_none(),
        integration: match &options.integration {
            IntegrationUnderTest::Reference => None,
            IntegrationUnderTest::Mcp(config) => Some(config.name.clone()),
        },
        integration_transport: match &options.integration {
            IntegrationUnderTest::Reference => None,
            IntegrationUnderTest::Mcp(config) => Some(config.server.transport_shown()),
        },
        baseline: None,
        server_reuse,
    })
}

/// The threads a run spreads its scenarios over on `cores` cores unless told.
///
/// - Lanes with a runtime of their own do all of their scenarios' work, the mock and the
///   integration's requests included: one per core.
/// - Lanes on the shared runtime do about two fifths of it (steps and hooks); the
///   runtime's workers, one per core, do the rest. Measured with `perf record --sort comm`
///   on the built-in suite: 37.5 % on the scenarios' threads, 53.6 % on the workers, 8.9 %
///   on the run's own thread (its writers). One per two cores keeps each lane below a
///   core's share; more only add threads that contend for the cores (2 cores: one thread,
///   376–433 CPU-ms; two, 445–527 CPU-ms, at the same wall time).
fn default_threads(cores: usize, runtime: &lanes::LaneRuntime) -> usize {
    match runtime {
        lanes::LaneRuntime::Own => cores.max(1),
        lanes::LaneRuntime::Shared(_) => (cores / 2).max(1),
    }
}

/// A feature with only the scenarios `filter` chooses, kept as cucumber's `filter_run`
/// keeps them.
fn chosen_scenarios(
    mut feature: gherkin::Feature,
    filter: &impl Fn(&gherkin::Feature, Option<&gherkin::Rule>, &gherkin::Scenario) -> bool,
) -> gherkin::Feature {
    let scenarios = std::mem::take(&mut feature.scenarios);
    feature.scenarios = scenarios
        .into_iter()
        .filter(|s| filter(&feature, None, s))
        .collect();
    let mut rules = std::mem::take(&mut feature.rules);
    for rule in &mut rules {
        let scenarios = std::mem::take(&mut rule.scenarios);
        rule.scenarios = scenarios
            .into_iter()
            .filter(|s| filter(&feature, Some(rule), s))
            .collect();
    }
    feature.rules = rules;
    feature
}

/// What runs one lane's share of the scenarios: cucumber's runner with the steps, and the
/// hooks that give each scenario its World and keep what its World saw.
fn lane_runner(
    context: &Arc<RunContext>,
    evidence: &Evidence,
    steps: cucumber::step::Collection<ConformanceWorld>,
    cli: cucumber::runner::basic::Cli,
) -> impl Fn(
    Vec<gherkin::Feature>,
    usize,
) -> stream::LocalBoxStream<'static, lanes::LaneEvent<ConformanceWorld>>
+ Clone
+ Send
+ 'static {
    let (context, evidence) = (Arc::clone(context), Arc::clone(evidence));
    move |features, concurrency| {
        let mut cli = cli.clone();
        cli.concurrency = Some(concurrency);
        let context = Arc::clone(&context);
        let evidence_sink = Arc::clone(&evidence);
        let runner = cucumber::runner::Basic::default()
            .steps(steps.clone())
            .before(move |feature, rule, scenario, world| {
                let existing_records =
                    super::tags_of(feature, rule, scenario).any(|t| t == "existing-records");
                world.begin(Arc::clone(&context), existing_records);
                world.refused_row = super::arrange::a_row_meant_to_be_refused(scenario);
                Box::pin(async {})
            })
            .after(move |feature, _, scenario, _, world| {
                let evidence = Arc::clone(&evidence_sink);
                let key = (path_of(feature), scenario.position.line);
                Box::pin(async move {
                    if let Some(world) = world {
                        let outcome = world.result.as_ref().map(|r| r.outcome);
                        let journal = world.shown_journal();
                        let arranged = (
                            world
                                .arranged
                                .iter()
                                .map(|(name, record)| (name.clone(), record.id))
                                .collect(),
                            super::arrange::members_known(world),
                            world.emulated.clone(),
                        );
                        let findings = world.stop_integrations().await;
                        let failure = failing(&findings);
                        evidence
                            .lock()
                            .unwrap_or_else(PoisonError::into_inner)
                            .insert(
                                key,
                                (outcome, journal, arranged, world.performed > 0, findings),
                            );
                        world.finish().await;
                        if let Some(failure) = failure {
                            panic!("{failure}");
                        }
                    }
                })
            });
        cucumber::Runner::run(runner, stream::iter(features.into_iter().map(Ok)), cli)
    }
}

/// A feature's path as results name it.
fn path_of(feature: &gherkin::Feature) -> String {
    feature
        .path
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_default()
}

/// Every scenario of the features (outlines expanded), with its feature and rule.
fn selected(
    features: &[gherkin::Feature],
) -> impl Iterator<
    Item = (
        &gherkin::Feature,
        Option<&gherkin::Rule>,
        &gherkin::Scenario,
    ),
> {
    features.iter().flat_map(|feature| {
        feature
            .scenarios
            .iter()
            .map(move |scenario| (feature, None, scenario))
            .chain(feature.rules.iter().flat_map(move |rule| {
                rule.scenarios
                    .iter()
                    .map(move |scenario| (feature, Some(rule), scenario))
            }))
    })
}

/// A scenario that asks for actions the MCP integration maps to no tool.
fn unoffered(
    config: &IntegrationConfig,
    fixtures: &Fixtures,
    feature: &gherkin::Feature,
    rule: Option<&gherkin::Rule>,
    scenario: &gherkin::Scenario,
) -> Option<NotOffered> {
    let actions: Vec<String> = actions_asked(fixtures, feature, rule, scenario)
        .into_iter()
        .filter(|action| config.tool_for(action).is_none())
        .collect();
    let blocking = blocking_actions(fixtures, feature, rule, scenario)
        .into_iter()
        .filter(|action| actions.contains(action))
        .collect();
    (!actions.is_empty()).then(|| NotOffered {
        blocking,
        feature: feature
            .path
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_default(),
        line: scenario.position.line,
        name: scenario.name.clone(),
        tags: super::tags_of(feature, rule, scenario).cloned().collect(),
        actions,
    })
}

/// The phrase as the step `the AI asks to …` reads it (steps/actions.rs).
static ASKS: std::sync::LazyLock<Option<regex::Regex>> = std::sync::LazyLock::new(|| {
    regex::Regex::new(
        r#"^the AI asks to (.+?)(?: #(\d+)| "([^"]*)"| (the one just created))?(?: with:?)?$"#,
    )
    .ok()
});

/// The action a step asks for, if it is a `the AI asks to …` step with a catalog phrase.
fn asked_by<'a>(fixtures: &'a Fixtures, step: &str) -> Option<&'a crate::model::Action> {
    ASKS.as_ref()
        .and_then(|asks| asks.captures(step))
        .and_then(|c| c.get(1))
        .and_then(|p| fixtures.actions.by_phrase(p.as_str()))
}

/// The actions a scenario expects the integration to refuse or hold: each action asked for
/// and followed by `the outcome is blocked` or `the outcome is escalated` (before the next
/// request). Such a scenario is its rule's blocking one.
pub(crate) fn blocking_actions(
    fixtures: &Fixtures,
    feature: &gherkin::Feature,
    rule: Option<&gherkin::Rule>,
    scenario: &gherkin::Scenario,
) -> Vec<String> {
    let mut blocking: Vec<String> = Vec::new();
    let mut last: Option<&crate::model::Action> = None;
    for step in super::steps_of(feature, rule, scenario) {
        if let Some(action) = asked_by(fixtures, &step.value) {
            last = Some(action);
        } else if let Some(action) = last
            && matches!(
                step.value.as_str(),
                "the outcome is blocked" | "the outcome is escalated"
            )
            && !blocking.contains(&action.name)
        {
            blocking.push(action.name.clone());
        }
    }
    blocking
}

/// The catalog actions a scenario asks the integration for: each `the AI asks to …` step,
/// and the writes of the workflow a `every write of the workflow "…" is allowed` step runs.
/// (The other catalog-wide steps accept an action that is not offered as refused.)
pub(crate) fn actions_asked(
    fixtures: &Fixtures,
    feature: &gherkin::Feature,
    rule: Option<&gherkin::Rule>,
    scenario: &gherkin::Scenario,
) -> Vec<String> {
    let steps = super::steps_of(feature, rule, scenario);
    let mut asked: Vec<String> = Vec::new();
    for step in steps {
        let phrase = asked_by(fixtures, &step.value);
        let workflow = step
            .value
            .strip_prefix("every write of the workflow \"")
            .and_then(|rest| rest.strip_suffix("\" is allowed"));
        let actions: Vec<&crate::model::Action> = match (phrase, workflow) {
            (Some(action), _) => vec![action],
            (None, Some(workflow)) => fixtures
                .actions
                .iter()
                .filter(|a| a.workflow == workflow && a.writes())
                .collect(),
            (None, None) => Vec::new(),
        };
        for action in actions {
            if !asked.contains(&action.name) {
                asked.push(action.name.clone());
            }
        }
    }
    asked
}

#[cfg(test)]
mod coverage;
mod lanes;

#[cfg(test)]
mod tests {
    use cucumber::feature::Ext as _;

    use super::*;
    use crate::harness::scenarios_of;

    #[test]
    fn a_scenario_judges_exactly_the_rules_it_lists() {
        let mut scenario =
            ScenarioResult::sample(&["@OV-03", "@mock-only", "@@SD-01", "LP-02"], None);
        scenario.findings.push(Finding::rule(
            RuleId::from_tag("SAFE-01").unwrap(),
            "PATCH /system/members/5 -> 200",
        ));
        let listed = scenario.rules();
        assert_eq!(listed.len(), 4, "{listed:?}");
        for id in [
            "OV-03", "SD-01", "LP-02", "SAFE-01", "OV-04", "SD-10", "LP-01",
        ] {
            let rule = RuleId::from_tag(id).unwrap();
            assert_eq!(scenario.judges(&rule), listed.contains(&rule), "{id}");
        }
    }

    /// Every built-in feature, with its examples expanded.
    pub(super) fn builtin_parsed() -> Vec<(FeatureText, gherkin::Feature)> {
        builtin_features()
            .into_iter()
            .map(|file| {
                let feature = gherkin::Feature::parse(&file.text, gherkin::GherkinEnv::default())
                    .unwrap()
                    .expand_examples()
                    .unwrap();
                (file, feature)
            })
            .collect()
    }

    /// The `@mock-only` tag is what tells a sandbox run to leave a scenario out: every
    /// scenario with a step that only the mock can satisfy must carry it.
    #[test]
    fn scenarios_that_need_the_mock_are_tagged_mock_only() {
        let mut untagged = Vec::new();
        for (file, feature) in builtin_parsed() {
            for (rule, scenario) in scenarios_of(&feature) {
                let tags: Vec<&String> = super::super::tags_of(&feature, rule, scenario).collect();
                let steps: Vec<_> = super::super::steps_of(&feature, rule, scenario).collect();
                let needs = super::super::sandbox::needs_mock_of(&steps);
                if let Some(reason) = needs
                    && !tags.iter().any(|t| *t == "mock-only")
                {
                    untagged.push(format!(
                        "{}:{} {} ({reason})",
                        file.path.display(),
                        scenario.position.line,
                        scenario.name
                    ));
                }
            }
        }
        assert!(
            untagged.is_empty(),
            "scenarios that need the mock but are not tagged @mock-only:\n{}",
            untagged.join("\n")
        );
    }

    /// An MCP run leaves out the scenarios that ask for an action not offered: every
    /// `the AI asks to …` step of the built-in features must be read as its action.
    #[test]
    fn every_request_of_the_builtin_features_names_its_action() {
        let fixtures = Fixtures::shared_builtin().unwrap();
        let mut unread = Vec::new();
        for (file, feature) in builtin_parsed() {
            for (rule, scenario) in scenarios_of(&feature) {
                let asks = scenario
                    .steps
                    .iter()
                    .filter(|s| s.value.starts_with("the AI asks to "))
                    .count();
                let asked = actions_asked(&fixtures, &feature, rule, scenario);
                if asks > 0 && asked.is_empty() {
                    unread.push(format!(
                        "{}:{}",
                        file.path.display(),
                        scenario.position.line
                    ));
                }
            }
        }
        assert!(
            unread.is_empty(),
            "requests not read as actions: {unread:?}"
        );
        let feature = gherkin::Feature::parse(
            "Feature: f\n  Scenario: s\n    When the AI asks to delete ticket #1009\n    Then every write of the workflow \"time\" is allowed\n",
            gherkin::GherkinEnv::default(),
        )
        .unwrap();
        let asked = actions_asked(&fixtures, &feature, None, &feature.scenarios[0]);
        assert_eq!(asked[0], "ticket.delete");
        assert!(asked.contains(&"time_entry.create".to_owned()), "{asked:?}");
        assert!(
            !asked.contains(&"time_entry.search".to_owned()),
            "{asked:?}"
        );
    }

    /// A blocking rule is known by its scenarios, not a hand list: every rule the policy
    /// uses to block a resource has a built-in scenario that asks for a write of it and
    /// expects it blocked; a companion that reads is not blocking.
    #[test]
    fn the_blocking_scenarios_are_found_from_their_expected_outcomes() {
        let fixtures = Fixtures::shared_builtin().unwrap();
        let feature = gherkin::Feature::parse(
            "Feature: f\n  Scenario: s\n    When the AI asks to search companies \"Acme\"\n    Then the outcome is allowed\n    When the AI asks to delete ticket #1009\n    Then the outcome is escalated\n",
            gherkin::GherkinEnv::default(),
        )
        .unwrap();
        assert_eq!(
            blocking_actions(&fixtures, &feature, None, &feature.scenarios[0]),
            ["ticket.delete"]
        );
        let mut blocking_rules = std::collections::BTreeSet::new();
        for (_, feature) in builtin_parsed() {
            for (rule, scenario) in scenarios_of(&feature) {
                if !blocking_actions(&fixtures, &feature, rule, scenario).is_empty() {
                    blocking_rules.extend(
                        super::super::tags_of(&feature, rule, scenario)
                            .filter(|t| t.starts_with("SAFE-"))
                            .cloned(),
                    );
                }
            }
        }
        for block in &fixtures.policy.blocks {
            assert!(
                blocking_rules.contains(block.rule.as_str()),
                "no blocking scenario found for {}",
                block.rule
            );
        }
    }

    /// The whole run on one thread and spread over three: the same results, in the same
    /// order, and the same progress display.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_run_spread_over_threads_reports_as_one_on_a_single_thread() {
        let on = |threads: usize| {
            let options = RunOptions {
                tags: Some("@LP-01 or @SD-01 or @RB-01 or @SF-03".to_owned()),
                concurrency: 6,
                threads: std::num::NonZeroUsize::new(threads),
                ..RunOptions::default()
            };
            async move {
                let shown = SharedBuffer::default();
                let summary = run(&options, Box::new(shown.clone())).await.unwrap();
                let shown = String::from_utf8(shown.0.lock().unwrap().clone()).unwrap();
                (summary, shown)
            }
        };
        let (one, one_shown) = on(1).await;
        let (three, three_shown) = on(3).await;
        let results = |summary: &RunSummary| -> Vec<(String, usize, bool, Option<Outcome>)> {
            summary
                .scenarios
                .iter()
                .map(|s| (s.feature.clone(), s.line, s.passed(), s.outcome))
                .collect()
        };
        assert!(
            one.scenarios.len() > 10,
            "{} scenarios",
            one.scenarios.len()
        );
        assert!(one.scenarios.iter().all(ScenarioResult::passed));
        assert_eq!(results(&one), results(&three));
        let progress = |shown: &str| -> Vec<String> {
            shown
                .lines()
                .filter(|line| !line.contains("Arranged"))
                .map(str::to_owned)
                .collect()
        };
        assert_eq!(progress(&one_shown), progress(&three_shown));
    }

    /// Through the library, as the CLI and `cargo test` run features: a feature with an
    /// empty scenario does not run, is a feature error on its line, and the run does not
    /// conform; the sound feature next to it still runs.
    #[tokio::test(flavor = "multi_thread")]
    async fn a_feature_error_is_reported_and_its_scenarios_never_pass() {
        let folder = crate::scratch::Scratch::new("runner");
        let broken = folder.join("broken.feature");
        std::fs::write(
            &broken,
            "Feature: Broken\n\n  Scenario: nothing here\n\n  Scenario Outline: never filled\n    Given an API member with the role \"<role>\"\n",
        )
        .unwrap();
        let sound = folder.join("sound.feature");
        std::fs::write(
            &sound,
            "Feature: Sound\n\n  Scenario: denied\n    Given an API member with the role \"no-access\"\n    When the AI asks to search companies \"Acme\"\n    Then the outcome is denied\n",
        )
        .unwrap();
        let options = RunOptions {
            paths: vec![broken.clone(), sound.clone()],
            progress: false,
            ..RunOptions::default()
        };

        let summary = run(&options, Box::new(io::sink())).await.unwrap();

        let errors: Vec<String> = summary
            .parse_errors
            .iter()
            .map(ToString::to_string)
            .collect();
        let broken = broken.display().to_string();
        assert_eq!(
            errors,
            [
                format!("{broken}:3: the Scenario \"nothing here\" has no steps"),
                format!(
                    "{broken}:5: the Scenario Outline \"never filled\" has no Examples: it would run once with its <placeholders> unfilled"
                ),
            ]
        );
        let ran: Vec<(&str, bool)> = summary
            .scenarios
            .iter()
            .map(|s| (s.feature.as_str(), s.passed()))
            .collect();
        assert_eq!(ran, [(sound.display().to_string().as_str(), true)]);
        assert!(!summary.conforms());
    }

    /// A failure reads in the domain's words: what the step expected and observed, not
    /// the assertion macro or cucumber's panic wrapper.
    #[test]
    fn failure_text_drops_the_wrappers_of_rust_assertions() {
        let panic = "assertion `left == right` failed: the audit found:\nnothing\n  left: false\n right: true";
        assert_eq!(
            domain_text(panic),
            "the audit found:\nnothing\n  observed: false\n expected: true"
        );
        let progress = "      Matched: src/harness/steps/outcomes.rs:125:1";
        assert_eq!(domain_line(progress), None);
        assert_eq!(
            domain_line(
                "\u{1b}[31m      Step panicked. Captured output: the AI was told nothing\u{1b}[0m"
            )
            .as_deref(),
            Some("\u{1b}[31m      the AI was told nothing\u{1b}[0m")
        );
    }

    #[test]
    fn a_folder_is_searched_for_features_in_its_subfolders_in_name_order() {
        let folder = crate::scratch::Scratch::new("nested");
        std::fs::create_dir_all(folder.join("b/deeper")).unwrap();
        std::fs::create_dir_all(folder.join("a")).unwrap();
        for file in ["b/deeper/two.feature", "a/one.feature", "top.feature"] {
            std::fs::write(folder.join(file), format!("Feature: {file}\n")).unwrap();
        }
        std::fs::write(folder.join("a/notes.txt"), "not a feature").unwrap();

        let found = user_features(&[folder.to_path_buf()]).unwrap();

        let names: Vec<String> = found
            .iter()
            .map(|f| f.path.strip_prefix(&folder).unwrap().display().to_string())
            .collect();
        assert_eq!(
            names,
            ["a/one.feature", "b/deeper/two.feature", "top.feature"]
        );
    }

    #[tokio::test]
    async fn a_run_takes_one_thread_per_core_with_lanes_of_their_own_and_one_per_two_shared() {
        let on = |runtime: &lanes::LaneRuntime| -> Vec<usize> {
            [1, 2, 3, 4, 8, 16]
                .map(|cores| default_threads(cores, runtime))
                .to_vec()
        };
        assert_eq!(on(&lanes::LaneRuntime::Own), [1, 2, 3, 4, 8, 16]);
        let shared = lanes::LaneRuntime::Shared(tokio::runtime::Handle::current());
        assert_eq!(on(&shared), [1, 1, 1, 2, 4, 8]);
    }

    #[test]
    fn a_file_named_twice_is_read_once() {
        let folder = crate::scratch::Scratch::new("twice");
        for file in ["one.feature", "two.feature"] {
            std::fs::write(folder.join(file), format!("Feature: {file}\n")).unwrap();
        }
        let given = [
            folder.join("one.feature"),
            folder.to_path_buf(),
            folder.join(".").join("two.feature"),
        ];

        let found = user_features(&given).unwrap();

        let names: Vec<String> = found
            .iter()
            .map(|f| f.path.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["one.feature", "two.feature"]);
    }

    #[test]
    fn the_builtin_features_are_embedded() {
        assert!(builtin_features().len() >= 10);
    }
}
