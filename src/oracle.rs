//! The oracle: what the documents say an action should give under a role, and why.
//!
//! Written once and used by the catalog-wide steps, `matrix`, `explain` and `audit`.
//! Scenarios state their expected outcomes explicitly in Gherkin instead of asking the
//! oracle, so a scenario can catch the oracle being wrong.

use crate::connectwise::security::Requirement;
use crate::fixtures::Fixtures;
use crate::model::{Action, ActionKind, Level, Operation, Outcome, RuleId, SecurityRole};
use crate::policy::Decision;

/// The security check ConnectWise makes for an action's main request.
pub fn requirement(fixtures: &Fixtures, action: &Action) -> Option<Requirement> {
    let permissions = &fixtures.permissions;
    if action.kind == ActionKind::Close {
        let endpoint = permissions.endpoint_for(&action.resource)?;
        return Some(Requirement {
            function: permissions.close_function(endpoint)?.clone(),
            operation: Operation::Edit,
        });
    }
    let sample = action.path.replace("{parentId}", "1");
    let (method, path) = match action.kind {
        ActionKind::Connect | ActionKind::Search => ("GET", sample),
        ActionKind::Get => ("GET", format!("{sample}/1")),
        ActionKind::Create | ActionKind::Attach => ("POST", sample),
        ActionKind::Update | ActionKind::Close => ("PATCH", format!("{sample}/1")),
        ActionKind::Merge => ("POST", format!("{sample}/1/merge")),
        ActionKind::Delete => ("DELETE", format!("{sample}/1")),
    };
    // The same check the mock makes for the request, setup-table reads included.
    permissions.requirement(method, &path)
}

/// The permissions a workflow needs for its writes: one requirement per write action, and
/// the `Inquire` of each lookup its writes make to find the records they name (a device
/// linked to a ticket is found by name in Configurations), each once.
pub fn workflow_grants(fixtures: &Fixtures, workflow: &str) -> Vec<Requirement> {
    let mut grants: Vec<Requirement> = Vec::new();
    for action in fixtures
        .actions
        .iter()
        .filter(|a| a.workflow == workflow && a.writes())
    {
        let mut named = action.fields.clone();
        named.extend(action.example.fields.clone());
        for needed in requirement(fixtures, action)
            .into_iter()
            .chain(lookup_requirements(fixtures, action, &named))
        {
            if !grants.contains(&needed) {
                grants.push(needed);
            }
        }
    }
    grants
}

/// What the documents say an action gives under a role, with the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expectation {
    /// The first outcome the AI sees.
    pub outcome: Outcome,
    /// For escalated actions: the outcome once a person confirms.
    pub after_confirmation: Option<Outcome>,
    /// The rule that decides it, when the policy does.
    pub rule: Option<RuleId>,
    /// The security check ConnectWise makes, if any.
    pub requirement: Option<Requirement>,
    /// The level the role grants for it.
    pub level: Option<Level>,
    /// The lookups the integration makes before the write (to check the records the
    /// example names), each with the level the role grants for it: a lookup refused makes
    /// the action `denied` even when the action's own permission is granted.
    pub lookups: Vec<(Requirement, Level)>,
    /// The guarded fields the write sends (billing amounts, the billable option), each
    /// with the level the role grants for the function that guards them: ConnectWise
    /// refuses the write when it is `None`.
    pub guards: Vec<(Requirement, Level)>,
    /// The related records a read fetches after the record itself (rule TS-04), each with
    /// the level the role grants for it: one refused makes the read `partial`.
    pub related: Vec<(Requirement, Level)>,
}

impl Expectation {
    /// A short cell for the matrix: `allowed`, `escalated → denied`, `allowed (own)`.
    pub fn cell(&self) -> String {
        let mine = if self.level == Some(Level::My) {
            " (own records)"
        } else {
            ""
        };
        match self.after_confirmation {
            Some(after) => format!("{} → {after}{mine}", self.outcome),
            None => format!("{}{mine}", self.outcome),
        }
    }
}

/// The security checks of the lookups the integration makes before a write: one `Inquire`
/// per referenced record named (not given by id) in the payload, and the record's own
/// `Inquire` when the integration reads it first (see `reads_current`). A setup table any
/// member may read (`setup_table_reads`) needs none.
pub fn lookup_requirements(
    fixtures: &Fixtures,
    action: &Action,
    payload: &serde_json::Map<String, serde_json::Value>,
) -> Vec<Requirement> {
    if !action.writes() {
        return Vec::new();
    }
    let mut needed: Vec<Requirement> = Vec::new();
    for field in &action.validate {
        let named = match payload.get(field) {
            Some(serde_json::Value::String(_)) => true,
            Some(serde_json::Value::Object(map)) => !map.contains_key("id"),
            _ => false,
        };
        let Some(lookup) = fixtures.actions.lookup(field).filter(|_| named) else {
            continue;
        };
        let sample = sample_path(&lookup.path);
        // A setup table any member may read needs no grant.
        if let Some(requirement) = fixtures.permissions.requirement("GET", &sample)
            && !needed.contains(&requirement)
        {
            needed.push(requirement);
        }
    }
    if reads_current(fixtures, action, payload)
        && let Some(requirement) = fixtures.permissions.requirement(
            "GET",
            &format!("{}/1", action.path.replace("{parentId}", "1")),
        )
        && !needed.contains(&requirement)
    {
        needed.push(requirement);
    }
    needed
}

/// The security checks of the guarded fields a write sends: the guarding function at the
/// write's own operation (Add for a create, Edit for an update).
pub fn guard_requirements(
    fixtures: &Fixtures,
    action: &Action,
    payload: &serde_json::Map<String, serde_json::Value>,
) -> Vec<Requirement> {
    if !matches!(action.kind, ActionKind::Create | ActionKind::Update) {
        return Vec::new();
    }
    let mut needed: Vec<Requirement> = Vec::new();
    for guard in fixtures
        .permissions
        .field_guards
        .iter()
        .filter(|g| g.collection == action.resource)
    {
        let requirement = Requirement {
            function: guard.function.clone(),
            operation: action.kind.operation(),
        };
        if guard.fields.iter().any(|f| payload.contains_key(f)) && !needed.contains(&requirement) {
            needed.push(requirement);
        }
    }
    needed
}

/// The security checks of the related records a read fetches after the record itself
/// (its company, owner, board, status: rule TS-04), for a record that names them.
pub fn related_requirements(fixtures: &Fixtures, action: &Action) -> Vec<Requirement> {
    if action.kind != ActionKind::Get {
        return Vec::new();
    }
    let mut needed: Vec<Requirement> = Vec::new();
    for field in &action.related {
        let Some(lookup) = fixtures.actions.lookup(field) else {
            continue;
        };
        if let Some(requirement) = fixtures
            .permissions
            .requirement("GET", &format!("{}/1", sample_path(&lookup.path)))
            && !needed.contains(&requirement)
        {
            needed.push(requirement);
        }
    }
    needed
}

/// A path template with `1` for each placeholder.
fn sample_path(template: &str) -> String {
    template
        .split('/')
        .map(|segment| {
            if segment.starts_with('{') {
                "1"
            } else {
                segment
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Whether the integration reads the record itself before writing: an update naming a
/// status or type without its board (the board is the record's own), or a merge that names
/// no status (the merged tickets take the parent's).
fn reads_current(
    fixtures: &Fixtures,
    action: &Action,
    payload: &serde_json::Map<String, serde_json::Value>,
) -> bool {
    match action.kind {
        ActionKind::Update => action.validate.iter().any(|field| {
            payload.contains_key(field)
                && fixtures.actions.lookup(field).is_some_and(|lookup| {
                    lookup
                        .path
                        .split('/')
                        .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
                        .any(|placeholder| !payload.contains_key(placeholder))
                })
        }),
        ActionKind::Merge => payload.get("status").is_none_or(serde_json::Value::is_null),
        _ => false,
    }
}

/// The expected outcome of an action (with its catalog example) under a role.
pub fn expect(fixtures: &Fixtures, action: &Action, role: &SecurityRole) -> Expectation {
    let requirement = requirement(fixtures, action);
    let level = requirement
        .as_ref()
        .map(|r| role.level(&r.function, r.operation));
    let mut payload = action.fields.clone();
    payload.extend(action.example.fields.clone());
    let lookups: Vec<(Requirement, Level)> = lookup_requirements(fixtures, action, &payload)
        .into_iter()
        .map(|r| {
            let granted = role.level(&r.function, r.operation);
            (r, granted)
        })
        .collect();
    let granted = |requirements: Vec<Requirement>| -> Vec<(Requirement, Level)> {
        requirements
            .into_iter()
            .map(|r| {
                let level = role.level(&r.function, r.operation);
                (r, level)
            })
            .collect()
    };
    let guards = granted(guard_requirements(fixtures, action, &payload));
    let related = granted(related_requirements(fixtures, action));
    let refused = |checks: &[(Requirement, Level)]| checks.iter().any(|(_, l)| *l == Level::None);
    let refused_lookup = refused(&lookups);
    let security = match level {
        Some(Level::None) => Outcome::Denied,
        _ if refused_lookup || refused(&guards) => Outcome::Denied,
        _ if refused(&related) => Outcome::Partial,
        _ => Outcome::Allowed,
    };
    let (outcome, after_confirmation, policy_rule) = match fixtures.policy.decide(action, &payload)
    {
        Decision::Block { rule, .. } => (Outcome::Blocked, None, Some(rule)),
        // The integration checks the records a write names before holding it: a refused
        // lookup is denied at once, with nothing held.
        Decision::Escalate { rule, .. } if refused_lookup => (Outcome::Denied, None, Some(rule)),
        Decision::Escalate { rule, .. } => (Outcome::Escalated, Some(security), Some(rule)),
        Decision::Pass => (security, None, None),
    };
    Expectation {
        outcome,
        after_confirmation,
        rule: policy_rule,
        requirement,
        level,
        lookups,
        guards,
        related,
    }
}

/// Why an action gives its outcome under a role, and what to change to allow it.
pub fn explain(fixtures: &Fixtures, action: &Action, role: &SecurityRole) -> String {
    use std::fmt::Write as _;
    let expectation = expect(fixtures, action, role);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} ({}) under the role \"{}\"",
        action.name, action.phrase, role.name
    );
    let _ = writeln!(out, "  expected outcome: {}", expectation.cell());
    match (&expectation.requirement, expectation.level) {
        (Some(needed), Some(level)) => {
            let _ = writeln!(
                out,
                "  ConnectWise checks {} {}: the role grants {level}",
                needed.function, needed.operation
            );
        }
        _ => {
            let _ = writeln!(
                out,
                "  ConnectWise checks no security function for it (any authenticated member)"
            );
        }
    }
    // What else the action needs, each with what its refusal does.
    let needs = [
        (
            "before writing, the integration looks up the records the request names",
            &expectation.lookups,
            "so the write is denied: grant it to allow the action",
        ),
        (
            "it writes fields guarded by",
            &expectation.guards,
            "so ConnectWise refuses the write: grant it, or leave those fields out",
        ),
        (
            "after the read, it fetches related records",
            &expectation.related,
            "so the read is partial: those details are missing",
        ),
    ];
    for (what, requirements, refused) in needs {
        for (requirement, granted) in requirements {
            let consequence = if *granted == Level::None {
                format!(" ({refused})")
            } else {
                String::new()
            };
            let separator = if what.ends_with(" by") { " " } else { ": " };
            let _ = writeln!(
                out,
                "  {what}{separator}{} {}: the role grants {granted}{consequence}",
                requirement.function, requirement.operation,
            );
        }
    }
    let mut payload = action.fields.clone();
    payload.extend(action.example.fields.clone());
    match fixtures.policy.decide(action, &payload) {
        Decision::Block { rule, reason, .. } => {
            let _ = writeln!(out, "  the integration blocks it ({rule}): {reason}");
            let _ = writeln!(
                out,
                "  to allow it: nothing in the role can; the integration never sends it"
            );
            return out;
        }
        Decision::Escalate { rule, reason } => {
            let _ = writeln!(
                out,
                "  the integration holds it for confirmation ({rule}): {reason}"
            );
        }
        Decision::Pass => {}
    }
    for field in action.validate.iter().chain(&action.related) {
        if let Some(lookup) = fixtures.actions.lookup(field) {
            let _ = writeln!(
                out,
                "  it looks up the {} of the {field} field first (read access needed)",
                lookup.noun
            );
        }
    }
    match (&expectation.requirement, expectation.level) {
        (Some(needed), Some(Level::None)) => {
            let _ = writeln!(
                out,
                "  to allow it: set {} {} to My (own records) or All in the role",
                needed.function, needed.operation
            );
        }
        (Some(needed), Some(Level::My)) => {
            let _ = writeln!(
                out,
                "  it works on records the member owns or is assigned to; set {} {} to All for every record",
                needed.function, needed.operation
            );
        }
        _ => {}
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{FunctionName, Levels};

    /// `least-privilege` with one function's levels replaced.
    fn least_privilege_with(module: &str, function: &str, levels: Levels) -> SecurityRole {
        let fixtures = Fixtures::builtin().unwrap();
        let mut role = fixtures.roles["least-privilege"].clone();
        role.grant(FunctionName::new(module, function), levels);
        role
    }

    #[test]
    fn a_write_whose_lookup_the_role_refuses_is_denied() {
        let fixtures = Fixtures::builtin().unwrap();
        let create = fixtures.actions.get("ticket.create").unwrap();
        let granted = expect(fixtures, create, &fixtures.roles["least-privilege"]);
        assert_eq!(granted.outcome, Outcome::Allowed);
        assert!(
            !granted.lookups.is_empty(),
            "the example names records to look up"
        );

        let without_companies = least_privilege_with(
            "Companies",
            "Company Maintenance",
            Levels::uniform(Level::None),
        );
        let refused = expect(fixtures, create, &without_companies);
        assert_eq!(refused.outcome, Outcome::Denied, "{refused:?}");
        assert_eq!(
            refused.level,
            Some(Level::All),
            "its own permission is granted"
        );
        let text = explain(fixtures, create, &without_companies);
        assert!(
            text.contains(
                "Company Maintenance Inquire: the role grants None (so the write is denied"
            ),
            "{text}"
        );
    }

    #[test]
    fn a_read_needs_no_lookup() {
        let fixtures = Fixtures::builtin().unwrap();
        let search = fixtures.actions.get("company.search").unwrap();
        assert!(
            expect(fixtures, search, &fixtures.roles["least-privilege"])
                .lookups
                .is_empty()
        );
    }
}
