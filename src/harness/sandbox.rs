//! Running the features against a real ConnectWise sandbox: which scenarios can run there,
//! and cleaning up every record the harness created, also when a run is interrupted.

use std::sync::{Arc, Mutex, PoisonError, RwLock};

use cucumber::gherkin;

use crate::connectwise::{Client, Credentials};
use crate::fixtures::Fixtures;
use crate::target::Sandbox;

/// The text the harness puts in every record it creates on a sandbox.
pub const MARK: &str = "[cw-conform]";

/// The fields that carry [`MARK`]: the first of them a new record has.
pub const MARK_FIELDS: [&str; 7] = [
    "summary",
    "name",
    "lastName",
    "title",
    "text",
    "notes",
    "description",
];

/// A sandbox run: the sandbox and whether writes are allowed.
#[derive(Debug, Clone)]
pub struct SandboxRun {
    /// The sandbox.
    pub sandbox: Sandbox,
    /// Whether scenarios that write may run (`--allow-writes`).
    pub allow_writes: bool,
}

/// A record the harness created on the sandbox and has not removed yet.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CreatedRecord {
    /// Collection path under `/apis/3.0` (`/company/contacts`).
    pub path: String,
    /// The record id.
    pub id: i64,
    /// The role profile of the member that created it.
    pub profile: String,
}

impl std::fmt::Display for CreatedRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{} (created as {})", self.path, self.id, self.profile)
    }
}

static CURRENT: RwLock<Option<Arc<SandboxRun>>> = RwLock::new(None);
static OUTSTANDING: Mutex<Vec<CreatedRecord>> = Mutex::new(Vec::new());
static LEFT_BEHIND: Mutex<Vec<CreatedRecord>> = Mutex::new(Vec::new());

/// Installs (or clears) the sandbox of the run about to start.
pub(crate) fn install(run: Option<Arc<SandboxRun>>) {
    *CURRENT.write().unwrap_or_else(PoisonError::into_inner) = run;
}

/// The sandbox of the current run, if it is one.
pub(crate) fn current() -> Option<Arc<SandboxRun>> {
    CURRENT
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .clone()
}

/// Notes a record the harness created.
pub(crate) fn created(record: CreatedRecord) {
    OUTSTANDING
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(record);
}

/// Forgets a record (it was deleted by a scenario or by the cleanup).
pub(crate) fn removed(path: &str, id: i64) {
    OUTSTANDING
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .retain(|r| !(r.path == path && r.id == id));
}

/// The records that could not be removed.
pub fn left_behind() -> Vec<CreatedRecord> {
    LEFT_BEHIND
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone()
}

async fn delete(run: &SandboxRun, record: &CreatedRecord) -> bool {
    let Some(credentials): Option<Credentials> = run.sandbox.credentials(&record.profile) else {
        return false;
    };
    let Ok(client): Result<Client, _> = run.sandbox.client(credentials).await else {
        return false;
    };
    let path = format!("{}/{}", record.path, record.id);
    matches!(client.send(reqwest::Method::DELETE, &path, &[], None).await, Ok(r) if r.ok() || r.status == 404)
}

/// Removes the given records (or, with `None`, every outstanding one); what cannot be
/// removed is kept for the report.
pub async fn clean_up(records: Option<Vec<CreatedRecord>>) {
    let Some(run) = current() else { return };
    let records = records.unwrap_or_else(|| {
        OUTSTANDING
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    });
    for record in records {
        removed(&record.path, record.id);
        if !delete(&run, &record).await {
            LEFT_BEHIND
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(record);
        }
    }
}

/// A create sent to the sandbox whose answer has not arrived yet: the collection path and
/// the field that carries [`MARK`].
#[derive(Debug, Clone, PartialEq, Eq)]
struct InFlight {
    token: u64,
    path: String,
    field: String,
}

static IN_FLIGHT: Mutex<Vec<InFlight>> = Mutex::new(Vec::new());
static NEXT_TOKEN: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

/// Notes a create about to be sent; [`landed`] forgets it once the answer is in.
pub(crate) fn in_flight(path: &str, field: &str) -> u64 {
    let token = NEXT_TOKEN.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    IN_FLIGHT
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(InFlight {
            token,
            path: path.to_owned(),
            field: field.to_owned(),
        });
    token
}

/// The create's answer arrived (and its record, if any, was noted).
pub(crate) fn landed(token: u64) {
    IN_FLIGHT
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .retain(|f| f.token != token);
}

/// After an interrupt: finds the records of creates still in flight when the run stopped
/// (ConnectWise may have made them although no answer arrived) by their [`MARK`], and
/// removes them.
pub async fn sweep_in_flight() {
    let Some(run) = current() else { return };
    let pending = std::mem::take(&mut *IN_FLIGHT.lock().unwrap_or_else(PoisonError::into_inner));
    if pending.is_empty() {
        return;
    }
    let Some(credentials) = run.sandbox.credentials(&run.sandbox.default_profile) else {
        return;
    };
    let Ok(client) = run.sandbox.client(credentials).await else {
        return;
    };
    for flight in pending {
        let query = [(
            "conditions",
            format!("{} contains \"{MARK}\"", flight.field),
        )];
        let Ok(response) = client.get(&flight.path, &query).await else {
            continue;
        };
        for record in response.body.as_array().into_iter().flatten() {
            let Some(id) = record.get("id").and_then(serde_json::Value::as_i64) else {
                continue;
            };
            let found = CreatedRecord {
                path: flight.path.clone(),
                id,
                profile: run.sandbox.default_profile.clone(),
            };
            if !delete(&run, &found).await {
                LEFT_BEHIND
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push(found);
            }
        }
    }
}

/// Why a step can only run against the mock: it names a seeded record, sets up its own
/// role or account, or checks content only the seed data has.
pub(crate) fn needs_mock(step: &str) -> Option<&'static str> {
    let seeded_record = step
        .split('#')
        .skip(1)
        .any(|rest| rest.starts_with(|c: char| c.is_ascii_digit()));
    if seeded_record {
        return Some("refers to a record seeded in the mock");
    }
    let patterns: [(&str, &'static str); 8] = [
        ("an API member whose role grants", "writes its own role"),
        ("are added to the role", "writes its own role"),
        ("the role also grants", "writes its own role"),
        ("signs in as the member", "signs in as a seeded member"),
        (
            "the integration is configured with",
            "changes the credentials",
        ),
        (
            "the integration sends no client ID",
            "changes the credentials",
        ),
        ("the result includes", "expects records seeded in the mock"),
        ("the result lists", "expects records seeded in the mock"),
    ];
    patterns
        .iter()
        .find(|(pattern, _)| step.contains(pattern))
        .map(|(_, reason)| *reason)
}

/// Why a scenario cannot run on the sandbox, if it cannot.
pub(crate) fn exclusion(
    run: &SandboxRun,
    fixtures: &Fixtures,
    feature: &gherkin::Feature,
    rule: Option<&gherkin::Rule>,
    scenario: &gherkin::Scenario,
) -> Option<String> {
    let tags: Vec<&String> = super::tags_of(feature, rule, scenario).collect();
    if tags.iter().any(|t| *t == "mock-only") {
        return Some("needs the mock (inline roles, seeded records or injected faults)".to_owned());
    }
    let steps = super::steps_of(feature, rule, scenario);
    let mut writes = tags.iter().any(|t| *t == "writes");
    for step in steps {
        if let Some(reason) = needs_mock(&step.value) {
            return Some(format!("{reason} (tag it @mock-only)"));
        }
        if let Some(profile) = step
            .value
            .strip_prefix("an API member with the role \"")
            .and_then(|r| r.strip_suffix('"'))
            && !run.sandbox.profiles.contains_key(profile)
        {
            return Some(format!(
                "no API member on the sandbox has the role \"{profile}\" (add one to the profiles file)"
            ));
        }
    }
    writes |= super::runner::actions_asked(fixtures, feature, rule, scenario)
        .iter()
        .any(|name| {
            fixtures
                .actions
                .get(name)
                .is_some_and(crate::model::Action::writes)
        });
    (writes && !run.allow_writes)
        .then(|| "writes to the sandbox (run with --allow-writes)".to_owned())
}
