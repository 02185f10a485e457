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
    /// Customize allow-lists: for a function that has one, the items the role is limited
    /// to (configuration types, agreement types, setup tables). A function not listed
    /// here allows every item.
    customize: BTreeMap<FunctionName, Vec<String>>,
}

impl SecurityRole {
    /// An empty role: every function `None`.
    pub fn new(name: impl Into<String>, summary: impl Into<String>) -> Self {
        SecurityRole {
            name: name.into(),
            summary: summary.into(),
            grants: BTreeMap::new(),
            customize: BTreeMap::new(),
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

    /// Limits a function to the listed items of its Customize allow-list.
    pub fn limit_items(&mut self, function: FunctionName, items: Vec<String>) {
        self.customize.insert(function, items);
    }

    /// The items a function is limited to, or `None` when the role allows every item.
    pub fn allowed_items(&self, function: &FunctionName) -> Option<&[String]> {
        self.customize.get(function).map(Vec::as_slice)
    }

    /// Whether the role allows an item of a function's Customize allow-list.
    pub fn allows_item(&self, function: &FunctionName, item: &str) -> bool {
        self.allowed_items(function)
            .is_none_or(|items| items.iter().any(|i| i.eq_ignore_ascii_case(item)))
    }

    /// Every function the role limits to some items, with the items.
    pub fn limited(&self) -> impl Iterator<Item = (&FunctionName, &[String])> {
        self.customize
            .iter()
            .map(|(f, items)| (f, items.as_slice()))
    }

    /// Every cell where `actual` grants another level than this role, function by function
    /// in a stable order (an unlisted function is `None` everywhere). Empty when the two
    /// grant the same: names and summaries do not count.
    pub fn differences(&self, actual: &SecurityRole) -> Vec<CellDifference> {
        let functions: std::collections::BTreeSet<&FunctionName> =
            self.grants.keys().chain(actual.grants.keys()).collect();
        let mut differences = Vec::new();
        for function in functions {
            for operation in Operation::ALL {
                let expected = self.level(function, operation);
                let found = actual.level(function, operation);
                if expected != found {
                    differences.push(CellDifference {
                        function: function.clone(),
                        operation,
                        expected,
                        actual: found,
                    });
                }
            }
        }
        differences
    }

    /// Whether `other` grants exactly what this role grants.
    pub fn grants_same_as(&self, other: &SecurityRole) -> bool {
        self.differences(other).is_empty()
    }
}

/// One cell of a role's settings that differs from what was expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CellDifference {
    /// The security function.
    pub function: FunctionName,
    /// The operation (the column of ConnectWise's role screen).
    pub operation: Operation,
    /// The level the role should grant.
    pub expected: Level,
    /// The level it grants.
    pub actual: Level,
}

impl std::fmt::Display for CellDifference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}: expected {}, ConnectWise has {}",
            self.function, self.operation, self.expected, self.actual
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_function_without_an_allow_list_allows_every_item_and_one_with_it_only_those() {
        let configurations = FunctionName::new("Companies", "Configurations");
        let mut role = SecurityRole::new("x", "test");
        assert!(role.allows_item(&configurations, "Server"));
        role.limit_items(configurations.clone(), vec!["Firewall".into()]);
        assert!(role.allows_item(&configurations, "firewall"));
        assert!(!role.allows_item(&configurations, "Server"));
        assert_eq!(role.limited().count(), 1);
    }

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

    #[test]
    fn differences_name_each_cell_and_ignore_names() {
        let tickets = FunctionName::new("Service Desk", "Service Tickets");
        let agreements = FunctionName::new("Finance", "Agreements");
        let expected = SecurityRole::new("profile", "what should be").with_grant(
            tickets.clone(),
            Levels {
                add: Level::All,
                inquire: Level::All,
                ..Levels::default()
            },
        );
        let actual = SecurityRole::new("live", "what is").with_grant(
            tickets.clone(),
            Levels {
                inquire: Level::All,
                ..Levels::default()
            },
        );
        let actual = actual.with_grant(
            agreements,
            Levels {
                inquire: Level::My,
                ..Levels::default()
            },
        );

        let shown: Vec<String> = expected
            .differences(&actual)
            .iter()
            .map(ToString::to_string)
            .collect();

        assert_eq!(
            shown,
            [
                "Finance / Agreements Inquire: expected None, ConnectWise has My",
                "Service Desk / Service Tickets Add: expected All, ConnectWise has None",
            ]
        );
        let renamed = SecurityRole::new("other", "").with_grant(
            tickets,
            expected.levels(&FunctionName::new("Service Desk", "Service Tickets")),
        );
        assert!(expected.grants_same_as(&renamed));
    }
}
