//! `cw-conform serve`: the mock ConnectWise on a port, for a vendor's own client.
//!
//! It runs for as long as the user likes, so it uses the mock's bounded server: request
//! URL, header and body sizes are limited (see [`crate::mock::server`]; the body limit is
//! `--max-body-bytes`), and the journal keeps only the most recent requests
//! ([`Retention::SERVE`]).

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use std::sync::Arc;
use std::time::Duration;

use super::{CommandError, exit};
use crate::connectwise::Secret;
use crate::fixtures::Fixtures;
use crate::mock::{ApiMember, Fault, Limits, MockConfig, MockConnectWise, Retention};
use crate::model::{FunctionName, SecurityRole};

/// The seed's API member: the member `serve` signs in without a members file, and the model
/// of the records it adds for a members file's others.
const SEED_API_MEMBER: &str = "ai-integration";

/// What `serve` was asked to do: the command line of `cw-conform serve`.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// Port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// Role profile name (least-privilege, read-only-discovery, …) or a role .toml file.
    #[arg(long, default_value = "least-privilege")]
    pub role: String,
    /// The sign-in company code clients must send.
    #[arg(long, default_value = "northwind")]
    pub company_id: String,
    /// The API member's public key (default: a mock-only key, printed at start).
    #[arg(long)]
    pub public_key: Option<String>,
    /// The API member's private key (default: a mock-only key, printed at start).
    #[arg(long)]
    pub private_key: Option<String>,
    /// A client ID to require (default: any).
    #[arg(long)]
    pub client_id: Option<String>,
    /// Answer the first N API requests with 429 and `Retry-After: 1` (rate-limit drill).
    #[arg(long, default_value_t = 0)]
    pub rate_limit_first: usize,
    /// Wait this many milliseconds before every answer.
    #[arg(long, default_value_t = 0)]
    pub delay_ms: u64,
    /// The largest request body accepted, in bytes; a larger one is answered 413
    /// without being read into memory.
    #[arg(long, default_value_t = crate::mock::server::DEFAULT_MAX_BODY_BYTES)]
    pub max_body_bytes: usize,
    /// A members file: several API members, each with its own role and keys, as a
    /// sandbox has them (instead of --role, --public-key and --private-key).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["public_key", "private_key"])]
    pub members: Option<PathBuf>,
    /// A testing aid for `cw-conform parity`: behave differently from the mock in one
    /// thing on purpose (security-code: a 403 body's code is Forbidden; default-page-size:
    /// 10 records a page without pageSize; start-status: a new ticket starts at its
    /// board's default status, whatever status the create names). Repeatable.
    #[arg(long = "drift", value_enum, value_name = "NAME")]
    pub drifts: Vec<Drift>,
}

/// A wire behaviour `serve --drift` changes on purpose, so that the served mock is no
/// longer the mock: a testing aid for `cw-conform parity`, which must then report exactly
/// that difference. Never a model of ConnectWise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Drift {
    /// A 403 body's `code` is `Forbidden` instead of `Security`.
    SecurityCode,
    /// A list without `pageSize` holds 10 records a page instead of 25.
    DefaultPageSize,
    /// A new ticket starts at its board's default status even when the create names
    /// another, as on a site whose workflow rule resets every new ticket. Nothing else
    /// about a ticket changes; an integration that copies a ticket's status into a write
    /// (a merge that names no status takes the parent ticket's) then sends another one.
    StartStatus,
}

impl Drift {
    /// Changes the behaviour in `fixtures`' settings.
    pub fn apply(self, fixtures: &mut Fixtures) {
        let settings = &mut fixtures.permissions.settings;
        match self {
            Drift::SecurityCode => "Forbidden".clone_into(&mut settings.security_code),
            Drift::DefaultPageSize => settings.default_page_size = 10,
            Drift::StartStatus => settings.default_references_always.push("status".to_owned()),
        }
    }

    /// What it changes, as `serve` announces it.
    pub fn describe(self) -> &'static str {
        match self {
            Drift::SecurityCode => "a 403 body's code is Forbidden instead of Security",
            Drift::DefaultPageSize => {
                "a list without pageSize holds 10 records a page instead of 25"
            }
            Drift::StartStatus => {
                "a new ticket starts at its board's default status, whatever status the create names"
            }
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MembersFile {
    member: Vec<MemberEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MemberEntry {
    identifier: String,
    role: String,
    public_key: String,
    private_key: String,
    /// Functions limited to some items of their Customize allow-list, on top of `role`'s
    /// own limits: `{ "Companies / Configurations" = ["Firewall"] }`.
    #[serde(default)]
    customize: BTreeMap<String, Vec<String>>,
}

/// `role` with the Customize limits of a member's `customize` table, as a role of its
/// own named as a scenario limiting a role that way names it (`scenario-…`). A mistake is
/// the text to find its line by, and the reason.
fn with_limits(
    fixtures: &Fixtures,
    mut role: SecurityRole,
    entry: &MemberEntry,
) -> Result<SecurityRole, (String, String)> {
    for (written, items) in &entry.customize {
        let quoted = format!("\"{written}\"");
        let name: FunctionName = written
            .parse()
            .map_err(|e: crate::model::UnknownName| (quoted.clone(), e.to_string()))?;
        let Some(function) = fixtures
            .permissions
            .functions
            .find(&name.module, &name.function)
        else {
            let reason = format!("unknown security function {quoted}");
            return Err((quoted, reason));
        };
        crate::fixtures::check_customize_limit(&fixtures.permissions, function, items).map_err(
            |error| {
                let needle = error
                    .item
                    .map_or_else(|| quoted.clone(), |item| format!("\"{item}\""));
                (needle, error.reason)
            },
        )?;
        role.limit_items(function.clone(), items.clone());
    }
    role.summary = format!(
        "the role \"{}\" with the Customize limits of the member \"{}\"",
        role.name, entry.identifier
    );
    role.name = crate::harness::sandbox::scenario_role_name(&role);
    Ok(role)
}

/// Reads a members file: `[[member]]` tables of `identifier`, `role` (a role profile, a
/// role file, or a scenario role `scenario-…` as `sandbox plan` names it), `public_key`,
/// `private_key` and, optionally, `customize` (functions limited to some of their Customize
/// items, which makes the member's role a role of its own, named `scenario-…` as a
/// scenario limiting a role that way names it). Errors name the file and the line.
pub fn load_members(path: &Path, fixtures: &Fixtures) -> Result<Vec<ApiMember>, CommandError> {
    let failed = |line: Option<usize>, reason: String| {
        CommandError::Usage(format!(
            "failed to load the members file {}: {}{reason}",
            path.display(),
            line.map(|l| format!("line {l}: ")).unwrap_or_default()
        ))
    };
    let text = std::fs::read_to_string(path).map_err(|e| failed(None, e.to_string()))?;
    let file: MembersFile = toml::from_str(&text).map_err(|e| {
        failed(
            e.span().map(|s| crate::fixtures::line_of(&text, s.start)),
            e.message().to_owned(),
        )
    })?;
    let line_of = |needle: &str| {
        text.find(needle)
            .map(|offset| crate::fixtures::line_of(&text, offset))
    };
    let mut members: Vec<ApiMember> = Vec::new();
    let names: Vec<&str> = file.member.iter().map(|m| m.role.as_str()).collect();
    let mut roles = crate::harness::sandbox::resolve_roles(fixtures, &names).into_iter();
    for entry in file.member {
        let resolved = roles
            .next()
            .unwrap_or_else(|| crate::harness::sandbox::resolve_role(fixtures, &entry.role));
        let quoted = format!("\"{}\"", entry.identifier);
        if members.iter().any(|m| m.identifier == entry.identifier) {
            return Err(failed(
                text.rfind(&quoted)
                    .map(|o| crate::fixtures::line_of(&text, o)),
                format!("the member \"{}\" is listed twice", entry.identifier),
            ));
        }
        if members.iter().any(|m| m.public_key == entry.public_key) {
            return Err(failed(
                line_of(&quoted),
                format!(
                    "the member \"{}\" has the public key of another member",
                    entry.identifier
                ),
            ));
        }
        let mut role = resolved.map_err(|e| {
            failed(
                line_of(&format!("\"{}\"", entry.role)),
                format!("member \"{}\": {e}", entry.identifier),
            )
        })?;
        if !entry.customize.is_empty() {
            // A mistake's line is looked up from the member's own table on.
            let from = text.find(&format!("identifier = {quoted}")).unwrap_or(0);
            role = with_limits(fixtures, role, &entry).map_err(|(needle, reason)| {
                let line = text[from..]
                    .find(&needle)
                    .map(|offset| crate::fixtures::line_of(&text, from + offset));
                failed(
                    line,
                    format!("member \"{}\": customize: {reason}", entry.identifier),
                )
            })?;
        }
        members.push(ApiMember {
            identifier: entry.identifier,
            public_key: entry.public_key,
            private_key: Secret::new(entry.private_key),
            role,
        });
    }
    if members.is_empty() {
        return Err(failed(None, "no [[member]] is listed".into()));
    }
    Ok(members)
}

/// Serves the mock until Ctrl-C; prints the base URL and the credentials to use. Keys are
/// printed only when the mock chose them: a key you gave is not echoed.
pub async fn serve(args: ServeArgs, fixtures: &Fixtures) -> Result<u8, CommandError> {
    let from_file = match &args.members {
        Some(path) => Some(load_members(path, fixtures)?),
        None => None,
    };
    let role = fixtures.role(&args.role)?;
    let listener = TcpListener::bind(("127.0.0.1", args.port))
        .map_err(CommandError::io(format!("bind 127.0.0.1:{}", args.port)))?;
    let shown = |given: &Option<String>, default: &str| match given {
        Some(_) => "(the one you gave)".to_owned(),
        None => format!("{default}  (mock-only default)"),
    };
    let public_shown = shown(&args.public_key, "ai-integration-public");
    let private_shown = shown(&args.private_key, "ai-integration-private");
    let member = ApiMember {
        identifier: SEED_API_MEMBER.to_owned(),
        public_key: args
            .public_key
            .unwrap_or_else(|| "ai-integration-public".to_owned()),
        private_key: Secret::new(
            args.private_key
                .unwrap_or_else(|| "ai-integration-private".to_owned()),
        ),
        role: role.clone(),
    };
    let members = from_file.clone().unwrap_or_else(|| vec![member]);
    let config = MockConfig {
        company_id: args.company_id.clone(),
        client_ids: args.client_id.iter().cloned().collect(),
        members: members.clone(),
        delay: (args.delay_ms > 0).then(|| Duration::from_millis(args.delay_ms)),
        retention: Retention::SERVE,
        ..MockConfig::default()
    };
    let limits = Limits {
        max_body_bytes: args.max_body_bytes,
        ..Limits::default()
    };
    let mut served = fixtures.clone();
    for drift in &args.drifts {
        drift.apply(&mut served);
    }
    let mock = MockConnectWise::serve(listener, Arc::new(served), config, limits)
        .map_err(CommandError::io("serve on 127.0.0.1"))?;
    if args.rate_limit_first > 0 {
        mock.inject_fault(Fault {
            status: 429,
            retry_after: Some(1),
            times: args.rate_limit_first,
        });
    }
    for member in &members {
        mock.ensure_member_record(&member.identifier, SEED_API_MEMBER);
    }
    println!("Mock ConnectWise serving at {}", mock.site());
    println!("  REST base URL: {}", mock.api_url());
    println!("  company ID:    {}", args.company_id);
    if from_file.is_none() {
        println!("  public key:    {public_shown}");
        println!("  private key:   {private_shown}");
    }
    println!(
        "  client ID:     {}",
        args.client_id.as_deref().unwrap_or("any non-empty value")
    );
    match &args.members {
        None => println!("  member:        ai-integration, role \"{}\"", role.name),
        Some(path) => {
            for member in &members {
                println!(
                    "  member:        {}, role \"{}\" (keys from {})",
                    member.identifier,
                    member.role.name,
                    path.display()
                );
            }
        }
    }
    for drift in &args.drifts {
        println!(
            "  drift:         {} (a testing aid: this is not the mock's behaviour)",
            drift.describe()
        );
    }
    println!("Press Ctrl-C to stop.");
    tokio::signal::ctrl_c()
        .await
        .map_err(CommandError::io("wait for Ctrl-C"))?;
    mock.shutdown();
    Ok(exit::CONFORMS)
}
