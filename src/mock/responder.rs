//! The one wiremock responder that plays ConnectWise: authenticate, route, authorise,
//! then read or change the store. Synchronous, as wiremock requires: state is behind a
//! lock and nothing here blocks on I/O.

use std::sync::Arc;

use base64::Engine as _;
use serde_json::{Map, Value, json};
use wiremock::{Request, Respond, ResponseTemplate};

use super::query::{Conditions, Fields, OrderBy};
use super::store::{at_path, record_id};
use super::{ApiMember, Inner, Shared};
use crate::connectwise::error::{ErrorBody, ValidationError};
use crate::connectwise::journal::JournalEntry;
use crate::connectwise::security::{
    Endpoint, Route, Special, SpecialHandler, Target, operation_for_method,
};
use crate::model::{FunctionName, Level, Operation};

/// An answer on its way out: status, JSON body and extra headers.
#[derive(Debug)]
struct Answer {
    status: u16,
    body: Option<String>,
    headers: Vec<(&'static str, String)>,
}

impl Answer {
    fn json(status: u16, value: &Value) -> Self {
        Answer {
            status,
            body: Some(value.to_string()),
            headers: Vec::new(),
        }
    }

    fn error(status: u16, body: &ErrorBody) -> Self {
        Answer {
            status,
            body: Some(body.to_wire()),
            headers: Vec::new(),
        }
    }

    fn empty(status: u16) -> Self {
        Answer {
            status,
            body: None,
            headers: Vec::new(),
        }
    }

    fn bad_request(message: impl Into<String>) -> Self {
        Answer::error(400, &ErrorBody::new("BadRequest", message))
    }

    fn not_found(message: impl Into<String>) -> Self {
        Answer::error(404, &ErrorBody::new("NotFound", message))
    }
}

pub(super) struct ConnectWise {
    shared: Arc<Shared>,
}

impl ConnectWise {
    pub(super) fn new(shared: Arc<Shared>) -> Self {
        ConnectWise { shared }
    }
}

impl Respond for ConnectWise {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let mut inner = self.shared.lock();
        let mut member = None;
        let answer = handle(&self.shared, &mut inner, request, &mut member);
        let full_path = request.url.path();
        let path = api_path(full_path).unwrap_or(full_path).to_owned();
        inner.journal.push(JournalEntry {
            method: request.method.as_str().to_owned(),
            path,
            query: request.url.query().unwrap_or_default().to_owned(),
            status: answer.status,
            member,
            body: serde_json::from_slice(&request.body).ok(),
        });
        drop(inner);
        let mut template = ResponseTemplate::new(answer.status).insert_header(
            "api-current-version",
            self.shared
                .fixtures
                .permissions
                .settings
                .api_version
                .as_str(),
        );
        if let Some(delay) = self.shared.delay {
            template = template.set_delay(delay);
        }
        for (name, value) in answer.headers {
            template = template.insert_header(name, value.as_str());
        }
        match answer.body {
            Some(body) => template.set_body_raw(body, "application/json; charset=utf-8"),
            None => template,
        }
    }
}

/// The part of a path after `/apis/3.0`, whatever the codebase before it.
fn api_path(path: &str) -> Option<&str> {
    let lower = path.to_ascii_lowercase();
    let at = lower.find("/apis/3.0")?;
    let rest = &path[at + "/apis/3.0".len()..];
    (rest.is_empty() || rest.starts_with('/')).then_some(rest)
}

fn handle(
    shared: &Shared,
    inner: &mut Inner,
    request: &Request,
    who: &mut Option<String>,
) -> Answer {
    let path = request.url.path();
    if let Some(company) = strip_prefix_ignore_case(path, "/login/companyinfo/") {
        return company_info(shared, company);
    }
    let Some(sub) = api_path(path) else {
        return Answer::not_found(format!("The requested resource {path} was not found."));
    };
    if let Some(answer) = take_fault(inner) {
        return answer;
    }
    let member = match authenticate(shared, inner, request) {
        Ok(member) => member,
        Err(answer) => return answer,
    };
    *who = Some(member.identifier.clone());
    let method = request.method.as_str().to_ascii_uppercase();
    let Some(route) = shared.fixtures.permissions.route(sub, &method) else {
        return Answer::not_found(format!("The requested resource {sub} was not found."));
    };
    let call = Call {
        shared,
        member: &member,
        request,
        method: &method,
    };
    match route {
        Route::Special { special, id } => call.special(inner, special, id),
        Route::Collection {
            endpoint,
            parent_id,
            target,
        } => call.collection(inner, endpoint, parent_id, &target),
    }
}

fn strip_prefix_ignore_case<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &text[prefix.len()..])
}

fn company_info(shared: &Shared, company: &str) -> Answer {
    if !company.eq_ignore_ascii_case(&shared.company_id) {
        // ConnectWise answers an unknown company with a null body.
        return Answer::json(200, &Value::Null);
    }
    let version = &shared.fixtures.permissions.settings.api_version;
    Answer::json(
        200,
        &json!({
            "CompanyName": shared.company_name,
            "Codebase": "v4_6_release/",
            "VersionCode": format!("v{version}"),
            "VersionNumber": format!("v{version}.0"),
            "CompanyID": shared.company_id,
            "IsCloud": false,
        }),
    )
}

fn take_fault(inner: &mut Inner) -> Option<Answer> {
    let fault = inner.faults.first_mut()?;
    fault.times = fault.times.saturating_sub(1);
    let mut answer = if fault.status == 429 {
        // ConnectWise's rate-limit body uses `error`, not `code`.
        let seconds = fault.retry_after.unwrap_or(1);
        Answer::json(
            429,
            &json!({"error": "ConnectWiseAPI", "message": format!("Too many requests. Please try again in {seconds} seconds.")}),
        )
    } else {
        Answer::error(
            fault.status,
            &ErrorBody::new("ConnectWiseApi", "A timeout has occured. Please try again."),
        )
    };
    if let Some(seconds) = fault.retry_after {
        answer.headers.push(("retry-after", seconds.to_string()));
    }
    if fault.times == 0 {
        inner.faults.remove(0);
    }
    Some(answer)
}

fn authenticate(shared: &Shared, inner: &Inner, request: &Request) -> Result<ApiMember, Answer> {
    let settings = &shared.fixtures.permissions.settings;
    let refuse = || {
        Answer::error(
            401,
            &ErrorBody::new(&settings.unauthorized_code, &settings.unauthorized_message),
        )
    };
    let header = request
        .headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(refuse)?;
    let encoded = strip_prefix_ignore_case(header.trim(), "basic ").ok_or_else(refuse)?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .ok_or_else(refuse)?;
    let (user, private_key) = decoded.split_once(':').ok_or_else(refuse)?;
    let (company, public_key) = user.split_once('+').ok_or_else(refuse)?;
    if !company.eq_ignore_ascii_case(&shared.company_id) {
        return Err(refuse());
    }
    let member = inner
        .members
        .iter()
        .find(|m| m.public_key == public_key && m.private_key.expose() == private_key)
        .ok_or_else(refuse)?;
    let client_id = request
        .headers
        .get("clientid")
        .and_then(|v| v.to_str().ok())
        .map(str::trim);
    let client_ok = match client_id {
        None | Some("") => !settings.require_client_id,
        Some(id) => shared.client_ids.is_empty() || shared.client_ids.iter().any(|c| c == id),
    };
    if !client_ok {
        return Err(refuse());
    }
    Ok(member.clone())
}

/// Whether a level lets the member act on a record (`owned`: it is the member's own).
fn permits(level: Level, owned: bool) -> bool {
    match level {
        Level::All => true,
        Level::My => owned,
        Level::None => false,
    }
}

fn query_param<'a>(request: &'a Request, name: &str) -> Option<std::borrow::Cow<'a, str>> {
    request
        .url
        .query_pairs()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

struct Call<'a> {
    shared: &'a Shared,
    member: &'a ApiMember,
    request: &'a Request,
    method: &'a str,
}

impl Call<'_> {
    fn level(&self, function: &FunctionName, operation: Operation) -> Level {
        self.member.role.level(function, operation)
    }

    fn forbidden(&self) -> Answer {
        Answer::error(
            403,
            &ErrorBody::new(
                "Security",
                &self.shared.fixtures.permissions.settings.security_message,
            ),
        )
    }

    fn json_body(&self) -> Result<Value, Answer> {
        if self.request.body.iter().all(u8::is_ascii_whitespace) {
            return Err(Answer::bad_request(
                "The request body is empty; a JSON body is required.",
            ));
        }
        serde_json::from_slice(&self.request.body)
            .map_err(|e| Answer::bad_request(format!("The request body is not valid JSON: {e}.")))
    }

    fn member_reference(&self, inner: &Inner) -> Value {
        match inner
            .store
            .find_by("members", "identifier", &self.member.identifier)
        {
            Some(record) => reference_of(record),
            None => json!({"identifier": self.member.identifier}),
        }
    }

    fn collection(
        &self,
        inner: &mut Inner,
        endpoint: &Endpoint,
        parent_id: Option<i64>,
        target: &Target,
    ) -> Answer {
        if !endpoint.accepts(self.method) {
            return Answer::error(
                405,
                &ErrorBody::new(
                    "MethodNotAllowed",
                    format!("The method {} is not allowed here.", self.method),
                ),
            );
        }
        let Some(operation) = operation_for_method(self.method) else {
            return Answer::error(
                405,
                &ErrorBody::new(
                    "MethodNotAllowed",
                    format!("The method {} is not allowed here.", self.method),
                ),
            );
        };
        let level = self.level(&endpoint.function, operation);
        match (operation, target) {
            (Operation::Inquire, Target::Collection | Target::Count) => {
                if !level.grants_any() {
                    return self.forbidden();
                }
                self.list(
                    inner,
                    endpoint,
                    parent_id,
                    level,
                    matches!(target, Target::Count),
                )
            }
            (Operation::Add, Target::Collection) => {
                if !level.grants_any() {
                    return self.forbidden();
                }
                self.create(inner, endpoint, parent_id, level)
            }
            (_, Target::Id(_) | Target::Identifier(_)) => {
                if !level.grants_any() && endpoint.close.is_none() {
                    return self.forbidden();
                }
                let found = match target {
                    Target::Id(id) => inner.store.get(&endpoint.collection, *id),
                    Target::Identifier(identifier) => {
                        inner
                            .store
                            .find_by(&endpoint.collection, "identifier", identifier)
                    }
                    _ => None,
                };
                let Some(record) = found
                    .cloned()
                    .filter(|r| parent_matches(endpoint, r, parent_id))
                else {
                    if !level.grants_any() {
                        return self.forbidden();
                    }
                    let shown = match target {
                        Target::Id(id) => id.to_string(),
                        Target::Identifier(identifier) => identifier.clone(),
                        _ => String::new(),
                    };
                    return Answer::not_found(format!(
                        "{} {shown} not found",
                        capitalise(&endpoint.noun)
                    ));
                };
                let owned = endpoint.is_owned_by(&record, &self.member.identifier);
                match operation {
                    Operation::Inquire => {
                        if !permits(level, owned) {
                            return self.forbidden();
                        }
                        let shown = self.guard_read(endpoint, record);
                        match self.fields() {
                            Ok(Some(fields)) => Answer::json(200, &fields.project(&shown)),
                            Ok(None) => Answer::json(200, &shown),
                            Err(answer) => answer,
                        }
                    }
                    Operation::Edit => self.edit(inner, endpoint, &record, level, owned),
                    Operation::Delete => {
                        if !permits(level, owned) {
                            return self.forbidden();
                        }
                        if let Some(id) = record_id(&record) {
                            inner.store.remove(&endpoint.collection, id);
                        }
                        Answer::empty(204)
                    }
                    Operation::Add => Answer::error(
                        405,
                        &ErrorBody::new("MethodNotAllowed", "POST is not allowed on a record."),
                    ),
                }
            }
            _ => Answer::error(
                405,
                &ErrorBody::new(
                    "MethodNotAllowed",
                    format!("The method {} is not allowed here.", self.method),
                ),
            ),
        }
    }

    fn fields(&self) -> Result<Option<Fields>, Answer> {
        match query_param(self.request, "fields") {
            Some(text) if !text.trim().is_empty() => Fields::parse(&text)
                .map(Some)
                .map_err(|e| Answer::bad_request(format!("Invalid fields: {e}"))),
            _ => Ok(None),
        }
    }

    /// Hides the fields guarded by a function the member cannot inquire on.
    fn guard_read(&self, endpoint: &Endpoint, mut record: Value) -> Value {
        for guard in self
            .shared
            .fixtures
            .permissions
            .field_guards
            .iter()
            .filter(|g| g.collection == endpoint.collection)
        {
            if !self.level(&guard.function, Operation::Inquire).grants_any()
                && let Value::Object(map) = &mut record
            {
                for field in &guard.fields {
                    map.remove(field);
                }
            }
        }
        record
    }

    /// Whether writing these fields needs a guard function the member lacks.
    fn guard_write(&self, endpoint: &Endpoint, fields: &[String], operation: Operation) -> bool {
        self.shared
            .fixtures
            .permissions
            .field_guards
            .iter()
            .filter(|g| g.collection == endpoint.collection)
            .any(|guard| {
                fields.iter().any(|f| guard.fields.contains(f))
                    && !self.level(&guard.function, operation).grants_any()
            })
    }

    fn list(
        &self,
        inner: &Inner,
        endpoint: &Endpoint,
        parent_id: Option<i64>,
        level: Level,
        count: bool,
    ) -> Answer {
        let conditions = ["conditions", "childConditions"]
            .iter()
            .filter_map(|name| query_param(self.request, name).map(|text| (name, text)))
            .filter(|(_, text)| !text.trim().is_empty())
            .map(|(name, text)| {
                Conditions::parse(&text)
                    .map_err(|e| Answer::bad_request(format!("Invalid {name}: {e}")))
            })
            .collect::<Result<Vec<_>, _>>();
        let conditions = match conditions {
            Ok(c) => c,
            Err(answer) => return answer,
        };
        let mut records: Vec<Value> = inner
            .store
            .all(&endpoint.collection)
            .iter()
            .filter(|r| parent_matches(endpoint, r, parent_id))
            .filter(|r| level == Level::All || endpoint.is_owned_by(r, &self.member.identifier))
            .filter(|r| conditions.iter().all(|c| c.matches(r)))
            .cloned()
            .collect();
        if count {
            return Answer::json(200, &json!({"count": records.len()}));
        }
        let forward_only = self
            .request
            .headers
            .get("pagination-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("forward-only"));
        if let Some(order) = query_param(self.request, "orderBy").filter(|t| !t.trim().is_empty()) {
            if forward_only {
                return Answer::bad_request(
                    "orderBy is not supported with forward-only pagination.",
                );
            }
            match OrderBy::parse(&order) {
                Ok(order) => order.sort(&mut records),
                Err(e) => return Answer::bad_request(format!("Invalid orderBy: {e}")),
            }
        }
        let settings = &self.shared.fixtures.permissions.settings;
        let page_size = match number_param(self.request, "pageSize") {
            Ok(size) => size
                .unwrap_or(settings.default_page_size)
                .clamp(1, settings.max_page_size),
            Err(answer) => return answer,
        };
        let fields = match self.fields() {
            Ok(f) => f,
            Err(answer) => return answer,
        };
        let (page_records, link) = if forward_only {
            let after = match number_param(self.request, "pageId") {
                Ok(id) => id.unwrap_or(0),
                Err(answer) => return answer,
            };
            records.sort_by_key(|r| record_id(r).unwrap_or(0));
            let rest: Vec<Value> = records
                .into_iter()
                .filter(|r| {
                    record_id(r).is_some_and(|id| id > i64::try_from(after).unwrap_or(i64::MAX))
                })
                .collect();
            let more = rest.len() > page_size;
            let page: Vec<Value> = rest.into_iter().take(page_size).collect();
            let link = match (more, page.last().and_then(record_id)) {
                (true, Some(last)) => Some(format!(
                    "<{}>; rel=\"next\"",
                    self.page_url(&[
                        ("pageSize", page_size.to_string()),
                        ("pageId", last.to_string())
                    ])
                )),
                _ => None,
            };
            (page, link)
        } else {
            let page = match number_param(self.request, "page") {
                Ok(p) => p.unwrap_or(1).max(1),
                Err(answer) => return answer,
            };
            let last = records.len().div_ceil(page_size).max(1);
            let page_records: Vec<Value> = records
                .into_iter()
                .skip((page - 1) * page_size)
                .take(page_size)
                .collect();
            (
                page_records,
                Some(self.navigable_links(page, last, page_size)),
            )
        };
        let shown: Vec<Value> = page_records
            .into_iter()
            .map(|r| self.guard_read(endpoint, r))
            .map(|r| fields.as_ref().map_or(r.clone(), |f| f.project(&r)))
            .collect();
        let mut answer = Answer::json(200, &Value::Array(shown));
        if let Some(link) = link {
            answer.headers.push(("link", link));
        }
        answer
    }

    fn page_url(&self, paging: &[(&str, String)]) -> String {
        let mut url = self.request.url.clone();
        let kept: Vec<(String, String)> = self
            .request
            .url
            .query_pairs()
            .filter(|(k, _)| {
                !["page", "pagesize", "pageid"].contains(&k.to_ascii_lowercase().as_str())
            })
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        {
            let mut pairs = url.query_pairs_mut();
            pairs.clear();
            for (k, v) in &kept {
                pairs.append_pair(k, v);
            }
            // ConnectWise puts the page last; some clients rely on it.
            for (k, v) in paging {
                pairs.append_pair(k, v);
            }
        }
        url.to_string()
    }

    fn navigable_links(&self, page: usize, last: usize, page_size: usize) -> String {
        let link = |rel: &str, p: usize| {
            format!(
                "<{}>; rel=\"{rel}\"",
                self.page_url(&[("pageSize", page_size.to_string()), ("page", p.to_string())])
            )
        };
        let mut links = Vec::new();
        if page > 1 {
            links.push(link("prev", page - 1));
        }
        if page < last {
            links.push(link("next", page + 1));
        }
        links.push(link("first", 1));
        links.push(link("last", last));
        links.join(", ")
    }

    fn create(
        &self,
        inner: &mut Inner,
        endpoint: &Endpoint,
        parent_id: Option<i64>,
        level: Level,
    ) -> Answer {
        let body = match self.json_body() {
            Ok(Value::Object(map)) => map,
            Ok(_) => return Answer::bad_request("The request body must be a JSON object."),
            Err(answer) => return answer,
        };
        let mut record = Value::Object(body);
        if let (Some(field), Some(id)) = (&endpoint.parent, parent_id) {
            set_path(&mut record, field, Value::from(id));
        }
        if let Some(field) = &endpoint.owner_on_create
            && at_path(&record, field).is_none()
        {
            set_path(&mut record, field, self.member_reference(inner));
        }
        // References first: the owner may be named by id (`{"id": 150}`), and ownership is
        // judged on the canonical reference.
        let reference_errors = resolve_references(inner, endpoint, &mut record);
        if level == Level::My && !endpoint.is_owned_by(&record, &self.member.identifier) {
            return self.forbidden();
        }
        let keys: Vec<String> = record
            .as_object()
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default();
        if self.guard_write(endpoint, &keys, Operation::Add) {
            return self.forbidden();
        }
        let mut errors: Vec<ValidationError> = endpoint
            .required
            .iter()
            .filter(|f| at_path(&record, f).is_none_or(Value::is_null))
            .map(|f| ValidationError {
                code: "NullRequiredField".into(),
                message: format!("{f} is required."),
                resource: endpoint.noun.clone(),
                field: (*f).clone(),
            })
            .collect();
        errors.extend(reference_errors);
        if !errors.is_empty() {
            return Answer::error(400, &ErrorBody::invalid_object(&endpoint.noun, errors));
        }
        derive_closed_flag(inner, endpoint, &mut record);
        stamp(&mut record, &self.member.identifier, true);
        let id = inner.store.insert(&endpoint.collection, record);
        let stored = inner
            .store
            .get(&endpoint.collection, id)
            .cloned()
            .unwrap_or(Value::Null);
        Answer::json(201, &self.guard_read(endpoint, stored))
    }

    fn edit(
        &self,
        inner: &mut Inner,
        endpoint: &Endpoint,
        old: &Value,
        level: Level,
        owned: bool,
    ) -> Answer {
        let body = match self.json_body() {
            Ok(body) => body,
            Err(answer) => return answer,
        };
        let mut updated = match (self.method, body) {
            ("PATCH", Value::Array(operations)) => match apply_patch(old, operations) {
                Ok(updated) => updated,
                Err(answer) => return answer,
            },
            ("PATCH", _) => {
                return Answer::bad_request(
                    "A PATCH body must be a JSON array of operations: [{\"op\": \"replace\", \"path\": \"summary\", \"value\": \"…\"}].",
                );
            }
            (_, Value::Object(map)) => {
                let mut replaced = Value::Object(map);
                set_path(
                    &mut replaced,
                    "id",
                    old.get("id").cloned().unwrap_or(Value::Null),
                );
                // `_info` is read-only: a replace keeps who entered the record and when.
                if let Some(info) = old.get("_info") {
                    set_path(&mut replaced, "_info", info.clone());
                }
                if let (Some(field), Some(parent)) = (
                    &endpoint.parent,
                    at_path(old, endpoint.parent.as_deref().unwrap_or_default()),
                ) {
                    set_path(&mut replaced, field, parent.clone());
                }
                replaced
            }
            _ => return Answer::bad_request("A PUT body must be a JSON object."),
        };
        let mut errors = resolve_references(inner, endpoint, &mut updated);
        let changed = changed_fields(old, &updated);
        // Closing: a change to a closed status is governed by its own function.
        let closing = endpoint.close.as_ref().filter(|rule| {
            changed.iter().any(|f| f == &rule.status_field)
                && status_is_closed(inner, endpoint, &updated, rule)
        });
        let allowed = match closing {
            Some(rule) => {
                let close_ok = permits(self.level(&rule.function, Operation::Edit), owned);
                let only_status = changed
                    .iter()
                    .all(|f| f == &rule.status_field || f == "closedFlag");
                close_ok && (only_status || permits(level, owned))
            }
            None => permits(level, owned),
        };
        if !allowed || self.guard_write(endpoint, &changed, Operation::Edit) {
            return self.forbidden();
        }
        if self.method == "PUT" {
            errors.extend(
                endpoint
                    .required
                    .iter()
                    .filter(|f| at_path(&updated, f).is_none())
                    .map(|f| ValidationError {
                        code: "NullRequiredField".into(),
                        message: format!("{f} is required."),
                        resource: endpoint.noun.clone(),
                        field: f.clone(),
                    }),
            );
        }
        if !errors.is_empty() {
            return Answer::error(400, &ErrorBody::invalid_object(&endpoint.noun, errors));
        }
        derive_closed_flag(inner, endpoint, &mut updated);
        stamp(&mut updated, &self.member.identifier, false);
        inner.store.replace(&endpoint.collection, updated.clone());
        Answer::json(200, &self.guard_read(endpoint, updated))
    }

    fn special(&self, inner: &mut Inner, special: &Special, id: Option<i64>) -> Answer {
        let level = match (&special.function, special.operation) {
            (Some(function), Some(operation)) => self.level(function, operation.0),
            _ => Level::All,
        };
        if !level.grants_any() {
            return self.forbidden();
        }
        match special.handler {
            SpecialHandler::SystemInfo => Answer::json(200, &self.shared.fixtures.system_info),
            SpecialHandler::MySecurity => Answer::json(200, &self.my_security()),
            SpecialHandler::MyAccount => self.my_account(inner),
            SpecialHandler::SecurityRoles => {
                Answer::json(200, &Value::Array(security_roles(inner)))
            }
            SpecialHandler::SecurityRoleSettings => {
                let position = id
                    .and_then(|id| usize::try_from(id).ok())
                    .and_then(|id| id.checked_sub(1));
                match position.and_then(|p| inner.members.get(p)) {
                    Some(member) => Answer::json(200, &self.settings_of(member, None)),
                    None => Answer::not_found(format!(
                        "Security Role {} not found",
                        id.unwrap_or_default()
                    )),
                }
            }
            SpecialHandler::MergeTickets => self.merge(inner, id.unwrap_or_default()),
            SpecialHandler::UploadDocument => self.upload(inner),
        }
    }

    fn settings_of(&self, member: &ApiMember, with_member: Option<&Value>) -> Value {
        let functions = &self.shared.fixtures.permissions.functions;
        Value::Array(
            functions
                .iter()
                .enumerate()
                .map(|(index, function)| {
                    let levels = member.role.levels(function);
                    let mut setting = json!({
                        "id": index + 1,
                        "addLevel": levels.add.as_str(),
                        "editLevel": levels.edit.as_str(),
                        "deleteLevel": levels.delete.as_str(),
                        "inquireLevel": levels.inquire.as_str(),
                        "moduleFunctionName": function.function,
                        "moduleFunctionIdentifier": function.function.replace([' ', '-', '/', '&'], ""),
                        "moduleName": function.module,
                        "moduleIdentifier": function.module.replace([' ', '&'], ""),
                        "myAllFlag": true,
                        "sortOrder": index + 1,
                    });
                    if let (Some(reference), Value::Object(map)) = (with_member, &mut setting) {
                        map.insert("member".into(), reference.clone());
                    }
                    setting
                })
                .collect(),
        )
    }

    fn my_security(&self) -> Value {
        self.settings_of(
            self.member,
            Some(&json!({"identifier": self.member.identifier})),
        )
    }

    fn my_account(&self, inner: &mut Inner) -> Answer {
        let Some(record) = inner
            .store
            .find_by("members", "identifier", &self.member.identifier)
            .cloned()
        else {
            return Answer::not_found(format!("Member {} not found", self.member.identifier));
        };
        if self.method == "GET" {
            return Answer::json(200, &record);
        }
        let body = match self.json_body() {
            Ok(Value::Array(operations)) => operations,
            Ok(_) => {
                return Answer::bad_request("A PATCH body must be a JSON array of operations.");
            }
            Err(answer) => return answer,
        };
        match apply_patch(&record, body) {
            Ok(mut updated) => {
                stamp(&mut updated, &self.member.identifier, false);
                inner.store.replace("members", updated.clone());
                Answer::json(200, &updated)
            }
            Err(answer) => answer,
        }
    }

    fn merge(&self, inner: &mut Inner, parent: i64) -> Answer {
        let body = match self.json_body() {
            Ok(body) => body,
            Err(answer) => return answer,
        };
        let Some(ids) = body.get("mergeTicketIds").and_then(Value::as_array) else {
            return Answer::error(
                400,
                &ErrorBody::invalid_object(
                    "ticketMerge",
                    vec![ValidationError {
                        code: "NullRequiredField".into(),
                        message: "mergeTicketIds is required.".into(),
                        resource: "ticketMerge".into(),
                        field: "mergeTicketIds".into(),
                    }],
                ),
            );
        };
        let Some(parent_record) = inner.store.get("tickets", parent).cloned() else {
            return Answer::not_found(format!("Ticket {parent} not found"));
        };
        let ids: Vec<i64> = ids.iter().filter_map(Value::as_i64).collect();
        if let Some(missing) = ids
            .iter()
            .find(|id| inner.store.get("tickets", **id).is_none())
        {
            return Answer::not_found(format!("Ticket {missing} not found"));
        }
        let parent_ref = json!({"id": parent, "summary": parent_record.get("summary").cloned().unwrap_or(Value::Null)});
        for id in &ids {
            if let Some(mut child) = inner.store.get("tickets", *id).cloned() {
                set_path(&mut child, "mergedParentTicket", parent_ref.clone());
                set_path(&mut child, "closedFlag", Value::Bool(true));
                if let Some(status) = body.get("status") {
                    set_path(&mut child, "status", status.clone());
                }
                stamp(&mut child, &self.member.identifier, false);
                inner.store.replace("tickets", child);
            }
        }
        let mut updated = parent_record;
        set_path(&mut updated, "hasMergedChildTicketFlag", Value::Bool(true));
        stamp(&mut updated, &self.member.identifier, false);
        inner.store.replace("tickets", updated);
        Answer::json(
            200,
            &json!({"success": true, "message": format!("Merged {} ticket(s) into ticket {parent}", ids.len())}),
        )
    }

    fn upload(&self, inner: &mut Inner) -> Answer {
        let content_type = self
            .request
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        let Some(boundary) = content_type
            .split(';')
            .map(str::trim)
            .find_map(|p| strip_prefix_ignore_case(p, "boundary="))
            .filter(|_| {
                content_type
                    .to_ascii_lowercase()
                    .starts_with("multipart/form-data")
            })
        else {
            return Answer::error(
                415,
                &ErrorBody::new(
                    "UnsupportedMediaType",
                    "Documents must be uploaded as multipart/form-data.",
                ),
            );
        };
        let parts = match parse_multipart(&self.request.body, boundary.trim_matches('"')) {
            Ok(parts) => parts,
            Err(message) => return Answer::bad_request(message),
        };
        let field = |name: &str| parts.iter().find(|p| p.name == name);
        let Some(file) = field("file").filter(|p| p.filename.is_some()) else {
            return Answer::error(
                400,
                &ErrorBody::invalid_object(
                    "document",
                    vec![ValidationError {
                        code: "NullRequiredField".into(),
                        message: "file is required.".into(),
                        resource: "document".into(),
                        field: "file".into(),
                    }],
                ),
            );
        };
        let text = |name: &str| field(name).map(|p| String::from_utf8_lossy(&p.data).into_owned());
        let record_type = text("recordType").unwrap_or_default();
        let record_id: i64 = text("recordId")
            .and_then(|t| t.trim().parse().ok())
            .unwrap_or_default();
        let file_name = file.filename.clone().unwrap_or_default();
        let mut record = json!({
            "title": text("title").unwrap_or_else(|| file_name.clone()),
            "fileName": file_name,
            "serverFileName": file_name,
            "owner": self.member.identifier,
            "linkFlag": false,
            "imageFlag": false,
            "publicFlag": text("publicFlag").is_some_and(|t| t.eq_ignore_ascii_case("true")),
            "readOnlyFlag": false,
            "size": file.data.len(),
            "urlFlag": false,
            "recordType": record_type,
            "recordId": record_id,
        });
        stamp(&mut record, &self.member.identifier, true);
        let id = inner.store.insert("documents", record);
        Answer::json(
            201,
            inner.store.get("documents", id).unwrap_or(&Value::Null),
        )
    }
}

struct Part {
    name: String,
    filename: Option<String>,
    data: Vec<u8>,
}

/// A small multipart/form-data reader: enough for ConnectWise's document upload.
fn parse_multipart(body: &[u8], boundary: &str) -> Result<Vec<Part>, String> {
    let delimiter = format!("--{boundary}");
    let text = body;
    let mut parts = Vec::new();
    let positions: Vec<usize> = find_all(text, delimiter.as_bytes());
    if positions.is_empty() {
        return Err("The multipart body has no part with the declared boundary.".into());
    }
    for window in positions.windows(2) {
        let start = window[0] + delimiter.len();
        let chunk = &text[start..window[1]];
        let chunk = chunk.strip_prefix(b"\r\n").unwrap_or(chunk);
        let Some(split) = find_all(chunk, b"\r\n\r\n").first().copied() else {
            return Err("A multipart part has no header block.".into());
        };
        let headers = String::from_utf8_lossy(&chunk[..split]);
        let mut data = chunk[split + 4..].to_vec();
        if data.ends_with(b"\r\n") {
            data.truncate(data.len() - 2);
        }
        let disposition = headers
            .lines()
            .find(|l| l.to_ascii_lowercase().starts_with("content-disposition"))
            .unwrap_or_default();
        let attribute = |key: &str| {
            disposition
                .split(';')
                .map(str::trim)
                .find_map(|p| p.strip_prefix(key))
                .map(|v| v.trim_matches('"').to_owned())
        };
        let Some(name) = attribute("name=") else {
            return Err("A multipart part has no name.".into());
        };
        parts.push(Part {
            name,
            filename: attribute("filename="),
            data,
        });
    }
    Ok(parts)
}

fn find_all(haystack: &[u8], needle: &[u8]) -> Vec<usize> {
    if needle.is_empty() || haystack.len() < needle.len() {
        return Vec::new();
    }
    (0..=haystack.len() - needle.len())
        .filter(|&i| &haystack[i..i + needle.len()] == needle)
        .collect()
}

fn security_roles(inner: &Inner) -> Vec<Value> {
    inner
        .members
        .iter()
        .enumerate()
        .map(|(index, member)| {
            json!({
                "id": index + 1,
                "name": member.role.name,
                "roleType": "Corporate",
                "adminFlag": false,
                "inactiveFlag": false,
            })
        })
        .collect()
}

fn number_param(request: &Request, name: &str) -> Result<Option<usize>, Answer> {
    match query_param(request, name) {
        None => Ok(None),
        Some(text) => text.trim().parse().map(Some).map_err(|_| {
            Answer::bad_request(format!(
                "Invalid {name} \"{text}\": expected a whole number."
            ))
        }),
    }
}

fn parent_matches(endpoint: &Endpoint, record: &Value, parent_id: Option<i64>) -> bool {
    match (&endpoint.parent, parent_id) {
        (Some(field), Some(id)) => at_path(record, field).and_then(Value::as_i64) == Some(id),
        _ => true,
    }
}

fn capitalise(noun: &str) -> String {
    let mut chars = noun.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().collect::<String>() + chars.as_str())
        .unwrap_or_default()
}

/// A reference object for a record: `{id, identifier?, name?}`.
fn reference_of(record: &Value) -> Value {
    let mut reference = Map::new();
    for key in ["id", "identifier", "name"] {
        if let Some(value) = record.get(key) {
            reference.insert(key.into(), value.clone());
        }
    }
    if !reference.contains_key("name")
        && let (Some(first), Some(last)) = (
            record.get("firstName").and_then(Value::as_str),
            record.get("lastName").and_then(Value::as_str),
        )
    {
        reference.insert("name".into(), Value::from(format!("{first} {last}")));
    }
    Value::Object(reference)
}

/// Checks each reference field of a record and replaces it with the canonical reference.
fn resolve_references(
    inner: &Inner,
    endpoint: &Endpoint,
    record: &mut Value,
) -> Vec<ValidationError> {
    let mut errors = Vec::new();
    for (field, reference) in &endpoint.references {
        let Some(given) = record.get(field).filter(|v| !v.is_null()).cloned() else {
            continue;
        };
        let within = reference.within.as_ref().and_then(|w| {
            record
                .get(w)
                .and_then(|v| v.get("id"))
                .and_then(Value::as_i64)
                .map(|id| (w, id))
        });
        let in_scope = |target: &Value| match within {
            Some((w, id)) => {
                at_path(target, &format!("{w}/id")).and_then(Value::as_i64) == Some(id)
            }
            None => true,
        };
        // Names repeat across parents (every board has a "New" status): look a name or
        // identifier up among the records of the same parent only.
        let find_by = |field: &str, value: &str| {
            inner.store.all(&reference.collection).iter().find(|r| {
                in_scope(r)
                    && r.get(field)
                        .and_then(Value::as_str)
                        .is_some_and(|v| v.eq_ignore_ascii_case(value))
            })
        };
        let found = match &given {
            Value::Object(map) => {
                if let Some(id) = map.get("id").and_then(Value::as_i64) {
                    inner.store.get(&reference.collection, id)
                } else if let Some(identifier) = map.get("identifier").and_then(Value::as_str) {
                    find_by("identifier", identifier)
                } else {
                    map.get("name")
                        .and_then(Value::as_str)
                        .and_then(|n| find_by("name", n))
                }
            }
            Value::Number(n) => n
                .as_i64()
                .and_then(|id| inner.store.get(&reference.collection, id)),
            _ => None,
        };
        let found = found.filter(|target| in_scope(target));
        if let Some(target) = found {
            let canonical = reference_of(target);
            set_path(record, field, canonical);
        } else {
            let shown = given
                .get("id")
                .or_else(|| given.get("identifier"))
                .or_else(|| given.get("name"))
                .map_or_else(
                    || given.to_string(),
                    |v| v.to_string().trim_matches('"').to_owned(),
                );
            let message = match within {
                Some((w, id)) => format!(
                    "{} {shown} not found for {} {id}",
                    reference.noun,
                    endpoint
                        .references
                        .get(w.as_str())
                        .map_or(w.as_str(), |r| r.noun.as_str())
                ),
                None => format!("{} {shown} not found", reference.noun),
            };
            errors.push(ValidationError {
                code: "NotFound".into(),
                message,
                resource: endpoint.noun.clone(),
                field: format!("{field}/id"),
            });
        }
    }
    errors
}

fn status_is_closed(
    inner: &Inner,
    endpoint: &Endpoint,
    record: &Value,
    rule: &crate::connectwise::security::CloseRule,
) -> bool {
    let Some(reference) = endpoint.references.get(&rule.status_field) else {
        return false;
    };
    record
        .get(&rule.status_field)
        .and_then(|s| s.get("id"))
        .and_then(Value::as_i64)
        .and_then(|id| inner.store.get(&reference.collection, id))
        .and_then(|status| status.get(&rule.closed_flag))
        .and_then(Value::as_bool)
        .unwrap_or(false)
}

/// ConnectWise sets `closedFlag` from the status.
fn derive_closed_flag(inner: &Inner, endpoint: &Endpoint, record: &mut Value) {
    if let Some(rule) = &endpoint.close
        && record.get(&rule.status_field).is_some()
    {
        let closed = status_is_closed(inner, endpoint, record, rule);
        set_path(record, "closedFlag", Value::Bool(closed));
    }
}

fn changed_fields(old: &Value, new: &Value) -> Vec<String> {
    let empty = Map::new();
    let old = old.as_object().unwrap_or(&empty);
    let new = new.as_object().unwrap_or(&empty);
    let mut fields: Vec<String> = new
        .iter()
        .filter(|(k, v)| k.as_str() != "_info" && old.get(*k) != Some(*v))
        .map(|(k, _)| k.clone())
        .collect();
    fields.extend(
        old.keys()
            .filter(|k| !new.contains_key(*k) && k.as_str() != "_info")
            .cloned(),
    );
    fields
}

/// Applies ConnectWise's PATCH body: RFC 6902 operations whose paths are bare field
/// names (`summary`, `status/id`).
fn apply_patch(record: &Value, operations: Vec<Value>) -> Result<Value, Answer> {
    let mut normalised = Vec::with_capacity(operations.len());
    for (index, mut operation) in operations.into_iter().enumerate() {
        let Some(map) = operation.as_object_mut() else {
            return Err(Answer::bad_request(format!(
                "Patch operation {index} is not an object."
            )));
        };
        let op = map
            .get("op")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_ascii_lowercase();
        if !["add", "replace", "remove"].contains(&op.as_str()) {
            return Err(Answer::bad_request(format!(
                "Patch operation {index}: unsupported op {} (expected add, replace or remove).",
                map.get("op").cloned().unwrap_or(Value::Null)
            )));
        }
        map.insert("op".into(), Value::from(op));
        let Some(path) = map.get("path").and_then(Value::as_str) else {
            return Err(Answer::bad_request(format!(
                "Patch operation {index} has no path."
            )));
        };
        let pointer = format!("/{}", path.trim_start_matches('/'));
        map.insert("path".into(), Value::from(pointer));
        normalised.push(operation);
    }
    let patch: json_patch::Patch = serde_json::from_value(Value::Array(normalised))
        .map_err(|e| Answer::bad_request(format!("Invalid patch: {e}.")))?;
    let mut updated = record.clone();
    json_patch::patch(&mut updated, &patch)
        .map_err(|e| Answer::bad_request(format!("Patch could not be applied: {e}.")))?;
    Ok(updated)
}

/// Sets a value at a `/`-separated path, creating objects on the way.
fn set_path(record: &mut Value, path: &str, value: Value) {
    let mut current = record;
    let mut keys = path.split('/').peekable();
    while let Some(key) = keys.next() {
        if !current.is_object() {
            *current = Value::Object(Map::new());
        }
        let Value::Object(map) = current else { return };
        if keys.peek().is_none() {
            map.insert(key.to_owned(), value);
            return;
        }
        current = map
            .entry(key.to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
    }
}

fn stamp(record: &mut Value, member: &str, created: bool) {
    let now = now_utc();
    set_path(record, "_info/lastUpdated", Value::from(now.clone()));
    set_path(record, "_info/updatedBy", Value::from(member));
    if created {
        set_path(record, "_info/dateEntered", Value::from(now));
        set_path(record, "_info/enteredBy", Value::from(member));
    }
}

/// The current time as ConnectWise writes it (`2026-11-23T16:04:09Z`).
fn now_utc() -> String {
    let seconds = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let days = i64::try_from(seconds / 86_400).unwrap_or(0);
    let rest = seconds % 86_400;
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_api_path_whatever_the_codebase() {
        assert_eq!(
            api_path("/v4_6_release/apis/3.0/service/tickets"),
            Some("/service/tickets")
        );
        assert_eq!(
            api_path("/v2025_1/APIS/3.0/company/companies"),
            Some("/company/companies")
        );
        assert_eq!(api_path("/other"), None);
    }

    #[test]
    fn patch_paths_are_bare_field_names() {
        let record = json!({"id": 1, "summary": "old", "status": {"id": 1}});
        let updated = apply_patch(
            &record,
            vec![json!({"op": "replace", "path": "summary", "value": "new"})],
        )
        .unwrap();
        assert_eq!(updated["summary"], "new");
        assert!(apply_patch(&record, vec![json!({"op": "move", "path": "summary"})]).is_err());
    }

    #[test]
    fn the_clock_prints_connectwise_datetimes() {
        let now = now_utc();
        assert_eq!(now.len(), 20, "{now}");
        assert!(now.ends_with('Z') && now.as_bytes()[10] == b'T', "{now}");
    }

    #[test]
    fn reads_multipart_parts() {
        let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"recordId\"\r\n\r\n1001\r\n--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"log.txt\"\r\nContent-Type: text/plain\r\n\r\nhello\r\n--XyZ--\r\n";
        let parts = parse_multipart(body, "XyZ").unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[1].filename.as_deref(), Some("log.txt"));
        assert_eq!(parts[1].data, b"hello");
    }
}
