//! Steps that give the API member a security role.

use crate::harness::mistake;
use cucumber::gherkin::Step;
use cucumber::given;

use crate::harness::world::ConformanceWorld;
use crate::model::{FunctionName, Level, Levels, Operation, SecurityRole};

use super::{Keyword, Parameter, Pattern, StepDoc, param};

const LEVELS: &[Parameter] = &[
    param("<function>", "a security function, \"Module / Function\""),
    param("<operation>", "Add, Edit, Delete or Inquire"),
    param("<level>", "None, My or All"),
];

/// The listing of these steps for `cw-conform steps`.
pub(super) const STEPS: &[StepDoc] = &[
    StepDoc {
        keyword: Keyword::Given,
        pattern: Pattern::Expression("an API member with the role {string}"),
        form: "an API member with the role \"<role>\"",
        description: "The integration signs in as an API member with a built-in role profile \
                      or a role file.",
        parameters: &[param(
            "<role>",
            "a role profile (`cw-conform roles`) or the path of a role .toml file",
        )],
        example: "an API member with the role \"least-privilege\"",
        table: None,
    },
    StepDoc {
        keyword: Keyword::Given,
        pattern: Pattern::Regex(r"^an API member whose role grants( nothing)?:?$"),
        form: "an API member whose role grants[ nothing]:",
        description: "A role written in the scenario: one table row per security function \
                      (missing operation columns are None), or no grant at all.",
        parameters: &[],
        example: "an API member whose role grants:",
        table: Some(
            "| function                      | add  | edit | delete | inquire |\n\
             | Service Desk / Service Tickets | None | None | None   | All     |",
        ),
    },
    StepDoc {
        keyword: Keyword::Given,
        pattern: Pattern::Regex(r#"^the role also grants "([^"]+)" (\w+) (\w+)$"#),
        form: "the role also grants \"<function>\" <operation> <level>",
        description: "Adds one grant to the role the member already has.",
        parameters: LEVELS,
        example: "the role also grants \"Service Desk / Service Tickets\" Add All",
        table: None,
    },
];

#[given(expr = "an API member with the role {string}")]
async fn member_with_role(world: &mut ConformanceWorld, name: String) {
    let role = world
        .fixtures
        .role(&name)
        .unwrap_or_else(|e| mistake!("{e}"));
    world.set_role(role).await;
}

/// `Given an API member whose role grants:` with a table
/// `| function | add | edit | delete | inquire |` (missing columns are `None`).
#[given(regex = r"^an API member whose role grants( nothing)?:?$")]
async fn member_with_inline_role(world: &mut ConformanceWorld, nothing: String, step: &Step) {
    let mut role = SecurityRole::new("scenario role", "a role written in the scenario");
    if nothing.is_empty() {
        let table = step.table.as_ref().unwrap_or_else(|| {
            mistake!("the step needs a table: | function | add | edit | delete | inquire |")
        });
        let header = table
            .rows
            .first()
            .unwrap_or_else(|| mistake!("the table needs a header row"));
        for row in table.rows.iter().skip(1) {
            let mut function = None;
            let mut levels = Levels::default();
            for (column, cell) in header.iter().zip(row) {
                if column.eq_ignore_ascii_case("function") {
                    function = Some(known_function(world, cell));
                } else {
                    let operation: Operation = column
                        .parse()
                        .unwrap_or_else(|e| mistake!("table column: {e}"));
                    let level: Level = cell
                        .parse()
                        .unwrap_or_else(|e| mistake!("row for {row:?}: {e}"));
                    levels.set(operation, level);
                }
            }
            role.grant(
                function.unwrap_or_else(|| mistake!("each row needs a function")),
                levels,
            );
        }
    }
    world.set_role(role).await;
}

/// `Given the role also grants "Service Desk / Service Tickets" Add All`
#[given(regex = r#"^the role also grants "([^"]+)" (\w+) (\w+)$"#)]
async fn role_also_grants(
    world: &mut ConformanceWorld,
    function: String,
    operation: String,
    level: String,
) {
    let function = known_function(world, &function);
    let operation: Operation = operation.parse().unwrap_or_else(|e| mistake!("{e}"));
    let level: Level = level.parse().unwrap_or_else(|e| mistake!("{e}"));
    let mut role = world
        .role
        .clone()
        .unwrap_or_else(|| mistake!("give the member a role before adding grants"));
    let mut levels = role.levels(&function);
    levels.set(operation, level);
    role.grant(function, levels);
    world.set_role(role).await;
}

/// A function name checked against the functions ConnectWise has.
pub(crate) fn known_function(world: &ConformanceWorld, text: &str) -> FunctionName {
    let name: FunctionName = text.parse().unwrap_or_else(|e| mistake!("{e}"));
    world
        .fixtures
        .permissions
        .functions
        .find(&name.module, &name.function)
        .cloned()
        .unwrap_or_else(|| {
            let known: Vec<String> = world
                .fixtures
                .permissions
                .functions
                .iter()
                .map(ToString::to_string)
                .collect();
            mistake!(
                "unknown security function \"{text}\"{}; `cw-conform roles full-access` lists \
                 every function",
                crate::model::spelling::did_you_mean(text, known.iter().map(String::as_str))
            )
        })
}
