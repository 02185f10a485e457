//! The one wiremock responder that plays ConnectWise: authenticate, route, authorise,
//! then read or change the store. Synchronous, as wiremock requires: state is behind a
//! lock and nothing here blocks on I/O.

mod answer;
mod collections;
mod records;
mod specials;

use std::sync::Arc;

use base64::Engine as _;
use serde_json::{Value, json};
use wiremock::{Request, Respond, ResponseTemplate};

use super::{ApiMember, Inner, Shared};
use crate::connectwise::error::ErrorBody;
use crate::connectwise::journal::JournalEntry;
use crate::connectwise::security::Route;
use crate::model::{FunctionName, Level, Operation};

use answer::Answer;
use records::reference_of;

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
}
