//! The site in Markdown, for a wiki or a repository: `index.md`, `rules.md` and
//! `matrix.md`, the same content as the HTML pages. Scenarios are shown as Gherkin in
//! fenced blocks; every other text from a feature or a report is escaped, so no HTML in
//! it reaches a renderer.

use std::fmt::Write as _;

use super::results::Verdict;
use super::scenarios::{ScenarioDoc, StepDoc};
use super::{Documentation, timestamp};
use crate::fixtures::Fixtures;
use crate::model::{Outcome, RuleId};
use crate::report::matrix;

/// The Markdown files of the site: file name and content.
pub fn pages(docs: &Documentation, fixtures: &Fixtures) -> Vec<(&'static str, String)> {
    vec![
        ("index.md", index(docs)),
        ("rules.md", rules(docs)),
        ("matrix.md", matrix::markdown(fixtures, &docs.roles)),
    ]
}

/// Text safe inside a code span (entities are not read there, so only backticks matter).
fn code(text: &str) -> String {
    text.replace('`', "'").replace(['\n', '\r'], " ")
}

/// Text safe in Markdown prose and table cells: no HTML, no cell break.
fn md(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('|', "\\|")
        .replace(['\n', '\r'], " ")
}

fn stamp(docs: &Documentation) -> String {
    let mut out = format!(
        "Integration: **{}** · generated {} by cw-conform {}",
        md(docs.stamp.integration.as_deref().unwrap_or("not named")),
        docs.stamp.generated,
        md(&docs.stamp.version)
    );
    if let Some(report) = docs.reports.last() {
        let _ = write!(out, " · results of the run of {}", timestamp(report.date));
    }
    out.push_str("\n\n");
    out
}

fn index(docs: &Documentation) -> String {
    let mut out =
        String::from("# Expected behaviour of an AI integration with ConnectWise PSA\n\n");
    out.push_str(&stamp(docs));
    out.push_str(
        "Pages: [rules and scenarios](rules.md) · [expected-outcome matrix](matrix.md)\n\n",
    );
    if !docs.reports.is_empty() {
        out.push_str("## Runs\n\n| report | date | cw-conform | integration | result | scenarios |\n|---|---|---|---|---|---|\n");
        for report in &docs.reports {
            let date = if report.dated_by_report {
                timestamp(report.date)
            } else {
                format!("{} (when the report was written)", timestamp(report.date))
            };
            let result = match report.conforms {
                Some(true) => "conforms",
                Some(false) => "fails",
                None => "—",
            };
            let totals = report.totals.map_or_else(
                || "—".to_owned(),
                |(all, passed, failed)| format!("{all} ({passed} passed, {failed} failed)"),
            );
            let _ = writeln!(
                out,
                "| `{}` | {date} | {} | {} | {result} | {totals} |",
                code(&report.path.display().to_string()).replace('|', "\\|"),
                md(report.version.as_deref().unwrap_or("not recorded")),
                md(report.integration.as_deref().unwrap_or("not named")),
            );
        }
        out.push('\n');
    }
    out.push_str("## Rules\n\n| rule | statement | source | scenarios |");
    let with_results = !docs.reports.is_empty();
    out.push_str(if with_results {
        " verdict |\n|---|---|---|---|---|\n"
    } else {
        "\n|---|---|---|---|\n"
    });
    for doc in &docs.rules {
        let _ = write!(
            out,
            "| [{}](rules.md#{}) | {} | {}, § {} | {} |",
            doc.rule.id,
            doc.rule.id.as_str().to_ascii_lowercase(),
            md(&doc.rule.summary),
            md(&doc.rule.source),
            md(&doc.rule.section),
            doc.scenarios.len()
        );
        if with_results {
            let _ = write!(
                out,
                " {} |",
                doc.verdict.as_deref().unwrap_or("not checked")
            );
        }
        out.push('\n');
    }
    if !docs.unmatched.is_empty() {
        out.push_str("\n## Results of scenarios not in these features\n\n");
        for run in &docs.unmatched {
            let _ = writeln!(
                out,
                "- {}: `{}:{}` {}",
                run.verdict.word(),
                code(&run.feature),
                run.line,
                md(&run.name)
            );
        }
    }
    out
}

fn rules(docs: &Documentation) -> String {
    let mut out = String::from("# Rules and the scenarios that check them\n\n");
    out.push_str(&stamp(docs));
    out.push_str("## Legend\n\n");
    if !docs.reports.is_empty() {
        for (word, meaning) in Verdict::LEGEND {
            let _ = writeln!(out, "- **{word}**: {meaning}");
        }
    }
    for outcome in Outcome::ALL {
        let _ = writeln!(out, "- outcome **{outcome}**: {}", outcome.meaning());
    }
    out.push('\n');
    for doc in &docs.rules {
        let _ = writeln!(
            out,
            "## {}\n\n{}\n\nSource: {}, section “{}”{}\n",
            doc.rule.id,
            md(&doc.rule.summary),
            md(&doc.rule.source),
            md(&doc.rule.section),
            if docs.reports.is_empty() {
                String::new()
            } else {
                format!(
                    " · verdict: **{}**",
                    doc.verdict.as_deref().unwrap_or("not checked")
                )
            }
        );
        if let Some(summary) = &doc.source_summary {
            out.push_str("What the section says (in this project's words):\n\n");
            for line in summary.lines() {
                let _ = writeln!(out, "> {line}");
            }
            out.push('\n');
        }
        if doc.scenarios.is_empty() {
            out.push_str("No scenario of these features checks this rule.\n\n");
        }
        for &index in &doc.scenarios {
            out.push_str(&scenario(docs, &docs.scenarios[index], Some(&doc.rule.id)));
        }
    }
    if !docs.unruled.is_empty() {
        out.push_str("## Scenarios that check no rule\n\n");
        for &index in &docs.unruled {
            out.push_str(&scenario(docs, &docs.scenarios[index], None));
        }
    }
    out
}

/// A code fence longer than any run of backticks in `text`, so nothing in it closes the
/// block early.
fn fence_for(text: &str) -> String {
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    "`".repeat(longest.max(2) + 1)
}

fn steps(out: &mut String, steps: &[StepDoc], indent: &str) {
    for step in steps {
        let _ = writeln!(out, "{indent}{} {}", step.keyword, step.text);
        for row in &step.table {
            let _ = writeln!(out, "{indent}  | {} |", row.join(" | "));
        }
        if let Some(docstring) = &step.docstring {
            let _ = writeln!(out, "{indent}  \"\"\"");
            for line in docstring.lines() {
                let _ = writeln!(out, "{indent}  {line}");
            }
            let _ = writeln!(out, "{indent}  \"\"\"");
        }
    }
}

fn scenario(docs: &Documentation, doc: &ScenarioDoc, rule: Option<&RuleId>) -> String {
    let mut gherkin = String::new();
    if !doc.background.is_empty() {
        gherkin.push_str("Background:\n");
        steps(&mut gherkin, &doc.background, "  ");
    }
    if !doc.background.is_empty() {
        gherkin.push('\n');
    }
    let _ = writeln!(gherkin, "{}: {}", doc.keyword, doc.name);
    steps(&mut gherkin, &doc.steps, "  ");
    let examples: Vec<_> = match rule {
        Some(rule) => doc.examples_for(rule).collect(),
        None => doc.examples.iter().collect(),
    };
    for block in &examples {
        let _ = writeln!(
            gherkin,
            "\n  {}:{}",
            block.keyword,
            if block.name.is_empty() {
                String::new()
            } else {
                format!(" {}", block.name)
            }
        );
        let _ = writeln!(gherkin, "    | {} |", block.header.join(" | "));
        for row in &block.rows {
            let _ = writeln!(gherkin, "    | {} |", row.cells.join(" | "));
        }
    }
    let fence = fence_for(&gherkin);
    let mut out = format!(
        "### {}\n\n{} · `{}:{}`\n\n{fence}gherkin\n{gherkin}{fence}\n\n",
        md(&doc.name),
        md(&doc.feature_name),
        code(&doc.feature),
        doc.line
    );
    if !docs.reports.is_empty() {
        let runs: Vec<_> = doc
            .run
            .iter()
            .chain(examples.iter().flat_map(|e| e.rows.iter().map(|r| &r.run)))
            .collect();
        for instance in runs {
            let Some(result) = &instance.result else {
                let _ = writeln!(out, "- not run: {}", md(&instance.name));
                continue;
            };
            let mut line = format!("- **{}**: {}", result.verdict.word(), md(&instance.name));
            if let Some(outcome) = &result.outcome {
                let _ = write!(line, " (observed outcome {})", md(outcome));
            }
            let _ = writeln!(out, "{line}");
            match &result.verdict {
                Verdict::Passed => {}
                Verdict::Failed(why) | Verdict::FeatureError(why) | Verdict::LeftOut(why) => {
                    let fence = fence_for(why);
                    let _ = writeln!(out, "\n  {fence}text");
                    for text in why.lines() {
                        let _ = writeln!(out, "  {text}");
                    }
                    let _ = writeln!(out, "  {fence}\n");
                }
            }
            for request in &result.requests {
                let _ = writeln!(
                    out,
                    "  - `{}` → {}",
                    code(&super::html::request_line(request)),
                    request.status
                );
            }
        }
        out.push('\n');
    }
    out
}
