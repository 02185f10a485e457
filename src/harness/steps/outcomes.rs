//! Steps that check the tool result the AI received.

use crate::harness::mistake;
use std::collections::BTreeSet;

use cucumber::then;

use crate::harness::world::ConformanceWorld;
use crate::integration::mcp::reply::{Records, unnamed_permission_parts};
use crate::model::Outcome;

use super::{Keyword, Pattern, StepDoc, param};

/// The listing of these steps for `cw-conform steps`.
pub(super) const STEPS: &[StepDoc] = &[
    StepDoc {
        keyword: Keyword::Then,
        pattern: Pattern::Regex(r"^the outcome is ([[:word:]]+)$"),
        form: "the outcome is <outcome>",
        description: "The outcome of the last action.",
        parameters: &[param(
            "<outcome>",
            "allowed, denied, blocked, escalated, rejected, partial, unauthenticated or failed",
        )],
        example: "the outcome is denied",
        table: None,
    },
    StepDoc {
        keyword: Keyword::Then,
        pattern: Pattern::Expression("the AI is told {string}"),
        form: "the AI is told \"<text>\"",
        description: "The tool result's message contains the text (ignoring case).",
        parameters: &[param("<text>", "any text")],
        example: "the AI is told \"nothing was written\"",
        table: None,
    },
    StepDoc {
        keyword: Keyword::Then,
        pattern: Pattern::Text("the AI is told it has no access"),
        form: "the AI is told it has no access",
        description: "The action was denied, the result says so in words an AI understands, \
                      and it returns no data as if it had worked.",
        parameters: &[],
        example: "the AI is told it has no access",
        table: None,
    },
    StepDoc {
        keyword: Keyword::Then,
        pattern: Pattern::Regex(
            r#"^the AI is told it needs "([^"]+) / ([^"]+)" (Add|Edit|Delete|Inquire)$"#,
        ),
        form: "the AI is told it needs \"<function>\" <operation>",
        description: "The result names the module, the function and the operation the workflow \
                      needs, each as whole words in any order and case.",
        parameters: &[
            param("<function>", "a security function, \"Module / Function\""),
            param("<operation>", "Add, Edit, Delete or Inquire"),
        ],
        example: "the AI is told it needs \"Service Desk / Service Tickets\" Add",
        table: None,
    },
    StepDoc {
        keyword: Keyword::Then,
        pattern: Pattern::Regex(r"^the result lists ([0-9,]+) records?$"),
        form: "the result lists <count> record[s]",
        description: "The number of records the result returned (in JSON, a Markdown table, \
                      a list or sentences).",
        parameters: &[param("<count>", "a whole number (1200 or 1,200)")],
        example: "the result lists 2 records",
        table: None,
    },
    StepDoc {
        keyword: Keyword::Then,
        pattern: Pattern::Regex(r"^the result lists exactly (#[0-9]+(?:(?:,| and) #[0-9]+)*)$"),
        form: "the result lists exactly #<id>[, #<id> and #<id>]",
        description: "The ids of the records the result returned, no more and no fewer.",
        parameters: &[param("<id>", "a record number")],
        example: "the result lists exactly #1001, #1002 and #1003",
        table: None,
    },
    StepDoc {
        keyword: Keyword::Then,
        pattern: Pattern::Regex(
            r#"^the result (includes|does not include) (?:the )?[[:word:]]+(?: [[:word:]]+)? "([^"]+)"$"#,
        ),
        form: "the result includes|does not include [the ]<kind> \"<name>\"",
        description: "Whether a returned record has this name, identifier, summary or last \
                      name (ignoring case), in whichever form the result writes its records \
                      (JSON, a Markdown table, a list or sentences).",
        parameters: &[
            param(
                "<kind>",
                "one or two words naming the record kind (`work type`), for the reader",
            ),
            param("<name>", "the name, identifier, summary or last name"),
        ],
        example: "the result includes the company \"Acme Corporation\"",
        table: None,
    },
    StepDoc {
        keyword: Keyword::Then,
        pattern: Pattern::Expression("the result names the missing fields {string}"),
        form: "the result names the missing fields \"<fields>\"",
        description: "A partial result lists exactly these missing fields, and its message \
                      names each.",
        parameters: &[param("<fields>", "field names, comma-separated")],
        example: "the result names the missing fields \"contact, site\"",
        table: None,
    },
    StepDoc {
        keyword: Keyword::Then,
        pattern: Pattern::Regex(r"^the result cites rule ([A-Z]+-[0-9]+)$"),
        form: "the result cites rule <rule>",
        description: "The rule the integration gave for blocking or holding the action.",
        parameters: &[param("<rule>", "a rule ID (`cw-conform rules`)")],
        example: "the result cites rule SAFE-01",
        table: None,
    },
    StepDoc {
        keyword: Keyword::Then,
        pattern: Pattern::Expression("the confirmation names the fields {string}"),
        form: "the confirmation names the fields \"<fields>\"",
        description: "The held action's confirmation names each of these fields, so a person \
                      can decide.",
        parameters: &[param("<fields>", "field names, comma-separated")],
        example: "the confirmation names the fields \"customerPO\"",
        table: None,
    },
];

#[then(regex = r"^the outcome is ([[:word:]]+)$")]
async fn outcome_is(world: &mut ConformanceWorld, expected: String) {
    let expected: Outcome = expected.parse().unwrap_or_else(|e| mistake!("{e}"));
    let observed = world.result().outcome;
    assert!(
        observed == expected,
        "expected outcome {expected}, observed {observed}\n{}",
        world.evidence()
    );
}

#[then(expr = "the AI is told {string}")]
async fn told(world: &mut ConformanceWorld, text: String) {
    let message = &world.result().message;
    assert!(
        message.to_lowercase().contains(&text.to_lowercase()),
        "the tool result does not say \"{text}\"\n{}",
        world.evidence()
    );
}

/// LP-03: a refusal is explained, not swallowed: the result says there is no access (in
/// words an AI understands) and returns no data as if it had worked.
#[then("the AI is told it has no access")]
async fn told_no_access(world: &mut ConformanceWorld) {
    const SAYS_NO_ACCESS: [&str; 7] = [
        "no access",
        "access denied",
        "permission",
        "not allowed",
        "forbidden",
        "not authorized",
        "403",
    ];
    let result = world.result();
    assert_eq!(
        result.outcome,
        Outcome::Denied,
        "expected a denial\n{}",
        world.evidence()
    );
    let message = result.message.to_lowercase();
    assert!(
        SAYS_NO_ACCESS.iter().any(|p| message.contains(p)),
        "the result does not tell the AI it has no access\n{}",
        world.evidence()
    );
    assert!(
        result.data.is_null(),
        "a denied action returned data as if it had worked: {}",
        result.data
    );
}

/// TS-03: the result names the module, function and operation the workflow needs, in any
/// order, wording and case ("Service Desk / Service Tickets permission Add", "the Add level
/// of Service Tickets in Service Desk").
#[then(regex = r#"^the AI is told it needs "([^"]+) / ([^"]+)" (Add|Edit|Delete|Inquire)$"#)]
async fn told_needs(
    world: &mut ConformanceWorld,
    module: String,
    function: String,
    operation: String,
) {
    let unnamed = unnamed_permission_parts(&world.result().message, &module, &function, &operation);
    assert!(
        unnamed.is_empty(),
        "expected the result to name the module \"{module}\", the function \"{function}\" and the operation \"{operation}\" (in any order and wording); it does not name {}\n{}",
        unnamed.join(" or "),
        world.evidence()
    );
}

/// The records the result holds, in whichever form the integration wrote them
/// ([`Records::read`]: JSON, a `{"result": …}` wrapper, Markdown tables, record lines).
pub(super) fn records(world: &ConformanceWorld) -> Records<'_> {
    Records::read(&world.result().data)
}

fn ids(world: &ConformanceWorld) -> BTreeSet<i64> {
    records(world).ids().into_iter().collect()
}

/// `the result lists 10 records`, `the result lists 1,200 records`
#[then(regex = r"^the result lists ([0-9,]+) records?$")]
async fn lists_count(world: &mut ConformanceWorld, count: String) {
    let count = super::paging::number(&count);
    let records = records(world);
    let listed = records.len();
    let ids: Vec<i64> = records
        .ids()
        .into_iter()
        .collect::<BTreeSet<i64>>()
        .into_iter()
        .collect();
    assert_eq!(
        listed,
        count,
        "expected {}, got {listed}: {}\n{}",
        crate::report::count(count, "record", "records"),
        super::paging::shown_ids(&ids),
        world.evidence()
    );
}

/// `the result lists exactly #1001, #1002 and #1003`
#[then(regex = r"^the result lists exactly (#[0-9]+(?:(?:,| and) #[0-9]+)*)$")]
async fn lists_exactly(world: &mut ConformanceWorld, list: String) {
    let expected: BTreeSet<i64> = list
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().unwrap_or_else(|e| mistake!("{e}")))
        .collect();
    assert_eq!(
        ids(world),
        expected,
        "the listed records differ\n{}",
        world.evidence()
    );
}

#[then(
    regex = r#"^the result (includes|does not include) (?:the )?[[:word:]]+(?: [[:word:]]+)? "([^"]+)"$"#
)]
async fn includes_named(world: &mut ConformanceWorld, which: String, name: String) {
    // A record the scenario arranged is found by its id; any other by its name.
    // A member named by a phrase (`another member`) is found by its identifier.
    let found = match world.arranged.get(&name) {
        Some(arranged) => ids(world).contains(&arranged.id),
        None => records(world).includes_named(
            &crate::harness::arrange::member_named(world, &name).unwrap_or_else(|| name.clone()),
        ),
    };
    assert_eq!(
        found,
        which == "includes",
        "the result {which} \"{name}\" was expected\n{}",
        world.evidence()
    );
}

#[then(expr = "the result names the missing fields {string}")]
async fn names_missing(world: &mut ConformanceWorld, fields: String) {
    let expected: BTreeSet<String> = fields.split(',').map(|f| f.trim().to_owned()).collect();
    let observed: BTreeSet<String> = world.result().missing.iter().cloned().collect();
    if observed != expected {
        let list = |set: &BTreeSet<String>| set.iter().cloned().collect::<Vec<_>>().join(", ");
        panic!(
            "expected the result to name the missing fields {}, it names {}\n{}",
            list(&expected),
            if observed.is_empty() {
                "none".to_owned()
            } else {
                list(&observed)
            },
            world.evidence()
        );
    }
    for field in &expected {
        assert!(
            world.result().message.contains(field.as_str()),
            "the message does not name {field}\n{}",
            world.evidence()
        );
    }
}

#[then(regex = r"^the result cites rule ([A-Z]+-[0-9]+)$")]
async fn cites_rule(world: &mut ConformanceWorld, rule: String) {
    let cited = world.result().rule.as_ref().map(ToString::to_string);
    assert!(
        cited.as_deref() == Some(rule.as_str()),
        "expected the result to cite rule {rule}, it cites {}\n{}",
        cited.as_deref().unwrap_or("no rule"),
        world.evidence()
    );
}

/// Escalation carries what is being confirmed so a person can decide.
#[then(expr = "the confirmation names the fields {string}")]
async fn confirmation_fields(world: &mut ConformanceWorld, fields: String) {
    let held = world
        .held
        .as_ref()
        .unwrap_or_else(|| panic!("nothing is held\n{}", world.evidence()));
    for field in fields.split(',').map(str::trim) {
        assert!(
            held.fields.iter().any(|f| f == field),
            "the confirmation does not name {field}: {:?}",
            held.fields
        );
    }
}
