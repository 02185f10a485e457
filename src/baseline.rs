//! The baseline of known failures (`run --baseline FILE`): violations a user has recorded
//! as expected, each with the reason they wrote, so that CI fails only on new ones. A
//! baseline entry that no longer fails (stale) or names no scenario of the run fails the
//! run too: the baseline only shrinks on purpose.
//!
//! ```toml
//! [[expected]]
//! feature = "features/safety.feature"
//! scenario = "The AI cannot merge two companies"
//! rule = "SAFE-05"
//! reason = "merge is confirmed in our UI, not in the tool (ticket ENG-412)"
//!
//! [[expected]]
//! scenario = "features/tickets.feature:41"   # file:line, when no feature is given
//! rule = "LP-03"
//! reason = "…"
//! ```
//!
//! It owns reading, checking and writing the file, and marking the run's expected
//! failures; the verdicts stay the reports' ([`crate::report::verdict`]).

use std::collections::BTreeMap;
use std::fmt::{self, Write as _};
use std::path::Path;

use serde::Deserialize;
use toml::Spanned;

use crate::fixtures::line_of;
use crate::harness::{RunSummary, ScenarioResult};
use crate::model::{RuleCatalog, RuleId};

/// The reason `--write-baseline` writes: a baseline that still holds it is refused.
pub const PLACEHOLDER_REASON: &str = "TODO: say why this failure is expected";

/// A baseline that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BaselineError {
    /// The file could not be read or written.
    #[error("failed to {action} baseline {path}: {reason}")]
    Io {
        /// `read` or `write`.
        action: &'static str,
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// The file is malformed, or an entry is incomplete or repeated.
    #[error("failed to load baseline {path}: {}{message}", line.map(|l| format!("line {l}: ")).unwrap_or_default())]
    Invalid {
        /// The file.
        path: String,
        /// 1-based line, when known.
        line: Option<usize>,
        /// What is wrong, naming the value.
        message: String,
    },
}

/// The scenario an entry names.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum ScenarioRef {
    /// By feature file and scenario name (outline rows share their outline's name).
    Named {
        /// The feature file, as the report names it.
        feature: String,
        /// The scenario's name.
        name: String,
    },
    /// By feature file and line (`features/x.feature:12`).
    At {
        /// The feature file.
        feature: String,
        /// The scenario's line.
        line: usize,
    },
}

impl ScenarioRef {
    fn names(&self, scenario: &ScenarioResult) -> bool {
        self.names_place(&scenario.feature, scenario.line, &scenario.name)
    }

    fn names_place(&self, feature: &str, line: usize, name: &str) -> bool {
        match self {
            ScenarioRef::Named {
                feature: f,
                name: n,
            } => f == feature && n == name,
            ScenarioRef::At {
                feature: f,
                line: l,
            } => f == feature && *l == line,
        }
    }
}

impl fmt::Display for ScenarioRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ScenarioRef::Named { feature, name } => write!(f, "\"{name}\" ({feature})"),
            ScenarioRef::At { feature, line } => write!(f, "{feature}:{line}"),
        }
    }
}

/// One expected failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Where it is in the baseline file.
    pub line: usize,
    /// The scenario.
    pub scenario: ScenarioRef,
    /// The rule it is expected to violate.
    pub rule: RuleId,
    /// Why, in the user's words.
    pub reason: String,
}

/// A baseline file, read and checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Baseline {
    /// The file, as given.
    pub path: String,
    /// Its entries, in file order.
    pub entries: Vec<Entry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBaseline {
    #[serde(default)]
    expected: Vec<Spanned<RawEntry>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntry {
    feature: Option<Spanned<String>>,
    scenario: Spanned<String>,
    rule: Spanned<String>,
    reason: Option<Spanned<String>>,
}

/// A baseline entry that fails the run, as the reports show it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct EntryProblem {
    /// Where the entry is (`baseline.toml:12`).
    pub entry: String,
    /// The scenario it names.
    pub scenario: String,
    /// Its rule.
    pub rule: String,
    /// What to do about it.
    pub problem: String,
}

impl fmt::Display for EntryProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} and {}: {}",
            self.entry, self.scenario, self.rule, self.problem
        )
    }
}

/// What applying a baseline to a run found.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BaselineCheck {
    /// The baseline file.
    pub file: String,
    /// Scenarios whose every violation the baseline expects.
    pub expected: usize,
    /// Entries that fail the run: stale ones (the scenario no longer fails the rule) and
    /// ones that name no scenario of the run.
    pub problems: Vec<EntryProblem>,
}

/// Whether the entries of a baseline that name no scenario of the run fail it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The run is the whole suite the baseline is for: such an entry is a mistake.
    Whole,
    /// The run is one shard: the entry may be another shard's (the merge checks it).
    Shard,
}

impl Baseline {
    /// Reads and checks a baseline file against the rule catalog.
    pub fn load(path: &Path, catalog: &RuleCatalog) -> Result<Baseline, BaselineError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| BaselineError::Io {
            action: "read",
            path: shown.clone(),
            reason: e.to_string(),
        })?;
        Baseline::parse(&shown, &text, catalog)
    }

    /// Checks the text of a baseline file named `path`.
    pub fn parse(path: &str, text: &str, catalog: &RuleCatalog) -> Result<Baseline, BaselineError> {
        let invalid = |offset: usize, message: String| BaselineError::Invalid {
            path: path.to_owned(),
            line: Some(line_of(text, offset)),
            message,
        };
        let raw: RawBaseline = toml::from_str(text).map_err(|e| BaselineError::Invalid {
            path: path.to_owned(),
            line: e.span().map(|span| line_of(text, span.start)),
            message: e.message().trim().to_owned(),
        })?;
        let mut entries: Vec<Entry> = Vec::new();
        let mut seen: BTreeMap<(ScenarioRef, RuleId), usize> = BTreeMap::new();
        for spanned in raw.expected {
            let start = spanned.span().start;
            let raw = spanned.into_inner();
            let scenario_at = raw.scenario.span().start;
            let scenario_text = raw.scenario.into_inner();
            let scenario = if let Some(feature) = raw.feature {
                ScenarioRef::Named {
                    feature: feature.into_inner(),
                    name: scenario_text,
                }
            } else {
                let place = scenario_text.rsplit_once(':').and_then(|(feature, line)| {
                    line.parse::<usize>()
                        .ok()
                        .map(|line| (feature.to_owned(), line))
                });
                let Some((feature, line)) = place else {
                    return Err(invalid(
                        scenario_at,
                        format!(
                            "scenario \"{scenario_text}\" is not file:line (give `feature = \"…\"` to name a scenario by its name)"
                        ),
                    ));
                };
                ScenarioRef::At { feature, line }
            };
            let rule_at = raw.rule.span().start;
            let rule_text = raw.rule.into_inner();
            let rule = rule_text
                .parse::<RuleId>()
                .ok()
                .filter(|id| catalog.get(id).is_some())
                .ok_or_else(|| {
                    invalid(
                        rule_at,
                        format!(
                            "unknown rule \"{rule_text}\" (run `cw-conform rules` for the list)"
                        ),
                    )
                })?;
            let Some(reason) = raw.reason else {
                return Err(invalid(
                    start,
                    format!(
                        "the entry for {scenario} and {rule} has no reason: add `reason = \"…\"` saying why this failure is expected"
                    ),
                ));
            };
            let reason_at = reason.span().start;
            let reason = reason.into_inner();
            if reason.trim().is_empty() {
                return Err(invalid(
                    reason_at,
                    format!(
                        "the reason for {scenario} and {rule} is empty: say why this failure is expected"
                    ),
                ));
            }
            if reason.trim() == PLACEHOLDER_REASON {
                return Err(invalid(
                    reason_at,
                    format!(
                        "the reason for {scenario} and {rule} is still \"{PLACEHOLDER_REASON}\", written by --write-baseline: replace it with why this failure is expected"
                    ),
                ));
            }
            let line = line_of(text, start);
            if let Some(first) = seen.insert((scenario.clone(), rule.clone()), line) {
                return Err(invalid(
                    start,
                    format!(
                        "a second entry for {scenario} and {rule} (the first is at line {first})"
                    ),
                ));
            }
            entries.push(Entry {
                line,
                scenario,
                rule,
                reason,
            });
        }
        Ok(Baseline {
            path: path.to_owned(),
            entries,
        })
    }

    /// The entries that name this scenario and rule.
    fn expecting<'a>(
        &'a self,
        scenario: &'a ScenarioResult,
        rule: &'a RuleId,
    ) -> impl Iterator<Item = &'a Entry> {
        self.entries
            .iter()
            .filter(move |e| &e.rule == rule && e.scenario.names(scenario))
    }

    /// Marks the run's expected failures (a scenario is one when the baseline lists every
    /// rule it violated) and records the entries that fail the run.
    pub fn apply(&self, summary: &mut RunSummary, scope: Scope) {
        for index in 0..summary.scenarios.len() {
            let scenario = &summary.scenarios[index];
            let rules = scenario.rules();
            let reasons: Option<Vec<String>> = (scenario.violated() && !rules.is_empty())
                .then(|| {
                    rules
                        .iter()
                        .map(|rule| {
                            self.expecting(scenario, rule)
                                .next()
                                .map(|e| e.reason.clone())
                        })
                        .collect()
                })
                .flatten();
            summary.scenarios[index].expected_failure = reasons.map(|mut reasons| {
                reasons.dedup();
                reasons.join("; ")
            });
        }
        let mut problems = Vec::new();
        for entry in &self.entries {
            let named: Vec<&ScenarioResult> = summary
                .scenarios
                .iter()
                .filter(|s| entry.scenario.names(s))
                .collect();
            let left_out = summary
                .left_out
                .iter()
                .any(|s| entry.scenario.names_place(&s.feature, s.line, &s.name));
            let problem = if named.is_empty() {
                (!left_out && scope == Scope::Whole)
                    .then(|| "names no scenario of this run: correct it or remove it".to_owned())
            } else {
                // Stale only when judged: a scenario stopped before a verdict proves nothing.
                let judged = named
                    .iter()
                    .all(|s| s.feature_error.is_none() && s.not_judged.is_none());
                let fails = named.iter().any(|s| s.violated() && s.judges(&entry.rule));
                (judged && !fails)
                    .then(|| "no longer fails (stale): remove it from the baseline".to_owned())
            };
            if let Some(problem) = problem {
                problems.push(EntryProblem {
                    entry: format!("{}:{}", self.path, entry.line),
                    scenario: entry.scenario.to_string(),
                    rule: entry.rule.to_string(),
                    problem,
                });
            }
        }
        summary.baseline = Some(BaselineCheck {
            file: self.path.clone(),
            expected: summary
                .scenarios
                .iter()
                .filter(|s| s.expected_failure.is_some())
                .count(),
            problems,
        });
    }

    /// The reason this baseline gives for a scenario and rule, if it lists them.
    fn reason_for(&self, scenario: &ScenarioResult, rule: &RuleId) -> Option<&str> {
        self.entries
            .iter()
            .find(|e| &e.rule == rule && e.scenario.names(scenario))
            .map(|e| e.reason.as_str())
    }
}

/// A baseline of the run's violations, one entry per scenario and rule it violated: the
/// reasons of `kept` where it lists them, else the placeholder the user must replace.
/// A scenario is named by feature and name unless another of the run shares them.
pub fn record(summary: &RunSummary, kept: Option<&Baseline>) -> String {
    let quoted = |text: &str| toml::Value::String(text.to_owned()).to_string();
    let mut out = String::from(
        "# Known failures for `cw-conform run --baseline`: violations expected, each with the\n\
         # reason (replace every placeholder reason; a baseline holding one is refused).\n\
         # The run fails on any new violation, on an entry that no longer fails, and on one\n\
         # that names no scenario of the run.\n",
    );
    for scenario in summary.scenarios.iter().filter(|s| s.violated()) {
        let shared = summary
            .scenarios
            .iter()
            .filter(|s| s.feature == scenario.feature && s.name == scenario.name)
            .count()
            > 1;
        for rule in scenario.rules() {
            let reason = kept
                .and_then(|b| b.reason_for(scenario, &rule))
                .unwrap_or(PLACEHOLDER_REASON);
            out.push_str("\n[[expected]]\n");
            if shared {
                let place = format!("{}:{}", scenario.feature, scenario.line);
                let _ = writeln!(out, "scenario = {}  # {}", quoted(&place), scenario.name);
            } else {
                let _ = writeln!(out, "feature = {}", quoted(&scenario.feature));
                let _ = writeln!(out, "scenario = {}", quoted(&scenario.name));
            }
            let _ = writeln!(out, "rule = {}", quoted(rule.as_str()));
            let _ = writeln!(out, "reason = {}", quoted(reason));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::Fixtures;

    fn parse(text: &str) -> Result<Baseline, BaselineError> {
        Baseline::parse(
            "ci/baseline.toml",
            text,
            &Fixtures::builtin().unwrap().rules,
        )
    }

    fn error(text: &str) -> String {
        parse(text).unwrap_err().to_string()
    }

    #[test]
    fn bad_entries_are_refused_with_file_line_and_value() {
        assert_eq!(
            error(
                "[[expected]]\nscenario = \"features/x.feature:7\"\nrule = \"LP-03\"\nreason = \"r\"\nowner = \"me\"\n"
            ),
            "failed to load baseline ci/baseline.toml: line 5: unknown field `owner`, expected one of `feature`, `scenario`, `rule`, `reason`"
        );
        assert_eq!(
            error("[[expected]]\nscenario = \"features/x.feature:7\"\nrule = \"LP-03\"\n"),
            "failed to load baseline ci/baseline.toml: line 1: the entry for features/x.feature:7 and LP-03 has no reason: add `reason = \"…\"` saying why this failure is expected"
        );
        assert_eq!(
            error(
                "[[expected]]\nscenario = \"features/x.feature:7\"\nrule = \"LP-99\"\nreason = \"r\"\n"
            ),
            "failed to load baseline ci/baseline.toml: line 3: unknown rule \"LP-99\" (run `cw-conform rules` for the list)"
        );
        assert_eq!(
            error("[[expected]]\nscenario = \"A scenario\"\nrule = \"LP-03\"\nreason = \"r\"\n"),
            "failed to load baseline ci/baseline.toml: line 2: scenario \"A scenario\" is not file:line (give `feature = \"…\"` to name a scenario by its name)"
        );
        let entry = "[[expected]]\nfeature = \"features/x.feature\"\nscenario = \"a scenario\"\nrule = \"LP-03\"\nreason = \"r\"\n";
        assert_eq!(
            error(&format!("{entry}\n{entry}")),
            "failed to load baseline ci/baseline.toml: line 7: a second entry for \"a scenario\" (features/x.feature) and LP-03 (the first is at line 1)"
        );
    }

    #[test]
    fn the_placeholder_reason_is_refused_when_read_back() {
        let summary = RunSummary {
            scenarios: vec![ScenarioResult::sample(
                &["LP-03"],
                Some("expected denied, observed allowed"),
            )],
            ..RunSummary::default()
        };
        let written = record(&summary, None);
        assert_eq!(
            parse(&written).unwrap_err().to_string(),
            format!(
                "failed to load baseline ci/baseline.toml: line 10: the reason for \"a scenario\" (features/x.feature) and LP-03 is still \"{PLACEHOLDER_REASON}\", written by --write-baseline: replace it with why this failure is expected"
            )
        );
        // Once the user says why, it reads back and expects exactly that failure.
        let edited = written.replace(PLACEHOLDER_REASON, "the vendor fixes it in 2.0");
        let baseline = parse(&edited).unwrap();
        let mut run = summary.clone();
        baseline.apply(&mut run, Scope::Whole);
        assert_eq!(
            run.scenarios[0].expected_failure.as_deref(),
            Some("the vendor fixes it in 2.0")
        );
        assert!(run.conforms(), "{:?}", run.baseline);
        // Rewriting keeps the reason the user wrote.
        assert_eq!(record(&run, Some(&baseline)), edited);
    }

    #[test]
    fn new_stale_and_unknown_entries_fail_the_run() {
        let baseline = parse(
            "[[expected]]\nscenario = \"features/x.feature:7\"\nrule = \"LP-03\"\nreason = \"known\"\n\n\
             [[expected]]\nscenario = \"features/gone.feature:3\"\nrule = \"LP-03\"\nreason = \"old\"\n",
        )
        .unwrap();
        // A second rule violated by the same scenario is a new violation.
        let mut run = RunSummary {
            scenarios: vec![ScenarioResult::sample(
                &["LP-03", "SD-01"],
                Some("observed allowed"),
            )],
            ..RunSummary::default()
        };
        baseline.apply(&mut run, Scope::Whole);
        assert_eq!(run.scenarios[0].expected_failure, None);
        assert_eq!(run.failed().count(), 1);
        let problems = &run.baseline.as_ref().unwrap().problems;
        assert_eq!(problems.len(), 1);
        assert_eq!(
            problems[0].to_string(),
            "ci/baseline.toml:6: features/gone.feature:3 and LP-03: names no scenario of this run: correct it or remove it"
        );
        // In one shard, an entry for a scenario elsewhere is the merge's to judge.
        let mut shard = run.clone();
        baseline.apply(&mut shard, Scope::Shard);
        assert!(shard.baseline.as_ref().unwrap().problems.is_empty());
        // A scenario that passes now makes its entry stale.
        let mut fixed = RunSummary {
            scenarios: vec![ScenarioResult::sample(&["LP-03"], None)],
            ..RunSummary::default()
        };
        baseline.apply(&mut fixed, Scope::Shard);
        let problems = &fixed.baseline.as_ref().unwrap().problems;
        assert_eq!(
            problems[0].to_string(),
            "ci/baseline.toml:1: features/x.feature:7 and LP-03: no longer fails (stale): remove it from the baseline"
        );
        assert!(!fixed.conforms());
    }
}
