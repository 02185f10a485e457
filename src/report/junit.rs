//! The JUnit XML report: one test suite per feature, one test case per scenario, the rule
//! IDs and the observed outcome as properties, a `coverage` suite for the rule gate, and a
//! `feature errors` suite with an `<error>` per feature that could not run.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::Judging;
use super::verdict::{self, RuleVerdict, Verdict};
use crate::harness::{RunSummary, ScenarioResult};
use crate::model::RuleCatalog;

/// Escapes text for XML attributes and content.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Control characters are not allowed in XML 1.0.
            c if (c as u32) < 0x20 && !matches!(c, '\n' | '\r' | '\t') => out.push('?'),
            c => out.push(c),
        }
    }
    out
}

/// The testcase names of one feature's scenarios, unique within it: a scenario's name;
/// when another scenario has the same name (the rows of an outline whose name has no
/// placeholder), its Examples row's values too (`name [role = x, action = y]`); and when
/// even that repeats, `(example N)`, numbered in feature order.
pub fn testcase_names(scenarios: &[&ScenarioResult]) -> Vec<String> {
    let with_rows: Vec<String> = scenarios
        .iter()
        .map(|scenario| {
            let repeated = scenarios.iter().filter(|s| s.name == scenario.name).count() > 1;
            match (&scenario.example, repeated) {
                (Some(row), true) => format!("{} [{row}]", scenario.name),
                _ => scenario.name.clone(),
            }
        })
        .collect();
    let mut nth: BTreeMap<&str, usize> = BTreeMap::new();
    with_rows
        .iter()
        .map(|name| {
            if with_rows.iter().filter(|n| *n == name).count() == 1 {
                return name.clone();
            }
            let n = nth.entry(name).or_default();
            *n += 1;
            format!("{name} (example {n})")
        })
        .collect()
}

/// The `time` of a suite or testcase that ran nothing of its own: the rules, the gate, the
/// baseline and the cleanup are judged from the scenarios' results after they ran, a
/// scenario left out or a feature that could not be read never ran, and an interrupted run
/// is timed by `<testsuites>`. Readers of JUnit that want a `time` on every element get one.
const NO_TIME: &str = "0.000";

/// Seconds, as JUnit's `time` attribute gives them.
fn seconds(duration: std::time::Duration) -> String {
    format!("{:.3}", duration.as_secs_f64())
}

fn testcase(out: &mut String, scenario: &ScenarioResult, name: &str) {
    let _ = writeln!(
        out,
        r#"    <testcase name="{}" classname="{}" file="{}" line="{}" time="{}">"#,
        escape(name),
        escape(&scenario.feature_name),
        escape(&scenario.feature),
        scenario.line,
        seconds(scenario.duration)
    );
    let _ = writeln!(out, "      <properties>");
    for rule in scenario.rules() {
        let _ = writeln!(
            out,
            r#"        <property name="rule" value="{}"/>"#,
            escape(rule.as_str())
        );
    }
    if let Some(outcome) = scenario.outcome {
        let _ = writeln!(
            out,
            r#"        <property name="outcome" value="{outcome}"/>"#
        );
    }
    for behaviour in &scenario.emulated {
        let _ = writeln!(
            out,
            r#"        <property name="emulated" value="{}"/>"#,
            escape(behaviour)
        );
    }
    let _ = writeln!(out, "      </properties>");
    if let Some(mistake) = &scenario.feature_error {
        let _ = writeln!(
            out,
            r#"      <error message="feature error" type="feature">{}</error>"#,
            escape(mistake)
        );
    }
    if let Some(cause) = scenario
        .not_judged
        .as_ref()
        .filter(|_| scenario.feature_error.is_none())
    {
        let first = cause.lines().next().unwrap_or_default();
        let _ = writeln!(
            out,
            r#"      <error message="could not be judged: {}" type="not-judged">{}</error>"#,
            escape(first),
            escape(cause)
        );
    }
    if let Some(reason) = scenario
        .expected_failure
        .as_ref()
        .filter(|_| scenario.violated())
    {
        // Expected by the baseline: skipped, the failure kept as its text.
        let _ = writeln!(
            out,
            r#"      <skipped message="expected failure: {}">{}</skipped>"#,
            escape(reason),
            escape(scenario.failure.as_deref().unwrap_or_default())
        );
    } else if let Some(failure) = scenario.failure.as_ref().filter(|_| scenario.violated()) {
        let first = failure.lines().next().unwrap_or_default();
        let _ = writeln!(
            out,
            r#"      <failure message="{}" type="nonconformance">{}</failure>"#,
            escape(first),
            escape(failure)
        );
    }
    let _ = writeln!(out, "    </testcase>");
}

/// One testcase per rule the run judged: met passes, violated is a `<failure>`, could not
/// be judged an `<error>`, not offered and not exercised are `<skipped>`.
fn rules_suite(
    out: &mut String,
    verdicts: &[RuleVerdict<'_>],
    failed: usize,
    not_judged: usize,
    skipped: usize,
) {
    let _ = writeln!(
        out,
        r#"  <testsuite name="rules" tests="{}" failures="{failed}" errors="{not_judged}" skipped="{skipped}" time="{NO_TIME}">"#,
        verdicts.len()
    );
    for RuleVerdict { rule, verdict } in verdicts {
        let shown = escape(&super::shown(verdict));
        let body = match verdict {
            Verdict::Met { .. } | Verdict::NotChecked => String::new(),
            Verdict::Violated { .. } if verdict.expected() => {
                format!(
                    r#"<skipped message="{shown}: every failure is expected by the baseline"/>"#
                )
            }
            Verdict::Violated { .. } => {
                format!(r#"<failure message="{shown}" type="nonconformance"/>"#)
            }
            Verdict::NotJudged { .. } => format!(r#"<error message="{shown}" type="not-judged"/>"#),
            Verdict::NotOffered { .. } | Verdict::NotExercised { .. } => {
                format!(r#"<skipped message="{shown}"/>"#)
            }
        };
        let _ = writeln!(
            out,
            r#"    <testcase name="{0} {1}" classname="rules" time="{NO_TIME}"><properties><property name="rule" value="{0}"/><property name="verdict" value="{2}"/></properties>{body}</testcase>"#,
            escape(rule.id.as_str()),
            escape(&rule.summary),
            verdict.name()
        );
    }
    let _ = writeln!(out, "  </testsuite>");
}

/// Renders the report as JUnit XML.
pub fn render(summary: &RunSummary, judging: &Judging<'_>) -> String {
    let catalog: &RuleCatalog = judging.catalog;
    let mut features: BTreeMap<&str, Vec<&ScenarioResult>> = BTreeMap::new();
    for scenario in &summary.scenarios {
        features
            .entry(scenario.feature.as_str())
            .or_default()
            .push(scenario);
    }
    // The gate beyond the scenarios: coverage, an integration's rules, nothing run.
    let problems = judging.problems(summary);
    let verdicts: Vec<RuleVerdict<'_>> = verdict::verdicts(summary, catalog)
        .into_iter()
        .filter(|v| v.verdict != Verdict::NotChecked)
        .collect();
    let rules_failed = verdicts
        .iter()
        .filter(|v| matches!(v.verdict, Verdict::Violated { .. }) && !v.verdict.expected())
        .count();
    let rules_not_judged = verdicts
        .iter()
        .filter(|v| matches!(v.verdict, Verdict::NotJudged { .. }))
        .count();
    let rules_skipped = verdicts
        .iter()
        .filter(|v| {
            matches!(
                v.verdict,
                Verdict::NotOffered { .. } | Verdict::NotExercised { .. }
            ) || v.verdict.expected()
        })
        .count();
    let baseline_problems: &[crate::baseline::EntryProblem] = summary
        .baseline
        .as_ref()
        .map_or(&[], |b| b.problems.as_slice());
    let expected = summary.expected_failures().count();
    let failures = summary.failed().count()
        + problems.len()
        + summary.left_behind.len()
        + rules_failed
        + baseline_problems.len();
    // Testcases of their own: the interrupted run, and each feature file that did not run.
    let feature_errors = summary.parse_errors.len();
    let own_errors = usize::from(summary.interrupted) + feature_errors;
    // A scenario stopped by a mistake in its feature, or that could not be judged, is an
    // `<error>` in its own testcase; so is a rule that could not be judged.
    let errors = own_errors
        + summary.feature_errors().count()
        + summary.not_judged().count()
        + rules_not_judged;
    let tests = summary.scenarios.len()
        + problems.len()
        + summary.left_out.len()
        + summary.left_behind.len()
        + own_errors
        + verdicts.len()
        + baseline_problems.len();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        r#"<testsuites name="cw-conform" tests="{tests}" failures="{failures}" errors="{errors}" skipped="{}" time="{}">"#,
        summary.left_out.len() + rules_skipped + expected,
        seconds(summary.elapsed)
    );
    if summary.interrupted {
        let _ = writeln!(
            out,
            r#"  <testsuite name="run" tests="1" failures="0" errors="1" skipped="0" time="{NO_TIME}">
    <testcase name="the whole run" classname="run" time="{NO_TIME}"><error message="interrupted: only the scenarios listed here finished" type="interrupted"/></testcase>
  </testsuite>"#
        );
    }
    for (feature, scenarios) in &features {
        let failed = scenarios
            .iter()
            .filter(|s| s.violated() && s.expected_failure.is_none())
            .count();
        let skipped = scenarios
            .iter()
            .filter(|s| s.violated() && s.expected_failure.is_some())
            .count();
        let feature_errors = scenarios
            .iter()
            .filter(|s| !s.passed() && !s.violated())
            .count();
        let name = scenarios
            .first()
            .map_or(*feature, |s| s.feature_name.as_str());
        let time: std::time::Duration = scenarios.iter().map(|s| s.duration).sum();
        let _ = writeln!(
            out,
            r#"  <testsuite name="{}" file="{}" tests="{}" failures="{failed}" errors="{feature_errors}" skipped="{skipped}" time="{}">"#,
            escape(name),
            escape(feature),
            scenarios.len(),
            seconds(time)
        );
        for (scenario, name) in scenarios.iter().zip(testcase_names(scenarios)) {
            testcase(&mut out, scenario, &name);
        }
        let _ = writeln!(out, "  </testsuite>");
    }
    if feature_errors > 0 {
        let _ = writeln!(
            out,
            r#"  <testsuite name="feature errors" tests="{feature_errors}" failures="0" errors="{feature_errors}" skipped="0" time="{NO_TIME}">"#
        );
        for error in &summary.parse_errors {
            let _ = writeln!(
                out,
                r#"    <testcase name="{}" classname="feature errors" file="{}" line="{}" time="{NO_TIME}"><error message="{}" type="feature"/></testcase>"#,
                escape(&error.to_string()),
                escape(&error.feature),
                error.line.unwrap_or_default(),
                escape(&error.problem)
            );
        }
        let _ = writeln!(out, "  </testsuite>");
    }
    if !baseline_problems.is_empty() {
        let _ = writeln!(
            out,
            r#"  <testsuite name="baseline" tests="{0}" failures="{0}" errors="0" skipped="0" time="{NO_TIME}">"#,
            baseline_problems.len()
        );
        for problem in baseline_problems {
            let _ = writeln!(
                out,
                r#"    <testcase name="{}" classname="baseline" time="{NO_TIME}"><failure message="{}" type="baseline"/></testcase>"#,
                escape(&problem.entry),
                escape(&problem.to_string())
            );
        }
        let _ = writeln!(out, "  </testsuite>");
    }
    if !summary.left_out.is_empty() {
        let _ = writeln!(
            out,
            r#"  <testsuite name="left out of this run" tests="{0}" failures="0" errors="0" skipped="{0}" time="{NO_TIME}">"#,
            summary.left_out.len()
        );
        for left in &summary.left_out {
            let _ = writeln!(
                out,
                r#"    <testcase name="{}" classname="left out" file="{}" line="{}" time="{NO_TIME}"><skipped message="{}"/></testcase>"#,
                escape(&left.name),
                escape(&left.feature),
                left.line,
                escape(&left.reason)
            );
        }
        let _ = writeln!(out, "  </testsuite>");
    }
    if !summary.left_behind.is_empty() {
        let _ = writeln!(
            out,
            r#"  <testsuite name="sandbox cleanup" tests="{0}" failures="{0}" errors="0" skipped="0" time="{NO_TIME}">"#,
            summary.left_behind.len()
        );
        for record in &summary.left_behind {
            let _ = writeln!(
                out,
                r#"    <testcase name="{}" classname="sandbox cleanup" time="{NO_TIME}"><failure message="created on the sandbox and not removed" type="cleanup"/></testcase>"#,
                escape(&record.to_string())
            );
        }
        let _ = writeln!(out, "  </testsuite>");
    }
    if !verdicts.is_empty() {
        rules_suite(
            &mut out,
            &verdicts,
            rules_failed,
            rules_not_judged,
            rules_skipped,
        );
    }
    if !problems.is_empty() {
        let _ = writeln!(
            out,
            r#"  <testsuite name="conformance gate" tests="{0}" failures="{0}" errors="0" skipped="0" time="{NO_TIME}">"#,
            problems.len()
        );
        for problem in &problems {
            let _ = writeln!(
                out,
                r#"    <testcase name="{0}" classname="conformance gate" time="{NO_TIME}"><failure message="{0}" type="gate"/></testcase>"#,
                escape(problem)
            );
        }
        let _ = writeln!(out, "  </testsuite>");
    }
    out.push_str("</testsuites>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_interrupted_run_is_an_error_and_what_it_left_is_a_failure() {
        let catalog = &crate::fixtures::Fixtures::builtin().unwrap().rules;
        let summary = RunSummary {
            interrupted: true,
            left_behind: vec![crate::report::samples::left_behind("not removed yet")],
            ..RunSummary::default()
        };
        let xml = render(&summary, &Judging::new(catalog, false));
        // One error (the run), one failure (the record, named with its mark).
        insta::assert_snapshot!(xml);
        assert!(!summary.conforms());
    }

    /// `tests` and `errors` count each testcase once: a scenario stopped by a feature
    /// mistake is one testcase with an `<error>`, a feature file that did not run another.
    #[test]
    fn feature_errors_are_counted_once_as_testcases_and_errors() {
        let catalog = &crate::fixtures::Fixtures::builtin().unwrap().rules;
        let mut mistaken = ScenarioResult::sample(&["SD-02"], None);
        mistaken.feature_error = Some("x.feature:9: step not implemented".into());
        let summary = RunSummary {
            scenarios: vec![ScenarioResult::sample(&["SD-02"], None), mistaken],
            parse_errors: vec![crate::report::samples::feature_error()],
            ..RunSummary::default()
        };

        let xml = render(&summary, &Judging::new(catalog, false));

        // Four testcases: two scenarios, the feature file that did not run, and the rule
        // SD-02 (met); two of them `<error>`s.
        insta::assert_snapshot!(xml);
    }

    /// A scenario that could not be judged is an `<error>`, not a `<failure>`, and so is
    /// its rule.
    #[test]
    fn a_scenario_not_judged_is_an_error_not_a_failure() {
        let catalog = &crate::fixtures::Fixtures::builtin().unwrap().rules;
        let mut stopped = ScenarioResult::sample(&["SD-01"], None);
        stopped.not_judged = Some("the integration timed out: no answer within 5 s".into());
        let summary = RunSummary {
            scenarios: vec![stopped],
            ..RunSummary::default()
        };
        let xml = render(&summary, &Judging::new(catalog, false));
        assert!(
            xml.contains(r#"tests="2" failures="0" errors="2""#),
            "{xml}"
        );
        assert!(!xml.contains("<failure"), "{xml}");
        assert!(xml.contains(r#"type="not-judged""#), "{xml}");
    }

    /// The rows of an outline whose name has no placeholder are told apart by their
    /// values, and identical rows by their number; a name used once is left alone.
    #[test]
    fn every_testcase_of_a_feature_has_a_name_of_its_own() {
        let row = |name: &str, example: Option<&str>| {
            let mut scenario = ScenarioResult::sample(&["SD-01"], None);
            scenario.name = name.into();
            scenario.example = example.map(str::to_owned);
            scenario
        };
        let scenarios = [
            row("denied", Some("role = no-access")),
            row("denied", Some("role = read-only")),
            row("same", Some("role = x")),
            row("same", Some("role = x")),
            row("alone", Some("role = y")),
            row("plain", None),
        ];
        let refs: Vec<&ScenarioResult> = scenarios.iter().collect();
        assert_eq!(
            testcase_names(&refs),
            [
                "denied [role = no-access]",
                "denied [role = read-only]",
                "same [role = x] (example 1)",
                "same [role = x] (example 2)",
                "alone",
                "plain",
            ]
        );
    }

    /// Every `<testsuite>` and `<testcase>` has a `time`, the extra suites (the run, feature
    /// errors, the baseline, scenarios left out, the cleanup, the rules, the gate) as well
    /// as the features'.
    #[test]
    fn every_suite_and_testcase_has_a_time() {
        use quick_xml::events::Event;

        let catalog = &crate::fixtures::Fixtures::builtin().unwrap().rules;
        let summary = RunSummary {
            scenarios: vec![ScenarioResult::sample(&["SD-02"], None)],
            interrupted: true,
            parse_errors: vec![crate::report::samples::feature_error()],
            left_out: vec![crate::harness::LeftOut {
                feature: "x.feature".into(),
                line: 4,
                name: "needs a seeded company".into(),
                reason: "names a seeded record".into(),
                tags: vec!["RD-01".into()],
            }],
            left_behind: vec![crate::report::samples::left_behind("not removed yet")],
            baseline: Some(crate::baseline::BaselineCheck {
                file: "baseline.toml".into(),
                expected: 0,
                problems: vec![crate::baseline::EntryProblem {
                    entry: "baseline.toml:3".into(),
                    scenario: "gone".into(),
                    rule: "SD-01".into(),
                    problem: "names no scenario of the run".into(),
                }],
            }),
            ..RunSummary::default()
        };
        // The whole suite, so the coverage gate has its own suite too.
        let xml = render(&summary, &Judging::new(catalog, true));

        let mut reader = quick_xml::Reader::from_str(&xml);
        let mut suites = Vec::new();
        let mut untimed = Vec::new();
        loop {
            match reader.read_event().unwrap() {
                Event::Eof => break,
                Event::Start(element) | Event::Empty(element) => {
                    let tag = String::from_utf8_lossy(element.name().as_ref()).into_owned();
                    if !matches!(tag.as_str(), "testsuites" | "testsuite" | "testcase") {
                        continue;
                    }
                    let attribute = |key: &[u8]| {
                        element
                            .try_get_attribute(key)
                            .unwrap()
                            .map(|a| String::from_utf8_lossy(&a.value).into_owned())
                    };
                    let name = attribute(b"name").unwrap_or_default();
                    if tag == "testsuite" {
                        suites.push(name.clone());
                    }
                    match attribute(b"time") {
                        Some(time) if time.parse::<f64>().is_ok_and(|t| t >= 0.0) => {}
                        time => untimed.push(format!("<{tag} name=\"{name}\"> time {time:?}")),
                    }
                }
                _ => {}
            }
        }
        assert!(untimed.is_empty(), "{untimed:#?}\n{xml}");
        for suite in [
            "run",
            "feature errors",
            "baseline",
            "left out of this run",
            "sandbox cleanup",
            "rules",
            "conformance gate",
        ] {
            assert!(
                suites.iter().any(|s| s == suite),
                "no suite {suite}: {suites:?}"
            );
        }
    }

    #[test]
    fn escapes_markup_and_control_characters() {
        assert_eq!(escape("a<b & \"c\"\u{1}"), "a&lt;b &amp; &quot;c&quot;?");
    }
}
