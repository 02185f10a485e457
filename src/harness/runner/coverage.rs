//! The data-coverage gate over the built-in features: every piece of fixture data that a
//! rule turns into behaviour must be checked by a scenario that would fail if the data
//! changed. Mutation testing found fixture entries no scenario exercised (a blocked
//! resource with no write asked of it, a blocked field never sent, a delete grant no
//! scenario tried); each check here names what it finds missing.
//!
//! What counts, per kind of data (derived from `fixtures/policy.toml`, `fixtures/actions.toml`
//! and `fixtures/roles/least-privilege.toml`):
//! - a resource a rule blocks: each write the catalog offers on it is asked for in a scenario
//!   tagged with the rule that expects it blocked and cites the rule;
//! - a field a rule blocks: sent by name, and sent as a JSON-Patch path, in such scenarios;
//! - a write the policy holds: asked for in a scenario tagged with the rule that expects it
//!   escalated and cites the rule;
//! - every write of the catalog: asked for in a scenario that checks its outcome;
//! - every row of the least-privilege role: stated, with its four levels, by an LP-02
//!   scenario that checks what ConnectWise reports and enforces for the role;
//! - every reference an action looks up before a write (its `validate` fields): named in a
//!   request that is allowed and the record read back with the reference found (so a lookup
//!   skipped, or one that sends the wrong id, fails), and named in a request that the
//!   lookup's refusal stops, with nothing written (so a lookup that is not made fails);
//! - a change a scenario checks: the value before differs from the value after.

use std::collections::BTreeSet;

use super::actions_asked;
use super::tests::builtin_parsed;
use crate::fixtures::Fixtures;
use crate::harness::scenarios_of;
use crate::model::Action;
use crate::policy::Decision;

/// What one built-in scenario (an outline's example counts as one) asks and checks.
#[derive(Debug)]
struct Checked {
    /// `features/safety.feature:40 The AI may not …`, for messages.
    place: String,
    tags: BTreeSet<String>,
    /// The catalog actions it asks for.
    actions: Vec<String>,
    /// The fields (first column) of the tables of its requests.
    keys: Vec<String>,
    /// Every step it runs, background included, without the keyword.
    steps: Vec<String>,
}

impl Checked {
    fn has(&self, step: &str) -> bool {
        self.steps.iter().any(|s| s == step)
    }

    fn asks(&self, action: &str) -> bool {
        self.actions.iter().any(|a| a == action)
    }

    /// Tagged with `rule`, asks for `action`, expects `outcome` and cites `rule`.
    fn expects(&self, action: &str, outcome: &str, rule: &str) -> bool {
        self.tags.contains(rule)
            && self.asks(action)
            && self.has(&format!("the outcome is {outcome}"))
            && self.has(&format!("the result cites rule {rule}"))
    }
}

fn builtin_checks(fixtures: &Fixtures) -> Vec<Checked> {
    let mut checks = Vec::new();
    for (file, feature) in builtin_parsed() {
        for (rule, scenario) in scenarios_of(&feature) {
            let steps: Vec<&cucumber::gherkin::Step> =
                super::super::steps_of(&feature, rule, scenario).collect();
            let keys = steps
                .iter()
                .filter(|s| s.value.starts_with("the AI asks to "))
                .filter_map(|s| s.table.as_ref())
                .flat_map(|t| t.rows.iter().filter_map(|row| row.first().cloned()))
                .collect();
            checks.push(Checked {
                place: format!(
                    "{}:{} {}",
                    file.path.display(),
                    scenario.position.line,
                    scenario.name
                ),
                tags: super::super::tags_of(&feature, rule, scenario)
                    .cloned()
                    .collect(),
                actions: actions_asked(fixtures, &feature, rule, scenario),
                keys,
                steps: steps.iter().map(|s| s.value.clone()).collect(),
            });
        }
    }
    checks
}

fn writes_on<'a>(fixtures: &'a Fixtures, resource: &str) -> Vec<&'a Action> {
    fixtures
        .actions
        .iter()
        .filter(|a| a.writes() && a.resource == resource)
        .collect()
}

/// Each resource a rule blocks, with each write the catalog offers on it.
fn blocked_resource_misses(fixtures: &Fixtures, checks: &[Checked]) -> Vec<String> {
    let mut misses = Vec::new();
    for block in &fixtures.policy.blocks {
        let rule = block.rule.as_str();
        for resource in &block.resources {
            let writes = writes_on(fixtures, resource);
            if writes.is_empty() {
                misses.push(format!(
                    "{rule} blocks {resource}, but the catalog offers no write of it to ask for"
                ));
            }
            for action in writes {
                if !checks
                    .iter()
                    .any(|c| c.expects(&action.name, "blocked", rule))
                {
                    misses.push(format!(
                        "{rule} blocks {resource}: no scenario tagged @{rule} asks to \"{}\" ({}) and expects it blocked, citing {rule}",
                        action.phrase, action.name
                    ));
                }
            }
        }
    }
    misses
}

/// The top-level field a table key writes, and whether it is written as a path.
fn field_of(key: &str) -> (&str, bool) {
    let path = key.contains('/');
    let field = key
        .trim_start_matches('/')
        .split('/')
        .next()
        .unwrap_or_default();
    (field, path)
}

/// Each field a rule blocks, sent by name and as a JSON-Patch path.
fn blocked_field_misses(fixtures: &Fixtures, checks: &[Checked]) -> Vec<String> {
    let mut misses = Vec::new();
    for block in &fixtures.policy.field_blocks {
        let rule = block.rule.as_str();
        let writes = writes_on(fixtures, &block.resource);
        for field in &block.fields {
            for (as_path, written) in [(false, "by name"), (true, "as a path")] {
                let sent = checks.iter().any(|c| {
                    writes.iter().any(|a| c.expects(&a.name, "blocked", rule))
                        && c.keys.iter().any(|k| {
                            let (top, path) = field_of(k);
                            path == as_path && top.eq_ignore_ascii_case(field)
                        })
                });
                if !sent {
                    misses.push(format!(
                        "{rule} blocks the {} field {field}: no scenario tagged @{rule} sends it {written} in a write and expects the write blocked, citing {rule}",
                        block.resource
                    ));
                }
            }
        }
    }
    misses
}

/// Each write the policy holds (with the catalog's example payload) for confirmation.
fn escalated_action_misses(fixtures: &Fixtures, checks: &[Checked]) -> Vec<String> {
    let mut misses = Vec::new();
    for action in fixtures.actions.iter().filter(|a| a.writes()) {
        let mut payload = action.fields.clone();
        payload.extend(action.example.fields.clone());
        if let Decision::Escalate { rule, .. } = fixtures.policy.decide(action, &payload) {
            let rule = rule.as_str();
            if !checks
                .iter()
                .any(|c| c.expects(&action.name, "escalated", rule))
            {
                misses.push(format!(
                    "{rule} holds {}: no scenario tagged @{rule} asks to \"{}\" and expects it escalated, citing {rule}",
                    action.name, action.phrase
                ));
            }
        }
    }
    misses
}

/// Each write of the catalog, asked for in a scenario that checks what came of it.
fn catalog_write_misses(fixtures: &Fixtures, checks: &[Checked]) -> Vec<String> {
    fixtures
        .actions
        .iter()
        .filter(|a| a.writes())
        .filter(|action| {
            !checks.iter().any(|c| {
                c.asks(&action.name)
                    && c.steps.iter().any(|s| {
                        s.starts_with("the outcome is ")
                            || s.starts_with("every write of the workflow ")
                    })
            })
        })
        .map(|action| {
            format!(
                "{} (\"{}\"): no scenario asks for it and checks its outcome",
                action.name, action.phrase
            )
        })
        .collect()
}

/// Each row of the least-privilege role, stated by an LP-02 scenario with its four levels.
fn least_privilege_misses(fixtures: &Fixtures, checks: &[Checked]) -> Vec<String> {
    let role = fixtures
        .role("least-privilege")
        .unwrap_or_else(|e| panic!("{e}"));
    let stated: Vec<(&Checked, &String)> = checks
        .iter()
        .filter(|c| {
            c.tags.contains("LP-02") && c.has("an API member with the role \"least-privilege\"")
        })
        .flat_map(|c| {
            c.steps
                .iter()
                .filter(|s| s.starts_with("ConnectWise reports \""))
                .map(move |s| (c, s))
        })
        .collect();
    let mut misses = Vec::new();
    for (function, levels) in role.grants() {
        let cells = format!(
            "Add {}, Edit {}, Delete {} and Inquire {}",
            levels.add, levels.edit, levels.delete, levels.inquire
        );
        let row = stated
            .iter()
            .find(|(_, s)| s.starts_with(&format!("ConnectWise reports \"{function}\" as ")));
        match row {
            None => misses.push(format!(
                "least-privilege grants \"{function}\" {cells}: no LP-02 scenario states that row"
            )),
            Some((check, step)) => {
                let reported = format!("ConnectWise reports \"{function}\" as {cells}");
                let enforced =
                    format!("the integration's actions find \"{function}\" to be {cells}");
                if **step != reported || !check.has(&enforced) {
                    misses.push(format!(
                        "least-privilege grants \"{function}\" {cells}, but {} states \"{step}\" (and must check both what ConnectWise reports and what the integration's actions find)",
                        check.place
                    ));
                }
            }
        }
    }
    misses
}

/// Each reference an action looks up by name before a write: resolved and read back, and
/// refused with nothing written.
fn lookup_misses(fixtures: &Fixtures, checks: &[Checked]) -> Vec<String> {
    let mut misses = Vec::new();
    for action in fixtures.actions.iter().filter(|a| a.writes()) {
        for field in &action.validate {
            let Some(lookup) = fixtures.actions.lookup(field) else {
                continue;
            };
            let naming: Vec<&Checked> = checks
                .iter()
                .filter(|c| c.asks(&action.name) && c.keys.iter().any(|k| k == field))
                .collect();
            let read_back = format!(" now has the {field} \"");
            if !naming.iter().any(|c| {
                c.has("the outcome is allowed") && c.steps.iter().any(|s| s.contains(&read_back))
            }) {
                misses.push(format!(
                    "{} looks up its {field} (the {}): no scenario asks to \"{}\" naming the {field}, expects it allowed and reads the record back (\"… now has the {field} …\"), so a lookup skipped or sending the wrong id passes",
                    action.name, lookup.noun, action.phrase
                ));
            }
            let told = format!("the AI is told \"cannot check the {}\"", lookup.noun);
            if !naming.iter().any(|c| {
                c.has("the outcome is denied")
                    && c.has(&told)
                    && c.has("ConnectWise received no write")
            }) {
                misses.push(format!(
                    "{} looks up its {field} (the {}): no scenario asks to \"{}\" naming the {field} with a role that cannot read it and expects it denied, the AI told \"cannot check the {}\" and no write, so a write sent without the lookup passes",
                    action.name, lookup.noun, action.phrase, lookup.noun
                ));
            }
        }
    }
    misses
}

/// `Given ticket #1004 has the status "X"` … `Then ticket #1004 now has the status "X"`:
/// a change to the value the record already has proves nothing.
fn unchanged_change_misses(checks: &[Checked]) -> Vec<String> {
    static BEFORE: std::sync::LazyLock<Option<regex::Regex>> = std::sync::LazyLock::new(|| {
        regex::Regex::new(
            r#"^([[:word:]][[:word:] ]*? #[0-9]+) (now )?has the ([[:word:]]+) "([^"]*)"$"#,
        )
        .ok()
    });
    let Some(before) = BEFORE.as_ref() else {
        return vec!["the record-field pattern does not compile".to_owned()];
    };
    let mut misses = Vec::new();
    for check in checks {
        let states: Vec<(bool, String, String)> = check
            .steps
            .iter()
            .filter_map(|s| before.captures(s))
            .map(|c| {
                (
                    c.get(2).is_some(),
                    format!("{} {}", &c[1], &c[3]),
                    c[4].to_owned(),
                )
            })
            .collect();
        for (_, what, from) in states.iter().filter(|(after, ..)| !after) {
            if states
                .iter()
                .any(|(after, w, to)| *after && w == what && to == from)
            {
                misses.push(format!(
                    "{}: {what} is \"{from}\" before and after, so a write that does nothing passes",
                    check.place
                ));
            }
        }
    }
    misses
}

fn assert_none(misses: &[String], what: &str) {
    assert!(
        misses.is_empty(),
        "{} {what} no built-in scenario would catch a change to:\n  {}",
        misses.len(),
        misses.join("\n  ")
    );
}

#[test]
fn every_resource_a_rule_blocks_is_refused_for_each_write_the_catalog_offers() {
    let fixtures = Fixtures::shared_builtin().unwrap();
    let checks = builtin_checks(&fixtures);
    assert_none(
        &blocked_resource_misses(&fixtures, &checks),
        "blocked resources",
    );
}

#[test]
fn every_field_a_rule_blocks_is_refused_by_name_and_as_a_path() {
    let fixtures = Fixtures::shared_builtin().unwrap();
    let checks = builtin_checks(&fixtures);
    assert_none(&blocked_field_misses(&fixtures, &checks), "blocked fields");
}

#[test]
fn every_write_the_policy_holds_is_shown_held() {
    let fixtures = Fixtures::shared_builtin().unwrap();
    let checks = builtin_checks(&fixtures);
    assert_none(&escalated_action_misses(&fixtures, &checks), "held writes");
}

#[test]
fn every_write_of_the_catalog_is_asked_for_with_its_outcome_checked() {
    let fixtures = Fixtures::shared_builtin().unwrap();
    let checks = builtin_checks(&fixtures);
    assert_none(&catalog_write_misses(&fixtures, &checks), "catalog writes");
}

#[test]
fn every_row_of_the_least_privilege_role_is_stated_and_checked() {
    let fixtures = Fixtures::shared_builtin().unwrap();
    let checks = builtin_checks(&fixtures);
    assert_none(
        &least_privilege_misses(&fixtures, &checks),
        "least-privilege rows",
    );
}

#[test]
fn every_reference_a_write_looks_up_is_read_back_and_refused() {
    let fixtures = Fixtures::shared_builtin().unwrap();
    let checks = builtin_checks(&fixtures);
    assert_none(&lookup_misses(&fixtures, &checks), "looked-up references");
}

#[test]
fn no_scenario_checks_a_change_to_the_value_the_record_already_has() {
    let fixtures = Fixtures::shared_builtin().unwrap();
    let checks = builtin_checks(&fixtures);
    assert_none(&unchanged_change_misses(&checks), "record changes");
}

/// The gate fails, naming what is missing, when the fixtures gain data no scenario checks.
#[test]
fn the_gate_names_fixture_data_no_scenario_checks() {
    let fixtures = Fixtures::shared_builtin().unwrap();
    let checks = builtin_checks(&fixtures);
    let mut changed = (*fixtures).clone();
    changed.policy.blocks[0]
        .resources
        .push("companies".to_owned());
    changed.policy.field_blocks[0]
        .fields
        .push("taxable".to_owned());
    let resources = blocked_resource_misses(&changed, &checks);
    assert!(
        resources
            .iter()
            .any(|m| m.contains("blocks companies") && m.contains("company.update")),
        "{resources:?}"
    );
    let fields = blocked_field_misses(&changed, &checks);
    assert_eq!(fields.len(), 2, "by name and as a path: {fields:?}");
    assert!(
        fields.iter().all(|m| m.contains("field taxable")),
        "{fields:?}"
    );

    // A lookup added to an action with no scenario naming that reference.
    let mut catalog: Vec<Action> = changed.actions.iter().cloned().collect();
    let reassign = catalog
        .iter_mut()
        .find(|a| a.name == "ticket.reassign")
        .unwrap_or_else(|| panic!("the catalog has no ticket.reassign"));
    reassign.validate.push("contact".to_owned());
    let lookups = changed
        .actions
        .lookups()
        .map(|(f, l)| (f.clone(), l.clone()))
        .collect();
    changed.actions = crate::model::ActionCatalog::new(catalog, lookups);
    let references = lookup_misses(&changed, &checks);
    assert!(
        references.len() == 2
            && references
                .iter()
                .all(|m| m.starts_with("ticket.reassign looks up its contact")),
        "read back and refused: {references:?}"
    );

    let mut role = changed
        .role("least-privilege")
        .unwrap_or_else(|e| panic!("{e}"));
    let (function, mut levels) = role
        .grants()
        .map(|(f, l)| (f.clone(), *l))
        .next()
        .unwrap_or_else(|| panic!("least-privilege grants nothing"));
    levels.delete = crate::model::Level::All;
    role.grant(function.clone(), levels);
    changed.roles.insert("least-privilege".to_owned(), role);
    let rows = least_privilege_misses(&changed, &checks);
    assert!(
        rows.len() == 1 && rows[0].contains(&function.to_string()),
        "{rows:?}"
    );
}

#[test]
fn the_gate_names_a_change_to_the_same_value() {
    let check = |steps: &[&str]| Checked {
        place: "x.feature:1 s".to_owned(),
        tags: BTreeSet::new(),
        actions: Vec::new(),
        keys: Vec::new(),
        steps: steps.iter().map(|s| (*s).to_owned()).collect(),
    };
    let same = check(&[
        "ticket #1004 has the status \"In Progress\"",
        "the AI asks to update ticket #1004 with:",
        "ticket #1004 now has the status \"In Progress\"",
    ]);
    let real = check(&[
        "ticket #1004 has the status \"In Progress\"",
        "ticket #1004 now has the status \"Waiting on Client\"",
    ]);
    let misses = unchanged_change_misses(&[same, real]);
    assert_eq!(misses.len(), 1, "{misses:?}");
    assert!(misses[0].contains("ticket #1004 status"), "{misses:?}");
}
