//! API member credentials. Secrets never appear in `Debug` or `Display` output, and a URL
//! is shown only through [`redacted_url`], which hides any user name and password in it.

use std::fmt;

use base64::Engine as _;

/// A secret string (a private key). Its `Debug` and `Display` print `[redacted]`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret itself, for the one place that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// A URL as it may be shown: a user name and password in it (`https://user:pass@host`)
/// become `***` (`https://***@host`). Text that does not parse as a URL is redacted the
/// same way (everything between `://`, or the start, and the last `@`), so a malformed
/// value can be named in an error without its secret.
pub fn redacted_url(url: &str) -> String {
    let start = url.find("://").map_or(0, |scheme| scheme + 3);
    match url[start..].rfind('@') {
        Some(at) => format!("{}***{}", &url[..start], &url[start + at..]),
        None => url.to_owned(),
    }
}

/// What an integration needs to call ConnectWise as one API member.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The site's base URL, scheme and host (`https://api-na.myconnectwise.net`).
    pub site: String,
    /// The sign-in company code (not a numeric company record ID).
    pub company_id: String,
    /// The API member's public key.
    pub public_key: String,
    /// The API member's private key.
    pub private_key: Secret,
    /// The integration's client ID; `None` sends no `clientId` header.
    pub client_id: Option<String>,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("site", &redacted_url(&self.site))
            .field("company_id", &self.company_id)
            .field("public_key", &self.public_key)
            .field("private_key", &self.private_key)
            .field("client_id", &self.client_id)
            .finish()
    }
}

impl Credentials {
    /// The `Authorization` header value: Basic `companyId+publicKey:privateKey`.
    /// Its value is a secret: never log it.
    pub fn authorization(&self) -> Secret {
        let raw = format!(
            "{}+{}:{}",
            self.company_id,
            self.public_key,
            self.private_key.expose()
        );
        Secret::new(format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(raw)
        ))
    }

    /// The REST API base URL on the router codebase.
    pub fn api_url(&self) -> String {
        format!("{}{}", self.site.trim_end_matches('/'), super::API_PREFIX)
    }

    /// Whether the company ID looks like a numeric company record ID rather than the
    /// sign-in company code (rule TS-02).
    pub fn company_id_looks_numeric(&self) -> bool {
        !self.company_id.is_empty() && self.company_id.bytes().all(|b| b.is_ascii_digit())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn credentials() -> Credentials {
        Credentials {
            site: "http://127.0.0.1:1".into(),
            company_id: "northwind".into(),
            public_key: "pub".into(),
            private_key: Secret::new("s3cr3t-private"),
            client_id: Some("client".into()),
        }
    }

    #[test]
    fn debug_output_never_shows_the_private_key() {
        let shown = format!("{:?} {}", credentials(), credentials().private_key);
        assert!(!shown.contains("s3cr3t-private"), "{shown}");
        assert!(shown.contains("[redacted]"));
        assert!(!format!("{:?}", credentials().authorization()).contains("Basic"));
    }

    #[rstest::rstest]
    #[case::user_and_password("http://cw:pa55@127.0.0.1:8089", "http://***@127.0.0.1:8089")]
    #[case::user_only(
        "https://cw@api-na.myconnectwise.net/",
        "https://***@api-na.myconnectwise.net/"
    )]
    #[case::no_scheme("cw:pa55@api-na.myconnectwise.net", "***@api-na.myconnectwise.net")]
    #[case::unparsable("https://cw:pa 55@exa mple", "https://***@exa mple")]
    #[case::at_in_the_password("https://cw:p@ss@host", "https://***@host")]
    #[case::nothing_to_hide("https://api-na.myconnectwise.net", "https://api-na.myconnectwise.net")]
    fn a_shown_url_hides_its_user_and_password(#[case] url: &str, #[case] shown: &str) {
        assert_eq!(redacted_url(url), shown);
    }

    #[test]
    fn debug_output_never_shows_a_password_in_the_site() {
        let credentials = Credentials {
            site: "http://cw:canary-site-pass@127.0.0.1:1".into(),
            ..credentials()
        };
        let shown = format!("{credentials:?}");
        assert!(!shown.contains("canary-site-pass"), "{shown}");
        assert!(shown.contains("http://***@127.0.0.1:1"), "{shown}");
    }

    #[test]
    fn authorization_is_basic_company_plus_public_colon_private() {
        let header = credentials().authorization();
        let encoded = header.expose().strip_prefix("Basic ").unwrap();
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .unwrap();
        assert_eq!(
            String::from_utf8(decoded).unwrap(),
            "northwind+pub:s3cr3t-private"
        );
    }
}
