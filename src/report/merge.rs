//! Joining the JSON reports of a partitioned run's shards (`run --partition K/N`) into one
//! run, for `cw-conform report merge`: the verdicts, the coverage gate and the baseline are
//! then judged on the whole, as an unpartitioned run would be. The shards must be of one
//! partition: the same N, each K once, no scenario twice. Earlier runs' leftovers on a
//! sandbox are not carried over (`cw-conform sandbox cleanup` lists them).

use std::path::Path;
use std::time::Duration;

use serde::Deserialize;

use crate::cleanup::LeftBehind;
use crate::harness::{FeatureError, LeftOut, NotOffered, Partition, RunSummary, ScenarioResult};

/// Shard reports that cannot be joined.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MergeError {
    /// A report could not be read.
    #[error("failed to read shard report {path}: {reason}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// A report is not a shard's JSON report, or does not fit with the others.
    #[error("failed to merge shard report {path}: {reason}")]
    Invalid {
        /// The file.
        path: String,
        /// What is wrong, naming the value.
        reason: String,
    },
}

/// What `report merge` reads of a JSON report.
#[derive(Deserialize)]
struct ShardReport {
    elapsed_seconds: f64,
    parse_errors: Vec<FeatureError>,
    scenarios: Vec<ScenarioResult>,
    left_out: Vec<LeftOut>,
    left_behind: Vec<LeftBehind>,
    interrupted: bool,
    #[serde(default)]
    not_offered: Vec<NotOffered>,
    #[serde(default)]
    partition: Option<Partition>,
    #[serde(default)]
    whole_suite: bool,
    #[serde(default)]
    integration: Option<IntegrationShown>,
}

#[derive(Deserialize, PartialEq)]
struct IntegrationShown {
    kind: String,
    name: String,
    #[serde(default)]
    transport: Option<String>,
}

/// The shards joined, and what keeps them from being the whole partition.
#[derive(Debug, Clone)]
pub struct Merged {
    /// The run they make together (no partition; no baseline applied yet).
    pub summary: RunSummary,
    /// How many shards the partition has.
    pub total: usize,
    /// The shards of the partition no report was given for.
    pub missing: Vec<usize>,
}

fn read(path: &Path) -> Result<ShardReport, MergeError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| MergeError::Read {
        path: shown.clone(),
        reason: e.to_string(),
    })?;
    serde_json::from_str(&text).map_err(|e| MergeError::Invalid {
        path: shown,
        reason: format!(
            "line {}: {} (expected a report of `cw-conform run --partition K/N --format json`)",
            e.line(),
            e
        ),
    })
}

/// Joins the shard reports at `paths` into one run.
pub fn merge(paths: &[impl AsRef<Path>]) -> Result<Merged, MergeError> {
    let mut summary = RunSummary::default();
    let mut seen: Vec<(usize, String)> = Vec::new();
    let mut total: Option<(usize, String)> = None;
    let mut first_integration: Option<(Option<IntegrationShown>, bool, String)> = None;
    for path in paths {
        let path = path.as_ref();
        let shown = path.display().to_string();
        let invalid = |reason: String| MergeError::Invalid {
            path: shown.clone(),
            reason,
        };
        let report = read(path)?;
        let partition = report.partition.ok_or_else(|| {
            invalid("it is not a shard: the run had no --partition K/N".to_owned())
        })?;
        match &total {
            Some((n, first)) if *n != partition.total => {
                return Err(invalid(format!(
                    "it is shard {partition}, but {first} is of {n} shards"
                )));
            }
            Some(_) => {}
            None => total = Some((partition.total, shown.clone())),
        }
        if let Some((_, first)) = seen.iter().find(|(k, _)| *k == partition.shard) {
            return Err(invalid(format!(
                "it is shard {partition}, and so is {first}"
            )));
        }
        seen.push((partition.shard, shown.clone()));
        if let Some((integration, whole, first)) = &first_integration {
            if *integration != report.integration || *whole != report.whole_suite {
                return Err(invalid(format!(
                    "its run differs from {first}'s (another integration, or another selection of scenarios): shards of one run must be run with the same options"
                )));
            }
        } else {
            summary.whole_suite = report.whole_suite;
            summary.integration = report
                .integration
                .as_ref()
                .filter(|i| i.kind == "mcp")
                .map(|i| i.name.clone());
            summary.integration_transport = report
                .integration
                .as_ref()
                .and_then(|i| i.transport.clone());
            first_integration = Some((report.integration, report.whole_suite, shown.clone()));
        }
        for scenario in &report.scenarios {
            if summary
                .scenarios
                .iter()
                .any(|s| s.feature == scenario.feature && s.line == scenario.line)
            {
                return Err(invalid(format!(
                    "the scenario {}:{} is in another shard too",
                    scenario.feature, scenario.line
                )));
            }
        }
        summary.scenarios.extend(report.scenarios);
        // Every shard reads every feature: a feature error is reported by each.
        for error in report.parse_errors {
            if !summary.parse_errors.contains(&error) {
                summary.parse_errors.push(error);
            }
        }
        summary.left_out.extend(report.left_out);
        summary.not_offered.extend(report.not_offered);
        summary.left_behind.extend(report.left_behind);
        summary.interrupted |= report.interrupted;
        // The shards ran side by side: the run took as long as the longest.
        summary.elapsed = summary
            .elapsed
            .max(Duration::from_secs_f64(report.elapsed_seconds.max(0.0)));
    }
    let total = total.map_or(0, |(n, _)| n);
    let missing = (1..=total)
        .filter(|k| !seen.iter().any(|(shard, _)| shard == k))
        .collect();
    summary
        .scenarios
        .sort_by(|a, b| (&a.feature, a.line).cmp(&(&b.feature, b.line)));
    summary
        .left_out
        .sort_by(|a, b| (&a.feature, a.line).cmp(&(&b.feature, b.line)));
    summary
        .not_offered
        .sort_by(|a, b| (&a.feature, a.line).cmp(&(&b.feature, b.line)));
    // The baseline is the merge's to apply, on the whole run.
    for scenario in &mut summary.scenarios {
        scenario.expected_failure = None;
    }
    Ok(Merged {
        summary,
        total,
        missing,
    })
}
