//! The per-integration conformance report: each rule of the catalog as *met*, *violated*
//! (with the evidence: what the failed scenarios expected, the tool result they got and the
//! requests ConnectWise received) or *not applicable* (every scenario that checks it asks
//! for an action the integration does not offer), and the actions not offered.

use std::fmt::Write as _;

use super::config::IntegrationConfig;
use crate::harness::{RunSummary, ScenarioResult};
use crate::model::{ActionCatalog, Rule, RuleCatalog, RuleId};

/// How an integration fares on one rule.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict<'a> {
    /// Every scenario that checks it ran and passed.
    Met {
        /// How many.
        scenarios: usize,
    },
    /// A scenario that checks it failed.
    Violated {
        /// The failed scenarios.
        failed: Vec<&'a ScenarioResult>,
        /// How many passed.
        passed: usize,
    },
    /// No scenario that checks it could run: each asks for an action not offered.
    NotApplicable {
        /// Those actions.
        actions: Vec<String>,
    },
    /// No scenario of the run checks it (a filtered run).
    NotChecked,
}

/// A rule and its verdict.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleVerdict<'a> {
    /// The rule.
    pub rule: &'a Rule,
    /// The verdict.
    pub verdict: Verdict<'a>,
}

fn checks(tags: &[String], id: &RuleId) -> bool {
    tags.iter()
        .filter_map(|t| RuleId::from_tag(t))
        .any(|t| &t == id)
}

/// The verdict on every rule of the catalog, in catalog order.
pub fn verdicts<'a>(summary: &'a RunSummary, catalog: &'a RuleCatalog) -> Vec<RuleVerdict<'a>> {
    catalog
        .iter()
        .map(|rule| {
            let ran: Vec<&ScenarioResult> = summary
                .scenarios
                .iter()
                // A scenario stopped by a mistake in its feature judged nothing.
                // Its tags' rules, and the rules its findings say were broken.
                .filter(|s| s.feature_error.is_none() && s.rules().contains(&rule.id))
                .collect();
            let failed: Vec<&ScenarioResult> =
                ran.iter().copied().filter(|s| !s.passed()).collect();
            let verdict = if !failed.is_empty() {
                Verdict::Violated {
                    passed: ran.len() - failed.len(),
                    failed,
                }
            } else if !ran.is_empty() {
                Verdict::Met {
                    scenarios: ran.len(),
                }
            } else {
                let mut actions: Vec<String> = summary
                    .not_offered
                    .iter()
                    .filter(|s| checks(&s.tags, &rule.id))
                    .flat_map(|s| s.actions.iter().cloned())
                    .collect();
                actions.sort();
                actions.dedup();
                if actions.is_empty() {
                    Verdict::NotChecked
                } else {
                    Verdict::NotApplicable { actions }
                }
            };
            RuleVerdict { rule, verdict }
        })
        .collect()
}

/// Whether the integration conforms: every feature parsed, no scenario failed, something
/// ran, and (for a run of the whole suite) every rule is met or not applicable.
pub fn conforms(summary: &RunSummary, catalog: &RuleCatalog, whole_suite: bool) -> bool {
    summary.conforms()
        && !summary.scenarios.is_empty()
        && (!whole_suite
            || verdicts(summary, catalog)
                .iter()
                .all(|v| !matches!(v.verdict, Verdict::NotChecked)))
}

fn plural(count: usize, one: &str, many: &str) -> String {
    format!("{count} {}", if count == 1 { one } else { many })
}

/// The report as text.
pub fn render(
    summary: &RunSummary,
    rules: &RuleCatalog,
    config: &IntegrationConfig,
    actions: &ActionCatalog,
    whole_suite: bool,
) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\nConformance of the integration \"{}\" ({})",
        config.name, config.path
    );
    let not_offered = config.not_offered(actions);
    if not_offered.is_empty() {
        let _ = writeln!(out, "\nEvery action of the catalog is offered.");
    } else {
        let _ = writeln!(
            out,
            "\nNot offered by this integration ({}):",
            plural(not_offered.len(), "action", "actions")
        );
        for action in &not_offered {
            let _ = writeln!(out, "  {:<24} {}", action.name, action.phrase);
        }
        let _ = writeln!(
            out,
            "  ({} left out because they ask for these)",
            plural(summary.not_offered.len(), "scenario", "scenarios")
        );
    }
    let verdicts = verdicts(summary, rules);
    let _ = writeln!(out, "\nRules:");
    let (mut met, mut violated, mut not_applicable, mut not_checked) = (0, 0, 0, 0);
    for RuleVerdict { rule, verdict } in &verdicts {
        let shown = match verdict {
            Verdict::Met { scenarios } => {
                met += 1;
                format!("met ({})", plural(*scenarios, "scenario", "scenarios"))
            }
            Verdict::Violated { failed, passed } => {
                violated += 1;
                format!(
                    "VIOLATED ({} of {} failed)",
                    failed.len(),
                    failed.len() + passed
                )
            }
            Verdict::NotApplicable { actions } => {
                not_applicable += 1;
                format!("not applicable (needs {})", actions.join(", "))
            }
            Verdict::NotChecked if !whole_suite => continue,
            Verdict::NotChecked => {
                not_checked += 1;
                "NOT CHECKED".to_owned()
            }
        };
        let _ = writeln!(
            out,
            "  {:<8} {:<32} {}",
            rule.id.as_str(),
            shown,
            rule.summary
        );
    }
    let violations: Vec<&RuleVerdict<'_>> = verdicts
        .iter()
        .filter(|v| matches!(v.verdict, Verdict::Violated { .. }))
        .collect();
    if !violations.is_empty() {
        let _ = writeln!(out, "\nEvidence of the violations:");
        for RuleVerdict { rule, verdict } in violations {
            let Verdict::Violated { failed, .. } = verdict else {
                continue;
            };
            let _ = writeln!(out, "\n  {}: {}", rule.id, rule.summary);
            for scenario in failed {
                let _ = writeln!(
                    out,
                    "    Scenario: {} ({}:{})",
                    scenario.name, scenario.feature, scenario.line
                );
                let failure = scenario.failure.as_deref().unwrap_or_default();
                for line in failure.lines() {
                    let _ = writeln!(out, "      {line}");
                }
                if !failure.contains("ConnectWise received") {
                    let _ = writeln!(out, "      ConnectWise received during the scenario:");
                    if scenario.requests.is_empty() {
                        let _ = writeln!(out, "        (no requests)");
                    }
                    for request in &scenario.requests {
                        let _ = writeln!(out, "        {request}");
                    }
                }
            }
        }
    }
    let _ = writeln!(
        out,
        "\n{} rules: {met} met, {violated} violated, {not_applicable} not applicable{}",
        verdicts.len(),
        if not_checked > 0 || !whole_suite {
            format!(
                ", {} not checked by this run",
                verdicts.len() - met - violated - not_applicable
            )
        } else {
            String::new()
        }
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::Fixtures;
    use crate::harness::NotOffered;

    fn scenario(tags: &[&str], failure: Option<&str>) -> ScenarioResult {
        ScenarioResult::sample(tags, failure)
    }

    fn left_out(tags: &[&str], action: &str) -> NotOffered {
        NotOffered {
            feature: "features/y.feature".into(),
            line: 3,
            name: "left out".into(),
            tags: tags.iter().map(|t| (*t).to_owned()).collect(),
            actions: vec![action.to_owned()],
        }
    }

    fn config() -> IntegrationConfig {
        let fixtures = Fixtures::builtin().unwrap();
        IntegrationConfig::parse(
            "acme.toml",
            "name = \"acme\"\n[server]\ncommand = \"acme\"\n[actions]\n\"ticket.get\" = { tool = \"get\" }\n",
            std::path::Path::new("."),
            &fixtures.actions,
        )
        .unwrap()
    }

    #[test]
    fn each_rule_is_met_violated_not_applicable_or_not_checked() {
        let fixtures = Fixtures::builtin().unwrap();
        let summary = RunSummary {
            scenarios: vec![
                scenario(&["SD-01"], None),
                scenario(&["LP-03"], Some("expected outcome denied, observed failed")),
                scenario(&["LP-03"], None),
            ],
            not_offered: vec![
                left_out(&["SAFE-05"], "ticket.merge"),
                left_out(&["SD-01"], "ticket.delete"),
            ],
            ..RunSummary::default()
        };
        let verdicts = verdicts(&summary, &fixtures.rules);
        let of = |id: &str| {
            verdicts
                .iter()
                .find(|v| v.rule.id.as_str() == id)
                .map(|v| v.verdict.clone())
                .unwrap()
        };
        assert_eq!(of("SD-01"), Verdict::Met { scenarios: 1 });
        assert!(
            matches!(of("LP-03"), Verdict::Violated { ref failed, passed: 1 } if failed.len() == 1)
        );
        assert_eq!(
            of("SAFE-05"),
            Verdict::NotApplicable {
                actions: vec!["ticket.merge".into()]
            }
        );
        assert_eq!(of("LP-01"), Verdict::NotChecked);
        assert!(!conforms(&summary, &fixtures.rules, false));
    }

    #[test]
    fn the_report_lists_what_is_not_offered_and_the_evidence_of_violations() {
        let fixtures = Fixtures::builtin().unwrap();
        let mut failed = scenario(
            &["LP-03"],
            Some(
                "expected outcome denied, observed failed\nobserved: LP-03: ConnectWise answered 403",
            ),
        );
        failed.requests = vec![crate::connectwise::JournalEntry {
            method: "GET".into(),
            path: "/company/contacts".into(),
            query: String::new(),
            status: 403,
            member: None,
            body: None,
        }];
        let summary = RunSummary {
            scenarios: vec![failed],
            not_offered: vec![left_out(&["SAFE-05"], "ticket.merge")],
            ..RunSummary::default()
        };
        let text = render(
            &summary,
            &fixtures.rules,
            &config(),
            &fixtures.actions,
            false,
        );
        assert!(
            text.contains("Conformance of the integration \"acme\" (acme.toml)"),
            "{text}"
        );
        assert!(text.contains("Not offered by this integration ("), "{text}");
        assert!(text.contains("  ticket.merge "), "{text}");
        assert!(text.contains("LP-03    VIOLATED (1 of 1 failed)"), "{text}");
        assert!(
            text.contains("SAFE-05  not applicable (needs ticket.merge)"),
            "{text}"
        );
        assert!(
            text.contains("observed: LP-03: ConnectWise answered 403"),
            "{text}"
        );
        assert!(
            text.contains("        GET /company/contacts -> 403"),
            "{text}"
        );
        assert!(
            !text.contains("LP-01 "),
            "a filtered run leaves unchecked rules out: {text}"
        );
    }
}
