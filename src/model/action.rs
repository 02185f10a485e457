//! The action catalog: what the integration can do for the AI.
//!
//! Each [`Action`] names the ConnectWise resource it touches and how; the
//! reference integration carries actions out generically from this data, and
//! the safety policy decides on them by resource and kind.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;

use super::permission::Operation;

/// What an action does to its resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ActionKind {
    /// Check the credentials and list the companies to associate.
    Connect,
    /// List records matching a query.
    Search,
    /// Read one record.
    Get,
    /// Create a record.
    Create,
    /// Change fields of a record.
    Update,
    /// Close a ticket: move it to a closed status of its board.
    Close,
    /// Merge tickets into a parent ticket.
    Merge,
    /// Remove a record.
    Delete,
    /// Attach a file to a record.
    Attach,
}

impl ActionKind {
    /// Whether the action changes anything in ConnectWise.
    pub fn writes(self) -> bool {
        !matches!(
            self,
            ActionKind::Connect | ActionKind::Search | ActionKind::Get
        )
    }

    /// The security operation ConnectWise checks for the action's main request.
    pub fn operation(self) -> Operation {
        match self {
            ActionKind::Connect | ActionKind::Search | ActionKind::Get => Operation::Inquire,
            ActionKind::Create | ActionKind::Attach | ActionKind::Merge => Operation::Add,
            ActionKind::Update | ActionKind::Close => Operation::Edit,
            ActionKind::Delete => Operation::Delete,
        }
    }

    /// Lowercase name as written in the catalog.
    pub fn as_str(self) -> &'static str {
        match self {
            ActionKind::Connect => "connect",
            ActionKind::Search => "search",
            ActionKind::Get => "get",
            ActionKind::Create => "create",
            ActionKind::Update => "update",
            ActionKind::Close => "close",
            ActionKind::Merge => "merge",
            ActionKind::Delete => "delete",
            ActionKind::Attach => "attach",
        }
    }
}

impl fmt::Display for ActionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One thing the integration does for the AI.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Action {
    /// Stable name, `resource.verb` (`ticket.create`).
    pub name: String,
    /// How a person says it, used by the Gherkin steps ("create a service ticket").
    pub phrase: String,
    /// What it does.
    pub kind: ActionKind,
    /// The ConnectWise collection it acts on (`tickets`, `time_entries`).
    pub resource: String,
    /// The collection path under `/apis/3.0`, with `{parentId}` for child collections.
    pub path: String,
    /// The workflow the action belongs to (`service-tickets`, `time`): the unit in which
    /// write permissions are granted (rule CL-03).
    pub workflow: String,
    /// Fields always sent with the action's payload (for example the kind of a note).
    #[serde(default)]
    pub fields: serde_json::Map<String, serde_json::Value>,
    /// Reference fields checked by lookups before a write (rule RD-04).
    #[serde(default)]
    pub validate: Vec<String>,
    /// Reference fields whose records are read after the main read (rule TS-04).
    #[serde(default)]
    pub related: Vec<String>,
    /// The field a search matches its query against.
    #[serde(default)]
    pub search_field: Option<String>,
    /// A request that exercises the action against the seed data.
    pub example: Example,
}

/// A sample request for an action: the record it is about and the fields given.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Example {
    /// A record number (for child collections: the parent's), or a search text.
    #[serde(default)]
    pub subject: Option<ExampleSubject>,
    /// Fields the AI gives.
    #[serde(default)]
    pub fields: serde_json::Map<String, serde_json::Value>,
}

/// The subject of an [`Example`].
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum ExampleSubject {
    /// A record number.
    Id(i64),
    /// A search text.
    Text(String),
}

impl Action {
    /// Whether the action changes anything in ConnectWise.
    pub fn writes(&self) -> bool {
        self.kind.writes()
    }

    /// Whether the action works on a child collection (`/service/tickets/{parentId}/notes`).
    pub fn has_parent(&self) -> bool {
        self.path.contains("{parentId}")
    }
}

/// How the integration finds a referenced record by its name before a write, or reads it
/// after a read.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lookup {
    /// Collection path; may contain `{field}` placeholders filled from the same payload
    /// (a status is looked up under its board: `/service/boards/{board}/statuses`).
    pub path: String,
    /// The field compared with the name given by the AI.
    pub name_field: String,
    /// What a person calls the record, for messages ("board", "service status").
    pub noun: String,
}

/// The action catalog with the lookups its actions use.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ActionCatalog {
    actions: Vec<Action>,
    lookups: BTreeMap<String, Lookup>,
}

impl ActionCatalog {
    /// Builds a catalog from validated parts.
    pub fn new(actions: Vec<Action>, lookups: BTreeMap<String, Lookup>) -> Self {
        ActionCatalog { actions, lookups }
    }

    /// Finds an action by name (`ticket.create`).
    pub fn get(&self, name: &str) -> Option<&Action> {
        self.actions.iter().find(|a| a.name == name)
    }

    /// Finds an action by the phrase a person uses ("create a service ticket").
    pub fn by_phrase(&self, phrase: &str) -> Option<&Action> {
        let phrase = phrase.trim();
        self.actions
            .iter()
            .find(|a| a.phrase.eq_ignore_ascii_case(phrase))
    }

    /// The lookup used for a reference field, if any.
    pub fn lookup(&self, field: &str) -> Option<&Lookup> {
        self.lookups.get(field)
    }

    /// The workflows in catalog order, each once.
    pub fn workflows(&self) -> Vec<&str> {
        let mut seen: Vec<&str> = Vec::new();
        for action in &self.actions {
            if !seen.contains(&action.workflow.as_str()) {
                seen.push(&action.workflow);
            }
        }
        seen
    }

    /// Every action in catalog order.
    pub fn iter(&self) -> impl Iterator<Item = &Action> {
        self.actions.iter()
    }

    /// Every lookup by field name.
    pub fn lookups(&self) -> impl Iterator<Item = (&String, &Lookup)> {
        self.lookups.iter()
    }
}
