//! Removing from a sandbox what a run created, and nothing else.
//!
//! Everything here works from a [`Ledger`]: the records it lists, and the creates whose
//! answer never came. Before a record is deleted it is read again and must still carry the
//! exact mark this run gave it; a record that does not (someone edited it, or the id now
//! names another record) is left alone and reported. A create whose answer never came is
//! looked for by its mark, on every page, and whatever carries the mark is removed the same
//! way. A record leaves the ledger only when ConnectWise says it is gone.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;
use serde_json::Value;

use crate::connectwise::{Client, ClientError};
use crate::ledger::{CreatedRecord, Ledger, MARK_PREFIX, PendingCreate};
use crate::target::Sandbox;

/// The page size of the searches for pending creates (ConnectWise's maximum).
const PAGE_SIZE: usize = 1000;

/// At most this many pages are read in one search (a million records).
const MAX_PAGES: usize = 1000;

/// Something a run created (or may have created) that is still on the sandbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct LeftBehind {
    /// Collection path under `/apis/3.0`.
    pub path: String,
    /// The record id; `None` for a create whose answer never came and that could not be
    /// looked for.
    pub id: Option<i64>,
    /// The mark it carries.
    pub mark: String,
    /// The role profile of the member that created it.
    pub profile: String,
    /// Why it is still there.
    pub reason: String,
}

impl fmt::Display for LeftBehind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.id {
            Some(id) => write!(
                f,
                "{}/{id} marked {}: {}",
                self.path, self.mark, self.reason
            ),
            None => write!(
                f,
                "a create in {} marked {} (its answer never came): {}",
                self.path, self.mark, self.reason
            ),
        }
    }
}

/// Clients of the sandbox's members, made on first use.
struct Members<'a> {
    sandbox: &'a Sandbox,
    clients: BTreeMap<String, Result<Client, String>>,
}

impl<'a> Members<'a> {
    fn new(sandbox: &'a Sandbox) -> Self {
        Members {
            sandbox,
            clients: BTreeMap::new(),
        }
    }

    async fn client(&mut self, profile: &str) -> Result<Client, String> {
        if !self.clients.contains_key(profile) {
            let client = match self.sandbox.credentials(profile) {
                Some(credentials) => self
                    .sandbox
                    .client(credentials)
                    .await
                    .map_err(|e| e.to_string()),
                None => Err(format!(
                    "no member of the sandbox has the role \"{profile}\""
                )),
            };
            self.clients.insert(profile.to_owned(), client);
        }
        self.clients[profile].clone()
    }

    /// The profile that made a record first, then every other one (a member with more
    /// rights may be able to delete what the creator cannot).
    fn in_order(&self, first: &str) -> Vec<String> {
        std::iter::once(first.to_owned())
            .chain(
                self.sandbox
                    .profiles
                    .keys()
                    .filter(|p| *p != first)
                    .cloned(),
            )
            .collect()
    }
}

/// Whether a record carries exactly this mark in one of its strings.
fn carries(record: &Value, mark: &str) -> bool {
    match record {
        Value::String(s) => s.contains(mark),
        Value::Array(items) => items.iter().any(|v| carries(v, mark)),
        Value::Object(map) => map.values().any(|v| carries(v, mark)),
        _ => false,
    }
}

/// Looks for the records a create whose answer never came may have made: every page of
/// its collection whose marked field contains the mark. Returns their ids, or why the
/// search failed.
async fn search(client: &Client, pending: &PendingCreate) -> Result<Vec<i64>, String> {
    let needle = pending
        .mark
        .trim_start_matches(MARK_PREFIX)
        .trim_end_matches(']');
    let mut found = Vec::new();
    for page in 1..=MAX_PAGES {
        let query = [
            (
                "conditions",
                format!("{} contains \"{needle}\"", pending.field),
            ),
            ("pageSize", PAGE_SIZE.to_string()),
            ("page", page.to_string()),
        ];
        let response = client
            .get(&pending.path, &query)
            .await
            .map_err(|e| e.to_string())?;
        if !response.ok() {
            return Err(format!(
                "searching {} for the mark answered {}",
                pending.path, response.status
            ));
        }
        let records = response.body.as_array().cloned().unwrap_or_default();
        found.extend(
            records
                .iter()
                .filter(|r| carries(r, &pending.mark))
                .filter_map(|r| r.get("id").and_then(Value::as_i64)),
        );
        if records.len() < PAGE_SIZE {
            return Ok(found);
        }
    }
    Err(format!(
        "searching {} for the mark went past {MAX_PAGES} pages",
        pending.path
    ))
}

/// Re-reads a record and deletes it if it still carries its mark, trying the creator's
/// member first and then the others. `Ok` once ConnectWise says it is gone.
async fn remove(
    members: &mut Members<'_>,
    ledger: &Ledger,
    record: &CreatedRecord,
) -> Result<(), String> {
    let path = format!("{}/{}", record.path, record.id);
    let gone = || {
        ledger
            .removed(&record.path, record.id)
            .map_err(|e| format!("gone, but the ledger could not be written: {e}"))
    };
    let mut reasons = Vec::new();
    for profile in members.in_order(&record.profile) {
        let client = match members.client(&profile).await {
            Ok(client) => client,
            Err(reason) => {
                reasons.push(reason);
                continue;
            }
        };
        match client.get(&path, &[]).await {
            Ok(read) if read.status == 404 => return gone(),
            Ok(read) if read.ok() => {
                if !carries(&read.body, &record.mark) {
                    return Err(format!(
                        "it no longer carries the mark {}; not deleted (it may not be the run's record any more)",
                        record.mark
                    ));
                }
            }
            Ok(read) => {
                reasons.push(format!("reading it as {profile} answered {}", read.status));
                continue;
            }
            Err(error) => {
                reasons.push(error.to_string());
                continue;
            }
        }
        match client.send(reqwest::Method::DELETE, &path, &[], None).await {
            Ok(answer) if answer.ok() || answer.status == 404 => return gone(),
            Ok(answer) => reasons.push(format!(
                "deleting it as {profile} answered {}",
                answer.status
            )),
            Err(ClientError::Timeout { .. }) => {
                reasons.push("the delete got no answer; it is read again next time".into());
            }
            Err(error) => reasons.push(error.to_string()),
        }
    }
    Err(reasons.join("; "))
}

/// Looks for the pending creates (of one scenario, or all) and records what each made.
/// Returns the creates that could not be looked for, with why.
async fn resolve_pending(
    members: &mut Members<'_>,
    ledger: &Ledger,
    scope: Option<u64>,
) -> Vec<LeftBehind> {
    let mut unresolved = Vec::new();
    for pending in ledger.state().pending() {
        if scope.is_some_and(|s| s != pending.scope) {
            continue;
        }
        let mut reasons = Vec::new();
        let mut resolved = false;
        for profile in members.in_order(&pending.profile) {
            let client = match members.client(&profile).await {
                Ok(client) => client,
                Err(reason) => {
                    reasons.push(reason);
                    continue;
                }
            };
            match search(&client, &pending).await {
                Ok(ids) => {
                    resolved = ledger.resolved(&pending, &ids).is_ok();
                    break;
                }
                Err(reason) => reasons.push(reason),
            }
        }
        if !resolved {
            unresolved.push(LeftBehind {
                path: pending.path.clone(),
                id: None,
                mark: pending.mark.clone(),
                profile: pending.profile.clone(),
                reason: format!("could not be looked for ({})", reasons.join("; ")),
            });
        }
    }
    unresolved
}

/// Looks for every create of the ledger whose answer never came (reads only), and records
/// what each made. Returns the creates that could not be looked for.
pub async fn look_for_pending(sandbox: &Sandbox, ledger: &Ledger) -> Vec<LeftBehind> {
    resolve_pending(&mut Members::new(sandbox), ledger, None).await
}

/// Removes what the run created (one scenario's records, or all of them): creates whose
/// answer never came are looked for first. Returns what is still there, with why.
pub async fn clean(sandbox: &Sandbox, ledger: &Ledger, scope: Option<u64>) -> Vec<LeftBehind> {
    let mut members = Members::new(sandbox);
    let mut left = resolve_pending(&mut members, ledger, scope).await;
    let mut outstanding = ledger.state().outstanding();
    outstanding.retain(|r| scope.is_none_or(|s| s == r.scope));
    // Newest first: children before their parents.
    for record in outstanding.iter().rev() {
        if !ledger.state().outstanding().contains(record) {
            continue; // its parent went first
        }
        if let Err(reason) = remove(&mut members, ledger, record).await {
            left.push(LeftBehind {
                path: record.path.clone(),
                id: Some(record.id),
                mark: record.mark.clone(),
                profile: record.profile.clone(),
                reason,
            });
        }
    }
    left
}

/// What the ledger still lists, without touching the sandbox (for a report written when
/// cleanup could not run).
pub fn listed(ledger: &Ledger) -> Vec<LeftBehind> {
    let state = ledger.state();
    let pending = state.pending().into_iter().map(|p| LeftBehind {
        path: p.path,
        id: None,
        mark: p.mark,
        profile: p.profile,
        reason: "a create whose answer never came".into(),
    });
    let outstanding = state.outstanding().into_iter().map(|r| LeftBehind {
        path: r.path,
        id: Some(r.id),
        mark: r.mark,
        profile: r.profile,
        reason: "not removed yet".into(),
    });
    pending.chain(outstanding).collect()
}
