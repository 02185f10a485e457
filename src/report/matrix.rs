//! The matrix: the expected outcome of every action under every role profile, with the
//! rule that decides each cell. Documentation people can read or publish.

use std::fmt::Write as _;

use crate::fixtures::Fixtures;
use crate::model::SecurityRole;
use crate::oracle::{self, Expectation};

fn cell(expectation: &Expectation) -> String {
    let mut text = expectation.cell();
    if let Some(rule) = &expectation.rule {
        let _ = write!(text, " ({rule})");
    }
    text
}

/// The matrix as a Markdown table.
pub fn markdown(fixtures: &Fixtures, roles: &[SecurityRole]) -> String {
    let mut out = String::from("# Expected outcome of each action under each role\n\n");
    out.push_str("Cells: the outcome the AI gets; `A → B`: held for confirmation, then B once confirmed; `(own records)`: allowed only on the member's own records (`My`); the rule that decides it in brackets.\n\n");
    let _ = writeln!(
        out,
        "| action | what the AI asks | needs | {} |",
        roles
            .iter()
            .map(|r| r.name.as_str())
            .collect::<Vec<_>>()
            .join(" | ")
    );
    let _ = writeln!(out, "|---|---|---|{}", "---|".repeat(roles.len()));
    for action in fixtures.actions.iter() {
        let needs =
            oracle::requirement(fixtures, action).map_or_else(|| "—".to_owned(), |r| r.to_string());
        let cells: Vec<String> = roles
            .iter()
            .map(|role| cell(&oracle::expect(fixtures, action, role)))
            .collect();
        let _ = writeln!(
            out,
            "| `{}` | {} | {} | {} |",
            action.name,
            action.phrase,
            needs,
            cells.join(" | ")
        );
    }
    out
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The matrix as a standalone HTML page.
pub fn html(fixtures: &Fixtures, roles: &[SecurityRole]) -> String {
    let mut out = String::from(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>cw-conform: expected outcomes</title>\n<style>body{font-family:sans-serif}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 6px;font-size:13px}td.allowed{background:#e6f4ea}td.denied{background:#fce8e6}td.blocked{background:#eee}td.escalated{background:#fef7e0}</style></head><body>\n<h1>Expected outcome of each action under each role</h1>\n<table>\n<tr><th>action</th><th>what the AI asks</th><th>needs</th>",
    );
    for role in roles {
        let _ = write!(out, "<th>{}</th>", escape(&role.name));
    }
    out.push_str("</tr>\n");
    for action in fixtures.actions.iter() {
        let needs =
            oracle::requirement(fixtures, action).map_or_else(|| "—".to_owned(), |r| r.to_string());
        let _ = write!(
            out,
            "<tr><td><code>{}</code></td><td>{}</td><td>{}</td>",
            escape(&action.name),
            escape(&action.phrase),
            escape(&needs)
        );
        for role in roles {
            let expectation = oracle::expect(fixtures, action, role);
            let _ = write!(
                out,
                "<td class=\"{}\">{}</td>",
                expectation.outcome,
                escape(&cell(&expectation))
            );
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</table>\n</body></html>\n");
    out
}
