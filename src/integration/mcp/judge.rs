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
//! A result that contradicts the journal (success after a 403, success with nothing sent)
//! is judged `failed`, and the contradiction is recorded as an observation naming the rule
//! it breaks (LP-03: a refusal must be explained, not swallowed).

use serde_json::Value;

use crate::connectwise::JournalEntry;
use crate::integration::{ActionRequest, ToolResult};
use crate::model::{Action, Outcome, RuleCatalog, RuleId};

/// A tool result as the AI received it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ToolReply {
    /// `isError`.
    pub is_error: bool,
    /// The text blocks, joined (without the block that only repeats the structured content).
    pub text: String,
    /// `structuredContent`.
    pub structured: Option<Value>,
}

impl ToolReply {
    /// Reads an MCP tool result.
    pub fn from_result(result: &rmcp::model::CallToolResult) -> ToolReply {
        let structured = result.structured_content.clone();
        let text = result
            .content
            .iter()
            .filter_map(|block| block.as_text().map(|t| t.text.clone()))
            .filter(|text| {
                // The spec asks servers to repeat structured content as a text block.
                structured
                    .as_ref()
                    .is_none_or(|s| serde_json::from_str::<Value>(text).ok().as_ref() != Some(s))
            })
            .collect::<Vec<_>>()
            .join("\n");
        ToolReply {
            is_error: result.is_error.unwrap_or(false),
            text,
            structured,
        }
    }

    /// The data the result returns: `structuredContent.data`, else the structured content,
    /// else the text if it is JSON.
    pub fn data(&self) -> Value {
        match &self.structured {
            Some(Value::Object(map)) if map.contains_key("data") => map["data"].clone(),
            Some(other) => other.clone(),
            None => serde_json::from_str(self.text.trim()).unwrap_or(Value::Null),
        }
    }

    /// A value in the structured content (or in the text parsed as JSON) by JSON pointer.
    pub fn pointer(&self, pointer: &str) -> Option<Value> {
        let root = match &self.structured {
            Some(value) => value.clone(),
            None => serde_json::from_str::<Value>(self.text.trim()).ok()?,
        };
        root.pointer(pointer).filter(|v| !v.is_null()).cloned()
    }

    fn structured_strings(&self, key: &str) -> Vec<String> {
        self.structured
            .as_ref()
            .and_then(|s| s.get(key))
            .and_then(Value::as_array)
            .map(|items| {
                items
                    .iter()
                    .filter_map(|i| i.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// Words with which a result refuses.
const REFUSALS: [&str; 12] = [
    "refus",
    "not allowed",
    "not permitted",
    "blocked",
    "denied",
    "cannot",
    "can't",
    "unable",
    "nothing was written",
    "nothing was sent",
    "declined",
    "cancelled",
];

/// Words with which a result tells the AI it has no access.
const NO_ACCESS: [&str; 8] = [
    "no access",
    "permission",
    "forbidden",
    "403",
    "not authorized",
    "not authorised",
    "access denied",
    "security role",
];

/// Words with which a result refuses the input itself (rather than the action).
const INVALID_INPUT: [&str; 9] = [
    "invalid",
    "validation",
    "required",
    "missing",
    "not found",
    "does not exist",
    "no such",
    "unknown",
    "i need",
];

/// Words with which a result reports refused credentials.
const AUTHENTICATION: [&str; 5] = ["401", "authenticat", "credential", "unauthori", "api key"];

fn mentions(text: &str, words: &[&str]) -> bool {
    let text = text.to_lowercase();
    words.iter().any(|w| text.contains(w))
}

/// Whether `text` names `word` as a word of its own.
pub fn names_word(text: &str, word: &str) -> bool {
    text.match_indices(word).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + word.len()..].chars().next();
        let boundary = |c: Option<char>| c.is_none_or(|c| !(c.is_alphanumeric() || c == '_'));
        boundary(before) && boundary(after)
    })
}

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
    // Records returned as JSON text may contain any word: only a message can refuse.
    let is_data = serde_json::from_str::<Value>(reply.text.trim()).is_ok();
    let refuses = reply.is_error || (!is_data && mentions(&reply.text, &REFUSALS));
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
        if refuses || mentions(&reply.text, &AUTHENTICATION) {
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
                .filter(|field| names_word(&reply.text, field))
                .cloned()
                .collect();
        }
        if read_first && !reply.is_error && !missing.is_empty() {
            Outcome::Partial
        } else if reply.is_error || mentions(&reply.text, &NO_ACCESS) {
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
        if refuses && mentions(&reply.text, &INVALID_INPUT) {
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
    #[case::a_cloud_404_for_bad_credentials("integration.connect", vec![unauthenticated("GET", "/system/info", 404)], reply(true, "Authentication failed (404)"), Outcome::Unauthenticated)]
    #[case::a_404_for_a_record_is_no_sign_in_refusal("ticket.get", vec![unauthenticated("GET", "/service/tickets/9", 404)], reply(true, "Authentication failed"), Outcome::Failed)]
    #[case::a_404_to_a_signed_in_member_is_no_sign_in_refusal("contact.search", vec![entry("GET", "/company/contacts", 404)], reply(true, "Authentication failed"), Outcome::Failed)]
    #[case::ssl_required_over_http("integration.connect", vec![unauthenticated("GET", "/system/info", 403)], reply(true, "SSL is required: use https"), Outcome::Unauthenticated)]
    #[case::records_with_refusal_words("contact.search", vec![entry("GET", "/company/contacts", 200)], reply(false, "[{\"notes\": \"access denied, cannot print\"}]"), Outcome::Allowed)]
    #[case::the_reference_blocking("member.update", vec![], reply(true, "Refused to update member: the integration never changes ConnectWise members. Nothing was sent to ConnectWise."), Outcome::Blocked)]
    #[case::arguments_refused_before_sending("ticket.create", vec![], reply(true, "2 validation errors for call[create_ticket]: company_id Missing required argument"), Outcome::Rejected)]
    #[case::a_refusal_in_words("ticket.delete", vec![], reply(false, "I cannot delete tickets."), Outcome::Blocked)]
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

    #[test]
    fn the_text_block_repeating_the_structure_is_not_part_of_the_message() {
        let structured = json!({"outcome": "allowed", "data": [1]});
        let mut result = rmcp::model::CallToolResult::success(vec![
            rmcp::model::ContentBlock::text("Found 1 record(s)."),
            rmcp::model::ContentBlock::text(structured.to_string()),
        ]);
        result.structured_content = Some(structured);
        let reply = ToolReply::from_result(&result);
        assert_eq!(reply.text, "Found 1 record(s).");
        assert_eq!(reply.data(), json!([1]));
    }

    #[test]
    fn fields_count_as_named_only_as_whole_words() {
        assert!(names_word("Fields: name, type, company.", "company"));
        assert!(!names_word("Fields: companyType.", "company"));
        assert!(!names_word("confirm to proceed", "id"));
    }
}
