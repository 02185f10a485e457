//! The durable ledger of a sandbox run: every record the run creates on a customer's
//! ConnectWise, written to a file *before* the create is sent and updated once its answer
//! is in, so that no interrupt, timeout or kill leaves a record that nobody knows of.
//!
//! A customer's sandbox is real data. The rules this module enforces:
//! - Each run has a [`RunToken`] that only it knows (random, 64 bits). Every record the run
//!   creates carries a [`mark`](Ledger::next_mark) with that token and a sequence number:
//!   `[cw-conform 1f3a…9c.7]`.
//! - The [`LedgerGate`] sits in the sandbox client: a create (a `POST` to a collection) must
//!   carry this run's mark; an update or delete must target a record this run created (or
//!   a child of one), unless the scenario is explicitly about pre-existing data and the
//!   user allowed it. Nothing else is sent.
//! - A record leaves the ledger only once ConnectWise said it is gone (see
//!   [`crate::cleanup`]), never before the `DELETE` completed.
//!
//! The file is JSON lines, one event a line, each flushed to disk before the request it
//! announces is sent: `{"run":…}` first, then `{"send":…}`, `{"created":…}`,
//! `{"no_record":…}`, `{"removed":…}`. Replaying the events gives what is still on the
//! sandbox ([`LedgerState::outstanding`]) and the creates whose answer never came
//! ([`LedgerState::pending`]). While a run lives it holds an exclusive lock on its file, so
//! `cw-conform sandbox cleanup` never touches the records of a run still going.

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{self, BufRead as _, Write as _};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::connectwise::{ClientError, Response, WriteGate};

/// The default folder of ledger files, relative to the working directory.
pub const DEFAULT_DIR: &str = ".cw-conform/ledgers";

/// The text every mark starts with.
pub const MARK_PREFIX: &str = "[cw-conform ";

/// A run's secret-free identity: 16 lowercase hex digits drawn at random.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RunToken(String);

impl RunToken {
    /// A fresh token from the operating system's random source.
    pub fn random() -> RunToken {
        let mut bytes = [0u8; 8];
        let filled = File::open("/dev/urandom")
            .and_then(|mut f| io::Read::read_exact(&mut f, &mut bytes))
            .is_ok();
        if !filled {
            // No /dev/urandom (not Unix): std's per-process random hash keys, mixed with
            // the time and the process id.
            use std::hash::{BuildHasher as _, Hasher as _};
            let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
            hasher.write_u128(
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_nanos()),
            );
            hasher.write_u32(std::process::id());
            bytes = hasher.finish().to_le_bytes();
        }
        let mut text = String::with_capacity(16);
        for byte in bytes {
            let _ = fmt::Write::write_fmt(&mut text, format_args!("{byte:02x}"));
        }
        RunToken(text)
    }

    /// Parses a token as a user types it (`cleanup --token`).
    pub fn parse(text: &str) -> Option<RunToken> {
        let text = text.trim();
        (text.len() == 16 && text.bytes().all(|b| b.is_ascii_hexdigit()))
            .then(|| RunToken(text.to_ascii_lowercase()))
    }

    /// The token's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The text every mark of this run starts with: `[cw-conform TOKEN.`.
    pub fn mark_stem(&self) -> String {
        format!("{MARK_PREFIX}{}.", self.0)
    }

    /// Whether a record (any string in it, at any depth) carries this run's mark.
    pub fn marks(&self, record: &Value) -> bool {
        let stem = self.mark_stem();
        strings(record).any(|s| s.contains(&stem))
    }
}

impl fmt::Display for RunToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Every string in a JSON value, at any depth.
fn strings(value: &Value) -> Box<dyn Iterator<Item = &str> + '_> {
    match value {
        Value::String(s) => Box::new(std::iter::once(s.as_str())),
        Value::Array(items) => Box::new(items.iter().flat_map(strings)),
        Value::Object(map) => Box::new(map.values().flat_map(strings)),
        _ => Box::new(std::iter::empty()),
    }
}

/// One line of a ledger file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Event {
    /// The run: its token, and where it ran (the site without any user information).
    Run {
        token: RunToken,
        site: String,
        company: String,
    },
    /// A create about to be sent.
    Send {
        seq: u64,
        path: String,
        profile: String,
        scope: u64,
        mark: String,
        field: String,
    },
    /// The create made this record.
    Created { seq: u64, id: i64 },
    /// The create's answer says no record was made (or the search found none).
    NoRecord { seq: u64, status: u16 },
    /// ConnectWise confirmed the record is gone.
    Removed { path: String, id: i64 },
}

/// A record a run created and that ConnectWise may still hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CreatedRecord {
    /// Collection path under `/apis/3.0` (`/company/contacts`, `/service/tickets/7/notes`).
    pub path: String,
    /// The record id.
    pub id: i64,
    /// The role profile of the member that created it.
    pub profile: String,
    /// The mark it carries.
    pub mark: String,
    /// The field the mark was put in.
    pub field: String,
    /// The scenario (within the run) that created it.
    #[serde(skip)]
    pub scope: u64,
}

impl fmt::Display for CreatedRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/{} marked {} (created as {})",
            self.path, self.id, self.mark, self.profile
        )
    }
}

/// A create that was sent but whose answer never came: ConnectWise may or may not have
/// made the record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PendingCreate {
    /// The sequence number of the create in its run.
    pub seq: u64,
    /// Collection path.
    pub path: String,
    /// The role profile of the member that sent it.
    pub profile: String,
    /// The mark the record would carry.
    pub mark: String,
    /// The field carrying it.
    pub field: String,
    /// The scenario that sent it.
    #[serde(skip)]
    pub scope: u64,
}

/// What a ledger's events add up to.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LedgerState {
    /// The run's token (from the first line).
    pub token: Option<RunToken>,
    /// The site it ran against.
    pub site: String,
    /// The company code.
    pub company: String,
    sends: Vec<PendingCreate>,
    created: Vec<CreatedRecord>,
    settled: Vec<u64>,
    removed: Vec<(String, i64)>,
}

impl LedgerState {
    fn apply(&mut self, event: Event) {
        match event {
            Event::Run {
                token,
                site,
                company,
            } => {
                self.token = Some(token);
                self.site = site;
                self.company = company;
            }
            Event::Send {
                seq,
                path,
                profile,
                scope,
                mark,
                field,
            } => self.sends.push(PendingCreate {
                seq,
                path,
                profile,
                mark,
                field,
                scope,
            }),
            Event::Created { seq, id } => {
                self.settled.push(seq);
                if let Some(send) = self.sends.iter().find(|s| s.seq == seq) {
                    self.created.push(CreatedRecord {
                        path: send.path.clone(),
                        id,
                        profile: send.profile.clone(),
                        mark: send.mark.clone(),
                        field: send.field.clone(),
                        scope: send.scope,
                    });
                }
            }
            Event::NoRecord { seq, .. } => self.settled.push(seq),
            Event::Removed { path, id } => self.removed.push((path, id)),
        }
    }

    fn is_removed(&self, path: &str, id: i64) -> bool {
        let own = format!("{path}/{id}");
        self.removed.iter().any(|(p, i)| {
            let gone = format!("{p}/{i}");
            // A removed parent takes its children with it.
            own == gone || own.starts_with(&format!("{gone}/"))
        })
    }

    /// Records created and not yet confirmed gone, oldest first.
    pub fn outstanding(&self) -> Vec<CreatedRecord> {
        self.created
            .iter()
            .filter(|r| !self.is_removed(&r.path, r.id))
            .cloned()
            .collect()
    }

    /// Creates sent whose outcome is unknown.
    pub fn pending(&self) -> Vec<PendingCreate> {
        self.sends
            .iter()
            .filter(|s| !self.settled.contains(&s.seq))
            .cloned()
            .collect()
    }

    /// Whether the ledger proves that nothing the run created is left.
    pub fn is_clean(&self) -> bool {
        self.outstanding().is_empty() && self.pending().is_empty()
    }

    /// Whether a record path (`/company/contacts/12`, `/service/tickets/7/notes/3`) is
    /// a record this run created and still holds, or lies under one.
    pub fn owns(&self, record_path: &str) -> bool {
        self.outstanding().iter().any(|r| {
            let own = format!("{}/{}", r.path, r.id);
            record_path == own || record_path.starts_with(&format!("{own}/"))
        })
    }
}

/// A ledger file that could not be read: the file, the line and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("ledger {path}{}: {reason}", line.map(|l| format!(" line {l}")).unwrap_or_default())]
pub struct LedgerError {
    /// The file.
    pub path: String,
    /// The line, when one is at fault.
    pub line: Option<usize>,
    /// Why.
    pub reason: String,
}

/// Reads a ledger file (of this run or an earlier one).
pub fn read(path: &Path) -> Result<LedgerState, LedgerError> {
    let error = |line: Option<usize>, reason: String| LedgerError {
        path: path.display().to_string(),
        line,
        reason,
    };
    let file = File::open(path).map_err(|e| error(None, e.to_string()))?;
    let mut state = LedgerState::default();
    for (index, line) in io::BufReader::new(file).lines().enumerate() {
        let line = line.map_err(|e| error(Some(index + 1), e.to_string()))?;
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<Event>(&line) {
            Ok(event) => state.apply(event),
            // A kill while a line was being written leaves a torn last line: what it
            // announced was not sent (every line is on disk before its request goes out).
            Err(_) if is_last_line(path, index) => break,
            Err(e) => return Err(error(Some(index + 1), format!("{e}: {line:.80}"))),
        }
    }
    if state.token.is_none() {
        return Err(error(
            Some(1),
            "no run line: not a cw-conform ledger".into(),
        ));
    }
    Ok(state)
}

fn is_last_line(path: &Path, index: usize) -> bool {
    std::fs::read_to_string(path).is_ok_and(|text| text.lines().count() == index + 1)
}

/// The ledger of the run in progress: the file it appends to, and the state in memory.
#[derive(Debug)]
pub struct Ledger {
    token: RunToken,
    path: PathBuf,
    inner: Mutex<Inner>,
}

#[derive(Debug)]
struct Inner {
    file: File,
    state: LedgerState,
    next_seq: u64,
}

impl Ledger {
    /// Starts the ledger of a new run in `dir` (created if needed): `dir/TOKEN.jsonl`,
    /// locked for as long as the run lives.
    pub fn create(dir: &Path, site: &str, company: &str) -> io::Result<Ledger> {
        std::fs::create_dir_all(dir)?;
        let token = RunToken::random();
        let path = dir.join(format!("{token}.jsonl"));
        let file = OpenOptions::new()
            .create_new(true)
            .append(true)
            .open(&path)?;
        file.try_lock().map_err(io::Error::other)?;
        let ledger = Ledger {
            token: token.clone(),
            path,
            inner: Mutex::new(Inner {
                file,
                state: LedgerState::default(),
                next_seq: 1,
            }),
        };
        ledger.append(Event::Run {
            token,
            site: crate::connectwise::redacted_url(site),
            company: company.to_owned(),
        })?;
        Ok(ledger)
    }

    /// Adopts an earlier run's ledger file, to clean up after it. Fails when a live run
    /// holds it.
    pub fn adopt(path: &Path) -> Result<Ledger, LedgerError> {
        let error = |reason: String| LedgerError {
            path: path.display().to_string(),
            line: None,
            reason,
        };
        let file = OpenOptions::new()
            .append(true)
            .open(path)
            .map_err(|e| error(e.to_string()))?;
        file.try_lock()
            .map_err(|_| error("a run that is still going holds it".into()))?;
        let state = read(path)?;
        let token = state
            .token
            .clone()
            .ok_or_else(|| error("no run line".into()))?;
        let next_seq = state.sends.iter().map(|s| s.seq).max().unwrap_or(0) + 1;
        Ok(Ledger {
            token,
            path: path.to_owned(),
            inner: Mutex::new(Inner {
                file,
                state,
                next_seq,
            }),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn append(&self, event: Event) -> io::Result<()> {
        let mut inner = self.lock();
        let mut line = serde_json::to_string(&event).map_err(io::Error::other)?;
        line.push('\n');
        inner.file.write_all(line.as_bytes())?;
        inner.file.sync_data()?;
        inner.state.apply(event);
        Ok(())
    }

    /// The run's token.
    pub fn token(&self) -> &RunToken {
        &self.token
    }

    /// The ledger file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A new mark for the next record the run creates: `[cw-conform TOKEN.SEQ]`.
    pub fn next_mark(&self) -> String {
        let mut inner = self.lock();
        let seq = inner.next_seq;
        inner.next_seq += 1;
        format!("{}{seq}]", self.token.mark_stem())
    }

    /// The state now.
    pub fn state(&self) -> LedgerState {
        self.lock().state.clone()
    }

    /// Records what a search found of a pending create: the records carrying its mark.
    pub fn resolved(&self, pending: &PendingCreate, ids: &[i64]) -> io::Result<()> {
        if ids.is_empty() {
            return self.append(Event::NoRecord {
                seq: pending.seq,
                status: 0,
            });
        }
        for id in ids {
            self.append(Event::Created {
                seq: pending.seq,
                id: *id,
            })?;
        }
        Ok(())
    }

    /// Records that ConnectWise confirmed a record gone.
    pub fn removed(&self, path: &str, id: i64) -> io::Result<()> {
        self.append(Event::Removed {
            path: path.to_owned(),
            id,
        })
    }

    /// When the ledger proves nothing is left: deletes the file and returns `true`.
    /// Otherwise keeps it (for `cw-conform sandbox cleanup`) and returns `false`.
    pub fn finish_if_clean(&self) -> bool {
        let inner = self.lock();
        if !inner.state.is_clean() {
            return false;
        }
        let _ = inner.file.unlock();
        std::fs::remove_file(&self.path).is_ok()
    }
}

/// The sequence number a mark carries, when it is one of `token`'s.
fn seq_of(mark: &str, token: &RunToken) -> Option<u64> {
    mark.strip_prefix(&token.mark_stem())?
        .strip_suffix(']')?
        .parse()
        .ok()
}

/// The first mark of this run found in a write body, with the field it is in (a field
/// name, or the JSON Patch path's last segment).
fn find_mark(body: &Value, token: &RunToken) -> Option<(String, String)> {
    let stem = token.mark_stem();
    let extract = |text: &str| -> Option<String> {
        let at = text.find(&stem)?;
        let end = text[at..].find(']')?;
        Some(text[at..=at + end].to_owned())
    };
    match body {
        Value::Object(map) => map.iter().find_map(|(field, value)| {
            strings(value)
                .find_map(extract)
                .map(|mark| (mark, field.clone()))
        }),
        Value::Array(ops) => ops.iter().find_map(|op| {
            let mark = strings(op.get("value")?).find_map(extract)?;
            let field = op.get("path")?.as_str()?.trim_start_matches('/').to_owned();
            Some((mark, field))
        }),
        _ => None,
    }
}

/// The record a document upload attaches to (`recordType` and `recordId` of its form),
/// as a record path; an unknown record type names no record, so the gate refuses it.
fn attachment_target(body: &Value) -> Option<String> {
    let kind = body.get("recordType")?.as_str()?;
    let id = body.get("recordId")?;
    let id = id
        .as_i64()
        .or_else(|| id.as_str()?.parse().ok())
        .unwrap_or(0);
    let collection = match kind.to_ascii_lowercase().as_str() {
        "ticket" | "serviceticket" => "/service/tickets",
        "company" => "/company/companies",
        "contact" => "/company/contacts",
        "opportunity" => "/sales/opportunities",
        "agreement" => "/finance/agreements",
        "project" => "/project/projects",
        "activity" => "/sales/activities",
        "configuration" => "/company/configurations",
        _ => "/unknown-record-type",
    };
    Some(format!("{collection}/{id}"))
}

/// The records a merge request changes besides the one its path names: each id of the
/// body's `mergeTicketIds`, in the path's collection (`POST /service/tickets/7/merge`
/// with `{"mergeTicketIds": [9]}` → `/service/tickets/9`). An id that is not a number is
/// taken as a record no run created, so the gate refuses it.
fn merged_records(path: &str, body: Option<&Value>) -> Vec<String> {
    let Some(collection) = path
        .strip_suffix("/merge")
        .and_then(|record| record.rsplit_once('/'))
        .map(|(collection, _)| collection)
    else {
        return Vec::new();
    };
    let ids = body
        .and_then(|b| b.get("mergeTicketIds"))
        .map(|ids| match ids {
            Value::Array(ids) => ids.clone(),
            other => vec![other.clone()],
        })
        .unwrap_or_default();
    ids.iter()
        .map(
            |id| match id.as_i64().or_else(|| id.as_str()?.parse().ok()) {
                Some(id) => format!("{collection}/{id}"),
                None => format!("{collection}/not-a-record-id"),
            },
        )
        .collect()
}

/// Every record a path names, outermost first: `/service/tickets/7/notes/3` names
/// `/service/tickets/7` and `/service/tickets/7/notes/3`.
pub fn records_in(path: &str) -> Vec<String> {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    (0..segments.len())
        .filter(|&i| i > 0 && segments[i].parse::<i64>().is_ok())
        .map(|i| format!("/{}", segments[..=i].join("/")))
        .collect()
}

/// Splits a record path into its collection and id: `/company/contacts/12` →
/// (`/company/contacts`, 12).
pub fn split_record(record_path: &str) -> Option<(&str, i64)> {
    let (collection, id) = record_path.rsplit_once('/')?;
    Some((collection, id.parse().ok()?))
}

/// What the gate let through, to be settled once the answer is in.
#[derive(Debug)]
enum Admitted {
    Create(PendingCreate),
    Delete(String),
    Other,
}

/// The sandbox client's gate: writes only what this run may write, and keeps the ledger.
#[derive(Debug, Clone)]
pub struct LedgerGate {
    ledger: Arc<Ledger>,
    profile: String,
    scope: u64,
    allow_existing: bool,
    admitted: Arc<Mutex<Vec<(u64, Admitted)>>>,
}

impl LedgerGate {
    /// A gate for one scenario (`scope`) writing as `profile`'s member. With
    /// `allow_existing`, updates and deletes of records the run did not create pass (the
    /// scenario is about pre-existing data and the user passed the flag for it).
    pub fn new(ledger: Arc<Ledger>, profile: &str, scope: u64, allow_existing: bool) -> Self {
        LedgerGate {
            ledger,
            profile: profile.to_owned(),
            scope,
            allow_existing,
            admitted: Arc::default(),
        }
    }

    fn refuse(method: &str, path: &str, reason: String) -> ClientError {
        ClientError::Refused {
            method: method.to_owned(),
            path: path.to_owned(),
            reason,
        }
    }

    fn check_owned(&self, method: &str, path: &str) -> Result<(), ClientError> {
        let records = records_in(path);
        if records.is_empty() {
            return Err(Self::refuse(
                method,
                path,
                "it names no record this run created".into(),
            ));
        }
        let state = self.ledger.state();
        if self.allow_existing || records.iter().any(|r| state.owns(r)) {
            return Ok(());
        }
        Err(Self::refuse(
            method,
            path,
            format!(
                "{} was not created by this run; the harness changes only records it created \
                 (a scenario about pre-existing data needs the @existing-records tag and --allow-existing-record-writes)",
                records[0]
            ),
        ))
    }

    /// An update must not take this run's mark off the record: cleanup would then refuse
    /// to delete it.
    fn check_keeps_mark(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> Result<(), ClientError> {
        let state = self.ledger.state();
        let Some(record) = state
            .outstanding()
            .into_iter()
            .find(|r| format!("{}/{}", r.path, r.id) == path)
        else {
            return Ok(());
        };
        let new_value = match body {
            Some(Value::Object(map)) => map.get(&record.field).cloned(),
            Some(Value::Array(ops)) => ops
                .iter()
                .find(|op| {
                    op.get("path")
                        .and_then(Value::as_str)
                        .is_some_and(|p| p.trim_start_matches('/') == record.field)
                })
                .map(|op| op.get("value").cloned().unwrap_or(Value::Null)),
            _ => None,
        };
        match new_value {
            Some(value) if !strings(&value).any(|s| s.contains(&record.mark)) => Err(Self::refuse(
                method,
                path,
                format!(
                    "it would take the mark {} off {} (cleanup could then not prove the record is the run's)",
                    record.mark, record.field
                ),
            )),
            _ => Ok(()),
        }
    }

    fn admit(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Admitted, ClientError> {
        match method {
            "POST" => {
                let under_record = !records_in(path).is_empty();
                if under_record {
                    self.check_owned(method, path)?;
                }
                if let Some(attached_to) = body.and_then(attachment_target) {
                    self.check_owned(method, &attached_to)?;
                }
                // A merge changes the records its body names (ConnectWise closes them into
                // the target), not only the one its path names.
                for merged in merged_records(path, body) {
                    self.check_owned(method, &merged)?;
                }
                let found = body.and_then(|b| find_mark(b, &self.ledger.token));
                let Some((mark, field)) = found else {
                    if under_record {
                        // An action on a record of the run (a merge, a child without text
                        // fields): whatever it makes goes when its parent goes.
                        return Ok(Admitted::Other);
                    }
                    return Err(Self::refuse(
                        method,
                        path,
                        "a record created on a sandbox must carry this run's mark".into(),
                    ));
                };
                let seq = seq_of(&mark, &self.ledger.token)
                    .ok_or_else(|| Self::refuse(method, path, format!("malformed mark {mark}")))?;
                let pending = PendingCreate {
                    seq,
                    path: path.to_owned(),
                    profile: self.profile.clone(),
                    mark,
                    field,
                    scope: self.scope,
                };
                self.ledger
                    .append(Event::Send {
                        seq: pending.seq,
                        path: pending.path.clone(),
                        profile: pending.profile.clone(),
                        scope: pending.scope,
                        mark: pending.mark.clone(),
                        field: pending.field.clone(),
                    })
                    .map_err(|e| {
                        Self::refuse(
                            method,
                            path,
                            format!("the ledger could not be written: {e}"),
                        )
                    })?;
                Ok(Admitted::Create(pending))
            }
            "PUT" | "PATCH" => {
                self.check_owned(method, path)?;
                self.check_keeps_mark(method, path, body)?;
                Ok(Admitted::Other)
            }
            "DELETE" => {
                self.check_owned(method, path)?;
                Ok(Admitted::Delete(path.to_owned()))
            }
            other => Err(Self::refuse(
                other,
                path,
                "only POST, PUT, PATCH and DELETE are known writes".into(),
            )),
        }
    }
}

impl WriteGate for LedgerGate {
    fn before_write(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> Result<u64, ClientError> {
        let admitted = self.admit(method, path, body)?;
        let mut list = self.admitted.lock().unwrap_or_else(PoisonError::into_inner);
        let ticket = list.last().map_or(1, |(t, _)| t + 1);
        list.push((ticket, admitted));
        Ok(ticket)
    }

    fn after_write(&self, ticket: u64, answer: Option<&Response>) {
        let admitted = {
            let mut list = self.admitted.lock().unwrap_or_else(PoisonError::into_inner);
            let Some(at) = list.iter().position(|(t, _)| *t == ticket) else {
                return;
            };
            list.remove(at).1
        };
        // A ledger line that cannot be written leaves the create pending (searched for
        // by its mark) or the record outstanding (re-read before any delete): safe.
        match (admitted, answer) {
            (Admitted::Create(pending), Some(response)) => {
                let id = response.body.get("id").and_then(Value::as_i64);
                let _ = match id {
                    Some(id) if response.ok() => self.ledger.append(Event::Created {
                        seq: pending.seq,
                        id,
                    }),
                    _ if response.ok() => Ok(()), // 2xx without an id: stays pending, searched
                    _ => self.ledger.append(Event::NoRecord {
                        seq: pending.seq,
                        status: response.status,
                    }),
                };
            }
            (Admitted::Delete(path), Some(response)) if response.ok() || response.status == 404 => {
                if let Some((collection, id)) = split_record(&path)
                    && self.ledger.state().owns(&path)
                {
                    let _ = self.ledger.removed(collection, id);
                }
            }
            _ => {}
        }
    }
}

/// The ledger files in a folder, oldest first.
pub fn files_in(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut files: Vec<(std::time::SystemTime, PathBuf)> = match std::fs::read_dir(dir) {
        Ok(entries) => entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
            .map(|p| {
                let modified = p
                    .metadata()
                    .and_then(|m| m.modified())
                    .unwrap_or(std::time::UNIX_EPOCH);
                (modified, p)
            })
            .collect(),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(e),
    };
    files.sort();
    Ok(files.into_iter().map(|(_, p)| p).collect())
}

/// Earlier runs against the same site and company whose ledger still lists records (runs
/// still going are skipped: they hold their file's lock).
pub fn earlier_leftovers(dir: &Path, site: &str, company: &str) -> Vec<EarlierRun> {
    let site = crate::connectwise::redacted_url(site);
    files_in(dir)
        .unwrap_or_default()
        .into_iter()
        .filter(|path| {
            File::open(path).is_ok_and(|f| {
                let free = f.try_lock_shared().is_ok();
                let _ = f.unlock();
                free
            })
        })
        .filter_map(|path| {
            let state = read(&path).ok()?;
            (state.site == site && state.company == company && !state.is_clean()).then(|| {
                EarlierRun {
                    token: state
                        .token
                        .clone()
                        .unwrap_or_else(|| RunToken(String::new())),
                    outstanding: state.outstanding().len(),
                    pending: state.pending().len(),
                    file: path,
                }
            })
        })
        .collect()
}

/// An earlier run that left records behind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EarlierRun {
    /// Its token.
    pub token: RunToken,
    /// Its ledger file.
    pub file: PathBuf,
    /// Records it created that are still listed.
    pub outstanding: usize,
    /// Creates whose answer never came.
    pub pending: usize,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn scratch() -> crate::scratch::Scratch {
        crate::scratch::Scratch::new("ledger")
    }

    fn answer(status: u16, body: Value) -> Response {
        Response {
            status,
            body,
            link: None,
        }
    }

    #[test]
    fn tokens_are_random_hex_and_parse_back() {
        let a = RunToken::random();
        let b = RunToken::random();
        assert_ne!(a, b);
        assert_eq!(a.as_str().len(), 16);
        assert_eq!(RunToken::parse(a.as_str()), Some(a));
        assert_eq!(RunToken::parse("[cw-conform]"), None);
    }

    #[test]
    fn a_create_is_on_disk_before_it_is_sent_and_settled_after() {
        let dir = scratch();
        let ledger = Arc::new(Ledger::create(&dir, "https://x.example", "northwind").unwrap());
        let gate = LedgerGate::new(Arc::clone(&ledger), "least-privilege", 1, false);
        let mark = ledger.next_mark();
        let body = json!({"firstName": "A", "lastName": format!("{mark} Smith")});
        let ticket = gate
            .before_write("POST", "/company/contacts", Some(&body))
            .unwrap();
        let on_disk = read(ledger.path()).unwrap();
        assert_eq!(on_disk.pending().len(), 1, "written before the send");
        assert_eq!(on_disk.pending()[0].field, "lastName");
        gate.after_write(ticket, Some(&answer(201, json!({"id": 42}))));
        let on_disk = read(ledger.path()).unwrap();
        assert!(on_disk.pending().is_empty());
        assert_eq!(on_disk.outstanding()[0].id, 42);
        assert!(!ledger.finish_if_clean(), "a record is still outstanding");
        ledger.removed("/company/contacts", 42).unwrap();
        assert!(ledger.finish_if_clean());
        assert!(!ledger.path().exists());
    }

    #[test]
    fn a_create_without_an_answer_stays_pending() {
        let dir = scratch();
        let ledger = Arc::new(Ledger::create(&dir, "https://x.example", "c").unwrap());
        let gate = LedgerGate::new(Arc::clone(&ledger), "p", 1, false);
        let body = json!({"summary": ledger.next_mark()});
        let ticket = gate
            .before_write("POST", "/service/tickets", Some(&body))
            .unwrap();
        gate.after_write(ticket, None);
        assert_eq!(read(ledger.path()).unwrap().pending().len(), 1);
        assert!(!ledger.finish_if_clean());
    }

    #[test]
    fn unmarked_creates_and_writes_to_records_the_run_did_not_create_are_refused() {
        let dir = scratch();
        let ledger = Arc::new(Ledger::create(&dir, "https://x.example", "c").unwrap());
        let gate = LedgerGate::new(Arc::clone(&ledger), "p", 1, false);
        let refused = |method: &str, path: &str, body: Value| {
            matches!(
                gate.before_write(method, path, Some(&body)),
                Err(ClientError::Refused { .. })
            )
        };
        assert!(refused(
            "POST",
            "/company/contacts",
            json!({"lastName": "x"})
        ));
        assert!(refused(
            "POST",
            "/company/contacts",
            json!({"lastName": "[cw-conform 0123456789abcdef.1] another run"})
        ));
        assert!(refused(
            "POST",
            "/company/contacts",
            json!({"lastName": "[cw-conform] quoted"})
        ));
        assert!(refused("DELETE", "/company/contacts/5", Value::Null));
        assert!(refused("PATCH", "/service/tickets/5", json!([])));
        assert!(refused(
            "POST",
            "/service/tickets/5/notes",
            json!({"text": ledger.next_mark()})
        ));
        assert!(refused("DELETE", "/company/contacts", Value::Null));
        let open = LedgerGate::new(Arc::clone(&ledger), "p", 1, true);
        assert!(
            open.before_write("DELETE", "/company/contacts/5", None)
                .is_ok()
        );
    }

    #[test]
    fn a_merge_of_a_ticket_the_run_did_not_create_into_its_own_is_refused() {
        let dir = scratch();
        let ledger = Arc::new(Ledger::create(&dir, "https://x.example", "c").unwrap());
        let gate = LedgerGate::new(Arc::clone(&ledger), "p", 1, false);
        for id in [7, 8] {
            let t = gate
                .before_write(
                    "POST",
                    "/service/tickets",
                    Some(&json!({"summary": ledger.next_mark()})),
                )
                .unwrap();
            gate.after_write(t, Some(&answer(201, json!({"id": id}))));
        }
        let merge = |ids: Value| {
            gate.before_write(
                "POST",
                "/service/tickets/7/merge",
                Some(&json!({"mergeTicketIds": ids, "status": {"id": 1}})),
            )
        };
        assert!(merge(json!([8])).is_ok(), "both tickets are the run's");
        for foreign in [json!([8, 1009]), json!([1009]), json!(["x"]), json!(1009)] {
            assert!(
                matches!(merge(foreign.clone()), Err(ClientError::Refused { .. })),
                "{foreign}"
            );
        }
    }

    #[test]
    fn writes_to_own_records_and_their_children_pass_and_a_delete_settles_them() {
        let dir = scratch();
        let ledger = Arc::new(Ledger::create(&dir, "https://x.example", "c").unwrap());
        let gate = LedgerGate::new(Arc::clone(&ledger), "p", 1, false);
        let mark = ledger.next_mark();
        let t = gate
            .before_write("POST", "/service/tickets", Some(&json!({"summary": mark})))
            .unwrap();
        gate.after_write(t, Some(&answer(201, json!({"id": 7}))));
        let note = json!({"text": ledger.next_mark()});
        let t = gate
            .before_write("POST", "/service/tickets/7/notes", Some(&note))
            .unwrap();
        gate.after_write(t, Some(&answer(201, json!({"id": 3}))));
        let keep = json!([{"op": "replace", "path": "summary", "value": format!("{mark} new")}]);
        assert!(
            gate.before_write("PATCH", "/service/tickets/7", Some(&keep))
                .is_ok()
        );
        let strip = json!([{"op": "replace", "path": "/summary", "value": "new"}]);
        assert!(
            gate.before_write("PATCH", "/service/tickets/7", Some(&strip))
                .is_err()
        );
        assert!(
            gate.before_write("PATCH", "/service/tickets/8", Some(&keep))
                .is_err()
        );
        let t = gate
            .before_write("DELETE", "/service/tickets/7", None)
            .unwrap();
        gate.after_write(t, Some(&answer(204, Value::Null)));
        let state = ledger.state();
        assert!(
            state.is_clean(),
            "the parent took its note with it: {state:?}"
        );
    }

    #[test]
    fn a_torn_last_line_is_ignored_and_a_bad_line_elsewhere_is_named() {
        let dir = scratch();
        let ledger = Ledger::create(&dir, "https://x.example", "c").unwrap();
        let path = ledger.path().to_owned();
        drop(ledger);
        let mut text = std::fs::read_to_string(&path).unwrap();
        text.push_str("{\"send\":{\"seq\":1,\"pa");
        std::fs::write(&path, &text).unwrap();
        assert!(read(&path).is_ok());
        text.push_str("\n{\"removed\":{\"path\":\"/a\",\"id\":1}}\n");
        std::fs::write(&path, &text).unwrap();
        let error = read(&path).unwrap_err();
        assert_eq!(error.line, Some(2), "{error}");
    }

    #[test]
    fn a_live_run_holds_its_ledger_and_is_not_an_earlier_run() {
        let dir = scratch();
        let live = Arc::new(Ledger::create(&dir, "https://x.example", "c").unwrap());
        let gate = LedgerGate::new(Arc::clone(&live), "p", 1, false);
        let t = gate
            .before_write(
                "POST",
                "/company/contacts",
                Some(&json!({"lastName": live.next_mark()})),
            )
            .unwrap();
        gate.after_write(t, Some(&answer(201, json!({"id": 1}))));
        assert!(Ledger::adopt(live.path()).is_err());
        assert!(earlier_leftovers(&dir, "https://x.example", "c").is_empty());
        let path = live.path().to_owned();
        drop(gate);
        drop(live);
        let earlier = earlier_leftovers(&dir, "https://x.example", "c");
        assert_eq!(earlier.len(), 1);
        assert_eq!(earlier[0].outstanding, 1);
        assert!(earlier_leftovers(&dir, "https://other.example", "c").is_empty());
        let adopted = Ledger::adopt(&path).unwrap();
        assert_eq!(adopted.state().outstanding().len(), 1);
    }

    #[test]
    fn records_in_a_path() {
        assert_eq!(
            records_in("/service/tickets/7/notes/3"),
            ["/service/tickets/7", "/service/tickets/7/notes/3"]
        );
        assert!(records_in("/company/contacts").is_empty());
        assert_eq!(
            split_record("/company/contacts/12"),
            Some(("/company/contacts", 12))
        );
    }
}
