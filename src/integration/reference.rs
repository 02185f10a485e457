//! The reference integration: what the source documents describe an AI integration
//! with ConnectWise doing. It applies the safety policy before anything is sent,
//! validates referenced records by lookups before writes, calls ConnectWise through the
//! client, and turns each answer into a tool result the AI can act on.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use futures::future::BoxFuture;
use reqwest::Method;
use serde_json::{Map, Value, json};

use super::{ActionRequest, Confirmation, Integration, IntegrationError, Subject, ToolResult};
use crate::connectwise::journal::written_fields;
use crate::connectwise::security::Requirement;
use crate::connectwise::{Client, Response};
use crate::fixtures::Fixtures;
use crate::model::{Action, ActionKind, Outcome, RuleId};
use crate::policy::Decision;

/// A request ready to send.
#[derive(Debug, Clone)]
struct Prepared {
    action: Action,
    method: Method,
    path: String,
    body: Option<Value>,
    record: Option<i64>,
}

/// The reference integration for one API member.
#[derive(Debug)]
pub struct ReferenceIntegration {
    client: Client,
    fixtures: Arc<Fixtures>,
    pending: Mutex<HashMap<u64, Prepared>>,
    next_token: AtomicU64,
}

/// Records asked for a page: ConnectWise's maximum (its default is 25).
const PAGE_SIZE: usize = 1000;

/// The field of a search that asks for smaller pages than [`PAGE_SIZE`] (the records still
/// all come back, over more pages).
const PAGE_SIZE_FIELD: &str = "pageSize";

/// Most pages a list follows through `Link` (a million records at [`PAGE_SIZE`]); a list
/// that goes on beyond it fails, saying so, rather than return a silently truncated list.
const MAX_PAGES: usize = 1000;

impl ReferenceIntegration {
    /// An integration calling ConnectWise with the client's credentials.
    pub fn new(client: Client, fixtures: Arc<Fixtures>) -> Self {
        ReferenceIntegration {
            client,
            fixtures,
            pending: Mutex::new(HashMap::new()),
            next_token: AtomicU64::new(1),
        }
    }

    async fn run(&self, request: &ActionRequest) -> ToolResult {
        let Some(action) = self.fixtures.actions.get(&request.action).cloned() else {
            return ToolResult::new(
                Outcome::Failed,
                format!("unknown action \"{}\"", request.action),
            );
        };
        match action.kind {
            ActionKind::Connect => self.connect(&action).await,
            ActionKind::Search => self.search(&action, request).await,
            ActionKind::Get => self.get(&action, request).await,
            _ => self.write(&action, request).await,
        }
    }

    async fn connect(&self, action: &Action) -> ToolResult {
        let info = match self.client.get("/system/info", &[]).await {
            Ok(response) => response,
            Err(error) => return ToolResult::new(Outcome::Failed, error.to_string()),
        };
        if !info.ok() {
            return self.answer(action, &Method::GET, "/system/info", info);
        }
        let query = [("fields", "id,identifier,name".to_owned())];
        match self
            .every_page(action, &action.path, &query, PAGE_SIZE)
            .await
        {
            Ok(companies) => {
                let count = companies.len();
                let mut result = ToolResult::new(
                    Outcome::Allowed,
                    format!("Connected; {count} companies can be associated."),
                );
                result.data = Value::Array(companies);
                result.status = Some(200);
                result
            }
            // `/system/info` answered, so the credentials are good: whatever stops the list
            // (a refusal, an error), the AI is told it is connected but cannot list.
            Err(mut result) => {
                result.message = format!(
                    "Connected, but the companies to associate cannot be listed: {}",
                    result.message
                );
                *result
            }
        }
    }

    /// Every record of a list, page after page (`page_size` records a page) for as long as
    /// ConnectWise's `Link` header names a `next` page; a refusal or error of any page is
    /// the answer instead, so a list is never silently cut short.
    async fn every_page(
        &self,
        action: &Action,
        path: &str,
        query: &[(&str, String)],
        page_size: usize,
    ) -> Result<Vec<Value>, Box<ToolResult>> {
        let mut records = Vec::new();
        let mut page = 1;
        for _ in 0..MAX_PAGES {
            let mut paged = query.to_vec();
            paged.push(("pageSize", page_size.to_string()));
            paged.push(("page", page.to_string()));
            let response = match self.client.get(path, &paged).await {
                Ok(response) => response,
                Err(error) => {
                    return Err(Box::new(ToolResult::new(
                        Outcome::Failed,
                        error.to_string(),
                    )));
                }
            };
            if !response.ok() {
                return Err(Box::new(self.answer(action, &Method::GET, path, response)));
            }
            let next = response.link.as_deref().and_then(|l| next_page(l, page));
            if let Value::Array(items) = response.body {
                records.extend(items);
            }
            match next {
                Some(following) => page = following,
                None => return Ok(records),
            }
        }
        Err(Box::new(ToolResult::new(
            Outcome::Failed,
            format!(
                "Could not {}: ConnectWise still had more after {MAX_PAGES} pages ({} records); nothing is returned rather than an incomplete list.",
                action.phrase,
                records.len()
            ),
        )))
    }

    async fn search(&self, action: &Action, request: &ActionRequest) -> ToolResult {
        let page_size = match request.fields.get(PAGE_SIZE_FIELD) {
            None => PAGE_SIZE,
            Some(asked) => match asked.as_u64().and_then(|n| usize::try_from(n).ok()) {
                Some(size) if (1..=PAGE_SIZE).contains(&size) => size,
                _ => {
                    return ToolResult::new(
                        Outcome::Rejected,
                        format!(
                            "Could not {}: invalid {PAGE_SIZE_FIELD} {asked}: ConnectWise gives pages of a whole number from 1 to {PAGE_SIZE} records; nothing was asked.",
                            action.phrase
                        ),
                    );
                }
            },
        };
        let mut conditions: Vec<String> = Vec::new();
        if let (Some(Subject::Text(text)), Some(field)) = (&request.subject, &action.search_field) {
            conditions.push(format!("{field} like \"*{}*\"", escape(text)));
        }
        for (field, value) in request.fields.iter().filter(|(f, _)| *f != PAGE_SIZE_FIELD) {
            conditions.push(match value {
                Value::String(text) => format!("{field} = \"{}\"", escape(text)),
                other => format!("{field} = {other}"),
            });
        }
        let path = fill_parent(&action.path, request);
        let mut query = Vec::new();
        if !conditions.is_empty() {
            query.push(("conditions", conditions.join(" and ")));
        }
        let records = match self.every_page(action, &path, &query, page_size).await {
            Ok(records) => records,
            Err(result) => return *result,
        };
        let count = records.len();
        let mut result = ToolResult::new(Outcome::Allowed, format!("Found {count} record(s)."));
        result.data = Value::Array(records);
        result.status = Some(200);
        result
    }

    async fn get(&self, action: &Action, request: &ActionRequest) -> ToolResult {
        let Some(Subject::Id(id)) = request.subject else {
            return ToolResult::new(
                Outcome::Rejected,
                format!("to {} I need a record number", action.phrase),
            );
        };
        let path = format!("{}/{id}", action.path);
        let response = match self.client.get(&path, &[]).await {
            Ok(response) => response,
            Err(error) => return ToolResult::new(Outcome::Failed, error.to_string()),
        };
        if !response.ok() {
            return self.answer(action, &Method::GET, &path, response);
        }
        let record = response.body;
        let mut related = Map::new();
        let mut missing = Vec::new();
        for field in &action.related {
            let Some(lookup) = self.fixtures.actions.lookup(field) else {
                continue;
            };
            let Some(id) = record
                .get(field)
                .and_then(|r| r.get("id"))
                .and_then(Value::as_i64)
            else {
                continue;
            };
            let Some(base) = fill_placeholders(&lookup.path, &record) else {
                continue;
            };
            match self.client.get(&format!("{base}/{id}"), &[]).await {
                Ok(answer) if answer.ok() => {
                    related.insert(field.clone(), answer.body);
                }
                // Refused (403) or not readable for another reason: the detail is missing.
                Ok(_) | Err(_) => missing.push(field.clone()),
            }
        }
        let mut result = if missing.is_empty() {
            ToolResult::new(Outcome::Allowed, format!("Read {} #{id}.", action.resource))
        } else {
            ToolResult::new(
                Outcome::Partial,
                format!(
                    "Read #{id}, but some related details are missing because the API member cannot read them: {}. Grant read access to those records to see them.",
                    missing.join(", ")
                ),
            )
        };
        result.data = json!({"record": record, "related": related});
        result.missing = missing;
        result.status = Some(200);
        result
    }

    async fn write(&self, action: &Action, request: &ActionRequest) -> ToolResult {
        let mut payload: Map<String, Value> = action.fields.clone();
        payload.extend(request.fields.clone());
        match self.fixtures.policy.decide(action, &payload) {
            Decision::Block {
                rule,
                reason,
                fields,
            } => {
                let detail = if fields.is_empty() {
                    String::new()
                } else {
                    format!(" (fields: {})", fields.join(", "))
                };
                let mut result = ToolResult::new(
                    Outcome::Blocked,
                    format!(
                        "Refused to {}: {reason}{detail}. Nothing was sent to ConnectWise.",
                        action.phrase
                    ),
                );
                result.rule = Some(rule);
                return result;
            }
            Decision::Escalate { rule, reason } => {
                let prepared = match self.prepare(action, request, payload).await {
                    Ok(prepared) => prepared,
                    Err(result) => return *result,
                };
                return self.hold(prepared, rule, reason);
            }
            Decision::Pass => {}
        }
        match self.prepare(action, request, payload).await {
            Ok(prepared) => self.send(&prepared).await,
            Err(result) => *result,
        }
    }

    /// Validates references and builds the request; refuses invalid input (rule RD-04).
    async fn prepare(
        &self,
        action: &Action,
        request: &ActionRequest,
        mut payload: Map<String, Value>,
    ) -> Result<Prepared, Box<ToolResult>> {
        let record = match request.subject {
            Some(Subject::Id(id)) => Some(id),
            _ => None,
        };
        let needs_record =
            !matches!(action.kind, ActionKind::Create | ActionKind::Attach) || action.has_parent();
        let Some(id) = record.or((!needs_record).then_some(0)) else {
            return Err(Box::new(ToolResult::new(
                Outcome::Rejected,
                format!("to {} I need a record number", action.phrase),
            )));
        };
        let collection = fill_parent(&action.path, request);
        // In a child collection the subject is the parent; the child is named by its id.
        let item = if action.has_parent()
            && matches!(action.kind, ActionKind::Update | ActionKind::Delete)
        {
            match payload.remove("id").and_then(|v| v.as_i64()) {
                Some(child) => format!("{collection}/{child}"),
                None => {
                    return Err(Box::new(ToolResult::new(
                        Outcome::Rejected,
                        format!(
                            "to {} I need the id of the {} as well",
                            action.phrase, action.resource
                        ),
                    )));
                }
            }
        } else {
            format!("{collection}/{id}")
        };
        // An update names a status or type without its board: the board is the record's own.
        let mut current = Value::Null;
        for field in &action.validate {
            let needs_current = payload.contains_key(field)
                && action.kind == ActionKind::Update
                && current.is_null()
                && self.fixtures.actions.lookup(field).is_some_and(|l| {
                    placeholders(&l.path)
                        .iter()
                        .any(|p| !payload.contains_key(p.as_str()))
                });
            if needs_current {
                current = self.read_for_lookup(&item, &format!("the {field}")).await?;
            }
            self.validate(field, &mut payload, &current).await?;
        }
        let (method, path, body) = match action.kind {
            ActionKind::Create => (Method::POST, collection, Some(Value::Object(payload))),
            ActionKind::Attach => {
                payload.insert("recordId".into(), Value::from(id));
                (Method::POST, collection, Some(Value::Object(payload)))
            }
            ActionKind::Update => (Method::PATCH, item, Some(patch_body(&payload))),
            ActionKind::Close => {
                let status = payload
                    .remove("status")
                    .unwrap_or_else(|| Value::from(">Closed"));
                let status = match status {
                    Value::String(name) => json!({"name": name}),
                    other => other,
                };
                (
                    Method::PATCH,
                    item,
                    Some(json!([{"op": "replace", "path": "status", "value": status}])),
                )
            }
            ActionKind::Merge => {
                // ConnectWise requires the status the merged tickets take: the one asked
                // for, else the parent ticket's current status.
                let status = match payload.remove("status") {
                    Some(Value::String(name)) => json!({"name": name}),
                    Some(status) if !status.is_null() => status,
                    _ => {
                        if current.is_null() {
                            current = self.read_for_lookup(&item, "the ticket's status").await?;
                        }
                        json!({"id": current["status"]["id"]})
                    }
                };
                payload.insert("status".into(), status);
                (
                    Method::POST,
                    format!("{item}/merge"),
                    Some(Value::Object(payload)),
                )
            }
            ActionKind::Delete => (Method::DELETE, item, None),
            ActionKind::Connect | ActionKind::Search | ActionKind::Get => {
                return Err(Box::new(ToolResult::new(
                    Outcome::Failed,
                    format!("\"{}\" is not a write", action.name),
                )));
            }
        };
        Ok(Prepared {
            action: action.clone(),
            method,
            path,
            body,
            record,
        })
    }

    /// Reads a record the integration needs before a write; a refusal stops the write.
    async fn read_for_lookup(&self, path: &str, purpose: &str) -> Result<Value, Box<ToolResult>> {
        match self.client.get(path, &[]).await {
            Ok(response) if response.ok() => Ok(response.body),
            Ok(response) if response.status == 403 && !sign_in_refused(path, &response) => {
                Err(Box::new(self.lookup_denied(path, purpose)))
            }
            Ok(response) => Err(Box::new(self.answer_without_action(path, &response))),
            Err(error) => Err(Box::new(ToolResult::new(
                Outcome::Failed,
                error.to_string(),
            ))),
        }
    }

    /// A lookup before a write was refused (403): the write is not sent, and the AI is told
    /// which read permission is missing.
    fn lookup_denied(&self, path: &str, purpose: &str) -> ToolResult {
        let needed = named(&self.fixtures.permissions.possible_requirements("GET", path))
            .unwrap_or_else(|| "read access to it".to_owned());
        let mut result = ToolResult::new(
            Outcome::Denied,
            format!(
                "No access: cannot check {purpose} because ConnectWise refused the lookup (403), so nothing was written. The API member needs {needed}."
            ),
        );
        result.status = Some(403);
        result.rule = "RD-04".parse::<RuleId>().ok();
        result
    }

    /// Resolves a reference given by name to `{"id": N}`, or refuses.
    async fn validate(
        &self,
        field: &str,
        payload: &mut Map<String, Value>,
        current: &Value,
    ) -> Result<(), Box<ToolResult>> {
        let Some(given) = payload.get(field).cloned() else {
            return Ok(());
        };
        let Some(lookup) = self.fixtures.actions.lookup(field) else {
            return Ok(());
        };
        let name = match &given {
            Value::String(name) => name.clone(),
            Value::Object(map) if map.contains_key("id") => return Ok(()),
            Value::Object(map) => map
                .get("name")
                .or_else(|| map.get("identifier"))
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            _ => return Ok(()),
        };
        let mut context = current.as_object().cloned().unwrap_or_default();
        context.extend(payload.clone());
        let context = Value::Object(context);
        let Some(path) = fill_placeholders(&lookup.path, &context) else {
            return Err(Box::new(ToolResult::new(
                Outcome::Rejected,
                format!(
                    "cannot check the {} \"{name}\" without knowing what it belongs to",
                    lookup.noun
                ),
            )));
        };
        let query = [(
            "conditions",
            format!("{} = \"{}\"", lookup.name_field, escape(&name)),
        )];
        let rejected = |message: String| {
            let mut result = ToolResult::new(Outcome::Rejected, message);
            result.rule = "RD-04".parse::<RuleId>().ok();
            Box::new(result)
        };
        match self.client.get(&path, &query).await {
            Ok(response) if response.ok() => match response.body.as_array().and_then(|a| a.first())
            {
                Some(found) => {
                    let id = found.get("id").cloned().unwrap_or(Value::Null);
                    payload.insert(field.to_owned(), json!({"id": id}));
                    Ok(())
                }
                None => Err(rejected(format!(
                    "There is no {} \"{name}\" in ConnectWise; nothing was written. Use an existing {}.",
                    lookup.noun, lookup.noun
                ))),
            },
            Ok(response) if response.status == 403 && !sign_in_refused(&path, &response) => Err(
                Box::new(self.lookup_denied(&path, &format!("the {} \"{name}\"", lookup.noun))),
            ),
            Ok(response) => Err(Box::new(self.answer_without_action(&path, &response))),
            Err(error) => Err(Box::new(ToolResult::new(
                Outcome::Failed,
                error.to_string(),
            ))),
        }
    }

    fn hold(&self, prepared: Prepared, rule: RuleId, reason: String) -> ToolResult {
        let token = self.next_token.fetch_add(1, Ordering::Relaxed);
        let fields = prepared
            .body
            .as_ref()
            .map(written_fields)
            .unwrap_or_default();
        let record = prepared
            .record
            .map(|id| format!(" #{id}"))
            .unwrap_or_default();
        let shown_fields = if fields.is_empty() {
            String::new()
        } else {
            format!(" Fields: {}.", fields.join(", "))
        };
        let mut result = ToolResult::new(
            Outcome::Escalated,
            format!(
                "Held for confirmation ({rule}): {reason}. Action: {}{record}.{shown_fields} Nothing has been written; confirm to proceed.",
                prepared.action.phrase
            ),
        );
        result.confirmation = Some(Confirmation {
            token,
            action: prepared.action.name.clone(),
            record: prepared.record,
            fields,
            reason,
        });
        result.rule = Some(rule);
        self.pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(token, prepared);
        result
    }

    async fn send(&self, prepared: &Prepared) -> ToolResult {
        let response = if prepared.action.kind == ActionKind::Attach {
            let fields = prepared
                .body
                .as_ref()
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default();
            self.client
                .upload(
                    &prepared.path,
                    document_form(&fields),
                    &Value::Object(fields.clone()),
                )
                .await
        } else {
            self.client
                .send(
                    prepared.method.clone(),
                    &prepared.path,
                    &[],
                    prepared.body.as_ref(),
                )
                .await
        };
        match response {
            Ok(response) => {
                self.answer(&prepared.action, &prepared.method, &prepared.path, response)
            }
            Err(error) => ToolResult::new(Outcome::Failed, error.to_string()),
        }
    }

    /// Turns a ConnectWise answer into a tool result.
    fn answer(
        &self,
        action: &Action,
        method: &Method,
        path: &str,
        response: Response,
    ) -> ToolResult {
        if sign_in_refused(path, &response) {
            return self.answer_without_action(path, &response);
        }
        match response.status {
            200..=299 => {
                let mut result =
                    ToolResult::new(Outcome::Allowed, format!("Done: {}.", action.phrase));
                result.status = Some(response.status);
                result.data = response.body;
                result
            }
            403 => {
                let needed = self.requirement(action, method, path);
                let mut result = ToolResult::new(
                    Outcome::Denied,
                    format!(
                        "No access: ConnectWise refused to {} (403). The API member is valid, but its security role does not allow this. It needs {} at level All or My; check that module and permission level in the role.",
                        action.phrase,
                        named(&needed).unwrap_or_else(|| "the matching permission".to_owned()),
                    ),
                );
                result.status = Some(403);
                result
            }
            _ => {
                let mut result = self.answer_without_action(path, &response);
                if result.outcome == Outcome::Failed {
                    result.message = format!("Could not {}: {}", action.phrase, result.message);
                }
                result
            }
        }
    }

    fn answer_without_action(&self, path: &str, response: &Response) -> ToolResult {
        let status = response.status;
        let mut result = if ssl_required(response) {
            ToolResult::new(
                Outcome::Unauthenticated,
                format!(
                    "Authentication failed ({status}): ConnectWise answered \"SSL is required\". Re-check the ConnectWise URL: it must start with https:// and, for a cloud site, name the API host (api-na, api-eu or api-au.myconnectwise.net)."
                ),
            )
        } else if sign_in_refused(path, response) {
            let mut message = if status == 404 {
                format!(
                    "Authentication failed (404): ConnectWise answered \"not found\" for {path}, which always exists; a cloud site answers so when it refuses the credentials. Re-check the Company ID, Public Key, Private Key, Client ID and the ConnectWise URL."
                )
            } else {
                format!(
                    "Authentication failed ({status}): ConnectWise refused the credentials{}. Re-check the Company ID, Public Key, Private Key, Client ID and the ConnectWise URL.",
                    response
                        .error_message()
                        .filter(|m| !m.is_empty())
                        .map(|m| format!(" ({m})"))
                        .unwrap_or_default()
                )
            };
            if self.client.credentials().company_id_looks_numeric() {
                message.push_str(" The Company ID must be the sign-in company code, not a numeric company record ID.");
            }
            ToolResult::new(Outcome::Unauthenticated, message)
        } else {
            let detail = response.error_message().unwrap_or("no details").to_owned();
            let errors = response
                .body
                .get("errors")
                .and_then(Value::as_array)
                .map(|errors| {
                    errors
                        .iter()
                        .filter_map(|e| e.get("message").and_then(Value::as_str))
                        .collect::<Vec<_>>()
                        .join("; ")
                })
                .filter(|e| !e.is_empty())
                .map(|e| format!(" ({e})"))
                .unwrap_or_default();
            ToolResult::new(
                Outcome::Failed,
                format!("ConnectWise answered {status}: {detail}{errors}"),
            )
        };
        result.status = Some(status);
        result
    }

    /// What ConnectWise may check for the request, each documented alternative once
    /// (closing: Close Service Tickets Edit or Service Tickets Edit, as the documents
    /// disagree), the one the integration's model follows first.
    fn requirement(&self, action: &Action, method: &Method, path: &str) -> Vec<Requirement> {
        let permissions = &self.fixtures.permissions;
        if action.kind == ActionKind::Close
            && let Some(endpoint) = permissions.endpoint_for(&action.resource)
            && endpoint.close.is_some()
        {
            return permissions
                .close_functions(endpoint)
                .into_iter()
                .map(|function| Requirement {
                    function: function.clone(),
                    operation: crate::model::Operation::Edit,
                })
                .collect();
        }
        permissions.possible_requirements(method.as_str(), path)
    }
}

impl ReferenceIntegration {
    /// Answers a held action: `accept` sends it, refusing writes nothing. A token it never
    /// gave is the caller's mistake.
    pub async fn answer_held(
        &self,
        token: u64,
        accept: bool,
    ) -> Result<ToolResult, IntegrationError> {
        let prepared = self
            .pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&token);
        match (prepared, accept) {
            (None, _) => Err(IntegrationError::NotHeld { token }),
            (Some(prepared), false) => Ok(ToolResult::new(
                Outcome::Blocked,
                format!(
                    "Cancelled: the request to {} was refused, so nothing was written.",
                    prepared.action.phrase
                ),
            )),
            (Some(prepared), true) => Ok(self.send(&prepared).await),
        }
    }

    /// Performs an action (the reference integration always answers).
    pub async fn perform_action(&self, request: &ActionRequest) -> ToolResult {
        self.run(request).await
    }
}

/// The reference integration never fails to answer: it runs in process, and its arguments
/// are the request itself.
impl Integration for ReferenceIntegration {
    fn perform<'a>(
        &'a self,
        request: &'a ActionRequest,
    ) -> BoxFuture<'a, Result<ToolResult, IntegrationError>> {
        Box::pin(async move { Ok(self.run(request).await) })
    }

    fn confirm(
        &self,
        token: u64,
        accept: bool,
    ) -> BoxFuture<'_, Result<ToolResult, IntegrationError>> {
        Box::pin(self.answer_held(token, accept))
    }
}

/// The page a `Link` header's `rel="next"` names (its `page` parameter, or the one after
/// `current` when the URL has none); `None` on the last page.
fn next_page(link: &str, current: usize) -> Option<usize> {
    let target = link.split(',').find_map(|part| {
        let (url, params) = part.split_once(';')?;
        params
            .split(';')
            .any(|p| p.trim().eq_ignore_ascii_case("rel=\"next\""))
            .then(|| url.trim().trim_start_matches('<').trim_end_matches('>'))
    })?;
    let page = url::Url::parse(target).ok().and_then(|url| {
        url.query_pairs()
            .find(|(k, _)| k.eq_ignore_ascii_case("page"))
            .and_then(|(_, v)| v.parse().ok())
    });
    Some(page.unwrap_or(current + 1))
}

/// Escapes a value for a double-quoted ConnectWise condition.
fn escape(text: &str) -> String {
    text.replace('\\', "\\\\").replace('"', "\\\"")
}

/// Fills `{parentId}` from the request's subject.
fn fill_parent(path: &str, request: &ActionRequest) -> String {
    match request.subject {
        Some(Subject::Id(id)) => path.replace("{parentId}", &id.to_string()),
        _ => path.to_owned(),
    }
}

/// The `{field}` placeholders of a lookup path.
fn placeholders(path: &str) -> Vec<String> {
    path.split('{')
        .skip(1)
        .filter_map(|part| part.split_once('}').map(|(name, _)| name.to_owned()))
        .collect()
}

/// Fills `{field}` placeholders with the id of that reference in `record`.
fn fill_placeholders(path: &str, record: &Value) -> Option<String> {
    let mut filled = path.to_owned();
    while let Some(start) = filled.find('{') {
        let end = start + filled[start..].find('}')?;
        let field = &filled[start + 1..end];
        let id = record.get(field)?.get("id")?.as_i64()?;
        filled.replace_range(start..=end, &id.to_string());
    }
    Some(filled)
}

/// The multipart form ConnectWise's documents endpoint takes: the file (from `content` and
/// `fileName`) and every other field as text.
fn document_form(fields: &Map<String, Value>) -> reqwest::multipart::Form {
    let text = |v: &Value| v.as_str().map_or_else(|| v.to_string(), str::to_owned);
    let content = fields.get("content").map(text).unwrap_or_default();
    let file_name = fields
        .get("fileName")
        .map_or_else(|| "attachment.txt".to_owned(), text);
    let mut form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(content.into_bytes()).file_name(file_name),
    );
    for (name, value) in fields
        .iter()
        .filter(|(k, _)| !["content", "fileName"].contains(&k.as_str()))
    {
        form = form.text(name.clone(), text(value));
    }
    form
}

/// A ConnectWise PATCH body replacing each field.
fn patch_body(payload: &Map<String, Value>) -> Value {
    Value::Array(
        payload
            .iter()
            .map(|(field, value)| json!({"op": "replace", "path": field, "value": value}))
            .collect(),
    )
}

/// Whether ConnectWise refused the sign-in rather than the request (TS-01), in any of
/// the shapes it uses: a 401 (`Unauthorized` or `UserNotAuthenticated`), "SSL is
/// required" over http, or, as a cloud site may answer bad credentials, a 404 to a
/// request that names no record (a list, a count or `/system/info` always exists).
fn sign_in_refused(path: &str, response: &Response) -> bool {
    response.status == 401
        || ssl_required(response)
        || (response.status == 404 && names_no_record(path))
}

/// The permissions a refusal may be for, as the AI is told them: `Module / Function
/// permission Operation`, alternatives joined by "or".
fn named(requirements: &[Requirement]) -> Option<String> {
    (!requirements.is_empty()).then(|| {
        requirements
            .iter()
            .map(|r| {
                format!(
                    "{} / {} permission {}",
                    r.function.module, r.function.function, r.operation
                )
            })
            .collect::<Vec<_>>()
            .join(" or ")
    })
}

/// Whether ConnectWise refused the request because it came over plain http.
fn ssl_required(response: &Response) -> bool {
    response
        .body
        .get("message")
        .and_then(Value::as_str)
        .is_some_and(|m| m.to_ascii_lowercase().contains("ssl is required"))
}

/// Whether a path names no record: a list, a count or `/system/info`, never an id.
fn names_no_record(path: &str) -> bool {
    !path
        .split(['/', '?'])
        .any(|segment| segment.parse::<i64>().is_ok())
}

#[cfg(test)]
mod tests {
    use super::next_page;

    #[test]
    fn follows_the_page_link_names_next_and_stops_without_one() {
        let middle = "<https://cw.example/v4_6_release/apis/3.0/company/contacts?pageSize=1000&page=1>; rel=\"prev\", \
             <https://cw.example/v4_6_release/apis/3.0/company/contacts?pageSize=1000&page=3>; rel=\"next\", \
             <https://cw.example/v4_6_release/apis/3.0/company/contacts?pageSize=1000&page=4>; rel=\"last\"";
        assert_eq!(next_page(middle, 2), Some(3));
        let last = "<https://cw.example/x?pageSize=1000&page=1>; rel=\"first\", \
             <https://cw.example/x?pageSize=1000&page=4>; rel=\"last\"";
        assert_eq!(next_page(last, 4), None);
        let unnumbered = "<https://cw.example/x?pageSize=1000>; rel=\"next\"";
        assert_eq!(next_page(unnumbered, 1), Some(2));
    }
}
