//! Reading and changing the records of a collection endpoint: lists with conditions,
//! paging and `Link`, one record, create, edit (PATCH and PUT) and delete, each checked
//! against the member's level (`My` by ownership) and the field guards.
//!
//! As ConnectWise does: a child collection of a missing parent is a 404 naming the parent;
//! a delete takes the record's children (found through the endpoint model's `parent`)
//! with it; a new record gets the endpoint's `defaults` and `default_references`; a
//! `unique` field may not repeat another record's value; a `conditions` field unknown to
//! the collection is a 400 (the `unknown_condition_field` setting).

use serde_json::{Value, json};
use url::{Position, Url};

use super::super::Inner;
use super::super::query::{Conditions, Fields, OrderBy};
use super::super::store::{Stored, at_path, record_id};
use crate::connectwise::error::{ErrorBody, ValidationError};
use crate::connectwise::security::{
    Endpoint, PageSizeAboveMax, Target, UnknownConditionField, operation_for_method,
};
use crate::model::{Level, Operation};

use super::answer::{Answer, Shown};
use super::records::{
    apply_patch, changed_fields, default_references, derive_closed_flag, resolve_references,
    set_path, stamp, status_is_closed,
};
use super::{Call, paging_param, permits, query_param};

impl Call<'_> {
    pub(super) fn collection(
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
        let level = match operation {
            // A setup table may be readable without its function (`setup_table_reads`).
            Operation::Inquire => self.shared.fixtures.permissions.inquire_level(
                endpoint,
                self.shared.fixtures.permissions.settings.setup_table_reads,
                &self.member.role,
            ),
            _ => self.level(&endpoint.function, operation),
        };
        // An endpoint that is one item of its function's Customize allow-list (a setup
        // table) is refused to a role limited to other items, where the function decides.
        let decided_by_function = operation != Operation::Inquire
            || self
                .shared
                .fixtures
                .permissions
                .inquire_function(endpoint)
                .is_some_and(|f| f == &endpoint.function);
        if decided_by_function
            && endpoint.customize_item.is_some()
            && self.outside_allow_list(endpoint, None)
        {
            return self.forbidden();
        }
        // A child collection of a record that does not exist is not found, whatever the
        // request (ConnectWise: "Ticket 99999 not found").
        if level.grants_any()
            && let (Some(parent), Some(parent_id)) = (
                self.shared.fixtures.permissions.parent_of(endpoint),
                parent_id,
            )
            && inner.store.get(&parent.collection, parent_id).is_none()
        {
            return Answer::not_found(format!(
                "{} {parent_id} not found",
                capitalise(&parent.noun)
            ));
        }
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
                        endpoint.by_identifier.as_deref().and_then(|field| {
                            inner.store.find_by(&endpoint.collection, field, identifier)
                        })
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
                // A record outside the role's Customize allow-list is not there for it,
                // and may not be written.
                if self.outside_allow_list(endpoint, Some(&record)) {
                    if operation == Operation::Inquire {
                        return Answer::not_found(format!(
                            "{} {} not found",
                            capitalise(&endpoint.noun),
                            record_id(&record).unwrap_or_default()
                        ));
                    }
                    return self.forbidden();
                }
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
                            self.remove_children(inner, &endpoint.collection, id);
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

    /// Removes the records whose parent was record `id` of `collection` (a ticket's notes,
    /// tasks, time entries and documents), and theirs in turn: children go with their
    /// parent. Children are found through the endpoint model's `parent` field.
    fn remove_children(&self, inner: &mut Inner, collection: &str, id: i64) {
        let permissions = &self.shared.fixtures.permissions;
        for child in permissions.endpoints.iter().filter(|e| {
            permissions
                .parent_of(e)
                .is_some_and(|p| p.collection == collection)
        }) {
            let doomed: Vec<i64> = inner
                .store
                .all(&child.collection)
                .iter()
                .filter(|r| child.is_child_of(r, id))
                .filter_map(|r| record_id(r))
                .collect();
            for child_id in doomed {
                if inner.store.remove(&child.collection, child_id).is_some() {
                    self.remove_children(inner, &child.collection, child_id);
                }
            }
        }
    }

    /// The `conditions` and `childConditions` of the request, aliases resolved; a syntax
    /// error or a field unknown to the collection is a 400.
    fn conditions(&self, inner: &Inner, endpoint: &Endpoint) -> Result<Vec<Conditions>, Answer> {
        let settings = &self.shared.fixtures.permissions.settings;
        let every = inner.store.all(&endpoint.collection);
        let declared = endpoint.declared_fields();
        let mut parsed = Vec::new();
        for name in ["conditions", "childConditions"] {
            let Some(text) = query_param(self.request, name).filter(|t| !t.trim().is_empty())
            else {
                continue;
            };
            let conditions = Conditions::parse(&text)
                .map_err(|e| Answer::bad_request(format!("Invalid {name}: {e}")))?
                .with_aliases(&settings.condition_aliases, every);
            if settings.unknown_condition_field == UnknownConditionField::Reject
                && let Some(field) = conditions.unknown_fields(every, &declared).first()
            {
                return Err(Answer::bad_request(format!(
                    "Invalid {name}: unknown field \"{field}\" for {}.",
                    endpoint.noun
                )));
            }
            parsed.push(conditions);
        }
        Ok(parsed)
    }

    pub(super) fn fields(&self) -> Result<Option<Fields>, Answer> {
        match query_param(self.request, "fields") {
            Some(text) if !text.trim().is_empty() => Fields::parse(&text)
                .map(Some)
                .map_err(|e| Answer::bad_request(format!("Invalid fields: {e}"))),
            _ => Ok(None),
        }
    }

    /// Whether the member's role is limited to other items of the Customize allow-list of
    /// the endpoint's function than the endpoint's own item (a setup table) or, given a
    /// record, than the item its [`customize_fields`] field names (a configuration type).
    /// A role without a limit for the function allows every item.
    ///
    /// [`customize_fields`]: crate::connectwise::security::PermissionMap::customize_fields
    pub(super) fn outside_allow_list(&self, endpoint: &Endpoint, record: Option<&Value>) -> bool {
        let role = &self.member.role;
        let function = &endpoint.function;
        if role.allowed_items(function).is_none() {
            return false;
        }
        if let Some(item) = &endpoint.customize_item {
            return !role.allows_item(function, item);
        }
        let field = self
            .shared
            .fixtures
            .permissions
            .customize_fields
            .get(function);
        match (field, record) {
            (Some(field), Some(record)) => !at_path(record, field)
                .and_then(Value::as_str)
                .is_some_and(|item| role.allows_item(function, item)),
            _ => false,
        }
    }

    /// The field guards of this endpoint's collection.
    fn field_guards<'e>(
        &self,
        endpoint: &'e Endpoint,
    ) -> impl Iterator<Item = &crate::connectwise::security::FieldGuard> + use<'_, 'e> {
        self.shared
            .fixtures
            .permissions
            .field_guards
            .iter()
            .filter(|g| g.collection == endpoint.collection)
    }

    /// Hides the fields guarded by a function the member cannot inquire on.
    pub(super) fn guard_read(&self, endpoint: &Endpoint, mut record: Value) -> Value {
        for guard in self.field_guards(endpoint) {
            if !self.level(&guard.function, Operation::Inquire).grants_any()
                && let Value::Object(map) = &mut record
            {
                for field in &guard.fields {
                    map.shift_remove(field);
                }
            }
        }
        record
    }

    /// Whether [`guard_read`](Self::guard_read) may hide fields of this endpoint's records
    /// from the member.
    fn hides_fields(&self, endpoint: &Endpoint) -> bool {
        self.field_guards(endpoint)
            .any(|guard| !self.level(&guard.function, Operation::Inquire).grants_any())
    }

    /// Whether writing these fields needs a guard function the member lacks.
    pub(super) fn guard_write(
        &self,
        endpoint: &Endpoint,
        fields: &[String],
        operation: Operation,
    ) -> bool {
        self.field_guards(endpoint).any(|guard| {
            fields.iter().any(|f| guard.fields.contains(f))
                && !self.level(&guard.function, operation).grants_any()
        })
    }

    pub(super) fn list(
        &self,
        inner: &Inner,
        endpoint: &Endpoint,
        parent_id: Option<i64>,
        level: Level,
        count: bool,
    ) -> Answer {
        let conditions = match self.conditions(inner, endpoint) {
            Ok(c) => c,
            Err(answer) => return answer,
        };
        // Filtered, sorted and paged by reference: only the page returned is copied.
        let mut records: Vec<&Stored> = inner
            .store
            .all(&endpoint.collection)
            .iter()
            .map(AsRef::as_ref)
            .filter(|r| parent_matches(endpoint, r, parent_id))
            .filter(|r| level == Level::All || endpoint.is_owned_by(r, &self.member.identifier))
            .filter(|r| !self.outside_allow_list(endpoint, Some(r)))
            .filter(|r| conditions.iter().all(|c| c.matches(r)))
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
            let aliases = &self.shared.fixtures.permissions.settings.condition_aliases;
            match OrderBy::parse(&order) {
                Ok(order) => order
                    .with_aliases(aliases, inner.store.all(&endpoint.collection))
                    .sort(&mut records),
                Err(e) => return Answer::bad_request(format!("Invalid orderBy: {e}")),
            }
        }
        let page_size = match self.page_size() {
            Ok(size) => size,
            Err(answer) => return answer,
        };
        let fields = match self.fields() {
            Ok(f) => f,
            Err(answer) => return answer,
        };
        let (page_records, link) = if forward_only {
            let after = match paging_param(self.request, "pageId", 0) {
                Ok(id) => id.unwrap_or(0),
                Err(answer) => return answer,
            };
            records.sort_by_key(|r| record_id(r).unwrap_or(0));
            let rest: Vec<&Stored> = records
                .into_iter()
                .filter(|r| {
                    record_id(r).is_some_and(|id| id > i64::try_from(after).unwrap_or(i64::MAX))
                })
                .collect();
            let more = rest.len() > page_size;
            let page: Vec<&Stored> = rest.into_iter().take(page_size).collect();
            let link = match (more, page.last().and_then(|r| record_id(r))) {
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
            let lowest_page = self
                .shared
                .fixtures
                .permissions
                .settings
                .page_zero
                .lowest_page();
            // Page 0, where it is served, is the first page.
            let page = match paging_param(self.request, "page", lowest_page) {
                Ok(p) => p.unwrap_or(1).max(1),
                Err(answer) => return answer,
            };
            let last = records.len().div_ceil(page_size).max(1);
            let page_records: Vec<&Stored> = records
                .into_iter()
                .skip((page - 1).saturating_mul(page_size))
                .take(page_size)
                .collect();
            (
                page_records,
                Some(self.navigable_links(page, last, page_size)),
            )
        };
        // A record is copied only when it is projected or may lose guarded fields; the
        // others are written out as the store keeps them written.
        let hides = self.hides_fields(endpoint);
        let shown: Vec<Shown<'_>> = page_records
            .into_iter()
            .map(|r| match (&fields, hides) {
                (None, false) => Shown::Stored(r),
                (None, true) => Shown::Made(self.guard_read(endpoint, r.value().clone())),
                (Some(fields), _) => Shown::Made(self.guard_read(endpoint, fields.project(r))),
            })
            .collect();
        let mut answer = Answer::records(200, &shown);
        if let Some(link) = link {
            answer.headers.push(("link", link));
        }
        answer
    }

    /// The page size asked for (or the default), above the maximum capped or refused as
    /// the `page_size_above_max` setting says.
    fn page_size(&self) -> Result<usize, Answer> {
        let settings = &self.shared.fixtures.permissions.settings;
        let asked = paging_param(self.request, "pageSize", 1)?;
        match asked {
            None => Ok(settings.default_page_size),
            Some(size) if size <= settings.max_page_size => Ok(size),
            Some(size) => match settings.page_size_above_max {
                PageSizeAboveMax::Cap => Ok(settings.max_page_size),
                PageSizeAboveMax::Reject => Err(Answer::bad_request(format!(
                    "Invalid pageSize \"{size}\": at most {} records per page.",
                    settings.max_page_size
                ))),
            },
        }
    }

    pub(super) fn page_url(&self, paging: &[(&str, String)]) -> String {
        self.page_urls().with(paging)
    }

    /// The request's URL as `Link` addresses start: on the address the client used, with
    /// its query less the paging parameters.
    fn page_urls(&self) -> PageUrls {
        let mut url = self.request.url.clone();
        // The address the client used (wiremock's request URL says `localhost` without the
        // port), so a client that follows `Link` literally reaches this mock again. Read
        // only when it is not the address the URL already has.
        if let Some(host) = self
            .request
            .headers
            .get("host")
            .and_then(|h| h.to_str().ok())
            .filter(|h| *h != &url[Position::BeforeHost..Position::AfterPort])
            .and_then(|h| Url::parse(&format!("{}://{h}", url.scheme())).ok())
        {
            let _ = url.set_host(host.host_str());
            let _ = url.set_port(host.port());
        }
        let kept: Vec<(String, String)> = self
            .request
            .url
            .query_pairs()
            .filter(|(k, _)| {
                !["page", "pagesize", "pageid"].contains(&k.to_ascii_lowercase().as_str())
            })
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        PageUrls::new(url, &kept)
    }

    pub(super) fn navigable_links(&self, page: usize, last: usize, page_size: usize) -> String {
        let urls = self.page_urls();
        let link = |rel: &str, p: usize| {
            format!(
                "<{}>; rel=\"{rel}\"",
                urls.with(&[("pageSize", page_size.to_string()), ("page", p.to_string())])
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

    pub(super) fn create(
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
        for (field, value) in &endpoint.defaults {
            if record.get(field).is_none_or(Value::is_null) {
                set_path(&mut record, field, value.clone());
            }
        }
        // References first: the owner may be named by id (`{"id": 150}`), and ownership is
        // judged on the canonical reference.
        let reference_errors = resolve_references(inner, endpoint, &mut record);
        if reference_errors.is_empty() {
            default_references(
                inner,
                endpoint,
                &mut record,
                &self
                    .shared
                    .fixtures
                    .permissions
                    .settings
                    .default_references_always,
            );
        }
        if level == Level::My && !endpoint.is_owned_by(&record, &self.member.identifier) {
            return self.forbidden();
        }
        if self.outside_allow_list(endpoint, Some(&record)) {
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
        errors.extend(repeated_unique_fields(inner, endpoint, &record));
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

    pub(super) fn edit(
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
        let close_function = self.shared.fixtures.permissions.close_function(endpoint);
        let allowed = match (closing, close_function) {
            (Some(rule), Some(close_function)) => {
                let close_ok = permits(self.level(close_function, Operation::Edit), owned);
                let only_status = changed
                    .iter()
                    .all(|f| f == &rule.status_field || f == "closedFlag");
                close_ok && (only_status || permits(level, owned))
            }
            _ => permits(level, owned),
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
        errors.extend(repeated_unique_fields(inner, endpoint, &updated));
        if !errors.is_empty() {
            return Answer::error(400, &ErrorBody::invalid_object(&endpoint.noun, errors));
        }
        derive_closed_flag(inner, endpoint, &mut updated);
        stamp(&mut updated, &self.member.identifier, false);
        inner.store.replace(&endpoint.collection, updated.clone());
        Answer::json(200, &self.guard_read(endpoint, updated))
    }
}

pub(super) fn parent_matches(endpoint: &Endpoint, record: &Value, parent_id: Option<i64>) -> bool {
    parent_id.is_none_or(|id| endpoint.is_child_of(record, id))
}

pub(super) fn capitalise(noun: &str) -> String {
    let mut chars = noun.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().collect::<String>() + chars.as_str())
        .unwrap_or_default()
}

/// The `unique` fields of `record` that another record of the collection already has,
/// as `ObjectExists` errors.
fn repeated_unique_fields(
    inner: &Inner,
    endpoint: &Endpoint,
    record: &Value,
) -> Vec<ValidationError> {
    let own_id = record_id(record);
    endpoint
        .unique
        .iter()
        .filter_map(|field| {
            let value = at_path(record, field).filter(|v| !v.is_null())?;
            let same = |other: &Value| match (other, value) {
                (Value::String(a), Value::String(b)) => a.eq_ignore_ascii_case(b),
                (a, b) => a == b,
            };
            let taken =
                inner.store.all(&endpoint.collection).iter().any(|other| {
                    record_id(other) != own_id && at_path(other, field).is_some_and(same)
                });
            taken.then(|| ValidationError {
                code: "ObjectExists".into(),
                message: format!(
                    "{} {field} {} already in use.",
                    capitalise(&endpoint.noun),
                    value
                        .as_str()
                        .map_or_else(|| value.to_string(), str::to_owned)
                ),
                resource: endpoint.noun.clone(),
                field: field.clone(),
            })
        })
        .collect()
}

/// The start of a list's `Link` addresses, made once per answer.
struct PageUrls {
    /// The address with the query the pages share, ending where the paging parameters
    /// begin (after `?` or `&`).
    base: String,
}

impl PageUrls {
    /// Page addresses at `url` with the query `kept` (any query `url` has is replaced),
    /// written once: each page's address is this, then its paging parameters.
    fn new(mut url: Url, kept: &[(String, String)]) -> Self {
        url.query_pairs_mut().clear().extend_pairs(kept);
        let joint = if kept.is_empty() { "" } else { "&" };
        PageUrls {
            base: format!("{url}{joint}"),
        }
    }

    /// The address of one page: the base with the paging parameters last, as ConnectWise
    /// puts them (some clients rely on it), encoded as the rest of the query is.
    fn with(&self, paging: &[(&str, String)]) -> String {
        let start = self.base.len();
        url::form_urlencoded::Serializer::for_suffix(self.base.clone(), start)
            .extend_pairs(paging)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each page's address is what `url` writes for the base with the paging parameters
    /// appended, byte for byte.
    #[test]
    fn a_page_address_is_the_base_and_its_paging_as_url_writes_them() {
        let kept = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect()
        };
        let cases = [
            (
                "http://127.0.0.1:8080/v4_6_release/apis/3.0/company/companies",
                kept(&[]),
            ),
            (
                "http://localhost:1/v4_6_release/apis/3.0/company/companies?page=3",
                kept(&[
                    ("conditions", "name like \"A&B%\" and id > 3"),
                    ("orderBy", "id desc"),
                ]),
            ),
            (
                "http://h/apis/3.0/service/tickets?x=1",
                kept(&[
                    ("fields", "id,summary"),
                    ("customFieldConditions", "caption = 'é'"),
                ]),
            ),
        ];
        for (address, kept) in cases {
            let url = Url::parse(address).unwrap();
            let paging = [("pageSize", "25".to_owned()), ("page", "2".to_owned())];
            let mut expected = url.clone();
            expected.query_pairs_mut().clear().extend_pairs(&kept);
            expected.query_pairs_mut().extend_pairs(&paging);
            assert_eq!(
                PageUrls::new(url, &kept).with(&paging),
                String::from(expected),
                "{address}"
            );
        }
    }
}
