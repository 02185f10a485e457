//! Security roles: which [`Levels`] a role grants for each security function.
//!
//! Pure types. Loading a role from TOML and validating its function names
//! against the known ConnectWise functions lives in [`crate::fixtures`].

use std::collections::BTreeMap;

use super::permission::{FunctionName, Level, Levels, Operation};

/// A ConnectWise security role: a map from security function to four levels.
/// Functions the role does not list are `None` for every operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecurityRole {
    /// The profile name (`least-privilege`) or a scenario's own name.
    pub name: String,
    /// One line saying what the role is for.
    pub summary: String,
    grants: BTreeMap<FunctionName, Levels>,
}

impl SecurityRole {
    /// An empty role: every function `None`.
    pub fn new(name: impl Into<String>, summary: impl Into<String>) -> Self {
        SecurityRole {
            name: name.into(),
            summary: summary.into(),
            grants: BTreeMap::new(),
        }
    }

    /// Adds or replaces the levels for one function.
    #[must_use]
    pub fn with_grant(mut self, function: FunctionName, levels: Levels) -> Self {
        self.grant(function, levels);
        self
    }

    /// Adds or replaces the levels for one function.
    pub fn grant(&mut self, function: FunctionName, levels: Levels) {
        self.grants.insert(function, levels);
    }

    /// The levels granted for a function (`None` everywhere when unlisted).
    pub fn levels(&self, function: &FunctionName) -> Levels {
        self.grants.get(function).copied().unwrap_or_default()
    }

    /// The level granted for one operation of a function.
    pub fn level(&self, function: &FunctionName, operation: Operation) -> Level {
        self.levels(function).get(operation)
    }

    /// Every function the role lists, in a stable order.
    pub fn grants(&self) -> impl Iterator<Item = (&FunctionName, &Levels)> {
        self.grants.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unlisted_functions_are_none_for_every_operation() {
        let tickets = FunctionName::new("Service Desk", "Service Tickets");
        let role = SecurityRole::new("x", "test").with_grant(
            tickets.clone(),
            Levels {
                add: Level::All,
                ..Levels::default()
            },
        );
        assert_eq!(role.level(&tickets, Operation::Add), Level::All);
        assert_eq!(role.level(&tickets, Operation::Edit), Level::None);
        let other = FunctionName::new("Finance", "Agreements");
        assert_eq!(role.levels(&other), Levels::default());
    }
}
