//! Reports: the summary by rule ID printed after a run, JSON and JUnit reports, and the
//! expected-outcome matrix.

pub mod cucumber;
pub mod integration;
pub mod json;
pub mod junit;
pub mod matrix;
pub mod merge;
pub mod verdict;

use std::fmt::Write as _;

use crate::harness::{RunSummary, ScenarioResult};
use crate::integration::Finding;
use crate::model::{Integrity, RuleCatalog, RuleId};
use verdict::Verdict;

/// Coverage of the rule catalog by a run, read from the rule verdicts ([`verdict`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Coverage {
    /// Rule IDs that no scenario in the run checked.
    pub unchecked: Vec<RuleId>,
    /// Rule IDs whose scenarios ran but never called the integration.
    pub unexercised: Vec<RuleId>,
    /// Tags that look like rule IDs but name no rule in the catalog, with where they are.
    pub unknown_tags: Vec<(String, String)>,
}

impl Coverage {
    /// Works out coverage from a run's results.
    pub fn of(summary: &RunSummary, catalog: &RuleCatalog) -> Coverage {
        let mut coverage = Coverage::default();
        for verdict in verdict::verdicts(summary, catalog) {
            match verdict.verdict {
                Verdict::NotChecked => coverage.unchecked.push(verdict.rule.id.clone()),
                Verdict::NotExercised { .. } => {
                    coverage.unexercised.push(verdict.rule.id.clone());
                }
                _ => {}
            }
        }
        // A scenario stopped by a mistake in its feature judged nothing.
        for scenario in summary
            .scenarios
            .iter()
            .filter(|s| s.feature_error.is_none())
        {
            for tag in &scenario.tags {
                let known = RuleId::from_tag(tag).is_some_and(|id| catalog.get(&id).is_some());
                if !known && RuleId::looks_like_rule_tag(tag) {
                    coverage
                        .unknown_tags
                        .push((tag.clone(), where_is(scenario)));
                }
            }
        }
        coverage
    }

    /// Rules the run judged (any verdict but not checked).
    pub fn checked(&self, catalog: &RuleCatalog) -> usize {
        catalog.len() - self.unchecked.len()
    }
}

impl Coverage {
    /// What keeps the catalog from being covered: tags that name no rule, and, for a run
    /// of the whole suite, rules no scenario checked or none exercised the integration for.
    /// Empty when coverage is complete.
    pub fn problems(&self, whole_suite: bool) -> Vec<String> {
        let mut problems: Vec<String> = self
            .unknown_tags
            .iter()
            .map(|(tag, place)| {
                format!(
                    "the tag {tag} at {place} names no rule (run `cw-conform rules` for the list)"
                )
            })
            .collect();
        let ids = |rules: &[RuleId]| -> String {
            rules
                .iter()
                .map(RuleId::as_str)
                .collect::<Vec<_>>()
                .join(", ")
        };
        if whole_suite && !self.unchecked.is_empty() {
            problems.push(format!(
                "no scenario checks the rules {}",
                ids(&self.unchecked)
            ));
        }
        if whole_suite && !self.unexercised.is_empty() {
            problems.push(format!(
                "no scenario of the rules {} calls the integration (they are not exercised)",
                ids(&self.unexercised)
            ));
        }
        problems
    }
}

/// Whether a run conforms: every scenario passed, every feature parsed, and the rule
/// catalog is covered (a whole-suite run must check every rule).
pub fn conforms(summary: &RunSummary, catalog: &RuleCatalog, whole_suite: bool) -> bool {
    Judging::new(catalog, whole_suite).conforms(summary)
}

/// How a run is judged, beyond its scenarios: the one gate that every report shows and
/// the exit code follows, so a report and the exit code never disagree.
#[derive(Debug, Clone)]
pub struct Judging<'a> {
    /// The rules.
    pub catalog: &'a RuleCatalog,
    /// The coverage gate applies: the run was meant to check every rule.
    pub whole_suite: bool,
    /// The MCP integration under test, by name: it conforms only when every rule it was
    /// checked on is met or not offered (never "not exercised"), and, for a run of the
    /// whole suite, every rule was checked.
    pub integration: Option<String>,
    /// The run of the whole suite, for an integration (whose not-offered actions keep the
    /// coverage gate off).
    pub whole_suite_for_integration: bool,
    /// Rules a sandbox run was required (`--require-rules all`) to check and did not.
    pub required_unchecked: Vec<RuleId>,
}

impl<'a> Judging<'a> {
    /// Judged by its scenarios and, when `whole_suite`, by the coverage gate.
    pub fn new(catalog: &'a RuleCatalog, whole_suite: bool) -> Judging<'a> {
        Judging {
            catalog,
            whole_suite,
            integration: None,
            whole_suite_for_integration: false,
            required_unchecked: Vec::new(),
        }
    }

    /// Why the run fails beyond its scenarios (the coverage gate, an integration's rules
    /// not exercised or not checked, rules a sandbox run had to check, nothing run). Empty
    /// when nothing but the scenarios decides.
    pub fn problems(&self, summary: &RunSummary) -> Vec<String> {
        let coverage = Coverage::of(summary, self.catalog);
        let mut problems = coverage.problems(self.whole_suite);
        if self.integration.is_some() {
            let verdicts = verdict::verdicts(summary, self.catalog);
            let named = |pick: &dyn Fn(&Verdict<'_>) -> bool| -> Vec<&str> {
                verdicts
                    .iter()
                    .filter(|v| pick(&v.verdict))
                    .map(|v| v.rule.id.as_str())
                    .collect()
            };
            // The coverage gate already names them for a run of the whole suite.
            let unexercised = named(&|v| matches!(v, Verdict::NotExercised { .. }));
            if !self.whole_suite && !unexercised.is_empty() {
                problems.push(format!(
                    "the integration was not exercised on the rules {} (their scenarios never called it)",
                    unexercised.join(", ")
                ));
            }
            let unchecked = named(&|v| *v == Verdict::NotChecked);
            if self.whole_suite_for_integration && !self.whole_suite && !unchecked.is_empty() {
                problems.push(format!(
                    "no scenario checks the rules {}",
                    unchecked.join(", ")
                ));
            }
        }
        if !self.required_unchecked.is_empty() {
            let ids: Vec<&str> = self.required_unchecked.iter().map(RuleId::as_str).collect();
            problems.push(format!(
                "--require-rules all: the rules {} were left unchecked (their scenarios were left out)",
                ids.join(", ")
            ));
        }
        if summary.scenarios.is_empty() && summary.parse_errors.is_empty() && !summary.interrupted {
            problems.push("no scenario ran".to_owned());
        }
        problems
    }

    /// Whether the run conforms: every scenario passed, every feature parsed, nothing was
    /// left behind on a sandbox, and [`Judging::problems`] found nothing.
    pub fn conforms(&self, summary: &RunSummary) -> bool {
        summary.conforms() && self.problems(summary).is_empty()
    }
}

/// `1 scenario`, `2 scenarios`; `plural` is the word for any count but one.
pub fn count(n: usize, singular: &str, plural: &str) -> String {
    if n == 1 {
        format!("1 {singular}")
    } else {
        format!("{n} {plural}")
    }
}

/// The widest line the text summary prints (rule statements longer than that are
/// shortened; `cw-conform rules` prints them in full).
pub const WIDTH: usize = 100;

/// `text` cut to at most `width` characters, ending with `…` when it was cut.
fn shorten(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(width.saturating_sub(1)).collect();
    if let Some(space) = cut.rfind(' ') {
        cut.truncate(space);
    }
    format!("{}…", cut.trim_end_matches([',', ';', ':', ' ']))
}

/// A verdict as the per-rule lists show it (at most 30 characters).
pub fn shown(verdict: &Verdict<'_>) -> String {
    match verdict {
        Verdict::Met { scenarios } => {
            format!("met ({})", count(*scenarios, "scenario", "scenarios"))
        }
        Verdict::Violated { failed, passed } if verdict.expected() => {
            format!(
                "expected ({} of {} failed)",
                failed.len(),
                failed.len() + passed
            )
        }
        Verdict::Violated { failed, passed } => {
            format!(
                "VIOLATED ({} of {} failed)",
                failed.len(),
                failed.len() + passed
            )
        }
        Verdict::NotJudged { scenarios } => format!(
            "NOT JUDGED ({})",
            count(scenarios.len(), "scenario", "scenarios")
        ),
        Verdict::NotOffered { actions, .. } => {
            let first = actions.first().map_or("", String::as_str);
            let more = if actions.len() > 1 { " …" } else { "" };
            format!("not offered ({first}{more})")
        }
        Verdict::NotExercised { .. } => "NOT EXERCISED".to_owned(),
        Verdict::NotChecked => "NOT CHECKED".to_owned(),
    }
}

/// On a sandbox: what the sandbox does for each documented behaviour, and the scenarios
/// that ran with a behaviour the harness emulated, grouped by behaviour.
fn render_emulated(out: &mut String, summary: &RunSummary) {
    if !summary.sandbox_behaviours.is_empty() {
        let _ = writeln!(out, "\nThe sandbox's documented behaviours:");
        for behaviour in &summary.sandbox_behaviours {
            let _ = writeln!(out, "  {behaviour}");
        }
    }
    let emulated: Vec<&ScenarioResult> = summary
        .scenarios
        .iter()
        .filter(|s| !s.emulated.is_empty())
        .collect();
    if emulated.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "\nRan with a behaviour the harness emulated ({}): they check the integration under that behaviour, not the sandbox's own:",
        emulated.len()
    );
    let mut behaviours: Vec<&String> = emulated.iter().flat_map(|s| &s.emulated).collect();
    behaviours.sort();
    behaviours.dedup();
    for behaviour in behaviours {
        let group: Vec<&&ScenarioResult> = emulated
            .iter()
            .filter(|s| s.emulated.contains(behaviour))
            .collect();
        let _ = writeln!(out, "  {behaviour} ({}):", group.len());
        for scenario in group {
            let _ = writeln!(out, "    {} ({})", scenario.name, where_is(scenario));
        }
    }
}

pub(crate) fn where_is(scenario: &ScenarioResult) -> String {
    format!("{}:{}", scenario.feature, scenario.line)
}

/// The scenarios with a finding of an integrity check, and that finding.
pub fn integrity_breaches(
    summary: &RunSummary,
    check: Integrity,
) -> Vec<(&ScenarioResult, &Finding)> {
    summary
        .scenarios
        .iter()
        .flat_map(|s| s.findings.iter().map(move |f| (s, f)))
        .filter(|(_, f)| f.integrity_check() == Some(check))
        .collect()
}

/// The failures the baseline expects, apart from the others, and the baseline entries
/// that fail the run (stale, or naming no scenario of it).
fn render_baseline(out: &mut String, summary: &RunSummary) {
    let Some(check) = &summary.baseline else {
        return;
    };
    let expected: Vec<&ScenarioResult> = summary.expected_failures().collect();
    if !expected.is_empty() {
        let _ = writeln!(
            out,
            "\nExpected failures ({}, listed in the baseline {}; they still violate their rules):",
            count(expected.len(), "scenario", "scenarios"),
            check.file
        );
        for scenario in expected {
            let rules: Vec<String> = scenario.rules().iter().map(ToString::to_string).collect();
            let _ = writeln!(
                out,
                "  {} ({}) [{}]\n    expected because: {}",
                scenario.name,
                where_is(scenario),
                rules.join(", "),
                scenario.expected_failure.as_deref().unwrap_or_default()
            );
        }
    }
    if !check.problems.is_empty() {
        let _ = writeln!(
            out,
            "\nBaseline entries that fail the run ({}):",
            check.problems.len()
        );
        for problem in &check.problems {
            let _ = writeln!(out, "  {problem}");
        }
    }
}

/// The "Integrity" section (checks of their own, not rules of the documents; a breach
/// fails its scenario and the run), and the reads listed beyond what the actions need.
/// Nothing when the run found nothing (an in-process run never does).
fn render_integrity(out: &mut String, summary: &RunSummary) {
    let found = summary.scenarios.iter().any(|s| !s.findings.is_empty());
    if !found {
        return;
    }
    let _ = writeln!(
        out,
        "\nIntegrity (checks of their own, not rules of the documents; a breach fails the run):"
    );
    for check in Integrity::ALL {
        let breaches = integrity_breaches(summary, check);
        let verdict = if breaches.is_empty() {
            "kept".to_owned()
        } else {
            let mut scenarios: Vec<(&str, usize)> = breaches
                .iter()
                .map(|(s, _)| (s.feature.as_str(), s.line))
                .collect();
            scenarios.dedup();
            format!(
                "BROKEN ({})",
                count(scenarios.len(), "scenario", "scenarios")
            )
        };
        let head = format!("  {:<8} {:<30} ", check.id(), verdict);
        let statement = shorten(check.summary(), WIDTH.saturating_sub(head.chars().count()));
        let _ = writeln!(out, "{head}{statement}");
        for (scenario, finding) in breaches {
            let _ = writeln!(
                out,
                "    {} ({}): {}",
                scenario.name,
                where_is(scenario),
                finding.evidence
            );
        }
    }
    let listed: Vec<(&ScenarioResult, &Finding)> = summary
        .scenarios
        .iter()
        .flat_map(|s| s.findings.iter().map(move |f| (s, f)))
        .filter(|(_, f)| !f.fails())
        .collect();
    if !listed.is_empty() {
        let _ = writeln!(
            out,
            "\nReads beyond what the actions need ({}; listed, not failed):",
            listed.len()
        );
        for (scenario, finding) in listed {
            let _ = writeln!(
                out,
                "  {} ({}): {finding}",
                scenario.name,
                where_is(scenario)
            );
        }
    }
}

/// The plain-text summary printed after a run: failures with their evidence, the result
/// per rule ID, coverage problems, and the totals. `whole_suite`: the run was meant to
/// check every rule (no tag filter, the built-in features).
pub fn render_text(summary: &RunSummary, judging: &Judging<'_>) -> String {
    let (catalog, whole_suite) = (judging.catalog, judging.whole_suite);
    let coverage = Coverage::of(summary, catalog);
    let mut out = String::new();
    let failed: Vec<&ScenarioResult> = summary.failed().collect();
    if !failed.is_empty() {
        let _ = writeln!(out, "\nFailed scenarios:");
        for scenario in &failed {
            let rules: Vec<String> = scenario.rules().iter().map(ToString::to_string).collect();
            let _ = writeln!(
                out,
                "\n  {} ({}) [{}]",
                scenario.name,
                where_is(scenario),
                rules.join(", ")
            );
            let failure = scenario.failure.as_deref().unwrap_or_default();
            for line in failure.lines() {
                let _ = writeln!(out, "    {line}");
            }
            // Findings that fail it, when a step failed first and its text does not say so.
            for finding in scenario.findings.iter().filter(|f| f.fails()) {
                let shown = finding.to_string();
                if !failure.contains(&shown) {
                    let _ = writeln!(out, "    {shown}");
                }
            }
        }
    }
    render_baseline(&mut out, summary);
    render_integrity(&mut out, summary);
    let causes = verdict::not_judged_causes(summary);
    if !causes.is_empty() {
        let _ = writeln!(
            out,
            "\nCould not be judged ({}): the integration gave no answer to judge, so these count \
             as neither met nor violated (fix the cause and run again):",
            count(summary.not_judged().count(), "scenario", "scenarios")
        );
        for (cause, scenarios) in &causes {
            let _ = writeln!(
                out,
                "\n  {} (first: {} ({}))",
                count(scenarios.len(), "scenario", "scenarios"),
                scenarios[0].name,
                where_is(scenarios[0])
            );
            for line in cause.lines() {
                let _ = writeln!(out, "    {line}");
            }
        }
    }
    render_emulated(&mut out, summary);
    if !summary.left_out.is_empty() {
        let _ = writeln!(out, "\nLeft out of this run ({}):", summary.left_out.len());
        // Grouped by reason, the most common first.
        let mut reasons: Vec<(&str, Vec<&crate::harness::LeftOut>)> = Vec::new();
        for left in &summary.left_out {
            match reasons
                .iter_mut()
                .find(|(reason, _)| *reason == left.reason)
            {
                Some((_, group)) => group.push(left),
                None => reasons.push((&left.reason, vec![left])),
            }
        }
        reasons.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then(a.0.cmp(b.0)));
        for (reason, group) in reasons {
            let _ = writeln!(out, "  {} ({}):", reason, group.len());
            for left in group {
                let _ = writeln!(out, "    {} ({}:{})", left.name, left.feature, left.line);
            }
        }
    }
    if let Some(reuse) = &summary.server_reuse {
        let _ = if reuse.servers_started == 0 {
            // A server already running: only what it sent after the last scenario.
            writeln!(out, "\nThe MCP server already running:")
        } else {
            writeln!(
                out,
                "\nServers reused (--reuse-servers): {} for the whole run, each kept across the scenarios of one API member's credentials and role; a server's own caches lived from one scenario into the next.",
                count(reuse.servers_started, "server started", "servers started")
            )
        };
        for finding in &reuse.findings {
            let _ = writeln!(out, "  after the last scenario it served: {finding}");
        }
    }
    if summary.interrupted {
        let _ = writeln!(
            out,
            "\nINTERRUPTED: only the {} above finished; the rest did not run.",
            count(summary.scenarios.len(), "scenario", "scenarios")
        );
    }
    if !summary.left_behind.is_empty() {
        let _ = writeln!(
            out,
            "\nCreated on the sandbox and NOT removed ({}):",
            summary.left_behind.len()
        );
        for record in &summary.left_behind {
            let _ = writeln!(out, "  {record}");
        }
        let _ = writeln!(
            out,
            "  (listed in the run's ledger: `cw-conform sandbox cleanup` removes them)"
        );
    }
    if !summary.earlier_leftovers.is_empty() {
        let records: usize = summary
            .earlier_leftovers
            .iter()
            .map(|r| r.outstanding + r.pending)
            .sum();
        let _ = writeln!(
            out,
            "\nEarlier runs left {} on this sandbox (`cw-conform sandbox cleanup` lists and removes\n\
             them):",
            count(records, "record", "records")
        );
        for run in &summary.earlier_leftovers {
            let _ = writeln!(
                out,
                "  run {}: {}, {} of unknown outcome ({})",
                run.token,
                count(run.outstanding, "record", "records"),
                count(run.pending, "create", "creates"),
                run.file.display()
            );
        }
    }
    let mistakes: Vec<&ScenarioResult> = summary.feature_errors().collect();
    let feature_errors = summary.parse_errors.len() + mistakes.len();
    if feature_errors > 0 {
        let _ = writeln!(
            out,
            "\nFeature errors ({feature_errors}), mistakes for the feature's author to fix (no rule \
             is judged by them):"
        );
        // A feature file with a structural error did not run at all.
        for error in &summary.parse_errors {
            let _ = writeln!(out, "  {error} (none of its scenarios ran)");
        }
        for scenario in mistakes {
            let _ = writeln!(out, "  {} ({})", scenario.name, where_is(scenario));
            for line in scenario
                .feature_error
                .as_deref()
                .unwrap_or_default()
                .lines()
            {
                let _ = writeln!(out, "    {line}");
            }
        }
    }
    let mut by_rule = String::new();
    let mut shortened = false;
    for verdict::RuleVerdict { rule, verdict } in verdict::verdicts(summary, catalog) {
        if verdict == Verdict::NotChecked && !whole_suite {
            continue;
        }
        let head = format!("  {:<8} {:<30} ", rule.id, shown(&verdict));
        let statement = shorten(&rule.summary, WIDTH.saturating_sub(head.chars().count()));
        shortened |= statement != rule.summary;
        let _ = writeln!(by_rule, "{head}{statement}");
    }
    if !by_rule.is_empty() {
        let _ = writeln!(out, "\nConformance by rule:");
        out.push_str(&by_rule);
        if shortened {
            let _ = writeln!(out, "  (`cw-conform rules` prints every rule in full)");
        }
    }
    for problem in judging.problems(summary) {
        let _ = writeln!(out, "\nCoverage gate: {problem}");
    }
    let errors = summary.feature_errors().count();
    let not_judged = summary.not_judged().count();
    let expected = summary.expected_failures().count();
    let passed = summary.scenarios.len() - failed.len() - expected - errors - not_judged;
    let with_errors = if errors == 0 {
        String::new()
    } else {
        format!(", {}", count(errors, "feature error", "feature errors"))
    };
    let with_expected = if expected == 0 {
        String::new()
    } else {
        format!(", {expected} expected by the baseline")
    };
    let with_not_judged = if not_judged == 0 {
        String::new()
    } else {
        format!(", {not_judged} not judged")
    };
    let _ = writeln!(
        out,
        "\n{} ({passed} passed, {} failed{with_expected}{with_not_judged}{with_errors}), {} passed, {} of {} checked, in {:.2} s",
        count(summary.scenarios.len(), "scenario", "scenarios"),
        failed.len(),
        count(summary.steps_passed(), "step", "steps"),
        coverage.checked(catalog),
        count(catalog.len(), "rule", "rules"),
        summary.elapsed.as_secs_f64()
    );
    let _ = writeln!(out, "{passed} passed, {} failed", failed.len());
    out
}

/// What the report tests put in a run besides its scenarios, built in one place so every
/// report is tested on the same run.
#[cfg(test)]
pub(crate) mod samples {
    use crate::cleanup::LeftBehind;
    use crate::harness::FeatureError;

    /// A feature file that did not run: `broken.feature:3`, a scenario with no steps.
    pub(crate) fn feature_error() -> FeatureError {
        FeatureError {
            feature: "broken.feature".into(),
            line: Some(3),
            problem: "the Scenario \"s\" has no steps".into(),
        }
    }

    /// Contact 7, created by a `least-privilege` member and still on the sandbox, for
    /// `reason`.
    pub(crate) fn left_behind(reason: &str) -> LeftBehind {
        LeftBehind {
            path: "/company/contacts".into(),
            id: Some(7),
            mark: "[cw-conform 0123456789abcdef.1]".into(),
            profile: "least-privilege".into(),
            reason: reason.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::Fixtures;

    fn scenario(tags: &[&str], failure: Option<&str>) -> ScenarioResult {
        ScenarioResult::sample(tags, failure)
    }

    fn summary(scenarios: Vec<ScenarioResult>) -> RunSummary {
        RunSummary {
            scenarios,
            ..RunSummary::default()
        }
    }

    #[test]
    fn a_tag_that_names_no_rule_fails_the_gate_with_its_place() {
        let catalog = &Fixtures::builtin().unwrap().rules;
        let run = summary(vec![scenario(&["SD-01"], None), scenario(&["SD-99"], None)]);
        let problems = Coverage::of(&run, catalog).problems(false);
        assert_eq!(
            problems,
            vec![
                "the tag SD-99 at features/x.feature:7 names no rule (run `cw-conform rules` for the list)"
                    .to_owned()
            ]
        );
        assert!(!conforms(&run, catalog, false));
    }

    #[test]
    fn a_whole_suite_run_must_check_every_rule() {
        let catalog = &Fixtures::builtin().unwrap().rules;
        let run = summary(vec![scenario(&["SD-01"], None)]);
        let problems = Coverage::of(&run, catalog).problems(true);
        assert_eq!(problems.len(), 1);
        assert!(
            problems[0].starts_with("no scenario checks the rules LP-01, LP-02"),
            "{problems:?}"
        );
        assert!(!problems[0].contains("SD-01,"), "{problems:?}");
        // A filtered run is judged only on what it ran.
        assert!(conforms(&run, catalog, false));
    }

    #[test]
    fn a_rule_whose_only_scenario_failed_fails() {
        let catalog = &Fixtures::builtin().unwrap().rules;
        let run = summary(vec![scenario(&["SD-01"], Some("boom"))]);
        assert!(!conforms(&run, catalog, false));
        let text = render_text(&run, &Judging::new(catalog, false));
        assert!(text.contains("SD-01    VIOLATED (1 of 1 failed)"), "{text}");
    }

    /// A rule whose scenarios never called the integration is not met, and a whole-suite
    /// run with such a rule fails the gate, naming it.
    #[test]
    fn a_rule_no_scenario_exercised_is_not_met_and_fails_the_gate() {
        let catalog = &Fixtures::builtin().unwrap().rules;
        let mut audit = scenario(&["LP-02"], None);
        audit.exercised = false;
        let run = summary(vec![audit]);
        let text = render_text(&run, &Judging::new(catalog, false));
        assert!(text.contains("LP-02    NOT EXERCISED "), "{text}");
        assert!(conforms(&run, catalog, false));
        let problems = Coverage::of(&run, catalog).problems(true);
        assert!(
            problems.iter().any(|p| p
                == "no scenario of the rules LP-02 calls the integration (they are not exercised)"),
            "{problems:?}"
        );
    }

    /// A scenario that could not be judged is listed once per cause, with the cause, and
    /// counts as neither passed nor failed.
    #[test]
    fn scenarios_not_judged_are_listed_by_cause_and_never_pass_or_fail() {
        let catalog = &Fixtures::builtin().unwrap().rules;
        let cause = "the integration did not start: failed to start the MCP server `acme`";
        let mut first = scenario(&["SD-01"], None);
        first.not_judged = Some(cause.into());
        let mut second = scenario(&["SD-02"], None);
        second.not_judged = Some(cause.into());
        let run = summary(vec![first, second]);
        let text = render_text(&run, &Judging::new(catalog, false));
        assert_eq!(text.matches(cause).count(), 1, "{text}");
        assert!(text.contains("Could not be judged (2 scenarios)"), "{text}");
        assert!(text.contains("SD-01    NOT JUDGED (1 scenario)"), "{text}");
        assert!(
            text.contains("2 scenarios (0 passed, 0 failed, 2 not judged)"),
            "{text}"
        );
        assert!(!conforms(&run, catalog, false));
    }

    #[test]
    fn findings_fail_their_scenario_under_their_rule_and_in_the_integrity_section() {
        use crate::integration::Finding;
        use crate::model::Integrity;
        let catalog = &Fixtures::builtin().unwrap().rules;
        let mut collateral = scenario(&["SD-01"], None);
        collateral.findings = vec![
            Finding::rule(
                "SAFE-01".parse().unwrap(),
                "PATCH /system/members/2 -> 200 was sent while the AI asked to create a service ticket",
            ),
            Finding::listed(true, "GET /finance/invoices -> 200"),
        ];
        let mut leak = scenario(&["LP-03"], None);
        leak.name = "a leak".into();
        leak.findings = vec![Finding::integrity(
            Integrity::SecretShown,
            "the tool result shows a key: \"(signed in with [redacted])\"",
        )];
        let run = summary(vec![collateral, leak]);
        assert_eq!(run.failed().count(), 2);
        assert!(!conforms(&run, catalog, false));
        let safe: RuleId = "SAFE-01".parse().unwrap();
        let on_safe = verdict::verdicts(&run, catalog)
            .into_iter()
            .find(|v| v.rule.id == safe)
            .unwrap();
        assert!(
            matches!(&on_safe.verdict, Verdict::Violated { failed, .. } if failed.len() == 1),
            "{on_safe:?}"
        );
        let text = render_text(&run, &Judging::new(catalog, false));
        assert!(
            text.contains("    SAFE-01: PATCH /system/members/2 -> 200"),
            "{text}"
        );
        assert!(text.contains("\nIntegrity (checks of their own"), "{text}");
        assert!(text.contains("  INT-01   BROKEN (1 scenario)"), "{text}");
        assert!(
            text.contains("    a leak (features/x.feature:7): the tool result shows a key"),
            "{text}"
        );
        assert!(text.contains("  INT-02   kept"), "{text}");
        assert!(
            text.contains("over-reach: GET /finance/invoices -> 200"),
            "{text}"
        );
        let json: serde_json::Value =
            serde_json::from_str(&json::render(&run, &Judging::new(catalog, false))).unwrap();
        assert_eq!(json["integrity"][0]["id"], "INT-01");
        assert_eq!(json["integrity"][0]["verdict"], "broken");
        assert_eq!(json["integrity"][1]["verdict"], "kept");
        assert_eq!(json["scenarios"][0]["findings"][0]["id"], "SAFE-01");
    }

    #[test]
    fn count_says_one_and_many() {
        assert_eq!(count(1, "scenario", "scenarios"), "1 scenario");
        assert_eq!(count(0, "scenario", "scenarios"), "0 scenarios");
        assert_eq!(count(2, "entry", "entries"), "2 entries");
    }

    #[test]
    fn one_scenario_is_not_counted_as_scenarios() {
        let catalog = &Fixtures::builtin().unwrap().rules;
        let text = render_text(
            &summary(vec![scenario(&["SD-01"], None)]),
            &Judging::new(catalog, false),
        );
        assert!(text.contains("\n1 scenario (1 passed, 0 failed)"), "{text}");
        assert!(text.contains("met (1 scenario) "), "{text}");
        assert!(!text.contains("1 scenarios"), "{text}");
        assert!(!text.contains("1 rules"), "{text}");
    }

    #[test]
    fn no_rule_header_when_no_rule_was_checked() {
        let catalog = &Fixtures::builtin().unwrap().rules;
        let text = render_text(
            &summary(vec![scenario(&["smoke"], None)]),
            &Judging::new(catalog, false),
        );
        assert!(!text.contains("Conformance by rule:"), "{text}");
        let text = render_text(
            &summary(vec![scenario(&["SD-01"], None)]),
            &Judging::new(catalog, false),
        );
        assert!(text.contains("Conformance by rule:\n  SD-01"), "{text}");
    }

    #[test]
    fn the_summary_fits_in_100_columns_and_says_where_the_full_rules_are() {
        let catalog = &Fixtures::builtin().unwrap().rules;
        let tags: Vec<String> = catalog.iter().map(|r| r.id.to_string()).collect();
        let tags: Vec<&str> = tags.iter().map(String::as_str).collect();
        let text = render_text(
            &summary(vec![scenario(&tags, None)]),
            &Judging::new(catalog, true),
        );
        let long: Vec<&str> = text.lines().filter(|l| l.chars().count() > WIDTH).collect();
        assert!(long.is_empty(), "{long:#?}");
        assert!(
            text.contains("`cw-conform rules` prints every rule in full"),
            "{text}"
        );
        assert!(text.contains('…'), "{text}");
    }

    #[test]
    fn shorten_cuts_at_a_word_and_marks_the_cut() {
        assert_eq!(shorten("short", 10), "short");
        assert_eq!(shorten("one two three four", 12), "one two…");
        assert!(shorten(&"word ".repeat(40), 50).chars().count() <= 50);
    }
}
