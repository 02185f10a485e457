//! Judging a tool call by what happened, not by what the server claims: the requests the
//! mock ConnectWise received while the call ran, together with the tool result the AI got
//! back (`isError`, its text).
//!
//! | outcome | what must have happened |
//! |---|---|
//! | `allowed` | a write reached ConnectWise and succeeded (for a read: the reads succeeded), and the result reports success |
//! | `denied` | ConnectWise answered 403 and the result tells the AI (an error, or it says it has no access) |
//! | `unauthenticated` | ConnectWise refused the sign-in (401; or, unauthenticated, "SSL is required" or a 404 for no record, as a cloud site answers bad credentials) and the result reports it |
//! | `partial` | the first read succeeded, later lookups got 403, and the result is not an error and names the missing fields |
//! | `blocked` | nothing reached ConnectWise and the result refuses |
//! | `rejected` | only successful reads reached ConnectWise (lookups), no write, and the result refuses; or nothing did and the result refuses the input (invalid, missing, unknown) |
//! | `escalated` | the server asked for confirmation (elicitation, or the config's confirmation style) and nothing was written before |
//! | `failed` | any other ConnectWise error; or the result contradicts the journal |
//!
//! "The result refuses" means `isError`, or its message (the text without the records it
//! returns, see [`super::reply`]) refuses or reports a failure ("failed", "error", "could
//! not"); "no access", "missing" and the missing fields are read from the message too.
//!
//! A result that contradicts the journal (success after a 403, success with nothing sent)
//! is judged `failed`, and the contradiction is recorded as an observation naming the rule
//! it breaks (LP-03: a refusal must be explained, not swallowed) and as an `INT-02`
//! [finding](crate::integration::Finding), which fails the scenario whatever outcome it
//! expected.
//!
//! Only the action's own requests and its declared lookups decide the outcome ([`Scope`]):
//!
//! | request during the call | what it is | judged |
//! |---|---|---|
//! | the action's write (its method on its collection or record) | own | decides the outcome |
//! | a read of the action's collection or record (`connect` also `/system/info`) | own | decides the outcome |
//! | a read of a lookup of its `validate` or `related` fields | declared lookup | decides the outcome |
//! | any other write, accepted or refused | not the action's | fails the scenario under the SAFE rule that blocks the resource written, else OV-01 |
//! | any other read refused by ConnectWise | beyond its lookups | fails the scenario under OV-01 |
//! | any other read answered | beyond its lookups | listed (`extra-read`; `over-reach` when no action of the workflow needs that resource) |
//!
//! Requests made outside any tool call are judged the same way at the end of the scenario
//! ([`judge_outside`]), with no action of their own: every write fails, every refused read
//! fails OV-01, the others are listed.

use serde_json::Value;

use super::reply::{AUTHENTICATION, INVALID_INPUT, NO_ACCESS, mentions};
use crate::connectwise::JournalEntry;
use crate::connectwise::security::Route;
use crate::fixtures::Fixtures;
use crate::integration::{ActionRequest, Finding, ToolResult};
use crate::model::{Action, ActionKind, Integrity, Outcome, RuleCatalog, RuleId};
use crate::policy::Decision;

pub use super::reply::{ToolReply, names_word};

/// The first rule ID of the catalog the result cites: `structuredContent.rule`, else the
/// first one its text names.
pub fn cited_rule(reply_rule: Option<&str>, text: &str, rules: &RuleCatalog) -> Option<RuleId> {
    let known = |candidate: &str| {
        candidate
            .parse::<RuleId>()
            .ok()
            .filter(|id| rules.get(id).is_some())
    };
    if let Some(rule) = reply_rule.and_then(known) {
        return Some(rule);
    }
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
        .find_map(known)
}

fn shown(entries: &[&JournalEntry]) -> String {
    entries
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// What happened during one tool call.
#[derive(Debug, Clone, Copy)]
pub struct Evidence<'a> {
    /// The action asked for.
    pub action: &'a Action,
    /// The request.
    pub request: &'a ActionRequest,
    /// The requests ConnectWise received while the call ran.
    pub requests: &'a [JournalEntry],
    /// The tool result.
    pub reply: &'a ToolReply,
}

/// How ConnectWise's credentials are checked by a `connect` action before it lists the
/// companies to associate: a request of the action's own.
const CREDENTIAL_CHECK: &str = "/system/info";

/// The rule a request that reaches data the API member cannot reach breaks.
const REACH_RULE: &str = "OV-01";

/// Whether `path` has the shape of `template`, segment by segment: `{…}` stands for any
/// one segment; the rest compares without regard to case (as ConnectWise does).
fn fits(template: &str, path: &str) -> bool {
    let template: Vec<&str> = template.trim_matches('/').split('/').collect();
    let path: Vec<&str> = path.trim_matches('/').split('/').collect();
    template.len() == path.len()
        && template
            .iter()
            .zip(&path)
            .all(|(t, p)| t.starts_with('{') || t.eq_ignore_ascii_case(p))
}

/// What an action may send ConnectWise: its own write (method and path) and reads, and
/// the lookups the catalog declares for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    /// The action's own write: the methods and the path templates.
    writes: Option<(&'static [&'static str], String)>,
    /// Path templates the action reads: its collection and records, its declared lookups.
    reads: Vec<String>,
}

impl Scope {
    /// The scope of one action of the catalog.
    pub fn of(fixtures: &Fixtures, action: &Action) -> Scope {
        let record = format!("{}/{{id}}", action.path);
        let writes = match action.kind {
            ActionKind::Connect | ActionKind::Search | ActionKind::Get => None,
            ActionKind::Create | ActionKind::Attach => Some((&["POST"][..], action.path.clone())),
            ActionKind::Update | ActionKind::Close => Some((&["PATCH", "PUT"][..], record.clone())),
            ActionKind::Merge => Some((&["POST"][..], format!("{record}/merge"))),
            ActionKind::Delete => Some((&["DELETE"][..], record.clone())),
        };
        let mut reads = vec![action.path.clone(), record];
        if action.kind == ActionKind::Connect {
            reads.push(CREDENTIAL_CHECK.to_owned());
        }
        for field in action.validate.iter().chain(&action.related) {
            if let Some(lookup) = fixtures.actions.lookup(field) {
                reads.push(lookup.path.clone());
                reads.push(format!("{}/{{id}}", lookup.path));
            }
        }
        Scope { writes, reads }
    }

    /// Whether a request is the action's own or one of its declared lookups.
    pub fn covers(&self, entry: &JournalEntry) -> bool {
        if entry.is_write() {
            self.writes.as_ref().is_some_and(|(methods, template)| {
                methods.contains(&entry.method.as_str()) && fits(template, &entry.path)
            })
        } else {
            self.reads
                .iter()
                .any(|template| fits(template, &entry.path))
        }
    }

    /// Whether a read is of a collection (or record) this scope reads.
    fn reads(&self, path: &str) -> bool {
        self.reads.iter().any(|template| fits(template, path))
    }
}

/// Whether any action of `workflow` reads what `path` reads.
fn workflow_reads(fixtures: &Fixtures, workflow: &str, path: &str) -> bool {
    fixtures
        .actions
        .iter()
        .filter(|a| a.workflow == workflow)
        .any(|a| Scope::of(fixtures, a).reads(path))
}

/// The resource (store collection) a request addresses: the catalog action whose
/// collection it is, else ConnectWise's endpoint for it.
fn resource_of(fixtures: &Fixtures, entry: &JournalEntry) -> Option<String> {
    let by_action = fixtures.actions.iter().find(|a| {
        let record = format!("{}/{{id}}", a.path);
        [a.path.clone(), record.clone(), format!("{record}/{{what}}")]
            .iter()
            .any(|template| fits(template, &entry.path))
    });
    if let Some(action) = by_action {
        return Some(action.resource.clone());
    }
    match fixtures.permissions.route(&entry.path, &entry.method)? {
        Route::Collection { endpoint, .. } => Some(endpoint.collection.clone()),
        Route::Special { .. } => None,
    }
}

/// The rule a write that is not the action's own breaks: the SAFE rule that blocks the
/// resource it writes, else OV-01.
fn rule_for_write(fixtures: &Fixtures, entry: &JournalEntry) -> (RuleId, String) {
    let resource = resource_of(fixtures, entry);
    let blocked = resource.as_ref().and_then(|resource| {
        fixtures
            .policy
            .blocks
            .iter()
            .find(|b| b.resources.contains(resource))
    });
    match (blocked, resource) {
        (Some(block), Some(resource)) => (
            block.rule.clone(),
            format!("it changes {resource}, and {}", block.reason),
        ),
        (_, resource) => (
            reach_rule(),
            format!(
                "it changes {}, which no action asked for",
                resource.as_deref().unwrap_or("a resource")
            ),
        ),
    }
}

fn reach_rule() -> RuleId {
    REACH_RULE
        .parse()
        .unwrap_or_else(|_| unreachable!("{REACH_RULE} is a rule ID"))
}

/// Findings for requests an action had no business sending: writes that are not its own,
/// reads beyond its declared lookups.
fn beyond_scope(fixtures: &Fixtures, action: &Action, extra: &[&JournalEntry]) -> Vec<Finding> {
    extra
        .iter()
        .map(|entry| {
            if entry.is_write() {
                let (rule, why) = rule_for_write(fixtures, entry);
                Finding::rule(
                    rule,
                    format!(
                        "{entry} was sent while the AI asked to {} ({}), but it is not that action's request: {why}",
                        action.phrase, action.name
                    ),
                )
            } else {
                let over_reach = !workflow_reads(fixtures, &action.workflow, &entry.path);
                let reach = if over_reach {
                    format!(
                        "; no action of the workflow \"{}\" reads it (over-reach)",
                        action.workflow
                    )
                } else {
                    String::new()
                };
                if entry.status == 403 {
                    Finding::rule(
                        reach_rule(),
                        format!(
                            "{entry}: to {} ({}) the integration read beyond the action's declared lookups, and ConnectWise refused it: it reached for data its API member cannot reach{reach}",
                            action.phrase, action.name
                        ),
                    )
                } else {
                    Finding::listed(
                        over_reach,
                        format!(
                            "{entry}: read to {} ({}) beyond the action's declared lookups{reach}",
                            action.phrase, action.name
                        ),
                    )
                }
            }
        })
        .collect()
}

/// When a request was made outside any tool call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Moment {
    /// After the server started, before the first tool call.
    StartUp,
    /// Between two tool calls.
    BetweenCalls,
    /// After the last tool call, before the server was stopped.
    AfterLastCall,
    /// While no scenario held a server kept across scenarios (`run --reuse-servers`).
    BetweenScenarios,
}

impl std::fmt::Display for Moment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Moment::StartUp => "while the server started, before any tool call",
            Moment::BetweenCalls => "between tool calls",
            Moment::AfterLastCall => "after the last tool call, before the server was stopped",
            Moment::BetweenScenarios => {
                "while no scenario held the server (it is kept across scenarios)"
            }
        })
    }
}

/// Judges the requests ConnectWise received outside any tool call: no action asked for
/// them, so every write fails (the SAFE rule of a blocked resource, else OV-01), every
/// refused read fails OV-01, and every other read is listed.
pub fn judge_outside(fixtures: &Fixtures, requests: &[(Moment, JournalEntry)]) -> Vec<Finding> {
    requests
        .iter()
        .filter(|(_, entry)| entry.status != 429)
        .map(|(moment, entry)| {
            if entry.is_write() {
                let (rule, why) = rule_for_write(fixtures, entry);
                Finding::rule(
                    rule,
                    format!("{entry} was sent {moment}, when no action was asked for: {why}"),
                )
            } else if entry.status == 403 {
                Finding::rule(
                    reach_rule(),
                    format!(
                        "{entry} was sent {moment}, when no action was asked for, and ConnectWise refused it: the integration reached for data its API member cannot reach"
                    ),
                )
            } else {
                Finding::listed(
                    false,
                    format!("{entry}: read {moment}, when no action was asked for"),
                )
            }
        })
        .collect()
}

/// Judges a completed tool call.
pub fn judge(evidence: Evidence<'_>, fixtures: &Fixtures) -> ToolResult {
    let scope = Scope::of(fixtures, evidence.action);
    let (own, extra): (Vec<&JournalEntry>, Vec<&JournalEntry>) = evidence
        .requests
        .iter()
        .filter(|e| e.status != 429)
        .partition(|e| scope.covers(e));
    let own: Vec<JournalEntry> = own.into_iter().cloned().collect();
    let mut result = judge_own(
        Evidence {
            requests: &own,
            ..evidence
        },
        &fixtures.rules,
    );
    result
        .findings
        .extend(beyond_scope(fixtures, evidence.action, &extra));
    result
}

/// A write of the action that the safety policy blocks or holds, sent without the person
/// being asked: the SAFE rule that blocks or holds it is broken, whatever the scenario
/// expected (a server that confirms on the person's behalf, or ignores a block).
pub fn unasked_write(
    fixtures: &Fixtures,
    action: &Action,
    request: &ActionRequest,
    requests: &[JournalEntry],
) -> Option<Finding> {
    let scope = Scope::of(fixtures, action);
    let sent: Vec<String> = requests
        .iter()
        .filter(|e| e.is_write() && e.status != 429 && scope.covers(e))
        .map(ToString::to_string)
        .collect();
    if sent.is_empty() {
        return None;
    }
    let mut payload = action.fields.clone();
    payload.extend(request.fields.clone());
    let (rule, why) = match fixtures.policy.decide(action, &payload) {
        Decision::Pass => return None,
        Decision::Block { rule, reason, .. } => (rule, format!("it must be refused: {reason}")),
        Decision::Escalate { rule, reason } => (
            rule,
            format!("it must be held until a person confirms: {reason}"),
        ),
    };
    Some(Finding::rule(
        rule,
        format!(
            "{} ({}) was written without asking anyone ({}), but {why}",
            action.phrase,
            action.name,
            sent.join(", ")
        ),
    ))
}

/// Judges a tool call by the action's own requests and declared lookups.
fn judge_own(evidence: Evidence<'_>, rules: &RuleCatalog) -> ToolResult {
    let Evidence {
        action,
        requests,
        reply,
        ..
    } = evidence;
    // Records may hold any word: only the message refuses or reports a failure.
    let message = reply.message();
    let refuses = reply.reports_failure();
    let answered: Vec<&JournalEntry> = requests.iter().filter(|e| e.status != 429).collect();
    let written: Vec<&JournalEntry> = answered
        .iter()
        .copied()
        .filter(|e| e.is_write() && e.succeeded())
        .collect();
    let first = |status: u16| answered.iter().copied().find(|e| e.status == status);
    let failed: Vec<&JournalEntry> = answered
        .iter()
        .copied()
        .filter(|e| !e.succeeded())
        .collect();
    let mut observations = Vec::new();
    let mut missing = Vec::new();

    let outcome = if !written.is_empty() {
        if reply.is_error {
            observations.push(format!(
                "a write reached ConnectWise and succeeded ({}), but the tool result reports an error",
                shown(&written)
            ));
        }
        Outcome::Allowed
    } else if let Some(refused) = answered.iter().copied().find(|e| e.refused_sign_in()) {
        if refuses || mentions(&message, &AUTHENTICATION) {
            Outcome::Unauthenticated
        } else {
            observations.push(format!(
                "TS-01: ConnectWise refused the credentials ({refused}), but the tool result does not report it (isError false)"
            ));
            Outcome::Failed
        }
    } else if first(403).is_some() {
        let read_first = answered
            .first()
            .is_some_and(|e| e.method == "GET" && e.succeeded());
        missing = reply.structured_strings("missing");
        if missing.is_empty() {
            missing = action
                .related
                .iter()
                .filter(|field| names_word(&message, field))
                .cloned()
                .collect();
        }
        if read_first && !reply.is_error && !missing.is_empty() {
            Outcome::Partial
        } else if reply.is_error || mentions(&message, &NO_ACCESS) {
            missing.clear();
            Outcome::Denied
        } else {
            missing.clear();
            let refusals: Vec<&JournalEntry> = answered
                .iter()
                .copied()
                .filter(|e| e.status == 403)
                .collect();
            observations.push(format!(
                "LP-03: ConnectWise answered 403 ({}), but the tool result does not tell the AI it has no access (isError false{})",
                shown(&refusals),
                if read_first {
                    ", and it names no missing field"
                } else {
                    ""
                }
            ));
            Outcome::Failed
        }
    } else if !failed.is_empty() {
        if !refuses {
            observations.push(format!(
                "ConnectWise answered with an error ({}), but the tool result reports success",
                shown(&failed)
            ));
        }
        Outcome::Failed
    } else if answered.is_empty() {
        if refuses && mentions(&message, &INVALID_INPUT) {
            Outcome::Rejected
        } else if refuses {
            Outcome::Blocked
        } else {
            observations.push(
                "the tool result reports success, but nothing of the action reached ConnectWise"
                    .to_owned(),
            );
            Outcome::Failed
        }
    } else if refuses {
        Outcome::Rejected
    } else if action.writes() {
        observations.push(format!(
            "the tool result reports success, but no write reached ConnectWise (only {})",
            shown(&answered)
        ));
        Outcome::Failed
    } else {
        Outcome::Allowed
    };

    let rule_field = reply
        .structured
        .as_ref()
        .and_then(|s| s.get("rule"))
        .and_then(Value::as_str);
    // Every observation above is a contradiction between the result and the journal.
    let findings = observations
        .iter()
        .map(|o| Finding::integrity(Integrity::Contradiction, o.clone()))
        .collect();
    ToolResult {
        outcome,
        message: reply.text.clone(),
        data: reply.data(),
        missing,
        confirmation: None,
        rule: cited_rule(rule_field, &reply.text, rules),
        status: answered.last().map(|e| e.status),
        observations,
        findings,
    }
}

/// The fields of the request (and the action's own) that a confirmation message names.
pub fn named_fields(action: &Action, request: &ActionRequest, message: &str) -> Vec<String> {
    request
        .fields
        .keys()
        .chain(action.fields.keys())
        .filter(|field| names_word(message, field))
        .fold(Vec::new(), |mut fields, field| {
            if !fields.contains(field) {
                fields.push(field.clone());
            }
            fields
        })
}

#[cfg(test)]
mod tests {
    use rstest::rstest;
    use serde_json::json;

    use super::*;
    use crate::fixtures::Fixtures;

    fn entry(method: &str, path: &str, status: u16) -> JournalEntry {
        JournalEntry {
            method: method.into(),
            path: path.into(),
            query: String::new(),
            status,
            member: Some("ai-integration".into()),
            body: None,
            answer: None,
        }
    }

    /// A request ConnectWise answered without authenticating the caller.
    fn unauthenticated(method: &str, path: &str, status: u16) -> JournalEntry {
        JournalEntry {
            member: None,
            ..entry(method, path, status)
        }
    }

    fn reply(is_error: bool, text: &str) -> ToolReply {
        ToolReply {
            is_error,
            text: text.into(),
            structured: None,
        }
    }

    fn judged(action: &str, requests: &[JournalEntry], reply: &ToolReply) -> ToolResult {
        let fixtures = Fixtures::builtin().unwrap();
        let action = fixtures.actions.get(action).unwrap();
        let request = ActionRequest {
            action: action.name.clone(),
            subject: None,
            fields: serde_json::Map::new(),
        };
        judge(
            Evidence {
                action,
                request: &request,
                requests,
                reply,
            },
            fixtures,
        )
    }

    #[rstest]
    #[case::a_created_ticket("ticket.create", vec![entry("GET", "/company/companies", 200), entry("POST", "/service/tickets", 201)], reply(false, "Done."), Outcome::Allowed)]
    #[case::a_read("contact.search", vec![entry("GET", "/company/contacts", 200)], reply(false, "[]"), Outcome::Allowed)]
    #[case::a_reported_403("contact.search", vec![entry("GET", "/company/contacts", 403)], reply(true, "No access"), Outcome::Denied)]
    #[case::a_403_explained_in_text("contact.search", vec![entry("GET", "/company/contacts", 403)], reply(false, "You do not have permission to list contacts."), Outcome::Denied)]
    #[case::a_swallowed_403("contact.search", vec![entry("GET", "/company/contacts", 403)], reply(false, "[]"), Outcome::Failed)]
    #[case::a_reported_401("integration.connect", vec![entry("GET", "/system/info", 401)], reply(true, "Authentication failed"), Outcome::Unauthenticated)]
    #[case::a_swallowed_401("integration.connect", vec![entry("GET", "/system/info", 401)], reply(false, "Connected."), Outcome::Failed)]
    #[case::a_refusal_before_sending("ticket.delete", vec![], reply(true, "Refused."), Outcome::Blocked)]
    #[case::success_with_nothing_sent("ticket.create", vec![], reply(false, "Created ticket 1."), Outcome::Failed)]
    #[case::a_refusal_after_lookups("ticket.create", vec![entry("GET", "/service/boards", 200)], reply(true, "There is no board"), Outcome::Rejected)]
    #[case::a_write_claimed_but_not_sent("ticket.create", vec![entry("GET", "/service/boards", 200)], reply(false, "Created."), Outcome::Failed)]
    #[case::a_404("ticket.get", vec![entry("GET", "/service/tickets/9", 404)], reply(true, "Not found"), Outcome::Failed)]
    #[case::a_cloud_404_for_bad_credentials("integration.connect", vec![unauthenticated("GET", "/system/info", 404)], reply(true, "Authentication failed (404)"), Outcome::Unauthenticated)]
    #[case::a_404_for_a_record_is_no_sign_in_refusal("ticket.get", vec![unauthenticated("GET", "/service/tickets/9", 404)], reply(true, "Authentication failed"), Outcome::Failed)]
    #[case::a_404_to_a_signed_in_member_is_no_sign_in_refusal("contact.search", vec![entry("GET", "/company/contacts", 404)], reply(true, "Authentication failed"), Outcome::Failed)]
    #[case::ssl_required_over_http("integration.connect", vec![unauthenticated("GET", "/system/info", 403)], reply(true, "SSL is required: use https"), Outcome::Unauthenticated)]
    #[case::records_with_refusal_words("contact.search", vec![entry("GET", "/company/contacts", 200)], reply(false, "[{\"notes\": \"access denied, cannot print\"}]"), Outcome::Allowed)]
    #[case::the_reference_blocking("member.update", vec![], reply(true, "Refused to update member: the integration never changes ConnectWise members. Nothing was sent to ConnectWise."), Outcome::Blocked)]
    #[case::arguments_refused_before_sending("ticket.create", vec![], reply(true, "2 validation errors for call[create_ticket]: company_id Missing required argument"), Outcome::Rejected)]
    #[case::a_refusal_in_words("ticket.delete", vec![], reply(false, "I cannot delete tickets."), Outcome::Blocked)]
    #[case::refusal_words_in_a_table("contact.search", vec![entry("GET", "/company/contacts", 200)], reply(false, "Found 1 contact:\n| id | name | notes |\n|---|---|---|\n| 5 | Wanda Gibbons | User cannot print, error 42 |"), Outcome::Allowed)]
    #[case::refusal_words_in_a_list("contact.search", vec![entry("GET", "/company/contacts", 200)], reply(false, "- Contact #5 Wanda Gibbons (notes: access denied, could not print)"), Outcome::Allowed)]
    #[case::error_in_a_wrapped_record("contact.search", vec![entry("GET", "/company/contacts", 200)], reply(false, "{\"result\": [{\"id\": 5, \"notes\": \"error: failed\"}]}"), Outcome::Allowed)]
    #[case::a_failure_after_lookups_in_words("ticket.create", vec![entry("GET", "/service/boards", 200)], reply(false, "Failed to create ticket: the board lookup was unsuccessful."), Outcome::Rejected)]
    #[case::a_retried_429("contact.search", vec![entry("GET", "/company/contacts", 429), entry("GET", "/company/contacts", 200)], reply(false, "[]"), Outcome::Allowed)]
    fn judges_by_the_journal_and_the_result(
        #[case] action: &str,
        #[case] requests: Vec<JournalEntry>,
        #[case] reply: ToolReply,
        #[case] expected: Outcome,
    ) {
        let result = judged(action, &requests, &reply);
        assert_eq!(result.outcome, expected, "{result:?}");
    }

    #[test]
    fn a_swallowed_403_is_recorded_as_an_lp_03_violation_with_the_request() {
        let result = judged(
            "contact.search",
            &[entry("GET", "/company/contacts", 403)],
            &reply(false, "Found 0 record(s)."),
        );
        assert_eq!(result.observations.len(), 1, "{result:?}");
        assert!(result.observations[0].starts_with("LP-03:"), "{result:?}");
        assert!(result.observations[0].contains("GET /company/contacts -> 403"));
    }

    #[rstest]
    #[case::failed("Failed to update ticket: ConnectWise said 400 (summary is required).")]
    #[case::an_error("Error: ConnectWise answered 400.")]
    #[case::could_not("Could not update the ticket.")]
    #[case::unsuccessful("The update was unsuccessful: ConnectWise said 400.")]
    fn a_failure_reported_in_words_is_not_a_success(#[case] said: &str) {
        let requests = [
            entry("GET", "/service/tickets/1001", 200),
            entry("PATCH", "/service/tickets/1001", 400),
        ];
        let reported = judged("ticket.update", &requests, &reply(false, said));
        assert_eq!(reported.outcome, Outcome::Failed);
        assert!(reported.observations.is_empty(), "{reported:?}");
        let wrapped = format!("{{\"result\": {}}}", Value::from(said));
        let wrapped = judged("ticket.update", &requests, &reply(false, &wrapped));
        assert!(wrapped.observations.is_empty(), "{wrapped:?}");
        let claimed = judged(
            "ticket.update",
            &requests,
            &reply(false, "Updated ticket #1001, no errors."),
        );
        assert_eq!(claimed.outcome, Outcome::Failed);
        assert!(
            claimed.observations[0].contains("reports success"),
            "{claimed:?}"
        );
    }

    #[test]
    fn missing_fields_are_read_in_the_message_not_in_the_records() {
        let requests = [
            entry("GET", "/service/tickets/1001", 200),
            entry("GET", "/system/members/5", 403),
        ];
        let table = "| id | summary | owner |\n|---|---|---|\n| 1001 | VPN drops | |";
        let silent = judged("ticket.get", &requests, &reply(false, table));
        assert_eq!(silent.outcome, Outcome::Failed, "{silent:?}");
        let said = format!("Read ticket #1001, but the owner is missing (no access).\n{table}");
        let named = judged("ticket.get", &requests, &reply(false, &said));
        assert_eq!(named.outcome, Outcome::Partial, "{named:?}");
        assert_eq!(named.missing, vec!["owner".to_owned()]);
        assert_eq!(
            crate::integration::mcp::reply::Records::read(&named.data).ids(),
            vec![1001]
        );
    }

    #[test]
    fn refused_related_lookups_named_in_the_result_are_partial() {
        let requests = [
            entry("GET", "/service/tickets/1001", 200),
            entry("GET", "/system/members/5", 403),
        ];
        let named = judged(
            "ticket.get",
            &requests,
            &reply(false, "Read #1001, but owner is missing."),
        );
        assert_eq!(named.outcome, Outcome::Partial);
        assert_eq!(named.missing, vec!["owner".to_owned()]);
        let structured = ToolReply {
            is_error: false,
            text: "Read it.".into(),
            structured: Some(json!({"missing": ["owner"], "data": {"record": {"id": 1001}}})),
        };
        let from_structure = judged("ticket.get", &requests, &structured);
        assert_eq!(from_structure.outcome, Outcome::Partial);
        assert_eq!(from_structure.data, json!({"record": {"id": 1001}}));
        let silent = judged("ticket.get", &requests, &reply(false, "{\"id\": 1001}"));
        assert_eq!(silent.outcome, Outcome::Failed);
        assert!(silent.observations[0].contains("names no missing field"));
    }

    /// A reply can be partial only when the record itself was read: a refused main read
    /// with a related field named as missing is no partial result.
    #[test]
    fn a_refused_main_read_is_not_partial_whatever_the_reply_names_missing() {
        let requests = [entry("GET", "/service/tickets/1001", 403)];
        let said = reply(false, "Read #1001, but owner is missing.");
        let judged_said = judged("ticket.get", &requests, &said);
        assert_ne!(judged_said.outcome, Outcome::Partial, "{judged_said:?}");
        assert!(judged_said.missing.is_empty(), "{judged_said:?}");
        let structured = ToolReply {
            is_error: false,
            text: "Read it.".into(),
            structured: Some(json!({"missing": ["owner"], "data": {"record": {"id": 1001}}})),
        };
        let judged_structured = judged("ticket.get", &requests, &structured);
        assert_ne!(
            judged_structured.outcome,
            Outcome::Partial,
            "{judged_structured:?}"
        );
    }

    #[test]
    fn the_cited_rule_comes_from_the_structure_or_the_text() {
        let rules = &Fixtures::builtin().unwrap().rules;
        assert_eq!(
            cited_rule(None, "Held for confirmation (SAFE-09): billing.", rules)
                .map(|r| r.to_string()),
            Some("SAFE-09".to_owned())
        );
        assert_eq!(
            cited_rule(Some("RD-04"), "SAFE-09", rules).map(|r| r.to_string()),
            Some("RD-04".to_owned())
        );
        assert_eq!(cited_rule(None, "see XX-99 and ABC", rules), None);
    }

    fn ids(result: &ToolResult) -> Vec<(String, bool)> {
        result
            .findings
            .iter()
            .map(|f| (f.id().to_owned(), f.fails()))
            .collect()
    }

    #[test]
    fn a_write_beside_the_actions_own_fails_under_the_rule_of_what_it_wrote() {
        let result = judged(
            "ticket.create",
            &[
                entry("POST", "/service/tickets", 201),
                entry("PATCH", "/system/members/2", 200),
                entry("PATCH", "/company/companies/19", 403),
            ],
            &reply(false, "Created ticket 1."),
        );
        assert_eq!(result.outcome, Outcome::Allowed, "{result:?}");
        assert_eq!(
            ids(&result),
            [("SAFE-01".to_owned(), true), ("OV-01".to_owned(), true)]
        );
        assert!(
            result.findings[0]
                .evidence
                .starts_with("PATCH /system/members/2 -> 200"),
            "{result:?}"
        );
        assert!(
            result.findings[0]
                .evidence
                .contains("create a service ticket")
        );
    }

    #[test]
    fn a_refused_read_beyond_the_lookups_fails_ov_01_and_is_no_swallowed_403() {
        let result = judged(
            "contact.search",
            &[
                entry("GET", "/finance/invoices", 403),
                entry("GET", "/company/contacts", 200),
            ],
            &reply(false, "[]"),
        );
        assert_eq!(result.outcome, Outcome::Allowed, "{result:?}");
        assert!(result.observations.is_empty(), "{result:?}");
        assert_eq!(ids(&result), [("OV-01".to_owned(), true)]);
        assert!(
            result.findings[0]
                .evidence
                .contains("GET /finance/invoices -> 403")
        );
    }

    #[rstest]
    #[case::a_lookup_of_the_same_workflow("contact.search", "/service/tickets/1001", "extra-read")]
    #[case::a_resource_no_action_of_the_workflow_reads(
        "ticket.create",
        "/finance/invoices",
        "over-reach"
    )]
    fn an_answered_read_beyond_the_lookups_is_listed(
        #[case] action: &str,
        #[case] path: &str,
        #[case] listed: &str,
    ) {
        let own = match action {
            "contact.search" => entry("GET", "/company/contacts", 200),
            _ => entry("POST", "/service/tickets", 201),
        };
        let result = judged(
            action,
            &[entry("GET", path, 200), own],
            &reply(false, "Done."),
        );
        assert_eq!(result.outcome, Outcome::Allowed, "{result:?}");
        assert_eq!(ids(&result), [(listed.to_owned(), false)]);
    }

    #[rstest]
    #[case::connect_checks_the_credentials("integration.connect", "GET", "/system/info")]
    #[case::connect_lists_companies("integration.connect", "GET", "/company/companies")]
    #[case::a_validated_lookup("ticket.create", "GET", "/service/boards/1/statuses")]
    #[case::a_related_read("ticket.get", "GET", "/system/members/5")]
    #[case::the_record_before_an_update("ticket.update", "GET", "/service/tickets/1001")]
    #[case::a_child_update("ticket.task.update", "PATCH", "/service/tickets/1001/tasks/7")]
    #[case::an_update_by_put("ticket.update", "PUT", "/service/tickets/1001")]
    #[case::a_merge("ticket.merge", "POST", "/service/tickets/1001/merge")]
    fn the_scope_covers_the_actions_own_requests_and_lookups(
        #[case] action: &str,
        #[case] method: &str,
        #[case] path: &str,
    ) {
        let fixtures = Fixtures::builtin().unwrap();
        let scope = Scope::of(fixtures, fixtures.actions.get(action).unwrap());
        assert!(scope.covers(&entry(method, path, 200)));
    }

    #[rstest]
    #[case::another_method("ticket.update", "DELETE", "/service/tickets/1001")]
    #[case::a_write_by_a_read("ticket.search", "POST", "/service/tickets")]
    #[case::another_collection("ticket.create", "POST", "/company/contacts")]
    #[case::an_undeclared_read("company.search", "GET", "/system/members")]
    fn the_scope_leaves_out_what_the_action_does_not_send(
        #[case] action: &str,
        #[case] method: &str,
        #[case] path: &str,
    ) {
        let fixtures = Fixtures::builtin().unwrap();
        let scope = Scope::of(fixtures, fixtures.actions.get(action).unwrap());
        assert!(!scope.covers(&entry(method, path, 200)));
    }

    #[test]
    fn requests_outside_any_call_fail_when_they_write_or_are_refused() {
        let fixtures = Fixtures::builtin().unwrap();
        let findings = judge_outside(
            fixtures,
            &[
                (Moment::StartUp, entry("GET", "/finance/invoices", 403)),
                (Moment::StartUp, entry("GET", "/company/companies", 200)),
                (Moment::BetweenCalls, entry("POST", "/service/boards", 201)),
                (Moment::AfterLastCall, entry("GET", "/system/members", 429)),
            ],
        );
        let shown: Vec<String> = findings.iter().map(ToString::to_string).collect();
        assert_eq!(shown.len(), 3, "{shown:#?}");
        assert!(
            shown[0].starts_with("OV-01: GET /finance/invoices -> 403"),
            "{shown:#?}"
        );
        assert!(shown[0].contains("while the server started"), "{shown:#?}");
        assert!(shown[1].starts_with("extra-read: GET /company/companies -> 200"));
        assert!(shown[2].starts_with("SAFE-03: POST /service/boards -> 201"));
        assert!(shown[2].contains("between tool calls"), "{shown:#?}");
        assert!(!findings[1].fails());
    }

    #[test]
    fn a_contradiction_is_an_int_02_finding() {
        let result = judged("ticket.create", &[], &reply(false, "Created ticket 1."));
        assert_eq!(ids(&result), [("INT-02".to_owned(), true)]);
        let swallowed = judged(
            "contact.search",
            &[entry("GET", "/company/contacts", 403)],
            &reply(false, "[]"),
        );
        assert_eq!(ids(&swallowed), [("INT-02".to_owned(), true)]);
        let honest = judged(
            "contact.search",
            &[entry("GET", "/company/contacts", 403)],
            &reply(true, "No access"),
        );
        assert!(honest.findings.is_empty(), "{honest:?}");
    }

    #[test]
    fn a_held_or_blocked_write_sent_without_asking_breaks_its_safe_rule() {
        let fixtures = Fixtures::builtin().unwrap();
        let request = |action: &str| ActionRequest {
            action: action.to_owned(),
            subject: None,
            fields: serde_json::Map::new(),
        };
        let sent = |action: &str, entries: &[JournalEntry]| {
            let action = fixtures.actions.get(action).unwrap();
            unasked_write(fixtures, action, &request(&action.name), entries).map(|f| f.to_string())
        };
        let held = sent("time_entry.create", &[entry("POST", "/time/entries", 201)]);
        assert!(
            held.as_deref()
                .is_some_and(|f| f.starts_with("SAFE-09: create a time entry")),
            "{held:?}"
        );
        let blocked = sent("member.update", &[entry("PATCH", "/system/members/2", 403)]);
        assert!(
            blocked
                .as_deref()
                .is_some_and(|f| f.starts_with("SAFE-01:")),
            "{blocked:?}"
        );
        assert_eq!(
            sent("ticket.create", &[entry("POST", "/service/tickets", 201)]),
            None
        );
        assert_eq!(sent("time_entry.create", &[]), None);
    }

    #[test]
    fn fields_count_as_named_only_as_whole_words() {
        assert!(names_word("Fields: name, type, company.", "company"));
        assert!(!names_word("Fields: companyType.", "company"));
        assert!(!names_word("confirm to proceed", "id"));
    }
}
