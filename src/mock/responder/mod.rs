//! The responder that plays ConnectWise: authenticate, route, authorise, then read or
//! change the store. Synchronous: state is behind a lock and nothing here blocks on I/O.
//!
//! It answers in two steps so a server can stop reading early: [`ConnectWise::admit`]
//! decides from the head alone (sign-in lookups, unknown paths, injected faults and failed
//! authentication are answered there, and their bodies are never read, parsed or
//! journalled); [`ConnectWise::answer`] then answers an authenticated request from its
//! body. The mock's HTTP server ([`super::server`]) calls these two functions.

mod answer;
mod collections;
mod records;
mod specials;

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use hyper::HeaderMap;
use serde_json::{Value, json};
use url::Url;

use super::{ApiMember, Inner, Shared};
use crate::connectwise::error::ErrorBody;
use crate::connectwise::journal::JournalEntry;
use crate::connectwise::security::{BadCredentials, Route, Settings};
use crate::model::{FunctionName, Level, Operation};

pub(crate) use answer::{Answer, CONTENT_TYPE};
use records::reference_of;
pub(super) use records::stamp;

/// A request as the responder reads it, whichever server received it.
pub(crate) struct Request<'a> {
    /// The method, as sent.
    pub(crate) method: &'a str,
    /// The full URL (`http://host/path?query`).
    pub(crate) url: &'a Url,
    /// The headers; never journalled.
    pub(crate) headers: &'a HeaderMap,
    /// The body; empty until [`ConnectWise::admit`] admitted the request.
    pub(crate) body: &'a [u8],
}

/// What [`ConnectWise::admit`] decided from a request's head.
pub(crate) enum Admission {
    /// The answer, already journalled; the body is not needed.
    Answered(Answer),
    /// An authenticated API member: read the body and call [`ConnectWise::answer`].
    Admitted(Arc<ApiMember>),
}

/// The ConnectWise responder over one mock's state.
pub(crate) struct ConnectWise {
    shared: Arc<Shared>,
}

impl ConnectWise {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        ConnectWise { shared }
    }

    /// Decides what can be decided from the head alone (the body is ignored and may be
    /// empty). Whatever it answers is journalled here, without a body.
    pub(crate) fn admit(&self, head: &Request<'_>) -> Admission {
        let mut inner = self.shared.lock();
        match admit(&self.shared, &mut inner, head) {
            Ok(member) => Admission::Admitted(member),
            Err(mut answer) => {
                journal(&mut inner, head, &mut answer, None);
                Admission::Answered(answer)
            }
        }
    }

    /// Answers a request [`admit`](Self::admit) admitted for `member`, and journals it
    /// with its JSON body. A read (`GET`) changes nothing: it is answered from a copy of
    /// the records taken under the lock, outside it, so that reads on other connections
    /// do not wait while one is filtered, paged and written. A write holds the lock until
    /// it is journalled.
    pub(crate) fn answer(&self, request: &Request<'_>, member: &ApiMember) -> Answer {
        if request.method.eq_ignore_ascii_case("GET") {
            let mut copy = self.shared.lock().for_reading();
            let mut answer = handle(&self.shared, &mut copy, request, member);
            journal(&mut self.shared.lock(), request, &mut answer, Some(member));
            return answer;
        }
        let mut inner = self.shared.lock();
        let mut answer = handle(&self.shared, &mut inner, request, member);
        journal(&mut inner, request, &mut answer, Some(member));
        answer
    }

    /// The API version every answer reports in `api-current-version`.
    pub(crate) fn api_version(&self) -> &str {
        &self.shared.fixtures.permissions.settings.api_version
    }

    /// The delay before every answer, if one was asked for.
    pub(crate) fn delay(&self) -> Option<Duration> {
        self.shared.delay
    }
}

/// Journals a request, taking the answer's shape for it (the answer is sent without it).
/// The body is parsed and kept only for an authenticated `member`: an unauthenticated
/// caller cannot make the mock parse or keep anything it sent.
fn journal(
    inner: &mut Inner,
    request: &Request<'_>,
    answer: &mut Answer,
    member: Option<&ApiMember>,
) {
    let with_body = member.is_some();
    let full_path = request.url.path();
    let path = api_path(full_path).unwrap_or(full_path).to_owned();
    let body = with_body
        .then(|| serde_json::from_slice(request.body).ok())
        .flatten();
    inner.journal.push(
        JournalEntry {
            method: request.method.to_owned(),
            path,
            query: request.url.query().unwrap_or_default().to_owned(),
            status: answer.status,
            member: member.map(|m| m.identifier.clone()),
            body,
            answer: Some(std::mem::take(&mut *answer.answered)),
        },
        if with_body { request.body.len() } else { 0 },
    );
}

/// The part of a path after `/apis/3.0` (in any case), whatever the codebase before it.
fn api_path(path: &str) -> Option<&str> {
    const MARK: &[u8] = b"/apis/3.0";
    let at = path
        .as_bytes()
        .windows(MARK.len())
        .position(|window| window.eq_ignore_ascii_case(MARK))?;
    // The mark is ASCII, so the rest starts on a character boundary.
    let rest = &path[at + MARK.len()..];
    (rest.is_empty() || rest.starts_with('/')).then_some(rest)
}

/// Everything answered before the body: sign-in lookups, unknown paths, faults and
/// authentication. `Ok` is the authenticated member.
fn admit(
    shared: &Shared,
    inner: &mut Inner,
    request: &Request<'_>,
) -> Result<Arc<ApiMember>, Answer> {
    let path = request.url.path();
    if let Some(company) = strip_prefix_ignore_case(path, "/login/companyinfo/") {
        return Err(company_info(shared, company));
    }
    if api_path(path).is_none() {
        return Err(Answer::not_found(format!(
            "The requested resource {path} was not found."
        )));
    }
    if let Some(answer) = take_fault(inner) {
        return Err(answer);
    }
    authenticate(shared, inner, request)
}

fn handle(shared: &Shared, inner: &mut Inner, request: &Request<'_>, member: &ApiMember) -> Answer {
    let path = request.url.path();
    let sub = api_path(path).unwrap_or(path);
    let method = request.method.to_ascii_uppercase();
    let Some(route) = shared.fixtures.permissions.route(sub, &method) else {
        return Answer::not_found(format!("The requested resource {sub} was not found."));
    };
    let call = Call {
        shared,
        member,
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

fn authenticate(
    shared: &Shared,
    inner: &Inner,
    request: &Request<'_>,
) -> Result<Arc<ApiMember>, Answer> {
    let settings = &shared.fixtures.permissions.settings;
    if settings.require_ssl {
        return Err(Answer::error(
            403,
            &ErrorBody::new("Security", "SSL is required."),
        ));
    }
    let refuse = || credentials_refused(settings, settings.bad_credentials, request.url.path());
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
    Ok(Arc::clone(member))
}

/// How ConnectWise refuses credentials it does not accept when it follows `shape`, for a
/// request to `path`.
pub(crate) fn credentials_refused(
    settings: &Settings,
    shape: BadCredentials,
    path: &str,
) -> Answer {
    match shape {
        BadCredentials::Unauthorized => Answer::error(
            401,
            &ErrorBody::new(&settings.unauthorized_code, &settings.unauthorized_message),
        ),
        BadCredentials::UserNotAuthenticated => Answer::error(
            401,
            &ErrorBody::new("ConnectWiseApi", "UserNotAuthenticated"),
        ),
        // The body of a resource that does not exist: nothing says it was the credentials.
        BadCredentials::NotFound => Answer::not_found(format!(
            "The requested resource {} was not found.",
            api_path(path).unwrap_or(path)
        )),
    }
}

/// How ConnectWise refuses a request the member's role does not allow.
pub(crate) fn refused_by_role(settings: &Settings) -> Answer {
    Answer::error(
        403,
        &ErrorBody::new(&settings.security_code, &settings.security_message),
    )
}

/// Whether a level lets the member act on a record (`owned`: it is the member's own).
fn permits(level: Level, owned: bool) -> bool {
    match level {
        Level::All => true,
        Level::My => owned,
        Level::None => false,
    }
}

fn query_param<'a>(request: &Request<'a>, name: &str) -> Option<std::borrow::Cow<'a, str>> {
    request
        .url
        .query_pairs()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

/// The largest `page`, `pageSize` or `pageId` ConnectWise reads (a 32-bit integer).
const LARGEST_PAGING_NUMBER: usize = 2_147_483_647;

/// A paging parameter (`page`, `pageSize`, `pageId`): absent, or a whole number from
/// `least` to [`LARGEST_PAGING_NUMBER`]; anything else is a 400 naming the value.
fn paging_param(request: &Request<'_>, name: &str, least: usize) -> Result<Option<usize>, Answer> {
    let Some(text) = query_param(request, name) else {
        return Ok(None);
    };
    let digits = text.trim();
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Answer::bad_request(format!(
            "Invalid {name} \"{text}\": expected a whole number."
        )));
    }
    match digits.parse::<usize>() {
        Ok(n) if (least..=LARGEST_PAGING_NUMBER).contains(&n) => Ok(Some(n)),
        _ => Err(paging_refused(name, &text, least)),
    }
}

/// The 400 for a paging parameter (`page`, `pageSize`, `pageId`) written as `text`, below
/// `least` or past [`LARGEST_PAGING_NUMBER`].
pub(crate) fn paging_refused(name: &str, text: &str, least: usize) -> Answer {
    Answer::bad_request(format!(
        "Invalid {name} \"{text}\": expected a whole number from {least} to \
         {LARGEST_PAGING_NUMBER}."
    ))
}

struct Call<'a> {
    shared: &'a Shared,
    member: &'a ApiMember,
    request: &'a Request<'a>,
    method: &'a str,
}

impl Call<'_> {
    fn level(&self, function: &FunctionName, operation: Operation) -> Level {
        self.member.role.level(function, operation)
    }

    fn forbidden(&self) -> Answer {
        refused_by_role(&self.shared.fixtures.permissions.settings)
    }

    fn json_body(&self) -> Result<Value, Answer> {
        if self.request.body.iter().all(u8::is_ascii_whitespace) {
            return Err(Answer::bad_request(
                "The request body is empty; a JSON body is required.",
            ));
        }
        serde_json::from_slice(self.request.body)
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
        assert_eq!(api_path("/apis/3.0"), Some(""));
        assert_eq!(api_path("/apis/3.01/x"), None, "another version");
        assert_eq!(
            api_path("/é/apis/3.0/é"),
            Some("/é"),
            "past characters of two bytes"
        );
        assert_eq!(
            api_path("/apis/3.0x/apis/3.0/system/info"),
            None,
            "the first mark decides"
        );
    }
}
