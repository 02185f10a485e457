//! Endpoints that are not plain CRUD: system info, the caller's security settings and
//! account, security roles, ticket merge and multipart document upload.

use serde_json::{Value, json};

use super::super::Inner;
use crate::connectwise::error::{ErrorBody, ValidationError};
use crate::connectwise::security::{Route, Special, SpecialHandler, Target};
use crate::model::{Level, Operation, SecurityRole};

use super::answer::Answer;
use super::records::{apply_patch, resolve_references, set_path, stamp};
use super::{Call, Request, strip_prefix_ignore_case};

impl Call<'_> {
    pub(super) fn special(&self, inner: &mut Inner, special: &Special, id: Option<i64>) -> Answer {
        let level = match (&special.function, special.operation) {
            (Some(function), Some(operation)) => self.level(function, operation.0),
            _ => Level::All,
        };
        if !level.grants_any() {
            return self.forbidden();
        }
        match special.handler {
            SpecialHandler::SystemInfo => Answer::json(200, &self.shared.fixtures.system_info),
            SpecialHandler::MySecurity => Answer::json(200, &self.my_security(inner)),
            SpecialHandler::MyAccount => self.my_account(inner),
            SpecialHandler::MySecurityCustomizeItems => {
                Answer::json(200, &self.customize_items(&self.member.role))
            }
            SpecialHandler::SecurityRoles => Answer::json(
                200,
                &Value::Array(
                    security_roles(inner)
                        .iter()
                        .map(|(id, role)| role_record(*id, role))
                        .collect(),
                ),
            ),
            SpecialHandler::SecurityRole | SpecialHandler::SecurityRoleSettings => {
                let id = id.unwrap_or_default();
                let roles = security_roles(inner);
                match roles.iter().find(|(role_id, _)| *role_id == id) {
                    Some((id, role)) if special.handler == SpecialHandler::SecurityRole => {
                        Answer::json(200, &role_record(*id, role))
                    }
                    Some((id, role)) => Answer::json(200, &self.settings_of(*id, role, None)),
                    None => Answer::not_found(format!("Security Role {id} not found")),
                }
            }
            SpecialHandler::MergeTickets => self.merge(inner, id.unwrap_or_default()),
            SpecialHandler::UploadDocument => self.upload(inner),
            SpecialHandler::Search => self.search(inner, special, level),
        }
    }

    /// A role's settings, one per function the mock knows: each setting has an id of its
    /// own within the role (UNCERTAIN: ConnectWise's numbering is not known; the mock
    /// keeps them apart across roles), `myAllFlag` where the function offers `My`, and
    /// `customFlag` where it has a Customize allow-list.
    pub(super) fn settings_of(
        &self,
        role_id: i64,
        role: &SecurityRole,
        with_member: Option<&Value>,
    ) -> Value {
        let permissions = &self.shared.fixtures.permissions;
        Value::Array(
            permissions
                .functions
                .iter()
                .zip(1_i64..)
                .map(|(function, position)| {
                    let levels = role.levels(function);
                    let mut setting = json!({
                        "id": role_id * 1000 + position,
                        "addLevel": levels.add.as_str(),
                        "editLevel": levels.edit.as_str(),
                        "deleteLevel": levels.delete.as_str(),
                        "inquireLevel": levels.inquire.as_str(),
                        "moduleFunctionName": function.function,
                        "moduleFunctionIdentifier": function.identifier(),
                        "moduleName": function.module,
                        "moduleIdentifier": function.module.replace([' ', '&'], ""),
                        "myAllFlag": permissions.offers_my(function),
                        "customFlag": permissions.customize.contains_key(function),
                        "reportFlag": false,
                        "restrictFlag": false,
                        "sortOrder": position,
                    });
                    if let (Some(reference), Value::Object(map)) = (with_member, &mut setting) {
                        map.insert("member".into(), reference.clone());
                    }
                    setting
                })
                .collect(),
        )
    }

    pub(super) fn my_security(&self, inner: &Inner) -> Value {
        let role_id = security_roles(inner)
            .iter()
            .find(|(_, role)| *role == &self.member.role)
            .map_or(0, |(id, _)| *id);
        self.settings_of(
            role_id,
            &self.member.role,
            Some(&json!({"identifier": self.member.identifier})),
        )
    }

    /// The Customize allow-lists of a role: for each function with one that the role
    /// grants at any level, the items it allows (those its role file limits it to, else
    /// every item of the function).
    fn customize_items(&self, role: &SecurityRole) -> Value {
        let permissions = &self.shared.fixtures.permissions;
        let items = permissions
            .customize
            .iter()
            .filter(|(function, _)| {
                let levels = role.levels(function);
                Operation::ALL
                    .into_iter()
                    .any(|operation| levels.get(operation).grants_any())
            })
            .flat_map(|(function, items)| {
                // A role limited to some items allows those; else every item.
                let allowed = role.allowed_items(function).unwrap_or(items);
                allowed
                    .iter()
                    .map(move |item| (function.identifier(), item))
            })
            .zip(1_i64..)
            .map(|((customize, item), id)| {
                json!({"id": id, "customizeIdentifier": customize, "itemIdentifier": item})
            })
            .collect();
        Value::Array(items)
    }

    pub(super) fn my_account(&self, inner: &mut Inner) -> Answer {
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

    pub(super) fn merge(&self, inner: &mut Inner, parent: i64) -> Answer {
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
        // The status the merged tickets take is required (2025.8 `TicketMerge`), and must
        // be a status of the parent ticket's board.
        let status = match self.merge_status(inner, &body, &parent_record) {
            Ok(status) => status,
            Err(answer) => return answer,
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
                set_path(&mut child, "status", status.clone());
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

    /// The canonical reference of a merge's `status`, looked up on the parent's board.
    fn merge_status(&self, inner: &Inner, body: &Value, parent: &Value) -> Result<Value, Answer> {
        let invalid = |code: &str, message: String, field: &str| {
            Answer::error(
                400,
                &ErrorBody::invalid_object(
                    "ticketMerge",
                    vec![ValidationError {
                        code: code.into(),
                        message,
                        resource: "ticketMerge".into(),
                        field: field.into(),
                    }],
                ),
            )
        };
        let Some(given) = body.get("status").filter(|s| !s.is_null()) else {
            return Err(invalid(
                "NullRequiredField",
                "status is required.".into(),
                "status",
            ));
        };
        let Some(tickets) = self.shared.fixtures.permissions.endpoint_for("tickets") else {
            return Ok(given.clone());
        };
        let mut probe = json!({
            "board": parent.get("board").cloned().unwrap_or(Value::Null),
            "status": given,
        });
        match resolve_references(inner, tickets, &mut probe)
            .into_iter()
            .next()
        {
            None => Ok(probe["status"].clone()),
            Some(error) => Err(invalid(&error.code, error.message, &error.field)),
        }
    }

    /// `POST …/search`: the collection's list, with the query parameters taken from the
    /// JSON body (`{"conditions": "…", "orderBy": "…", "page": 2, "pageSize": 50}`).
    fn search(&self, inner: &Inner, special: &Special, level: Level) -> Answer {
        let body = match self.json_body() {
            Ok(Value::Object(map)) => map,
            Ok(_) => return Answer::bad_request("The request body must be a JSON object."),
            Err(answer) => return answer,
        };
        let collection_path = special.path.trim_end_matches("/search");
        let Some(Route::Collection {
            endpoint,
            target: Target::Collection,
            ..
        }) = self
            .shared
            .fixtures
            .permissions
            .route(collection_path, "GET")
        else {
            return Answer::not_found(format!(
                "The requested resource {} was not found.",
                special.path
            ));
        };
        let mut url = self.request.url.clone();
        // The links of the answer point at the collection's GET list with the same query.
        let full = self.request.url.path();
        let collection_url_path = full
            .get(..full.len().saturating_sub("/search".len()))
            .unwrap_or(full)
            .to_owned();
        url.set_path(&collection_url_path);
        {
            let mut pairs = url.query_pairs_mut();
            for (name, value) in &body {
                let text = match value {
                    Value::String(text) => text.clone(),
                    Value::Null => continue,
                    other => other.to_string(),
                };
                pairs.append_pair(name, &text);
            }
        }
        let request = Request {
            method: "GET",
            url: &url,
            headers: self.request.headers,
            body: &[],
        };
        let call = Call {
            shared: self.shared,
            member: self.member,
            request: &request,
            method: "GET",
        };
        call.list(inner, endpoint, None, level, false)
    }

    pub(super) fn upload(&self, inner: &mut Inner) -> Answer {
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
        let parts = match parse_multipart(self.request.body, boundary.trim_matches('"')) {
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

pub(super) struct Part {
    pub(super) name: String,
    filename: Option<String>,
    data: Vec<u8>,
}

/// A small multipart/form-data reader: enough for ConnectWise's document upload.
pub(super) fn parse_multipart(body: &[u8], boundary: &str) -> Result<Vec<Part>, String> {
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

pub(super) fn find_all(haystack: &[u8], needle: &[u8]) -> Vec<usize> {
    if needle.is_empty() || haystack.len() < needle.len() {
        return Vec::new();
    }
    (0..=haystack.len() - needle.len())
        .filter(|&i| &haystack[i..i + needle.len()] == needle)
        .collect()
}

/// The roles of the API members, each once however many members share it, numbered in
/// the order their first member was added.
pub(super) fn security_roles(inner: &Inner) -> Vec<(i64, &SecurityRole)> {
    let mut roles: Vec<&SecurityRole> = Vec::new();
    for member in &inner.members {
        if !roles.contains(&&member.role) {
            roles.push(&member.role);
        }
    }
    (1_i64..).zip(roles).collect()
}

fn role_record(id: i64, role: &SecurityRole) -> Value {
    json!({
        "id": id,
        "name": role.name,
        "roleType": "Corporate",
        "adminFlag": false,
        "inactiveFlag": false,
    })
}

/// `moduleFunctionIdentifier`. UNCERTAIN: no source shows ConnectWise's identifiers; the
/// mock joins the function's words (`Service Tickets` → `ServiceTickets`).
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_multipart_parts() {
        let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"recordId\"\r\n\r\n1001\r\n--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"log.txt\"\r\nContent-Type: text/plain\r\n\r\nhello\r\n--XyZ--\r\n";
        let parts = parse_multipart(body, "XyZ").unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[1].filename.as_deref(), Some("log.txt"));
        assert_eq!(parts[1].data, b"hello");
    }
}
