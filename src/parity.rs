//! The parity report (`cw-conform parity`): where the mock and a ConnectWise sandbox
//! answered the same scenarios differently. Pure: it compares what two runs observed (each
//! scenario's result, and the requests its clients made with the shape of each answer);
//! running them is `commands::parity`'s. No I/O here.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::LazyLock;
use std::time::{Duration, SystemTime};

use serde::Serialize;
use serde_json::Value;

use crate::connectwise::JournalEntry;
use crate::connectwise::journal::{Answered, written_fields};
use crate::harness::{RunSummary, ScenarioResult};

/// What the report compares, as it states it.
pub const COMPARED: [&str; 7] = [
    "the scenario's verdict (passed, failed, could not be judged, feature error) and the outcome of its last action",
    "the requests the integration made, in order: method, path (ids as {id}, member identifiers as {member}) and query parameters (names in any case, the run's mark aside, a member the scenario names by a phrase as that phrase)",
    "the JSON body of each request, field by field (as JSON pointers): the run's mark aside, an id named by the record it refers to (one the scenario arranged, by the name its steps gave it; one a request of the scenario created, by that request; a setup record an earlier answer referred to by name, such as a ticket's status, by its field and that name; any other as {id}), and a time of the run's own clock (between its start and end) as {time of the run}",
    "the status of each answer",
    "the shape of each error body: its keys, its code and each field error's code and field (never the message text)",
    "each list answered: its field names and whether it was empty (not its count nor its values: a sandbox holds records of its own)",
    "each record answered: its field names and, for a write, the values of the fields the write sent (ids, _info, the run's mark, a field holding only the mark and the names of references aside; a member the scenario names by a phrase as that phrase)",
];

/// One thing that differs between the two targets in a scenario.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Difference {
    /// What differs: `verdict`, `outcome`, `request`, `request body`, `status`, `error body`
    /// or `records`.
    pub aspect: &'static str,
    /// The request it is about, when it is about one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request: Option<RequestRef>,
    /// Where in the request's body (a JSON pointer), for a difference of bodies.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pointer: Option<String>,
    /// What the mock gave.
    pub mock: String,
    /// What the sandbox gave.
    pub sandbox: String,
}

/// Which request of a scenario a difference is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RequestRef {
    /// Its place in the scenario (1 for the first).
    pub number: usize,
    /// The request as compared ([`request_line`]), as the mock received it (or the sandbox,
    /// when the mock received none there).
    pub request: String,
}

/// A scenario that ran on both targets, and what differed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScenarioParity {
    /// The feature file.
    pub feature: String,
    /// Line in the feature file.
    pub line: usize,
    /// The scenario's name.
    pub name: String,
    /// How many requests' bodies were compared (requests that sent one on both targets).
    pub bodies_compared: usize,
    /// Each difference; none when the two targets agreed.
    pub differences: Vec<Difference>,
}

/// A scenario that ran on one target only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OneSided {
    /// The feature file.
    pub feature: String,
    /// Line in the feature file.
    pub line: usize,
    /// The scenario's name.
    pub name: String,
    /// `mock` or `sandbox`.
    pub ran_on: &'static str,
    /// Why it did not run on the other.
    pub reason: String,
}

/// The two runs compared.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ParityReport {
    /// What is compared.
    pub compared_aspects: [&'static str; 7],
    /// Every scenario that ran on both, in feature order.
    pub scenarios: Vec<ScenarioParity>,
    /// Scenarios that ran on one target only, with the reason.
    pub one_sided: Vec<OneSided>,
    /// Scenarios that ran on both, but on the sandbox with a documented behaviour the
    /// harness emulated: not compared, since what the emulation answered says nothing of
    /// how the mock and ConnectWise differ.
    pub emulated: Vec<EmulatedOnSandbox>,
}

/// A scenario that ran on the sandbox with a behaviour the harness emulated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EmulatedOnSandbox {
    /// The feature file.
    pub feature: String,
    /// Line in the feature file.
    pub line: usize,
    /// The scenario's name.
    pub name: String,
    /// The behaviours emulated, each with the sandbox's own.
    pub behaviours: Vec<String>,
}

impl ParityReport {
    /// Whether any scenario that ran on both differed.
    pub fn differs(&self) -> bool {
        self.scenarios.iter().any(|s| !s.differences.is_empty())
    }

    /// Every difference, with its scenario.
    pub fn differences(&self) -> impl Iterator<Item = (&ScenarioParity, &Difference)> {
        self.scenarios
            .iter()
            .flat_map(|s| s.differences.iter().map(move |d| (s, d)))
    }
}

/// Compares a run on the mock with a run of the same scenarios on a sandbox.
pub fn compare(mock: &RunSummary, sandbox: &RunSummary) -> ParityReport {
    let key = |s: &ScenarioResult| (s.feature.clone(), s.line);
    let on_sandbox: BTreeMap<(String, usize), &ScenarioResult> =
        sandbox.scenarios.iter().map(|s| (key(s), s)).collect();
    let on_mock: BTreeMap<(String, usize), &ScenarioResult> =
        mock.scenarios.iter().map(|s| (key(s), s)).collect();
    let mut scenarios = Vec::new();
    let mut one_sided = Vec::new();
    let mut emulated = Vec::new();
    for (k, m) in &on_mock {
        match on_sandbox.get(k) {
            Some(s) if !s.emulated.is_empty() => emulated.push(EmulatedOnSandbox {
                feature: m.feature.clone(),
                line: m.line,
                name: m.name.clone(),
                behaviours: s.emulated.clone(),
            }),
            Some(s) => scenarios.push(ScenarioParity {
                feature: m.feature.clone(),
                line: m.line,
                name: m.name.clone(),
                bodies_compared: bodies_compared(m, s),
                differences: scenario_differences(
                    &Side {
                        result: m,
                        clock: RunClock::of(mock),
                    },
                    &Side {
                        result: s,
                        clock: RunClock::of(sandbox),
                    },
                ),
            }),
            None => one_sided.push(OneSided {
                feature: m.feature.clone(),
                line: m.line,
                name: m.name.clone(),
                ran_on: "mock",
                reason: sandbox
                    .left_out
                    .iter()
                    .find(|l| l.feature == m.feature && l.line == m.line)
                    .map_or_else(
                        || "it did not run on the sandbox".to_owned(),
                        |l| l.reason.clone(),
                    ),
            }),
        }
    }
    for (k, s) in &on_sandbox {
        if !on_mock.contains_key(k) {
            one_sided.push(OneSided {
                feature: s.feature.clone(),
                line: s.line,
                name: s.name.clone(),
                ran_on: "sandbox",
                reason: mock
                    .left_out
                    .iter()
                    .find(|l| l.feature == s.feature && l.line == s.line)
                    .map_or_else(
                        || "it did not run on the mock".to_owned(),
                        |l| l.reason.clone(),
                    ),
            });
        }
    }
    ParityReport {
        compared_aspects: COMPARED,
        scenarios,
        one_sided,
        emulated,
    }
}

/// A scenario's verdict in words.
fn verdict(result: &ScenarioResult) -> &'static str {
    if result.feature_error.is_some() {
        "feature error"
    } else if result.not_judged.is_some() {
        "could not be judged"
    } else if result.passed() {
        "passed"
    } else {
        "failed"
    }
}

/// How many requests sent a body on both targets, in the same place of the scenario, to
/// the same request line.
fn bodies_compared(mock: &ScenarioResult, sandbox: &ScenarioResult) -> usize {
    mock.requests
        .iter()
        .zip(&sandbox.requests)
        .filter(|(m, s)| m.body.is_some() && s.body.is_some() && request_line(m) == request_line(s))
        .count()
}

/// One side of the comparison: a scenario's result on a target, and when its run went.
struct Side<'a> {
    result: &'a ScenarioResult,
    clock: Option<RunClock>,
}

fn scenario_differences(mock: &Side<'_>, sandbox: &Side<'_>) -> Vec<Difference> {
    let mut differences = Vec::new();
    let (m_result, s_result) = (mock.result, sandbox.result);
    differ(
        &mut differences,
        ("verdict", None),
        verdict(m_result).to_owned(),
        verdict(s_result).to_owned(),
    );
    let outcome = |r: &ScenarioResult| {
        r.outcome
            .as_ref()
            .map_or_else(|| "none".to_owned(), ToString::to_string)
    };
    differ(
        &mut differences,
        ("outcome", None),
        outcome(m_result),
        outcome(s_result),
    );
    let mut m_names = RecordNames::arranged(&m_result.arranged);
    let mut s_names = RecordNames::arranged(&s_result.arranged);
    let count = m_result.requests.len().max(s_result.requests.len());
    for index in 0..count {
        let (m, s) = (m_result.requests.get(index), s_result.requests.get(index));
        let line = |entry: Option<&JournalEntry>| {
            entry.map_or_else(|| "(no request)".to_owned(), request_line)
        };
        let (m_line, s_line) = (
            named_members(line(m), &m_result.members),
            named_members(line(s), &s_result.members),
        );
        let about = Some(RequestRef {
            number: index + 1,
            request: m.map_or_else(|| s_line.clone(), |_| m_line.clone()),
        });
        let (Some(m), Some(s)) = (m, s) else {
            differ(&mut differences, ("request", about), m_line, s_line);
            continue;
        };
        if m_line != s_line {
            differ(&mut differences, ("request", about), m_line, s_line);
            continue;
        }
        for (pointer, m_value, s_value) in body_differences(
            (m.body.as_ref(), &m_names, mock.clock.as_ref()),
            (s.body.as_ref(), &s_names, sandbox.clock.as_ref()),
        ) {
            differences.push(Difference {
                aspect: "request body",
                request: about.clone(),
                pointer: Some(pointer),
                mock: m_value,
                sandbox: s_value,
            });
        }
        m_names.created_by(index + 1, m);
        s_names.created_by(index + 1, s);
        m_names.referred_to_by(m);
        s_names.referred_to_by(s);
        if m.status != s.status {
            differ(
                &mut differences,
                ("status", about),
                m.status.to_string(),
                s.status.to_string(),
            );
            continue;
        }
        if let (Some(ma), Some(sa)) = (&m.answer, &s.answer) {
            let (aspect, ms, ss) = answer_shapes(ma, sa, m.body.as_ref(), s.body.as_ref());
            differ(
                &mut differences,
                (aspect, about),
                named_members(ms, &m_result.members),
                named_members(ss, &s_result.members),
            );
        }
    }
    differences
}

/// Adds a difference of `aspect` (about `request`) when the two sides' words differ.
fn differ(
    differences: &mut Vec<Difference>,
    (aspect, request): (&'static str, Option<RequestRef>),
    mock: String,
    sandbox: String,
) {
    if mock != sandbox {
        differences.push(Difference {
            aspect,
            request,
            pointer: None,
            mock,
            sandbox,
        });
    }
}

/// When a run went: a time between its start and its end (a minute either side, for
/// times rounded to the second or read from another clock) came from a clock during the
/// run (the harness's, or the site's), not from the scenario.
#[derive(Debug, Clone, Copy)]
struct RunClock {
    from: SystemTime,
    to: SystemTime,
}

impl RunClock {
    fn of(run: &RunSummary) -> Option<RunClock> {
        let started = run.started?;
        let slack = Duration::from_secs(60);
        Some(RunClock {
            from: started.checked_sub(slack).unwrap_or(started),
            to: started + run.elapsed + slack,
        })
    }

    /// Whether `text` is a time (RFC 3339) within the run.
    fn covers(&self, text: &str) -> bool {
        looks_like_a_time(text)
            && humantime::parse_rfc3339_weak(text)
                .is_ok_and(|time| (self.from..=self.to).contains(&time))
    }
}

/// `YYYY-MM-DDTHH:MM`, the start of an RFC 3339 time.
fn looks_like_a_time(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.len() >= 16
        && bytes[..16].iter().enumerate().all(|(at, b)| match at {
            4 | 7 => *b == b'-',
            10 => *b == b'T' || *b == b' ',
            13 => *b == b':',
            _ => b.is_ascii_digit(),
        })
}

/// The names a side gives the ids its requests carry: the records the scenario arranged
/// (by their names), those its requests created so far (by the request), and the setup
/// records (a status, a board, a type) an answer so far referred to by a name of their own.
struct RecordNames {
    by_id: BTreeMap<i64, Vec<String>>,
    /// `(field, id)` of each reference an answer held (`status`, 2) and the name it gave it.
    referred: BTreeMap<(String, i64), String>,
}

impl RecordNames {
    fn arranged(arranged: &[(String, i64)]) -> RecordNames {
        let mut by_id: BTreeMap<i64, Vec<String>> = BTreeMap::new();
        for (name, id) in arranged {
            by_id
                .entry(*id)
                .or_default()
                .push(format!("{{record \"{name}\"}}"));
        }
        RecordNames {
            by_id,
            referred: BTreeMap::new(),
        }
    }

    /// Names the record `request` (number `number`) created, when it was a create that
    /// ConnectWise answered with a record.
    fn created_by(&mut self, number: usize, request: &JournalEntry) {
        if request.method != "POST" || !request.succeeded() {
            return;
        }
        if let Some(Answered::Record(record)) = &request.answer
            && let Some(id) = record.get("id").and_then(Value::as_i64)
        {
            self.by_id
                .entry(id)
                .or_default()
                .push(format!("{{the record request {number} created}}"));
        }
    }

    /// Learns the references `request`'s answer holds (a ticket read names its `status`
    /// as `{"id": 2, "name": "In Progress"}`): a reference with a `name` and no
    /// `identifier`, which is a setup record every site names alike. A reference with an
    /// `identifier` (a member, a company) is left out: a site names its own members.
    fn referred_to_by(&mut self, request: &JournalEntry) {
        if let Some(Answered::Record(record)) = &request.answer {
            self.learn(record);
        }
    }

    fn learn(&mut self, value: &Value) {
        match value {
            Value::Object(map) => {
                for (field, inner) in map {
                    if let Some(reference) = inner.as_object()
                        && !reference.contains_key("identifier")
                        && let (Some(id), Some(name)) = (
                            reference.get("id").and_then(Value::as_i64),
                            reference.get("name").and_then(Value::as_str),
                        )
                    {
                        self.referred
                            .entry((field.clone(), id))
                            .or_insert_with(|| unmarked(name));
                    }
                    self.learn(inner);
                }
            }
            Value::Array(items) => items.iter().for_each(|item| self.learn(item)),
            _ => {}
        }
    }

    /// What an id in the field `field` is compared as.
    fn name(&self, id: i64, field: &str) -> String {
        match (
            self.by_id.get(&id),
            self.referred.get(&(field.to_owned(), id)),
        ) {
            (Some(names), _) => names.join(" or "),
            (None, Some(name)) => format!("{{{field} \"{name}\"}}"),
            (None, None) => "{id}".to_owned(),
        }
    }
}

/// Whether a field holds an id (`id`, `recordId`) or a list of ids (`mergeTicketIds`).
fn names_an_id(key: &str) -> bool {
    key == "id" || key.ends_with("Id") || key.ends_with("Ids")
}

/// A request body as compared (see [`COMPARED`]): strings without the run's mark (a string
/// that was only the mark is left out: a site added it to carry the mark), ids by the
/// record they name, times of the run as `{time of the run}`. `None` for a string that
/// was only the mark. `field` is the field the value is in (for an id, the field of the
/// reference it is the id of: `status` for `{"status": {"id": 2}}`).
fn comparable_body(
    value: &Value,
    (an_id, field): (bool, &str),
    names: &RecordNames,
    clock: Option<&RunClock>,
) -> Option<Value> {
    let id = match value {
        Value::Number(number) if an_id => number.as_i64(),
        Value::String(text) if an_id => text.parse::<i64>().ok(),
        _ => None,
    };
    if let Some(id) = id {
        return Some(Value::String(names.name(id, field)));
    }
    match value {
        Value::Object(map) => {
            // A JSON Patch operation: its value is an id when its path names one, and
            // belongs to the field its path names.
            let patched = map
                .get("path")
                .and_then(Value::as_str)
                .filter(|_| map.contains_key("op"));
            let patched_id = patched
                .and_then(|path| path.rsplit('/').next())
                .is_some_and(names_an_id);
            let patched_field = patched.map(|path| {
                let path = path.trim_start_matches('/');
                path.strip_suffix("/id").unwrap_or(path)
            });
            Some(Value::Object(
                map.iter()
                    .filter_map(|(key, v)| {
                        let an_id = names_an_id(key) || (patched_id && key == "value");
                        let inner = match (key.as_str(), patched_field) {
                            ("value", Some(patched)) => patched,
                            ("id", _) if !field.is_empty() => field,
                            _ => key.as_str(),
                        };
                        comparable_body(v, (an_id, inner), names, clock).map(|v| (key.clone(), v))
                    })
                    .collect(),
            ))
        }
        Value::Array(items) => Some(Value::Array(
            items
                .iter()
                .filter_map(|item| comparable_body(item, (an_id, field), names, clock))
                .collect(),
        )),
        Value::String(text) => {
            let text = unmarked(text);
            if text.is_empty() && value.as_str().is_some_and(|t| t != text) {
                None
            } else if clock.is_some_and(|c| c.covers(&text)) {
                Some(Value::String("{time of the run}".to_owned()))
            } else {
                Some(Value::String(text))
            }
        }
        other => Some(other.clone()),
    }
}

/// Where two request bodies differ, as compared ([`comparable_body`]): each JSON pointer,
/// with what each side sent there (`(absent)` for nothing).
fn body_differences(
    (mock, mock_names, mock_clock): (Option<&Value>, &RecordNames, Option<&RunClock>),
    (sandbox, sandbox_names, sandbox_clock): (Option<&Value>, &RecordNames, Option<&RunClock>),
) -> Vec<(String, String, String)> {
    let m = mock.and_then(|v| comparable_body(v, (false, ""), mock_names, mock_clock));
    let s = sandbox.and_then(|v| comparable_body(v, (false, ""), sandbox_names, sandbox_clock));
    let mut found = Vec::new();
    differ_at(String::new(), m.as_ref(), s.as_ref(), &mut found);
    found
}

fn differ_at(
    pointer: String,
    mock: Option<&Value>,
    sandbox: Option<&Value>,
    found: &mut Vec<(String, String, String)>,
) {
    match (mock, sandbox) {
        (Some(Value::Object(m)), Some(Value::Object(s))) => {
            let keys: std::collections::BTreeSet<&String> = m.keys().chain(s.keys()).collect();
            for key in keys {
                let escaped = key.replace('~', "~0").replace('/', "~1");
                differ_at(
                    format!("{pointer}/{escaped}"),
                    m.get(key),
                    s.get(key),
                    found,
                );
            }
        }
        (Some(Value::Array(m)), Some(Value::Array(s))) => {
            for index in 0..m.len().max(s.len()) {
                differ_at(
                    format!("{pointer}/{index}"),
                    m.get(index),
                    s.get(index),
                    found,
                );
            }
        }
        (m, s) if m != s => {
            let shown =
                |v: Option<&Value>| v.map_or_else(|| "(absent)".to_owned(), Value::to_string);
            let place = if pointer.is_empty() {
                "/".to_owned()
            } else {
                pointer
            };
            found.push((place, shown(m), shown(s)));
        }
        _ => {}
    }
}

/// The aspect two answers to the same request are compared by, and each one's shape in
/// words.
fn answer_shapes(
    mock: &Answered,
    sandbox: &Answered,
    mock_sent: Option<&Value>,
    sandbox_sent: Option<&Value>,
) -> (&'static str, String, String) {
    match (mock, sandbox) {
        (Answered::Error { .. }, Answered::Error { .. }) => {
            ("error body", shape(mock, None), shape(sandbox, None))
        }
        _ => (
            "records",
            shape(mock, mock_sent),
            shape(sandbox, sandbox_sent),
        ),
    }
}

/// An answer's comparable shape in words.
fn shape(answer: &Answered, sent: Option<&Value>) -> String {
    match answer {
        Answered::Nothing => "no body".to_owned(),
        Answered::Error {
            keys,
            code,
            field_errors,
        } => {
            let mut text = format!(
                "keys [{}], code {}",
                keys.join(", "),
                code.as_deref().unwrap_or("(none)")
            );
            if !field_errors.is_empty() {
                let _ = write!(text, ", field errors {}", field_errors.join("; "));
            }
            text
        }
        Answered::Records { count, fields } => {
            if *count == 0 {
                "an empty list".to_owned()
            } else {
                format!("a list of records with fields {}", fields.join(", "))
            }
        }
        Answered::Record(Value::Object(record)) => {
            // A field holding only the run's mark was added by the sandbox run to carry it
            // (`notes` of a record with no name of its own): not the site's.
            let only_the_mark = |v: &Value| {
                v.as_str()
                    .is_some_and(|t| !t.is_empty() && unmarked(t).is_empty())
            };
            let mut fields: Vec<&str> = record
                .iter()
                .filter(|(_, v)| !only_the_mark(v))
                .map(|(k, _)| k.as_str())
                .collect();
            fields.sort_unstable();
            let mut text = format!("a record with fields {}", fields.join(", "));
            let sent_fields: Vec<String> = sent
                .map(written_fields)
                .unwrap_or_default()
                .iter()
                .filter_map(|f| {
                    f.trim_start_matches('/')
                        .split('/')
                        .next()
                        .map(str::to_owned)
                })
                .collect();
            let values: BTreeMap<&str, Value> = sent_fields
                .iter()
                .filter_map(|f| record.get(f).map(|v| (f.as_str(), v)))
                .filter(|(_, v)| !only_the_mark(v))
                .map(|(f, v)| (f, comparable(v)))
                .collect();
            if !values.is_empty() {
                let _ = write!(
                    text,
                    "; as written: {}",
                    serde_json::to_string(&values).unwrap_or_default()
                );
            }
            text
        }
        Answered::Record(other) => format!("a JSON {}", kind(other)),
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// The run's mark a sandbox run adds to what it creates (`[cw-conform TOKEN.N] `).
static MARK: LazyLock<Option<regex::Regex>> =
    LazyLock::new(|| regex::Regex::new(r"\[cw-conform [^\]]*\] ?").ok());

fn unmarked(text: &str) -> String {
    match MARK.as_ref() {
        Some(mark) => mark.replace_all(text, "").into_owned(),
        None => text.to_owned(),
    }
}

/// A member the scenario refers to by phrase ("the API member") has an identifier of its
/// own on each site: where a side's words quote it, they quote the phrase instead.
fn named_members(text: String, members: &[(String, String)]) -> String {
    members.iter().fold(text, |text, (phrase, identifier)| {
        text.replace(&format!("\"{identifier}\""), &format!("\"{{{phrase}}}\""))
    })
}

/// A value as comparable between two sites: without `id` and `_info` at any depth (each
/// site numbers its own records and stamps its own times), strings without the run's mark,
/// and a reference (an object with an `identifier`) without its `name`, which follows from
/// the record it refers to.
fn comparable(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(k, _)| k.as_str() != "id" && k.as_str() != "_info")
                .filter(|(k, _)| !(k.as_str() == "name" && map.contains_key("identifier")))
                .map(|(k, v)| (k.clone(), comparable(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(comparable).collect()),
        Value::String(text) => Value::String(unmarked(text)),
        other => other.clone(),
    }
}

/// A request as compared: method, path with ids as `{id}` and member identifiers as
/// `{member}`, and its query parameters decoded, names in lower case, sorted.
pub fn request_line(entry: &JournalEntry) -> String {
    let mut after_members = false;
    let path: Vec<String> = entry
        .path
        .split('/')
        .map(|segment| {
            let shown = if after_members && !segment.is_empty() {
                "{member}".to_owned()
            } else if !segment.is_empty() && segment.bytes().all(|b| b.is_ascii_digit()) {
                "{id}".to_owned()
            } else {
                segment.to_owned()
            };
            after_members = segment.eq_ignore_ascii_case("members");
            shown
        })
        .collect();
    let mut query: Vec<String> = url::form_urlencoded::parse(entry.query.as_bytes())
        .map(|(name, value)| format!("{}={}", name.to_ascii_lowercase(), unmarked(&value)))
        .collect();
    query.sort();
    let mut line = format!("{} {}", entry.method, path.join("/"));
    if !query.is_empty() {
        let _ = write!(line, "?{}", query.join("&"));
    }
    line
}

/// The report as text: what is compared, each scenario's differences, and the scenarios
/// that ran on one target only, grouped by reason.
pub fn render_text(report: &ParityReport) -> String {
    let mut out = String::from("Parity of the mock and the sandbox\n\nCompared:\n");
    for aspect in COMPARED {
        let _ = writeln!(out, "  - {aspect}");
    }
    let differing: Vec<&ScenarioParity> = report
        .scenarios
        .iter()
        .filter(|s| !s.differences.is_empty())
        .collect();
    let _ = writeln!(
        out,
        "\n{} ran on both ({} compared); {} differed.",
        crate::report::count(report.scenarios.len(), "scenario", "scenarios"),
        crate::report::count(
            report.scenarios.iter().map(|s| s.bodies_compared).sum(),
            "request body",
            "request bodies"
        ),
        differing.len()
    );
    for scenario in &differing {
        let _ = writeln!(
            out,
            "\n{}:{} {}",
            scenario.feature, scenario.line, scenario.name
        );
        for d in &scenario.differences {
            let at = d
                .pointer
                .as_ref()
                .map(|p| format!(" at {p}"))
                .unwrap_or_default();
            match &d.request {
                Some(RequestRef { number, request }) => {
                    let _ = writeln!(out, "  {} of request {number} ({request}){at}:", d.aspect);
                }
                None => {
                    let _ = writeln!(out, "  {}:", d.aspect);
                }
            }
            let _ = writeln!(out, "    mock:    {}", d.mock);
            let _ = writeln!(out, "    sandbox: {}", d.sandbox);
        }
    }
    if !report.one_sided.is_empty() {
        let mut by_reason: BTreeMap<(&str, &str), Vec<&OneSided>> = BTreeMap::new();
        for one in &report.one_sided {
            by_reason
                .entry((one.ran_on, one.reason.as_str()))
                .or_default()
                .push(one);
        }
        let _ = writeln!(
            out,
            "\nRan on one target only ({}):",
            report.one_sided.len()
        );
        for ((ran_on, reason), scenarios) in by_reason {
            let _ = writeln!(
                out,
                "  only on the {ran_on}: {reason} ({})",
                scenarios.len()
            );
            for s in scenarios {
                let _ = writeln!(out, "    {}:{} {}", s.feature, s.line, s.name);
            }
        }
    }
    if !report.emulated.is_empty() {
        let _ = writeln!(
            out,
            "\nRan on both, not compared: on the sandbox the harness emulated a documented behaviour ({}):",
            report.emulated.len()
        );
        for e in &report.emulated {
            let _ = writeln!(
                out,
                "  {}:{} {}: {}",
                e.feature,
                e.line,
                e.name,
                e.behaviours.join("; ")
            );
        }
    }
    out.push_str(if report.differs() {
        "\nThe mock and the sandbox differ.\n"
    } else {
        "\nNo difference between the mock and the sandbox.\n"
    });
    out
}

/// The report as JSON, with `differs` at the top.
pub fn render_json(report: &ParityReport) -> String {
    let mut value = serde_json::to_value(report).unwrap_or(Value::Null);
    if let Value::Object(map) = &mut value {
        map.insert("differs".to_owned(), Value::Bool(report.differs()));
    }
    let mut text = serde_json::to_string_pretty(&value).unwrap_or_default();
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use rstest::rstest;
    use serde_json::json;

    use super::*;
    use crate::harness::LeftOut;
    use crate::model::Outcome;

    fn entry(method: &str, path: &str, query: &str, status: u16, body: &Value) -> JournalEntry {
        JournalEntry {
            method: method.into(),
            path: path.into(),
            query: query.into(),
            status,
            member: None,
            body: None,
            answer: Some(Answered::of(status, body)),
        }
    }

    fn forbidden(code: &str) -> JournalEntry {
        entry(
            "GET",
            "/system/myAccount",
            "",
            403,
            &json!({"code": code, "message": "You may not.", "errors": null}),
        )
    }

    fn scenario(line: usize, requests: Vec<JournalEntry>) -> ScenarioResult {
        let mut result = ScenarioResult::sample(&["SC-01"], None);
        result.line = line;
        result.outcome = Some(Outcome::Allowed);
        result.requests = requests;
        result
    }

    fn summary(scenarios: Vec<ScenarioResult>) -> RunSummary {
        RunSummary {
            scenarios,
            ..RunSummary::default()
        }
    }

    fn differences(mock: Vec<JournalEntry>, sandbox: Vec<JournalEntry>) -> Vec<Difference> {
        let report = compare(
            &summary(vec![scenario(7, mock)]),
            &summary(vec![scenario(7, sandbox)]),
        );
        report.scenarios[0].differences.clone()
    }

    #[test]
    fn the_same_observations_on_both_sides_differ_in_nothing() {
        let requests = vec![
            forbidden("Security"),
            entry(
                "GET",
                "/company/companies",
                "pageSize=5",
                200,
                &json!([{"id": 1, "name": "Acme"}]),
            ),
        ];
        let report = compare(
            &summary(vec![scenario(7, requests.clone())]),
            &summary(vec![scenario(7, requests)]),
        );
        assert!(!report.differs(), "{report:#?}");
        assert_eq!(report.scenarios.len(), 1);
    }

    #[test]
    fn an_error_code_that_differs_is_the_one_difference_listed() {
        assert_eq!(
            differences(vec![forbidden("Security")], vec![forbidden("Forbidden")]),
            [Difference {
                aspect: "error body",
                request: Some(RequestRef {
                    number: 1,
                    request: "GET /system/myAccount".into()
                }),
                pointer: None,
                mock: "keys [code, errors, message], code Security".into(),
                sandbox: "keys [code, errors, message], code Forbidden".into(),
            }]
        );
    }

    /// What each site owns (ids, `_info`, member identifiers, the run's mark, the order of
    /// fields and query parameters, URL encoding) is not a difference; what the answer says
    /// about the wire is.
    #[rstest]
    #[case::ids_and_marks_aside(
        entry("POST", "/company/contacts", "", 201, &json!({"id": 109, "lastName": "Test", "_info": {"a": 1}})),
        entry("POST", "/company/contacts", "", 201, &json!({"lastName": "[cw-conform 7cdd.1] Test", "id": 4, "_info": {"b": 2}})),
        None
    )]
    #[case::paths_by_template(
        entry("GET", "/system/members/ai-integration", "", 200, &json!({"id": 1})),
        entry("GET", "/system/members/cw-conform-lp", "", 200, &json!({"id": 2})),
        None
    )]
    #[case::query_encoding_and_order(
        entry("GET", "/company/companies", "pageSize=1000&conditions=name+like+%22*Acme*%22", 200, &json!([])),
        entry("GET", "/company/companies", "conditions=name%20like%20%22*Acme*%22&pagesize=1000", 200, &json!([])),
        None
    )]
    #[case::list_counts_aside(
        entry("GET", "/company/companies", "", 200, &json!([{"id": 1, "name": "A"}, {"id": 2, "name": "B"}])),
        entry("GET", "/company/companies", "", 200, &json!([{"id": 9, "name": "C"}])),
        None
    )]
    #[case::status(
        entry("GET", "/service/tickets", "", 200, &json!([])),
        entry("GET", "/service/tickets", "", 403, &json!({"code": "Security"})),
        Some(("status", "200", "403"))
    )]
    #[case::query(
        entry("GET", "/service/tickets", "pageSize=25", 200, &json!([])),
        entry("GET", "/service/tickets", "pageSize=10", 200, &json!([])),
        Some(("request", "GET /service/tickets?pagesize=25", "GET /service/tickets?pagesize=10"))
    )]
    #[case::field_names(
        entry("GET", "/system/info", "", 200, &json!({"version": "v1", "isCloud": true})),
        entry("GET", "/system/info", "", 200, &json!({"version": "v1"})),
        Some(("records", "a record with fields isCloud, version", "a record with fields version"))
    )]
    #[case::a_field_that_only_carries_the_mark(
        entry("POST", "/service/tickets/7/configurations", "", 201, &json!({"id": 4, "configuration": {"id": 9, "name": "ACME-FS01"}})),
        entry("POST", "/service/tickets/70/configurations", "", 201, &json!({"id": 40, "configuration": {"id": 90, "name": "ACME-FS01"}, "notes": "[cw-conform 7f3a.12]"})),
        None
    )]
    #[case::an_empty_list(
        entry("GET", "/company/contacts", "", 200, &json!([{"lastName": "Doe"}])),
        entry("GET", "/company/contacts", "", 200, &json!([])),
        Some(("records", "a list of records with fields lastName", "an empty list"))
    )]
    fn what_is_compared_and_what_is_not(
        #[case] mock: JournalEntry,
        #[case] sandbox: JournalEntry,
        #[case] expected: Option<(&str, &str, &str)>,
    ) {
        let found = differences(vec![mock], vec![sandbox]);
        let found: Vec<(&str, &str, &str)> = found
            .iter()
            .map(|d| (d.aspect, d.mock.as_str(), d.sandbox.as_str()))
            .collect();
        assert_eq!(found, expected.into_iter().collect::<Vec<_>>());
    }

    #[test]
    fn a_write_is_compared_by_the_values_it_sent_as_answered() {
        let sent = json!({"lastName": "Test", "company": {"id": 19}});
        let mut mock = entry(
            "POST",
            "/company/contacts",
            "",
            201,
            &json!({"id": 1, "lastName": "Test", "company": {"id": 19, "name": "Acme"}}),
        );
        mock.body = Some(sent.clone());
        let mut sandbox = entry(
            "POST",
            "/company/contacts",
            "",
            201,
            &json!({"id": 2, "lastName": "TEST", "company": {"id": 3, "name": "Acme"}}),
        );
        sandbox.body = Some(sent);

        let found = differences(vec![mock], vec![sandbox]);

        assert_eq!(found.len(), 1, "{found:#?}");
        assert_eq!(
            found[0].mock,
            "a record with fields company, id, lastName; as written: {\"company\":{\"name\":\"Acme\"},\"lastName\":\"Test\"}"
        );
        assert!(
            found[0].sandbox.ends_with("\"lastName\":\"TEST\"}"),
            "{found:#?}"
        );
    }

    #[test]
    fn a_request_only_one_side_made_is_listed_and_the_outcome_compared() {
        let mut sandbox = scenario(7, vec![forbidden("Security")]);
        sandbox.outcome = Some(Outcome::Denied);
        let report = compare(
            &summary(vec![scenario(7, Vec::new())]),
            &summary(vec![sandbox]),
        );
        let found: Vec<(&str, &str, &str)> = report.scenarios[0]
            .differences
            .iter()
            .map(|d| (d.aspect, d.mock.as_str(), d.sandbox.as_str()))
            .collect();
        assert_eq!(
            found,
            [
                ("outcome", "allowed", "denied"),
                ("request", "(no request)", "GET /system/myAccount"),
            ]
        );
    }

    #[test]
    fn a_scenario_with_an_emulated_behaviour_is_listed_apart_and_not_compared() {
        let mut emulated = scenario(7, vec![forbidden("Security")]);
        emulated.emulated = vec![
            "page_zero = \"bad-request\" (the sandbox's own: page_zero = \"first-page\" (probed))"
                .to_owned(),
        ];
        let report = compare(
            &summary(vec![scenario(7, vec![forbidden("Other")])]),
            &summary(vec![emulated]),
        );
        assert!(!report.differs(), "{report:?}");
        assert_eq!(report.scenarios, Vec::new());
        assert_eq!(report.emulated.len(), 1);
        let text = render_text(&report);
        assert!(
            text.contains("not compared: on the sandbox the harness emulated")
                && text.contains("page_zero = \"bad-request\""),
            "{text}"
        );
    }

    #[test]
    fn scenarios_that_ran_on_one_side_are_listed_apart_with_the_reason() {
        let mut sandbox = summary(vec![scenario(7, Vec::new())]);
        sandbox.left_out.push(LeftOut {
            feature: "features/x.feature".into(),
            line: 9,
            name: "a scenario".into(),
            reason: "needs the mock: refers to a record seeded in the mock".into(),
            tags: Vec::new(),
        });
        let mock = summary(vec![scenario(7, Vec::new()), scenario(9, Vec::new())]);

        let report = compare(&mock, &sandbox);

        assert!(!report.differs());
        assert_eq!(
            report.one_sided,
            [OneSided {
                feature: "features/x.feature".into(),
                line: 9,
                name: "a scenario".into(),
                ran_on: "mock",
                reason: "needs the mock: refers to a record seeded in the mock".into(),
            }]
        );
        let text = render_text(&report);
        assert!(
            text.contains("only on the mock: needs the mock: refers to a record seeded in the mock (1)\n    features/x.feature:9 a scenario"),
            "{text}"
        );
        assert!(
            text.ends_with("No difference between the mock and the sandbox.\n"),
            "{text}"
        );
    }

    fn write(method: &str, path: &str, sent: Value, answered: &Value) -> JournalEntry {
        let mut entry = entry(method, path, "", 201, answered);
        entry.body = Some(sent);
        entry
    }

    /// Two runs of a scenario that arranged a company "Acme" and a contact, created a
    /// ticket, then noted on it and merged into it: the bodies differ in what each site
    /// owns (ids, the run's mark, times of the run) and, on purpose, in one field.
    fn two_runs(sandbox_summary: &str) -> (RunSummary, RunSummary) {
        let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_861_200); // 2026-11-28T10:20:00Z
        let side = |(company, contact, duplicate): (i64, i64, i64),
                    ticket: i64,
                    mark: &str,
                    now: &str,
                    summary: &str| {
            let mut sent = json!({
                "summary": format!("{mark}{summary}"),
                "company": {"id": company},
                "contact": {"id": contact, "name": "Carlos"},
                "requiredDate": "2027-01-05T00:00:00Z",
                "dateResponded": now,
            });
            if !mark.is_empty() {
                // A record with no name-like field carries the mark in its notes.
                sent["notes"] = Value::from(mark.trim_end());
            }
            let mut result = scenario(
                7,
                vec![
                    write("POST", "/service/tickets", sent, &json!({"id": ticket})),
                    write(
                        "POST",
                        &format!("/service/tickets/{ticket}/notes"),
                        json!({"ticketId": ticket, "text": "Rebooted", "detailDescriptionFlag": true}),
                        &json!({"id": 1}),
                    ),
                    write(
                        "PATCH",
                        &format!("/service/tickets/{ticket}"),
                        json!([{"op": "replace", "path": "company/id", "value": company}]),
                        &json!({"id": ticket}),
                    ),
                    write(
                        "POST",
                        &format!("/service/tickets/{ticket}/merge"),
                        json!({"mergeTicketIds": [duplicate], "status": {"id": 3}}),
                        &json!({"id": ticket}),
                    ),
                ],
            );
            result.arranged = vec![
                ("Acme".into(), company),
                ("Carlos".into(), contact),
                ("Duplicate".into(), duplicate),
            ];
            RunSummary {
                scenarios: vec![result],
                started: Some(start),
                elapsed: Duration::from_secs(600),
                ..RunSummary::default()
            }
        };
        (
            side(
                (250, 31, 1012),
                1011,
                "",
                "2026-11-28T10:21:04Z",
                "Printer jammed",
            ),
            side(
                (7_001, 90_412, 88_001),
                88_000,
                "[cw-conform 7cdd01a2b3c4d5e6.4] ",
                "2026-11-28T10:27:59.120Z",
                sandbox_summary,
            ),
        )
    }

    /// A ticket reassigned to "the API member": each site's API member has an identifier
    /// and a name of its own, quoted in the lookup and in the record written.
    fn reassigned(identifier: &str, name: &str, owner: &str, phrase: &str) -> RunSummary {
        let mut result = scenario(
            7,
            vec![
                entry(
                    "GET",
                    "/system/members",
                    &format!("conditions=identifier%20%3D%20%22{identifier}%22"),
                    200,
                    &json!([{"id": 1, "identifier": identifier}]),
                ),
                write(
                    "PATCH",
                    "/service/tickets/1011",
                    json!([{"op": "replace", "path": "owner", "value": {"id": 1}}]),
                    &json!({"id": 1011, "owner": {"id": 1, "identifier": owner, "name": name}}),
                ),
            ],
        );
        result.members = vec![(phrase.into(), identifier.into())];
        summary(vec![result])
    }

    #[test]
    fn a_member_named_by_a_phrase_is_compared_by_the_phrase_not_its_identifier() {
        let mock = reassigned(
            "ai-integration",
            "AI Integration",
            "ai-integration",
            "the API member",
        );
        let sandbox = reassigned(
            "cw-conform-lp",
            "API cw-conform-lp",
            "cw-conform-lp",
            "the API member",
        );
        let report = compare(&mock, &sandbox);
        assert!(!report.differs(), "{}", render_text(&report));

        // The record written names another member than the one looked up: a difference.
        let astray = reassigned(
            "cw-conform-lp",
            "Setup",
            "cw-conform-setup",
            "the API member",
        );
        let report = compare(&mock, &astray);
        let differences = &report.scenarios[0].differences;
        assert_eq!(differences.len(), 1, "{}", render_text(&report));
        assert_eq!(differences[0].aspect, "records");
        assert!(
            differences[0]
                .mock
                .contains(r#""identifier":"{the API member}""#)
                && differences[0]
                    .sandbox
                    .contains(r#""identifier":"cw-conform-setup""#),
            "{}",
            render_text(&report)
        );
    }

    #[test]
    fn request_bodies_differ_in_nothing_a_site_or_the_run_owns() {
        let (mock, sandbox) = two_runs("Printer jammed");
        let report = compare(&mock, &sandbox);
        assert!(!report.differs(), "{report:#?}");
        assert_eq!(report.scenarios[0].bodies_compared, 4);
    }

    #[test]
    fn a_request_body_that_differs_in_one_field_is_that_one_difference() {
        let (mock, sandbox) = two_runs("Printer jammed on tray 2");
        let report = compare(&mock, &sandbox);
        let found: Vec<_> = report.differences().map(|(_, d)| d.clone()).collect();
        assert_eq!(
            found,
            [Difference {
                aspect: "request body",
                request: Some(RequestRef {
                    number: 1,
                    request: "POST /service/tickets".into()
                }),
                pointer: Some("/summary".into()),
                mock: "\"Printer jammed\"".into(),
                sandbox: "\"Printer jammed on tray 2\"".into(),
            }]
        );
        let text = render_text(&report);
        assert!(
            text.contains("  request body of request 1 (POST /service/tickets) at /summary:\n    mock:    \"Printer jammed\"\n    sandbox: \"Printer jammed on tray 2\"\n"),
            "{text}"
        );
    }

    /// Each rule of the normalisation, on its own: what it sets aside, and that a real
    /// difference in the same place is still one.
    #[rstest]
    #[case::an_arranged_record_by_name(json!({"company": {"id": 250}}), json!({"company": {"id": 7001}}), None)]
    #[case::another_arranged_record(json!({"company": {"id": 250}}), json!({"company": {"id": 90412}}), Some(("/company/id", "\"{record \\\"Acme\\\"}\"", "\"{record \\\"Carlos\\\"}\"")))]
    #[case::an_id_of_the_site(json!({"status": {"id": 16}}), json!({"status": {"id": 2}}), None)]
    #[case::not_an_id(json!({"budgetHours": 250}), json!({"budgetHours": 7001}), Some(("/budgetHours", "250", "7001")))]
    #[case::a_time_of_the_run(json!({"dateResponded": "2026-11-28T10:21:04Z"}), json!({"dateResponded": "2026-11-28T10:29:00Z"}), None)]
    #[case::a_time_the_scenario_stated(json!({"requiredDate": "2027-01-05T00:00:00Z"}), json!({"requiredDate": "2027-01-06T00:00:00Z"}), Some(("/requiredDate", "\"2027-01-05T00:00:00Z\"", "\"2027-01-06T00:00:00Z\"")))]
    #[case::a_field_only_one_side_sent(json!({"summary": "A"}), json!({"summary": "A", "priority": {"id": 7001}}), Some(("/priority", "(absent)", "{\"id\":\"{record \\\"Acme\\\"}\"}")))]
    #[case::a_status_an_answer_named_alike(json!({"status": {"id": 16}}), json!({"status": {"id": 2}}), None)]
    #[case::a_status_an_answer_named_otherwise(json!({"status": {"id": 16}}), json!({"status": {"id": 3}}), Some(("/status/id", "\"{status \\\"New\\\"}\"", "\"{status \\\"Waiting on Client\\\"}\"")))]
    #[case::a_status_patched_otherwise(json!([{"op": "replace", "path": "status", "value": {"id": 16}}]), json!([{"op": "replace", "path": "status", "value": {"id": 3}}]), Some(("/0/value/id", "\"{status \\\"New\\\"}\"", "\"{status \\\"Waiting on Client\\\"}\"")))]
    #[case::a_status_id_patched_alike(json!([{"op": "replace", "path": "status/id", "value": 16}]), json!([{"op": "replace", "path": "status/id", "value": 2}]), None)]
    #[case::a_member_of_each_site(json!({"owner": {"id": 16}}), json!({"owner": {"id": 3}}), None)]
    fn how_request_bodies_are_compared(
        #[case] mock: Value,
        #[case] sandbox: Value,
        #[case] expected: Option<(&str, &str, &str)>,
    ) {
        let clock = RunClock {
            from: SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_861_200),
            to: SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_861_800),
        };
        let mut mock_names = RecordNames::arranged(&[("Acme".into(), 250), ("Carlos".into(), 31)]);
        let mut sandbox_names =
            RecordNames::arranged(&[("Acme".into(), 7001), ("Carlos".into(), 90_412)]);
        // What earlier answers named: each site's statuses, and its own members.
        mock_names.learn(&json!({"status": {"id": 16, "name": "New"},
            "owner": {"id": 16, "identifier": "ai-integration", "name": "AI Integration"}}));
        sandbox_names.learn(&json!({"status": {"id": 2, "name": "New"}, "tickets": [
            {"status": {"id": 3, "name": "[cw-conform 7f3a.2] Waiting on Client"},
             "owner": {"id": 3, "identifier": "cw-conform-setup", "name": "Setup"}}]}));
        let found = body_differences(
            (Some(&mock), &mock_names, Some(&clock)),
            (Some(&sandbox), &sandbox_names, Some(&clock)),
        );
        let expected: Vec<(String, String, String)> = expected
            .into_iter()
            .map(|(p, m, s)| (p.to_owned(), m.to_owned(), s.to_owned()))
            .collect();
        assert_eq!(found, expected);
    }
}
