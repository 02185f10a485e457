//! Steps about the security role as ConnectWise enforces it: what `/system/mySecurity`
//! reports, and what each cell of the role lets the integration's actions do (LP-02, by
//! behaviour: [`crate::cells`] judges, these steps only glue it to Gherkin).

use std::collections::BTreeSet;
use std::sync::Arc;

use crate::harness::mistake;
use cucumber::gherkin::Step;
use cucumber::then;
use futures::future::BoxFuture;
use serde_json::Value;

use super::roles::known_function;
use crate::cells::{self, Cell, Stage, Staged};
use crate::fixtures::Fixtures;
use crate::harness::context::RunContext;
use crate::harness::world::{API_MEMBER, CLIENT_ID, ConformanceWorld};
use crate::integration::mcp::McpIntegration;
use crate::integration::{Integration, ReferenceIntegration};
use crate::mock::{ApiMember, MockConfig, MockConnectWise};
use crate::model::{Level, Levels, Operation, SecurityRole};

use super::{Keyword, Pattern, StepDoc, param};

const LEVELS: &[super::Parameter] = &[
    param("<function>", "a security function, \"Module / Function\""),
    param("<level>", "None, My or All, for each operation"),
];

/// The listing of these steps for `cw-conform steps`.
pub(super) const STEPS: &[StepDoc] = &[
    StepDoc {
        keyword: Keyword::Then,
        pattern: Pattern::Regex(
            r#"^ConnectWise reports "([^"]+)" as Add ([[:word:]]+), Edit ([[:word:]]+), Delete ([[:word:]]+) and Inquire ([[:word:]]+)$"#,
        ),
        form: "ConnectWise reports \"<function>\" as Add <level>, Edit <level>, Delete <level> \
               and Inquire <level>",
        description: "What /system/mySecurity reports for the member's role.",
        parameters: LEVELS,
        example: "ConnectWise reports \"Companies / Contacts\" as Add All, Edit All, Delete None \
                  and Inquire All",
        table: None,
    },
    StepDoc {
        keyword: Keyword::Then,
        pattern: Pattern::Regex(
            r#"^the integration's actions find "([^"]+)" to be Add ([[:word:]]+), Edit ([[:word:]]+), Delete ([[:word:]]+) and Inquire ([[:word:]]+)$"#,
        ),
        form: "the integration's actions find \"<function>\" to be Add <level>, Edit <level>, \
               Delete <level> and Inquire <level>",
        description: "The role grants the function these levels, and each cell an action can \
                      exercise (fixtures/cells.toml) decides it: the action succeeds where the \
                      level allows it and is denied where it does not, and flipping the cell \
                      alone flips the outcome. Each run is on a fresh ConnectWise.",
        parameters: LEVELS,
        example: "the integration's actions find \"Companies / Contacts\" to be Add All, Edit \
                  All, Delete All and Inquire All",
        table: None,
    },
    StepDoc {
        keyword: Keyword::Then,
        pattern: Pattern::Text("no action can exercise these cells of the role:"),
        form: "no action can exercise these cells of the role:",
        description: "The cells of the member's role that no exercise in fixtures/cells.toml \
                      names are exactly the table's rows, so the list cannot grow unnoticed.",
        parameters: &[],
        example: "no action can exercise these cells of the role:",
        table: Some("| function | operation |"),
    },
    StepDoc {
        keyword: Keyword::Then,
        pattern: Pattern::Regex(
            r#"^ConnectWise reports the Customize items of "([^"]+)" as ((?:"[^"]+"(?:, )?)+)$"#,
        ),
        form: "ConnectWise reports the Customize items of \"<function>\" as \"<item>\"[, \
               \"<item>\"…]",
        description: "What /system/mySecurity/customizeItems lists for the member's role and \
                      the function, in any order.",
        parameters: &[
            param("<function>", "a function with a Customize allow-list"),
            param("<item>", "an item the role allows"),
        ],
        example: "ConnectWise reports the Customize items of \"Companies / Configurations\" \
                  as \"Firewall\"",
        table: None,
    },
];

fn levels_from(add: &str, edit: &str, delete: &str, inquire: &str) -> Levels {
    let parse = |text: &str| text.parse::<Level>().unwrap_or_else(|e| mistake!("{e}"));
    Levels {
        add: parse(add),
        edit: parse(edit),
        delete: parse(delete),
        inquire: parse(inquire),
    }
}

#[then(
    regex = r#"^ConnectWise reports "([^"]+)" as Add ([[:word:]]+), Edit ([[:word:]]+), Delete ([[:word:]]+) and Inquire ([[:word:]]+)$"#
)]
async fn reports_levels(
    world: &mut ConformanceWorld,
    function: String,
    add: String,
    edit: String,
    delete: String,
    inquire: String,
) {
    let function = known_function(world, &function);
    let expected = levels_from(&add, &edit, &delete, &inquire);
    let client = world.client().await;
    let response = client
        .get("/system/mySecurity", &[])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        response.status, 200,
        "GET /system/mySecurity answered {}",
        response.status
    );
    let row = response
        .body
        .as_array()
        .and_then(|rows| {
            rows.iter().find(|r| {
                r.get("moduleName").and_then(Value::as_str) == Some(function.module.as_str())
                    && r.get("moduleFunctionName").and_then(Value::as_str)
                        == Some(function.function.as_str())
            })
        })
        .unwrap_or_else(|| panic!("/system/mySecurity has no row for {function}"));
    let level = |key: &str| {
        row.get(key)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .parse::<Level>()
            .unwrap_or_else(|e| panic!("{e}"))
    };
    let reported = Levels {
        add: level("addLevel"),
        edit: level("editLevel"),
        delete: level("deleteLevel"),
        inquire: level("inquireLevel"),
    };
    assert_eq!(
        reported, expected,
        "ConnectWise reports {function} as {reported}, the table says {expected}"
    );
}

#[then(
    regex = r#"^ConnectWise reports the Customize items of "([^"]+)" as ((?:"[^"]+"(?:, )?)+)$"#
)]
async fn reports_customize_items(world: &mut ConformanceWorld, function: String, items: String) {
    let function = known_function(world, &function);
    let expected: BTreeSet<String> = items
        .split('"')
        .map(str::trim)
        .filter(|piece| !piece.is_empty() && *piece != ",")
        .map(str::to_owned)
        .collect();
    let identifier = function.identifier();
    let client = world.client().await;
    let response = client
        .get("/system/mySecurity/customizeItems", &[])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        response.status, 200,
        "GET /system/mySecurity/customizeItems answered {}",
        response.status
    );
    let reported: BTreeSet<String> = response
        .body
        .as_array()
        .into_iter()
        .flatten()
        .filter(|item| {
            item["customizeIdentifier"]
                .as_str()
                .is_some_and(|c| c.eq_ignore_ascii_case(&identifier))
        })
        .filter_map(|item| item["itemIdentifier"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(
        reported, expected,
        "ConnectWise reports the Customize items of {function} as {reported:?}, expected {expected:?}"
    );
}

/// The integration under test on a fresh mock ConnectWise for each run: the reference
/// integration, or the run's MCP server started for the run's API member.
struct ScenarioStage {
    fixtures: Arc<Fixtures>,
    run: Arc<RunContext>,
}

impl Stage for ScenarioStage {
    fn stage(&self, role: SecurityRole) -> BoxFuture<'_, Staged> {
        Box::pin(async move {
            let config = MockConfig {
                client_ids: vec![CLIENT_ID.to_owned()],
                ..MockConfig::default()
            };
            let mock = MockConnectWise::start(Arc::clone(&self.fixtures), config).await;
            mock.add_member(ApiMember::with_role(API_MEMBER, role));
            let credentials = mock
                .credentials_for(API_MEMBER)
                .expect("the API member was just added");
            let integration: Arc<dyn Integration> = match &self.run.mcp {
                Some(mcp) => Arc::new(
                    McpIntegration::start(
                        Arc::clone(&mcp.config),
                        Arc::clone(&self.fixtures),
                        &credentials,
                        vec![mock.journal_reader()],
                        &mcp.slots,
                    )
                    .await
                    .unwrap_or_else(|failure| panic!("{failure}")),
                ),
                None => Arc::new(ReferenceIntegration::new(
                    crate::connectwise::Client::new(credentials).unwrap_or_else(|e| panic!("{e}")),
                    Arc::clone(&self.fixtures),
                )),
            };
            Staged { integration, mock }
        })
    }
}

/// The role's levels for the function are the table's, and every cell an action can
/// exercise decides that action's outcome through the integration.
#[then(
    regex = r#"^the integration's actions find "([^"]+)" to be Add ([[:word:]]+), Edit ([[:word:]]+), Delete ([[:word:]]+) and Inquire ([[:word:]]+)$"#
)]
async fn actions_find_levels(
    world: &mut ConformanceWorld,
    function: String,
    add: String,
    edit: String,
    delete: String,
    inquire: String,
) {
    let function = known_function(world, &function);
    let expected = levels_from(&add, &edit, &delete, &inquire);
    let role = world
        .role
        .clone()
        .unwrap_or_else(|| mistake!("no API member role was chosen before this step"));
    let granted = role.levels(&function);
    assert_eq!(
        granted, expected,
        "the role \"{}\" grants {function} {granted}, the table says {expected}",
        role.name
    );
    let stage = ScenarioStage {
        fixtures: Arc::clone(&world.fixtures),
        run: Arc::clone(world.run()),
    };
    let checked = cells::check_function(&stage, &world.fixtures.exercises, &role, &function)
        .await
        .unwrap_or_else(|error| crate::harness::not_judged(&error));
    // The cell was exercised through the integration's own actions.
    world.performed += 1;
    // The stage servers are judged as the scenario's own: their findings fail it at its end.
    world.keep_findings(checked.findings);
    let mismatches = checked.mismatches;
    assert!(
        mismatches.is_empty(),
        "{function} ({expected}) does not decide what the integration's actions do:\n\n{}",
        mismatches
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n\n")
    );
}

/// The cells of the role no exercise names are exactly the table's.
#[then("no action can exercise these cells of the role:")]
async fn unexercised_cells(world: &mut ConformanceWorld, step: &Step) {
    let role = world
        .role
        .clone()
        .unwrap_or_else(|| mistake!("no API member role was chosen before this step"));
    let table = step
        .table
        .as_ref()
        .unwrap_or_else(|| mistake!("this step needs a table: | function | operation |"));
    let header: Vec<&str> = table.rows[0].iter().map(String::as_str).collect();
    if header != ["function", "operation"] {
        mistake!("the table's columns are {header:?}; expected | function | operation |");
    }
    let listed: BTreeSet<Cell> = table.rows[1..]
        .iter()
        .map(|row| Cell {
            function: known_function(world, &row[0]),
            operation: row[1]
                .parse::<Operation>()
                .unwrap_or_else(|e| mistake!("{e}")),
        })
        .collect();
    let found: BTreeSet<Cell> = cells::unexercised(&world.fixtures.exercises, &role)
        .into_iter()
        .collect();
    let unlisted: Vec<String> = found.difference(&listed).map(ToString::to_string).collect();
    let exercised: Vec<String> = listed.difference(&found).map(ToString::to_string).collect();
    assert!(
        unlisted.is_empty() && exercised.is_empty(),
        "the cells of \"{}\" no action exercises differ from the list.\n  no action exercises, \
         but not listed: {unlisted:?}\n  listed, but an action exercises (or the role has no \
         such cell): {exercised:?}",
        role.name
    );
}
