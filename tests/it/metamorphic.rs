//! Metamorphic checks of the expectations themselves: relations between roles that must
//! hold whatever the exact outcomes are, checked through the mock (the reference
//! integration performing each action's catalog example on a fresh mock ConnectWise) and
//! through the oracle (`explain` and `matrix`).
//!
//! - A role that grants at least everything another grants, cell by cell, is allowed every
//!   action the narrower role is allowed.
//! - Widening one cell changes only the actions that cell governs: the action's own
//!   security check, or the check of a lookup it makes.
//! - Mock and oracle agree on every action under every shipped role.
//! - The oracle follows the document map of LP-02 (`fixtures/cells.toml`), which is written
//!   from the documents and not from `permissions.toml`: an endpoint mapped to the wrong
//!   function moves mock and oracle together, and only this relation sees it.
//!
//! Role pairs come from the shipped roles and from roles derived from them by a small
//! deterministic generator (no randomness between runs: a failure is reproducible).

use std::fmt;
use std::fmt::Write as _;
use std::sync::Arc;

use cw_conform::cells::{Cell, ReferenceStage, Stage};
use cw_conform::connectwise::journal;
use cw_conform::connectwise::security::Requirement;
use cw_conform::fixtures::Fixtures;
use cw_conform::integration::{ActionRequest, Integration, ReferenceIntegration};
use cw_conform::mock::{ApiMember, MockConfig, MockConnectWise};
use cw_conform::model::{Action, ActionKind, Level, Operation, Outcome, SecurityRole};
use cw_conform::oracle;

/// What an action gives: its first outcome and, when it was held, the outcome once a
/// person confirms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Verdict {
    first: Outcome,
    confirmed: Option<Outcome>,
}

impl Verdict {
    /// Whether the action happened (at once or once confirmed).
    fn allowed(self) -> bool {
        self.confirmed.unwrap_or(self.first) == Outcome::Allowed
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.confirmed {
            Some(after) => write!(f, "{} → {after}", self.first),
            None => self.first.fmt(f),
        }
    }
}

/// What the oracle says an action's catalog example gives under `role`.
fn by_oracle(fixtures: &Fixtures, action: &Action, role: &SecurityRole) -> Verdict {
    let expectation = oracle::expect(fixtures, action, role);
    Verdict {
        first: expectation.outcome,
        confirmed: expectation.after_confirmation,
    }
}

/// What the reference integration gives performing an action's catalog example on a fresh
/// mock whose API member has `role`, with what the AI was told and what ConnectWise
/// received (for a failure's text).
async fn by_mock(
    stage: &ReferenceStage,
    action: &Action,
    role: &SecurityRole,
) -> (Verdict, String) {
    let staged = stage.stage(role.clone()).await;
    let request = ActionRequest::example(action);
    let result = staged.integration.perform(&request).await.unwrap();
    let mut told = format!("{}: {}", result.outcome, result.message);
    let confirmed = match result.confirmation.as_ref() {
        Some(held) if result.outcome == Outcome::Escalated => {
            let after = staged.integration.confirm(held.token, true).await.unwrap();
            let _ = write!(
                told,
                "\n    confirmed, then {}: {}",
                after.outcome, after.message
            );
            Some(after.outcome)
        }
        _ => None,
    };
    let evidence = format!(
        "  the AI was told: {told}\n  ConnectWise received:\n{}",
        journal::render(&staged.mock.journal())
    );
    drop(staged.integration);
    staged.mock.shutdown();
    (
        Verdict {
            first: result.outcome,
            confirmed,
        },
        evidence,
    )
}

fn stage() -> (Arc<Fixtures>, ReferenceStage) {
    let fixtures = Arc::new(Fixtures::builtin().unwrap().clone());
    let stage = ReferenceStage::new(Arc::clone(&fixtures), MockConfig::default());
    (fixtures, stage)
}

#[tokio::test(flavor = "multi_thread")]
async fn mock_and_oracle_agree_on_every_action_under_every_shipped_role() {
    let (fixtures, stage) = stage();
    let mut disagreements = Vec::new();
    for role in fixtures.roles.values() {
        for action in fixtures.actions.iter() {
            let expected = by_oracle(&fixtures, action, role);
            let (observed, evidence) = by_mock(&stage, action, role).await;
            if observed != expected {
                disagreements.push(format!(
                    "{} under the role \"{}\": the oracle (explain, matrix) says {expected}, the mock gave {observed}\n{evidence}",
                    action.name, role.name
                ));
            }
        }
    }
    assert!(
        disagreements.is_empty(),
        "{} disagreement(s) between the mock and the oracle:\n\n{}",
        disagreements.len(),
        disagreements.join("\n\n")
    );
}

/// One action performed again and again on one mock, the API member's role replaced before
/// each run (the member keeps its identifier, so `My` ownership holds). A fresh mock
/// replaces the used one after a write that changed records (a create only adds one).
struct Bench<'a> {
    fixtures: &'a Arc<Fixtures>,
    action: &'a Action,
    mock: MockConnectWise,
    integration: ReferenceIntegration,
}

/// The seeded API member every run signs in as.
const API_MEMBER: &str = "ai-integration";

impl<'a> Bench<'a> {
    async fn new(fixtures: &'a Arc<Fixtures>, action: &'a Action) -> Self {
        let (mock, integration) = Self::start(fixtures).await;
        Bench {
            fixtures,
            action,
            mock,
            integration,
        }
    }

    async fn start(fixtures: &Arc<Fixtures>) -> (MockConnectWise, ReferenceIntegration) {
        let mock = MockConnectWise::start(Arc::clone(fixtures), MockConfig::default()).await;
        mock.add_member(ApiMember::with_role(
            API_MEMBER,
            SecurityRole::new("none", ""),
        ));
        let client =
            cw_conform::connectwise::Client::new(mock.credentials_for(API_MEMBER).unwrap())
                .unwrap();
        (
            mock,
            ReferenceIntegration::new(client, Arc::clone(fixtures)),
        )
    }

    /// Performs the action's catalog example as a member of `role`.
    async fn run(&mut self, role: &SecurityRole) -> (Verdict, String) {
        self.mock
            .add_member(ApiMember::with_role(API_MEMBER, role.clone()));
        let before = self.mock.journal().len();
        let request = ActionRequest::example(self.action);
        let result = self.integration.perform(&request).await.unwrap();
        let mut told = format!("{}: {}", result.outcome, result.message);
        let confirmed = match result.confirmation.as_ref() {
            Some(held) if result.outcome == Outcome::Escalated => {
                let after = self.integration.confirm(held.token, true).await.unwrap();
                let _ = write!(
                    told,
                    "
    confirmed, then {}: {}",
                    after.outcome, after.message
                );
                Some(after.outcome)
            }
            _ => None,
        };
        let verdict = Verdict {
            first: result.outcome,
            confirmed,
        };
        let evidence = format!(
            "  the AI was told: {told}\n  ConnectWise received:\n{}",
            journal::render(&self.mock.journal()[before..])
        );
        // A write that happened changes what the next run meets (a closed ticket, a deleted
        // record); a create only adds a record.
        if verdict.allowed() && self.action.writes() && self.action.kind != ActionKind::Create {
            let (mock, integration) = Self::start(self.fixtures).await;
            std::mem::replace(&mut self.mock, mock).shutdown();
            self.integration = integration;
        }
        (verdict, evidence)
    }

    fn shutdown(self) {
        drop(self.integration);
        self.mock.shutdown();
    }
}

/// A small deterministic generator (SplitMix64): the same roles on every run.
struct Generator(u64);

impl Generator {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % u64::try_from(n).unwrap()).unwrap()
    }
}

/// Every cell of every function ConnectWise has, as the permission map knows them.
fn every_cell(fixtures: &Fixtures) -> Vec<Cell> {
    fixtures
        .permissions
        .functions
        .iter()
        .flat_map(|function| {
            Operation::ALL.into_iter().map(|operation| Cell {
                function: function.clone(),
                operation,
            })
        })
        .collect()
}

/// `role` with one cell set to `level`.
fn with_cell(role: &SecurityRole, cell: &Cell, level: Level) -> SecurityRole {
    let mut wider = role.clone();
    let mut levels = wider.levels(&cell.function);
    levels.set(cell.operation, level);
    wider.grant(cell.function.clone(), levels);
    wider.name = format!("{} with {cell} {level}", role.name);
    wider
}

/// Whether `wider` grants at least what `narrower` grants, cell by cell.
fn grants_at_least(fixtures: &Fixtures, wider: &SecurityRole, narrower: &SecurityRole) -> bool {
    every_cell(fixtures).iter().all(|cell| {
        wider.level(&cell.function, cell.operation)
            >= narrower.level(&cell.function, cell.operation)
    })
}

/// `role` widened at `count` cells the generator picks, each raised to a higher level.
fn widened(
    fixtures: &Fixtures,
    role: &SecurityRole,
    count: usize,
    generator: &mut Generator,
) -> SecurityRole {
    let cells = every_cell(fixtures);
    let mut wider = role.clone();
    let mut raised = Vec::new();
    for _ in 0..count {
        let cell = &cells[generator.below(cells.len())];
        let now = wider.level(&cell.function, cell.operation);
        let level = match now {
            Level::None if generator.below(2) == 0 => Level::My,
            Level::None | Level::My => Level::All,
            Level::All => continue,
        };
        wider = with_cell(&wider, cell, level);
        raised.push(format!("{cell} {level}"));
    }
    wider.name = format!("{} widened at {}", role.name, raised.join(", "));
    wider
}

/// Role pairs (narrower, wider): every shipped pair where one grants at least what the
/// other does, and each shipped role with `derived` roles widened from it.
fn role_pairs(fixtures: &Fixtures, derived: usize) -> Vec<(SecurityRole, SecurityRole)> {
    let mut pairs = Vec::new();
    for narrower in fixtures.roles.values() {
        for wider in fixtures.roles.values() {
            if narrower.name != wider.name && grants_at_least(fixtures, wider, narrower) {
                pairs.push((narrower.clone(), wider.clone()));
            }
        }
    }
    let mut generator = Generator(0x00C0_FFEE);
    for narrower in fixtures.roles.values() {
        for n in 0..derived {
            let wider = widened(fixtures, narrower, 1 + n % 6, &mut generator);
            assert!(grants_at_least(fixtures, &wider, narrower));
            pairs.push((narrower.clone(), wider));
        }
    }
    pairs
}

/// Where a pair breaks monotony: the narrower role is allowed the action, the wider one
/// is not; or the integration's policy (blocked) changes with the role.
fn breaks_monotony(narrower: Verdict, wider: Verdict) -> bool {
    (narrower.allowed() && !wider.allowed())
        || ((narrower.first == Outcome::Blocked) != (wider.first == Outcome::Blocked))
}

#[test]
fn a_wider_role_is_allowed_everything_a_narrower_one_is_by_the_oracle() {
    let fixtures = Fixtures::builtin().unwrap();
    let pairs = role_pairs(fixtures, 40);
    assert!(pairs.len() > 200, "{} pairs", pairs.len());
    let mut broken = Vec::new();
    for (narrower, wider) in &pairs {
        for action in fixtures.actions.iter() {
            let (was, now) = (
                by_oracle(fixtures, action, narrower),
                by_oracle(fixtures, action, wider),
            );
            if breaks_monotony(was, now) {
                broken.push(format!(
                    "{}: {was} under \"{}\" but {now} under \"{}\", which grants at least as much",
                    action.name, narrower.name, wider.name
                ));
            }
        }
    }
    assert!(
        broken.is_empty(),
        "the oracle (explain, matrix):\n{}",
        broken.join("\n")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wider_role_is_allowed_everything_a_narrower_one_is_through_the_mock() {
    let (fixtures, _) = stage();
    let pairs = role_pairs(&fixtures, 3);
    let mut broken = Vec::new();
    for action in fixtures.actions.iter() {
        let mut bench = Bench::new(&fixtures, action).await;
        for (narrower, wider) in &pairs {
            let (was, _) = bench.run(narrower).await;
            let (now, evidence) = bench.run(wider).await;
            if breaks_monotony(was, now) {
                broken.push(format!(
                    "{}: {was} under \"{}\" but {now} under \"{}\", which grants at least as much\n{evidence}",
                    action.name, narrower.name, wider.name
                ));
            }
        }
        bench.shutdown();
    }
    assert!(broken.is_empty(), "the mock:\n{}", broken.join("\n\n"));
}

/// The security checks that decide an action's example: its own, its lookups', its
/// guarded fields' and its related reads'.
fn governing(
    fixtures: &Fixtures,
    action: &Action,
    payload: &serde_json::Map<String, serde_json::Value>,
) -> Vec<Requirement> {
    let mut checks: Vec<Requirement> = oracle::requirement(fixtures, action).into_iter().collect();
    checks.extend(oracle::lookup_requirements(fixtures, action, payload));
    checks.extend(oracle::guard_requirements(fixtures, action, payload));
    checks.extend(oracle::related_requirements(fixtures, action));
    checks
}

fn example_payload(action: &Action) -> serde_json::Map<String, serde_json::Value> {
    let mut payload = action.fields.clone();
    payload.extend(action.example.fields.clone());
    payload
}

fn governs(checks: &[Requirement], cell: &Cell) -> bool {
    checks
        .iter()
        .any(|c| c.function == cell.function && c.operation == cell.operation)
}

/// Every role one cell wider than a shipped role, with the cell.
fn single_cell_widenings(fixtures: &Fixtures, base: &SecurityRole) -> Vec<(Cell, SecurityRole)> {
    let mut widenings = Vec::new();
    for cell in every_cell(fixtures) {
        let now = base.level(&cell.function, cell.operation);
        for level in [Level::My, Level::All].into_iter().filter(|l| *l > now) {
            widenings.push((cell.clone(), with_cell(base, &cell, level)));
        }
    }
    widenings
}

#[test]
fn widening_one_cell_changes_only_the_actions_it_governs_by_the_oracle() {
    let fixtures = Fixtures::builtin().unwrap();
    let mut strays = Vec::new();
    let mut changed = 0;
    for base in fixtures.roles.values() {
        for (cell, wider) in single_cell_widenings(fixtures, base) {
            for action in fixtures.actions.iter() {
                let (was, now) = (
                    by_oracle(fixtures, action, base),
                    by_oracle(fixtures, action, &wider),
                );
                if was == now {
                    continue;
                }
                changed += 1;
                if !governs(
                    &governing(fixtures, action, &example_payload(action)),
                    &cell,
                ) {
                    strays.push(format!(
                        "{}: {was} under \"{}\", {now} once {cell} is widened, but that cell governs neither the action nor its lookups",
                        action.name, base.name
                    ));
                }
            }
        }
    }
    assert!(
        changed > 0,
        "no widening changed anything: the check proves nothing"
    );
    assert!(
        strays.is_empty(),
        "the oracle (explain, matrix):\n{}",
        strays.join("\n")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn widening_one_cell_changes_only_the_actions_it_governs_through_the_mock() {
    let (fixtures, _) = stage();
    let base = fixtures.roles["least-privilege"].clone();
    let widenings: Vec<(Cell, SecurityRole)> = single_cell_widenings(&fixtures, &base)
        .into_iter()
        .filter(|(_, wider)| {
            // Widening to My and to All governs the same actions; All is enough here.
            wider.level(
                &wider_cell(&base, wider).function,
                wider_cell(&base, wider).operation,
            ) == Level::All
        })
        .collect();
    let mut strays = Vec::new();
    let mut changed = 0;
    for action in fixtures.actions.iter() {
        let checks = governing(&fixtures, action, &example_payload(action));
        let mut bench = Bench::new(&fixtures, action).await;
        let (was, _) = bench.run(&base).await;
        for (cell, wider) in &widenings {
            let (now, evidence) = bench.run(wider).await;
            let expected = by_oracle(&fixtures, action, wider);
            if now != was {
                changed += 1;
            }
            if now != was && !governs(&checks, cell) {
                strays.push(format!(
                    "{}: {was} under \"{}\", {now} once {cell} is widened to All, but that cell governs neither the action nor its lookups\n{evidence}",
                    action.name, base.name
                ));
            } else if now != expected {
                strays.push(format!(
                    "{} with {cell} widened to All: the oracle (explain, matrix) says {expected}, the mock gave {now}\n{evidence}",
                    action.name
                ));
            }
        }
        bench.shutdown();
    }
    assert!(
        changed > 0,
        "no widening changed anything: the check proves nothing"
    );
    assert!(strays.is_empty(), "{}", strays.join("\n\n"));
}

/// The one cell where `wider` differs from `base`.
fn wider_cell(base: &SecurityRole, wider: &SecurityRole) -> Cell {
    let difference = base.cell_differences(wider).remove(0);
    Cell {
        function: difference.function,
        operation: difference.operation,
    }
}

#[test]
fn the_oracle_follows_the_document_map_of_lp_02() {
    let fixtures = Fixtures::builtin().unwrap();
    let mut unfollowed = Vec::new();
    for exercise in fixtures.exercises.iter().filter(|e| e.fields.is_empty()) {
        let action = fixtures.actions.get(&exercise.request.action).unwrap();
        let mut payload = action.fields.clone();
        payload.extend(exercise.request.fields.clone());
        let checks = governing(fixtures, action, &payload);
        if !governs(&checks, &exercise.cell) {
            unfollowed.push(format!(
                "{}: the documents (fixtures/cells.toml) say {} decides it; the oracle checks {}",
                exercise.label(),
                exercise.cell,
                checks
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
    }
    assert!(unfollowed.is_empty(), "{}", unfollowed.join("\n"));
}
