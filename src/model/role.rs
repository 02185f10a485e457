//! Security roles: which [`Levels`] a role grants for each security function.
//!
//! Pure types. Loading a role from TOML and validating its function names
//! against the known ConnectWise functions lives in [`crate::fixtures`].

use std::collections::{BTreeMap, BTreeSet};

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

    /// The items a function is limited to where the limit has an effect: the role grants
    /// the function at some level (ConnectWise lists no Customize item of a function the
    /// role does not grant, so a limit there limits nothing). `None`: every item.
    pub fn effective_limit(&self, function: &FunctionName) -> Option<&[String]> {
        let granted = Operation::ALL
            .into_iter()
            .any(|operation| self.level(function, operation).grants_any());
        self.allowed_items(function).filter(|_| granted)
    }

    /// Every way `actual` differs from this role: each cell where it grants another level
    /// (see [`SecurityRole::cell_differences`]), then each Customize allow-list it limits
    /// otherwise (see [`SecurityRole::customize_differences`]). Empty when the two grant
    /// the same: names and summaries do not count.
    pub fn differences(&self, actual: &SecurityRole) -> Vec<RoleDifference> {
        self.cell_differences(actual)
            .into_iter()
            .map(RoleDifference::Cell)
            .chain(
                self.customize_differences(actual)
                    .into_iter()
                    .map(RoleDifference::Customize),
            )
            .collect()
    }

    /// Every cell where `actual` grants another level than this role, function by function
    /// in a stable order (an unlisted function is `None` everywhere).
    pub fn cell_differences(&self, actual: &SecurityRole) -> Vec<CellDifference> {
        let functions: BTreeSet<&FunctionName> =
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

    /// Every Customize allow-list `actual` limits otherwise than this role, function by
    /// function in a stable order: a limit against none, or, where both limit the function,
    /// each item one of them allows and the other does not. Items compare without regard
    /// to case or order; a limit counts only where it has an effect
    /// ([`SecurityRole::effective_limit`]).
    pub fn customize_differences(&self, actual: &SecurityRole) -> Vec<CustomizeDifference> {
        let functions: BTreeSet<&FunctionName> = self
            .customize
            .keys()
            .chain(actual.customize.keys())
            .collect();
        let mut differences = Vec::new();
        for function in functions {
            match (
                self.effective_limit(function),
                actual.effective_limit(function),
            ) {
                (None, None) => {}
                (Some(expected), Some(found)) => {
                    let only = |these: &[String], not_in: &[String]| -> Vec<String> {
                        let mut only: Vec<String> = these
                            .iter()
                            .filter(|item| !not_in.iter().any(|i| i.eq_ignore_ascii_case(item)))
                            .cloned()
                            .collect();
                        only.sort_by_key(|item| item.to_lowercase());
                        only.dedup_by(|a, b| a.eq_ignore_ascii_case(b));
                        only
                    };
                    for item in only(expected, found) {
                        differences.push(CustomizeDifference::Item {
                            function: function.clone(),
                            item,
                            expected_allowed: true,
                        });
                    }
                    for item in only(found, expected) {
                        differences.push(CustomizeDifference::Item {
                            function: function.clone(),
                            item,
                            expected_allowed: false,
                        });
                    }
                }
                (expected, found) => differences.push(CustomizeDifference::Limit {
                    function: function.clone(),
                    expected: expected.map(<[String]>::to_vec),
                    actual: found.map(<[String]>::to_vec),
                }),
            }
        }
        differences
    }

    /// Whether `other` grants exactly what this role grants, Customize limits included.
    pub fn grants_same_as(&self, other: &SecurityRole) -> bool {
        self.differences(other).is_empty()
    }
}

/// One way a role's settings differ from what was expected: a cell, or a Customize
/// allow-list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoleDifference {
    /// A cell grants another level.
    Cell(CellDifference),
    /// A Customize allow-list is limited otherwise.
    Customize(CustomizeDifference),
}

impl std::fmt::Display for RoleDifference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RoleDifference::Cell(cell) => cell.fmt(f),
            RoleDifference::Customize(customize) => customize.fmt(f),
        }
    }
}

/// A Customize allow-list limited otherwise than expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CustomizeDifference {
    /// One side limits the function to some items, the other allows every item (`None`).
    Limit {
        /// The security function.
        function: FunctionName,
        /// The items the role should be limited to (`None`: every item).
        expected: Option<Vec<String>>,
        /// The items it is limited to (`None`: every item).
        actual: Option<Vec<String>>,
    },
    /// Both limit the function, and this item is allowed by one of them only.
    Item {
        /// The security function.
        function: FunctionName,
        /// The item.
        item: String,
        /// Whether the role should allow it (then ConnectWise does not), or not (then it
        /// does).
        expected_allowed: bool,
    },
}

/// Items as a person reads them: `"Firewall", "Server"`.
pub(crate) fn quoted(items: &[String]) -> String {
    items
        .iter()
        .map(|item| format!("\"{item}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

impl std::fmt::Display for CustomizeDifference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let allows = |items: &Option<Vec<String>>| match items {
            Some(items) => format!("only {}", quoted(items)),
            None => "every item".to_owned(),
        };
        match self {
            CustomizeDifference::Limit {
                function,
                expected,
                actual,
            } => write!(
                f,
                "{function} Customize: expected {}, ConnectWise allows {}",
                allows(expected),
                allows(actual)
            ),
            CustomizeDifference::Item {
                function,
                item,
                expected_allowed: true,
            } => write!(
                f,
                "{function} Customize item \"{item}\": expected allowed, ConnectWise disallows it"
            ),
            CustomizeDifference::Item {
                function,
                item,
                expected_allowed: false,
            } => write!(
                f,
                "{function} Customize item \"{item}\": expected disallowed, ConnectWise allows it"
            ),
        }
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

    /// A role granting Configurations Inquire All, limited to `items` when given.
    fn configurations_role(items: Option<&[&str]>) -> SecurityRole {
        let configurations = FunctionName::new("Companies", "Configurations");
        let mut role = SecurityRole::new("x", "test").with_grant(
            configurations.clone(),
            Levels {
                inquire: Level::All,
                ..Levels::default()
            },
        );
        if let Some(items) = items {
            role.limit_items(
                configurations,
                items.iter().map(|&item| item.to_owned()).collect(),
            );
        }
        role
    }

    fn shown(differences: &[RoleDifference]) -> Vec<String> {
        differences.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn the_same_cells_limited_to_other_items_differ_item_by_item() {
        let expected = configurations_role(Some(&["Firewall"]));
        let actual = configurations_role(Some(&["Firewall", "Server", "Workstation"]));

        assert_eq!(
            shown(&expected.differences(&actual)),
            [
                "Companies / Configurations Customize item \"Server\": expected disallowed, ConnectWise allows it",
                "Companies / Configurations Customize item \"Workstation\": expected disallowed, ConnectWise allows it",
            ]
        );
        assert_eq!(
            shown(&actual.differences(&expected)),
            [
                "Companies / Configurations Customize item \"Server\": expected allowed, ConnectWise disallows it",
                "Companies / Configurations Customize item \"Workstation\": expected allowed, ConnectWise disallows it",
            ]
        );
        assert!(expected.cell_differences(&actual).is_empty());
        assert!(!expected.grants_same_as(&actual));
    }

    #[test]
    fn items_in_another_order_or_case_are_the_same_limit() {
        let expected = configurations_role(Some(&["Firewall", "Server"]));
        let actual = configurations_role(Some(&["server", "Firewall", "Server"]));

        assert_eq!(shown(&expected.differences(&actual)), Vec::<String>::new());
        assert!(expected.grants_same_as(&actual) && actual.grants_same_as(&expected));
    }

    #[test]
    fn a_limit_differs_from_no_limit_both_ways() {
        let limited = configurations_role(Some(&["Firewall"]));
        let every = configurations_role(None);

        assert_eq!(
            shown(&limited.differences(&every)),
            [
                "Companies / Configurations Customize: expected only \"Firewall\", ConnectWise allows every item"
            ]
        );
        assert_eq!(
            shown(&every.differences(&limited)),
            [
                "Companies / Configurations Customize: expected every item, ConnectWise allows only \"Firewall\""
            ]
        );
        assert!(!every.grants_same_as(&limited));
    }

    #[test]
    fn a_limit_on_a_function_the_role_does_not_grant_limits_nothing() {
        let configurations = FunctionName::new("Companies", "Configurations");
        let mut limited = SecurityRole::new("x", "test");
        limited.limit_items(configurations.clone(), vec!["Firewall".into()]);

        assert_eq!(limited.effective_limit(&configurations), None);
        assert!(limited.grants_same_as(&SecurityRole::new("y", "test")));
        assert_eq!(
            configurations_role(Some(&["Firewall"])).effective_limit(&configurations),
            Some(&["Firewall".to_owned()][..])
        );
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

        assert_eq!(
            shown(&expected.differences(&actual)),
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
