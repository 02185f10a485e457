//! A deliberately misbehaving MCP server, for the robustness tests of the MCP adapter
//! (`tests/it/mcp.rs`). A hand-written JSON-RPC loop over stdio, so it can break the
//! protocol on purpose.
//!
//! `faulty_mcp_server MODE`, where MODE is
//! - `crash-at-start`: writes to stderr (with the private key, which must be redacted) and
//!   exits 3;
//! - `hang-at-start`: starts a `sleep` child and never answers;
//! - `garbage-at-start`: answers every request with a line that is not JSON;
//! - `serve`: answers properly, and offers tools that misbehave when called: `connect`
//!   (calls ConnectWise `/system/info` honestly), `search_contacts` (swallows a 403 and
//!   answers an empty list), `crash` (exits mid-call), `hang` (never answers, after starting
//!   a `sleep` child), `garbage` (answers with a line that is not JSON), `leak` (shows the
//!   private key in its result).
//!
//! ConnectWise is named by `CW_SITE`, `CW_COMPANY`, `CW_PUBLIC`, `CW_PRIVATE` and
//! `CW_CLIENT`; every process it starts is appended to the file `FAULTY_PIDS`, so a test
//! can check that none is left behind.

use std::io::{BufRead, Write};

use base64::Engine as _;
use serde_json::{Value, json};

fn var(name: &str) -> String {
    std::env::var(name).unwrap_or_default()
}

/// Notes a process id in `FAULTY_PIDS`.
fn note_pid(pid: u32) {
    let path = var("FAULTY_PIDS");
    if path.is_empty() {
        return;
    }
    if let Ok(mut file) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
    {
        let _ = writeln!(file, "{pid}");
    }
}

/// Starts a long `sleep` as a child, so killing only the server would leave it behind.
fn start_child() {
    if let Ok(child) = std::process::Command::new("sleep").arg("300").spawn() {
        note_pid(child.id());
    }
}

fn send(message: &Value) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{message}");
    let _ = out.flush();
}

fn text_result(id: &Value, text: &str, is_error: bool) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "result": {
        "content": [{"type": "text", "text": text}],
        "isError": is_error
    }})
}

/// A GET against ConnectWise as the configured API member: the status and the body.
fn connectwise_get(path: &str) -> (u16, String) {
    let url = format!("{}/v4_6_release/apis/3.0{path}", var("CW_SITE"));
    let credentials = format!(
        "{}+{}:{}",
        var("CW_COMPANY"),
        var("CW_PUBLIC"),
        var("CW_PRIVATE")
    );
    let authorization = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(credentials)
    );
    let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        return (0, String::new());
    };
    runtime.block_on(async {
        let response = reqwest::Client::new()
            .get(url)
            .header("Authorization", authorization)
            .header("clientId", var("CW_CLIENT"))
            .send()
            .await;
        match response {
            Ok(response) => {
                let status = response.status().as_u16();
                (status, response.text().await.unwrap_or_default())
            }
            Err(_) => (0, String::new()),
        }
    })
}

fn tools() -> Value {
    let schema = json!({"type": "object", "properties": {"query": {"type": "string"}, "id": {"type": "integer"}}});
    let tool = |name: &str, description: &str| json!({"name": name, "description": description, "inputSchema": schema, "annotations": {"readOnlyHint": true}});
    json!([
        tool("connect", "check the connection"),
        tool("search_contacts", "search contacts (swallows a 403)"),
        tool("crash", "exits mid-call"),
        tool("hang", "never answers"),
        tool("garbage", "answers with a line that is not JSON"),
        tool("leak", "shows the private key in its result"),
    ])
}

fn call(id: &Value, tool: &str) {
    match tool {
        "connect" => {
            let (status, _) = connectwise_get("/system/info");
            if (200..300).contains(&status) {
                send(&text_result(id, "Connected.", false));
            } else {
                send(&text_result(
                    id,
                    &format!("Authentication failed ({status})"),
                    true,
                ));
            }
        }
        "search_contacts" => {
            let (status, body) = connectwise_get("/company/contacts");
            // The fault: a 403 becomes an empty list, as if nothing matched.
            let body = if status == 403 { "[]".to_owned() } else { body };
            send(&text_result(id, &body, false));
        }
        "crash" => {
            eprintln!("faulty server: lost the ConnectWise session, giving up");
            std::process::exit(101);
        }
        "hang" => {
            eprintln!("faulty server: waiting for a lock that never frees");
            start_child();
        }
        "garbage" => {
            println!("<html>502 Bad Gateway</html>");
            let _ = std::io::stdout().flush();
        }
        "leak" => send(&text_result(
            id,
            &format!("Signed in with the key {}", var("CW_PRIVATE")),
            false,
        )),
        other => send(
            &json!({"jsonrpc": "2.0", "id": id, "error": {"code": -32602, "message": format!("unknown tool {other}")}}),
        ),
    }
}

fn serve() {
    let stdin = std::io::stdin();
    for line in stdin.lock().lines() {
        let Ok(line) = line else { break };
        let Ok(message) = serde_json::from_str::<Value>(&line) else {
            continue;
        };
        let Some(id) = message.get("id").cloned() else {
            continue; // a notification
        };
        let method = message
            .get("method")
            .and_then(Value::as_str)
            .unwrap_or_default();
        match method {
            "initialize" => {
                let version = message
                    .pointer("/params/protocolVersion")
                    .cloned()
                    .unwrap_or(json!("2025-06-18"));
                send(&json!({"jsonrpc": "2.0", "id": id, "result": {
                    "protocolVersion": version,
                    "capabilities": {"tools": {}},
                    "serverInfo": {"name": "faulty", "version": "0.0.1"}
                }}));
            }
            "ping" => send(&json!({"jsonrpc": "2.0", "id": id, "result": {}})),
            "tools/list" => {
                send(&json!({"jsonrpc": "2.0", "id": id, "result": {"tools": tools()}}));
            }
            "tools/call" => {
                let tool = message
                    .pointer("/params/name")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned();
                call(&id, &tool);
            }
            other => send(
                &json!({"jsonrpc": "2.0", "id": id, "error": {"code": -32601, "message": format!("unknown method {other}")}}),
            ),
        }
    }
}

fn main() {
    note_pid(std::process::id());
    let mode = std::env::args().nth(1).unwrap_or_default();
    match mode.as_str() {
        "crash-at-start" => {
            eprintln!(
                "faulty server: cannot sign in with private key {}",
                var("CW_PRIVATE")
            );
            std::process::exit(3);
        }
        "hang-at-start" => {
            eprintln!("faulty server: loading, please wait");
            start_child();
            std::thread::sleep(std::time::Duration::from_secs(300));
        }
        "garbage-at-start" => {
            eprintln!("faulty server: printing a banner");
            for line in std::io::stdin().lock().lines() {
                if line.is_err() {
                    break;
                }
                println!("Welcome to the faulty server!");
                let _ = std::io::stdout().flush();
            }
        }
        _ => serve(),
    }
}
