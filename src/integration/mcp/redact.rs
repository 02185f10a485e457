//! Redaction of an API member's secrets from everything a server controls that the harness
//! shows: its standard error, the lines of standard output that are not JSON-RPC, error
//! messages, tool results kept as evidence, and notes.
//!
//! A [`Redactor`] is built once from the secrets and knows every form a server is likely to
//! write them in:
//! - as they are: the private key, the public key, `companyId+publicKey:privateKey` (what
//!   the `Authorization` header encodes) and `publicKey:privateKey`;
//! - base64 of each (standard and URL-safe alphabets, padded or not), which covers the whole
//!   `Basic …` header value, and the part of the encoding that stays the same wherever the
//!   secret sits inside a longer base64 text (at most the encoding of a secret's first and
//!   last two bytes stays visible there);
//! - each of those percent-encoded (upper- or lower-case hex, or form-encoded), JSON-escaped
//!   (once or twice, `/` escaped or not) and as hex.
//!
//! An integration's own credentials (the `Authorization` or API-key header a hosted server
//! wants) are added to the member's ([`Redactor::for_member_and`]) and take the same forms.
//!
//! Secrets shorter than [`SHORTEST_SECRET`] characters are not redacted: they would blank
//! out ordinary words.

use std::borrow::Cow;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE};
use regex::Regex;

use crate::connectwise::Credentials;

/// What a secret is replaced by.
pub const REDACTED: &str = "[redacted]";

/// Secrets (and forms of them) shorter than this are not redacted.
pub const SHORTEST_SECRET: usize = 4;

/// The base64 forms shorter than this are not redacted on their own: a few base64
/// characters match too much ordinary text.
const SHORTEST_ENCODED: usize = 8;

/// Replaces every known form of a set of secrets with `[redacted]`.
#[derive(Debug, Clone, Default)]
pub struct Redactor {
    /// Every form, longest first, as one alternation; `None` when there is nothing to hide.
    forms: Option<Regex>,
}

impl Redactor {
    /// A redactor for these secrets (their encoded forms are derived).
    pub fn new<S: AsRef<str>>(secrets: impl IntoIterator<Item = S>) -> Redactor {
        let mut forms: Vec<String> = secrets
            .into_iter()
            .filter(|s| s.as_ref().len() >= SHORTEST_SECRET)
            .flat_map(|s| forms_of(s.as_ref()))
            .collect();
        forms.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        forms.dedup();
        let alternation = forms
            .iter()
            .map(|f| regex::escape(f))
            .collect::<Vec<_>>()
            .join("|");
        // Escaped literals always compile; a set too large for the regex engine would only
        // come from thousands of secrets, never from one API member.
        let forms = (!forms.is_empty())
            .then(|| Regex::new(&alternation).ok())
            .flatten();
        Redactor { forms }
    }

    /// A redactor for an API member: its private and public keys, and the credentials the
    /// `Authorization` header carries.
    pub fn for_member(credentials: &Credentials) -> Redactor {
        Redactor::for_member_and(credentials, std::iter::empty::<String>())
    }

    /// A redactor for an API member ([`Self::for_member`]) and `more` secrets of the
    /// integration's own (the credentials of its `[server.headers]`).
    pub fn for_member_and<S: AsRef<str>>(
        credentials: &Credentials,
        more: impl IntoIterator<Item = S>,
    ) -> Redactor {
        let private = credentials.private_key.expose();
        Redactor::new(
            [
                private.to_owned(),
                credentials.public_key.clone(),
                format!(
                    "{}+{}:{private}",
                    credentials.company_id, credentials.public_key
                ),
                format!("{}:{private}", credentials.public_key),
            ]
            .into_iter()
            .chain(more.into_iter().map(|s| s.as_ref().to_owned())),
        )
    }

    /// `text` with every form of every secret replaced by `[redacted]`.
    pub fn redact<'a>(&self, text: &'a str) -> Cow<'a, str> {
        match &self.forms {
            Some(forms) => forms.replace_all(text, REDACTED),
            None => Cow::Borrowed(text),
        }
    }

    /// Whether `text` shows a secret in any known form.
    pub fn reveals(&self, text: &str) -> bool {
        self.forms.as_ref().is_some_and(|f| f.is_match(text))
    }
}

/// Every form of one secret.
fn forms_of(secret: &str) -> Vec<String> {
    let mut plain = vec![secret.to_owned()];
    plain.extend(base64_forms(secret.as_bytes()));
    plain.push(hex(secret.as_bytes(), false));
    plain.push(hex(secret.as_bytes(), true));
    let mut forms = Vec::new();
    for form in plain {
        let json = json_escaped(&form);
        forms.extend([
            percent_encoded(&form, false),
            percent_encoded(&form, true),
            url::form_urlencoded::byte_serialize(form.as_bytes()).collect(),
            json.replace('/', "\\/"),
            json_escaped(&json),
            json,
            form,
        ]);
    }
    forms
}

/// Base64 of `bytes` whole (padded and not), and for each of the three alignments the part
/// of its encoding that does not depend on the bytes around it.
fn base64_forms(bytes: &[u8]) -> Vec<String> {
    let mut forms = Vec::new();
    for engine in [STANDARD, URL_SAFE] {
        let whole = engine.encode(bytes);
        forms.push(whole.trim_end_matches('=').to_owned());
        forms.push(whole);
        for shift in 0..3 {
            let mut shifted = vec![0; shift];
            shifted.extend_from_slice(bytes);
            let encoded = engine.encode(&shifted);
            // The characters of the first group that carry bits of the bytes before, and
            // those of a last incomplete group, which carry bits of the bytes after.
            let start = [0, 2, 3][shift];
            let end = shifted.len() / 3 * 4;
            if end >= start + SHORTEST_ENCODED {
                forms.push(encoded[start..end].to_owned());
            }
        }
    }
    forms
        .into_iter()
        .filter(|f| f.len() >= SHORTEST_ENCODED)
        .collect()
}

fn hex(bytes: &[u8], upper: bool) -> String {
    bytes
        .iter()
        .map(|b| {
            if upper {
                format!("{b:02X}")
            } else {
                format!("{b:02x}")
            }
        })
        .collect()
}

/// Every byte but the unreserved characters of RFC 3986 as `%XX`.
fn percent_encoded(text: &str, upper: bool) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                char::from(b).to_string()
            } else if upper {
                format!("%{b:02X}")
            } else {
                format!("%{b:02x}")
            }
        })
        .collect()
}

/// `text` as it appears inside a JSON string.
fn json_escaped(text: &str) -> String {
    let quoted = serde_json::Value::from(text).to_string();
    quoted[1..quoted.len() - 1].to_owned()
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;
    use crate::connectwise::Secret;

    /// A private key with characters every encoding changes.
    const PRIVATE: &str = "canary/priv+ate\"key\\7d1e";

    fn member() -> Credentials {
        Credentials {
            site: "http://127.0.0.1:9".into(),
            company_id: "northwind".into(),
            public_key: "pub4c1d".into(),
            private_key: Secret::new(PRIVATE),
            client_id: Some("client".into()),
        }
    }

    fn basic() -> String {
        STANDARD.encode(format!("northwind+pub4c1d:{PRIVATE}"))
    }

    fn leaked(form: &str) -> String {
        format!("before {form} after")
    }

    #[rstest]
    #[case::plain(PRIVATE.to_owned())]
    #[case::authorization_header(member().authorization().expose().to_owned())]
    #[case::basic_credentials_base64(basic())]
    #[case::basic_credentials_base64_unpadded(basic().trim_end_matches('=').to_owned())]
    #[case::basic_credentials_url_safe_base64(URL_SAFE.encode(format!("northwind+pub4c1d:{PRIVATE}")))]
    #[case::public_colon_private_base64(STANDARD.encode(format!("pub4c1d:{PRIVATE}")))]
    #[case::private_key_base64(STANDARD.encode(PRIVATE))]
    #[case::url_encoded("canary%2Fpriv%2Bate%22key%5C7d1e".to_owned())]
    #[case::url_encoded_lower_case("canary%2fpriv%2bate%22key%5c7d1e".to_owned())]
    #[case::form_encoded_credentials("northwind%2Bpub4c1d%3Acanary%2Fpriv%2Bate%22key%5C7d1e".to_owned())]
    #[case::json_escaped(r#"canary/priv+ate\"key\\7d1e"#.to_owned())]
    #[case::json_escaped_with_slashes(r#"canary\/priv+ate\"key\\7d1e"#.to_owned())]
    #[case::json_escaped_twice(r#"canary/priv+ate\\\"key\\\\7d1e"#.to_owned())]
    #[case::basic_header_json_escaped(serde_json::Value::from(member().authorization().expose()).to_string())]
    #[case::basic_credentials_base64_url_encoded(percent_encoded(&basic(), false))]
    #[case::hex(hex(PRIVATE.as_bytes(), false))]
    fn every_form_of_the_members_secrets_is_redacted(#[case] form: String) {
        let redactor = Redactor::for_member(&member());
        let text = leaked(&form);
        assert!(redactor.reveals(&text), "{text}");
        let redacted = redactor.redact(&text);
        assert!(!redactor.reveals(&redacted), "{redacted}");
        assert!(redacted.starts_with("before "), "{redacted}");
        assert!(redacted.ends_with(" after"), "{redacted}");
        assert!(redacted.contains(REDACTED), "{redacted}");
        for secret_part in ["canary", "7d1e", &basic()[4..20]] {
            assert!(!redacted.contains(secret_part), "{redacted}");
        }
    }

    #[rstest]
    #[case::after_one_byte(1)]
    #[case::after_two_bytes(2)]
    #[case::after_three_bytes(3)]
    fn base64_of_a_longer_text_that_holds_the_key_is_redacted(#[case] before: usize) {
        let redactor = Redactor::for_member(&member());
        let text = format!("{}{PRIVATE} and more", "x".repeat(before));
        let encoded = STANDARD.encode(text);
        let redacted = redactor.redact(&encoded);
        assert!(redacted.contains(REDACTED), "{redacted}");
        // What stays visible carries at most two bytes of the key at either end.
        let visible: String = redacted.replace(REDACTED, "");
        assert!(visible.len() <= encoded.len() - 24, "{redacted}");
    }

    #[test]
    fn text_without_a_secret_is_unchanged_and_the_public_key_alone_is_a_secret() {
        let redactor = Redactor::for_member(&member());
        let text = "Signed in as northwind; 3 tickets found.";
        assert!(matches!(redactor.redact(text), Cow::Borrowed(_)));
        assert!(!redactor.reveals(text));
        // Issue 9: the public key is half of the member's credentials; showing it is INT-01.
        let text = "Signed in as northwind+pub4c1d; 3 tickets found.";
        assert_eq!(
            redactor.redact(text),
            "Signed in as northwind+[redacted]; 3 tickets found."
        );
        assert!(redactor.reveals(text));
    }

    #[test]
    fn an_integrations_own_credential_is_redacted_in_every_form_beside_the_members() {
        let redactor = Redactor::for_member_and(&member(), ["hosted-token-3e9a"]);
        for form in [
            "hosted-token-3e9a".to_owned(),
            STANDARD.encode("hosted-token-3e9a"),
            percent_encoded("Bearer hosted-token-3e9a", false),
            PRIVATE.to_owned(),
        ] {
            let text = leaked(&form);
            assert!(redactor.reveals(&text), "{text}");
            assert!(!redactor.reveals(&redactor.redact(&text)), "{text}");
        }
        assert!(!Redactor::for_member(&member()).reveals("hosted-token-3e9a"));
    }

    #[test]
    fn secrets_too_short_to_tell_from_words_are_left_alone() {
        let redactor = Redactor::new(["abc"]);
        assert_eq!(redactor.redact("abc abcd"), "abc abcd");
        let redactor = Redactor::new(["abcd"]);
        assert_eq!(redactor.redact("abc abcd"), "abc [redacted]");
    }
}
