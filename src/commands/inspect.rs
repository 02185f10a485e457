//! `cw-conform matrix`, `explain` and `audit`: what the documents expect, and why.

use super::{CommandError, exit};
use crate::fixtures::Fixtures;
use crate::model::SecurityRole;
use crate::target::Sandbox;
use crate::{audit, oracle, report};

/// Formats of `matrix`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum MatrixFormat {
    /// A Markdown table.
    Markdown,
    /// A standalone HTML page.
    Html,
}

/// Prints the expected outcome of every action under each role (every shipped profile
/// when `roles` is empty).
pub fn matrix(
    roles: &[String],
    format: MatrixFormat,
    fixtures: &Fixtures,
) -> Result<u8, CommandError> {
    let roles: Vec<SecurityRole> = if roles.is_empty() {
        fixtures.roles.values().cloned().collect()
    } else {
        roles
            .iter()
            .map(|r| fixtures.role(r))
            .collect::<Result<_, _>>()?
    };
    let rendered = match format {
        MatrixFormat::Markdown => report::matrix::markdown(fixtures, &roles),
        MatrixFormat::Html => report::matrix::html(fixtures, &roles),
    };
    print!("{rendered}");
    Ok(exit::CONFORMS)
}

/// Explains why an action (by name or phrase) gives its outcome under a role.
pub fn explain(action: &str, role: &str, fixtures: &Fixtures) -> Result<u8, CommandError> {
    let Some(found) = fixtures
        .actions
        .get(action)
        .or_else(|| fixtures.actions.by_phrase(action))
    else {
        let known = fixtures
            .actions
            .iter()
            .flat_map(|a| [a.name.as_str(), a.phrase.as_str()]);
        return Err(CommandError::Usage(format!(
            "unknown action \"{action}\"{}; run `cw-conform actions` for the list",
            crate::model::spelling::did_you_mean(action, known)
        )));
    };
    let role = fixtures.role(role)?;
    print!("{}", oracle::explain(fixtures, found, &role));
    Ok(exit::CONFORMS)
}

/// Reviews a role (or, with `live`, the sandbox API member) for least privilege; exit code
/// [`exit::FAILED`] when there are findings.
pub async fn audit(
    role: Option<&str>,
    workflows: &[String],
    live: bool,
    fixtures: &Fixtures,
) -> Result<u8, CommandError> {
    let known = fixtures.actions.workflows();
    if let Some(unknown) = workflows.iter().find(|w| !known.contains(&w.as_str())) {
        return Err(CommandError::Usage(format!(
            "unknown workflow \"{unknown}\" (expected one of {})",
            known.join(", ")
        )));
    }
    let (name, findings) = match (role, live) {
        (Some(role), false) => {
            let role = fixtures.role(role)?;
            let findings = audit::audit_role(fixtures, &role, workflows);
            (role.name, findings)
        }
        (None, true) => {
            let sandbox = Sandbox::from_env()?;
            let client = sandbox.client_for_default().await?;
            let (_, findings) = audit::audit_live(fixtures, &client, workflows).await?;
            ("the sandbox API member".to_owned(), findings)
        }
        _ => {
            return Err(CommandError::Usage(
                "give either a role (name or file) or --live".into(),
            ));
        }
    };
    if findings.is_empty() {
        println!("{name}: no findings");
        return Ok(exit::CONFORMS);
    }
    println!("{name}: {} finding(s)", findings.len());
    for finding in &findings {
        println!("  {finding}");
    }
    Ok(exit::FAILED)
}
