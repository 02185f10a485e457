//! A least-privilege review of a security role (rules OV-04, CL-01, SD-05): grants broader
//! than any documented workflow needs, delete grants, grants in areas the integration
//! blocks anyway, administrator-like roles or accounts, and grants missing for the
//! workflows a user wants.

use std::collections::BTreeSet;
use std::fmt;

use serde::Serialize;
use serde_json::Value;

use crate::connectwise::security::Requirement;
use crate::connectwise::{Client, ClientError};
use crate::fixtures::Fixtures;
use crate::model::{FunctionName, Level, Levels, Operation, SecurityRole};
use crate::oracle;
use crate::policy::Decision;

/// What kind of problem a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FindingKind {
    /// The role or the account looks like an administrator's, not a dedicated API member's.
    AdministratorLike,
    /// A Delete level other than None (deletes should stay off unless a workflow needs them).
    DeleteGrant,
    /// A grant for writes the integration's policy blocks anyway.
    BlockedAnyway,
    /// A grant no action of the integration uses (the catalog: `cw-conform actions`).
    Unused,
    /// A grant a wanted workflow needs and the role lacks.
    Missing,
}

impl FindingKind {
    /// Short label for reports.
    pub fn label(self) -> &'static str {
        match self {
            FindingKind::AdministratorLike => "administrator-like",
            FindingKind::DeleteGrant => "delete grant",
            FindingKind::BlockedAnyway => "blocked anyway",
            FindingKind::Unused => "unused grant",
            FindingKind::Missing => "missing grant",
        }
    }
}

/// One finding of an audit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The kind.
    pub kind: FindingKind,
    /// The function concerned, if any.
    pub function: Option<String>,
    /// The operation concerned, if any.
    pub operation: Option<String>,
    /// What to do about it.
    pub message: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind.label(), self.message)
    }
}

fn finding(
    kind: FindingKind,
    function: &FunctionName,
    operation: Operation,
    message: String,
) -> Finding {
    Finding {
        kind,
        function: Some(function.to_string()),
        operation: Some(operation.to_string()),
        message,
    }
}

/// A set of (function, operation) grants.
type Grants = BTreeSet<(FunctionName, Operation)>;

/// The (function, operation) pairs some action of the catalog needs, with the lookups and
/// field guards that go with them; and those whose only uses the policy blocks.
fn uses(fixtures: &Fixtures) -> (Grants, Grants) {
    let mut used = BTreeSet::new();
    let mut blocked = BTreeSet::new();
    for action in fixtures.actions.iter() {
        // A read may need another function on another site (setup tables: the
        // `setup_table_reads` switch), so a grant for any of them is used.
        let needed: Vec<Requirement> = if action.writes() {
            oracle::requirement(fixtures, action).into_iter().collect()
        } else {
            fixtures
                .permissions
                .possible_requirements("GET", &sample_path(&action.path))
        };
        let Some(Requirement { operation, .. }) = needed.first().cloned() else {
            continue;
        };
        let mut payload = action.fields.clone();
        payload.extend(action.example.fields.clone());
        let is_blocked = matches!(
            fixtures.policy.decide(action, &payload),
            Decision::Block { .. }
        );
        if is_blocked {
            for requirement in needed {
                blocked.insert((requirement.function, requirement.operation));
            }
            continue;
        }
        for requirement in needed {
            used.insert((requirement.function, requirement.operation));
        }
        for guard in fixtures
            .permissions
            .field_guards
            .iter()
            .filter(|g| g.collection == action.resource)
        {
            used.insert((guard.function.clone(), operation));
        }
        for field in action.validate.iter().chain(&action.related) {
            if let Some(lookup) = fixtures.actions.lookup(field)
                && let Some(needed) = fixtures
                    .permissions
                    .requirement("GET", &sample_path(&lookup.path))
            {
                used.insert((needed.function, Operation::Inquire));
            }
        }
    }
    // Closing is the only thing a close rule's function does.
    let blocked = blocked.difference(&used).cloned().collect();
    (used, blocked)
}

/// A lookup path with each `{placeholder}` replaced by a sample id.
fn sample_path(path: &str) -> String {
    let mut out = String::new();
    let mut rest = path;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        out.push('1');
        rest = rest[start..]
            .find('}')
            .map_or("", |end| &rest[start + end + 1..]);
    }
    out.push_str(rest);
    out
}

/// Reviews a role. `workflows` are the workflows the user wants (their writes must be
/// granted).
pub fn audit_role(fixtures: &Fixtures, role: &SecurityRole, workflows: &[String]) -> Vec<Finding> {
    let (used, blocked) = uses(fixtures);
    let mut findings = Vec::new();
    let total = fixtures.permissions.functions.iter().count();
    let all_everywhere = fixtures
        .permissions
        .functions
        .iter()
        .filter(|f| role.levels(f) == Levels::uniform(Level::All))
        .count();
    if total > 0 && all_everywhere * 2 > total {
        findings.push(Finding {
            kind: FindingKind::AdministratorLike,
            function: None,
            operation: None,
            message: format!(
                "the role grants All on every operation of {all_everywhere} of {total} functions: it looks like an administrator's role; give the API member a role made for the integration"
            ),
        });
    }
    for (function, levels) in role.grants() {
        for operation in Operation::ALL {
            let level = levels.get(operation);
            if level == Level::None {
                continue;
            }
            let key = (function.clone(), operation);
            if operation == Operation::Delete {
                findings.push(finding(
                    FindingKind::DeleteGrant,
                    function,
                    operation,
                    format!("{function} Delete is {level}: keep Delete at None unless an approved workflow needs it"),
                ));
            } else if blocked.contains(&key) {
                findings.push(finding(
                    FindingKind::BlockedAnyway,
                    function,
                    operation,
                    format!("{function} {operation} is {level}, but the integration never makes those writes (its safety policy blocks them): set it to None"),
                ));
            } else if !used.contains(&key) {
                findings.push(finding(
                    FindingKind::Unused,
                    function,
                    operation,
                    format!("{function} {operation} is {level}, but no action of the integration uses it: set it to None"),
                ));
            }
        }
    }
    for workflow in workflows {
        // Delete is never reported missing: it stays None unless an approved workflow needs
        // it (SD-05), and every delete is held for confirmation anyway.
        for needed in oracle::workflow_grants(fixtures, workflow)
            .into_iter()
            .filter(|n| n.operation != Operation::Delete)
        {
            if role.level(&needed.function, needed.operation) == Level::None {
                findings.push(finding(
                    FindingKind::Missing,
                    &needed.function,
                    needed.operation,
                    format!(
                        "the workflow \"{workflow}\" needs {} {}, which the role does not grant",
                        needed.function, needed.operation
                    ),
                ));
            }
        }
    }
    findings
}

/// Checks the API member's own record: an administrator or a full user licence is not a
/// dedicated API member.
pub fn audit_member(member: &Value) -> Vec<Finding> {
    let identifier = member
        .get("identifier")
        .and_then(Value::as_str)
        .unwrap_or("the member");
    let mut findings = Vec::new();
    if member.get("adminFlag").and_then(Value::as_bool) == Some(true) {
        findings.push(Finding {
            kind: FindingKind::AdministratorLike,
            function: None,
            operation: None,
            message: format!("{identifier} is an administrator account: use a dedicated API member, not a personal administrator account"),
        });
    }
    match member.get("licenseClass").and_then(Value::as_str) {
        Some("A") | None => {}
        Some(class) => findings.push(Finding {
            kind: FindingKind::AdministratorLike,
            function: None,
            operation: None,
            message: format!("{identifier} has licence class {class}, a person's licence: API members have class A"),
        }),
    }
    findings
}

/// An audit failed to read what it needs from ConnectWise.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LiveAuditError {
    /// The request failed.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// ConnectWise refused or answered unexpectedly.
    #[error("failed to read {what}: ConnectWise answered {status}")]
    Refused {
        /// What was read.
        what: &'static str,
        /// The status.
        status: u16,
    },
}

/// What `/system/mySecurity` says of the member a client signs in as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EffectiveSecurity {
    /// Its settings, as a role (named `live`), for the functions the harness knows.
    pub role: SecurityRole,
    /// The member identifier the settings name, when they name one.
    pub member: Option<String>,
}

/// Reads the effective security settings of the member `client` signs in as
/// (`/system/mySecurity`).
pub async fn read_security(
    fixtures: &Fixtures,
    client: &Client,
) -> Result<EffectiveSecurity, LiveAuditError> {
    let security = client.get("/system/mySecurity", &[]).await?;
    if !security.ok() {
        return Err(LiveAuditError::Refused {
            what: "/system/mySecurity",
            status: security.status,
        });
    }
    let mut role = SecurityRole::new("live", "the API member's effective security settings");
    for row in security.body.as_array().into_iter().flatten() {
        let text = |key: &str| row.get(key).and_then(Value::as_str).unwrap_or_default();
        let Some(function) = fixtures
            .permissions
            .functions
            .find(text("moduleName"), text("moduleFunctionName"))
        else {
            continue;
        };
        let level = |key: &str| text(key).parse::<Level>().unwrap_or_default();
        role.grant(
            function.clone(),
            Levels {
                add: level("addLevel"),
                edit: level("editLevel"),
                delete: level("deleteLevel"),
                inquire: level("inquireLevel"),
            },
        );
    }
    let member = security
        .body
        .as_array()
        .and_then(|rows| rows.first())
        .and_then(|row| row.get("member"))
        .and_then(|member| member.get("identifier"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    Ok(EffectiveSecurity { role, member })
}

/// The largest page `/system/mySecurity/customizeItems` is asked for.
const CUSTOMIZE_PAGE: usize = 1000;
/// The most pages of Customize items read: far more items than any site has, so a server
/// that ignores paging cannot keep the reading going.
const CUSTOMIZE_PAGES: usize = 50;

/// Adds to `role` (read from `/system/mySecurity`) the Customize limits ConnectWise reports
/// for the member `client` signs in as (`/system/mySecurity/customizeItems`, page by page).
///
/// For each function with a Customize allow-list (`permissions.toml` `[customize]`) that
/// the role grants, the items reported under its identifier ([`FunctionName::identifier`])
/// are the limit; when they include every item the fixture knows for it, the role allows
/// every item and gets no limit (UNCERTAIN: ConnectWise's documents do not say what an
/// unlimited function lists; the mock lists every item, and a site may have items the
/// fixture does not know, such as its own configuration types).
pub async fn read_customize_items(
    fixtures: &Fixtures,
    client: &Client,
    role: &mut SecurityRole,
) -> Result<(), LiveAuditError> {
    const WHAT: &str = "/system/mySecurity/customizeItems";
    let mut reported: Vec<(String, String)> = Vec::new();
    for page in 1..=CUSTOMIZE_PAGES {
        let answer = client
            .get(
                WHAT,
                &[
                    ("page", page.to_string()),
                    ("pageSize", CUSTOMIZE_PAGE.to_string()),
                ],
            )
            .await?;
        if !answer.ok() {
            return Err(LiveAuditError::Refused {
                what: WHAT,
                status: answer.status,
            });
        }
        let rows = answer.body.as_array().map_or(&[][..], Vec::as_slice);
        reported.extend(rows.iter().filter_map(|row| {
            let text = |key: &str| row.get(key).and_then(Value::as_str).map(str::to_owned);
            Some((text("customizeIdentifier")?, text("itemIdentifier")?))
        }));
        if rows.len() < CUSTOMIZE_PAGE {
            break;
        }
    }
    for (function, known) in &fixtures.permissions.customize {
        let granted = Operation::ALL
            .into_iter()
            .any(|operation| role.level(function, operation).grants_any());
        if !granted {
            continue;
        }
        let identifier = function.identifier();
        let mut items: Vec<String> = Vec::new();
        for (customize, item) in &reported {
            if customize.eq_ignore_ascii_case(&identifier)
                && !items.iter().any(|i| i.eq_ignore_ascii_case(item))
            {
                items.push(item.clone());
            }
        }
        let every = known
            .iter()
            .all(|k| items.iter().any(|i| i.eq_ignore_ascii_case(k)));
        if !every {
            role.limit_items(function.clone(), items);
        }
    }
    Ok(())
}

/// Reads the API member's effective role (`/system/mySecurity`) and own record
/// (`/system/myAccount`, when readable) and audits both.
pub async fn audit_live(
    fixtures: &Fixtures,
    client: &Client,
    workflows: &[String],
) -> Result<(SecurityRole, Vec<Finding>), LiveAuditError> {
    let EffectiveSecurity { role, member } = read_security(fixtures, client).await?;
    let mut findings = audit_role(fixtures, &role, workflows);
    // The member's own record: through My Account, or else through Member Maintenance
    // under the identifier `/system/mySecurity` names.
    let mut account = client.get("/system/myAccount", &[]).await?;
    if !account.ok()
        && let Some(identifier) = member
    {
        account = client
            .get(&format!("/system/members/{identifier}"), &[])
            .await?;
    }
    if account.ok() {
        findings.splice(0..0, audit_member(&account.body));
    }
    Ok((role, findings))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixtures() -> &'static Fixtures {
        Fixtures::builtin().unwrap()
    }

    fn kinds(findings: &[Finding]) -> BTreeSet<FindingKind> {
        findings.iter().map(|f| f.kind).collect()
    }

    #[test]
    fn the_read_only_role_is_clean() {
        let role = fixtures().role("read-only-discovery").unwrap();
        assert_eq!(audit_role(fixtures(), &role, &[]), Vec::new());
    }

    #[test]
    fn full_access_is_administrator_like() {
        let role = fixtures().role("full-access").unwrap();
        assert!(
            kinds(&audit_role(fixtures(), &role, &[])).contains(&FindingKind::AdministratorLike)
        );
    }

    #[test]
    fn least_privilege_flags_table_setup_add_and_its_deletes() {
        let role = fixtures().role("least-privilege").unwrap();
        let findings = audit_role(fixtures(), &role, &[]);
        assert!(
            findings.iter().any(|f| f.kind == FindingKind::BlockedAnyway
                && f.function.as_deref() == Some("System / Table Setup")
                && f.operation.as_deref() == Some("Add")),
            "{findings:#?}"
        );
        assert!(
            findings.iter().any(|f| f.kind == FindingKind::DeleteGrant),
            "{findings:#?}"
        );
    }

    #[test]
    fn a_wanted_workflow_without_its_grants_is_missing() {
        let role = fixtures().role("read-only-discovery").unwrap();
        let findings = audit_role(fixtures(), &role, &["service-tickets".to_owned()]);
        assert!(findings.iter().any(|f| f.kind == FindingKind::Missing
            && f.function.as_deref() == Some("Service Desk / Service Tickets")));
    }

    #[test]
    fn an_administrator_account_is_flagged() {
        let member =
            serde_json::json!({"identifier": "admin", "adminFlag": true, "licenseClass": "F"});
        assert_eq!(audit_member(&member).len(), 2);
        let api = serde_json::json!({"identifier": "ai-integration", "adminFlag": false, "licenseClass": "A"});
        assert!(audit_member(&api).is_empty());
    }
}
