//! The matrix: the expected outcome of every action under every role profile, with the
//! rule that decides each cell. Documentation people can read or publish.

use std::fmt::Write as _;

use crate::fixtures::Fixtures;
use crate::model::{Outcome, SecurityRole};
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
    out.push_str("Outcomes:\n\n");
    for outcome in Outcome::ALL {
        let _ = writeln!(out, "- **{outcome}**: {}", outcome.meaning());
    }
    out.push('\n');
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

/// `text` safe inside HTML text and attribute values.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The CSS classes of a matrix cell: the outcome the action ends with (once confirmed,
/// for an escalated action), and `held` when it is held for confirmation first. So
/// `escalated → denied` is coloured as denied, with the mark of a held action.
pub fn cell_classes(expectation: &Expectation) -> String {
    match expectation.after_confirmation {
        Some(after) => format!("{after} held"),
        None => expectation.outcome.to_string(),
    }
}

/// The matrix's own styles: the colour of each outcome, the mark of a held action, and
/// the header that stays in view over the rows.
pub const STYLE: &str = include_str!("matrix.css");

/// The legend of the matrix as HTML: every outcome word with its meaning and colour, and
/// the notation of the cells.
pub fn html_legend() -> String {
    let mut out = String::from("<dl class=\"legend\">\n");
    for outcome in Outcome::ALL {
        let _ = writeln!(
            out,
            "<div><dt><span class=\"swatch {outcome}\">{outcome}</span></dt><dd>{}</dd></div>",
            escape_html(outcome.meaning())
        );
    }
    out.push_str(
        "<div><dt><span class=\"swatch denied held\">escalated → denied</span></dt><dd>held for a person to confirm; once confirmed, the second outcome (the colour is the outcome it ends with; the bar on the left marks the hold)</dd></div>\n\
         <div><dt><span class=\"swatch allowed\">(own records)</span></dt><dd>allowed only on the API member's own records: the role grants the level My</dd></div>\n\
         <div><dt><span class=\"swatch\">(SAFE-08)</span></dt><dd>the rule of the integration's safety policy that decides the cell</dd></div>\n\
         <div><dt><span class=\"swatch\">needs</span></dt><dd>the security function and operation ConnectWise checks for the action</dd></div>\n",
    );
    out.push_str("</dl>\n");
    out
}

/// The matrix as an HTML table (no page around it): a header row that stays in view
/// while the rows scroll under it, one row per action, one column per role.
pub fn html_table(fixtures: &Fixtures, roles: &[SecurityRole]) -> String {
    let mut out = String::from(
        "<div class=\"matrix-frame\"><table class=\"matrix\">\n<thead><tr><th scope=\"col\">action</th><th scope=\"col\">what the AI asks</th><th scope=\"col\">needs</th>",
    );
    for role in roles {
        let _ = write!(out, "<th scope=\"col\">{}</th>", escape_html(&role.name));
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for action in fixtures.actions.iter() {
        let needs =
            oracle::requirement(fixtures, action).map_or_else(|| "—".to_owned(), |r| r.to_string());
        let _ = write!(
            out,
            "<tr><th scope=\"row\"><code>{}</code></th><td>{}</td><td>{}</td>",
            escape_html(&action.name),
            escape_html(&action.phrase),
            escape_html(&needs)
        );
        for role in roles {
            let expectation = oracle::expect(fixtures, action, role);
            let _ = write!(
                out,
                "<td class=\"{}\">{}</td>",
                cell_classes(&expectation),
                escape_html(&cell(&expectation))
            );
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table></div>\n");
    out
}

/// The matrix as a standalone HTML page, with its legend, the date it was made and the
/// version of cw-conform that made it.
pub fn html(fixtures: &Fixtures, roles: &[SecurityRole]) -> String {
    let generated = crate::docs::timestamp(std::time::SystemTime::now());
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>cw-conform: expected outcomes</title>\n<style>\n{}{STYLE}</style></head><body>\n\
         <main class=\"wide\">\n<h1>Expected outcome of each action under each role</h1>\n\
         <p class=\"meta\">Generated {generated} by cw-conform {}</p>\n{}{}</main>\n</body></html>\n",
        crate::docs::BASE_STYLE,
        env!("CARGO_PKG_VERSION"),
        html_legend(),
        html_table(fixtures, roles)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_escalated_action_is_coloured_by_the_outcome_it_ends_with_and_marked_held() {
        let fixtures = Fixtures::builtin().unwrap();
        let roles: Vec<SecurityRole> = fixtures.roles.values().cloned().collect();
        let table = html_table(fixtures, &roles);
        let mut seen = Vec::new();
        for action in fixtures.actions.iter() {
            for role in &roles {
                let expectation = oracle::expect(fixtures, action, role);
                if let Some(after) = expectation.after_confirmation {
                    let cell = format!(
                        "<td class=\"{after} held\">{}</td>",
                        escape_html(&cell(&expectation))
                    );
                    assert!(
                        table.contains(&cell),
                        "{} under {}: {cell}",
                        action.name,
                        role.name
                    );
                    seen.push(after);
                }
            }
        }
        // The shipped roles hold some deletes that ConnectWise then refuses, and some it
        // then allows: both colours are checked.
        assert!(seen.contains(&Outcome::Denied), "{seen:?}");
        assert!(seen.contains(&Outcome::Allowed), "{seen:?}");
        assert!(
            !table.contains("class=\"escalated\""),
            "an escalated cell coloured as escalated"
        );
    }

    #[test]
    fn the_legend_explains_every_outcome_word() {
        let legend = html_legend();
        let markdown = markdown(Fixtures::builtin().unwrap(), &[]);
        for outcome in Outcome::ALL {
            assert!(
                legend.contains(&format!(
                    "<span class=\"swatch {outcome}\">{outcome}</span>"
                )),
                "{outcome}"
            );
            assert!(
                legend.contains(&escape_html(outcome.meaning())),
                "{outcome}"
            );
            assert!(
                markdown.contains(&format!("- **{outcome}**: ")),
                "{outcome}"
            );
        }
    }

    #[test]
    fn the_header_row_stays_in_view_over_the_rows() {
        let fixtures = Fixtures::builtin().unwrap();
        let table = html_table(fixtures, &[]);
        assert!(table.contains("<thead><tr><th scope=\"col\">action</th>"));
        assert!(STYLE.contains("table.matrix thead th { position: sticky; top: 0;"));
        assert_eq!(
            table.matches("<tr>").count(),
            fixtures.actions.iter().count() + 1
        );
    }

    #[test]
    fn text_is_escaped_for_html_text_and_attributes() {
        assert_eq!(
            escape_html("<script>alert('x') & \"y\"</script>"),
            "&lt;script&gt;alert(&#39;x&#39;) &amp; &quot;y&quot;&lt;/script&gt;"
        );
    }
}
