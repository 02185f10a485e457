//! Steps that audit a role or the API member (OV-04, CL-01).

use crate::harness::mistake;
use cucumber::{given, then, when};

use crate::audit::{self, FindingKind};
use crate::harness::world::ConformanceWorld;

use super::{Keyword, Pattern, StepDoc, param};

/// The listing of these steps for `cw-conform steps`.
pub(super) const STEPS: &[StepDoc] = &[
    StepDoc {
        keyword: Keyword::Given,
        pattern: Pattern::Expression(
            "the integration signs in as the member {string} with the role {string}",
        ),
        form: "the integration signs in as the member \"<member>\" with the role \"<role>\"",
        description: "The integration signs in as another member of the mock's records (a \
                      person's account, say) with a role profile.",
        parameters: &[
            param("<member>", "a member identifier of the mock's records"),
            param(
                "<role>",
                "a role profile (`cw-conform roles`) or a role file",
            ),
        ],
        example: "the integration signs in as the member \"jsmith\" with the role \"full-access\"",
        table: None,
    },
    StepDoc {
        keyword: Keyword::When,
        pattern: Pattern::Regex(
            r#"^the role "([^"]+)" is audited(?: for the workflows "([^"]*)")?$"#,
        ),
        form: "the role \"<role>\" is audited[ for the workflows \"<workflows>\"]",
        description: "Reviews a role for least privilege (what `cw-conform audit` does).",
        parameters: &[
            param("<role>", "a role profile or a role file"),
            param(
                "<workflows>",
                "the workflows the role should allow, comma-separated (`cw-conform actions` \
                 shows each action's workflow)",
            ),
        ],
        example: "the role \"least-privilege\" is audited for the workflows \"service-tickets, time\"",
        table: None,
    },
    StepDoc {
        keyword: Keyword::When,
        pattern: Pattern::Text("the API member is audited"),
        form: "the API member is audited",
        description: "Reviews the API member as ConnectWise reports it: its effective role and \
                      its account.",
        parameters: &[],
        example: "the API member is audited",
        table: None,
    },
    StepDoc {
        keyword: Keyword::Then,
        pattern: Pattern::Regex(
            r#"^the audit (flags|does not flag) "([^"]+)"(?: for "([^"]+)"(?: (Add|Edit|Delete|Inquire))?)?$"#,
        ),
        form: "the audit flags|does not flag \"<finding>\"[ for \"<function>\"[ <operation>]]",
        description: "Checks one kind of audit finding, optionally for one function and \
                      operation.",
        parameters: &[
            param(
                "<finding>",
                "administrator-like, delete grant, blocked anyway, unused grant or missing grant",
            ),
            param("<function>", "a security function, \"Module / Function\""),
            param("<operation>", "Add, Edit, Delete or Inquire"),
        ],
        example: "the audit flags \"delete grant\" for \"Companies / Contacts\" Delete",
        table: None,
    },
    StepDoc {
        keyword: Keyword::Then,
        pattern: Pattern::Text("the audit finds nothing"),
        form: "the audit finds nothing",
        description: "The audit has no finding at all.",
        parameters: &[],
        example: "the audit finds nothing",
        table: None,
    },
];

/// The integration signs in as another seeded member (a person's account, say).
#[given(expr = "the integration signs in as the member {string} with the role {string}")]
async fn signs_in_as(world: &mut ConformanceWorld, member: String, role: String) {
    world.member = member;
    let role = world
        .fixtures
        .role(&role)
        .unwrap_or_else(|e| mistake!("{e}"));
    world.set_role(role).await;
}

#[when(regex = r#"^the role "([^"]+)" is audited(?: for the workflows "([^"]*)")?$"#)]
async fn audit_named_role(world: &mut ConformanceWorld, name: String, workflows: String) {
    let role = world
        .fixtures
        .role(&name)
        .unwrap_or_else(|e| mistake!("{e}"));
    let workflows: Vec<String> = workflows
        .split(',')
        .map(|w| w.trim().to_owned())
        .filter(|w| !w.is_empty())
        .collect();
    world.findings = Some(audit::audit_role(&world.fixtures, &role, &workflows));
}

/// Audits the API member as ConnectWise reports it: its effective role and its account.
#[when("the API member is audited")]
async fn audit_member(world: &mut ConformanceWorld) {
    let client = world.client().await;
    let (_, findings) = audit::audit_live(&world.fixtures, &client, &[])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    world.findings = Some(findings);
}

fn findings(world: &ConformanceWorld) -> &[audit::Finding] {
    world
        .findings
        .as_deref()
        .unwrap_or_else(|| mistake!("nothing was audited before this step"))
}

fn render(world: &ConformanceWorld) -> String {
    findings(world)
        .iter()
        .map(|f| format!("  {f}"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn kind(label: &str) -> FindingKind {
    [
        FindingKind::AdministratorLike,
        FindingKind::DeleteGrant,
        FindingKind::BlockedAnyway,
        FindingKind::Unused,
        FindingKind::Missing,
    ]
    .into_iter()
    .find(|k| k.label() == label)
    .unwrap_or_else(|| mistake!("unknown finding \"{label}\" (administrator-like, delete grant, blocked anyway, unused grant, missing grant)"))
}

/// `the audit flags "blocked anyway" for "System / Table Setup" Add`
#[then(
    regex = r#"^the audit (flags|does not flag) "([^"]+)"(?: for "([^"]+)"(?: (Add|Edit|Delete|Inquire))?)?$"#
)]
async fn audit_flags(
    world: &mut ConformanceWorld,
    polarity: String,
    label: String,
    function: String,
    operation: String,
) {
    let wanted = kind(&label);
    let found = findings(world).iter().any(|f| {
        f.kind == wanted
            && (function.is_empty() || f.function.as_deref() == Some(function.as_str()))
            && (operation.is_empty() || f.operation.as_deref() == Some(operation.as_str()))
    });
    assert_eq!(
        found,
        polarity == "flags",
        "the audit found:\n{}",
        render(world)
    );
}

#[then("the audit finds nothing")]
async fn audit_clean(world: &mut ConformanceWorld) {
    assert!(
        findings(world).is_empty(),
        "the audit found:\n{}",
        render(world)
    );
}
