//! The per-integration conformance report: the integration config, the actions it does not
//! offer, each rule's verdict ([`super::verdict`]) and the evidence of the violations (what
//! the failed scenarios expected, the tool result they got and the requests ConnectWise
//! received).

use std::fmt::Write as _;

use super::verdict::{self, RuleVerdict, Verdict};
use crate::harness::RunSummary;
use crate::integration::mcp::IntegrationConfig;
use crate::model::{ActionCatalog, RuleCatalog};

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
    let _ = writeln!(out, "Reached over {}.", config.server.transport_shown());
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
    let verdicts = verdict::verdicts(summary, rules);
    let _ = writeln!(out, "\nRules:");
    let mut tally: Vec<(&str, usize)> = Vec::new();
    for RuleVerdict { rule, verdict } in &verdicts {
        if *verdict == Verdict::NotChecked && !whole_suite {
            continue;
        }
        match tally.iter_mut().find(|(name, _)| *name == verdict.name()) {
            Some((_, n)) => *n += 1,
            None => tally.push((verdict.name(), 1)),
        }
        let _ = writeln!(
            out,
            "  {:<8} {:<32} {}",
            rule.id.as_str(),
            super::shown(verdict),
            rule.summary
        );
        match verdict {
            Verdict::NotOffered {
                actions,
                blocking: true,
            } => {
                let _ = writeln!(
                    out,
                    "           the action it blocks or holds is not offered ({}); the scenarios that still pass do not meet it",
                    actions.join(", ")
                );
            }
            Verdict::NotExercised { scenarios } => {
                let _ = writeln!(
                    out,
                    "           {} ran, none called the integration",
                    plural(*scenarios, "scenario", "scenarios")
                );
            }
            _ => {}
        }
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
    let order = [
        "met",
        "violated",
        "not judged",
        "not offered",
        "not exercised",
        "not checked",
    ];
    let totals: Vec<String> = order
        .iter()
        .map(|name| {
            let n = tally.iter().find(|(t, _)| t == name).map_or(0, |(_, n)| *n);
            format!("{n} {name}")
        })
        .collect();
    let _ = writeln!(out, "\n{} rules: {}", verdicts.len(), totals.join(", "));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::Fixtures;
    use crate::harness::{NotOffered, ScenarioResult};

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
            blocking: Vec::new(),
        }
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
            answer: None,
        }];
        let summary = RunSummary {
            scenarios: vec![failed],
            not_offered: vec![left_out(&["SAFE-05"], "ticket.merge")],
            ..RunSummary::default()
        };
        // A config that offers every action but the merge, so the snapshot does not
        // change with the catalog.
        let mut offered =
            String::from("name = \"acme\"\n[server]\ncommand = \"acme\"\n[actions]\n");
        for action in fixtures.actions.iter().filter(|a| a.name != "ticket.merge") {
            let _ = writeln!(offered, "\"{}\" = {{ tool = \"t\" }}", action.name);
        }
        let config = IntegrationConfig::parse(
            "acme.toml",
            &offered,
            std::path::Path::new("."),
            &fixtures.actions,
        )
        .unwrap();
        let text = render(&summary, &fixtures.rules, &config, &fixtures.actions, false);
        // What is not offered, each judged rule's verdict, the tally, and the evidence of
        // the violation (what was observed, the requests); a filtered run leaves the
        // rules it did not check out.
        // (the size of the catalog changes as rules are added).
        insta::with_settings!({filters => vec![(r"\n[0-9]+ rules:", "\n[catalog] rules:")]}, {
            insta::assert_snapshot!(text);
        });
    }
}
