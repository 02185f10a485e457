//! A vendor's MCP server as a child process: started in a process group of its own, its
//! standard output checked line by line (what is not JSON-RPC is kept as evidence, not
//! passed on), the tail of its standard error kept for failure messages with secrets
//! redacted, and the whole group killed when it is dropped, so nothing it started is left
//! behind.

use std::collections::VecDeque;
use std::process::Stdio;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, DuplexStream};
use tokio::process::{Child, ChildStdin};

/// Lines of standard error kept.
const STDERR_LINES: usize = 30;
/// Characters kept of one line.
const LINE_CHARS: usize = 400;
/// Lines that are not JSON-RPC kept as evidence.
const GARBAGE_LINES: usize = 5;

/// What the server wrote that the harness keeps for failure messages.
#[derive(Debug, Default)]
struct Output {
    stderr: VecDeque<String>,
    garbage: Vec<String>,
    garbage_count: usize,
    /// Standard output and standard error reached their end.
    stdout_closed: bool,
    stderr_closed: bool,
}

/// A running server process.
#[derive(Debug)]
pub struct ServerProcess {
    child: Mutex<Child>,
    group: Option<u32>,
    output: Arc<Mutex<Output>>,
    secrets: Vec<String>,
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
    /// Values never shown (private keys, Authorization headers).
    pub secrets: Vec<String>,
    /// Pass on the harness's own `CONNECTWISE_*` variables (`mcp-probe`); a scenario's
    /// server gets only what the config's template sets.
    pub inherit_connectwise: bool,
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

/// Whether a line of standard output is a JSON-RPC message.
fn is_json_rpc(line: &str) -> bool {
    serde_json::from_str::<serde_json::Value>(line)
        .ok()
        .is_some_and(|v| v.get("jsonrpc").and_then(serde_json::Value::as_str) == Some("2.0"))
}

impl ServerProcess {
    /// Starts the process; returns it with the ends the MCP client speaks through (what
    /// the server writes, filtered, and its standard input).
    pub fn spawn(launch: &Launch) -> std::io::Result<(ServerProcess, DuplexStream, ChildStdin)> {
        let mut command = tokio::process::Command::new(&launch.program);
        command
            .args(&launch.args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        // The harness's own ConnectWise settings are not the scenario's: only the config's
        // environment template points the server at ConnectWise.
        for (key, _) in std::env::vars_os() {
            if !launch.inherit_connectwise && key.to_string_lossy().starts_with("CONNECTWISE_") {
                command.env_remove(key);
            }
        }
        command.envs(launch.env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        #[cfg(unix)]
        command.process_group(0);
        let mut child = command.spawn()?;
        let missing =
            |what: &str| std::io::Error::other(format!("the server's {what} is not piped"));
        let stdout = child.stdout.take().ok_or_else(|| missing("stdout"))?;
        let stderr = child.stderr.take().ok_or_else(|| missing("stderr"))?;
        let stdin = child.stdin.take().ok_or_else(|| missing("stdin"))?;
        let group = child.id();
        let output: Arc<Mutex<Output>> = Arc::default();
        let (client_end, mut server_end) = tokio::io::duplex(1 << 16);

        let sink = Arc::clone(&output);
        tokio::spawn(async move {
            let mut reader = BufReader::new(stdout);
            let mut line = Vec::new();
            loop {
                line.clear();
                match reader.read_until(b'\n', &mut line).await {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {}
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
                        output.garbage.push(clip(&text));
                    }
                }
            }
            // Dropping `server_end` ends the client's stream: the server closed its stdout.
            sink.lock()
                .unwrap_or_else(PoisonError::into_inner)
                .stdout_closed = true;
        });

        let sink = Arc::clone(&output);
        tokio::spawn(async move {
            let mut reader = BufReader::new(stderr);
            let mut line = Vec::new();
            loop {
                line.clear();
                match reader.read_until(b'\n', &mut line).await {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {}
                }
                let mut output = sink.lock().unwrap_or_else(PoisonError::into_inner);
                output
                    .stderr
                    .push_back(clip(&String::from_utf8_lossy(&line)));
                if output.stderr.len() > STDERR_LINES {
                    output.stderr.pop_front();
                }
            }
            sink.lock()
                .unwrap_or_else(PoisonError::into_inner)
                .stderr_closed = true;
        });

        let process = ServerProcess {
            child: Mutex::new(child),
            group,
            output,
            secrets: launch
                .secrets
                .iter()
                .filter(|s| s.len() >= 4)
                .cloned()
                .collect(),
        };
        Ok((process, client_end, stdin))
    }

    /// The process id (and process group id).
    pub fn id(&self) -> Option<u32> {
        self.group
    }

    /// `text` with every secret replaced by `[redacted]`.
    pub fn redact(&self, text: &str) -> String {
        self.secrets.iter().fold(text.to_owned(), |text, secret| {
            text.replace(secret.as_str(), "[redacted]")
        })
    }

    /// How the process ended, if it has.
    pub fn exit_status(&self) -> Option<String> {
        let mut child = self.child.lock().unwrap_or_else(PoisonError::into_inner);
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

    /// Lines of standard output that were not JSON-RPC (at most a few), and how many.
    pub fn garbage(&self) -> (Vec<String>, usize) {
        let output = self.output.lock().unwrap_or_else(PoisonError::into_inner);
        (
            output.garbage.iter().map(|l| self.redact(l)).collect(),
            output.garbage_count,
        )
    }

    /// The last lines of standard error, secrets redacted.
    pub fn stderr_tail(&self) -> Vec<String> {
        let output = self.output.lock().unwrap_or_else(PoisonError::into_inner);
        output.stderr.iter().map(|l| self.redact(l)).collect()
    }

    /// Kills the process and everything it started.
    pub fn kill(&self) {
        #[cfg(unix)]
        if let Some(group) = self.group.and_then(|g| i32::try_from(g).ok()) {
            // The group may be gone already; nothing else to do then.
            let _ = nix::sys::signal::killpg(
                nix::unistd::Pid::from_raw(group),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
        let mut child = self.child.lock().unwrap_or_else(PoisonError::into_inner);
        let _ = child.start_kill();
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

#[cfg(all(test, unix))]
mod tests {
    use tokio::io::AsyncReadExt;

    use super::*;

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
        let launch = Launch {
            program: "sh".into(),
            args: vec!["-c".into(), script.into()],
            env: Vec::new(),
            secrets: vec!["canary-key-42".into()],
            inherit_connectwise: false,
        };
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
}
