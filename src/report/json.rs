//! The JSON report: per-rule results, per-scenario steps, the observed outcome and the
//! ConnectWise requests behind it.

use serde::Serialize;
use serde_json::{Value, json};

use super::Coverage;
use super::verdict::{self, RuleVerdict, Verdict};
use crate::harness::{RunSummary, ScenarioResult};
use crate::model::{Integrity, RuleCatalog};

#[derive(Serialize)]
struct RuleEntry<'a> {
    id: &'a str,
    summary: &'a str,
    source: &'a str,
    section: &'a str,
    verdict: &'static str,
    /// For a rule not offered: the actions; for one not judged: the causes.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    not_offered: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    causes: Vec<String>,
    scenarios: Vec<Value>,
}

/// Renders the report as pretty JSON.
pub fn render(summary: &RunSummary, catalog: &RuleCatalog, whole_suite: bool) -> String {
    let coverage = Coverage::of(summary, catalog);
    let rules: Vec<RuleEntry<'_>> = verdict::verdicts(summary, catalog)
        .into_iter()
        .map(|RuleVerdict { rule, verdict }| {
            let checking: Vec<&ScenarioResult> = summary
                .scenarios
                .iter()
                .filter(|s| s.rules().contains(&rule.id))
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
    let report = json!({
        "conforms": super::conforms(summary, catalog, whole_suite),
        "elapsed_seconds": summary.elapsed.as_secs_f64(),
        "totals": {
            "scenarios": summary.scenarios.len(),
            "passed": summary.scenarios.len() - failed - not_judged - errors,
            "failed": failed,
            "not_judged": not_judged,
            "feature_errors": errors,
            "steps_passed": summary.steps_passed(),
            "rules": catalog.len(),
            "rules_checked": coverage.checked(catalog),
        },
        "coverage_problems": coverage.problems(whole_suite),
        "parse_errors": summary.parse_errors,
        "rules": rules,
        "integrity": integrity,
        "scenarios": summary.scenarios,
        // A sandbox run: what could not run there, and what it could not remove.
        "left_out": summary.left_out,
        "left_behind": summary.left_behind,
        "earlier_leftovers": summary.earlier_leftovers,
        "interrupted": summary.interrupted,
        // `--reuse-servers`: MCP servers kept across scenarios (their caches too).
        "server_reuse": summary.server_reuse.as_ref().map(|reuse| json!({
            "servers_started": reuse.servers_started,
            "findings": reuse.findings,
        })),
    });
    serde_json::to_string_pretty(&report).unwrap_or_default()
}
