//! The site in HTML: `index.html` (what it documents, the runs, every rule at a glance),
//! `rules.html` (each rule with its scenarios and their verdicts) and `matrix.html` (the
//! expected outcome of every action under every role). Each page is standalone: its
//! stylesheet is inlined and it needs no script. Every text taken from a feature or a
//! report is escaped.

use std::fmt::Write as _;

use super::results::{RequestRecord, ScenarioRun, Verdict};
use super::scenarios::{Instance, ScenarioDoc, StepDoc};
use super::{Documentation, RuleDoc, timestamp};
use crate::fixtures::Fixtures;
use crate::model::RuleId;
use crate::report::matrix::{self, escape_html as esc};

/// The pages of the site: file name and content.
pub fn pages(docs: &Documentation, fixtures: &Fixtures) -> Vec<(&'static str, String)> {
    vec![
        ("index.html", index(docs)),
        ("rules.html", rules(docs)),
        ("matrix.html", matrix_page(docs, fixtures)),
    ]
}

const PAGES: [(&str, &str); 3] = [
    ("index.html", "Overview"),
    ("rules.html", "Rules and scenarios"),
    ("matrix.html", "Outcome matrix"),
];

fn shell(docs: &Documentation, title: &str, current: &str, body: &str) -> String {
    let mut out = format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"generator\" content=\"cw-conform {}\">\n\
         <title>{} · cw-conform</title>\n<style>\n{}{}</style>\n</head>\n<body>\n\
         <header class=\"site\">\n<p class=\"title\">Expected behaviour of an AI integration with ConnectWise PSA</p>\n",
        esc(&docs.stamp.version),
        esc(title),
        super::BASE_STYLE,
        matrix::STYLE
    );
    let _ = writeln!(
        out,
        "<p class=\"meta\">Integration: <strong>{}</strong> · generated {} by cw-conform {}{}</p>",
        esc(docs.stamp.integration.as_deref().unwrap_or("not named")),
        esc(&docs.stamp.generated),
        esc(&docs.stamp.version),
        latest_run(docs).map_or_else(String::new, |date| format!(
            " · results of the run of {}",
            esc(&date)
        ))
    );
    out.push_str("<nav class=\"pages\" aria-label=\"Pages\">");
    for (file, name) in PAGES {
        let current = if file == current {
            " aria-current=\"page\""
        } else {
            ""
        };
        let _ = write!(out, "<a href=\"{file}\"{current}>{name}</a>");
    }
    out.push_str("</nav>\n</header>\n");
    out.push_str(body);
    let _ = writeln!(
        out,
        "<footer class=\"site\">Generated {} by cw-conform {} (<code>cw-conform docs</code>).</footer>\n</body>\n</html>",
        esc(&docs.stamp.generated),
        esc(&docs.stamp.version)
    );
    out
}

fn latest_run(docs: &Documentation) -> Option<String> {
    docs.reports.last().map(|report| timestamp(report.date))
}

fn verdict_badge(word: &str) -> String {
    format!(
        "<span class=\"verdict {}\">{}</span>",
        word.replace(' ', "-"),
        esc(word)
    )
}

fn rule_link(id: &RuleId) -> String {
    format!("rules.html#{}", id.as_str().to_ascii_lowercase())
}

// ---------------------------------------------------------------------------------------
// index.html

fn index(docs: &Documentation) -> String {
    let mut body = String::from("<main class=\"page\">\n<h1>Overview</h1>\n");
    body.push_str(
        "<p class=\"lead\">An AI assistant reaches ConnectWise PSA through a dedicated API member, whose \
         security role decides what it may read or change; the integration itself blocks some actions and \
         holds others for a person to confirm, whatever the role grants. This site lists the rules that say \
         so, each with its source, the scenarios that check it in plain language, and the outcome every \
         action should have under each role.</p>\n",
    );
    let runs: usize = docs.scenarios.iter().map(|s| s.instances().count()).sum();
    body.push_str("<div class=\"cards\">\n");
    let mut card = |number: String, what: &str| {
        let _ = writeln!(
            body,
            "<div class=\"card\"><div class=\"number\">{number}</div><div class=\"what\">{what}</div></div>"
        );
    };
    card(docs.rules.len().to_string(), "rules");
    card(
        docs.scenarios.len().to_string(),
        &format!("scenarios ({runs} with the rows of their examples)"),
    );
    card(docs.roles.len().to_string(), "roles in the matrix");
    if !docs.reports.is_empty() {
        let (conforms, fails, unchecked) = docs.rule_tally();
        card(conforms.to_string(), "rules conform");
        card(fails.to_string(), "rules fail");
        card(unchecked.to_string(), "rules not checked");
    }
    body.push_str("</div>\n");
    if !docs.reports.is_empty() {
        body.push_str(
            "<h2>Runs</h2>\n<p>For each scenario, the documentation shows its result in the latest of these runs.</p>\n\
             <table class=\"summary\">\n<thead><tr><th>report</th><th>date</th><th>cw-conform</th><th>integration</th><th>result</th><th>scenarios</th></tr></thead>\n<tbody>\n",
        );
        for report in &docs.reports {
            let date = if report.dated_by_report {
                timestamp(report.date)
            } else {
                format!("{} (when the report was written)", timestamp(report.date))
            };
            let result = match report.conforms {
                Some(true) => verdict_badge("conforms"),
                Some(false) => verdict_badge("fails"),
                None => "—".to_owned(),
            };
            let totals = report.totals.map_or_else(
                || "—".to_owned(),
                |(all, passed, failed)| format!("{all} ({passed} passed, {failed} failed)"),
            );
            let _ = writeln!(
                body,
                "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{result}</td><td>{totals}</td></tr>",
                esc(&report.path.display().to_string()),
                esc(&date),
                esc(report.version.as_deref().unwrap_or("not recorded")),
                esc(report.integration.as_deref().unwrap_or("not named")),
            );
        }
        body.push_str("</tbody>\n</table>\n");
    }
    body.push_str(
        "<h2>Rules</h2>\n<table class=\"summary\">\n<thead><tr><th>rule</th><th>statement</th><th>source</th><th>scenarios</th>",
    );
    if !docs.reports.is_empty() {
        body.push_str("<th>verdict</th>");
    }
    body.push_str("</tr></thead>\n<tbody>\n");
    for doc in &docs.rules {
        let _ = write!(
            body,
            "<tr><td><a class=\"mono\" href=\"{}\">{}</a></td><td>{}</td><td>{}, § {}</td><td>{}</td>",
            rule_link(&doc.rule.id),
            esc(doc.rule.id.as_str()),
            esc(&doc.rule.summary),
            esc(&doc.rule.source),
            esc(&doc.rule.section),
            doc.scenarios.len()
        );
        if !docs.reports.is_empty() {
            let _ = write!(
                body,
                "<td>{}</td>",
                verdict_badge(doc.verdict.as_deref().unwrap_or("not checked"))
            );
        }
        body.push_str("</tr>\n");
    }
    body.push_str("</tbody>\n</table>\n");
    if !docs.unmatched.is_empty() {
        let _ = writeln!(
            body,
            "<h2>Results of scenarios not in these features</h2>\n<p>The reports have results for {} \
             scenarios these features do not have (document the same features the run ran: \
             <code>cw-conform docs --features …</code>).</p>\n<ul class=\"runlist\">",
            docs.unmatched.len()
        );
        for run in &docs.unmatched {
            let _ = writeln!(
                body,
                "<li>{} <code>{}:{}</code> {}</li>",
                verdict_badge(run.verdict.word()),
                esc(&run.feature),
                run.line,
                esc(&run.name)
            );
        }
        body.push_str("</ul>\n");
    }
    body.push_str("</main>\n");
    shell(docs, "Overview", "index.html", &body)
}

// ---------------------------------------------------------------------------------------
// rules.html

fn rules(docs: &Documentation) -> String {
    let mut body =
        String::from("<div class=\"layout\">\n<nav class=\"toc\" aria-label=\"Rules\">\n");
    for (family, members) in docs.families() {
        let _ = writeln!(body, "<h2>{}</h2>\n<ul>", esc(family));
        for doc in members {
            let dot = match doc.verdict.as_deref() {
                Some(verdict @ ("conforms" | "fails")) => {
                    format!("<span class=\"dot {verdict}\" title=\"{verdict}\"></span>")
                }
                _ => String::new(),
            };
            let _ = writeln!(
                body,
                "<li><a href=\"#{}\"><span class=\"id\">{}</span>{dot}</a></li>",
                doc.rule.id.as_str().to_ascii_lowercase(),
                esc(doc.rule.id.as_str())
            );
        }
        body.push_str("</ul>\n");
    }
    if !docs.unruled.is_empty() {
        body.push_str("<h2>Other</h2>\n<ul><li><a href=\"#no-rule\">Scenarios that check no rule</a></li></ul>\n");
    }
    body.push_str("</nav>\n<main>\n<h1>Rules and the scenarios that check them</h1>\n");
    body.push_str(
        "<p class=\"lead\">Each rule in the project's words, with the document and section it comes from, and \
         the scenarios that check it as their features state them. A scenario outline runs once per row of \
         its examples.</p>\n",
    );
    body.push_str(&legend(docs));
    for doc in &docs.rules {
        body.push_str(&rule_section(docs, doc));
    }
    if !docs.unruled.is_empty() {
        body.push_str(
            "<section class=\"rule\" id=\"no-rule\">\n<h2>Scenarios that check no rule</h2>\n\
             <p class=\"source\">Their tags name no rule of the catalog (<code>cw-conform rules</code> lists them).</p>\n",
        );
        for &index in &docs.unruled {
            body.push_str(&scenario(docs, &docs.scenarios[index], None));
        }
        body.push_str("</section>\n");
    }
    body.push_str("</main>\n</div>\n");
    shell(docs, "Rules and scenarios", "rules.html", &body)
}

fn legend(docs: &Documentation) -> String {
    let mut out = String::from("<h2 id=\"legend\">Legend</h2>\n");
    if !docs.reports.is_empty() {
        out.push_str("<dl class=\"legend\">\n");
        for (word, meaning) in Verdict::LEGEND {
            let _ = writeln!(
                out,
                "<div><dt>{}</dt><dd>{}</dd></div>",
                verdict_badge(word),
                esc(meaning)
            );
        }
        out.push_str("</dl>\n");
    }
    out.push_str("<p>The outcomes a scenario expects, and the matrix shows:</p>\n");
    out.push_str(&matrix::html_legend());
    out
}

/// A source section's summary as HTML: its paragraphs, and its tables (`| a | b |` lines,
/// the first a header, the `|---|` line skipped), every text escaped; `code` spans kept.
pub fn summary_html(summary: &str) -> String {
    let inline = |text: &str| -> String {
        // Backticks pair up into code spans; an odd one out stays as it is.
        let parts: Vec<&str> = text.split('`').collect();
        if parts.len().is_multiple_of(2) {
            return esc(text);
        }
        parts
            .iter()
            .enumerate()
            .map(|(i, part)| {
                if i % 2 == 1 {
                    format!("<code>{}</code>", esc(part))
                } else {
                    esc(part)
                }
            })
            .collect()
    };
    let cells = |line: &str| -> Vec<String> {
        line.trim()
            .trim_matches('|')
            .split('|')
            .map(|c| inline(c.trim()))
            .collect()
    };
    let mut out = String::new();
    for block in summary
        .split("\n\n")
        .map(str::trim)
        .filter(|b| !b.is_empty())
    {
        let lines: Vec<&str> = block.lines().collect();
        if lines.iter().all(|l| l.trim_start().starts_with('|')) {
            out.push_str("<table class=\"data\">\n");
            for (index, line) in lines.iter().enumerate() {
                if line.replace(['|', '-', ' ', ':'], "").is_empty() {
                    continue;
                }
                let tag = if index == 0 { "th" } else { "td" };
                out.push_str("<tr>");
                for cell in cells(line) {
                    let _ = write!(out, "<{tag}>{cell}</{tag}>");
                }
                out.push_str("</tr>\n");
            }
            out.push_str("</table>\n");
        } else {
            let _ = writeln!(out, "<p>{}</p>", inline(&lines.join(" ")));
        }
    }
    out
}

fn rule_section(docs: &Documentation, doc: &RuleDoc) -> String {
    let id = &doc.rule.id;
    let mut out = format!(
        "<section class=\"rule\" id=\"{}\">\n<h2><span class=\"rule-id\"><a href=\"#{}\">{}</a></span>{}</h2>\n",
        id.as_str().to_ascii_lowercase(),
        id.as_str().to_ascii_lowercase(),
        esc(id.as_str()),
        esc(&doc.rule.summary)
    );
    let verdict = if docs.reports.is_empty() {
        String::new()
    } else {
        format!(
            " · {}",
            verdict_badge(doc.verdict.as_deref().unwrap_or("not checked"))
        )
    };
    let _ = writeln!(
        out,
        "<p class=\"source\">Source: {}, section “{}” · {}{verdict}</p>",
        esc(&doc.rule.source),
        esc(&doc.rule.section),
        crate::report::count(doc.scenarios.len(), "scenario", "scenarios")
    );
    if let Some(summary) = &doc.source_summary {
        let _ = writeln!(
            out,
            "<details class=\"source-text\"><summary>What the section says</summary>\n{}</details>",
            summary_html(summary)
        );
    }
    if doc.scenarios.is_empty() {
        out.push_str("<p class=\"none\">No scenario of these features checks this rule.</p>\n");
    }
    for &index in &doc.scenarios {
        out.push_str(&scenario(docs, &docs.scenarios[index], Some(id)));
    }
    out.push_str("</section>\n");
    out
}

/// The verdict of a scenario over its runs: `failed · 2 of 5 rows`.
fn scenario_verdict(runs: &[&Instance]) -> String {
    let count = |word: &str| {
        runs.iter()
            .filter(|i| i.result.as_ref().map(|r| r.verdict.word()) == Some(word))
            .count()
    };
    let (errors, failed, passed, left_out) = (
        count("feature error"),
        count("failed"),
        count("passed"),
        count("left out"),
    );
    let word = if errors > 0 {
        "feature error"
    } else if failed > 0 {
        "failed"
    } else if passed > 0 {
        "passed"
    } else if left_out > 0 {
        "left out"
    } else {
        "not run"
    };
    let how_many = match word {
        "feature error" => errors,
        "failed" => failed,
        "passed" => passed,
        "left out" => left_out,
        _ => runs.len() - errors - failed - passed - left_out,
    };
    let badge = verdict_badge(word);
    if runs.len() > 1 && how_many < runs.len() {
        format!(
            "{badge} <span class=\"where\">{how_many} of {} rows</span>",
            runs.len()
        )
    } else {
        badge
    }
}

fn scenario(docs: &Documentation, doc: &ScenarioDoc, rule: Option<&RuleId>) -> String {
    let examples: Vec<_> = match rule {
        Some(rule) => doc.examples_for(rule).collect(),
        None => doc.examples.iter().collect(),
    };
    let runs: Vec<&Instance> = doc
        .run
        .iter()
        .chain(examples.iter().flat_map(|e| e.rows.iter().map(|r| &r.run)))
        .collect();
    let with_results = !docs.reports.is_empty();
    let mut out = format!(
        "<article class=\"scenario\" id=\"{}\">\n<h3><span>{}: {}</span>{}</h3>\n",
        doc.anchor(rule),
        esc(&doc.keyword),
        esc(&doc.name),
        if with_results {
            scenario_verdict(&runs)
        } else {
            String::new()
        }
    );
    let _ = writeln!(
        out,
        "<p class=\"where\">{} · <code>{}:{}</code>{}</p>",
        esc(&doc.feature_name),
        esc(&doc.feature),
        doc.line,
        doc.rule_block
            .as_ref()
            .map_or_else(String::new, |r| format!(" · Rule: {}", esc(r)))
    );
    if let Some(description) = &doc.description {
        let _ = writeln!(out, "<p class=\"description\">{}</p>", esc(description));
    }
    out.push_str("<ol class=\"steps\">\n");
    for step in &doc.background {
        out.push_str(&step_item(step, true));
    }
    for step in &doc.steps {
        out.push_str(&step_item(step, false));
    }
    out.push_str("</ol>\n");
    for block in &examples {
        let title = if block.name.is_empty() {
            block.keyword.clone()
        } else {
            format!("{}: {}", block.keyword, block.name)
        };
        let _ = writeln!(
            out,
            "<p class=\"label\">{}</p>\n<table class=\"data examples\"><thead><tr>",
            esc(&title)
        );
        for cell in &block.header {
            let _ = write!(out, "<th>{}</th>", esc(cell));
        }
        if with_results {
            out.push_str("<th>verdict</th>");
        }
        out.push_str("</tr></thead><tbody>\n");
        for row in &block.rows {
            out.push_str("<tr>");
            for cell in &row.cells {
                let _ = write!(out, "<td>{}</td>", esc(cell));
            }
            if with_results {
                let word = row
                    .run
                    .result
                    .as_ref()
                    .map_or("not run", |r| r.verdict.word());
                let _ = write!(out, "<td>{}</td>", verdict_badge(word));
            }
            out.push_str("</tr>\n");
        }
        out.push_str("</tbody></table>\n");
    }
    let outline = !examples.is_empty();
    for (index, instance) in runs.iter().enumerate() {
        if let Some(result) = &instance.result {
            out.push_str(&evidence(
                docs,
                instance,
                result,
                outline.then_some(index + 1),
            ));
        }
    }
    let tags: Vec<String> = doc
        .tags
        .iter()
        .map(|tag| {
            let class = if RuleId::from_tag(tag).is_some() {
                "tag rule-tag"
            } else {
                "tag"
            };
            format!("<span class=\"{class}\">@{}</span>", esc(tag))
        })
        .collect();
    if !tags.is_empty() {
        let _ = writeln!(out, "<p class=\"tags\">{}</p>", tags.join(""));
    }
    out.push_str("</article>\n");
    out
}

fn step_item(step: &StepDoc, background: bool) -> String {
    let mut out = format!(
        "<li{}><span class=\"kw\">{}</span>{}",
        if background {
            " class=\"background\""
        } else {
            ""
        },
        esc(&step.keyword),
        esc(&step.text)
    );
    // A step's table has no header row in Gherkin (`with:` tables are field and value),
    // so every row is shown alike.
    if !step.table.is_empty() {
        out.push_str("<table class=\"data\"><tbody>");
        for row in &step.table {
            out.push_str("<tr>");
            for cell in row {
                let _ = write!(out, "<td>{}</td>", esc(cell));
            }
            out.push_str("</tr>");
        }
        out.push_str("</tbody></table>");
    }
    if let Some(docstring) = &step.docstring {
        let _ = write!(out, "<pre>{}</pre>", esc(docstring));
    }
    out.push_str("</li>\n");
    out
}

/// `GET /company/companies?conditions=identifier = "Acme"`.
pub(super) fn request_line(request: &RequestRecord) -> String {
    let query: Vec<String> = url::form_urlencoded::parse(request.query.as_bytes())
        .map(|(key, value)| format!("{key}={value}"))
        .collect();
    if query.is_empty() {
        format!("{} {}", request.method, request.path)
    } else {
        format!("{} {}?{}", request.method, request.path, query.join("&"))
    }
}

/// The evidence of one run; `row` numbers an outline's rows (from 1).
fn evidence(
    docs: &Documentation,
    instance: &Instance,
    run: &ScenarioRun,
    row: Option<usize>,
) -> String {
    let word = run.verdict.word();
    let which = row.map_or_else(String::new, |n| format!(", row {n}"));
    let observed = run
        .outcome
        .as_ref()
        .map_or_else(String::new, |o| format!(", observed outcome {}", esc(o)));
    let mut out = format!(
        "<details class=\"evidence\"{}><summary>Evidence{which}: {word}{observed}, {}</summary>\n",
        if matches!(run.verdict, Verdict::Passed) {
            ""
        } else {
            " open"
        },
        crate::report::count(run.requests.len(), "request", "requests")
    );
    if row.is_some() {
        let _ = writeln!(out, "<p class=\"where\">{}</p>", esc(&instance.name));
    }
    if docs.reports.len() > 1
        && let Some(report) = docs.reports.get(run.report)
    {
        let _ = writeln!(
            out,
            "<p class=\"where\">From <code>{}</code>, the run of {}.</p>",
            esc(&report.path.display().to_string()),
            esc(&timestamp(report.date))
        );
    }
    match &run.verdict {
        Verdict::Passed => {}
        Verdict::Failed(why) | Verdict::FeatureError(why) | Verdict::LeftOut(why) => {
            let _ = writeln!(out, "<pre class=\"failure\">{}</pre>", esc(why));
        }
    }
    if !run.steps.is_empty() {
        out.push_str(
            "<table class=\"data\"><thead><tr><th>step</th><th>status</th></tr></thead><tbody>",
        );
        for step in &run.steps {
            let _ = write!(
                out,
                "<tr><td>{}</td><td class=\"{}\">{}</td></tr>",
                esc(&step.text),
                esc(&step.status),
                esc(&step.status)
            );
        }
        out.push_str("</tbody></table>\n");
    }
    if !run.requests.is_empty() {
        out.push_str("<table class=\"data\"><thead><tr><th>request ConnectWise received</th><th>status</th></tr></thead><tbody>");
        for request in &run.requests {
            let _ = write!(
                out,
                "<tr><td><code>{}</code></td><td>{}</td></tr>",
                esc(&request_line(request)),
                request.status
            );
        }
        out.push_str("</tbody></table>\n");
    }
    out.push_str("</details>\n");
    out
}

// ---------------------------------------------------------------------------------------
// matrix.html

fn matrix_page(docs: &Documentation, fixtures: &Fixtures) -> String {
    let mut body = String::from(
        "<main class=\"wide\">\n<h1>Expected outcome of each action under each role</h1>\n\
         <p class=\"lead\">What the documents say each action of the catalog gives under each role: the \
         outcome, the rule of the integration's policy that decides it, and the permission ConnectWise \
         checks. The header stays in view while the rows scroll.</p>\n<h2>Roles</h2>\n<table class=\"summary\"><tbody>\n",
    );
    for role in &docs.roles {
        let _ = writeln!(
            body,
            "<tr><th><code>{}</code></th><td>{}</td></tr>",
            esc(&role.name),
            esc(&role.summary)
        );
    }
    body.push_str("</tbody></table>\n<h2 id=\"legend\">Legend</h2>\n");
    body.push_str(&matrix::html_legend());
    body.push_str(&matrix::html_table(fixtures, &docs.roles));
    body.push_str("</main>\n");
    shell(docs, "Outcome matrix", "matrix.html", &body)
}
