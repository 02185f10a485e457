//! A vendor's MCP server as a child process, kept on a short leash:
//!
//! - **Environment.** A scenario's server starts from an empty environment: only the
//!   process essentials of [`ESSENTIAL_VARIABLES`] (and `LC_*`) are passed on from the
//!   harness's own, then the variables the config names in `pass_env`, then the config's
//!   `[server.env]` filled in for the scenario. The harness's sandbox keys, its profiles
//!   file's variables and whatever else its shell exported never reach the server.
//!   (`mcp-probe`, run by hand like any command, passes on the whole environment.)
//! - **Standard output** is read line by line, each line at most [`MAX_MESSAGE_BYTES`]
//!   (one JSON-RPC message). What is not JSON-RPC is kept as evidence, not passed on; a
//!   longer line stops the server, and the scenario fails saying so.
//! - **Standard error**: the last [`STDERR_LINES`] lines are kept, each read to at most
//!   [`STDERR_LINE_BYTES`], shown with every form of the API member's secrets redacted.
//! - **Teardown** kills the server's process group; on Linux also every process whose
//!   environment carries the server's [`MARKER_VARIABLE`] (a value unique to the server,
//!   which children inherit even after leaving the group with `setsid`) and every
//!   descendant found through the parent links of `/proc/*/stat` (children that cleared
//!   their environment). Only a process that both detaches from its parent and clears its
//!   environment escapes.

use std::collections::VecDeque;
use std::hash::{BuildHasher, Hasher};
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};

use serde::Deserialize;
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncWriteExt, BufReader, DuplexStream};
use tokio::process::{Child, ChildStdin};

use super::redact::Redactor;

/// The longest line of standard output read: one JSON-RPC message. A ConnectWise page of
/// 1,000 records is a few MiB; a server that writes more without a newline is stopped.
pub const MAX_MESSAGE_BYTES: usize = 16 * 1024 * 1024;
/// Lines of standard error kept.
pub const STDERR_LINES: usize = 30;
/// Bytes kept of one line of standard error (or of standard output that is not JSON-RPC);
/// the rest of a longer line is skipped, though still searched for secrets.
pub const STDERR_LINE_BYTES: usize = 4096;
/// Characters shown of one line.
const LINE_CHARS: usize = 400;
/// Lines that are not JSON-RPC kept as evidence.
const GARBAGE_LINES: usize = 5;
/// Lines that showed a secret kept as evidence.
const SECRET_LINES: usize = 3;

/// The variable that marks every process a server starts: `PID-N-RANDOM` (the harness's
/// process id, the server's number, a random part), so teardown finds the processes that
/// left the server's process group.
pub const MARKER_VARIABLE: &str = "CW_CONFORM_SERVER";

/// What a scenario's server is given of the harness's environment without asking: what
/// programs need to start and find their files, nothing that holds a secret. `LC_*` too.
/// Anything else (`VIRTUAL_ENV`, `NODE_OPTIONS`, a proxy, a CA bundle …) the config names in
/// `pass_env`.
pub const ESSENTIAL_VARIABLES: [&str; 20] = [
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "SHELL",
    "LANG",
    "LANGUAGE",
    "TZ",
    "TERM",
    "TMPDIR",
    "TMP",
    "TEMP",
    // Windows
    "SYSTEMROOT",
    "SYSTEMDRIVE",
    "WINDIR",
    "COMSPEC",
    "PATHEXT",
    "USERPROFILE",
    "APPDATA",
    "LOCALAPPDATA",
];

/// Whether a variable of the harness's environment is passed to every server.
pub fn is_essential(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    ESSENTIAL_VARIABLES.contains(&upper.as_str()) || upper.starts_with("LC_")
}

/// What the server wrote that the harness keeps for failure messages (unredacted, each line
/// at most [`STDERR_LINE_BYTES`]; redacted when shown).
#[derive(Debug, Default)]
struct Output {
    stderr: VecDeque<String>,
    garbage: Vec<String>,
    garbage_count: usize,
    /// The server wrote a line longer than [`MAX_MESSAGE_BYTES`] and was stopped.
    overflowed: bool,
    /// Lines of standard output or error that showed a secret of the API member, redacted
    /// (the first few), and how many there were.
    secrets: Vec<String>,
    secret_count: usize,
    /// Standard output and standard error reached their end.
    stdout_closed: bool,
    stderr_closed: bool,
}

impl Output {
    /// Notes a line of `stream` that shows a secret (kept unredacted like the rest, redacted
    /// when shown).
    fn note_secret(&mut self, redactor: &Redactor, stream: &str, line: &str) {
        if !redactor.reveals(line) {
            return;
        }
        self.secret_count += 1;
        if self.secrets.len() < SECRET_LINES {
            self.secrets.push(format!("{stream}: {}", line.trim_end()));
        }
    }
}

impl Output {
    /// Notes a line of `stream` whose part beyond the [`STDERR_LINE_BYTES`] kept showed a
    /// secret (the kept part, `shown`, may not).
    fn note_secret_beyond(&mut self, redactor: &Redactor, stream: &str, shown: &str) {
        if redactor.reveals(shown) {
            // Already noted with the kept part.
            return;
        }
        self.secret_count += 1;
        if self.secrets.len() < SECRET_LINES {
            self.secrets.push(format!(
                "{stream}: {}… (a secret further along this line, past the {STDERR_LINE_BYTES} bytes kept)",
                shown.chars().take(LINE_CHARS).collect::<String>()
            ));
        }
    }
}

/// The process and what it may have started, to be killed together.
#[derive(Debug)]
struct Tree {
    child: Mutex<Child>,
    group: Option<u32>,
    /// `MARKER_VARIABLE=value`, as it appears in `/proc/PID/environ`.
    marker: String,
}

/// A running server process.
#[derive(Debug)]
pub struct ServerProcess {
    tree: Arc<Tree>,
    output: Arc<Mutex<Output>>,
    redactor: Redactor,
}

/// What to start.
#[derive(Debug, Clone, Default)]
pub struct Launch {
    /// The program.
    pub program: String,
    /// Its arguments.
    pub args: Vec<String>,
    /// Variables set for it.
    pub env: Vec<(String, String)>,
    /// Variables of the harness's environment passed on besides the essentials.
    pub pass_env: Vec<String>,
    /// Hides the secrets (private keys, Authorization headers) in whatever is shown.
    pub redactor: Redactor,
    /// Pass on the harness's whole environment (`mcp-probe`, run by hand like any
    /// command); a scenario's server starts from an empty one.
    pub inherit_env: bool,
}

fn clip(line: &str) -> String {
    let line = line.trim_end();
    if line.chars().count() > LINE_CHARS {
        let clipped: String = line.chars().take(LINE_CHARS).collect();
        format!("{clipped}…")
    } else {
        line.to_owned()
    }
}

/// The part of a message that says it is JSON-RPC; everything else is skipped unread.
#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(borrow)]
    jsonrpc: std::borrow::Cow<'a, str>,
}

/// Whether a line of standard output is a JSON-RPC message.
fn is_json_rpc(line: &str) -> bool {
    serde_json::from_str::<Envelope<'_>>(line).is_ok_and(|e| e.jsonrpc == "2.0")
}

/// How a bounded line read ended.
#[derive(Debug, PartialEq, Eq)]
enum LineRead {
    /// A whole line (or the last, unterminated, one).
    Line,
    /// The line is longer than the limit: its first `limit` bytes were read, the rest not.
    TooLong,
    /// The end of the stream.
    End,
}

/// Reads one line (with its `\n`) into `line`, reading no more than `limit` bytes of it.
async fn read_line<R: AsyncBufRead + Unpin>(
    reader: &mut R,
    line: &mut Vec<u8>,
    limit: usize,
) -> LineRead {
    line.clear();
    loop {
        let Ok(available) = reader.fill_buf().await else {
            return LineRead::End;
        };
        if available.is_empty() {
            return if line.is_empty() {
                LineRead::End
            } else {
                LineRead::Line
            };
        }
        let (taken, ends) = match available.iter().position(|&b| b == b'\n') {
            Some(at) => (at + 1, true),
            None => (available.len(), false),
        };
        if line.len() + taken - usize::from(ends) > limit {
            let room = limit - line.len();
            line.extend_from_slice(&available[..room]);
            reader.consume(room);
            return LineRead::TooLong;
        }
        line.extend_from_slice(&available[..taken]);
        reader.consume(taken);
        if ends {
            return LineRead::Line;
        }
    }
}

/// Bytes of the previous piece of a skipped line checked again with the next piece, so a
/// secret that straddles two pieces is seen (every form of a secret is shorter).
const SCAN_OVERLAP: usize = 1024;

/// Skips the rest of a line, looking in it for the API member's secrets as it goes (in
/// pieces, with [`SCAN_OVERLAP`], so memory stays bounded however long the line). Returns
/// whether the stream goes on, and whether the skipped part showed a secret.
async fn skip_line_scanning<R: AsyncBufRead + Unpin>(
    reader: &mut R,
    redactor: Option<&Redactor>,
) -> (bool, bool) {
    let mut tail: Vec<u8> = Vec::new();
    let mut revealed = false;
    loop {
        let Ok(available) = reader.fill_buf().await else {
            return (false, revealed);
        };
        if available.is_empty() {
            return (false, revealed);
        }
        let (taken, ends) = match available.iter().position(|&b| b == b'\n') {
            Some(at) => (at + 1, true),
            None => (available.len(), false),
        };
        if let Some(redactor) = redactor.filter(|_| !revealed) {
            tail.extend_from_slice(&available[..taken]);
            revealed = redactor.reveals(&String::from_utf8_lossy(&tail));
            let keep = tail.len().saturating_sub(SCAN_OVERLAP);
            tail.drain(..keep);
        }
        reader.consume(taken);
        if ends {
            return (true, revealed);
        }
    }
}

/// A value for [`MARKER_VARIABLE`] no other server of any run shares.
fn marker_value() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let number = NEXT.fetch_add(1, Ordering::Relaxed);
    let mut random = std::hash::RandomState::new().build_hasher();
    random.write_u64(number);
    random.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos(),
    );
    format!("{}-{number}-{:016x}", std::process::id(), random.finish())
}

impl ServerProcess {
    /// Starts the process; returns it with the ends the MCP client speaks through (what
    /// the server writes, filtered, and its standard input).
    pub fn spawn(launch: &Launch) -> std::io::Result<(ServerProcess, DuplexStream, ChildStdin)> {
        let mut command = Self::command(launch);
        command.stdin(Stdio::piped());
        let (mut child, marker) = Self::start(command)?;
        let missing =
            |what: &str| std::io::Error::other(format!("the server's {what} is not piped"));
        let stdout = child.stdout.take().ok_or_else(|| missing("stdout"))?;
        let stderr = child.stderr.take().ok_or_else(|| missing("stderr"))?;
        let stdin = child.stdin.take().ok_or_else(|| missing("stdin"))?;
        let (process, output) = Self::watched(child, &marker, launch);
        let (client_end, server_end) = tokio::io::duplex(1 << 16);
        tokio::spawn(forward_stdout(
            stdout,
            server_end,
            Arc::clone(&output),
            Arc::downgrade(&process.tree),
            launch.redactor.clone(),
        ));
        tokio::spawn(keep_output(
            stderr,
            output,
            launch.redactor.clone(),
            Stream::Stderr,
        ));
        Ok((process, client_end, stdin))
    }

    /// Starts a server that speaks MCP elsewhere (Streamable HTTP on a port): no standard
    /// input, and its standard output kept like its standard error (each line marked
    /// `[stdout]`), bounded and searched for secrets the same way.
    pub fn spawn_listening(launch: &Launch) -> std::io::Result<ServerProcess> {
        let mut command = Self::command(launch);
        command.stdin(Stdio::null());
        let (mut child, marker) = Self::start(command)?;
        let missing =
            |what: &str| std::io::Error::other(format!("the server's {what} is not piped"));
        let stdout = child.stdout.take().ok_or_else(|| missing("stdout"))?;
        let stderr = child.stderr.take().ok_or_else(|| missing("stderr"))?;
        let (process, output) = Self::watched(child, &marker, launch);
        tokio::spawn(keep_output(
            stdout,
            Arc::clone(&output),
            launch.redactor.clone(),
            Stream::Stdout,
        ));
        tokio::spawn(keep_output(
            stderr,
            output,
            launch.redactor.clone(),
            Stream::Stderr,
        ));
        Ok(process)
    }

    /// The command of a launch: its environment, its marker's place, its own process group.
    fn command(launch: &Launch) -> tokio::process::Command {
        let mut command = tokio::process::Command::new(&launch.program);
        command
            .args(&launch.args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        if !launch.inherit_env {
            command.env_clear();
            for (key, value) in std::env::vars_os() {
                let name = key.to_string_lossy();
                if is_essential(&name) || launch.pass_env.iter().any(|p| *p == name) {
                    command.env(&key, &value);
                }
            }
        }
        command.envs(launch.env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        #[cfg(unix)]
        command.process_group(0);
        command
    }

    /// Starts the command with a marker of its own; returns the child and the marker.
    fn start(mut command: tokio::process::Command) -> std::io::Result<(Child, String)> {
        let marker = marker_value();
        command.env(MARKER_VARIABLE, &marker);
        Ok((command.spawn()?, marker))
    }

    /// The process, and the output its readers fill.
    fn watched(child: Child, marker: &str, launch: &Launch) -> (ServerProcess, Arc<Mutex<Output>>) {
        let tree = Arc::new(Tree {
            group: child.id(),
            child: Mutex::new(child),
            marker: format!("{MARKER_VARIABLE}={marker}"),
        });
        let output: Arc<Mutex<Output>> = Arc::default();
        let process = ServerProcess {
            tree,
            output: Arc::clone(&output),
            redactor: launch.redactor.clone(),
        };
        (process, output)
    }

    /// The process id (and process group id).
    pub fn id(&self) -> Option<u32> {
        self.tree.group
    }

    /// The value of [`MARKER_VARIABLE`] the server and everything it starts carry.
    pub fn marker(&self) -> &str {
        self.tree
            .marker
            .split_once('=')
            .map_or("", |(_, value)| value)
    }

    /// `text` with every form of every secret replaced by `[redacted]`.
    pub fn redact(&self, text: &str) -> String {
        self.redactor.redact(text).into_owned()
    }

    /// What hides the secrets.
    pub fn redactor(&self) -> &Redactor {
        &self.redactor
    }

    /// Why the harness stopped the server, if it did.
    pub fn stopped_because(&self) -> Option<String> {
        let output = self.output.lock().unwrap_or_else(PoisonError::into_inner);
        output.overflowed.then(|| {
            format!(
                "the MCP server wrote a line longer than {} MiB to standard output (the most one JSON-RPC message may take), so the harness stopped it",
                MAX_MESSAGE_BYTES / (1024 * 1024)
            )
        })
    }

    /// How the process ended, if it has.
    pub fn exit_status(&self) -> Option<String> {
        let mut child = self
            .tree
            .child
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        match child.try_wait() {
            Ok(Some(status)) => Some(status.to_string()),
            Ok(None) | Err(_) => None,
        }
    }

    /// Waits a little for the process to end (after its stdout closed) and for the last of
    /// its output to be read, then says how it ended.
    pub async fn settle(&self) -> Option<String> {
        let mut status = None;
        for _ in 0..40 {
            status = status.or_else(|| self.exit_status());
            let drained = {
                let output = self.output.lock().unwrap_or_else(PoisonError::into_inner);
                output.stdout_closed && output.stderr_closed
            };
            if status.is_some() && drained {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        status
    }

    /// Lines of standard output that were not JSON-RPC (at most a few, secrets redacted),
    /// and how many.
    pub fn garbage(&self) -> (Vec<String>, usize) {
        let output = self.output.lock().unwrap_or_else(PoisonError::into_inner);
        (
            output.garbage.iter().map(|l| self.shown(l)).collect(),
            output.garbage_count,
        )
    }

    /// The last lines of standard error, secrets redacted.
    pub fn stderr_tail(&self) -> Vec<String> {
        let output = self.output.lock().unwrap_or_else(PoisonError::into_inner);
        output.stderr.iter().map(|l| self.shown(l)).collect()
    }

    /// The lines of its output (standard error, or standard output that is not JSON-RPC)
    /// in which the server showed a secret of its API member, redacted and clipped, with
    /// how many there were.
    pub fn secrets_shown(&self) -> (Vec<String>, usize) {
        let output = self.output.lock().unwrap_or_else(PoisonError::into_inner);
        (
            output.secrets.iter().map(|l| self.shown(l)).collect(),
            output.secret_count,
        )
    }

    /// [`Self::secrets_shown`], forgotten once returned: the next call finds only what the
    /// server shows from now on.
    pub fn take_secrets_shown(&self) -> (Vec<String>, usize) {
        let mut output = self.output.lock().unwrap_or_else(PoisonError::into_inner);
        let lines = std::mem::take(&mut output.secrets);
        let count = std::mem::take(&mut output.secret_count);
        (lines.iter().map(|l| self.shown(l)).collect(), count)
    }

    /// A line as shown: redacted first, then clipped (so no part of a secret is left).
    fn shown(&self, line: &str) -> String {
        clip(&self.redactor.redact(line))
    }

    /// Kills the process and everything it started.
    pub fn kill(&self) {
        self.tree.kill();
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Reads the server's standard output: JSON-RPC lines go to the client, others are kept as
/// evidence; a line beyond the bound stops the server.
async fn forward_stdout(
    stdout: tokio::process::ChildStdout,
    mut server_end: DuplexStream,
    sink: Arc<Mutex<Output>>,
    tree: Weak<Tree>,
    redactor: Redactor,
) {
    let mut reader = BufReader::with_capacity(1 << 16, stdout);
    let mut line = Vec::new();
    loop {
        match read_line(&mut reader, &mut line, MAX_MESSAGE_BYTES).await {
            LineRead::End => break,
            LineRead::TooLong => {
                sink.lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .overflowed = true;
                if let Some(tree) = tree.upgrade() {
                    tree.kill();
                }
                break;
            }
            LineRead::Line => {}
        }
        let text = String::from_utf8_lossy(&line);
        if text.trim().is_empty() {
            continue;
        }
        if is_json_rpc(&text) {
            let forwarded = server_end
                .write_all(text.trim_end().as_bytes())
                .await
                .is_ok()
                && server_end.write_all(b"\n").await.is_ok();
            if !forwarded {
                break;
            }
        } else {
            let mut output = sink.lock().unwrap_or_else(PoisonError::into_inner);
            output.garbage_count += 1;
            if output.garbage.len() < GARBAGE_LINES {
                output.garbage.push(bounded(&line));
            }
            output.note_secret(&redactor, "standard output", &text);
        }
    }
    // Dropping `server_end` ends the client's stream: the server closed its stdout.
    sink.lock()
        .unwrap_or_else(PoisonError::into_inner)
        .stdout_closed = true;
}

/// The first [`STDERR_LINE_BYTES`] of a line, as text.
fn bounded(line: &[u8]) -> String {
    String::from_utf8_lossy(&line[..line.len().min(STDERR_LINE_BYTES)]).into_owned()
}

/// Which of the server's streams a reader keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stream {
    /// Standard output of a server that speaks MCP elsewhere (its lines marked `[stdout]`).
    Stdout,
    /// Standard error.
    Stderr,
}

impl Stream {
    fn name(self) -> &'static str {
        match self {
            Stream::Stdout => "standard output",
            Stream::Stderr => "standard error",
        }
    }
}

/// Keeps the tail of one of the server's streams (standard error, or the standard output
/// of a server that speaks MCP elsewhere) with the other's, each line bounded.
async fn keep_output<R: tokio::io::AsyncRead + Unpin>(
    stream: R,
    sink: Arc<Mutex<Output>>,
    redactor: Redactor,
    which: Stream,
) {
    let mut reader = BufReader::new(stream);
    let mut line = Vec::new();
    loop {
        let read = read_line(&mut reader, &mut line, STDERR_LINE_BYTES).await;
        if read == LineRead::End {
            break;
        }
        {
            let mut output = sink.lock().unwrap_or_else(PoisonError::into_inner);
            let text = bounded(&line);
            output.note_secret(&redactor, which.name(), &text);
            output.stderr.push_back(match which {
                Stream::Stdout => format!("[stdout] {text}"),
                Stream::Stderr => text,
            });
            if output.stderr.len() > STDERR_LINES {
                output.stderr.pop_front();
            }
        }
        if read == LineRead::TooLong {
            let (more, revealed) = skip_line_scanning(&mut reader, Some(&redactor)).await;
            if revealed {
                sink.lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .note_secret_beyond(&redactor, which.name(), &bounded(&line));
            }
            if !more {
                break;
            }
        }
    }
    let mut output = sink.lock().unwrap_or_else(PoisonError::into_inner);
    match which {
        Stream::Stdout => output.stdout_closed = true,
        Stream::Stderr => output.stderr_closed = true,
    }
}

impl Tree {
    /// Kills the process group, and on Linux every marked or descended process.
    fn kill(&self) {
        let mut child = self.child.lock().unwrap_or_else(PoisonError::into_inner);
        // While the child is not reaped its id cannot be reused: its descendants are ours.
        // They are found before the server dies, while their parent links still lead to it.
        #[cfg(target_os = "linux")]
        let root = child.id();
        #[cfg(target_os = "linux")]
        linux::kill_marked_and_descended(root, &self.marker, 1);
        #[cfg(unix)]
        if let Some(group) = self.group.and_then(|g| i32::try_from(g).ok()) {
            // The group may be gone already; nothing else to do then.
            let _ = nix::sys::signal::killpg(
                nix::unistd::Pid::from_raw(group),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
        #[cfg(target_os = "linux")]
        linux::kill_marked_and_descended(root, &self.marker, linux::SWEEPS);
        let _ = child.start_kill();
    }
}

/// Finding a server's processes through `/proc`.
#[cfg(target_os = "linux")]
mod linux {
    use nix::sys::signal::{Signal, kill};
    use nix::unistd::Pid;

    /// Sweeps after a fork that raced the previous sweep; a server that forks faster than
    /// this is stopped by its process group and marker all the same.
    pub(super) const SWEEPS: usize = 10;

    /// A running process (not a zombie) and its parent.
    struct Entry {
        pid: u32,
        parent: u32,
    }

    /// Every running process of the system.
    fn processes() -> Vec<Entry> {
        let Ok(dir) = std::fs::read_dir("/proc") else {
            return Vec::new();
        };
        dir.filter_map(|entry| {
            let pid: u32 = entry.ok()?.file_name().to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            // `pid (command) state ppid …`; the command may hold spaces and parentheses.
            let mut fields = stat.rsplit_once(") ")?.1.split(' ');
            let state = fields.next()?;
            let parent = fields.next()?.parse().ok()?;
            (state != "Z" && state != "X").then_some(Entry { pid, parent })
        })
        .collect()
    }

    /// Whether a process's environment holds `marker` (`NAME=value`).
    fn carries(pid: u32, marker: &str) -> bool {
        std::fs::read(format!("/proc/{pid}/environ"))
            .is_ok_and(|environ| environ.split(|&b| b == 0).any(|v| v == marker.as_bytes()))
    }

    /// The processes to kill: those carrying the marker, and every descendant of them and
    /// of `root`.
    fn doomed(root: Option<u32>, marker: &str) -> Vec<u32> {
        let all = processes();
        let own = std::process::id();
        let mut found: Vec<u32> = all
            .iter()
            .filter(|p| p.pid != own && carries(p.pid, marker))
            .map(|p| p.pid)
            .collect();
        let mut parents: Vec<u32> = found.iter().copied().chain(root).collect();
        while let Some(parent) = parents.pop() {
            for child in all.iter().filter(|p| p.parent == parent && p.pid != own) {
                if !found.contains(&child.pid) {
                    found.push(child.pid);
                    parents.push(child.pid);
                }
            }
        }
        found
    }

    /// Kills every process that carries `marker` or descends from `root` (or from a marked
    /// process), sweeping again (up to `sweeps` times) until none is left.
    pub(super) fn kill_marked_and_descended(root: Option<u32>, marker: &str, sweeps: usize) {
        for _ in 0..sweeps {
            let found = doomed(root, marker);
            // The root itself is killed through its group; it stays until reaped.
            let left: Vec<u32> = found.into_iter().filter(|&p| Some(p) != root).collect();
            if left.is_empty() {
                return;
            }
            for pid in left {
                if let Ok(pid) = i32::try_from(pid) {
                    let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
                }
            }
        }
    }
}

#[cfg(all(test, unix))]
mod tests {
    use tokio::io::AsyncReadExt;

    use super::*;

    /// A server that is a shell script, whose output redacts `canary-key-42`.
    fn shell(script: &str) -> Launch {
        Launch {
            program: "sh".into(),
            args: vec!["-c".into(), script.into()],
            redactor: Redactor::new(["canary-key-42"]),
            ..Launch::default()
        }
    }

    /// Whether a process is still running (a zombie waiting to be reaped is not).
    fn running(pid: u32) -> bool {
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .ok()
            .and_then(|stat| {
                stat.rsplit_once(") ")
                    .and_then(|(_, rest)| rest.chars().next())
            })
            .is_some_and(|state| state != 'Z' && state != 'X')
    }

    #[tokio::test]
    async fn output_is_sorted_secrets_redacted_and_the_whole_group_killed() {
        let script = r#"
            sleep 300 &
            echo "child $!" >&2
            echo 'not json at all'
            echo '{"jsonrpc":"2.0","id":1,"result":{}}'
            echo "signing in with canary-key-42" >&2
            exec sleep 300
        "#;
        let launch = shell(script);
        let (process, mut from_server, _to_server) = ServerProcess::spawn(&launch).unwrap();
        let mut forwarded = vec![0; 64];
        let read = tokio::time::timeout(
            std::time::Duration::from_secs(5),
            from_server.read(&mut forwarded),
        )
        .await
        .unwrap()
        .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&forwarded[..read]),
            "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}\n"
        );
        let mut tail = Vec::new();
        for _ in 0..100 {
            tail = process.stderr_tail();
            if tail.len() == 2 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        assert_eq!(tail[1], "signing in with [redacted]");
        assert_eq!(process.garbage(), (vec!["not json at all".to_owned()], 1));
        // A kept server's secrets belong to the scenario it served when it showed them:
        // taken once, they are not found again.
        assert_eq!(
            process.take_secrets_shown(),
            (
                vec!["standard error: signing in with [redacted]".to_owned()],
                1
            )
        );
        assert_eq!(process.take_secrets_shown(), (Vec::new(), 0));
        let child: u32 = tail[0].trim_start_matches("child ").parse().unwrap();
        let server = process.id().unwrap();
        assert!(running(child) && running(server));
        drop(process);
        for _ in 0..100 {
            if !running(child) && !running(server) {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        assert!(!running(child), "the server's own child {child} survived");
        assert!(!running(server), "the server {server} survived");
    }

    /// A secret far along a line longer than what is kept is still found, also where it
    /// straddles two pieces of the read; memory stays bounded (the line is not kept).
    #[rstest::rstest]
    #[case::in_one_piece(10_000)]
    #[case::across_pieces(8_190)]
    #[tokio::test]
    async fn a_secret_past_the_kept_part_of_a_long_line_is_found(#[case] at: usize) {
        let secret = "s3cr3t-private-key-value";
        let redactor = Redactor::new([secret]);
        let mut input = "x".repeat(at).into_bytes();
        input.extend_from_slice(secret.as_bytes());
        input.extend_from_slice(&b"y".repeat(20_000));
        input.extend_from_slice(b"\nnext\n");
        let mut reader = BufReader::with_capacity(8_192, &input[..]);
        let mut line = Vec::new();
        assert_eq!(
            read_line(&mut reader, &mut line, STDERR_LINE_BYTES).await,
            LineRead::TooLong
        );
        assert!(!redactor.reveals(&bounded(&line)));
        assert_eq!(
            skip_line_scanning(&mut reader, Some(&redactor)).await,
            (true, true)
        );
        assert_eq!(
            read_line(&mut reader, &mut line, STDERR_LINE_BYTES).await,
            LineRead::Line
        );
        assert_eq!(line, b"next\n");
        let mut output = Output::default();
        output.note_secret_beyond(&redactor, "standard error", &bounded(b"xxxx"));
        assert_eq!(output.secret_count, 1);
        assert!(output.secrets[0].contains("a secret further along this line"));

        let clean = "z".repeat(50_000) + "\n";
        let mut reader = BufReader::new(clean.as_bytes());
        assert_eq!(
            skip_line_scanning(&mut reader, Some(&redactor)).await,
            (true, false)
        );
        assert_eq!(
            skip_line_scanning(&mut reader, Some(&redactor)).await,
            (false, false)
        );
    }

    #[tokio::test]
    async fn a_line_is_read_to_its_bound_and_no_further() {
        let input: &[u8] = b"short\n0123456789abcdef\nlast";
        let mut reader = BufReader::with_capacity(4, input);
        let mut line = Vec::new();
        assert_eq!(read_line(&mut reader, &mut line, 8).await, LineRead::Line);
        assert_eq!(line, b"short\n");
        assert_eq!(
            read_line(&mut reader, &mut line, 8).await,
            LineRead::TooLong
        );
        assert_eq!(line, b"01234567");
        assert!(skip_line_scanning(&mut reader, None).await.0);
        assert_eq!(read_line(&mut reader, &mut line, 8).await, LineRead::Line);
        assert_eq!(line, b"last");
        assert_eq!(read_line(&mut reader, &mut line, 8).await, LineRead::End);
        // Exactly at the bound is a line; one byte more is not.
        let mut reader = BufReader::new(&b"12345678\n123456789\n"[..]);
        assert_eq!(read_line(&mut reader, &mut line, 8).await, LineRead::Line);
        assert_eq!(
            read_line(&mut reader, &mut line, 8).await,
            LineRead::TooLong
        );
    }

    /// Waits (bounded) for a condition on the process's output.
    async fn until(mut done: impl FnMut() -> bool) {
        for _ in 0..250 {
            if done() {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    #[tokio::test]
    async fn a_line_of_stdout_beyond_the_bound_stops_the_server_and_stderr_lines_are_bounded() {
        // A stderr line of 1 MiB with the key at its start, then a stdout line without end.
        let script = r"
            head -c 1048576 /dev/zero | tr '\0' 'e' | sed 's/^/canary-key-42 /' >&2
            echo >&2
            echo 'after the long line' >&2
            exec tr '\0' 'x' < /dev/zero
        ";
        let launch = shell(script);
        let (process, mut from_server, _to_server) = ServerProcess::spawn(&launch).unwrap();
        let mut forwarded = Vec::new();
        // The client's stream ends: the server was stopped, nothing of the line passed on.
        tokio::time::timeout(
            std::time::Duration::from_secs(30),
            from_server.read_to_end(&mut forwarded),
        )
        .await
        .unwrap()
        .unwrap();
        assert!(forwarded.is_empty());
        let stopped = process.stopped_because().unwrap();
        assert!(
            stopped.starts_with("the MCP server wrote a line longer than 16 MiB"),
            "{stopped}"
        );
        until(|| process.exit_status().is_some()).await;
        assert!(process.exit_status().unwrap().contains("signal: 9"));
        until(|| process.stderr_tail().len() == 2).await;
        let tail = process.stderr_tail();
        assert!(tail[0].starts_with("[redacted] eeee"), "{tail:?}");
        assert!(tail[0].ends_with('…') && tail[0].chars().count() <= LINE_CHARS + 1);
        assert_eq!(tail[1], "after the long line");
    }

    /// What `script` writes to standard error, run as the server.
    async fn environment_of(launch: Launch, script: &str) -> Vec<String> {
        let (process, _from_server, _to_server) = ServerProcess::spawn(&Launch {
            program: "sh".into(),
            args: vec!["-c".into(), script.into()],
            ..launch
        })
        .expect("sh starts");
        let output = || {
            process
                .output
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
        };
        until(|| output().stderr_closed).await;
        let mut variables: Vec<String> = output()
            .stderr
            .iter()
            .map(|l| l.trim_end().to_owned())
            .collect();
        variables.sort();
        variables
    }

    #[tokio::test]
    async fn a_server_gets_the_essentials_what_it_is_passed_and_what_is_set_and_nothing_else() {
        let names = |variables: &[String]| -> Vec<String> {
            variables
                .iter()
                .filter_map(|v| v.split_once('=').map(|(name, _)| name.to_owned()))
                .collect()
        };
        let launch = Launch {
            env: vec![("CW_PRIVATE".into(), "set-for-the-server".into())],
            pass_env: vec!["CARGO_PKG_NAME".into()],
            ..Launch::default()
        };
        let variables = environment_of(launch, "env >&2").await;
        assert!(variables.len() < STDERR_LINES, "{variables:?}");
        let shown = names(&variables);
        for name in &shown {
            assert!(
                is_essential(name)
                    || [
                        "CW_PRIVATE",
                        "CARGO_PKG_NAME",
                        MARKER_VARIABLE,
                        "PWD",
                        "SHLVL",
                        "_"
                    ]
                    .contains(&name.as_str()),
                "{name} reached the server: {shown:?}"
            );
        }
        assert!(shown.contains(&"PATH".to_owned()), "{shown:?}");
        assert!(variables.contains(&"CW_PRIVATE=set-for-the-server".to_owned()));
        assert!(variables.contains(&format!("CARGO_PKG_NAME={}", env!("CARGO_PKG_NAME"))));
        // `cargo test` sets many variables the server must not see (CARGO_MANIFEST_DIR …).
        assert!(std::env::var_os("CARGO_MANIFEST_DIR").is_some());
        assert!(
            !shown.contains(&"CARGO_MANIFEST_DIR".to_owned()),
            "{shown:?}"
        );
        let probed = Launch {
            inherit_env: true,
            ..Launch::default()
        };
        assert_eq!(
            environment_of(probed, "printenv CARGO_MANIFEST_DIR >&2").await,
            [env!("CARGO_MANIFEST_DIR")]
        );
    }

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn children_that_leave_the_group_or_clear_their_environment_are_killed_too() {
        // One child in a session of its own whose parent exits (found by the marker), one
        // in a session of its own with an empty environment (found as a descendant).
        let script = r#"
            setsid -f sh -c 'echo "marked $$" >&2; exec sleep 300'
            setsid env -i /bin/sh -c 'echo "descended $$" >&2; exec sleep 300' &
            exec sleep 300
        "#;
        let launch = shell(script);
        let (process, _from_server, _to_server) = ServerProcess::spawn(&launch).unwrap();
        until(|| process.stderr_tail().len() == 2).await;
        let pids: Vec<u32> = process
            .stderr_tail()
            .iter()
            .map(|l| l.rsplit_once(' ').unwrap().1.parse().unwrap())
            .collect();
        assert_eq!(pids.len(), 2, "{:?}", process.stderr_tail());
        let server = process.id().unwrap();
        let group = |pid: u32| {
            std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .unwrap()
                .rsplit_once(") ")
                .unwrap()
                .1
                .split(' ')
                .nth(2)
                .unwrap()
                .parse::<u32>()
                .unwrap()
        };
        until(|| pids.iter().all(|&p| running(p) && group(p) == p)).await;
        for &pid in &pids {
            assert!(running(pid), "{pid} is not running");
            assert_ne!(group(pid), server, "{pid} is still in the server's group");
        }
        drop(process);
        until(|| pids.iter().all(|&p| !running(p))).await;
        for pid in pids {
            assert!(!running(pid), "the detached process {pid} survived");
        }
    }
}
