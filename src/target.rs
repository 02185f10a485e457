//! Where ConnectWise is: the built-in mock (default) or a real ConnectWise sandbox, chosen
//! from the environment.
//!
//! A sandbox is configured by `CONNECTWISE_SITE`, `CONNECTWISE_COMPANY_ID`,
//! `CONNECTWISE_PUBLIC_KEY`, `CONNECTWISE_PRIVATE_KEY` and `CONNECTWISE_CLIENT_ID` for one
//! API member, whose role profile `CONNECTWISE_ROLE` names (default `least-privilege`), and
//! optionally a profiles file (`CONNECTWISE_PROFILES`) mapping more role profiles to API
//! members by the *names* of the variables holding their keys.
//!
//! [`Environment`] is the one reader of these variables: the process environment first,
//! then a `.env` file in the working directory (layered in the lookup; the process
//! environment is never changed). Every problem with them is reported at once, each naming
//! the variable and, unless it is a secret, the value. Secrets are never printed.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;

use crate::connectwise::behaviour::Behaviour;
use crate::connectwise::{Client, ClientError, Credentials, RateLimit, Secret, redacted_url};

/// The default request rate against a sandbox: well under ConnectWise's ~1,000 a minute.
pub const DEFAULT_REQUESTS_PER_MINUTE: u32 = 300;

/// The role profile of the member the `CONNECTWISE_*` keys belong to, unless
/// `CONNECTWISE_ROLE` names another.
pub const DEFAULT_ROLE: &str = "least-privilege";

/// A setting that is missing or malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    /// A required variable is not set.
    #[error("{0} is not set (needed to run against a ConnectWise sandbox)")]
    Missing(String),
    /// A variable has a bad value (the value is shown only when it is not a secret).
    #[error("{name} is invalid: {reason}")]
    Invalid {
        /// The variable.
        name: String,
        /// Why.
        reason: String,
    },
    /// The profiles file is unreadable or malformed.
    #[error("failed to load the profiles file {path}: {reason}")]
    Profiles {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// The `.env` file of the working directory is unreadable or has a malformed line.
    #[error("failed to read {path}: {reason}")]
    DotEnv {
        /// The file.
        path: String,
        /// Why (with the line).
        reason: String,
    },
    /// The site does not know the company (the site as [`redacted_url`] shows it).
    #[error(
        "the ConnectWise site {site} does not know the company ID {company}: check CONNECTWISE_SITE and CONNECTWISE_COMPANY_ID"
    )]
    UnknownCompany {
        /// The site.
        site: String,
        /// The company ID.
        company: String,
    },
    /// The site could not be reached.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// Several problems, all found before anything was sent.
    #[error("the sandbox settings have {} problems:{}", .0.len(), listed(.0))]
    Several(Vec<TargetError>),
}

/// Each problem on a line of its own, `  - `.
fn listed(problems: &[TargetError]) -> String {
    problems.iter().fold(String::new(), |mut out, problem| {
        let _ = write!(out, "\n  - {problem}");
        out
    })
}

impl TargetError {
    /// One error for a list of problems (the problem itself when there is only one).
    fn all(mut problems: Vec<TargetError>) -> Result<(), TargetError> {
        match problems.len() {
            0 => Ok(()),
            1 => Err(problems.remove(0)),
            _ => Err(TargetError::Several(problems)),
        }
    }
}

/// One API member's keys on the sandbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberKeys {
    /// Public key.
    pub public_key: String,
    /// Private key.
    pub private_key: Secret,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProfilesFile {
    #[serde(default)]
    profile: BTreeMap<String, ProfileEntry>,
    /// What the sandbox does for a `[settings]` switch no read-only probe can tell
    /// (`close_rule = "newer-document"`).
    #[serde(default)]
    behaviour: BTreeMap<String, toml::Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProfileEntry {
    public_key_env: String,
    private_key_env: String,
}

/// A ConnectWise sandbox to run against.
#[derive(Debug, Clone)]
pub struct Sandbox {
    /// The site (`https://api-na.myconnectwise.net`).
    pub site: String,
    /// The sign-in company code.
    pub company_id: String,
    /// The integration's client ID.
    pub client_id: String,
    /// Role profile name → the API member that has it.
    pub profiles: BTreeMap<String, MemberKeys>,
    /// The profile of the member the `CONNECTWISE_*` keys belong to.
    pub default_profile: String,
    /// Requests a minute.
    pub requests_per_minute: u32,
    /// The rate limit shared by every client of the run.
    pub rate_limit: Arc<RateLimit>,
    /// The `.env` file that chose the sandbox (it set `CONNECTWISE_SITE`), if one did.
    pub chosen_by_dotenv: Option<PathBuf>,
    /// What the profiles file's `[behaviour]` table declares the sandbox does for a
    /// `[settings]` switch.
    pub declared: Vec<Behaviour>,
}

/// Where a variable's value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// The process environment.
    Process,
    /// A `.env` file.
    DotEnv(PathBuf),
}

/// A variable lookup (the process environment, or fixed values in tests).
pub type Lookup<'a> = Box<dyn Fn(&str) -> Option<String> + 'a>;

/// The variables cw-conform reads: the process environment, over a `.env` file. The
/// process environment is never changed.
pub struct Environment<'a> {
    process: Lookup<'a>,
    dotenv: BTreeMap<String, String>,
    dotenv_path: Option<PathBuf>,
}

impl std::fmt::Debug for Environment<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Environment")
            .field("dotenv_path", &self.dotenv_path)
            .field("dotenv_names", &self.dotenv.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

/// What the settings are read for: a sandbox run checks them strictly; `mcp-serve` takes
/// them as a scenario configures them, mistakes included (a numeric company ID, no client
/// ID), since checking what the integration does with those is the point.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// A run (or `audit --live`, `sandbox cleanup`) against a sandbox.
    Sandbox,
    /// `mcp-serve`: the reference integration for one API member.
    McpServe,
}

/// What the `CONNECTWISE_*` variables say, each checked for its form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    /// The API member (the client ID is `None` when unset or empty).
    pub credentials: Credentials,
    /// `CONNECTWISE_ROLE`, if set.
    pub role: Option<String>,
    /// `CONNECTWISE_PROFILES`, if set.
    pub profiles: Option<String>,
    /// `CONNECTWISE_REQUESTS_PER_MINUTE`, if set.
    pub requests_per_minute: Option<u32>,
}

/// Reads `KEY=VALUE` lines (with optional quotes and `export`), ignoring comments and
/// blank lines. A line without `=` is an error naming its number (not its text, which may
/// hold a key).
pub fn parse_dotenv(text: &str) -> Result<Vec<(String, String)>, String> {
    let mut pairs = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line);
        let Some((key, value)) = line.split_once('=') else {
            return Err(format!(
                "line {}: expected KEY=VALUE (a variable name, \"=\", its value)",
                index + 1
            ));
        };
        let key = key.trim();
        if key.is_empty() || key.contains(char::is_whitespace) {
            return Err(format!(
                "line {}: \"{key}\" is not a variable name",
                index + 1
            ));
        }
        let value = value.trim();
        let value = value
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .or_else(|| value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')))
            .unwrap_or(value);
        pairs.push((key.to_owned(), value.to_owned()));
    }
    Ok(pairs)
}

impl<'a> Environment<'a> {
    /// The process environment over `.env` in the working directory (when there is one).
    pub fn load() -> Result<Environment<'static>, TargetError> {
        Environment::over_dotenv(Box::new(|name| std::env::var(name).ok()), Path::new(".env"))
    }

    /// A lookup over a `.env` file (which need not exist).
    pub fn over_dotenv(process: Lookup<'a>, path: &Path) -> Result<Environment<'a>, TargetError> {
        let mut environment = Environment::lookup(process);
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(environment),
            Err(error) => {
                return Err(TargetError::DotEnv {
                    path: path.display().to_string(),
                    reason: error.to_string(),
                });
            }
        };
        let pairs = parse_dotenv(&text).map_err(|reason| TargetError::DotEnv {
            path: path.display().to_string(),
            reason,
        })?;
        environment.dotenv = pairs.into_iter().collect();
        environment.dotenv_path = Some(path.to_owned());
        Ok(environment)
    }

    /// A lookup with no `.env` (tests, and callers with their own variables).
    pub fn lookup(process: Lookup<'a>) -> Environment<'a> {
        Environment {
            process,
            dotenv: BTreeMap::new(),
            dotenv_path: None,
        }
    }

    /// A variable's value: the process environment's, else the `.env` file's.
    pub fn var(&self, name: &str) -> Option<String> {
        (self.process)(name).or_else(|| self.dotenv.get(name).cloned())
    }

    /// Where a variable's value comes from, if it is set.
    pub fn source(&self, name: &str) -> Option<Source> {
        if (self.process)(name).is_some() {
            return Some(Source::Process);
        }
        self.dotenv
            .contains_key(name)
            .then(|| Source::DotEnv(self.dotenv_path.clone().unwrap_or_default()))
    }

    /// Whether the variables ask for a sandbox run (`CONNECTWISE_SITE` is set).
    pub fn sandbox_requested(&self) -> bool {
        self.var("CONNECTWISE_SITE").is_some()
    }

    /// Reads every `CONNECTWISE_*` variable and checks it for `purpose`; every problem is
    /// reported at once.
    pub fn connection(&self, purpose: Purpose) -> Result<Connection, TargetError> {
        let mut problems = Vec::new();
        let mut required = |name: &str| {
            let value = self.var(name).filter(|v| !v.trim().is_empty());
            if value.is_none() {
                problems.push(TargetError::Missing(name.to_owned()));
            }
            value
        };
        let site = required("CONNECTWISE_SITE");
        let company_id = required("CONNECTWISE_COMPANY_ID");
        let public_key = required("CONNECTWISE_PUBLIC_KEY");
        let private_key = required("CONNECTWISE_PRIVATE_KEY");
        let client_id = match purpose {
            Purpose::Sandbox => required("CONNECTWISE_CLIENT_ID"),
            Purpose::McpServe => self
                .var("CONNECTWISE_CLIENT_ID")
                .filter(|c| !c.trim().is_empty()),
        };
        let site = site.and_then(|site| {
            check_site(&site)
                .map_err(|problem| problems.push(problem))
                .ok()
        });
        if purpose == Purpose::Sandbox
            && let Some(company) = &company_id
            && company.bytes().all(|b| b.is_ascii_digit())
        {
            problems.push(TargetError::Invalid {
                name: "CONNECTWISE_COMPANY_ID".into(),
                reason: format!(
                    "\"{company}\" looks like a numeric company record ID; use the sign-in company code"
                ),
            });
        }
        let requests_per_minute = self
            .var("CONNECTWISE_REQUESTS_PER_MINUTE")
            .and_then(|text| {
                let rate = text.trim().parse().ok().filter(|n| (1..=900).contains(n));
                if rate.is_none() {
                    problems.push(TargetError::Invalid {
                        name: "CONNECTWISE_REQUESTS_PER_MINUTE".into(),
                        reason: format!("\"{text}\" is not a whole number from 1 to 900"),
                    });
                }
                rate
            });
        let role = self
            .var("CONNECTWISE_ROLE")
            .filter(|r| !r.trim().is_empty());
        let profiles = self
            .var("CONNECTWISE_PROFILES")
            .filter(|p| !p.trim().is_empty());
        TargetError::all(problems)?;
        let missing = |name: &str| TargetError::Missing(name.to_owned());
        Ok(Connection {
            credentials: Credentials {
                site: site.ok_or_else(|| missing("CONNECTWISE_SITE"))?,
                company_id: company_id.ok_or_else(|| missing("CONNECTWISE_COMPANY_ID"))?,
                public_key: public_key.ok_or_else(|| missing("CONNECTWISE_PUBLIC_KEY"))?,
                private_key: Secret::new(
                    private_key.ok_or_else(|| missing("CONNECTWISE_PRIVATE_KEY"))?,
                ),
                client_id,
            },
            role,
            profiles,
            requests_per_minute,
        })
    }
}

fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .trim_matches(['[', ']'])
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Checks a site URL: https, or plain http on a loopback address only, and no user name
/// or password in it (ConnectWise signs in with the API member's keys, sent in a header; a
/// password in the URL would only leak). Errors show the site as [`redacted_url`] does.
pub fn check_site(site: &str) -> Result<String, TargetError> {
    let invalid = |reason: &str| TargetError::Invalid {
        name: "CONNECTWISE_SITE".into(),
        reason: format!("\"{}\": {reason}", redacted_url(site)),
    };
    let with_scheme = if site.contains("://") {
        site.to_owned()
    } else {
        format!("https://{site}")
    };
    let url = url::Url::parse(&with_scheme).map_err(|e| invalid(&e.to_string()))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid(
            "a user name or password in the site URL is not used (ConnectWise signs in with CONNECTWISE_PUBLIC_KEY and CONNECTWISE_PRIVATE_KEY); remove it",
        ));
    }
    let host = url.host_str().ok_or_else(|| invalid("no host"))?;
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(host) => {}
        "http" => {
            return Err(invalid(
                "plain http is accepted only for loopback addresses; use https",
            ));
        }
        other => return Err(invalid(&format!("unsupported scheme {other}"))),
    }
    Ok(with_scheme.trim_end_matches('/').to_owned())
}

impl Sandbox {
    /// Reads the sandbox settings from the environment (over `.env`).
    pub fn from_env() -> Result<Sandbox, TargetError> {
        Sandbox::from_environment(&Environment::load()?)
    }

    /// Reads the sandbox settings through a variable lookup (testable without touching the
    /// process environment).
    pub fn from_vars(var: &dyn Fn(&str) -> Option<String>) -> Result<Sandbox, TargetError> {
        Sandbox::from_environment(&Environment::lookup(Box::new(var)))
    }

    /// Reads the sandbox settings from an [`Environment`]: every problem (a missing or
    /// malformed variable, a profiles file that does not load, a variable a profile names
    /// that is not set) is reported at once.
    pub fn from_environment(environment: &Environment<'_>) -> Result<Sandbox, TargetError> {
        let (sandbox, problems) = Sandbox::with_profile_problems(environment)?;
        TargetError::all(problems)?;
        Ok(sandbox)
    }

    /// Reads the sandbox settings as [`Sandbox::from_environment`] does, except that a
    /// profile whose key variables are missing is left out and its problems returned beside
    /// the sandbox, so that a preflight can check every other profile and list them all at
    /// once. The site, company, default keys and profiles file must be right.
    pub fn with_profile_problems(
        environment: &Environment<'_>,
    ) -> Result<(Sandbox, Vec<TargetError>), TargetError> {
        let mut profile_problems = Vec::new();
        let mut problems = Vec::new();
        let connection = environment
            .connection(Purpose::Sandbox)
            .map_err(|error| match error {
                TargetError::Several(list) => problems.extend(list),
                other => problems.push(other),
            })
            .ok();
        let default_role = environment
            .var("CONNECTWISE_ROLE")
            .filter(|r| !r.trim().is_empty())
            .unwrap_or_else(|| DEFAULT_ROLE.to_owned());
        let mut profiles = BTreeMap::new();
        let mut declared = Vec::new();
        if let Some(path) = environment
            .var("CONNECTWISE_PROFILES")
            .filter(|p| !p.trim().is_empty())
        {
            match load_profiles(&path) {
                Ok((file, text)) => {
                    for (switch, value) in &file.behaviour {
                        match Behaviour::from_setting(switch, value.get_ref()) {
                            Ok(behaviour) => declared.push(behaviour),
                            Err(reason) => problems.push(TargetError::Profiles {
                                path: path.clone(),
                                reason: format!(
                                    "line {}: [behaviour] {reason}",
                                    crate::fixtures::line_of(&text, value.span().start)
                                ),
                            }),
                        }
                    }
                    for (name, entry) in file.profile {
                        let mut key = |variable: &str| {
                            let value = environment.var(variable).filter(|v| !v.trim().is_empty());
                            if value.is_none() {
                                profile_problems.push(TargetError::Missing(variable.to_owned()));
                            }
                            value
                        };
                        let public_key = key(&entry.public_key_env);
                        let private_key = key(&entry.private_key_env);
                        if let (Some(public_key), Some(private_key)) = (public_key, private_key) {
                            profiles.insert(
                                name,
                                MemberKeys {
                                    public_key,
                                    private_key: Secret::new(private_key),
                                },
                            );
                        }
                    }
                }
                Err(problem) => problems.push(problem),
            }
        }
        if !problems.is_empty() {
            problems.append(&mut profile_problems);
            TargetError::all(problems)?;
        }
        let Some(connection) = connection else {
            return Err(TargetError::Missing("CONNECTWISE_SITE".into()));
        };
        let credentials = connection.credentials;
        profiles.insert(
            default_role.clone(),
            MemberKeys {
                public_key: credentials.public_key,
                private_key: credentials.private_key,
            },
        );
        let requests_per_minute = connection
            .requests_per_minute
            .unwrap_or(DEFAULT_REQUESTS_PER_MINUTE);
        let chosen_by_dotenv = match environment.source("CONNECTWISE_SITE") {
            Some(Source::DotEnv(path)) => Some(path),
            _ => None,
        };
        let sandbox = Sandbox {
            site: credentials.site,
            company_id: credentials.company_id,
            client_id: credentials.client_id.unwrap_or_default(),
            profiles,
            default_profile: default_role,
            requests_per_minute,
            rate_limit: Arc::new(RateLimit::per_minute(requests_per_minute)),
            chosen_by_dotenv,
            declared,
        };
        Ok((sandbox, profile_problems))
    }

    /// The credentials of the member that has a role profile, if the sandbox has one.
    pub fn credentials(&self, profile: &str) -> Option<Credentials> {
        let keys = self.profiles.get(profile)?;
        Some(Credentials {
            site: self.site.clone(),
            company_id: self.company_id.clone(),
            public_key: keys.public_key.clone(),
            private_key: keys.private_key.clone(),
            client_id: Some(self.client_id.clone()),
        })
    }

    /// A rate-limited client for a profile's member, on the codebase the site reports.
    pub async fn client(&self, credentials: Credentials) -> Result<Client, TargetError> {
        let client = Client::new(credentials)?.with_rate_limit(Arc::clone(&self.rate_limit));
        match client.codebase().await? {
            Some(codebase) => Ok(client.with_codebase(&codebase)),
            None => Err(TargetError::UnknownCompany {
                site: redacted_url(&self.site),
                company: self.company_id.clone(),
            }),
        }
    }

    /// A client with credentials that may name a company the site does not know (a
    /// scenario's wrong company ID): without a codebase for it, the client asks the default
    /// one, as an integration would, and ConnectWise answers for itself.
    pub async fn client_as_given(&self, credentials: Credentials) -> Result<Client, TargetError> {
        match self.client(credentials.clone()).await {
            Err(TargetError::UnknownCompany { .. }) => {
                Ok(Client::new(credentials)?.with_rate_limit(Arc::clone(&self.rate_limit)))
            }
            other => other,
        }
    }

    /// A client for the member the `CONNECTWISE_*` variables name.
    pub async fn client_for_default(&self) -> Result<Client, TargetError> {
        let credentials = self
            .credentials(&self.default_profile)
            .ok_or_else(|| TargetError::Missing("CONNECTWISE_PUBLIC_KEY".into()))?;
        self.client(credentials).await
    }
}

/// Reads and checks a profiles file.
fn load_profiles(path: &str) -> Result<(ProfilesFile, String), TargetError> {
    let text = std::fs::read_to_string(path).map_err(|e| TargetError::Profiles {
        path: path.to_owned(),
        reason: e.to_string(),
    })?;
    let file = toml::from_str(&text).map_err(|e| {
        let line = e.span().map(|s| crate::fixtures::line_of(&text, s.start));
        TargetError::Profiles {
            path: path.to_owned(),
            reason: format!(
                "{}{}",
                line.map(|l| format!("line {l}: ")).unwrap_or_default(),
                e.message()
            ),
        }
    })?;
    Ok((file, text))
}

/// A variable lookup over fixed pairs, for tests of settings read from the environment.
#[cfg(test)]
pub(crate) fn vars(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
    let map: BTreeMap<String, String> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    move |name| map.get(name).cloned()
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;

    const COMPLETE: [(&str, &str); 5] = [
        ("CONNECTWISE_SITE", "https://api-na.myconnectwise.net"),
        ("CONNECTWISE_COMPANY_ID", "northwind"),
        ("CONNECTWISE_PUBLIC_KEY", "pub"),
        ("CONNECTWISE_PRIVATE_KEY", "canary-private-9f2c"),
        ("CONNECTWISE_CLIENT_ID", "client"),
    ];

    /// A profiles file written for one test (removed with its folder when dropped).
    struct ProfilesFixture(
        PathBuf,
        #[expect(dead_code, reason = "kept until dropped")] crate::scratch::Scratch,
    );

    impl ProfilesFixture {
        fn new(name: &str, text: &str) -> ProfilesFixture {
            let folder = crate::scratch::Scratch::new(name);
            ProfilesFixture(folder.write("profiles.toml", text), folder)
        }
    }

    #[test]
    fn a_declared_behaviour_is_read_and_a_bad_one_named_by_file_line_and_value() {
        let good = ProfilesFixture::new(
            "behaviour-good",
            "[behaviour]\nclose_rule = \"newer-document\"\n",
        );
        let path = good.0.display().to_string();
        let mut pairs = COMPLETE.to_vec();
        pairs.push(("CONNECTWISE_PROFILES", &path));
        let sandbox = Sandbox::from_vars(&vars(&pairs)).unwrap();
        assert_eq!(
            sandbox.declared,
            [Behaviour::CloseRule(
                crate::connectwise::security::CloseRuleSource::NewerDocument
            )]
        );

        let bad = ProfilesFixture::new(
            "behaviour-bad",
            "# what the sandbox does\n[behaviour]\npage_zero = \"first-pgae\"\n",
        );
        let path = bad.0.display().to_string();
        let mut pairs = COMPLETE.to_vec();
        pairs.push(("CONNECTWISE_PROFILES", &path));
        let error = Sandbox::from_vars(&vars(&pairs)).unwrap_err();
        assert_eq!(
            error.to_string(),
            format!(
                "failed to load the profiles file {path}: line 3: [behaviour] unknown page_zero \"first-pgae\" (did you mean \"first-page\"?) (expected first-page or bad-request)"
            )
        );
    }

    #[test]
    fn a_complete_environment_gives_the_default_profile() {
        let sandbox = Sandbox::from_vars(&vars(&COMPLETE)).unwrap();
        assert!(sandbox.credentials("least-privilege").is_some());
        assert_eq!(sandbox.requests_per_minute, DEFAULT_REQUESTS_PER_MINUTE);
        assert!(!format!("{sandbox:?}").contains("canary-private-9f2c"));
    }

    #[rstest]
    #[case("CONNECTWISE_SITE")]
    #[case("CONNECTWISE_COMPANY_ID")]
    #[case("CONNECTWISE_PRIVATE_KEY")]
    #[case("CONNECTWISE_CLIENT_ID")]
    fn a_missing_variable_is_named(#[case] missing: &str) {
        let pairs: Vec<(&str, &str)> = COMPLETE
            .iter()
            .copied()
            .filter(|(k, _)| *k != missing)
            .collect();
        let error = Sandbox::from_vars(&vars(&pairs)).unwrap_err();
        assert_eq!(error, TargetError::Missing(missing.to_owned()));
    }

    #[rstest]
    #[case("http://na.myconnectwise.net", false)]
    #[case("http://127.0.0.1:8089", true)]
    #[case("http://localhost:8089", true)]
    #[case("http://[::1]:8089", true)]
    #[case("api-na.myconnectwise.net", true)]
    #[case("ftp://x", false)]
    fn plain_http_only_on_loopback(#[case] site: &str, #[case] accepted: bool) {
        assert_eq!(check_site(site).is_ok(), accepted, "{site}");
    }

    #[rstest]
    #[case::loopback(
        "http://cw-user:canary-pass-71@127.0.0.1:8089",
        "http://***@127.0.0.1:8089"
    )]
    #[case::https(
        "https://cw-user:canary-pass-71@api-na.myconnectwise.net",
        "https://***@api-na.myconnectwise.net"
    )]
    #[case::no_scheme(
        "cw-user:canary-pass-71@api-na.myconnectwise.net",
        "***@api-na.myconnectwise.net"
    )]
    #[case::plain_http_elsewhere(
        "http://cw-user:canary-pass-71@example.com",
        "http://***@example.com"
    )]
    #[case::unparsable("https://cw-user:canary-pass-71 @exa mple", "https://***@exa mple")]
    fn a_site_with_a_password_is_refused_without_showing_it(
        #[case] site: &str,
        #[case] shown: &str,
    ) {
        let mut pairs: Vec<(&str, &str)> = COMPLETE.to_vec();
        pairs[0] = ("CONNECTWISE_SITE", site);

        let error = Sandbox::from_vars(&vars(&pairs)).unwrap_err().to_string();

        assert!(!error.contains("canary-pass-71"), "{error}");
        assert!(
            error.starts_with(&format!("CONNECTWISE_SITE is invalid: \"{shown}\": ")),
            "{error}"
        );
    }

    #[tokio::test]
    async fn an_unreachable_site_is_named_without_its_password() {
        let sandbox = Sandbox::from_vars(&vars(&COMPLETE)).unwrap();
        let mut credentials = sandbox.credentials("least-privilege").unwrap();
        credentials.site = "http://cw-user:canary-pass-71@127.0.0.1:1".into();

        let error = sandbox.client(credentials).await.unwrap_err().to_string();

        assert!(!error.contains("canary-pass-71"), "{error}");
        assert!(
            error.starts_with("failed to reach ConnectWise at http://***@127.0.0.1:1"),
            "{error}"
        );
    }

    #[test]
    fn a_numeric_company_id_and_a_bad_rate_are_refused_by_name() {
        let mut pairs: Vec<(&str, &str)> = COMPLETE.to_vec();
        pairs[1] = ("CONNECTWISE_COMPANY_ID", "19");
        assert!(
            Sandbox::from_vars(&vars(&pairs))
                .unwrap_err()
                .to_string()
                .starts_with("CONNECTWISE_COMPANY_ID is invalid")
        );
        let mut pairs: Vec<(&str, &str)> = COMPLETE.to_vec();
        pairs.push(("CONNECTWISE_REQUESTS_PER_MINUTE", "5000"));
        assert!(
            Sandbox::from_vars(&vars(&pairs))
                .unwrap_err()
                .to_string()
                .contains("CONNECTWISE_REQUESTS_PER_MINUTE")
        );
    }

    #[test]
    fn reads_dotenv_lines() {
        let parsed = parse_dotenv("# comment\nexport A=1\nB = \"two words\"\nC='x'\n\n").unwrap();
        assert_eq!(
            parsed,
            vec![
                ("A".into(), "1".into()),
                ("B".into(), "two words".into()),
                ("C".into(), "x".into())
            ]
        );
        assert_eq!(
            parse_dotenv("A=1\nsecret-without-equals\n").unwrap_err(),
            "line 2: expected KEY=VALUE (a variable name, \"=\", its value)"
        );
    }

    #[test]
    fn the_process_environment_wins_over_dotenv_and_dotenv_is_named_as_the_source() {
        let folder = crate::scratch::Scratch::new("dotenv");
        let path = folder.join(".env");
        std::fs::write(
            &path,
            "CONNECTWISE_SITE=http://127.0.0.1:9\nCONNECTWISE_ROLE=from-file\n",
        )
        .unwrap();
        let process = vars(&[("CONNECTWISE_ROLE", "from-process")]);

        let environment = Environment::over_dotenv(Box::new(process), &path).unwrap();

        assert_eq!(
            environment.var("CONNECTWISE_ROLE").as_deref(),
            Some("from-process")
        );
        assert_eq!(
            environment.source("CONNECTWISE_SITE"),
            Some(Source::DotEnv(path))
        );
        assert!(environment.sandbox_requested());
        assert_eq!(
            environment.source("CONNECTWISE_ROLE"),
            Some(Source::Process)
        );
    }

    #[test]
    fn every_problem_is_listed_at_once_without_a_secret() {
        let pairs = [
            ("CONNECTWISE_SITE", "http://example.com"),
            ("CONNECTWISE_COMPANY_ID", "19"),
            ("CONNECTWISE_PRIVATE_KEY", "canary-private-9f2c"),
            ("CONNECTWISE_REQUESTS_PER_MINUTE", "fast"),
        ];

        let error = Sandbox::from_vars(&vars(&pairs)).unwrap_err();

        let TargetError::Several(problems) = &error else {
            panic!("not a list of problems: {error}");
        };
        let names: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert_eq!(names.len(), 5, "{names:#?}");
        for expected in [
            "CONNECTWISE_PUBLIC_KEY is not set",
            "CONNECTWISE_CLIENT_ID is not set",
            "CONNECTWISE_SITE is invalid: \"http://example.com\"",
            "CONNECTWISE_COMPANY_ID is invalid: \"19\"",
            "CONNECTWISE_REQUESTS_PER_MINUTE is invalid: \"fast\"",
        ] {
            assert!(
                names.iter().any(|n| n.starts_with(expected)),
                "{expected}: {names:#?}"
            );
        }
        assert!(!error.to_string().contains("canary-private-9f2c"));
    }
}
