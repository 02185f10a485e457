//! The integration's own safety policy (rules SAFE-01 to SAFE-10): what it blocks or
//! holds for confirmation whatever the security role grants.
//!
//! Loaded from `fixtures/policy.toml`; pure decisions, no I/O.

use serde::Deserialize;

use crate::model::{Action, ActionKind, RuleId};

/// What the policy says about one action with its payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Send it.
    Pass,
    /// Refuse it before anything is sent.
    Block {
        /// The rule that blocks it.
        rule: RuleId,
        /// Why, in words the AI can relay.
        reason: String,
        /// The payload fields that caused the block, if it was about fields.
        fields: Vec<String>,
    },
    /// Hold it for explicit confirmation or billing review.
    Escalate {
        /// The rule that holds it.
        rule: RuleId,
        /// Why, in words a person deciding can read.
        reason: String,
    },
}

/// Refuse writes to whole resources.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlockResources {
    /// The rule.
    pub rule: RuleId,
    /// Collections the rule covers.
    pub resources: Vec<String>,
    /// The reason given.
    pub reason: String,
}

/// Refuse writes that touch given fields of a resource.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlockFields {
    /// The rule.
    pub rule: RuleId,
    /// The collection.
    pub resource: String,
    /// Fields that may never be written.
    pub fields: Vec<String>,
    /// The reason given.
    pub reason: String,
}

/// Hold some writes for confirmation.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Escalate {
    /// The rule.
    pub rule: RuleId,
    /// Collections the rule covers; `*` is every collection.
    pub resources: Vec<String>,
    /// Kinds of action held.
    pub kinds: Vec<ActionKind>,
    /// The reason given.
    pub reason: String,
}

/// The whole policy, in the order it is applied: blocks, field blocks, escalations.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// Resource blocks.
    #[serde(default, rename = "block")]
    pub blocks: Vec<BlockResources>,
    /// Field blocks.
    #[serde(default, rename = "block_fields")]
    pub field_blocks: Vec<BlockFields>,
    /// Escalations.
    #[serde(default, rename = "escalate")]
    pub escalations: Vec<Escalate>,
}

impl<'de> Deserialize<'de> for RuleId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// The top-level field a payload key or patch path changes.
fn top_level(key: &str) -> &str {
    key.trim_start_matches('/')
        .split('/')
        .next()
        .unwrap_or_default()
}

impl Policy {
    /// Decides on an action with the fields it would send (for writes).
    pub fn decide(
        &self,
        action: &Action,
        payload: &serde_json::Map<String, serde_json::Value>,
    ) -> Decision {
        if !action.writes() {
            return Decision::Pass;
        }
        if let Some(block) = self
            .blocks
            .iter()
            .find(|b| b.resources.contains(&action.resource))
        {
            return Decision::Block {
                rule: block.rule.clone(),
                reason: block.reason.clone(),
                fields: Vec::new(),
            };
        }
        for block in self
            .field_blocks
            .iter()
            .filter(|b| b.resource == action.resource)
        {
            // A field may be written as a path (`/billAmount`, `billingCycle/id`): what counts
            // is the top-level field it changes.
            let touched: Vec<String> = block
                .fields
                .iter()
                .filter(|f| payload.keys().any(|k| top_level(k).eq_ignore_ascii_case(f)))
                .cloned()
                .collect();
            if !touched.is_empty() {
                return Decision::Block {
                    rule: block.rule.clone(),
                    reason: block.reason.clone(),
                    fields: touched,
                };
            }
        }
        let held = self.escalations.iter().find(|e| {
            e.kinds.contains(&action.kind)
                && e.resources
                    .iter()
                    .any(|r| r == "*" || *r == action.resource)
        });
        match held {
            Some(e) => Decision::Escalate {
                rule: e.rule.clone(),
                reason: e.reason.clone(),
            },
            None => Decision::Pass,
        }
    }
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;
    use crate::fixtures::Fixtures;

    #[rstest]
    #[case("billAmount")]
    #[case("/billAmount")]
    #[case("billingCycle/id")]
    #[case("/BillingCycle/name")]
    fn a_billing_field_is_blocked_however_it_is_written(#[case] key: &str) {
        let fixtures = Fixtures::builtin().unwrap();
        let action = fixtures.actions.get("agreement.update").unwrap();
        let mut payload = serde_json::Map::new();
        payload.insert(key.to_owned(), serde_json::json!(1));
        payload.insert("customerPO".to_owned(), serde_json::json!("PO-1"));
        let decision = fixtures.policy.decide(action, &payload);
        assert!(
            matches!(decision, Decision::Block { ref rule, .. } if rule.as_str() == "SAFE-08"),
            "{decision:?}"
        );
    }

    #[test]
    fn reads_always_pass() {
        let fixtures = Fixtures::builtin().unwrap();
        let action = fixtures.actions.get("invoice.search").unwrap();
        assert_eq!(
            fixtures.policy.decide(action, &serde_json::Map::new()),
            Decision::Pass
        );
    }
}
