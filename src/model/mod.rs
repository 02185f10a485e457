//! The domain vocabulary: permissions, roles, actions, outcomes and rules.
//!
//! Pure types with no I/O. Everything else in the crate speaks in these words.

pub mod action;
pub mod integrity;
pub mod outcome;
pub mod permission;
pub mod role;
pub mod rule;
pub mod source;
pub mod spelling;

pub use action::{Action, ActionCatalog, ActionKind, Example, ExampleSubject};
pub use integrity::Integrity;
pub use outcome::Outcome;
pub use permission::{FunctionName, Level, Levels, Operation, UnknownName};
pub use role::{CellDifference, CustomizeDifference, RoleDifference, SecurityRole};
pub use rule::{Rule, RuleCatalog, RuleId};
pub use source::{SourceCatalog, SourceDocument, SourceSection};
