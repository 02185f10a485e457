//! Loading and validating the data files under `fixtures/`.
//!
//! The shipped fixtures are built into the binary, so an installed `cw-conform` works from
//! any directory; a directory of one's own can be loaded the same way. Every error names the
//! file, the line and the bad value.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use include_dir::{Dir, include_dir};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::cells::{Cell, Exercise};
use crate::connectwise::security::{
    Endpoint, FieldGuard, FunctionCatalog, PermissionMap, Settings, Special,
};
use crate::model::action::Lookup;
use crate::model::{
    Action, ActionCatalog, FunctionName, Level, Levels, Operation, Rule, RuleCatalog, RuleId,
    SecurityRole, SourceCatalog, SourceDocument,
};
use crate::policy::Policy;

static BUILTIN: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/fixtures");

/// The fixture files built into the binary, as they are laid out under `fixtures/`.
pub fn builtin_files() -> &'static Dir<'static> {
    &BUILTIN
}

/// A fixture that could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FixtureError {
    /// The file is missing.
    #[error("failed to load {path}: file not found")]
    Missing {
        /// The file.
        path: String,
    },
    /// The file is malformed or names something unknown.
    #[error("failed to load {path}: {}{message}", line.map(|l| format!("line {l}: ")).unwrap_or_default())]
    Invalid {
        /// The file.
        path: String,
        /// 1-based line, when known.
        line: Option<usize>,
        /// What is wrong, naming the bad value.
        message: String,
    },
    /// A role name that is neither a shipped profile nor a readable file.
    #[error("unknown role \"{name}\"{suggestion}{known}; run `cw-conform roles` for the profiles")]
    UnknownRole {
        /// The name as given.
        name: String,
        /// ` (did you mean "…"?)` for the nearest profile name, or nothing.
        suggestion: String,
        /// When nothing is near: ` (expected one of …, or the path of a role .toml file)`.
        known: String,
    },
}

impl FixtureError {
    fn invalid(path: &str, line: Option<usize>, message: impl Into<String>) -> Self {
        FixtureError::Invalid {
            path: path.to_owned(),
            line,
            message: message.into(),
        }
    }
}

/// 1-based line number of a byte offset.
pub fn line_of(text: &str, offset: usize) -> usize {
    text.get(..offset.min(text.len()))
        .map_or(1, |head| head.matches('\n').count() + 1)
}

fn parse_toml<T: DeserializeOwned>(path: &str, text: &str) -> Result<T, FixtureError> {
    toml::from_str(text).map_err(|e| {
        let line = e.span().map(|span| line_of(text, span.start));
        FixtureError::invalid(path, line, e.message().trim().to_owned())
    })
}

/// A file that could not be read: missing, or unreadable for another reason (named).
fn read_error(path: &Path, error: &std::io::Error) -> FixtureError {
    let shown = path.display().to_string();
    if error.kind() == std::io::ErrorKind::NotFound {
        FixtureError::Missing { path: shown }
    } else {
        FixtureError::invalid(&shown, None, format!("cannot be read: {error}"))
    }
}

/// Where fixture files are read from.
#[derive(Debug, Clone)]
pub enum Source {
    /// The files built into the binary.
    Builtin,
    /// A directory laid out like `fixtures/`.
    Directory(PathBuf),
}

impl Source {
    fn read(&self, relative: &str) -> Result<String, FixtureError> {
        let shown = format!("fixtures/{relative}");
        match self {
            Source::Builtin => BUILTIN
                .get_file(relative)
                .and_then(|f| f.contents_utf8())
                .map(str::to_owned)
                .ok_or(FixtureError::Missing { path: shown }),
            Source::Directory(dir) => {
                let path = dir.join(relative);
                std::fs::read_to_string(&path).map_err(|e| read_error(&path, &e))
            }
        }
    }

    fn list(&self, folder: &str, extension: &str) -> Vec<String> {
        let mut names: Vec<String> = match self {
            Source::Builtin => BUILTIN
                .get_dir(folder)
                .map(|d| {
                    d.files()
                        .filter_map(|f| f.path().file_name()?.to_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default(),
            Source::Directory(dir) => std::fs::read_dir(dir.join(folder))
                .map(|entries| {
                    entries
                        .filter_map(|e| e.ok()?.file_name().into_string().ok())
                        .collect()
                })
                .unwrap_or_default(),
        };
        names.retain(|n| n.ends_with(extension));
        names.sort();
        names
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PermissionFile {
    settings: Settings,
    modules: BTreeMap<String, Vec<String>>,
    #[serde(default, rename = "endpoint")]
    endpoints: Vec<Endpoint>,
    #[serde(default, rename = "special")]
    specials: Vec<Special>,
    #[serde(default, rename = "field_guard")]
    field_guards: Vec<FieldGuard>,
    #[serde(default)]
    customize: BTreeMap<FunctionName, Vec<String>>,
    #[serde(default)]
    customize_field: BTreeMap<FunctionName, String>,
}

/// Loads the endpoint-to-function map, checking every function it names.
pub fn parse_permissions(path: &str, text: &str) -> Result<PermissionMap, FixtureError> {
    let file: PermissionFile = parse_toml(path, text)?;
    let functions = FunctionCatalog::new(&file.modules);
    let named = file
        .endpoints
        .iter()
        .map(|e| &e.function)
        .chain(file.specials.iter().filter_map(|s| s.function.as_ref()))
        .chain(file.field_guards.iter().map(|g| &g.function))
        .chain(
            file.endpoints
                .iter()
                .filter_map(|e| e.close.as_ref().map(|c| &c.function)),
        )
        .chain(std::iter::once(&file.settings.service_desk_function))
        .chain(file.customize.keys());
    for function in named {
        if functions
            .find(&function.module, &function.function)
            .is_none()
        {
            let shown = function.to_string();
            return Err(FixtureError::invalid(
                path,
                find_line(text, &shown),
                format!("unknown security function \"{shown}\" (not listed under [modules])"),
            ));
        }
    }
    for function in file.customize_field.keys() {
        if !file.customize.contains_key(function) {
            let shown = function.to_string();
            return Err(FixtureError::invalid(
                path,
                find_nth_line(text, &shown, 1),
                format!("[customize_field] names \"{shown}\", which has no [customize] items"),
            ));
        }
    }
    for endpoint in &file.endpoints {
        if let Some(item) = &endpoint.customize_item
            && !file
                .customize
                .get(&endpoint.function)
                .is_some_and(|items| items.contains(item))
        {
            return Err(FixtureError::invalid(
                path,
                find_line(text, &format!("customize_item = \"{item}\"")),
                format!(
                    "customize_item \"{item}\" of {} is not an item of the [customize] list of \"{}\"",
                    endpoint.path, endpoint.function
                ),
            ));
        }
    }
    Ok(PermissionMap {
        functions,
        settings: file.settings,
        endpoints: file.endpoints,
        specials: file.specials,
        field_guards: file.field_guards,
        customize: file.customize,
        customize_fields: file.customize_field,
    })
}

fn find_line(text: &str, needle: &str) -> Option<usize> {
    find_nth_line(text, needle, 0)
}

/// The line of the `nth` (0-based) occurrence of `needle`: a duplicate is the second.
fn find_nth_line(text: &str, needle: &str, nth: usize) -> Option<usize> {
    text.match_indices(needle)
        .nth(nth)
        .map(|(offset, _)| line_of(text, offset))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RoleFile {
    name: String,
    #[serde(default)]
    summary: String,
    /// One level for every known function (for administrator-like roles).
    #[serde(default)]
    all: Option<Level>,
    #[serde(default, rename = "grant")]
    grants: Vec<GrantFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GrantFile {
    function: toml::Spanned<String>,
    #[serde(default)]
    add: Level,
    #[serde(default)]
    edit: Level,
    #[serde(default)]
    delete: Level,
    #[serde(default)]
    inquire: Level,
    /// The items of the function's Customize allow-list the role is limited to; absent:
    /// every item.
    #[serde(default)]
    customize: Option<toml::Spanned<Vec<String>>>,
}

/// The known function a fixture names at `written`, or an error naming its line.
fn known_function(
    path: &str,
    text: &str,
    written: &toml::Spanned<String>,
    functions: &FunctionCatalog,
) -> Result<FunctionName, FixtureError> {
    let line = Some(line_of(text, written.span().start));
    let name: FunctionName = written
        .get_ref()
        .parse()
        .map_err(|e: crate::model::UnknownName| FixtureError::invalid(path, line, e.to_string()))?;
    let Some(known) = functions.find(&name.module, &name.function) else {
        let message = if functions.has_module(&name.module) {
            format!(
                "unknown function \"{}\" in module \"{}\"",
                name.function, name.module
            )
        } else {
            format!("unknown module \"{}\"", name.module)
        };
        return Err(FixtureError::invalid(path, line, message));
    };
    Ok(known.clone())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExerciseFile {
    #[serde(rename = "exercise")]
    exercises: Vec<ExerciseEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExerciseEntry {
    function: toml::Spanned<String>,
    operation: toml::Spanned<String>,
    action: toml::Spanned<String>,
    #[serde(default)]
    subject: Option<crate::model::ExampleSubject>,
    #[serde(default)]
    with: Option<serde_json::Map<String, serde_json::Value>>,
    #[serde(default)]
    own: bool,
    #[serde(default)]
    fields: Vec<String>,
    #[serde(default)]
    context: Vec<GrantFile>,
}

/// Parses `cells.toml`: which catalog action exercises each cell of a role (LP-02).
pub fn parse_exercises(
    path: &str,
    text: &str,
    functions: &FunctionCatalog,
    actions: &ActionCatalog,
) -> Result<Vec<Exercise>, FixtureError> {
    let file: ExerciseFile = parse_toml(path, text)?;
    let mut exercises = Vec::new();
    for entry in file.exercises {
        let function = known_function(path, text, &entry.function, functions)?;
        let operation: Operation =
            entry
                .operation
                .get_ref()
                .parse()
                .map_err(|e: crate::model::UnknownName| {
                    FixtureError::invalid(
                        path,
                        Some(line_of(text, entry.operation.span().start)),
                        e.to_string(),
                    )
                })?;
        let Some(action) = actions.get(entry.action.get_ref()) else {
            return Err(FixtureError::invalid(
                path,
                Some(line_of(text, entry.action.span().start)),
                format!("unknown action \"{}\"", entry.action.get_ref()),
            ));
        };
        let mut context = Vec::new();
        for grant in &entry.context {
            context.push((
                known_function(path, text, &grant.function, functions)?,
                Levels {
                    add: grant.add,
                    edit: grant.edit,
                    delete: grant.delete,
                    inquire: grant.inquire,
                },
            ));
        }
        let subject = entry.subject.map(|s| match s {
            crate::model::ExampleSubject::Id(id) => crate::integration::Subject::Id(id),
            crate::model::ExampleSubject::Text(text) => crate::integration::Subject::Text(text),
        });
        exercises.push(Exercise {
            cell: Cell {
                function,
                operation,
            },
            request: crate::cells::request(action, subject, entry.with),
            own: entry.own,
            fields: entry.fields,
            context,
        });
    }
    Ok(exercises)
}

/// Parses a role file, checking each function against the known ones.
pub fn parse_role(
    path: &str,
    text: &str,
    functions: &FunctionCatalog,
) -> Result<SecurityRole, FixtureError> {
    let file: RoleFile = parse_toml(path, text)?;
    let mut role = SecurityRole::new(file.name, file.summary);
    if let Some(level) = file.all {
        for function in functions.iter() {
            role.grant(function.clone(), Levels::uniform(level));
        }
    }
    for grant in file.grants {
        let known = known_function(path, text, &grant.function, functions)?;
        if let Some(items) = grant.customize {
            role.limit_items(known.clone(), items.into_inner());
        }
        role.grant(
            known.clone(),
            Levels {
                add: grant.add,
                edit: grant.edit,
                delete: grant.delete,
                inquire: grant.inquire,
            },
        );
    }
    Ok(role)
}

/// Parses a role file and checks its Customize allow-lists against the permission map:
/// only a function with an allow-list may be limited, and only to items it has.
pub fn parse_role_checked(
    path: &str,
    text: &str,
    permissions: &PermissionMap,
) -> Result<SecurityRole, FixtureError> {
    let role = parse_role(path, text, &permissions.functions)?;
    for (function, items) in role.limited() {
        if let Err(error) = check_customize_limit(permissions, function, items) {
            let line = match &error.item {
                Some(item) => find_line(text, &format!("\"{item}\"")),
                None => find_line(text, "customize"),
            };
            return Err(FixtureError::invalid(path, line, error.reason));
        }
    }
    Ok(role)
}

/// Why a Customize limit cannot be set: the function has no allow-list, or an item is
/// not one of its items.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomizeLimitError {
    /// The item that is not one of the function's, when that is the mistake.
    pub item: Option<String>,
    /// The mistake, naming the function or the item and what is known.
    pub reason: String,
}

/// Checks a Customize limit against the permission map: only a function with an
/// allow-list (`[customize]`) may be limited, and only to items it has (case aside).
pub fn check_customize_limit(
    permissions: &PermissionMap,
    function: &FunctionName,
    items: &[String],
) -> Result<(), CustomizeLimitError> {
    let Some(known) = permissions.customize.get(function) else {
        return Err(CustomizeLimitError {
            item: None,
            reason: format!(
                "\"{function}\" has no Customize allow-list (functions with one: {})",
                permissions
                    .customize
                    .keys()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        });
    };
    match items
        .iter()
        .find(|item| !known.iter().any(|k| k.eq_ignore_ascii_case(item)))
    {
        Some(unknown) => Err(CustomizeLimitError {
            item: Some(unknown.clone()),
            reason: format!(
                "unknown item \"{unknown}\" in the Customize allow-list of \"{function}\" (expected some of: {}){}",
                known.join(", "),
                crate::model::spelling::did_you_mean(unknown, known.iter().map(String::as_str))
            ),
        }),
        None => Ok(()),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ActionFile {
    #[serde(default)]
    lookup: BTreeMap<String, Lookup>,
    #[serde(rename = "action")]
    actions: Vec<Action>,
}

/// Parses the action catalog, checking that each action's resource is a known endpoint.
pub fn parse_actions(
    path: &str,
    text: &str,
    permissions: &PermissionMap,
) -> Result<ActionCatalog, FixtureError> {
    let file: ActionFile = parse_toml(path, text)?;
    let mut seen = std::collections::BTreeSet::new();
    for action in &file.actions {
        let needle = format!("name = \"{}\"", action.name);
        // Looked for only when something is wrong: most actions are sound.
        let line = || find_line(text, &needle);
        if !seen.insert(action.name.clone()) {
            return Err(FixtureError::invalid(
                path,
                find_nth_line(text, &needle, 1).or_else(line),
                format!("duplicate action \"{}\"", action.name),
            ));
        }
        let special = permissions
            .specials
            .iter()
            .any(|s| s.path.eq_ignore_ascii_case(&action.path));
        if permissions.endpoint_for(&action.resource).is_none() && !special {
            return Err(FixtureError::invalid(
                path,
                line(),
                format!(
                    "unknown resource \"{}\" in action \"{}\"",
                    action.resource, action.name
                ),
            ));
        }
        for field in action.validate.iter().chain(&action.related) {
            if !file.lookup.contains_key(field) {
                return Err(FixtureError::invalid(
                    path,
                    line(),
                    format!(
                        "action \"{}\" uses field \"{field}\" that has no [lookup.{field}]",
                        action.name
                    ),
                ));
            }
        }
    }
    Ok(ActionCatalog::new(file.actions, file.lookup))
}

/// Parses the safety policy, checking it against the other fixtures: every rule it names
/// is in the rule catalog and every resource is a collection of the endpoint model or the
/// resource of an action (a typo would otherwise turn a block off without a word).
pub fn parse_policy(
    path: &str,
    text: &str,
    rules: &RuleCatalog,
    fixtures: (&PermissionMap, &ActionCatalog),
) -> Result<Policy, FixtureError> {
    let (permissions, actions) = fixtures;
    let policy: Policy = parse_toml(path, text)?;
    let known_resource = |name: &str| {
        permissions.endpoint_for(name).is_some() || actions.iter().any(|a| a.resource == name)
    };
    let mentions = policy
        .blocks
        .iter()
        .map(|b| (&b.rule, b.resources.iter().collect::<Vec<_>>()))
        .chain(
            policy
                .field_blocks
                .iter()
                .map(|b| (&b.rule, vec![&b.resource])),
        )
        .chain(
            policy
                .escalations
                .iter()
                .map(|e| (&e.rule, e.resources.iter().collect())),
        );
    for (rule, resources) in mentions {
        if rules.get(rule).is_none() {
            return Err(FixtureError::invalid(
                path,
                find_line(text, &format!("\"{rule}\"")),
                format!("rule \"{rule}\" is not in fixtures/rules.toml"),
            ));
        }
        for resource in resources {
            if resource != "*" && !known_resource(resource) {
                return Err(FixtureError::invalid(
                    path,
                    find_line(text, &format!("\"{resource}\"")),
                    format!(
                        "unknown resource \"{resource}\" under rule {rule} (neither a collection in fixtures/connectwise/permissions.toml nor an action's resource)"
                    ),
                ));
            }
        }
    }
    Ok(policy)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    #[serde(rename = "rule")]
    rules: Vec<RuleEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleEntry {
    id: RuleId,
    summary: String,
    source: String,
    section: String,
}

/// Parses the rule catalog, refusing duplicate IDs.
pub fn parse_rules(path: &str, text: &str) -> Result<RuleCatalog, FixtureError> {
    let file: RuleFile = parse_toml(path, text)?;
    let mut rules: Vec<Rule> = Vec::new();
    for entry in file.rules {
        if rules.iter().any(|r| r.id == entry.id) {
            let needle = format!("id = \"{}\"", entry.id);
            let line = find_nth_line(text, &needle, 1)
                .or_else(|| find_nth_line(text, &format!("\"{}\"", entry.id), 1));
            return Err(FixtureError::invalid(
                path,
                line,
                format!("duplicate rule ID \"{}\"", entry.id),
            ));
        }
        rules.push(Rule {
            id: entry.id,
            summary: entry.summary,
            source: entry.source,
            section: entry.section,
        });
    }
    Ok(RuleCatalog::new(rules))
}

/// Parses the summary of one source document (`fixtures/sources/x.md` summarises `x.txt`).
pub fn parse_source_summary(path: &str, text: &str) -> Result<SourceDocument, FixtureError> {
    let stem = Path::new(path)
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or(path);
    crate::model::source::parse_summary(&format!("{stem}.txt"), text)
        .map_err(|e| FixtureError::invalid(path, Some(e.line), e.message))
}

/// Holds every rule's `source` and `section` to the summaries: each rule must cite a
/// summarised document and one of its section headings.
pub fn check_citations(
    path: &str,
    text: &str,
    rules: &RuleCatalog,
    sources: &SourceCatalog,
) -> Result<(), FixtureError> {
    for rule in rules.iter() {
        let line = || find_nth_line(text, &format!("id = \"{}\"", rule.id), 0);
        let Some(document) = sources.document(&rule.source) else {
            let known: Vec<&str> = sources.iter().map(|d| d.file.as_str()).collect();
            return Err(FixtureError::invalid(
                path,
                line(),
                format!(
                    "rule {} cites the source \"{}\", which has no summary in fixtures/sources/ (expected one of {})",
                    rule.id,
                    rule.source,
                    known.join(", ")
                ),
            ));
        };
        if document.section(&rule.section).is_none() {
            let suggestion = crate::model::spelling::did_you_mean(
                &rule.section,
                document.sections.iter().map(|s| s.heading.as_str()),
            );
            return Err(FixtureError::invalid(
                path,
                line(),
                format!(
                    "rule {} cites the section \"{}\" of {}, which its summary has no heading for{suggestion}",
                    rule.id, rule.section, rule.source
                ),
            ));
        }
    }
    Ok(())
}

/// Parses one seed-data collection: a JSON array of objects, each with an integer `id`.
pub fn parse_collection(path: &str, text: &str) -> Result<Vec<serde_json::Value>, FixtureError> {
    let records: Vec<serde_json::Value> = serde_json::from_str(text)
        .map_err(|e| FixtureError::invalid(path, Some(e.line()), e.to_string()))?;
    let mut ids = std::collections::BTreeSet::new();
    for (index, record) in records.iter().enumerate() {
        let id = record
            .get("id")
            .and_then(serde_json::Value::as_i64)
            .ok_or_else(|| {
                FixtureError::invalid(path, None, format!("record {index} has no integer \"id\""))
            })?;
        if !ids.insert(id) {
            let line = regex::Regex::new(&format!(r#""id"\s*:\s*{id}\b"#))
                .ok()
                .and_then(|pattern| pattern.find_iter(text).nth(1))
                .map(|found| line_of(text, found.start()));
            return Err(FixtureError::invalid(
                path,
                line,
                format!("duplicate id {id}"),
            ));
        }
    }
    Ok(records)
}

/// Every data file, loaded and cross-checked.
#[derive(Debug, Clone)]
pub struct Fixtures {
    /// The ConnectWise endpoint model.
    pub permissions: PermissionMap,
    /// The shipped role profiles by name.
    pub roles: BTreeMap<String, SecurityRole>,
    /// The action catalog.
    pub actions: ActionCatalog,
    /// The integration's safety policy.
    pub policy: Policy,
    /// The rule catalog.
    pub rules: RuleCatalog,
    /// The source documents the rules cite, summarised section by section.
    pub sources: SourceCatalog,
    /// Seed records by collection.
    pub seed: crate::mock::store::Collections,
    /// The `/system/info` record.
    pub system_info: serde_json::Value,
    /// Which action exercises each cell of a role (LP-02).
    pub exercises: Vec<Exercise>,
}

impl Fixtures {
    /// The fixtures built into the binary, loaded once.
    pub fn builtin() -> Result<&'static Fixtures, FixtureError> {
        Fixtures::loaded_builtin().map(|fixtures| &**fixtures)
    }

    /// The fixtures built into the binary, loaded once, to share with a run
    /// ([`crate::harness::RunOptions::fixtures`]) without copying them.
    pub fn shared_builtin() -> Result<Arc<Fixtures>, FixtureError> {
        Fixtures::loaded_builtin().map(Arc::clone)
    }

    fn loaded_builtin() -> Result<&'static Arc<Fixtures>, FixtureError> {
        static LOADED: OnceLock<Result<Arc<Fixtures>, FixtureError>> = OnceLock::new();
        LOADED
            .get_or_init(|| Fixtures::load(&Source::Builtin).map(Arc::new))
            .as_ref()
            .map_err(Clone::clone)
    }

    /// Loads and validates every fixture file from a source.
    pub fn load(source: &Source) -> Result<Fixtures, FixtureError> {
        let permissions_path = "connectwise/permissions.toml";
        let permissions = parse_permissions(
            &format!("fixtures/{permissions_path}"),
            &source.read(permissions_path)?,
        )?;
        let mut roles = BTreeMap::new();
        for file in source.list("roles", ".toml") {
            let relative = format!("roles/{file}");
            let role = parse_role_checked(
                &format!("fixtures/{relative}"),
                &source.read(&relative)?,
                &permissions,
            )?;
            roles.insert(role.name.clone(), role);
        }
        let actions = parse_actions(
            "fixtures/actions.toml",
            &source.read("actions.toml")?,
            &permissions,
        )?;
        let exercises = parse_exercises(
            "fixtures/cells.toml",
            &source.read("cells.toml")?,
            &permissions.functions,
            &actions,
        )?;
        let rules_text = source.read("rules.toml")?;
        let rule_catalog = parse_rules("fixtures/rules.toml", &rules_text)?;
        let mut documents = Vec::new();
        for file in source.list("sources", ".md") {
            let relative = format!("sources/{file}");
            documents.push(parse_source_summary(
                &format!("fixtures/{relative}"),
                &source.read(&relative)?,
            )?);
        }
        let sources = SourceCatalog::new(documents);
        check_citations("fixtures/rules.toml", &rules_text, &rule_catalog, &sources)?;
        let policy = parse_policy(
            "fixtures/policy.toml",
            &source.read("policy.toml")?,
            &rule_catalog,
            (&permissions, &actions),
        )?;
        let mut seed = BTreeMap::new();
        let mut system_info = serde_json::Value::Null;
        for file in source.list("data", ".json") {
            let relative = format!("data/{file}");
            let shown = format!("fixtures/{relative}");
            let text = source.read(&relative)?;
            let collection = file.trim_end_matches(".json").to_owned();
            if collection == "system_info" {
                system_info = serde_json::from_str(&text)
                    .map_err(|e| FixtureError::invalid(&shown, Some(e.line()), e.to_string()))?;
                continue;
            }
            let records = parse_collection(&shown, &text)?;
            seed.insert(
                collection,
                Arc::new(
                    records
                        .into_iter()
                        .map(crate::mock::store::Stored::shared)
                        .collect(),
                ),
            );
        }
        for endpoint in &permissions.endpoints {
            if !seed.contains_key(&endpoint.collection) {
                return Err(FixtureError::Missing {
                    path: format!("fixtures/data/{}.json", endpoint.collection),
                });
            }
        }
        Ok(Fixtures {
            permissions,
            roles,
            actions,
            policy,
            rules: rule_catalog,
            sources,
            seed,
            system_info,
            exercises,
        })
    }

    /// A shipped role profile by name, or a role file by path.
    pub fn role(&self, name_or_path: &str) -> Result<SecurityRole, FixtureError> {
        if let Some(role) = self.roles.get(name_or_path) {
            return Ok(role.clone());
        }
        let path = Path::new(name_or_path);
        if path.extension().is_some_and(|e| e == "toml") || path.exists() {
            let text = std::fs::read_to_string(path).map_err(|e| read_error(path, &e))?;
            return parse_role_checked(name_or_path, &text, &self.permissions);
        }
        let suggestion = crate::model::spelling::did_you_mean(
            name_or_path,
            self.roles.keys().map(String::as_str),
        );
        // One line: the nearest name, or (when nothing is near) the few profiles there are.
        let known = if suggestion.is_empty() {
            format!(
                " (expected one of {}, or the path of a role .toml file)",
                self.roles
                    .keys()
                    .map(String::as_str)
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        } else {
            String::new()
        };
        Err(FixtureError::UnknownRole {
            name: name_or_path.to_owned(),
            suggestion,
            known,
        })
    }
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;

    fn functions() -> FunctionCatalog {
        let mut modules = BTreeMap::new();
        modules.insert(
            "Service Desk".to_owned(),
            vec!["Service Tickets".to_owned()],
        );
        FunctionCatalog::new(&modules)
    }

    #[test]
    fn the_builtin_fixtures_load() {
        let fixtures = Fixtures::builtin().unwrap();
        for name in [
            "least-privilege",
            "read-only-discovery",
            "customer-sync",
            "no-access",
            "full-access",
        ] {
            assert!(
                fixtures.roles.contains_key(name),
                "missing role profile {name}"
            );
        }
        let least = &fixtures.roles["least-privilege"];
        assert_eq!(
            least.grants().count(),
            16,
            "15 table rows plus company lookup"
        );
    }

    /// The security functions ConnectWise's role screen shows, as the sources name them
    /// (reference §5.4: vendors' role guides and the two source documents). A function
    /// the mock names outside this list would send an administrator looking for a
    /// setting that does not exist.
    const CONNECTWISE_FUNCTIONS: &[&str] = &[
        "Companies / Company Maintenance",
        "Companies / Configurations",
        "Companies / Contacts",
        "Companies / CRM/Sales Activities",
        "Companies / Manage Attachments",
        "Companies / Notes",
        "Companies / Team Members",
        "Finance / Agreements",
        "Finance / Billing View Time",
        "Finance / Invoicing",
        "Procurement / Product Catalog",
        "Procurement / Products",
        "Procurement / Purchase Orders",
        "Project / Project Headers",
        "Project / Project Phase",
        "Project / Project Tickets",
        "Sales / Opportunity",
        "Service Desk / Close Service Tickets",
        "Service Desk / Merge Tickets",
        "Service Desk / Resource Scheduling",
        "Service Desk / Service Ticket - Dependencies",
        "Service Desk / Service Tickets",
        "System / Member Maintenance",
        "System / Member Maintenance - Finance",
        "System / My Account",
        "System / Security",
        "System / Table Setup",
        "Time & Expense / Expense Report Entry",
        "Time & Expense / Time Entry",
        "Time & Expense / Time Entry Billable Option",
    ];

    #[rstest::rstest]
    #[case::an_unknown_item(
        "\"Companies / Configurations\"",
        "[\"Firewal\"]",
        "line 5: unknown item \"Firewal\" in the Customize allow-list of \"Companies / Configurations\""
    )]
    #[case::a_function_without_a_list(
        "\"Companies / Contacts\"",
        "[\"Firewall\"]",
        "line 5: \"Companies / Contacts\" has no Customize allow-list"
    )]
    fn a_bad_customize_allow_list_names_the_file_line_and_value(
        #[case] function: &str,
        #[case] items: &str,
        #[case] expected: &str,
    ) {
        let fixtures = Fixtures::builtin().unwrap();
        let text = format!(
            "name = \"limited\"\n\n[[grant]]\nfunction = {function}\ncustomize = {items}\ninquire = \"All\"\n"
        );

        let error = parse_role_checked("roles/limited.toml", &text, &fixtures.permissions)
            .unwrap_err()
            .to_string();

        assert!(error.contains("roles/limited.toml"), "{error}");
        assert!(error.contains(expected), "{error}");
    }

    #[test]
    fn every_function_is_one_connectwise_names() {
        let fixtures = Fixtures::builtin().unwrap();
        let unknown: Vec<String> = fixtures
            .permissions
            .functions
            .iter()
            .map(ToString::to_string)
            .filter(|name| !CONNECTWISE_FUNCTIONS.contains(&name.as_str()))
            .collect();
        assert!(
            unknown.is_empty(),
            "permissions.toml names functions ConnectWise does not have: {unknown:?}"
        );
        let used: Vec<String> = fixtures
            .permissions
            .endpoints
            .iter()
            .map(|e| e.function.clone())
            .chain(
                fixtures
                    .permissions
                    .specials
                    .iter()
                    .filter_map(|s| s.function.clone()),
            )
            .chain(
                fixtures
                    .permissions
                    .field_guards
                    .iter()
                    .map(|g| g.function.clone()),
            )
            .chain(
                fixtures
                    .roles
                    .values()
                    .flat_map(|r| r.grants().map(|(f, _)| f.clone())),
            )
            .map(|f| f.to_string())
            .filter(|name| !CONNECTWISE_FUNCTIONS.contains(&name.as_str()))
            .collect();
        assert!(
            used.is_empty(),
            "endpoints, field guards or roles name functions ConnectWise does not have: {used:?}"
        );
    }

    #[rstest]
    #[case::bad_level(
        "name = \"x\"\n[[grant]]\nfunction = \"Service Desk / Service Tickets\"\nadd = \"Sometimes\"\n",
        "failed to load roles/x.toml: line 4: unknown level \"Sometimes\" (expected None, My or All)"
    )]
    #[case::unknown_function(
        "name = \"x\"\n\n[[grant]]\nfunction = \"Service Desk / Tickets\"\n",
        "failed to load roles/x.toml: line 4: unknown function \"Tickets\" in module \"Service Desk\""
    )]
    #[case::unknown_module(
        "name = \"x\"\n[[grant]]\nfunction = \"Helpdesk / Service Tickets\"\n",
        "failed to load roles/x.toml: line 3: unknown module \"Helpdesk\""
    )]
    #[case::unknown_key(
        "name = \"x\"\n[[grant]]\nfunction = \"Service Desk / Service Tickets\"\nremove = \"All\"\n",
        "failed to load roles/x.toml: line 4: unknown field `remove`, expected one of `function`, `add`, `edit`, `delete`, `inquire`, `customize`"
    )]
    fn a_malformed_role_names_file_line_and_value(#[case] text: &str, #[case] expected: &str) {
        let error = parse_role("roles/x.toml", text, &functions()).unwrap_err();
        assert_eq!(error.to_string(), expected);
    }

    #[test]
    fn a_valid_role_reads_every_operation() {
        let text = "name = \"x\"\n[[grant]]\nfunction = \"service desk / service tickets\"\nadd = \"All\"\ndelete = \"Mine\"\n";
        let role = parse_role("x.toml", text, &functions()).unwrap();
        let tickets = FunctionName::new("Service Desk", "Service Tickets");
        assert_eq!(
            role.levels(&tickets).to_string(),
            "Add All, Edit None, Delete My, Inquire None"
        );
    }

    #[test]
    fn a_collection_with_duplicate_ids_names_the_line() {
        let text = "[\n  {\"id\": 1},\n  {\"id\": 1}\n]";
        let error = parse_collection("data/x.json", text).unwrap_err();
        assert_eq!(
            error.to_string(),
            "failed to load data/x.json: line 3: duplicate id 1"
        );
    }

    /// Every rule cites a source document that has a summary, and a section of it that
    /// the summary has a heading for, with something under it.
    #[test]
    fn every_rule_cites_a_summarised_section() {
        let fixtures = Fixtures::builtin().unwrap();
        assert_eq!(fixtures.sources.iter().count(), 2);
        for rule in fixtures.rules.iter() {
            let section = fixtures
                .sources
                .section(&rule.source, &rule.section)
                .unwrap_or_else(|| panic!("{}: {} / {}", rule.id, rule.source, rule.section));
            assert!(!section.summary.is_empty(), "{}", rule.id);
        }
    }

    #[test]
    fn a_rule_citing_a_section_no_summary_has_names_the_rule_and_its_line() {
        let fixtures = Fixtures::builtin().unwrap();
        let text = BUILTIN
            .get_file("rules.toml")
            .and_then(|f| f.contents_utf8())
            .unwrap()
            .replacen(
                "section = \"Service desk actions\"",
                "section = \"Service desk action\"",
                1,
            );
        let rules = parse_rules("fixtures/rules.toml", &text).unwrap();
        let error = check_citations("fixtures/rules.toml", &text, &rules, &fixtures.sources)
            .unwrap_err()
            .to_string();
        let cited = rules
            .iter()
            .find(|r| r.section == "Service desk action")
            .unwrap();
        let line = text
            .lines()
            .position(|l| l == format!("id = \"{}\"", cited.id))
            .unwrap()
            + 1;
        assert_eq!(
            error,
            format!(
                "failed to load fixtures/rules.toml: line {line}: rule {} cites the section \"Service desk action\" of connectwise-permissions-overview.txt, which its summary has no heading for (did you mean \"Service desk actions\"?)",
                cited.id
            )
        );
        let elsewhere = text.replacen(
            "source = \"connectwise-permissions-overview.txt\"",
            "source = \"overview.pdf\"",
            1,
        );
        let rules = parse_rules("fixtures/rules.toml", &elsewhere).unwrap();
        let error = check_citations("fixtures/rules.toml", &elsewhere, &rules, &fixtures.sources)
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("cites the source \"overview.pdf\""),
            "{error}"
        );
    }

    #[test]
    fn a_malformed_summary_names_its_file_and_line() {
        let error = parse_source_summary("fixtures/sources/x.md", "# T\n## A\n\n## B\ny\n")
            .unwrap_err()
            .to_string();
        assert_eq!(
            error,
            "failed to load fixtures/sources/x.md: line 2: the section \"A\" has no summary"
        );
    }

    /// The built-in policy with one line replaced, checked against the built-in fixtures.
    fn policy_with(from: &str, to: &str) -> Result<Policy, FixtureError> {
        let fixtures = Fixtures::builtin().unwrap();
        let text = BUILTIN
            .get_file("policy.toml")
            .and_then(|f| f.contents_utf8())
            .unwrap();
        assert!(text.contains(from), "the policy has no {from}");
        parse_policy(
            "fixtures/policy.toml",
            &text.replacen(from, to, 1),
            &fixtures.rules,
            (&fixtures.permissions, &fixtures.actions),
        )
    }

    #[rstest]
    #[case::unknown_rule(
        "rule = \"SAFE-02\"",
        "rule = \"SAFE-99\"",
        "rule \"SAFE-99\" is not in fixtures/rules.toml"
    )]
    #[case::misspelt_resource(
        "resources = [\"agreements\", \"agreement_additions\"",
        "resources = [\"agreemnts\", \"agreement_additions\"",
        "unknown resource \"agreemnts\" under rule SAFE-09"
    )]
    #[case::misspelt_field_resource(
        "resource = \"agreements\"",
        "resource = \"agreement\"",
        "unknown resource \"agreement\" under rule SAFE-08"
    )]
    fn a_policy_naming_an_unknown_rule_or_resource_is_refused_with_its_line(
        #[case] from: &str,
        #[case] to: &str,
        #[case] message: &str,
    ) {
        let error = policy_with(from, to).unwrap_err();
        let FixtureError::Invalid {
            line, message: got, ..
        } = &error
        else {
            panic!("{error}")
        };
        assert!(got.contains(message), "{error}");
        let text = BUILTIN
            .get_file("policy.toml")
            .and_then(|f| f.contents_utf8())
            .unwrap();
        let expected = text.lines().position(|l| l.contains(from)).map(|i| i + 1);
        assert_eq!(*line, expected, "{error}");
    }

    #[test]
    fn a_duplicate_action_or_rule_names_the_second_line() {
        let fixtures = Fixtures::builtin().unwrap();
        let actions = "[[action]]\nname = \"a.get\"\nphrase = \"get a\"\nkind = \"get\"\nresource = \"companies\"\npath = \"/company/companies\"\nworkflow = \"w\"\n[action.example]\n";
        let text = format!("{actions}{actions}");
        let error = parse_actions("actions.toml", &text, &fixtures.permissions).unwrap_err();
        assert_eq!(
            error.to_string(),
            "failed to load actions.toml: line 10: duplicate action \"a.get\""
        );
        let rule = "[[rule]]\nid = \"LP-01\"\nsummary = \"s\"\nsource = \"S\"\nsection = \"1\"\n";
        let error = parse_rules("rules.toml", &format!("{rule}{rule}")).unwrap_err();
        assert_eq!(
            error.to_string(),
            "failed to load rules.toml: line 7: duplicate rule ID \"LP-01\""
        );
    }

    #[test]
    fn an_unreadable_fixture_is_not_reported_as_missing() {
        let dir = crate::scratch::Scratch::new("fixtures");
        std::fs::create_dir_all(dir.join("policy.toml")).unwrap();
        let error = Source::Directory(dir.to_path_buf())
            .read("policy.toml")
            .unwrap_err();
        let _ = std::fs::remove_dir_all(&dir);
        assert!(
            matches!(&error, FixtureError::Invalid { message, .. } if message.starts_with("cannot be read")),
            "{error}"
        );
        let error = Source::Directory(dir.to_path_buf())
            .read("nothing.toml")
            .unwrap_err();
        assert!(matches!(error, FixtureError::Missing { .. }), "{error}");
    }

    #[test]
    fn malformed_json_names_the_line() {
        let error = parse_collection("data/x.json", "[\n  {\"id\": 1,}\n]").unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("failed to load data/x.json: line 2: "),
            "{error}"
        );
    }

    #[test]
    fn an_unknown_role_lists_the_profiles() {
        let error = Fixtures::builtin().unwrap().role("superuser").unwrap_err();
        assert!(
            error
                .to_string()
                .contains("unknown role \"superuser\" (expected one of"),
            "{error}"
        );
        assert!(
            error.to_string().contains("run `cw-conform roles`"),
            "{error}"
        );
    }

    #[test]
    fn an_unknown_role_suggests_the_nearest_profile() {
        let error = Fixtures::builtin()
            .unwrap()
            .role("least-privelege")
            .unwrap_err();
        assert!(
            error.to_string().starts_with(
                "unknown role \"least-privelege\" (did you mean \"least-privilege\"?)"
            ),
            "{error}"
        );
    }
}
