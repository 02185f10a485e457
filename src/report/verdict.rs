//! The verdict on each rule of the catalog, computed once from a run's results: the text,
//! JSON and JUnit reports, the integration report and the exit code all read it.
//!
//! A rule is
//! - **met** when at least one of its scenarios exercised the integration (had it perform
//!   an action) and every one of its scenarios that ran passed;
//! - **violated** when one of its scenarios failed (the failed scenarios are the evidence);
//! - **could not be judged** when a scenario of it got no answer to judge (the server did
//!   not start, timed out, refused the arguments, or the config has no place for a field);
//!   never counted as met or violated, and listed with the causes;
//! - **not offered** when the integration does not offer the action its blocking scenario
//!   (one that expects an action blocked or escalated) asks for, or every scenario of it
//!   asks for an action not offered. The "reads still work" companions of a blocking rule
//!   never meet it on their own;
//! - **not exercised** when its scenarios ran but none called the integration (only role
//!   audits, say);
//! - **not checked** when no scenario of the run checks it.
//!
//! A scenario stopped by a mistake in its feature judges nothing and is left out here.

use crate::harness::{RunSummary, ScenarioResult};
use crate::model::{Rule, RuleCatalog, RuleId};

/// How the integration fares on one rule.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict<'a> {
    /// Every scenario that checks it passed, and at least one exercised the integration.
    Met {
        /// The scenarios that checked it.
        scenarios: usize,
    },
    /// A scenario that checks it failed.
    Violated {
        /// The failed scenarios.
        failed: Vec<&'a ScenarioResult>,
        /// How many passed.
        passed: usize,
    },
    /// A scenario that checks it got no answer to judge (and none failed).
    NotJudged {
        /// Those scenarios; each names its cause.
        scenarios: Vec<&'a ScenarioResult>,
    },
    /// The integration does not offer what the rule's scenarios need.
    NotOffered {
        /// The actions not offered: the blocking ones when a blocking scenario was left
        /// out, else every action the left-out scenarios ask for.
        actions: Vec<String>,
        /// Whether a blocking scenario (one that expects the action blocked or escalated)
        /// was among those left out.
        blocking: bool,
    },
    /// Its scenarios ran and passed, but none called the integration.
    NotExercised {
        /// How many ran.
        scenarios: usize,
    },
    /// No scenario of the run checks it.
    NotChecked,
}

impl Verdict<'_> {
    /// The verdict's name in reports (`met`, `violated`, `not judged` …).
    pub fn name(&self) -> &'static str {
        match self {
            Verdict::Met { .. } => "met",
            Verdict::Violated { .. } => "violated",
            Verdict::NotJudged { .. } => "not judged",
            Verdict::NotOffered { .. } => "not offered",
            Verdict::NotExercised { .. } => "not exercised",
            Verdict::NotChecked => "not checked",
        }
    }
}

impl Verdict<'_> {
    /// Whether the rule is violated only by failures the baseline expects.
    pub fn expected(&self) -> bool {
        matches!(self, Verdict::Violated { failed, .. }
            if failed.iter().all(|s| s.expected_failure.is_some()))
    }
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

/// The verdict on one rule.
fn verdict<'a>(summary: &'a RunSummary, rule: &Rule) -> Verdict<'a> {
    let ran: Vec<&ScenarioResult> = summary
        .scenarios
        .iter()
        // Its tags' rules, and the rules its findings say were broken.
        .filter(|s| s.feature_error.is_none() && s.judges(&rule.id))
        .collect();
    let failed: Vec<&ScenarioResult> = ran.iter().copied().filter(|s| s.violated()).collect();
    let not_judged: Vec<&ScenarioResult> = ran
        .iter()
        .copied()
        .filter(|s| s.not_judged.is_some())
        .collect();
    let left_out: Vec<_> = summary
        .not_offered
        .iter()
        .filter(|s| checks(&s.tags, &rule.id))
        .collect();
    let mut blocking: Vec<String> = left_out
        .iter()
        .flat_map(|s| s.blocking.iter().cloned())
        .collect();
    blocking.sort();
    blocking.dedup();
    let exercised = ran.iter().any(|s| s.exercised);
    if !failed.is_empty() {
        Verdict::Violated {
            passed: ran.iter().filter(|s| s.passed()).count(),
            failed,
        }
    } else if !not_judged.is_empty() {
        Verdict::NotJudged {
            scenarios: not_judged,
        }
    } else if !blocking.is_empty() {
        Verdict::NotOffered {
            actions: blocking,
            blocking: true,
        }
    } else if exercised {
        Verdict::Met {
            scenarios: ran.len(),
        }
    } else if !left_out.is_empty() {
        let mut actions: Vec<String> = left_out
            .iter()
            .flat_map(|s| s.actions.iter().cloned())
            .collect();
        actions.sort();
        actions.dedup();
        Verdict::NotOffered {
            actions,
            blocking: false,
        }
    } else if !ran.is_empty() {
        Verdict::NotExercised {
            scenarios: ran.len(),
        }
    } else {
        Verdict::NotChecked
    }
}

/// The verdict on every rule of the catalog, in catalog order.
pub fn verdicts<'a>(summary: &'a RunSummary, catalog: &'a RuleCatalog) -> Vec<RuleVerdict<'a>> {
    catalog
        .iter()
        .map(|rule| RuleVerdict {
            rule,
            verdict: verdict(summary, rule),
        })
        .collect()
}

/// The distinct causes of the scenarios that could not be judged, each with the scenarios
/// it stopped, in the order they first appear: a server that never starts is one cause.
/// Causes are told apart by their first line (what went wrong); the details shown (the
/// server's stderr, how it ended) are the first scenario's.
pub fn not_judged_causes(summary: &RunSummary) -> Vec<(&str, Vec<&ScenarioResult>)> {
    let first_line = |cause: &str| cause.lines().next().unwrap_or_default().to_owned();
    let mut causes: Vec<(&str, Vec<&ScenarioResult>)> = Vec::new();
    for scenario in summary.not_judged() {
        let cause = scenario.not_judged.as_deref().unwrap_or_default();
        match causes
            .iter_mut()
            .find(|(c, _)| first_line(c) == first_line(cause))
        {
            Some((_, scenarios)) => scenarios.push(scenario),
            None => causes.push((cause, vec![scenario])),
        }
    }
    causes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::Fixtures;
    use crate::harness::NotOffered;

    fn scenario(tags: &[&str], failure: Option<&str>) -> ScenarioResult {
        ScenarioResult::sample(tags, failure)
    }

    fn left_out(tags: &[&str], action: &str, blocking: bool) -> NotOffered {
        NotOffered {
            feature: "features/y.feature".into(),
            line: 3,
            name: "left out".into(),
            tags: tags.iter().map(|t| (*t).to_owned()).collect(),
            actions: vec![action.to_owned()],
            blocking: if blocking {
                vec![action.to_owned()]
            } else {
                Vec::new()
            },
        }
    }

    fn of<'a>(verdicts: &[RuleVerdict<'a>], id: &str) -> Verdict<'a> {
        verdicts
            .iter()
            .find(|v| v.rule.id.as_str() == id)
            .map(|v| v.verdict.clone())
            .unwrap()
    }

    #[test]
    fn each_rule_gets_one_of_six_verdicts() {
        let fixtures = Fixtures::builtin().unwrap();
        let mut audit_only = scenario(&["LP-02"], None);
        audit_only.exercised = false;
        let mut timed_out = scenario(&["ST-01"], None);
        timed_out.not_judged = Some("the integration timed out".into());
        let summary = RunSummary {
            scenarios: vec![
                scenario(&["SD-01"], None),
                scenario(&["LP-03"], Some("expected outcome denied, observed failed")),
                scenario(&["LP-03"], None),
                audit_only,
                timed_out,
                scenario(&["ST-01"], None),
            ],
            not_offered: vec![
                left_out(&["SAFE-05"], "ticket.merge", false),
                left_out(&["SD-01"], "ticket.delete", false),
            ],
            ..RunSummary::default()
        };
        let verdicts = verdicts(&summary, &fixtures.rules);
        assert_eq!(of(&verdicts, "SD-01"), Verdict::Met { scenarios: 1 });
        assert!(matches!(
            of(&verdicts, "LP-03"),
            Verdict::Violated { ref failed, passed: 1 } if failed.len() == 1
        ));
        assert!(matches!(
            of(&verdicts, "ST-01"),
            Verdict::NotJudged { ref scenarios } if scenarios.len() == 1
        ));
        assert_eq!(
            of(&verdicts, "SAFE-05"),
            Verdict::NotOffered {
                actions: vec!["ticket.merge".into()],
                blocking: false
            }
        );
        assert_eq!(
            of(&verdicts, "LP-02"),
            Verdict::NotExercised { scenarios: 1 }
        );
        assert_eq!(of(&verdicts, "LP-01"), Verdict::NotChecked);
    }

    /// SAFE-01's companions (reads of members still work) pass, but the write it blocks is
    /// not offered: the rule is not offered, never met.
    #[test]
    fn a_blocking_rule_is_not_met_by_its_companions() {
        let fixtures = Fixtures::builtin().unwrap();
        let summary = RunSummary {
            scenarios: vec![scenario(&["SAFE-01"], None)],
            not_offered: vec![left_out(&["SAFE-01"], "member.update", true)],
            ..RunSummary::default()
        };
        assert_eq!(
            of(&verdicts(&summary, &fixtures.rules), "SAFE-01"),
            Verdict::NotOffered {
                actions: vec!["member.update".into()],
                blocking: true
            }
        );
        // A companion left out (a read not offered) does not stop the rule being met.
        let summary = RunSummary {
            scenarios: vec![scenario(&["SAFE-01"], None)],
            not_offered: vec![left_out(&["SAFE-01"], "member.search", false)],
            ..RunSummary::default()
        };
        assert_eq!(
            of(&verdicts(&summary, &fixtures.rules), "SAFE-01"),
            Verdict::Met { scenarios: 1 }
        );
    }

    #[test]
    fn scenarios_that_could_not_be_judged_are_grouped_by_cause() {
        let cause = "the integration did not start: exit status 127";
        let mut first = scenario(&["SD-01"], None);
        first.not_judged = Some(cause.into());
        let mut second = scenario(&["SD-02"], None);
        second.not_judged = Some(cause.into());
        let summary = RunSummary {
            scenarios: vec![first, second, scenario(&["SD-03"], None)],
            ..RunSummary::default()
        };
        let causes = not_judged_causes(&summary);
        assert_eq!(causes.len(), 1);
        assert_eq!(causes[0].0, cause);
        assert_eq!(causes[0].1.len(), 2);
    }
}
