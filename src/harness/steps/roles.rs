//! Steps that give the API member a security role.

use std::fmt::Write as _;

use crate::harness::mistake;
use cucumber::gherkin::Step;
use cucumber::given;

use crate::connectwise::security::{FunctionCatalog, PermissionMap};
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
        pattern: Pattern::Regex(r#"^the role also grants "([^"]+)" ([[:word:]]+) ([[:word:]]+)$"#),
        form: "the role also grants \"<function>\" <operation> <level>",
        description: "Adds one grant to the role the member already has.",
        parameters: LEVELS,
        example: "the role also grants \"Service Desk / Service Tickets\" Add All",
        table: None,
    },
    StepDoc {
        keyword: Keyword::Given,
        pattern: Pattern::Regex(r#"^the role limits "([^"]+)" to ((?:"[^"]+"(?:, )?)+)$"#),
        form: "the role limits \"<function>\" to \"<item>\"[, \"<item>\"…]",
        description: "Ticks only these items in the Customize allow-list of a function that \
                      has one (configuration types, agreement types, setup tables): records \
                      of other items are not returned and may not be written.",
        parameters: &[
            param(
                "<function>",
                "a function with a Customize allow-list (permissions.toml [customize])",
            ),
            param("<item>", "one of its items"),
        ],
        example: "the role limits \"Companies / Configurations\" to \"Firewall\", \"Server\"",
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
    let role = if nothing.is_empty() {
        let table = step.table.as_ref().unwrap_or_else(|| {
            mistake!("the step needs a table: | function | add | edit | delete | inquire |")
        });
        inline_role(&table.rows, &world.fixtures.permissions.functions)
            .unwrap_or_else(|e| mistake!("{e}"))
    } else {
        let mut role = SecurityRole::new("", "a role written in the scenario");
        role.name = scenario_role_name(&role);
        role
    };
    world.set_role(role).await;
}

/// The role a scenario writes in a table `| function | add | edit | delete | inquire |`
/// (missing columns are `None`), named by [`scenario_role_name`].
pub(crate) fn inline_role(
    rows: &[Vec<String>],
    functions: &FunctionCatalog,
) -> Result<SecurityRole, String> {
    let header = rows
        .first()
        .ok_or_else(|| "the table needs a header row".to_owned())?;
    let mut grants = Vec::new();
    for row in rows.iter().skip(1) {
        let mut function = None;
        let mut levels = Levels::default();
        for (column, cell) in header.iter().zip(row) {
            if column.eq_ignore_ascii_case("function") {
                function = Some(known(functions, cell)?);
            } else {
                let operation: Operation =
                    column.parse().map_err(|e| format!("table column: {e}"))?;
                let level: Level = cell.parse().map_err(|e| format!("row for {row:?}: {e}"))?;
                levels.set(operation, level);
            }
        }
        grants.push((
            function.ok_or_else(|| "each row needs a function".to_owned())?,
            levels,
        ));
    }
    let mut role = SecurityRole::new("", "a role written in the scenario");
    for (function, levels) in grants {
        role.grant(function, levels);
    }
    role.name = scenario_role_name(&role);
    Ok(role)
}

/// The name of a role a scenario writes: `scenario-` and eight hexadecimal digits drawn
/// from its grants and Customize limits, so the same role always has the same name
/// (`cw-conform sandbox plan --roles scenario-…` prints it, to create on a sandbox). A role
/// without limits keeps the name its grants alone give it.
pub(crate) fn scenario_role_name(role: &SecurityRole) -> String {
    let mut text = role
        .grants()
        .filter(|(_, levels)| **levels != Levels::default())
        .fold(String::new(), |mut text, (function, levels)| {
            let _ = write!(
                text,
                "{function}:{}{}{}{};",
                levels.add, levels.edit, levels.delete, levels.inquire
            );
            text
        });
    for (function, _) in role.limited() {
        if let Some(items) = role.effective_limit(function) {
            let mut items: Vec<String> = items.iter().map(|i| i.to_lowercase()).collect();
            items.sort();
            items.dedup();
            let _ = write!(text, "{function}:customize={};", items.join(","));
        }
    }
    // FNV-1a: stable across builds and platforms.
    let hash = text.bytes().fold(0x811c_9dc5_u32, |hash, byte| {
        (hash ^ u32::from(byte)).wrapping_mul(0x0100_0193)
    });
    format!("scenario-{hash:08x}")
}

/// `Given the role also grants "Service Desk / Service Tickets" Add All`
#[given(regex = r#"^the role also grants "([^"]+)" ([[:word:]]+) ([[:word:]]+)$"#)]
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
    // A profile with one more grant is a role of the scenario's own.
    role.name = scenario_role_name(&role);
    world.set_role(role).await;
}

/// `Given the role limits "Companies / Configurations" to "Firewall", "Server"`.
#[given(regex = r#"^the role limits "([^"]+)" to ((?:"[^"]+"(?:, )?)+)$"#)]
async fn role_limits_items(world: &mut ConformanceWorld, function: String, items: String) {
    let role = world
        .role
        .clone()
        .unwrap_or_else(|| mistake!("give the member a role before limiting it"));
    let role = limited(&world.fixtures.permissions, role, &function, &items)
        .unwrap_or_else(|e| mistake!("{e}"));
    world.set_role(role).await;
}

/// `role` with the function named `function` limited to the quoted `items` (`"Firewall",
/// "Server"`) of its Customize allow-list, as the step `the role limits …` gives it: a role
/// of the scenario's own, named by [`scenario_role_name`].
pub(crate) fn limited(
    permissions: &PermissionMap,
    mut role: SecurityRole,
    function: &str,
    items: &str,
) -> Result<SecurityRole, String> {
    let function = known(&permissions.functions, function)?;
    let items: Vec<String> = items
        .split('"')
        .map(str::trim)
        .filter(|piece| !piece.is_empty() && *piece != ",")
        .map(str::to_owned)
        .collect();
    crate::fixtures::check_customize_limit(permissions, &function, &items)
        .map_err(|error| error.reason)?;
    let was = role.name.clone();
    role.limit_items(function.clone(), items.clone());
    role.name = scenario_role_name(&role);
    role.summary = format!(
        "the role \"{was}\" with \"{function}\" limited to {}",
        items
            .iter()
            .map(|i| format!("\"{i}\""))
            .collect::<Vec<_>>()
            .join(", ")
    );
    Ok(role)
}

/// A function name checked against the functions ConnectWise has.
pub(crate) fn known_function(world: &ConformanceWorld, text: &str) -> FunctionName {
    known(&world.fixtures.permissions.functions, text).unwrap_or_else(|e| mistake!("{e}"))
}

fn known(functions: &FunctionCatalog, text: &str) -> Result<FunctionName, String> {
    let name: FunctionName = text.parse().map_err(|e| format!("{e}"))?;
    functions
        .find(&name.module, &name.function)
        .cloned()
        .ok_or_else(|| {
            let known: Vec<String> = functions.iter().map(ToString::to_string).collect();
            format!(
                "unknown security function \"{text}\"{}; `cw-conform roles full-access` lists \
                 every function",
                crate::model::spelling::did_you_mean(text, known.iter().map(String::as_str))
            )
        })
}
