//! Run results for the documentation, read from the project's JSON report
//! (`cw-conform run --format json`) through its fields: `scenarios` (each with `feature`,
//! `line`, `name`, `steps`, `failure`, `feature_error`, `outcome`, `requests`), `left_out`,
//! `rules` (`id`, `verdict`), `conforms` and `totals`. Fields it does not know are ignored,
//! so a report with more in it still reads.
//!
//! A report may also name its run: `date` (RFC 3339), `cw_conform_version` and
//! `integration` (a name, or an object with a `name`). Without `date`, the run's date is
//! when the report file was last written.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde::Deserialize;

use super::scenarios::ScenarioDoc;
use crate::model::RuleId;

/// A run report that could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The file could not be read.
    #[error("failed to read the run report {path}: {source}")]
    Io {
        /// The report file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The file is not a JSON report of `cw-conform run`.
    #[error(
        "failed to read the run report {path}: line {line}, column {column}: {reason} (expected the JSON report `cw-conform run --format json` writes)"
    )]
    Format {
        /// The report file.
        path: PathBuf,
        /// Where the problem is.
        line: usize,
        /// Where on the line.
        column: usize,
        /// What is wrong.
        reason: String,
    },
}

/// A request ConnectWise received, as evidence (no body: what a scenario sent is in its
/// steps).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct RequestRecord {
    /// HTTP method.
    pub method: String,
    /// The path.
    pub path: String,
    /// The query string.
    #[serde(default)]
    pub query: String,
    /// The status ConnectWise answered.
    pub status: u16,
}

/// One step of a run and how it went.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct StepRun {
    /// Keyword and text.
    pub text: String,
    /// `passed`, `failed`, `skipped`.
    pub status: String,
}

/// The verdict on one run of a scenario.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Every step passed.
    Passed,
    /// The integration did not behave as the scenario says; why.
    Failed(String),
    /// A mistake in the feature stopped it; what.
    FeatureError(String),
    /// The run left it out; why.
    LeftOut(String),
}

impl Verdict {
    /// `passed`, `failed`, `feature error`, `left out`.
    pub fn word(&self) -> &'static str {
        match self {
            Verdict::Passed => "passed",
            Verdict::Failed(_) => "failed",
            Verdict::FeatureError(_) => "feature error",
            Verdict::LeftOut(_) => "left out",
        }
    }

    /// The words of the legend with what each means, the last for a scenario no report
    /// ran.
    pub const LEGEND: [(&'static str, &'static str); 5] = [
        (
            "passed",
            "every step passed: the integration behaved as the scenario says",
        ),
        (
            "failed",
            "the integration did not behave as the scenario says (the evidence says how)",
        ),
        (
            "feature error",
            "a mistake in the feature stopped the scenario: it judged nothing",
        ),
        ("left out", "the run did not run it (the reason is given)"),
        ("not run", "no run report has a result for it"),
    ];
}

/// The latest result of one run of a scenario, with its evidence.
#[derive(Debug, Clone, PartialEq)]
pub struct ScenarioRun {
    /// The feature file.
    pub feature: String,
    /// The scenario's name (an outline row's, placeholders filled).
    pub name: String,
    /// Its line.
    pub line: usize,
    /// The verdict.
    pub verdict: Verdict,
    /// The outcome of its last action, if it performed one.
    pub outcome: Option<String>,
    /// Its steps and how each went.
    pub steps: Vec<StepRun>,
    /// The requests ConnectWise received.
    pub requests: Vec<RequestRecord>,
    /// The report it comes from (index into [`super::Documentation::reports`]).
    pub report: usize,
}

/// One run report.
#[derive(Debug, Clone, PartialEq)]
pub struct RunReport {
    /// The file.
    pub path: PathBuf,
    /// When the run was (the report's `date`, else when the file was written).
    pub date: SystemTime,
    /// Whether the date is the report's own (`false`: the file's).
    pub dated_by_report: bool,
    /// The cw-conform version that ran it, when the report says.
    pub version: Option<String>,
    /// The integration it tested, when the report says.
    pub integration: Option<String>,
    /// Whether the run conformed.
    pub conforms: Option<bool>,
    /// Scenarios run, passed and failed, when the report says.
    pub totals: Option<(usize, usize, usize)>,
    scenarios: Vec<ScenarioRecord>,
    left_out: Vec<LeftOutRecord>,
    rules: Vec<RuleRecord>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
struct ScenarioRecord {
    feature: String,
    name: String,
    line: usize,
    #[serde(default)]
    steps: Vec<StepRun>,
    #[serde(default)]
    failure: Option<String>,
    #[serde(default)]
    feature_error: Option<String>,
    #[serde(default)]
    outcome: Option<String>,
    #[serde(default)]
    requests: Vec<RequestRecord>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
struct LeftOutRecord {
    feature: String,
    line: usize,
    name: String,
    reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
struct RuleRecord {
    id: String,
    verdict: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
struct Totals {
    scenarios: usize,
    passed: usize,
    failed: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
enum Named {
    Name(String),
    Object { name: String },
}

/// The report as written: `scenarios` is required (it is what makes a file a run report),
/// the rest optional.
#[derive(Debug, Deserialize)]
struct ReportFile {
    scenarios: Vec<ScenarioRecord>,
    #[serde(default)]
    left_out: Vec<LeftOutRecord>,
    #[serde(default)]
    rules: Vec<RuleRecord>,
    #[serde(default)]
    conforms: Option<bool>,
    #[serde(default)]
    totals: Option<Totals>,
    #[serde(default)]
    date: Option<String>,
    #[serde(default)]
    cw_conform_version: Option<String>,
    #[serde(default)]
    integration: Option<Named>,
}

impl RunReport {
    /// Reads a report file.
    pub fn read(path: &Path) -> Result<RunReport, ReportError> {
        let io = |source| ReportError::Io {
            path: path.to_owned(),
            source,
        };
        let text = std::fs::read_to_string(path).map_err(io)?;
        let written = std::fs::metadata(path)
            .and_then(|m| m.modified())
            .map_err(io)?;
        RunReport::parse(path, &text, written)
    }

    /// Reads a report's text; `written` is its date when it names none.
    pub fn parse(path: &Path, text: &str, written: SystemTime) -> Result<RunReport, ReportError> {
        // serde would read an array as the report's fields in order; say what it is instead.
        let start = text.len() - text.trim_start().len();
        if let Some(first) = text[start..].chars().next().filter(|c| *c != '{') {
            let line = text[..start].matches('\n').count() + 1;
            let column = start - text[..start].rfind('\n').map_or(0, |at| at + 1) + 1;
            return Err(ReportError::Format {
                path: path.to_owned(),
                line,
                column,
                reason: format!("found '{first}' where a JSON object should start"),
            });
        }
        let file: ReportFile = serde_json::from_str(text).map_err(|e| ReportError::Format {
            path: path.to_owned(),
            line: e.line(),
            column: e.column(),
            reason: e
                .to_string()
                .split(" at line ")
                .next()
                .unwrap_or_default()
                .to_owned(),
        })?;
        let own_date = match &file.date {
            Some(date) => Some(humantime::parse_rfc3339_weak(date).map_err(|e| {
                ReportError::Format {
                    path: path.to_owned(),
                    line: line_of(text, "\"date\""),
                    column: 1,
                    reason: format!("invalid date \"{date}\": {e} (expected RFC 3339, e.g. 2026-11-28T07:40:00Z)"),
                }
            })?),
            None => None,
        };
        Ok(RunReport {
            path: path.to_owned(),
            date: own_date.unwrap_or(written),
            dated_by_report: own_date.is_some(),
            version: file.cw_conform_version,
            integration: file.integration.map(|named| match named {
                Named::Name(name) | Named::Object { name } => name,
            }),
            conforms: file.conforms,
            totals: file.totals.map(|t| (t.scenarios, t.passed, t.failed)),
            scenarios: file.scenarios,
            left_out: file.left_out,
            rules: file.rules,
        })
    }

    fn runs(&self, report: usize) -> impl Iterator<Item = ScenarioRun> + '_ {
        let ran = self.scenarios.iter().map(move |s| ScenarioRun {
            feature: s.feature.clone(),
            name: s.name.clone(),
            line: s.line,
            verdict: match (&s.feature_error, &s.failure) {
                (Some(mistake), _) => Verdict::FeatureError(mistake.clone()),
                (None, Some(failure)) => Verdict::Failed(failure.clone()),
                (None, None) => Verdict::Passed,
            },
            outcome: s.outcome.clone(),
            steps: s.steps.clone(),
            requests: s.requests.clone(),
            report,
        });
        let left_out = self.left_out.iter().map(move |l| ScenarioRun {
            feature: l.feature.clone(),
            name: l.name.clone(),
            line: l.line,
            verdict: Verdict::LeftOut(l.reason.clone()),
            outcome: None,
            steps: Vec::new(),
            requests: Vec::new(),
            report,
        });
        ran.chain(left_out)
    }
}

/// The 1-based line of the first occurrence of `needle`, or 1.
fn line_of(text: &str, needle: &str) -> usize {
    text.find(needle)
        .map_or(1, |at| text[..at].matches('\n').count() + 1)
}

fn file_name(path: &str) -> &str {
    path.rsplit(['/', '\\']).next().unwrap_or(path)
}

/// Gives each run of each scenario its latest result (reports oldest first, so a later
/// one replaces an earlier one). A result is matched by feature file and line, or, when
/// the features were given by another path, by the file's name, line and scenario name.
/// Returns the results that match no scenario.
pub(super) fn attach(scenarios: &mut [ScenarioDoc], reports: &[RunReport]) -> Vec<ScenarioRun> {
    let mut latest: HashMap<(String, usize), ScenarioRun> = HashMap::new();
    for (index, report) in reports.iter().enumerate() {
        for run in report.runs(index) {
            latest.insert((run.feature.clone(), run.line), run);
        }
    }
    for scenario in scenarios.iter_mut() {
        let feature = scenario.feature.clone();
        for instance in scenario.instances_mut() {
            let exact = latest.remove(&(feature.clone(), instance.line));
            instance.result = exact.or_else(|| {
                let key = latest
                    .iter()
                    .find(|((path, line), run)| {
                        *line == instance.line
                            && file_name(path) == file_name(&feature)
                            && run.name == instance.name
                    })
                    .map(|(key, _)| key.clone())?;
                latest.remove(&key)
            });
        }
    }
    let mut unmatched: Vec<ScenarioRun> = latest.into_values().collect();
    unmatched.sort_by(|a, b| (&a.feature, a.line).cmp(&(&b.feature, b.line)));
    unmatched
}

/// A rule's verdict in the latest report that checked it (`conforms`, `fails`).
pub(super) fn rule_verdict(reports: &[RunReport], id: &RuleId) -> Option<String> {
    reports.iter().rev().find_map(|report| {
        report
            .rules
            .iter()
            .find(|rule| rule.id == id.as_str() && rule.verdict != "not checked")
            .map(|rule| rule.verdict.clone())
    })
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;

    fn parse(text: &str) -> Result<RunReport, ReportError> {
        RunReport::parse(Path::new("run.json"), text, UNIX_EPOCH)
    }

    fn scenario(feature: &str, line: usize, name: &str) -> ScenarioDoc {
        ScenarioDoc {
            feature: feature.into(),
            feature_name: "F".into(),
            rule_block: None,
            keyword: "Scenario".into(),
            name: name.into(),
            line,
            tags: vec!["SD-01".into()],
            description: None,
            background: Vec::new(),
            steps: Vec::new(),
            examples: Vec::new(),
            run: Some(super::super::Instance {
                line,
                name: name.into(),
                result: None,
            }),
        }
    }

    fn verdict(doc: &ScenarioDoc) -> Option<&Verdict> {
        doc.run.as_ref()?.result.as_ref().map(|r| &r.verdict)
    }

    #[test]
    fn each_scenario_shows_its_result_in_the_latest_report_that_ran_it() {
        let older = RunReport::parse(
            Path::new("older.json"),
            r#"{"scenarios": [
                 {"feature": "features/a.feature", "name": "one", "line": 3, "failure": "boom"},
                 {"feature": "features/a.feature", "name": "two", "line": 9},
                 {"feature": "features/gone.feature", "name": "gone", "line": 1}],
               "rules": [{"id": "SD-01", "verdict": "fails"}]}"#,
            UNIX_EPOCH,
        )
        .unwrap();
        let newer = RunReport::parse(
            Path::new("newer.json"),
            r#"{"date": "2026-01-01T00:00:00Z",
               "scenarios": [{"feature": "features/a.feature", "name": "one", "line": 3}],
               "left_out": [{"feature": "features/a.feature", "name": "three", "line": 12, "reason": "needs the mock"}],
               "rules": [{"id": "SD-01", "verdict": "conforms"}, {"id": "SD-02", "verdict": "not checked"}]}"#,
            UNIX_EPOCH,
        )
        .unwrap();
        let mut docs = vec![
            scenario("features/a.feature", 3, "one"),
            // The same file given by another path: found by its name, line and scenario.
            scenario("/home/me/suite/features/a.feature", 9, "two"),
            scenario("features/a.feature", 12, "three"),
            scenario("features/a.feature", 20, "four"),
        ];
        let reports = [older, newer];
        let unmatched = attach(&mut docs, &reports);
        assert_eq!(verdict(&docs[0]), Some(&Verdict::Passed));
        assert_eq!(
            docs[0]
                .run
                .as_ref()
                .unwrap()
                .result
                .as_ref()
                .unwrap()
                .report,
            1
        );
        assert_eq!(verdict(&docs[1]), Some(&Verdict::Passed));
        assert_eq!(
            verdict(&docs[2]),
            Some(&Verdict::LeftOut("needs the mock".into()))
        );
        assert_eq!(verdict(&docs[3]), None);
        let gone: Vec<&str> = unmatched.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(gone, ["gone"]);
        let id = |s: &str| s.parse::<RuleId>().unwrap();
        assert_eq!(
            rule_verdict(&reports, &id("SD-01")).as_deref(),
            Some("conforms")
        );
        assert_eq!(rule_verdict(&reports, &id("SD-02")), None);
    }

    #[test]
    fn a_report_with_fields_it_does_not_know_still_reads() {
        let report = parse(
            r#"{"version": "2", "integrity": [], "conforms": false,
                "totals": {"scenarios": 2, "passed": 1, "failed": 1, "skipped": 0},
                "scenarios": [
                  {"feature": "features/a.feature", "name": "ok", "line": 3, "new": 1},
                  {"feature": "features/a.feature", "name": "bad", "line": 9,
                   "failure": "expected denied, observed allowed",
                   "requests": [{"method": "POST", "path": "/service/tickets", "query": "", "status": 201, "member": "m"}]}
                ],
                "rules": [{"id": "SD-01", "verdict": "fails", "extra": true}]}"#,
        )
        .unwrap();
        assert_eq!(report.conforms, Some(false));
        assert_eq!(report.totals, Some((2, 1, 1)));
        assert!(!report.dated_by_report);
        let runs: Vec<ScenarioRun> = report.runs(0).collect();
        assert_eq!(runs[0].verdict, Verdict::Passed);
        assert_eq!(
            runs[1].verdict,
            Verdict::Failed("expected denied, observed allowed".into())
        );
        assert_eq!(runs[1].requests[0].status, 201);
    }

    #[test]
    fn a_report_names_its_date_version_and_integration() {
        let report = parse(
            r#"{"scenarios": [], "date": "2026-11-28T07:40:00Z", "cw_conform_version": "0.2.0", "integration": {"name": "Acme MCP"}}"#,
        )
        .unwrap();
        assert!(report.dated_by_report);
        assert_eq!(report.date, UNIX_EPOCH + Duration::from_secs(1_795_851_600));
        assert_eq!(report.version.as_deref(), Some("0.2.0"));
        assert_eq!(report.integration.as_deref(), Some("Acme MCP"));
    }

    #[test]
    fn a_file_that_is_not_a_run_report_is_named_with_line_and_column() {
        let error = parse("[\n  {\"elements\": []}\n]").unwrap_err().to_string();
        assert!(
            error.starts_with(
                "failed to read the run report run.json: line 1, column 1: found '[' where a JSON object should start"
            ),
            "{error}"
        );
        assert!(error.contains("cw-conform run --format json"), "{error}");
        let error = parse("{\"scenarios\": [], \"date\": \"yesterday\"}")
            .unwrap_err()
            .to_string();
        assert!(error.contains("invalid date \"yesterday\""), "{error}");
        let error = parse("{\n  \"scenarios\": [{\"feature\": 7}]\n}")
            .unwrap_err()
            .to_string();
        assert!(
            error.contains(
                "run.json: line 2, column 29: invalid type: integer `7`, expected a string"
            ),
            "{error}"
        );
    }
}
