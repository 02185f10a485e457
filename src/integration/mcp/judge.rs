//! Judging a tool call by what happened, not by what the server claims: the requests the
//! mock ConnectWise received while the call ran, together with the tool result the AI got
//! back (`isError`, its text).
//!
//! | outcome | what must have happened |
//! |---|---|
//! | `allowed` | a write reached ConnectWise and succeeded (for a read: the reads succeeded), and the result reports success |
//! | `denied` | ConnectWise answered 403 and the result tells the AI (an error, or it says it has no access) |
//! | `unauthenticated` | ConnectWise answered 401 and the result reports it |
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
//! it breaks (LP-03: a refusal must be explained, not swallowed).

use serde_json::Value;

use super::reply::{AUTHENTICATION, INVALID_INPUT, NO_ACCESS, mentions};
use crate::connectwise::JournalEntry;
use crate::integration::{ActionRequest, ToolResult};
use crate::model::{Action, Outcome, RuleCatalog, RuleId};

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

/// Judges a completed tool call.
pub fn judge(evidence: Evidence<'_>, rules: &RuleCatalog) -> ToolResult {
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
    } else if let Some(refused) = first(401) {
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
                "the tool result reports success, but nothing reached ConnectWise".to_owned(),
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
    ToolResult {
        outcome,
        message: reply.text.clone(),
        data: reply.data(),
        missing,
        confirmation: None,
        rule: cited_rule(rule_field, &reply.text, rules),
        status: answered.last().map(|e| e.status),
        observations,
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
            &fixtures.rules,
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
}
