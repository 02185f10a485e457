//! Where ConnectWise is: the built-in mock (default) or a real ConnectWise sandbox, chosen
//! from the environment.
//!
//! A sandbox is configured by `CONNECTWISE_SITE`, `CONNECTWISE_COMPANY_ID`,
//! `CONNECTWISE_PUBLIC_KEY`, `CONNECTWISE_PRIVATE_KEY` and `CONNECTWISE_CLIENT_ID` for one
//! API member, whose role profile `CONNECTWISE_ROLE` names (default `least-privilege`), and
//! optionally a profiles file (`CONNECTWISE_PROFILES`) mapping more role profiles to API
//! members by the *names* of the variables holding their keys. A `.env` file in the working
//! directory is read first; variables already set win. Secrets are never printed.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;

use serde::Deserialize;

use crate::connectwise::{Client, ClientError, Credentials, RateLimit, Secret, redacted_url};

/// The default request rate against a sandbox: well under ConnectWise's ~1,000 a minute.
pub const DEFAULT_REQUESTS_PER_MINUTE: u32 = 300;

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
}

/// Reads `KEY=VALUE` lines (with optional quotes and `export`), ignoring comments.
pub fn parse_dotenv(text: &str) -> Vec<(String, String)> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .filter_map(|line| {
            let line = line.strip_prefix("export ").unwrap_or(line);
            let (key, value) = line.split_once('=')?;
            let value = value.trim();
            let value = value
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .or_else(|| value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')))
                .unwrap_or(value);
            Some((key.trim().to_owned(), value.to_owned()))
        })
        .collect()
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
    /// Whether the environment (or `.env`) asks for a sandbox run.
    pub fn requested() -> bool {
        load_dotenv();
        std::env::var_os("CONNECTWISE_SITE").is_some()
    }

    /// Reads the sandbox settings from the environment (after `.env`).
    pub fn from_env() -> Result<Sandbox, TargetError> {
        load_dotenv();
        Self::from_vars(&|name| std::env::var(name).ok())
    }

    /// Reads the sandbox settings through a variable lookup (testable without touching the
    /// process environment).
    pub fn from_vars(var: &dyn Fn(&str) -> Option<String>) -> Result<Sandbox, TargetError> {
        let required = |name: &str| {
            var(name)
                .filter(|v| !v.trim().is_empty())
                .ok_or_else(|| TargetError::Missing(name.to_owned()))
        };
        let site = check_site(&required("CONNECTWISE_SITE")?)?;
        let company_id = required("CONNECTWISE_COMPANY_ID")?;
        if company_id.bytes().all(|b| b.is_ascii_digit()) {
            return Err(TargetError::Invalid {
                name: "CONNECTWISE_COMPANY_ID".into(),
                reason: format!(
                    "\"{company_id}\" looks like a numeric company record ID; use the sign-in company code"
                ),
            });
        }
        let client_id = required("CONNECTWISE_CLIENT_ID")?;
        let default_role = var("CONNECTWISE_ROLE").unwrap_or_else(|| "least-privilege".to_owned());
        let mut profiles = BTreeMap::new();
        profiles.insert(
            default_role.clone(),
            MemberKeys {
                public_key: required("CONNECTWISE_PUBLIC_KEY")?,
                private_key: Secret::new(required("CONNECTWISE_PRIVATE_KEY")?),
            },
        );
        if let Some(path) = var("CONNECTWISE_PROFILES").filter(|p| !p.trim().is_empty()) {
            let text = std::fs::read_to_string(&path).map_err(|e| TargetError::Profiles {
                path: path.clone(),
                reason: e.to_string(),
            })?;
            let file: ProfilesFile = toml::from_str(&text).map_err(|e| {
                let line = e.span().map(|s| crate::fixtures::line_of(&text, s.start));
                TargetError::Profiles {
                    path: path.clone(),
                    reason: format!(
                        "{}{}",
                        line.map(|l| format!("line {l}: ")).unwrap_or_default(),
                        e.message()
                    ),
                }
            })?;
            for (name, entry) in file.profile {
                let keys = MemberKeys {
                    public_key: required(&entry.public_key_env)?,
                    private_key: Secret::new(required(&entry.private_key_env)?),
                };
                profiles.insert(name, keys);
            }
        }
        let requests_per_minute = match var("CONNECTWISE_REQUESTS_PER_MINUTE") {
            None => DEFAULT_REQUESTS_PER_MINUTE,
            Some(text) => text
                .trim()
                .parse()
                .ok()
                .filter(|n| (1..=900).contains(n))
                .ok_or_else(|| TargetError::Invalid {
                    name: "CONNECTWISE_REQUESTS_PER_MINUTE".into(),
                    reason: format!("\"{text}\" is not a whole number from 1 to 900"),
                })?,
        };
        Ok(Sandbox {
            site,
            company_id,
            client_id,
            profiles,
            default_profile: default_role,
            requests_per_minute,
            rate_limit: Arc::new(RateLimit::per_minute(requests_per_minute)),
        })
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

    /// A client for the member the `CONNECTWISE_*` variables name.
    pub async fn client_for_default(&self) -> Result<Client, TargetError> {
        let credentials = self
            .credentials(&self.default_profile)
            .ok_or_else(|| TargetError::Missing("CONNECTWISE_PUBLIC_KEY".into()))?;
        self.client(credentials).await
    }
}

/// Loads `.env` from the working directory once; variables already set are kept. Call it
/// before starting threads.
pub fn load_dotenv() {
    static LOADED: std::sync::Once = std::sync::Once::new();
    LOADED.call_once(|| {
        let Ok(text) = std::fs::read_to_string(".env") else {
            return;
        };
        for (key, value) in parse_dotenv(&text) {
            if std::env::var_os(&key).is_none() {
                set_var(&key, &value);
            }
        }
    });
}

#[expect(
    unsafe_code,
    reason = "std::env::set_var is unsafe since Rust 2024; .env is read once at start-up, before worker threads read the environment"
)]
fn set_var(key: &str, value: &str) {
    // SAFETY: called once, from `load_dotenv`, before the runner starts threads that read
    // the environment.
    unsafe { std::env::set_var(key, value) };
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
        let parsed = parse_dotenv("# comment\nexport A=1\nB = \"two words\"\nC='x'\n\nbad line\n");
        assert_eq!(
            parsed,
            vec![
                ("A".into(), "1".into()),
                ("B".into(), "two words".into()),
                ("C".into(), "x".into())
            ]
        );
    }
}
