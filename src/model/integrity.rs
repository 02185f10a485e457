//! Integrity checks: what an integration under test must never do, whatever rule a
//! scenario checks. They are not rules of the source documents (not in
//! `fixtures/rules.toml`); a breach fails the scenario in which it happened, is reported
//! under its own ID in the report's "Integrity" section, and fails the run.
//!
//! | ID | the integration … |
//! |---|---|
//! | `INT-01` | shows a secret of its API member (the public or private key, the Basic credential, in plain or encoded form), or its own credential (a `[server.headers]` token), in a tool result, an elicitation message or its own output (stdout, stderr) |
//! | `INT-02` | says something the requests ConnectWise received contradict: success after a refusal (401, 403, any error), success with nothing of the action sent, or a write attempted before it asked the person |
//! | `INT-03` | behaves against its tool's annotations: a `readOnlyHint: true` tool sends a write, a `destructiveHint: false` tool sends a delete |
//!
//! The IDs are stable: never renumber them.

use std::fmt;

use serde::Serialize;

/// One integrity check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(into = "&'static str")]
pub enum Integrity {
    /// `INT-01`: a secret of the API member shown.
    SecretShown,
    /// `INT-02`: a tool result or a confirmation request the journal contradicts.
    Contradiction,
    /// `INT-03`: a tool annotation contradicted by behaviour.
    AnnotationContradicted,
}

impl Integrity {
    /// Every check, in ID order.
    pub const ALL: [Integrity; 3] = [
        Integrity::SecretShown,
        Integrity::Contradiction,
        Integrity::AnnotationContradicted,
    ];

    /// The stable ID (`INT-01`).
    pub fn id(self) -> &'static str {
        match self {
            Integrity::SecretShown => "INT-01",
            Integrity::Contradiction => "INT-02",
            Integrity::AnnotationContradicted => "INT-03",
        }
    }

    /// What the check demands, in one line.
    pub fn summary(self) -> &'static str {
        match self {
            Integrity::SecretShown => {
                "No secret of the API member (public or private key, Basic credential, in any encoding) in a tool result, an elicitation message or the server's output"
            }
            Integrity::Contradiction => {
                "A tool result never contradicts what ConnectWise received (success after a refusal, success with nothing sent), and nothing is written before the person is asked"
            }
            Integrity::AnnotationContradicted => {
                "A tool behaves as its annotations say: readOnlyHint tools never write, destructiveHint: false tools never delete"
            }
        }
    }
}

impl From<Integrity> for &'static str {
    fn from(check: Integrity) -> Self {
        check.id()
    }
}

impl fmt::Display for Integrity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.id())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ids_are_stable_and_in_order() {
        let ids: Vec<&str> = Integrity::ALL.iter().map(|c| c.id()).collect();
        assert_eq!(ids, ["INT-01", "INT-02", "INT-03"]);
        assert_eq!(
            serde_json::to_value(Integrity::Contradiction).unwrap(),
            "INT-02"
        );
    }
}
