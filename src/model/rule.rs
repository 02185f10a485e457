//! Documented rules and their stable IDs (`SAFE-08`), carried as Gherkin tags.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

use super::permission::UnknownName;

/// The families of rule IDs in the rulebook.
pub const RULE_FAMILIES: [&str; 9] = ["LP", "OV", "RD", "SD", "ST", "PS", "SAFE", "TS", "CL"];

/// A stable rule ID such as `LP-03` or `SAFE-10`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct RuleId(String);

impl RuleId {
    /// The ID as written in the rulebook.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Reads a Gherkin tag (`@SD-01` or `SD-01`) as a rule ID, if it is one.
    pub fn from_tag(tag: &str) -> Option<RuleId> {
        tag.trim_start_matches('@').parse().ok()
    }

    /// Whether a tag looks like it means a rule ID (a known family and a dash), valid or not.
    pub fn looks_like_rule_tag(tag: &str) -> bool {
        let tag = tag.trim_start_matches('@');
        RULE_FAMILIES.iter().any(|family| {
            tag.strip_prefix(family)
                .is_some_and(|rest| rest.starts_with('-'))
        })
    }
}

impl fmt::Display for RuleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `pad` honours width and alignment, so rule IDs line up in tables.
        f.pad(&self.0)
    }
}

impl FromStr for RuleId {
    type Err = UnknownName;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let valid = s.split_once('-').is_some_and(|(family, number)| {
            RULE_FAMILIES.contains(&family)
                && number.len() == 2
                && number.bytes().all(|b| b.is_ascii_digit())
        });
        if valid {
            Ok(RuleId(s.to_owned()))
        } else {
            Err(UnknownName {
                kind: "rule ID",
                value: s.to_owned(),
                expected: "FAMILY-NN with FAMILY one of LP, OV, RD, SD, ST, PS, SAFE, TS, CL",
                suggestion: None,
            })
        }
    }
}

/// One documented rule, in the project's own words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rule {
    /// Stable ID.
    pub id: RuleId,
    /// One line saying what the rule requires.
    pub summary: String,
    /// Source document file name.
    pub source: String,
    /// Section of the source document.
    pub section: String,
}

/// Every documented rule, in rulebook order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RuleCatalog {
    rules: Vec<Rule>,
}

impl RuleCatalog {
    /// Builds a catalog from rules already validated for unique IDs.
    pub fn new(rules: Vec<Rule>) -> Self {
        RuleCatalog { rules }
    }

    /// Looks a rule up by ID.
    pub fn get(&self, id: &RuleId) -> Option<&Rule> {
        self.rules.iter().find(|rule| &rule.id == id)
    }

    /// All rules in rulebook order.
    pub fn iter(&self) -> impl Iterator<Item = &Rule> {
        self.rules.iter()
    }

    /// Number of rules.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// Whether the catalog is empty.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;

    #[rstest]
    #[case("@SAFE-08", Some("SAFE-08"))]
    #[case("LP-02", Some("LP-02"))]
    #[case("@mock-only", None)]
    #[case("@XX-01", None)]
    #[case("@SD-1", None)]
    fn reads_rule_ids_from_tags(#[case] tag: &str, #[case] expected: Option<&str>) {
        assert_eq!(RuleId::from_tag(tag).as_ref().map(RuleId::as_str), expected);
    }

    #[test]
    fn a_malformed_rule_tag_still_looks_like_one() {
        assert!(RuleId::looks_like_rule_tag("@SD-1"));
        assert!(!RuleId::looks_like_rule_tag("@writes"));
    }
}
