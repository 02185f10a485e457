//! The living documentation: a static site, in HTML and in Markdown, for the people who
//! document what an AI integration with ConnectWise is expected to do.
//!
//! It shows each rule with its source, the scenarios that check it in the features' own
//! business language, the expected-outcome matrix of every role with a legend, and, given
//! run reports (`cw-conform run --format json`), the latest verdict of every scenario with
//! its evidence. Every page names the date it was made, the cw-conform version and the
//! integration.
//!
//! This module owns the model of the site ([`Documentation`]) and its two renderings
//! ([`html`], [`markdown`]). It reads features through the harness's checked loader and
//! run results through the JSON report's fields ([`results`]); the matrix and the oracle
//! come from [`crate::report::matrix`]. It writes no files (`cw-conform docs` does).

pub mod html;
pub mod markdown;
pub mod results;
mod scenarios;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::fixtures::Fixtures;
use crate::harness::FeatureError;
use crate::model::{Rule, RuleId, SecurityRole};

pub use results::{ReportError, RequestRecord, RunReport, ScenarioRun, Verdict};
pub use scenarios::{ExampleRow, ExamplesDoc, Instance, ScenarioDoc, StepDoc};

/// The styles of every page (the matrix adds its own, [`crate::report::matrix::STYLE`]).
pub const BASE_STYLE: &str = include_str!("style.css");

/// The variable that fixes the generation date, for reproducible output (the convention
/// of reproducible builds): seconds since 1970-01-01 UTC.
pub const SOURCE_DATE_EPOCH: &str = "SOURCE_DATE_EPOCH";

/// Why the documentation could not be made.
#[derive(Debug, thiserror::Error)]
pub enum DocsError {
    /// A feature file could not be read.
    #[error(transparent)]
    Read(#[from] crate::harness::RunError),
    /// Feature files that are not valid, or have blocks that would check nothing.
    #[error("failed to read the features:\n{}", .0.iter().map(|e| format!("  {e}")).collect::<Vec<_>>().join("\n"))]
    Features(Vec<FeatureError>),
    /// A run report could not be read.
    #[error(transparent)]
    Report(#[from] ReportError),
    /// `SOURCE_DATE_EPOCH` is not a number of seconds.
    #[error(
        "invalid {SOURCE_DATE_EPOCH} \"{0}\": expected the seconds since 1970-01-01 UTC, e.g. 1764316800"
    )]
    SourceDate(String),
}

/// `2026-11-28 07:40:12 UTC`.
pub fn timestamp(time: SystemTime) -> String {
    let text = humantime::format_rfc3339_seconds(time).to_string();
    format!("{} UTC", text.trim_end_matches('Z').replacen('T', " ", 1))
}

/// The generation date: `SOURCE_DATE_EPOCH` when set, otherwise now.
pub fn generation_date() -> Result<SystemTime, DocsError> {
    match std::env::var(SOURCE_DATE_EPOCH) {
        Ok(value) => value
            .trim()
            .parse::<u64>()
            .map(|seconds| UNIX_EPOCH + Duration::from_secs(seconds))
            .map_err(|_| DocsError::SourceDate(value)),
        Err(_) => Ok(SystemTime::now()),
    }
}

/// What the documentation is about and when it was made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stamp {
    /// When it was generated ([`timestamp`]).
    pub generated: String,
    /// The cw-conform version that generated it.
    pub version: String,
    /// The integration it documents, when named.
    pub integration: Option<String>,
}

/// What to document.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    /// Feature files or folders; empty documents the built-in features.
    pub features: Vec<PathBuf>,
    /// Run reports (`cw-conform run --format json`); for each scenario the latest counts.
    pub results: Vec<PathBuf>,
    /// The roles of the matrix; empty means every shipped profile.
    pub roles: Vec<SecurityRole>,
    /// The integration's name, when given (otherwise the latest report's, if it names one).
    pub integration: Option<String>,
}

/// One rule with the scenarios that check it.
#[derive(Debug, Clone)]
pub struct RuleDoc {
    /// The rule from the catalog.
    pub rule: Rule,
    /// Indexes into [`Documentation::scenarios`], in feature order.
    pub scenarios: Vec<usize>,
    /// The rule's verdict in the latest report that checked it (`conforms`, `fails`).
    pub verdict: Option<String>,
    /// What the section of the source document the rule cites says, in the project's
    /// words (Markdown: paragraphs and tables).
    pub source_summary: Option<String>,
}

/// The whole site's content.
#[derive(Debug, Clone)]
pub struct Documentation {
    /// Date, version, integration.
    pub stamp: Stamp,
    /// Every rule of the catalog, in rulebook order.
    pub rules: Vec<RuleDoc>,
    /// Every scenario of the features, in feature order.
    pub scenarios: Vec<ScenarioDoc>,
    /// Indexes of the scenarios whose tags name no rule of the catalog.
    pub unruled: Vec<usize>,
    /// The run reports read, oldest first.
    pub reports: Vec<RunReport>,
    /// Results in the reports of scenarios these features do not have.
    pub unmatched: Vec<ScenarioRun>,
    /// The roles of the matrix.
    pub roles: Vec<SecurityRole>,
}

impl Documentation {
    /// Reads the features and the run reports, and puts the site's content together.
    pub fn gather(
        fixtures: &Fixtures,
        sources: Sources,
        generated: SystemTime,
    ) -> Result<Documentation, DocsError> {
        let mut scenarios = scenarios::read(&sources.features)?;
        let mut reports = sources
            .results
            .iter()
            .map(|path| RunReport::read(path))
            .collect::<Result<Vec<_>, _>>()?;
        reports.sort_by_key(|report| report.date);
        let unmatched = results::attach(&mut scenarios, &reports);
        let rules = fixtures
            .rules
            .iter()
            .map(|rule| RuleDoc {
                rule: rule.clone(),
                scenarios: scenarios
                    .iter()
                    .enumerate()
                    .filter(|(_, s)| s.rules().contains(&rule.id))
                    .map(|(index, _)| index)
                    .collect(),
                verdict: results::rule_verdict(&reports, &rule.id),
                source_summary: fixtures
                    .sources
                    .section(&rule.source, &rule.section)
                    .map(|section| section.summary.clone()),
            })
            .collect();
        let known: BTreeSet<&RuleId> = fixtures.rules.iter().map(|rule| &rule.id).collect();
        let unruled = scenarios
            .iter()
            .enumerate()
            .filter(|(_, s)| s.rules().iter().all(|id| !known.contains(id)))
            .map(|(index, _)| index)
            .collect();
        let integration = sources.integration.or_else(|| {
            reports
                .iter()
                .rev()
                .find_map(|report| report.integration.clone())
        });
        let columns = if sources.roles.is_empty() {
            fixtures.roles.values().cloned().collect()
        } else {
            sources.roles
        };
        Ok(Documentation {
            stamp: Stamp {
                generated: timestamp(generated),
                version: env!("CARGO_PKG_VERSION").to_owned(),
                integration,
            },
            rules,
            scenarios,
            unruled,
            reports,
            unmatched,
            roles: columns,
        })
    }

    /// The rule families in rulebook order, each with its rules (`SD`: SD-01, SD-02, …).
    pub fn families(&self) -> Vec<(&str, Vec<&RuleDoc>)> {
        let mut families: Vec<(&str, Vec<&RuleDoc>)> = Vec::new();
        for doc in &self.rules {
            let family = doc
                .rule
                .id
                .as_str()
                .split_once('-')
                .map_or(doc.rule.id.as_str(), |(family, _)| family);
            match families.last_mut() {
                Some((last, docs)) if *last == family => docs.push(doc),
                _ => families.push((family, vec![doc])),
            }
        }
        families
    }

    /// How many rules have each verdict in the reports: conforms, fails, not checked.
    pub fn rule_tally(&self) -> (usize, usize, usize) {
        let conforms = self
            .rules
            .iter()
            .filter(|r| r.verdict.as_deref() == Some("conforms"))
            .count();
        let fails = self
            .rules
            .iter()
            .filter(|r| r.verdict.as_deref() == Some("fails"))
            .count();
        (conforms, fails, self.rules.len() - conforms - fails)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_timestamp_reads_as_a_date_and_time_in_utc() {
        let time = UNIX_EPOCH + Duration::from_secs(1_764_316_800);
        assert_eq!(timestamp(time), "2025-11-28 08:00:00 UTC");
    }

    /// The lines of a Markdown text outside its fenced code blocks (CommonMark: a fence of
    /// N backticks is closed by a line of at least N backticks alone).
    fn prose(markdown: &str) -> Vec<&str> {
        let mut open: Option<usize> = None;
        let ticks = |line: &str| line.trim().chars().take_while(|c| *c == '`').count();
        markdown
            .lines()
            .filter(|line| match open {
                Some(n) => {
                    if ticks(line) >= n && line.trim().chars().all(|c| c == '`') {
                        open = None;
                    }
                    false
                }
                None if ticks(line) >= 3 => {
                    open = Some(ticks(line));
                    false
                }
                None => true,
            })
            .collect()
    }

    #[test]
    fn hostile_text_in_features_and_reports_is_shown_as_text() {
        let dir = crate::scratch::Scratch::new("docs-hostile");
        let feature = dir.join("hostile.feature");
        std::fs::write(
            &feature,
            "@SD-01 @<script>x</script>\nFeature: <script>alert(1)</script>\n\n  Scenario: <img src=x onerror=alert(2)> | ```\n    Given an API member with the role \"<script>alert(3)</script>\"\n    Then the outcome is allowed\n      \"\"\"\n      ``` <script>alert(4)</script>\n      \"\"\"\n",
        )
        .unwrap();
        let report = dir.join("run.json");
        std::fs::write(
            &report,
            serde_json::json!({
                "integration": "<script>alert(5)</script>",
                "scenarios": [{
                    "feature": feature.display().to_string(), "line": 4,
                    "name": "<img src=x onerror=alert(2)> | ```",
                    "failure": "expected <b>denied</b>\n<script>alert(6)</script>",
                    "requests": [{"method": "GET", "path": "/<script>", "query": "a=%3Cscript%3E", "status": 200}]
                }]
            })
            .to_string(),
        )
        .unwrap();
        let fixtures = Fixtures::builtin().unwrap();
        let sources = Sources {
            features: vec![feature],
            results: vec![report],
            ..Sources::default()
        };
        let docs = Documentation::gather(fixtures, sources, UNIX_EPOCH).unwrap();
        assert!(docs.scenarios[0].run.as_ref().unwrap().result.is_some());
        for (name, page) in html::pages(&docs, fixtures) {
            assert!(!page.contains("<script"), "{name} has a script");
            assert!(!page.contains("<img"), "{name} has an image");
            assert!(!page.contains("<b>"), "{name} has markup from a report");
        }
        assert!(
            html::pages(&docs, fixtures)[1]
                .1
                .contains("&lt;img src=x onerror=alert(2)&gt;")
        );
        for (name, page) in markdown::pages(&docs, fixtures) {
            for line in prose(&page) {
                // Code spans show their text as it is.
                let text: String = line.split('`').step_by(2).collect();
                assert!(!text.contains("<script"), "{name}: {line}");
                assert!(!text.contains("<img"), "{name}: {line}");
            }
        }
    }

    #[test]
    fn the_builtin_features_document_every_rule() {
        let fixtures = Fixtures::builtin().unwrap();
        let docs = Documentation::gather(fixtures, Sources::default(), UNIX_EPOCH).unwrap();
        assert_eq!(docs.rules.len(), fixtures.rules.len());
        let bare: Vec<&str> = docs
            .rules
            .iter()
            .filter(|r| r.scenarios.is_empty())
            .map(|r| r.rule.id.as_str())
            .collect();
        assert!(bare.is_empty(), "rules without a scenario: {bare:?}");
        assert!(docs.unruled.is_empty());
        assert_eq!(docs.stamp.generated, "1970-01-01 00:00:00 UTC");
        assert_eq!(docs.stamp.integration, None);
        let families: Vec<&str> = docs.families().iter().map(|(f, _)| *f).collect();
        assert_eq!(
            families,
            ["LP", "OV", "RD", "SD", "ST", "PS", "SAFE", "TS", "CL"]
        );
    }

    /// Every rule's page shows what the section it cites says, its table as a table, in
    /// HTML and in Markdown.
    #[test]
    fn every_rule_shows_what_its_source_section_says() {
        let fixtures = Fixtures::builtin().unwrap();
        let docs = Documentation::gather(fixtures, Sources::default(), UNIX_EPOCH).unwrap();
        let html = &html::pages(&docs, fixtures)[1].1;
        let markdown = &markdown::pages(&docs, fixtures)[1].1;
        for doc in &docs.rules {
            let summary = doc.source_summary.as_deref().unwrap();
            let start = html
                .find(&format!(
                    "id=\"{}\"",
                    doc.rule.id.as_str().to_ascii_lowercase()
                ))
                .unwrap();
            let section = &html[start..start + html[start..].find("</section>").unwrap()];
            assert!(
                section.contains("<summary>What the section says</summary>"),
                "{}",
                doc.rule.id
            );
            let first_words: String = summary
                .split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ");
            assert!(
                section.contains(&first_words),
                "{}: {first_words}",
                doc.rule.id
            );
            assert!(
                markdown.contains(&format!("> {}", summary.lines().next().unwrap())),
                "{}",
                doc.rule.id
            );
        }
        let table = html::summary_html("Levels:\n\n| a | `b` |\n|---|---|\n| <x> | All |");
        assert_eq!(
            table,
            "<p>Levels:</p>\n<table class=\"data\">\n<tr><th>a</th><th><code>b</code></th></tr>\n<tr><td>&lt;x&gt;</td><td>All</td></tr>\n</table>\n"
        );
    }
}
