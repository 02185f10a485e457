//! LP-02 by behaviour: each cell of a security role (a function and one of its operations)
//! exercised through the integration's actions, on a fresh mock ConnectWise per run.
//!
//! Which action exercises which cell is data (`fixtures/cells.toml`), written from the
//! documents rather than from `permissions.toml`, which is what the mock enforces: a map
//! that governs an endpoint by the wrong function, or loses a field guard, makes an
//! exercise's outcome stop following its cell. Each exercise runs twice, with the role as
//! it is and with only its cell flipped, so a cell is proved to decide the outcome, not
//! merely to agree with it.
//!
//! This module owns the judging; it does not know Gherkin (the LP-02 steps call it) and it
//! does not start MCP servers itself: a [`Stage`] gives it an integration for each run.
//! Each run ends with [`Integration::finish`], so an MCP server started for a run is judged
//! for what it did beyond its outcome (INT-01/02/03 and the rules its stray requests
//! break) as a scenario's server is: the findings come back in [`Checked`].

use std::collections::BTreeSet;
use std::fmt;
use std::sync::Arc;

use futures::future::BoxFuture;
use serde_json::{Map, Value};

use crate::connectwise::journal;
use crate::fixtures::Fixtures;
use crate::integration::mcp::reply::Records;
use crate::integration::{
    ActionRequest, Finding, Integration, IntegrationError, ReferenceIntegration, Subject,
};
use crate::mock::{ApiMember, MockConfig, MockConnectWise};
use crate::model::{FunctionName, Level, Levels, Operation, Outcome, SecurityRole};

/// One cell of a security role: a function and one of its four operations.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Cell {
    /// The security function.
    pub function: FunctionName,
    /// The operation.
    pub operation: Operation,
}

impl fmt::Display for Cell {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.function, self.operation)
    }
}

/// A catalog action that exercises one cell.
#[derive(Debug, Clone, PartialEq)]
pub struct Exercise {
    /// The cell it exercises.
    pub cell: Cell,
    /// What the AI asks for.
    pub request: ActionRequest,
    /// Whether the record acted on is the API member's own (what `My` allows).
    pub own: bool,
    /// For a field-guarded read: the fields shown where the cell allows it. Empty: the
    /// action itself succeeds or is denied.
    pub fields: Vec<String>,
    /// Grants both runs add to the role, for a cell whose effect shows only together
    /// with another function.
    pub context: Vec<(FunctionName, Levels)>,
}

/// What an exercise does under a level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// The action succeeds.
    Allowed,
    /// The action is denied.
    Denied,
    /// The action succeeds and its result shows the guarded fields.
    FieldsShown,
    /// The action succeeds and its result hides the guarded fields.
    FieldsHidden,
}

impl fmt::Display for Effect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Effect::Allowed => "allowed",
            Effect::Denied => "denied",
            Effect::FieldsShown => "allowed, with the guarded fields shown",
            Effect::FieldsHidden => "allowed, with the guarded fields hidden",
        })
    }
}

/// What a run of an exercise gave: an effect, or an outcome that is neither (blocked,
/// rejected, failed…).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Observed {
    /// One of the effects the cell decides between.
    Effect(Effect),
    /// Any other outcome.
    Outcome(Outcome),
}

impl fmt::Display for Observed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Observed::Effect(effect) => effect.fmt(f),
            Observed::Outcome(outcome) => outcome.fmt(f),
        }
    }
}

/// An exercise whose outcome does not follow its cell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    /// The cell.
    pub cell: Cell,
    /// The level the cell had in the run.
    pub level: Level,
    /// The action and its record (`ticket.get #1004`).
    pub action: String,
    /// What the level should give.
    pub expected: Effect,
    /// What happened.
    pub observed: Observed,
    /// What the AI was told, and every request ConnectWise received.
    pub evidence: String,
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} at {}: {} expected {}, observed {}\n{}",
            self.cell,
            self.level,
            self.action,
            self.expected,
            self.observed,
            self.evidence.trim_end()
        )
    }
}

/// What exercising cells found: the exercises whose outcome did not follow their cell, and
/// what the integration under test was found doing in the runs (the findings of each run's
/// server, judged as a scenario's are: a secret shown, a request outside any call, a write
/// that was not the action's own…).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Checked {
    /// The exercises whose outcome did not follow their cell.
    pub mismatches: Vec<Mismatch>,
    /// Every finding of every run, its evidence naming the run.
    pub findings: Vec<Finding>,
}

impl Checked {
    fn extend(&mut self, other: Checked) {
        self.mismatches.extend(other.mismatches);
        self.findings.extend(other.findings);
    }
}

/// A fresh ConnectWise for one run, and the integration under test signed in to it.
pub struct Staged {
    /// The integration, signed in as an API member with the run's role.
    pub integration: Arc<dyn Integration>,
    /// The mock it talks to (for the requests it received).
    pub mock: MockConnectWise,
}

impl fmt::Debug for Staged {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Staged").finish_non_exhaustive()
    }
}

/// Gives the probe an integration on a fresh ConnectWise whose API member has a role.
pub trait Stage: Send + Sync {
    /// Starts a ConnectWise holding the seed data with an API member of `role`, and the
    /// integration under test signed in as that member.
    fn stage(&self, role: SecurityRole) -> BoxFuture<'_, Staged>;
}

/// The reference integration on the built-in mock.
#[derive(Debug)]
pub struct ReferenceStage {
    fixtures: Arc<Fixtures>,
    config: MockConfig,
}

/// The member identifier the probe's API member has in the seed data.
const API_MEMBER: &str = "ai-integration";

impl ReferenceStage {
    /// The reference integration, on mocks built from these fixtures.
    pub fn new(fixtures: Arc<Fixtures>, config: MockConfig) -> Self {
        ReferenceStage { fixtures, config }
    }
}

impl Stage for ReferenceStage {
    fn stage(&self, role: SecurityRole) -> BoxFuture<'_, Staged> {
        Box::pin(async move {
            let mock =
                MockConnectWise::start(Arc::clone(&self.fixtures), self.config.clone()).await;
            mock.add_member(ApiMember::with_role(API_MEMBER, role));
            let credentials = mock
                .credentials_for(API_MEMBER)
                .expect("the API member was just added");
            let client = crate::connectwise::Client::new(credentials)
                .unwrap_or_else(|e| panic!("failed to build the client: {e}"));
            let integration: Arc<dyn Integration> = Arc::new(ReferenceIntegration::new(
                client,
                Arc::clone(&self.fixtures),
            ));
            Staged { integration, mock }
        })
    }
}

/// The level that makes an exercise do what it does not do at `level`.
fn flipped(level: Level, own: bool) -> Level {
    if allows(level, own) {
        Level::None
    } else {
        Level::All
    }
}

/// Whether `level` lets an exercise act on its record.
fn allows(level: Level, own: bool) -> bool {
    match level {
        Level::All => true,
        Level::My => own,
        Level::None => false,
    }
}

impl Exercise {
    /// What the exercise should do with its cell at `level`.
    pub fn expected(&self, level: Level) -> Effect {
        match (allows(level, self.own), self.fields.is_empty()) {
            (true, true) => Effect::Allowed,
            (false, true) => Effect::Denied,
            (true, false) => Effect::FieldsShown,
            (false, false) => Effect::FieldsHidden,
        }
    }

    /// The action and its record, as a person reads it.
    pub fn label(&self) -> String {
        match &self.request.subject {
            Some(Subject::Id(id)) => format!("{} #{id}", self.request.action),
            Some(Subject::Text(text)) => format!("{} \"{text}\"", self.request.action),
            None => self.request.action.clone(),
        }
    }

    /// `role` with this exercise's context grants added (never narrowing the role).
    fn in_context(&self, role: &SecurityRole) -> SecurityRole {
        let mut role = role.clone();
        for (function, extra) in &self.context {
            let mut levels = role.levels(function);
            for operation in Operation::ALL {
                if extra.get(operation) != Level::None {
                    levels.set(operation, extra.get(operation));
                }
            }
            role.grant(function.clone(), levels);
        }
        role
    }

    /// Runs the exercise once under `role` and judges it against the cell's level there,
    /// then ends the integration's use and judges what it was found doing.
    ///
    /// # Errors
    /// The integration's own failure (it did not start, timed out …): nothing to judge.
    async fn run(
        &self,
        stage: &dyn Stage,
        role: SecurityRole,
    ) -> Result<Checked, IntegrationError> {
        let role = self.in_context(&role);
        let level = role.level(&self.cell.function, self.cell.operation);
        let expected = self.expected(level);
        let staged = stage.stage(role).await;
        let mut result = staged.integration.perform(&self.request).await?;
        let mut told = vec![format!("{}: {}", result.outcome, result.message)];
        if result.outcome == Outcome::Escalated
            && let Some(held) = result.confirmation.clone()
        {
            result = staged.integration.confirm(held.token, true).await?;
            told.push(format!(
                "confirmed, then {}: {}",
                result.outcome, result.message
            ));
        }
        let observed = match result.outcome {
            Outcome::Denied => Observed::Effect(Effect::Denied),
            Outcome::Allowed | Outcome::Partial if self.fields.is_empty() => {
                Observed::Effect(Effect::Allowed)
            }
            Outcome::Allowed | Outcome::Partial => {
                if self.fields.iter().any(|f| shows_field(&result.data, f)) {
                    Observed::Effect(Effect::FieldsShown)
                } else {
                    Observed::Effect(Effect::FieldsHidden)
                }
            }
            other => Observed::Outcome(other),
        };
        let mismatch = (observed != Observed::Effect(expected)).then(|| Mismatch {
            cell: self.cell.clone(),
            level,
            action: self.label(),
            expected,
            observed,
            evidence: staged.integration.shown(format!(
                "the AI was told: {}\nConnectWise received:\n{}",
                told.join("\n  "),
                journal::render(&staged.mock.journal())
            )),
        });
        let findings = staged
            .integration
            .finish()
            .await
            .into_iter()
            .map(|mut finding| {
                finding.evidence = format!(
                    "while {} was exercised at {level} ({}): {}",
                    self.cell,
                    self.label(),
                    finding.evidence
                );
                finding
            })
            .collect();
        drop(staged.integration);
        staged.mock.shutdown();
        Ok(Checked {
            mismatches: mismatch.into_iter().collect(),
            findings,
        })
    }

    /// Runs the exercise with the role as it is, then with only its cell flipped.
    ///
    /// # Errors
    /// The integration's own failure: nothing to judge.
    pub async fn check(
        &self,
        stage: &dyn Stage,
        role: &SecurityRole,
    ) -> Result<Checked, IntegrationError> {
        let as_granted = self.in_context(role);
        let level = as_granted.level(&self.cell.function, self.cell.operation);
        let mut other = as_granted.clone();
        let mut levels = other.levels(&self.cell.function);
        levels.set(self.cell.operation, flipped(level, self.own));
        other.grant(self.cell.function.clone(), levels);
        let mut checked = self.run(stage, role.clone()).await?;
        checked.extend(self.run(stage, other).await?);
        Ok(checked)
    }
}

/// Whether a tool result's data shows a field on any record in it: a key of its JSON at any
/// depth, or a field of a record read from its text (a table column, `name: value`), the
/// name compared without case, spaces or punctuation (`Hourly rate` is `hourlyRate`).
fn shows_field(data: &Value, field: &str) -> bool {
    let wanted = squeezed(field);
    in_json(data, field)
        || Records::read(data).into_iter().any(|record| {
            record
                .fields
                .iter()
                .any(|(name, value)| squeezed(name) == wanted && !is_blank(value))
        })
}

fn in_json(data: &Value, field: &str) -> bool {
    match data {
        Value::Object(map) => {
            map.get(field).is_some_and(|v| !v.is_null()) || map.values().any(|v| in_json(v, field))
        }
        Value::Array(items) => items.iter().any(|v| in_json(v, field)),
        _ => false,
    }
}

fn squeezed(name: &str) -> String {
    name.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

fn is_blank(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(text) => text.trim().is_empty(),
        _ => false,
    }
}

/// The cells of `role`: every operation of every function it lists.
pub fn cells(role: &SecurityRole) -> Vec<Cell> {
    role.grants()
        .flat_map(|(function, _)| {
            Operation::ALL.into_iter().map(|operation| Cell {
                function: function.clone(),
                operation,
            })
        })
        .collect()
}

/// The cells of `role` that no exercise names: no action can exercise them.
pub fn unexercised(exercises: &[Exercise], role: &SecurityRole) -> Vec<Cell> {
    let covered: BTreeSet<&Cell> = exercises.iter().map(|e| &e.cell).collect();
    cells(role)
        .into_iter()
        .filter(|cell| !covered.contains(cell))
        .collect()
}

/// Exercises every cell of `function` that an exercise names, under `role`.
pub async fn check_function(
    stage: &dyn Stage,
    exercises: &[Exercise],
    role: &SecurityRole,
    function: &FunctionName,
) -> Result<Checked, IntegrationError> {
    let mut checked = Checked::default();
    for exercise in exercises.iter().filter(|e| &e.cell.function == function) {
        checked.extend(exercise.check(stage, role).await?);
    }
    Ok(checked)
}

/// The request an exercise makes: the action's example with the exercise's subject and
/// fields in place of the example's.
pub fn request(
    action: &crate::model::Action,
    subject: Option<Subject>,
    with: Option<Map<String, Value>>,
) -> ActionRequest {
    let mut request = ActionRequest::example(action);
    if let Some(subject) = subject {
        request.subject = Some(subject);
    }
    if let Some(fields) = with {
        request.fields = fields;
    }
    request
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;

    fn exercise(own: bool, fields: &[&str]) -> Exercise {
        Exercise {
            cell: Cell {
                function: FunctionName::new("Time & Expense", "Time Entry"),
                operation: Operation::Delete,
            },
            request: ActionRequest {
                action: "time_entry.delete".into(),
                subject: Some(Subject::Id(501)),
                fields: Map::new(),
            },
            own,
            fields: fields.iter().map(|f| (*f).to_owned()).collect(),
            context: Vec::new(),
        }
    }

    #[rstest]
    #[case::all(Level::All, false, Effect::Allowed, Level::None)]
    #[case::my_own(Level::My, true, Effect::Allowed, Level::None)]
    #[case::my_other(Level::My, false, Effect::Denied, Level::All)]
    #[case::none(Level::None, true, Effect::Denied, Level::All)]
    fn a_level_gives_one_effect_and_its_flip_the_other(
        #[case] level: Level,
        #[case] own: bool,
        #[case] effect: Effect,
        #[case] flip: Level,
    ) {
        let exercise = exercise(own, &[]);
        assert_eq!(exercise.expected(level), effect);
        assert_eq!(flipped(level, own), flip);
        assert_ne!(exercise.expected(flip), effect);
    }

    #[test]
    fn a_field_guard_shows_or_hides_its_fields() {
        let exercise = exercise(false, &["hourlyRate"]);
        assert_eq!(exercise.expected(Level::All), Effect::FieldsShown);
        assert_eq!(exercise.expected(Level::None), Effect::FieldsHidden);
    }

    #[test]
    fn a_field_is_shown_on_any_record_of_the_data() {
        let data = serde_json::json!([{"id": 1}, {"id": 2, "hourlyRate": 95.0}]);
        assert!(shows_field(&data, "hourlyRate"));
        assert!(!shows_field(&data, "hourlyCost"));
        assert!(!shows_field(
            &serde_json::json!({"hourlyRate": null}),
            "hourlyRate"
        ));
    }

    #[test]
    fn the_cells_no_exercise_names_are_unexercised() {
        let tickets = FunctionName::new("Service Desk", "Service Tickets");
        let role = SecurityRole::new("r", "").with_grant(tickets.clone(), Levels::default());
        let mut add = exercise(false, &[]);
        add.cell = Cell {
            function: tickets.clone(),
            operation: Operation::Add,
        };
        let left: Vec<Operation> = unexercised(&[add], &role)
            .into_iter()
            .map(|c| c.operation)
            .collect();
        assert_eq!(
            left,
            vec![Operation::Edit, Operation::Delete, Operation::Inquire]
        );
    }

    #[test]
    fn context_widens_the_role_and_never_narrows_it() {
        let members = FunctionName::new("System", "Member Maintenance");
        let mut with_context = exercise(false, &[]);
        with_context.context = vec![(
            members.clone(),
            Levels {
                inquire: Level::All,
                ..Levels::default()
            },
        )];
        let role =
            SecurityRole::new("r", "").with_grant(members.clone(), Levels::uniform(Level::My));
        let widened = with_context.in_context(&role);
        assert_eq!(widened.level(&members, Operation::Inquire), Level::All);
        assert_eq!(widened.level(&members, Operation::Add), Level::My);
    }
}
