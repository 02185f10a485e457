//! The records a scenario asks for in business terms ("a service ticket "VPN" owned by the
//! API member"), arranged before the scenario acts: on the mock inserted into the
//! scenario's store, on a sandbox created through the API by the setup member (the profile
//! [`SETUP_PROFILE`]) with the run's mark, recorded in the run's ledger and removed when the
//! scenario ends (by the same [`crate::cleanup`] as everything else the run creates).
//!
//! The kinds of record and what a new one holds are data: `fixtures/records.toml`.

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::fixtures::Fixtures;
use crate::harness::mistake;
use crate::harness::world::ConformanceWorld;
use crate::model::{Level, Levels, Operation, SecurityRole};

/// The profile (in the sandbox profiles file) of the member that creates the records
/// scenarios ask for. `cw-conform sandbox plan` lists its role, [`setup_role`].
pub const SETUP_PROFILE: &str = "setup";

/// The member that owns records "owned by another member" on the mock: a technician of the
/// seed, never the integration's API member.
const ANOTHER_MEMBER_ON_THE_MOCK: &str = "jsmith";

/// The record kinds of `fixtures/records.toml`.
const RECORDS: &str = include_str!("../../fixtures/records.toml");

/// One kind of record a scenario can ask for.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordKind {
    /// How scenarios name it (`service ticket`).
    pub name: String,
    /// Its ConnectWise collection (`tickets`).
    pub collection: String,
    /// For a child record, its parent's kind.
    #[serde(default)]
    pub parent: Option<String>,
    /// What a new record holds unless the scenario says otherwise.
    #[serde(default)]
    pub fields: Map<String, Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RecordsFile {
    kind: Vec<RecordKind>,
}

/// The record kinds, loaded once; a mistake in the file names it and the line.
pub fn kinds() -> &'static [RecordKind] {
    static KINDS: OnceLock<Vec<RecordKind>> = OnceLock::new();
    KINDS.get_or_init(|| match toml::from_str::<RecordsFile>(RECORDS) {
        Ok(file) => file.kind,
        Err(error) => panic!("failed to load fixtures/records.toml: {error}"),
    })
}

/// A kind by the name a scenario gives it (`ticket` is the service ticket's short name).
pub fn kind(name: &str) -> Option<&'static RecordKind> {
    let name = name.trim();
    kinds().iter().find(|k| {
        k.name == name
            || k.name
                .strip_prefix("service ")
                .is_some_and(|short| short == name)
    })
}

/// A kind by the plural a scenario gives it (`contacts`, `companies`, `time entries`).
pub fn kind_of_plural(plural: &str) -> Option<&'static RecordKind> {
    let plural = plural.trim();
    [
        plural.strip_suffix("ies").map(|stem| format!("{stem}y")),
        plural.strip_suffix('s').map(str::to_owned),
    ]
    .into_iter()
    .flatten()
    .find_map(|singular| kind(&singular))
}

/// The field that names a record of `kind` (the first of
/// [`crate::harness::sandbox::MARK_FIELDS`] a new one has): `lastName` for a contact.
pub(crate) fn name_field(kind: &RecordKind) -> Option<&'static str> {
    crate::harness::sandbox::MARK_FIELDS
        .into_iter()
        .find(|field| kind.fields.contains_key(*field))
}

/// The name of the `n`th record of a group arranged together (`Paged 3`), counted from 1.
pub(crate) fn member_of_group(group: &str, n: usize) -> String {
    format!("{group} {n}")
}

/// The records arranged together under `group` (`Paged 1`, `Paged 2`, …), in order.
pub(crate) fn group<'a>(
    arranged: &'a BTreeMap<String, Arranged>,
    group: &str,
) -> Vec<&'a Arranged> {
    let records: Vec<&Arranged> = (1..)
        .map_while(|n| arranged.get(&member_of_group(group, n)))
        .collect();
    if records.is_empty() {
        mistake!("no records \"{group}\" were arranged before this step");
    }
    records
}

/// The kind whose records live at `path` (a collection path, `{parentId}` for a child).
pub(crate) fn kind_at(fixtures: &Fixtures, path: &str) -> Option<&'static RecordKind> {
    kinds().iter().find(|k| {
        fixtures
            .permissions
            .endpoint_for(&k.collection)
            .is_some_and(|e| e.path == path)
    })
}

/// The record of `kind` arranged for `user` (a catalog action, or "the catalog" for a
/// sweep that shares one record of each kind), as a child of the arranged record `parent`
/// when the kind has one: arranged on first use under a name no step uses, which it returns.
pub(crate) async fn example_record(
    world: &mut ConformanceWorld,
    kind: &RecordKind,
    user: &str,
    parent: Option<&str>,
) -> (String, Arranged) {
    let name = match parent {
        Some(parent) => format!("{} of {parent} for {user}", kind.name),
        None => format!("{} for {user}", kind.name),
    };
    if let Some(arranged) = world.arranged.get(&name) {
        return (name, arranged.clone());
    }
    arrange(
        world,
        &kind.name,
        &name,
        parent,
        Ownership::Unsaid,
        Map::new(),
    )
    .await;
    let arranged = world.arranged[&name].clone();
    (name, arranged)
}

/// The scope (in the run's ledger) of the records shared across a sandbox run: no
/// scenario's (scenarios count from 1), so no scenario's cleanup removes them; the run's
/// final cleanup does.
const RUN_WIDE_SCOPE: u64 = 0;

/// The records a sandbox run's refused sweeps share, by name.
pub(crate) type SharedRecords = BTreeMap<String, Arranged>;

/// The record of `kind` that the catalog sweeps meant to be refused act on, for `user` (as
/// [`example_record`] names it; a child of the shared record `parent` when the kind has
/// one). On the mock, the scenario's own
/// ([`example_record`]: inserting costs nothing). On a sandbox, one for the whole run:
/// created (as the setup member, marked, in the ledger) by the first sweep that needs it,
/// removed by the run's final cleanup. A sweep that ConnectWise let a write through forgets
/// them ([`forget_shared_records`]), so the next sweep starts from records nothing changed.
pub(crate) async fn shared_record(
    world: &mut ConformanceWorld,
    kind: &RecordKind,
    user: &str,
    parent: Option<&str>,
) -> (String, Arranged) {
    let Some(run) = world.sandbox().cloned() else {
        return example_record(world, kind, user, parent).await;
    };
    let name = match parent {
        Some(parent) => format!("{} of {parent} for {user}", kind.name),
        None => format!("{} for {user}", kind.name),
    };
    if let Some(arranged) = world.arranged.get(&name) {
        return (name, arranged.clone());
    }
    let mut shared = run.shared.lock().await;
    if let Some(arranged) = shared.get(&name) {
        world.arranged.insert(name.clone(), arranged.clone());
        return (name, arranged.clone());
    }
    let scope = std::mem::replace(&mut world.scope, RUN_WIDE_SCOPE);
    let (_, arranged) = example_record(world, kind, user, parent).await;
    world.scope = scope;
    shared.insert(name.clone(), arranged.clone());
    (name, arranged)
}

/// Forgets the records the run's refused sweeps share: a write went through to one of them.
pub(crate) async fn forget_shared_records(world: &ConformanceWorld) {
    if let Some(run) = world.sandbox() {
        run.shared.lock().await.clear();
    }
}

/// Who a record belongs to, as a scenario says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ownership {
    /// "owned by the API member": the member the scenario signs in as.
    ApiMember,
    /// "owned by another member": a member the scenario does not sign in as.
    AnotherMember,
    /// The scenario does not say: the kind's own fields decide.
    Unsaid,
}

impl Ownership {
    /// The phrase of a step (`the API member`, `another member`, or none).
    pub fn from_phrase(phrase: &str) -> Ownership {
        match phrase {
            "the API member" => Ownership::ApiMember,
            "another member" => Ownership::AnotherMember,
            "" => Ownership::Unsaid,
            other => mistake!(
                "unknown owner \"{other}\" (expected \"the API member\" or \"another member\")"
            ),
        }
    }
}

/// A record the scenario arranged, under the name its steps use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arranged {
    /// Its kind (`service ticket`).
    pub kind: String,
    /// Its collection (`tickets`).
    pub collection: String,
    /// The path of the collection it is in (`/service/tickets/7/tasks`).
    pub path: String,
    /// Its id.
    pub id: i64,
}

/// The setup member's role: Inquire on every function, and Add, Edit and Delete on the
/// functions governing the kinds of record scenarios ask for and the fields guarded on
/// them, so it can create (and clean up) every one of them.
pub fn setup_role(fixtures: &Fixtures) -> SecurityRole {
    let mut role = SecurityRole::new(
        SETUP_PROFILE.to_owned(),
        "The setup member: creates the records scenarios ask for (fixtures/records.toml), \
         marked with the run's token, and removes them afterwards",
    );
    let writable: Vec<String> = kinds()
        .iter()
        .filter_map(|k| fixtures.permissions.endpoint_for(&k.collection))
        .map(|e| e.function.to_string())
        .chain(
            fixtures
                .permissions
                .field_guards
                .iter()
                .map(|g| g.function.to_string()),
        )
        .collect();
    for function in fixtures.permissions.functions.iter() {
        let mut levels = Levels::default();
        levels.set(Operation::Inquire, Level::All);
        if writable.contains(&function.to_string()) {
            for operation in [Operation::Add, Operation::Edit, Operation::Delete] {
                levels.set(operation, Level::All);
            }
        }
        role.grant(function.clone(), levels);
    }
    role
}

/// The kind a step names for a record it is about to name `name`: a mistake in the feature
/// when no kind is called that (with the nearest spelling), or when the scenario already
/// has a record of that name.
fn new_record_of(world: &ConformanceWorld, kind_name: &str, name: &str) -> &'static RecordKind {
    let kind = kind(kind_name).unwrap_or_else(|| {
        mistake!(
            "no kind of record called \"{kind_name}\"{} (fixtures/records.toml lists them)",
            crate::model::spelling::did_you_mean(
                kind_name,
                kinds().iter().map(|k| k.name.as_str())
            )
        )
    });
    if world.arranged.contains_key(name) {
        mistake!("a record named \"{name}\" was arranged already in this scenario");
    }
    kind
}

/// Arranges a record of `kind` under `name`: the kind's fields, then `fields`, owned as
/// `ownership` says, as a child of the arranged record `parent` when the kind has one.
pub(crate) async fn arrange(
    world: &mut ConformanceWorld,
    kind_name: &str,
    name: &str,
    parent: Option<&str>,
    ownership: Ownership,
    fields: Map<String, Value>,
) {
    let kind = new_record_of(world, kind_name, name);
    let endpoint = world
        .fixtures
        .permissions
        .endpoint_for(&kind.collection)
        .cloned()
        .unwrap_or_else(|| {
            mistake!(
                "fixtures/records.toml: the kind \"{}\" names the collection \"{}\", which ConnectWise does not have",
                kind.name,
                kind.collection
            )
        });
    let mut record = kind.fields.clone();
    record.extend(fields);
    let path = match (&kind.parent, parent) {
        (Some(parent_kind), Some(parent_name)) => {
            let parent = world.arranged.get(parent_name).cloned().unwrap_or_else(|| {
                mistake!("no {parent_kind} named \"{parent_name}\" was arranged before this step")
            });
            if kind.parent.as_deref() != Some(parent.kind.as_str()) {
                mistake!(
                    "a {} belongs to a {parent_kind}, but \"{parent_name}\" is a {}",
                    kind.name,
                    parent.kind
                );
            }
            if let Some(field) = &endpoint.parent {
                set_path(&mut record, field, Value::from(parent.id));
            }
            endpoint.path.replace("{parentId}", &parent.id.to_string())
        }
        (Some(parent_kind), None) => {
            mistake!(
                "a {} belongs to a {parent_kind}: say which (`a {} \"{name}\" of {parent_kind} \"…\"`)",
                kind.name,
                kind.name
            )
        }
        (None, Some(_)) => mistake!("a {} has no parent record", kind.name),
        (None, None) => endpoint.path.clone(),
    };
    let owner = match ownership {
        Ownership::ApiMember => Some(api_member(world)),
        Ownership::AnotherMember => Some(another_member(world)),
        Ownership::Unsaid => None,
    };
    if let Some(owner) = owner {
        if endpoint.owner.is_empty() {
            mistake!("a {} has no owner ConnectWise checks", kind.name);
        }
        for field in &endpoint.owner {
            set_path(&mut record, field, Value::from(owner.clone()));
        }
        if world.sandbox().is_none() {
            // The mock stores what it is given: the owner reference gets the member's id
            // and name, as ConnectWise fills them in on a create.
            let members = world.mock().await.records("members");
            let found = members
                .iter()
                .find(|m| m["identifier"].as_str() == Some(owner.as_str()));
            for field in &endpoint.owner {
                if let (Some((head, "identifier")), Some(member)) = (field.split_once('/'), found) {
                    record.insert(
                        head.to_owned(),
                        serde_json::json!({
                            "id": member["id"],
                            "identifier": owner,
                            "name": format!(
                                "{} {}",
                                member["firstName"].as_str().unwrap_or_default(),
                                member["lastName"].as_str().unwrap_or_default()
                            ),
                        }),
                    );
                }
            }
        }
    }
    let id = if let Some(run) = world.sandbox().cloned().filter(|_| world.refused_row) {
        // Rows meant to be refused share what they arrange alike: the first creates it for
        // the whole run, the others use it (forgotten when a row's write went through).
        let key = format!("{name} in {path}: {}", Value::Object(record.clone()));
        let mut shared = run.shared.lock().await;
        if let Some(arranged) = shared.get(&key) {
            arranged.id
        } else {
            let n = shared.len() + 1;
            unique_per(&endpoint, &mut record, &format!("row-{n}"));
            let scope = std::mem::replace(&mut world.scope, RUN_WIDE_SCOPE);
            let id = create_on_sandbox(world, &path, record).await;
            world.scope = scope;
            shared.insert(
                key,
                Arranged {
                    kind: kind.name.clone(),
                    collection: kind.collection.clone(),
                    path: path.clone(),
                    id,
                },
            );
            id
        }
    } else if world.sandbox().is_some() {
        let n = format!("{}-{}", world.scope, world.arranged.len() + 1);
        unique_per(&endpoint, &mut record, &n);
        create_on_sandbox(world, &path, record).await
    } else {
        let n = format!("{}-{}", world.scope, world.arranged.len() + 1);
        unique_per(&endpoint, &mut record, &n);
        let mock = world.mock().await;
        mock.insert(&kind.collection, [Value::Object(record)])
            .first()
            .copied()
            .expect("one record was inserted")
    };
    remember(world, name, kind, path, id);
}

/// Makes each of the endpoint's unique fields (`identifier`) the record's own, with
/// `suffix`.
fn unique_per(
    endpoint: &crate::connectwise::security::Endpoint,
    record: &mut Map<String, Value>,
    suffix: &str,
) {
    for field in &endpoint.unique {
        if let Some(Value::String(text)) = record.get_mut(field) {
            *text = format!("{text}-{suffix}");
        }
    }
}

/// The outcomes of an action that writes nothing: ConnectWise refused it (`denied`), the
/// integration did not send it (`blocked`), or refused it as invalid (`rejected`).
const REFUSED_OUTCOMES: [&str; 3] = ["denied", "blocked", "rejected"];

/// Whether `scenario` is a row of a Scenario Outline whose every action is meant to be
/// refused: each outcome it expects is denied, blocked or rejected, and no person confirms
/// a held action. Its rows may share the records they arrange on a sandbox; a row whose
/// write might go through (allowed, or escalated and then confirmed) gets its own.
pub(crate) fn a_row_meant_to_be_refused(scenario: &gherkin::Scenario) -> bool {
    let outcomes: Vec<&str> = scenario
        .steps
        .iter()
        .filter_map(|step| step.value.strip_prefix("the outcome is "))
        .collect();
    !scenario.examples.is_empty()
        && !outcomes.is_empty()
        && outcomes
            .iter()
            .all(|o| REFUSED_OUTCOMES.contains(&o.trim()))
        && !scenario
            .steps
            .iter()
            .any(|step| step.value.starts_with("the person confirms"))
}

/// Keeps the record arranged under `name`, for the steps that name it.
fn remember(world: &mut ConformanceWorld, name: &str, kind: &RecordKind, path: String, id: i64) {
    world.arranged.insert(
        name.to_owned(),
        Arranged {
            kind: kind.name.clone(),
            collection: kind.collection.clone(),
            path,
            id,
        },
    );
}

/// Names a record of `kind` that ConnectWise does not hold, under `name`: an id past the
/// largest the collection has, read and never written, so later steps can ask for a record
/// that does not exist without naming a number that some site might hold.
pub(crate) async fn absent(world: &mut ConformanceWorld, kind_name: &str, name: &str) {
    let kind = new_record_of(world, kind_name, name);
    if kind.parent.is_some() {
        mistake!(
            "a {} belongs to a parent record: name a record of its own",
            kind.name
        );
    }
    let path = world
        .fixtures
        .permissions
        .endpoint_for(&kind.collection)
        .map_or_else(
            || mistake!("a {} has no ConnectWise collection", kind.name),
            |e| e.path.clone(),
        );
    let id = world.id_past_the_largest(&kind.collection, &path).await;
    remember(world, name, kind, path, id);
}

/// Sets `field` (a path such as `owner/identifier`) in `record`, making the objects on the
/// way.
fn set_path(record: &mut Map<String, Value>, field: &str, value: Value) {
    match field.split_once('/') {
        None => {
            record.insert(field.to_owned(), value);
        }
        Some((head, rest)) => {
            let inner = record
                .entry(head.to_owned())
                .or_insert_with(|| Value::Object(Map::new()));
            if !inner.is_object() {
                *inner = Value::Object(Map::new());
            }
            if let Value::Object(map) = inner {
                // A reference keeps only what names the new record: the old id and name
                // belonged to the member it replaces.
                map.retain(|key, _| key == rest);
                set_path(map, rest, value);
            }
        }
    }
}

/// The member a phrase of a scenario names, by identifier: `the API member` (the member
/// the scenario signs in as) or `another member` (one it does not sign in as: on the mock a
/// technician of the seed, on a sandbox the setup member, only ever read or referred to).
pub(crate) fn member_named(world: &ConformanceWorld, phrase: &str) -> Option<String> {
    match phrase {
        "the API member" => Some(api_member(world)),
        "another member" => Some(another_member(world)),
        _ => None,
    }
}

/// Each phrase [`member_named`] knows with the member it names in this scenario, where
/// that member is known (never a panic: this is read after the scenario).
pub(crate) fn members_known(world: &ConformanceWorld) -> Vec<(String, String)> {
    let known = |profile: &str| {
        world.sandbox().and_then(|run| {
            run.members
                .iter()
                .find(|m| m.profile == profile)
                .and_then(|m| m.member.clone())
        })
    };
    let (api, another) = match world.sandbox() {
        None => (
            Some(world.member.clone()),
            Some(ANOTHER_MEMBER_ON_THE_MOCK.to_owned()),
        ),
        Some(_) => (known(&world.profile()), known(SETUP_PROFILE)),
    };
    MEMBER_PHRASES
        .iter()
        .zip([api, another])
        .filter_map(|(phrase, member)| Some(((*phrase).to_owned(), member?)))
        .collect()
}

/// The phrases [`member_named`] knows.
pub(crate) const MEMBER_PHRASES: [&str; 2] = ["the API member", "another member"];

/// The member identifier the scenario signs in as.
fn api_member(world: &ConformanceWorld) -> String {
    match world.sandbox() {
        None => world.member.clone(),
        Some(run) => member_of(run, &world.profile()),
    }
}

/// A member the scenario does not sign in as: on a sandbox the setup member.
fn another_member(world: &ConformanceWorld) -> String {
    match world.sandbox() {
        None => ANOTHER_MEMBER_ON_THE_MOCK.to_owned(),
        Some(run) => {
            let member = member_of(run, SETUP_PROFILE);
            assert!(
                member != api_member(world),
                "the setup member {member} is also the member this scenario signs in as: give the profile \"{SETUP_PROFILE}\" a member of its own"
            );
            member
        }
    }
}

/// The member identifier of a profile's member, as the preflight read it.
fn member_of(run: &crate::harness::sandbox::SandboxRun, profile: &str) -> String {
    run.members
        .iter()
        .find(|m| m.profile == profile)
        .and_then(|m| m.member.clone())
        .unwrap_or_else(|| {
            panic!(
                "the member of the profile \"{profile}\" is not known: ConnectWise named no member for its keys (/system/mySecurity)"
            )
        })
}

/// Creates the record through the API as the setup member, marked with the run's token
/// and recorded in the ledger under the scenario's scope: the scenario's cleanup removes it.
async fn create_on_sandbox(
    world: &mut ConformanceWorld,
    path: &str,
    mut record: Map<String, Value>,
) -> i64 {
    let run = Arc::clone(world.sandbox().expect("a sandbox run"));
    let credentials = run.sandbox.credentials(SETUP_PROFILE).unwrap_or_else(|| {
        panic!(
            "the scenario needs records arranged, and the profiles file has no profile \"{SETUP_PROFILE}\" (`cw-conform sandbox plan` lists its role)"
        )
    });
    mark(&mut record, &run.ledger.next_mark());
    let gate =
        crate::ledger::LedgerGate::new(Arc::clone(&run.ledger), SETUP_PROFILE, world.scope, false);
    let client = run
        .sandbox
        .client(credentials)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .with_gate(Arc::new(gate));
    let body = Value::Object(record);
    let response = client
        .send(reqwest::Method::POST, path, &[], Some(&body))
        .await
        .unwrap_or_else(|e| panic!("the setup member could not create a record in {path}: {e}"));
    assert!(
        matches!(response.status, 200 | 201),
        "the setup member could not create a record in {path}: ConnectWise answered {} {}",
        response.status,
        response.body
    );
    response.body["id"].as_i64().unwrap_or_else(|| {
        panic!(
            "ConnectWise created a record in {path} but named no id: {}",
            response.body
        )
    })
}

/// Marks a record created on a sandbox with the run's mark (`[cw-conform TOKEN.SEQ]`), so
/// that only this run can recognise it as its own: the first name-like text field is
/// prefixed with it, or `notes` carries it.
pub(crate) fn mark(fields: &mut Map<String, Value>, mark: &str) {
    for field in crate::harness::sandbox::MARK_FIELDS {
        if let Some(Value::String(text)) = fields.get_mut(field) {
            *text = format!("{mark} {text}");
            return;
        }
    }
    fields.insert("notes".into(), Value::from(mark));
}

/// The arranged record a step names, or a feature mistake.
pub(crate) fn named<'a>(arranged: &'a BTreeMap<String, Arranged>, name: &str) -> &'a Arranged {
    arranged.get(name).unwrap_or_else(|| {
        mistake!(
            "no record named \"{name}\" was arranged before this step{}",
            crate::model::spelling::did_you_mean(name, arranged.keys().map(String::as_str))
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_names_a_collection_connectwise_has_and_a_known_parent() {
        let fixtures = Fixtures::builtin().unwrap();
        for kind in kinds() {
            let endpoint = fixtures
                .permissions
                .endpoint_for(&kind.collection)
                .unwrap_or_else(|| panic!("{} names no collection", kind.name));
            assert_eq!(
                endpoint.path.contains("{parentId}"),
                kind.parent.is_some(),
                "{}: a child collection needs a parent kind, and only it",
                kind.name
            );
            if let Some(parent) = &kind.parent {
                assert!(
                    super::kind(parent).is_some(),
                    "{}: unknown parent {parent}",
                    kind.name
                );
            }
            for required in &endpoint.required {
                assert!(
                    kind.fields.contains_key(required),
                    "{}: a new record lacks the required field {required}",
                    kind.name
                );
            }
        }
    }

    #[test]
    fn the_setup_role_may_write_every_kind_and_is_no_profile_of_a_scenario() {
        let fixtures = Fixtures::builtin().unwrap();
        let role = setup_role(fixtures);
        for kind in kinds() {
            let endpoint = fixtures.permissions.endpoint_for(&kind.collection).unwrap();
            let function = fixtures
                .permissions
                .functions
                .find(&endpoint.function.module, &endpoint.function.function)
                .unwrap();
            let levels = role.levels(function);
            for operation in [
                Operation::Add,
                Operation::Edit,
                Operation::Delete,
                Operation::Inquire,
            ] {
                assert_eq!(
                    levels.get(operation),
                    Level::All,
                    "{} {operation}",
                    kind.name
                );
            }
        }
        for profile in fixtures.roles.values() {
            assert!(
                !role.grants_same_as(profile),
                "the setup role equals {}",
                profile.name
            );
        }
    }

    #[test]
    fn an_owner_path_replaces_the_reference_it_names() {
        let mut record = Map::new();
        record.insert(
            "owner".into(),
            serde_json::json!({"id": 2, "identifier": "jsmith", "name": "John Smith"}),
        );
        set_path(
            &mut record,
            "owner/identifier",
            Value::from("ai-integration"),
        );
        set_path(&mut record, "resources", Value::from("ai-integration"));
        assert_eq!(
            Value::Object(record),
            serde_json::json!({"owner": {"identifier": "ai-integration"}, "resources": "ai-integration"})
        );
    }
}
