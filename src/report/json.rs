//! The JSON report: per-rule results, per-scenario steps, the observed outcome and the
//! ConnectWise requests behind it. Its shape is `schemas/report.schema.json`, versioned by
//! [`VERSION`].

use serde::Serialize;
use serde_json::{Value, json};

use super::verdict::{self, RuleVerdict, Verdict};
use super::{Coverage, Judging};
use crate::harness::{RunSummary, ScenarioResult};
use crate::model::{Integrity, RuleCatalog};

/// The version of the report's schema (`schemas/report.schema.json`): raised when a field
/// is removed or changes meaning, not when one is added.
pub const VERSION: &str = "1";

/// The schema the report follows, shipped with the binary.
pub const SCHEMA: &str = include_str!("../../schemas/report.schema.json");

#[derive(Serialize)]
struct RuleEntry<'a> {
    id: &'a str,
    summary: &'a str,
    source: &'a str,
    section: &'a str,
    verdict: &'static str,
    /// Violated only by failures the baseline expects.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    expected: bool,
    /// For a rule not offered: the actions; for one not judged: the causes.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    not_offered: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    causes: Vec<String>,
    scenarios: Vec<Value>,
}

/// Renders the report as pretty JSON.
pub fn render(summary: &RunSummary, judging: &Judging<'_>) -> String {
    let catalog: &RuleCatalog = judging.catalog;
    let coverage = Coverage::of(summary, catalog);
    let rules: Vec<RuleEntry<'_>> = verdict::verdicts(summary, catalog)
        .into_iter()
        .map(|RuleVerdict { rule, verdict }| {
            let checking: Vec<&ScenarioResult> = summary
                .scenarios
                .iter()
                .filter(|s| s.judges(&rule.id))
                .collect();
            let mut causes: Vec<String> = match &verdict {
                Verdict::NotJudged { scenarios } => scenarios
                    .iter()
                    .filter_map(|s| s.not_judged.clone())
                    .collect(),
                _ => Vec::new(),
            };
            causes.dedup();
            RuleEntry {
                id: rule.id.as_str(),
                summary: &rule.summary,
                source: &rule.source,
                section: &rule.section,
                verdict: verdict.name(),
                expected: verdict.expected(),
                not_offered: match &verdict {
                    Verdict::NotOffered { actions, .. } => actions.clone(),
                    _ => Vec::new(),
                },
                causes,
                scenarios: checking
                    .iter()
                    .map(|s| json!({"feature": s.feature, "line": s.line, "name": s.name, "passed": s.passed(), "exercised": s.exercised}))
                    .collect(),
            }
        })
        .collect();
    // Checks of their own, not rules of the documents: a breach fails the run.
    let integrity: Vec<Value> = Integrity::ALL
        .iter()
        .map(|&check| {
            let breaches = super::integrity_breaches(summary, check);
            json!({
                "id": check.id(),
                "summary": check.summary(),
                "verdict": if breaches.is_empty() { "kept" } else { "broken" },
                "findings": breaches
                    .iter()
                    .map(|(s, f)| json!({"feature": s.feature, "line": s.line, "name": s.name, "evidence": f.evidence}))
                    .collect::<Vec<_>>(),
            })
        })
        .collect();
    let failed = summary.failed().count();
    let not_judged = summary.not_judged().count();
    let errors = summary.feature_errors().count();
    let date = summary.started.unwrap_or_else(std::time::SystemTime::now);
    let mut report = json!({
        "version": VERSION,
        "date": humantime::format_rfc3339_seconds(date).to_string(),
        "cw_conform_version": env!("CARGO_PKG_VERSION"),
        "integration": match (&judging.integration, &summary.integration_transport) {
            (Some(name), Some(transport)) => {
                json!({"name": name, "kind": "mcp", "transport": transport})
            }
            (Some(name), None) => json!({"name": name, "kind": "mcp"}),
            (None, _) => json!({"name": "reference", "kind": "reference"}),
        },
        "conforms": judging.conforms(summary),
        "elapsed_seconds": summary.elapsed.as_secs_f64(),
        "totals": {
            "scenarios": summary.scenarios.len(),
            "passed": summary.scenarios.len()
                - failed
                - summary.expected_failures().count()
                - not_judged
                - errors,
            "failed": failed,
            "expected_failures": summary.expected_failures().count(),
            "not_judged": not_judged,
            "feature_errors": errors,
            "steps_passed": summary.steps_passed(),
            "rules": catalog.len(),
            "rules_checked": coverage.checked(catalog),
        },
        "coverage_problems": judging.problems(summary),
        "parse_errors": summary.parse_errors,
        "rules": rules,
        "integrity": integrity,
        "scenarios": summary.scenarios,
        // A sandbox run: what could not run there, and what it could not remove.
        "left_out": summary.left_out,
        "left_behind": summary.left_behind,
        "earlier_leftovers": summary.earlier_leftovers,
        "interrupted": summary.interrupted,
        // What `report merge` needs to join shards and judge them as one run.
        "not_offered": summary.not_offered,
        "partition": summary.partition,
        "whole_suite": summary.whole_suite,
        "baseline": summary.baseline,
        // `--reuse-servers`: MCP servers kept across scenarios (their caches too).
        "server_reuse": summary.server_reuse.as_ref().map(|reuse| json!({
            "servers_started": reuse.servers_started,
            "findings": reuse.findings,
        })),
    });
    // A sandbox run: what the sandbox does for each documented behaviour.
    if let (false, Value::Object(map)) = (summary.sandbox_behaviours.is_empty(), &mut report) {
        map.insert(
            "sandbox_behaviours".to_owned(),
            json!(summary.sandbox_behaviours),
        );
    }
    serde_json::to_string_pretty(&report).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::Fixtures;
    use crate::integration::Finding;

    fn schema() -> jsonschema::Validator {
        let schema: Value = serde_json::from_str(SCHEMA).unwrap();
        jsonschema::draft202012::new(&schema).unwrap()
    }

    fn departures(report: &Value) -> Vec<String> {
        schema()
            .iter_errors(report)
            .map(|e| format!("at {}: {e}", e.instance_path()))
            .collect()
    }

    /// Summaries of every kind the report has a field for.
    fn summaries() -> Vec<RunSummary> {
        let mut failed =
            ScenarioResult::sample(&["SD-01"], Some("expected denied, observed allowed"));
        failed.outcome = Some(crate::model::Outcome::Allowed);
        failed.findings = vec![Finding::listed(true, "GET /finance/invoices -> 200")];
        let mut not_judged = ScenarioResult::sample(&["SD-02"], None);
        not_judged.not_judged = Some("the integration timed out".into());
        let mut mistaken = ScenarioResult::sample(&["SD-03"], None);
        mistaken.feature_error = Some("x.feature:9: step not implemented".into());
        vec![
            RunSummary::default(),
            RunSummary {
                scenarios: vec![
                    ScenarioResult::sample(&["SD-01"], None),
                    failed,
                    not_judged,
                    mistaken,
                ],
                parse_errors: vec![crate::report::samples::feature_error()],
                left_behind: vec![crate::report::samples::left_behind("not removed yet")],
                interrupted: true,
                ..RunSummary::default()
            },
        ]
    }

    #[test]
    fn every_report_fits_its_schema() {
        let catalog = &Fixtures::builtin().unwrap().rules;
        for summary in summaries() {
            for judging in [
                Judging::new(catalog, true),
                Judging {
                    integration: Some("Acme MCP".into()),
                    ..Judging::new(catalog, false)
                },
            ] {
                let report: Value = serde_json::from_str(&render(&summary, &judging)).unwrap();
                assert_eq!(departures(&report), Vec::<String>::new(), "{report:#}");
                assert_eq!(report["version"], VERSION);
            }
        }
    }

    /// The schema is not a formality: a report without a field it requires, or with a
    /// verdict it does not know, fails it.
    #[rstest::rstest]
    #[case::no_version("version")]
    #[case::no_date("date")]
    #[case::no_verdict("conforms")]
    #[case::no_scenarios("scenarios")]
    fn a_report_missing_a_required_field_does_not_fit(#[case] field: &str) {
        let catalog = &Fixtures::builtin().unwrap().rules;
        let mut report: Value =
            serde_json::from_str(&render(&summaries()[1], &Judging::new(catalog, false))).unwrap();
        report.as_object_mut().unwrap().remove(field);
        let departures = departures(&report);
        assert!(
            departures
                .iter()
                .any(|d| d.contains(&format!("\"{field}\" is a required property"))),
            "{departures:?}"
        );
    }

    #[test]
    fn a_report_with_an_unknown_verdict_or_a_date_not_in_utc_does_not_fit() {
        let catalog = &Fixtures::builtin().unwrap().rules;
        let mut report: Value =
            serde_json::from_str(&render(&summaries()[1], &Judging::new(catalog, false))).unwrap();
        report["rules"][0]["verdict"] = json!("sort of met");
        report["date"] = json!("2026-11-28 08:00");
        assert_eq!(departures(&report).len(), 2, "{:?}", departures(&report));
    }

    #[test]
    fn the_report_names_its_date_version_and_integration() {
        let catalog = &Fixtures::builtin().unwrap().rules;
        let summary = RunSummary {
            started: Some(std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_795_000_000)),
            ..RunSummary::default()
        };
        let judging = Judging {
            integration: Some("Acme MCP".into()),
            ..Judging::new(catalog, false)
        };
        let report: Value = serde_json::from_str(&render(&summary, &judging)).unwrap();
        assert_eq!(report["date"], "2026-11-18T11:06:40Z");
        assert_eq!(report["cw_conform_version"], env!("CARGO_PKG_VERSION"));
        assert_eq!(
            report["integration"],
            json!({"name": "Acme MCP", "kind": "mcp"})
        );
    }
}
