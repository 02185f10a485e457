//! The parity report (`cw-conform parity`): where the mock and a ConnectWise sandbox
//! answered the same scenarios differently. Pure: it compares what two runs observed (each
//! scenario's result, and the requests its clients made with the shape of each answer);
//! running them is `commands::parity`'s. No I/O here.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::LazyLock;

use serde::Serialize;
use serde_json::Value;

use crate::connectwise::JournalEntry;
use crate::connectwise::journal::{Answered, written_fields};
use crate::harness::{RunSummary, ScenarioResult};

/// What the report compares, as it states it.
pub const COMPARED: [&str; 6] = [
    "the scenario's verdict (passed, failed, could not be judged, feature error) and the outcome of its last action",
    "the requests the integration made, in order: method, path (ids as {id}, member identifiers as {member}) and query parameters (names in any case, the run's mark aside)",
    "the status of each answer",
    "the shape of each error body: its keys, its code and each field error's code and field (never the message text)",
    "each list answered: its field names and whether it was empty (not its count nor its values: a sandbox holds records of its own)",
    "each record answered: its field names and, for a write, the values of the fields the write sent (ids, _info and the run's mark aside)",
];

/// One thing that differs between the two targets in a scenario.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Difference {
    /// What differs: `verdict`, `outcome`, `request`, `status`, `error body` or `records`.
    pub aspect: &'static str,
    /// The request it is about, when it is about one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request: Option<RequestRef>,
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
    pub compared_aspects: [&'static str; 6],
    /// Every scenario that ran on both, in feature order.
    pub scenarios: Vec<ScenarioParity>,
    /// Scenarios that ran on one target only, with the reason.
    pub one_sided: Vec<OneSided>,
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
    for (k, m) in &on_mock {
        match on_sandbox.get(k) {
            Some(s) => scenarios.push(ScenarioParity {
                feature: m.feature.clone(),
                line: m.line,
                name: m.name.clone(),
                differences: scenario_differences(m, s),
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

fn scenario_differences(mock: &ScenarioResult, sandbox: &ScenarioResult) -> Vec<Difference> {
    let mut differences = Vec::new();
    let mut differ = |aspect, request, m: String, s: String| {
        if m != s {
            differences.push(Difference {
                aspect,
                request,
                mock: m,
                sandbox: s,
            });
        }
    };
    differ(
        "verdict",
        None,
        verdict(mock).to_owned(),
        verdict(sandbox).to_owned(),
    );
    let outcome = |r: &ScenarioResult| {
        r.outcome
            .as_ref()
            .map_or_else(|| "none".to_owned(), ToString::to_string)
    };
    differ("outcome", None, outcome(mock), outcome(sandbox));
    let count = mock.requests.len().max(sandbox.requests.len());
    for index in 0..count {
        let (m, s) = (mock.requests.get(index), sandbox.requests.get(index));
        let line = |entry: Option<&JournalEntry>| {
            entry.map_or_else(|| "(no request)".to_owned(), request_line)
        };
        let (m_line, s_line) = (line(m), line(s));
        let about = Some(RequestRef {
            number: index + 1,
            request: m.map_or_else(|| s_line.clone(), |_| m_line.clone()),
        });
        let (Some(m), Some(s)) = (m, s) else {
            differ("request", about, m_line, s_line);
            continue;
        };
        if m_line != s_line {
            differ("request", about, m_line, s_line);
            continue;
        }
        if m.status != s.status {
            differ("status", about, m.status.to_string(), s.status.to_string());
            continue;
        }
        if let (Some(ma), Some(sa)) = (&m.answer, &s.answer) {
            let (aspect, ms, ss) = answer_shapes(ma, sa, m.body.as_ref(), s.body.as_ref());
            differ(aspect, about, ms, ss);
        }
    }
    differences
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
            let mut fields: Vec<&str> = record.keys().map(String::as_str).collect();
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
                .filter_map(|f| record.get(f).map(|v| (f.as_str(), comparable(v))))
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

/// A value as comparable between two sites: without `id` and `_info` at any depth (each
/// site numbers its own records and stamps its own times), strings without the run's mark.
fn comparable(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(k, _)| k.as_str() != "id" && k.as_str() != "_info")
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
        "\n{} ran on both; {} differed.",
        crate::report::count(report.scenarios.len(), "scenario", "scenarios"),
        differing.len()
    );
    for scenario in &differing {
        let _ = writeln!(
            out,
            "\n{}:{} {}",
            scenario.feature, scenario.line, scenario.name
        );
        for d in &scenario.differences {
            match &d.request {
                Some(RequestRef { number, request }) => {
                    let _ = writeln!(out, "  {} of request {number} ({request}):", d.aspect);
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
