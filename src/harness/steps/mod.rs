//! Step definitions, one module per domain concept.
//!
//! Each module also lists its steps for `cw-conform steps` (its `STEPS` table: the pattern
//! exactly as registered, a readable form, the parameters and one example). A unit test
//! checks the tables against the steps cucumber registers, so the listing cannot drift from
//! the code: a step without a listing, a listing without a step, or an example that does
//! not match exactly its own step fails the test.

mod actions;
mod audit;
mod catalog;
mod credentials;
mod data;
mod journal;
mod outcomes;
mod paging;
pub(crate) mod roles;
mod safety;
mod security;
pub(super) mod switches;
mod workflows;

use std::fmt;

use serde::Serialize;

/// The Gherkin keyword a step is registered under (`And` and `But` take the keyword of
/// the step before them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Keyword {
    /// Sets up the API member, its role or the integration.
    Given,
    /// Something the AI or a person does.
    When,
    /// What must be true afterwards.
    Then,
}

impl fmt::Display for Keyword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Keyword::Given => "Given",
            Keyword::When => "When",
            Keyword::Then => "Then",
        })
    }
}

/// A step's pattern exactly as written in its `#[given]`, `#[when]` or `#[then]`
/// attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pattern {
    /// Plain text the step must equal.
    Text(&'static str),
    /// A Cucumber Expression (`{string}`, `{int}`).
    Expression(&'static str),
    /// A regular expression.
    Regex(&'static str),
}

impl Pattern {
    /// The regular expression cucumber builds from the pattern.
    pub fn regex(self) -> String {
        match self {
            Pattern::Text(text) => format!("^{}$", regex::escape(text)),
            Pattern::Expression(expression) => cucumber::codegen::Expression::regex(expression)
                .map_or_else(
                    |e| format!("invalid expression: {e}"),
                    |r| r.as_str().to_owned(),
                ),
            Pattern::Regex(regex) => regex.to_owned(),
        }
    }
}

/// One parameter of a step: its placeholder in the readable form and what it takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Parameter {
    /// The placeholder (`<role>`).
    pub name: &'static str,
    /// What it takes.
    pub meaning: &'static str,
}

/// The listing of one step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StepDoc {
    /// Its keyword.
    pub keyword: Keyword,
    /// The pattern as registered.
    pub pattern: Pattern,
    /// The step as a reader writes it, with `<placeholders>` and `[optional parts]`.
    pub form: &'static str,
    /// What it does or checks.
    pub description: &'static str,
    /// Its parameters.
    pub parameters: &'static [Parameter],
    /// One line that uses it, without the keyword.
    pub example: &'static str,
    /// The data table the step takes (or may take), as it follows the example.
    pub table: Option<&'static str>,
}

/// Shorthand for the tables: `param("<role>", "a role profile")`.
const fn param(name: &'static str, meaning: &'static str) -> Parameter {
    Parameter { name, meaning }
}

/// Every step the harness understands, in the order a scenario uses them: set-up,
/// actions, then checks.
pub fn vocabulary() -> Vec<&'static StepDoc> {
    [
        roles::STEPS,
        credentials::STEPS,
        data::STEPS,
        audit::STEPS,
        catalog::STEPS,
        actions::STEPS,
        outcomes::STEPS,
        journal::STEPS,
        paging::STEPS,
        security::STEPS,
        switches::STEPS,
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// The steps that configure the integration with other settings than the API member's
/// own: a wrong company ID, key or client ID, no client ID ([`credentials::STEPS`]).
static OTHER_SETTINGS: std::sync::LazyLock<Vec<regex::Regex>> = std::sync::LazyLock::new(|| {
    credentials::STEPS
        .iter()
        .filter_map(|step| regex::Regex::new(&step.pattern.regex()).ok())
        .collect()
});

/// `the integration signs in as the member "…"` ([`audit`]), and the member.
static SIGNS_IN_AS: std::sync::LazyLock<Option<regex::Regex>> = std::sync::LazyLock::new(|| {
    regex::Regex::new(r#"^the integration signs in as the member "([^"]*)""#).ok()
});

/// Why a step needs an MCP server started for its scenario rather than one already running
/// (which was configured once, with the API member's settings): it gives the integration
/// other settings, or another member's keys. `None` for any other step. A wrong
/// ConnectWise URL needs no other server: the fixed site routes it to the other site.
pub(crate) fn needs_own_server(step: &str) -> Option<String> {
    if step.ends_with("a wrong ConnectWise URL") {
        return None;
    }
    let other_member = SIGNS_IN_AS
        .as_ref()
        .and_then(|signs_in| signs_in.captures(step))
        .and_then(|c| c.get(1))
        .is_some_and(|member| member.as_str() != crate::harness::world::API_MEMBER);
    (other_member || OTHER_SETTINGS.iter().any(|pattern| pattern.is_match(step)))
        .then(|| format!("\"{step}\" configures the integration otherwise than the running server"))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use cucumber::World as _;
    use cucumber::codegen::{StepConstructor as _, WorldInventory};
    use cucumber::gherkin::{Step, StepType};

    use super::*;
    use crate::harness::world::ConformanceWorld;

    #[test]
    fn steps_that_configure_the_integration_otherwise_need_a_server_of_their_own() {
        for step in [
            "the integration is configured with a wrong private key",
            "the integration is configured with a wrong company ID",
            "the integration sends no client ID",
            "the integration is configured with the company record ID 19 as its company ID",
            r#"the integration signs in as the member "jsmith" with the role "full-access""#,
        ] {
            let reason = needs_own_server(step).unwrap_or_else(|| panic!("{step}"));
            assert!(reason.contains(step), "{reason}");
        }
        for step in [
            r#"the integration signs in as the member "ai-integration" with the role "full-access""#,
            "the integration is configured with a wrong ConnectWise URL",
            r#"an API member with the role "full-access""#,
            "the AI asks to delete contact #5",
        ] {
            assert_eq!(needs_own_server(step), None, "{step}");
        }
    }

    type Given = <ConformanceWorld as WorldInventory>::Given;
    type When = <ConformanceWorld as WorldInventory>::When;
    type Then = <ConformanceWorld as WorldInventory>::Then;

    /// Every step cucumber registers: its keyword, regex and where it is defined.
    fn registered() -> Vec<(Keyword, String, String)> {
        let mut steps = Vec::new();
        for given in cucumber::codegen::inventory::iter::<Given> {
            let (location, regex, _) = given.inner();
            steps.push((
                Keyword::Given,
                regex().as_str().to_owned(),
                location.to_string(),
            ));
        }
        for when in cucumber::codegen::inventory::iter::<When> {
            let (location, regex, _) = when.inner();
            steps.push((
                Keyword::When,
                regex().as_str().to_owned(),
                location.to_string(),
            ));
        }
        for then in cucumber::codegen::inventory::iter::<Then> {
            let (location, regex, _) = then.inner();
            steps.push((
                Keyword::Then,
                regex().as_str().to_owned(),
                location.to_string(),
            ));
        }
        steps
    }

    #[test]
    fn every_registered_step_is_listed_and_every_listing_is_a_step() {
        let registered: BTreeSet<(Keyword, String)> = registered()
            .into_iter()
            .map(|(keyword, regex, _)| (keyword, regex))
            .collect();
        let listed: BTreeSet<(Keyword, String)> = vocabulary()
            .iter()
            .map(|doc| (doc.keyword, doc.pattern.regex()))
            .collect();
        let unlisted: Vec<_> = registered.difference(&listed).collect();
        let stale: Vec<_> = listed.difference(&registered).collect();
        assert!(
            unlisted.is_empty() && stale.is_empty(),
            "steps without a listing (add them to their module's STEPS): {unlisted:#?}\n\
             listings without a step: {stale:#?}"
        );
        assert_eq!(
            vocabulary().len(),
            registered.len(),
            "a step is listed twice"
        );
    }

    fn step(keyword: Keyword, value: &str) -> Step {
        Step {
            keyword: format!("{keyword} "),
            ty: match keyword {
                Keyword::Given => StepType::Given,
                Keyword::When => StepType::When,
                Keyword::Then => StepType::Then,
            },
            value: value.to_owned(),
            docstring: None,
            table: None,
            span: cucumber::gherkin::Span { start: 0, end: 0 },
            position: cucumber::gherkin::LineCol { line: 0, col: 0 },
        }
    }

    #[test]
    fn every_example_matches_exactly_its_own_step() {
        let collection = ConformanceWorld::collection();
        let by_location: Vec<(Keyword, String, String)> = registered();
        for doc in vocabulary() {
            let found = collection
                .find(&step(doc.keyword, doc.example))
                .unwrap_or_else(|e| panic!("\"{}\" is ambiguous: {e}", doc.example))
                .unwrap_or_else(|| panic!("\"{}\" matches no step", doc.example));
            let location = found.2.map(|l| l.to_string()).unwrap_or_default();
            let regex = doc.pattern.regex();
            assert!(
                by_location
                    .iter()
                    .any(|(k, r, l)| *k == doc.keyword && *r == regex && *l == location),
                "\"{}\" matches the step at {location}, not the one listed as {regex}",
                doc.example
            );
        }
    }

    #[test]
    fn every_listing_is_complete() {
        for doc in vocabulary() {
            assert!(
                !doc.form.is_empty() && !doc.description.is_empty() && !doc.example.is_empty(),
                "{doc:?}"
            );
            for parameter in doc.parameters {
                assert!(
                    doc.form.contains(parameter.name),
                    "the form \"{}\" has no {}",
                    doc.form,
                    parameter.name
                );
            }
        }
    }
}
