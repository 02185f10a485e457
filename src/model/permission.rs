//! ConnectWise security vocabulary: operations, levels and security functions.
//!
//! Pure types: no I/O. A security role (see [`super::role`]) maps a
//! [`FunctionName`] to one [`Level`] per [`Operation`].

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::spelling;

/// One of the four operations ConnectWise checks for every security function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Operation {
    /// Create records (HTTP `POST`).
    Add,
    /// Change records (HTTP `PUT` and `PATCH`).
    Edit,
    /// Remove records (HTTP `DELETE`).
    Delete,
    /// Read records (HTTP `GET`).
    Inquire,
}

impl Operation {
    /// The four operations in the order ConnectWise's role screen shows them.
    pub const ALL: [Operation; 4] = [
        Operation::Add,
        Operation::Edit,
        Operation::Delete,
        Operation::Inquire,
    ];

    /// The name ConnectWise uses for the operation.
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Add => "Add",
            Operation::Edit => "Edit",
            Operation::Delete => "Delete",
            Operation::Inquire => "Inquire",
        }
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A value that is not one of the names a vocabulary type accepts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown {kind} \"{value}\"{} (expected {expected})",
    suggestion.map(|s| format!(" (did you mean \"{s}\"?)")).unwrap_or_default()
)]
pub struct UnknownName {
    /// What kind of name it was meant to be (`level`, `operation`, …).
    pub kind: &'static str,
    /// The value as written.
    pub value: String,
    /// The accepted names, for the message.
    pub expected: &'static str,
    /// The accepted name nearest to the value, when it looks like a slip.
    pub suggestion: Option<&'static str>,
}

impl FromStr for Operation {
    type Err = UnknownName;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "add" => Ok(Operation::Add),
            "edit" => Ok(Operation::Edit),
            "delete" => Ok(Operation::Delete),
            "inquire" => Ok(Operation::Inquire),
            _ => Err(UnknownName {
                kind: "operation",
                value: s.to_owned(),
                expected: "Add, Edit, Delete or Inquire",
                suggestion: spelling::nearest(s.trim(), ["Add", "Edit", "Delete", "Inquire"]),
            }),
        }
    }
}

/// How far a security role lets a member go with one operation of a function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum Level {
    /// No access at all.
    #[default]
    None,
    /// Only records the member owns or is assigned to (the UI sometimes says `Mine`).
    My,
    /// Every record.
    All,
}

impl Level {
    /// The name the ConnectWise API uses for the level.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::None => "None",
            Level::My => "My",
            Level::All => "All",
        }
    }

    /// Whether the level grants anything at all.
    pub fn grants_any(self) -> bool {
        self != Level::None
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Level {
    type Err = UnknownName;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "none" => Ok(Level::None),
            "my" | "mine" => Ok(Level::My),
            "all" => Ok(Level::All),
            _ => Err(UnknownName {
                kind: "level",
                value: s.to_owned(),
                expected: "None, My or All",
                suggestion: spelling::nearest(s.trim(), ["None", "My", "All"]),
            }),
        }
    }
}

impl Serialize for Level {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Level {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// The four levels a role grants for one security function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Levels {
    /// `Add` level.
    pub add: Level,
    /// `Edit` level.
    pub edit: Level,
    /// `Delete` level.
    pub delete: Level,
    /// `Inquire` level.
    pub inquire: Level,
}

impl Levels {
    /// The same level for all four operations.
    pub fn uniform(level: Level) -> Self {
        Levels {
            add: level,
            edit: level,
            delete: level,
            inquire: level,
        }
    }

    /// The level for one operation.
    pub fn get(&self, operation: Operation) -> Level {
        match operation {
            Operation::Add => self.add,
            Operation::Edit => self.edit,
            Operation::Delete => self.delete,
            Operation::Inquire => self.inquire,
        }
    }

    /// Sets the level for one operation.
    pub fn set(&mut self, operation: Operation, level: Level) {
        match operation {
            Operation::Add => self.add = level,
            Operation::Edit => self.edit = level,
            Operation::Delete => self.delete = level,
            Operation::Inquire => self.inquire = level,
        }
    }
}

impl fmt::Display for Levels {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Add {}, Edit {}, Delete {}, Inquire {}",
            self.add, self.edit, self.delete, self.inquire
        )
    }
}

/// A security function ("policy" in the source documents), named by its module:
/// `Service Desk / Service Tickets`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FunctionName {
    /// The module, e.g. `Service Desk`.
    pub module: String,
    /// The function inside the module, e.g. `Service Tickets`.
    pub function: String,
}

impl FunctionName {
    /// Builds a name from its two parts.
    pub fn new(module: impl Into<String>, function: impl Into<String>) -> Self {
        FunctionName {
            module: module.into(),
            function: function.into(),
        }
    }

    /// ConnectWise's identifier of the function: the letters and digits of its name
    /// (`Configurations`, `TableSetup`), as `moduleFunctionIdentifier` in the role settings
    /// and `customizeIdentifier` in `/system/mySecurity/customizeItems` give it. UNCERTAIN:
    /// inferred from the field names; no source shows a value.
    pub fn identifier(&self) -> String {
        self.function
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .collect()
    }

    /// Whether `other` names the same function, ignoring case and surrounding space.
    pub fn same_as(&self, module: &str, function: &str) -> bool {
        self.module.eq_ignore_ascii_case(module.trim())
            && self.function.eq_ignore_ascii_case(function.trim())
    }
}

impl fmt::Display for FunctionName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} / {}", self.module, self.function)
    }
}

impl FromStr for FunctionName {
    type Err = UnknownName;

    /// Parses `Module / Function`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.split_once(" / ") {
            Some((module, function))
                if !module.trim().is_empty() && !function.trim().is_empty() =>
            {
                Ok(FunctionName::new(module.trim(), function.trim()))
            }
            _ => Err(UnknownName {
                kind: "security function",
                value: s.to_owned(),
                expected: "\"Module / Function\", e.g. \"Service Desk / Service Tickets\"",
                suggestion: None,
            }),
        }
    }
}

impl Serialize for FunctionName {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;

    #[rstest]
    #[case("None", Level::None)]
    #[case("my", Level::My)]
    #[case("Mine", Level::My)]
    #[case(" ALL ", Level::All)]
    fn parses_levels_as_connectwise_spells_them(#[case] text: &str, #[case] level: Level) {
        assert_eq!(text.parse::<Level>(), Ok(level));
    }

    #[test]
    fn rejects_an_unknown_level_naming_it() {
        let error = "Sometimes".parse::<Level>().unwrap_err();
        assert_eq!(
            error.to_string(),
            "unknown level \"Sometimes\" (expected None, My or All)"
        );
    }

    #[test]
    fn parses_a_function_name_with_its_module() {
        let name: FunctionName = "Service Desk / Service Tickets".parse().unwrap();
        assert_eq!(name, FunctionName::new("Service Desk", "Service Tickets"));
        assert_eq!(name.to_string(), "Service Desk / Service Tickets");
        assert!(name.same_as("service desk", "service tickets"));
    }

    #[rstest]
    #[case("Service Tickets")]
    #[case(" / Service Tickets")]
    #[case("Service Desk / ")]
    fn rejects_a_function_name_without_both_parts(#[case] text: &str) {
        assert!(text.parse::<FunctionName>().is_err());
    }

    #[test]
    fn levels_get_and_set_each_operation() {
        let mut levels = Levels::default();
        levels.set(Operation::Delete, Level::My);
        assert_eq!(levels.get(Operation::Delete), Level::My);
        assert_eq!(levels.get(Operation::Add), Level::None);
        assert_eq!(
            levels.to_string(),
            "Add None, Edit None, Delete My, Inquire None"
        );
    }
}
