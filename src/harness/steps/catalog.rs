//! Steps that run every action of the catalog (or of a workflow) with its example request:
//! the exhaustive checks of OV-01 and CL-03.

use crate::harness::mistake;
use cucumber::{given, then};

use super::roles::known_function;
use crate::harness::world::ConformanceWorld;
use serde_json::Value;

use crate::harness::arrange;
use crate::integration::{ActionRequest, Subject, ToolResult};
use crate::model::{Action, ActionKind, Level, Outcome};
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
async fn run_confirmed(
    world: &mut ConformanceWorld,
    action: &Action,
    records: Records,
) -> (ToolResult, bool) {
    let request = example_request(world, action, records).await;
    let result = world.perform(&request).await;
    match &result.confirmation {
        Some(held) => (world.confirm(held.token, true).await, true),
        None => (result, false),
    }
}

/// Which records the actions of a sweep act on, on a sandbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Records {
    /// Records of its own for each action: the actions are meant to go through.
    Fresh,
    /// One record of each kind: the actions are meant to be refused, so the records stay as
    /// they are. On a sandbox they are the run's, shared by every such sweep (a sweep costs
    /// no create once the first has made them; see [`arrange::shared_record`]).
    Shared,
}

/// The request an action's catalog example describes. On a sandbox the records it names
/// are records the setup member arranged for it, never the sandbox's own: the record (or
/// the parent of a child collection) of the subject, the child record a child action's
/// `id` names, and the records of the subject's kind a list of ids names
/// (`mergeTicketIds`). A new record carries the run's mark; an update keeps it.
async fn example_request(
    world: &mut ConformanceWorld,
    action: &Action,
    records: Records,
) -> ActionRequest {
    let mut request = ActionRequest::example(action);
    let Some(run) = world.sandbox().cloned() else {
        return request;
    };
    // A document is attached to the record its `recordType` names (a ticket): the parent
    // of the child endpoint with that parent type.
    let attached_to = request.fields.get("recordType").and_then(|kind| {
        world.fixtures.permissions.endpoints.iter().find_map(|e| {
            let parent_type = e.parent_type.as_ref()?;
            (e.collection == action.resource && Some(parent_type.value.as_str()) == kind.as_str())
                .then(|| e.path.split_once("/{parentId}").map(|(p, _)| p.to_owned()))
                .flatten()
        })
    });
    let (subject_path, child_path) = match (&attached_to, action.path.split_once("/{parentId}")) {
        (Some(parent), _) => (parent.as_str(), None),
        (None, Some((parent, _))) => (parent, Some(action.path.as_str())),
        (None, None) => (action.path.as_str(), None),
    };
    let mut path = action.path.clone();
    if let (Some(Subject::Id(_)), Some(kind)) = (
        &request.subject,
        arrange::kind_at(&world.fixtures, subject_path),
    ) {
        let user = match records {
            Records::Fresh => action.name.as_str(),
            Records::Shared => "the catalog",
        };
        let (name, subject) = match records {
            Records::Fresh => arrange::example_record(world, kind, user, None).await,
            Records::Shared => arrange::shared_record(world, kind, user, None).await,
        };
        request.subject = Some(Subject::Id(subject.id));
        path = action.path.replace("{parentId}", &subject.id.to_string());
        let child = child_path.and_then(|p| arrange::kind_at(&world.fixtures, p));
        if let (true, Some(child)) = (request.fields.contains_key("id"), child) {
            let (_, record) = match records {
                Records::Fresh => arrange::example_record(world, child, user, Some(&name)).await,
                Records::Shared => arrange::shared_record(world, child, user, Some(&name)).await,
            };
            request.fields.insert("id".into(), Value::from(record.id));
        }
        let lists: Vec<String> = request
            .fields
            .iter()
            .filter(|(field, value)| field.ends_with("Ids") && value.is_array())
            .map(|(field, _)| field.clone())
            .collect();
        for field in lists {
            let count = request.fields[&field].as_array().map_or(0, Vec::len);
            let mut ids = Vec::new();
            for n in 0..count {
                let name = format!("{user} {field} {}", n + 1);
                let (_, record) = match records {
                    Records::Fresh => arrange::example_record(world, kind, &name, None).await,
                    Records::Shared => arrange::shared_record(world, kind, &name, None).await,
                };
                ids.push(Value::from(record.id));
            }
            request.fields.insert(field, Value::Array(ids));
        }
    }
    match (&request.subject, action.kind) {
        (_, ActionKind::Create | ActionKind::Attach) => {
            arrange::mark(&mut request.fields, &run.ledger.next_mark());
        }
        (Some(Subject::Id(id)), _) => {
            let record = super::actions::record_path(action, &path, *id, &request.fields);
            super::actions::keep_mark(&mut request.fields, &run.ledger, &record);
        }
        _ => {}
    }
    request
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
        let (result, confirmed) = run_confirmed(world, action, Records::Shared).await;
        if !matches!(result.outcome, Outcome::Denied | Outcome::Blocked) {
            wrong.push(line(action, &result, confirmed));
        }
    }
    let accepted: Vec<_> = world
        .journal()
        .into_iter()
        .filter(|e| e.is_write() && e.succeeded())
        .collect();
    if !accepted.is_empty() {
        arrange::forget_shared_records(world).await;
    }
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
        let (result, confirmed) = run_confirmed(world, action, Records::Fresh).await;
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
        let (result, confirmed) = run_confirmed(world, action, Records::Shared).await;
        if result.outcome == Outcome::Allowed {
            wrong.push(line(action, &result, confirmed));
        }
    }
    if !wrong.is_empty() {
        arrange::forget_shared_records(world).await;
    }
    assert!(
        wrong.is_empty(),
        "writes outside \"{workflow}\" that worked:\n  {}",
        wrong.join("\n  ")
    );
}
