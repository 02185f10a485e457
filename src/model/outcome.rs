//! The result of one action, as the harness names it.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::permission::UnknownName;
use super::spelling;

/// What happened to an action the AI asked the integration to perform.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// The request reached ConnectWise and ConnectWise accepted it (2xx).
    Allowed,
    /// ConnectWise refused it (403) and the AI was told it has no access.
    Denied,
    /// ConnectWise refused the credentials (401).
    Unauthenticated,
    /// The integration refused before sending anything.
    Blocked,
    /// The integration held the action for explicit confirmation or billing review.
    Escalated,
    /// The integration refused invalid input before sending any write.
    Rejected,
    /// The main read succeeded but related lookups were refused.
    Partial,
    /// The action did not happen, for a reason none of the other outcomes names:
    /// ConnectWise answered another error (404, 400, 5xx) or could not be reached, or the
    /// integration's answer contradicts what ConnectWise answered (success after a 403).
    /// Always the integration's answer: a server that did not start or answer, or arguments
    /// it refused, give no outcome at all (`IntegrationError`: the scenario is not judged).
    Failed,
}

impl Outcome {
    /// Every outcome, in the order the documents introduce them.
    pub const ALL: [Outcome; 8] = [
        Outcome::Allowed,
        Outcome::Denied,
        Outcome::Blocked,
        Outcome::Escalated,
        Outcome::Rejected,
        Outcome::Partial,
        Outcome::Unauthenticated,
        Outcome::Failed,
    ];

    /// The lowercase name used in features and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Allowed => "allowed",
            Outcome::Denied => "denied",
            Outcome::Unauthenticated => "unauthenticated",
            Outcome::Blocked => "blocked",
            Outcome::Escalated => "escalated",
            Outcome::Rejected => "rejected",
            Outcome::Partial => "partial",
            Outcome::Failed => "failed",
        }
    }
}

impl Outcome {
    /// What the outcome word means, in a sentence for a reader of the matrix or the
    /// documentation (the legend).
    pub fn meaning(self) -> &'static str {
        match self {
            Outcome::Allowed => "the request reached ConnectWise, which accepted it",
            Outcome::Denied => {
                "ConnectWise refused it (403): the role does not grant it, and the AI is told it has no access"
            }
            Outcome::Blocked => {
                "the integration refuses it whatever the role grants, and sends nothing to ConnectWise"
            }
            Outcome::Escalated => {
                "the integration holds it until a person confirms it (or reviews the billing)"
            }
            Outcome::Rejected => "the integration refuses invalid input before sending any write",
            Outcome::Partial => {
                "the main read succeeded, but lookups of related records were refused"
            }
            Outcome::Unauthenticated => "ConnectWise refused the API member's credentials (401)",
            Outcome::Failed => {
                "ConnectWise answered with another error (404, 400, 5xx) or could not be reached"
            }
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Outcome {
    type Err = UnknownName;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Outcome::ALL.into_iter().find(|o| o.as_str().eq_ignore_ascii_case(s.trim())).ok_or_else(
            || UnknownName {
                kind: "outcome",
                value: s.to_owned(),
                expected: "allowed, denied, blocked, escalated, rejected, partial, unauthenticated or failed",
                suggestion: spelling::nearest(s.trim(), Outcome::ALL.map(Outcome::as_str)),
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_outcome_round_trips_through_its_name() {
        for outcome in Outcome::ALL {
            assert_eq!(outcome.as_str().parse::<Outcome>(), Ok(outcome));
        }
        assert!("maybe".parse::<Outcome>().is_err());
    }

    #[test]
    fn an_unknown_outcome_suggests_the_nearest_and_lists_them_all() {
        let error = "alowed".parse::<Outcome>().unwrap_err();
        assert_eq!(
            error.to_string(),
            "unknown outcome \"alowed\" (did you mean \"allowed\"?) (expected allowed, denied, \
             blocked, escalated, rejected, partial, unauthenticated or failed)"
        );
        let error = "maybe".parse::<Outcome>().unwrap_err();
        assert!(!error.to_string().contains("did you mean"), "{error}");
    }
}
