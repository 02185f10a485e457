//! Steps that run every action of the catalog (or of a workflow) with its example request:
//! the exhaustive checks of OV-01 and CL-03.

use crate::harness::mistake;
use cucumber::{given, then};

use super::roles::known_function;
use crate::harness::world::ConformanceWorld;
use crate::integration::{ActionRequest, ToolResult};
use crate::model::{Action, Level, Outcome};
use crate::oracle;

use super::{Keyword, Pattern, StepDoc, param};

const WORKFLOW: &str =
    "a workflow of the action catalog (`cw-conform actions` shows each action's)";

/// The listing of these steps for `cw-conform steps`.
pub(super) const STEPS: &[StepDoc] = &[
    StepDoc {
        keyword: Keyword::Given,
        pattern: Pattern::Expression(
            "the write permissions of the workflow {string} are added to the role",
        ),
        form: "the write permissions of the workflow \"<workflow>\" are added to the role",
        description: "Grants (All) exactly the write permissions one workflow needs, on top of \
                      the member's role.",
        parameters: &[param("<workflow>", WORKFLOW)],
        example: "the write permissions of the workflow \"time\" are added to the role",
        table: None,
    },
    StepDoc {
        keyword: Keyword::Then,
        pattern: Pattern::Regex(
            r"^every action in the catalog is (?:denied or blocked|blocked or denied)$",
        ),
        form: "every action in the catalog is denied or blocked",
        description: "Runs every catalog action with its example (confirming held ones): none \
                      may be allowed, and ConnectWise may accept no write.",
        parameters: &[],
        example: "every action in the catalog is denied or blocked",
        table: None,
    },
    StepDoc {
        keyword: Keyword::Then,
        pattern: Pattern::Regex(
            r"^every write in the catalog is (?:denied or blocked|blocked or denied)$",
        ),
        form: "every write in the catalog is denied or blocked",
        description: "Runs every write action of the catalog, deletes included, with its example \
                      (confirming held ones): none may be allowed.",
        parameters: &[],
        example: "every write in the catalog is denied or blocked",
        table: None,
    },
    StepDoc {
        keyword: Keyword::Then,
        pattern: Pattern::Expression("every write of the workflow {string} is allowed"),
        form: "every write of the workflow \"<workflow>\" is allowed",
        description: "Runs every write action of the workflow with its example (confirming \
                      held ones): each must be allowed.",
        parameters: &[param("<workflow>", WORKFLOW)],
        example: "every write of the workflow \"time\" is allowed",
        table: None,
    },
    StepDoc {
        keyword: Keyword::Then,
        pattern: Pattern::Expression("no write of another workflow is allowed"),
        form: "no write of another workflow is allowed",
        description: "Runs every write action outside the workflow added last: none may be \
                      allowed.",
        parameters: &[],
        example: "no write of another workflow is allowed",
        table: None,
    },
];

/// Runs an action's example; a held action is confirmed, so the result is what ConnectWise
/// (or the policy) finally decided.
async fn run_confirmed(world: &mut ConformanceWorld, action: &Action) -> (ToolResult, bool) {
    let result = world.perform(&ActionRequest::example(action)).await;
    match &result.confirmation {
        Some(held) => (world.confirm(held.token, true).await, true),
        None => (result, false),
    }
}

fn line(action: &Action, result: &ToolResult, confirmed: bool) -> String {
    let via = if confirmed {
        "escalated, confirmed, then "
    } else {
        ""
    };
    format!(
        "{:<24} {via}{}: {}",
        action.name, result.outcome, result.message
    )
}

/// OV-01: whatever the action, a role without the permission never gets it allowed.
#[then(regex = r"^every action in the catalog is (?:denied or blocked|blocked or denied)$")]
async fn every_action_refused(world: &mut ConformanceWorld) {
    let actions: Vec<Action> = world.fixtures.actions.iter().cloned().collect();
    refuse_all(world, &actions, "actions").await;
}

/// OV-03, CL-02: a read-only role gets no write of the catalog through, deletes included
/// (a held write is confirmed, so the role has the last word).
#[then(regex = r"^every write in the catalog is (?:denied or blocked|blocked or denied)$")]
async fn every_write_refused(world: &mut ConformanceWorld) {
    let actions: Vec<Action> = world
        .fixtures
        .actions
        .iter()
        .filter(|a| a.writes())
        .cloned()
        .collect();
    refuse_all(world, &actions, "writes").await;
}

/// Runs each action (confirming a held one); each must be denied or blocked, and
/// ConnectWise must have accepted no write.
async fn refuse_all(world: &mut ConformanceWorld, actions: &[Action], what: &str) {
    let mut wrong = Vec::new();
    for action in actions {
        let (result, confirmed) = run_confirmed(world, action).await;
        if !matches!(result.outcome, Outcome::Denied | Outcome::Blocked) {
            wrong.push(line(action, &result, confirmed));
        }
    }
    let accepted: Vec<_> = world
        .journal()
        .into_iter()
        .filter(|e| e.is_write() && e.succeeded())
        .collect();
    assert!(
        wrong.is_empty() && accepted.is_empty(),
        "{} of {} {what} were not denied or blocked:\n  {}\nwrites ConnectWise accepted: {accepted:?}",
        wrong.len(),
        actions.len(),
        wrong.join("\n  ")
    );
}

/// CL-03: the role gets exactly the permissions one workflow's writes need (their own, and
/// the lookups of the records they name), on top of the role it has.
#[given(expr = "the write permissions of the workflow {string} are added to the role")]
async fn add_workflow_grants(world: &mut ConformanceWorld, workflow: String) {
    let grants = oracle::workflow_grants(&world.fixtures, &workflow);
    assert!(
        !grants.is_empty(),
        "the workflow \"{workflow}\" has no write that needs a permission (run `cw-conform actions` for the workflows)"
    );
    let mut role = world
        .role
        .clone()
        .unwrap_or_else(|| mistake!("give the member a role first"));
    for needed in grants {
        let function = known_function(world, &needed.function.to_string());
        let mut levels = role.levels(&function);
        levels.set(needed.operation, Level::All);
        role.grant(function, levels);
    }
    role.name = format!("{} + {workflow}", role.name);
    world.set_role(role).await;
}

#[then(expr = "every write of the workflow {string} is allowed")]
async fn workflow_writes_allowed(world: &mut ConformanceWorld, workflow: String) {
    let actions: Vec<Action> = world
        .fixtures
        .actions
        .iter()
        .filter(|a| a.workflow == workflow && a.writes())
        .cloned()
        .collect();
    assert!(
        !actions.is_empty(),
        "the workflow \"{workflow}\" has no writes"
    );
    let mut wrong = Vec::new();
    for action in &actions {
        let (result, confirmed) = run_confirmed(world, action).await;
        if result.outcome != Outcome::Allowed {
            wrong.push(line(action, &result, confirmed));
        }
    }
    assert!(
        wrong.is_empty(),
        "writes of \"{workflow}\" that did not work:\n  {}",
        wrong.join("\n  ")
    );
}

#[then(expr = "no write of another workflow is allowed")]
async fn other_writes_refused(world: &mut ConformanceWorld) {
    let granted = world
        .role
        .as_ref()
        .map(|r| r.name.clone())
        .unwrap_or_default();
    let workflow = granted.rsplit(" + ").next().unwrap_or_default().to_owned();
    let actions: Vec<Action> = world
        .fixtures
        .actions
        .iter()
        .filter(|a| a.workflow != workflow && a.writes())
        .cloned()
        .collect();
    let mut wrong = Vec::new();
    for action in &actions {
        let (result, confirmed) = run_confirmed(world, action).await;
        if result.outcome == Outcome::Allowed {
            wrong.push(line(action, &result, confirmed));
        }
    }
    assert!(
        wrong.is_empty(),
        "writes outside \"{workflow}\" that worked:\n  {}",
        wrong.join("\n  ")
    );
}
