//! How ConnectWise maps its REST endpoints to security functions.
//!
//! Loaded from `fixtures/connectwise/permissions.toml`. The mock uses it to
//! authorise every request; the reference integration uses it to tell the AI
//! which permission a refused action needs. Pure data and lookups, no I/O.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::model::{FunctionName, Level, Operation, SecurityRole};

/// The security functions ConnectWise has, by module (only the ones the harness knows).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FunctionCatalog {
    functions: Vec<FunctionName>,
}

impl FunctionCatalog {
    /// Builds the catalog from `module → [function]`.
    pub fn new(modules: &BTreeMap<String, Vec<String>>) -> Self {
        let functions = modules
            .iter()
            .flat_map(|(module, names)| names.iter().map(move |n| FunctionName::new(module, n)))
            .collect();
        FunctionCatalog { functions }
    }

    /// The canonical spelling of a function, matched without regard to case.
    pub fn find(&self, module: &str, function: &str) -> Option<&FunctionName> {
        self.functions.iter().find(|f| f.same_as(module, function))
    }

    /// Whether a module of that name exists.
    pub fn has_module(&self, module: &str) -> bool {
        self.functions
            .iter()
            .any(|f| f.module.eq_ignore_ascii_case(module.trim()))
    }

    /// Every known function.
    pub fn iter(&self) -> impl Iterator<Item = &FunctionName> {
        self.functions.iter()
    }
}

/// A reference field whose record must exist, optionally under the same parent as another
/// reference (a ticket's status must belong to the ticket's board).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reference {
    /// The collection the reference points into.
    pub collection: String,
    /// Another reference field of the same record that the referenced record must belong
    /// to, compared through the referenced record's field of the same name.
    #[serde(default)]
    pub within: Option<String>,
    /// What ConnectWise calls the referenced record in messages ("Service Status").
    pub noun: String,
}

/// How closing a record is authorised (tickets: a change to a closed status).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CloseRule {
    /// The function whose Edit level allows closing.
    pub function: FunctionName,
    /// The reference field that holds the status.
    pub status_field: String,
    /// The flag on the status record that marks it as closed.
    pub closed_flag: String,
}

/// One endpoint family: a collection path and, implicitly, its `/{id}` and `/count`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Endpoint {
    /// Collection path under `/apis/3.0`, `{parentId}` for a child collection.
    pub path: String,
    /// The store collection holding the records.
    pub collection: String,
    /// What ConnectWise calls one record in error messages ("ticket").
    pub noun: String,
    /// The function whose levels govern the endpoint.
    pub function: FunctionName,
    /// For a child collection: the record field holding the parent's id (`board/id`).
    #[serde(default)]
    pub parent: Option<String>,
    /// Fields naming the member a record belongs to, for the `My` level
    /// (`owner/identifier`; a string field like `resources` may list several).
    #[serde(default)]
    pub owner: Vec<String>,
    /// Fields a new record must have.
    #[serde(default)]
    pub required: Vec<String>,
    /// Reference fields checked and normalised on every write.
    #[serde(default)]
    pub references: BTreeMap<String, Reference>,
    /// Methods the endpoint accepts (default: all of GET, POST, PUT, PATCH, DELETE).
    #[serde(default)]
    pub methods: Option<Vec<String>>,
    /// How closing is authorised, for records that can be closed.
    #[serde(default)]
    pub close: Option<CloseRule>,
    /// A field that must equal the caller's member identifier on records the caller
    /// creates with only `My` Add; filled in when absent.
    #[serde(default)]
    pub owner_on_create: Option<String>,
    /// For a child collection whose records name parents of several kinds (documents by
    /// `recordType`): the field and value that mark this endpoint's parent kind.
    #[serde(default)]
    pub parent_type: Option<ParentType>,
    /// Fields whose value no two records may share (`identifier`); a create or an edit
    /// that would repeat one is a 400 `InvalidObject` with an `ObjectExists` error.
    #[serde(default)]
    pub unique: Vec<String>,
    /// The field a non-numeric last path segment looks a record up by
    /// (`/system/members/jsmith`); without it such a path is not a route.
    #[serde(default)]
    pub by_identifier: Option<String>,
    /// Values a new record gets for fields it does not name (`severity = "Medium"`).
    #[serde(default)]
    pub defaults: BTreeMap<String, serde_json::Value>,
    /// Reference fields a new record gets when it does not name them: the referenced
    /// record carrying this flag (`status = "defaultFlag"`), within the reference's
    /// `within` scope (the ticket's board) when it has one.
    #[serde(default)]
    pub default_references: BTreeMap<String, String>,
    /// A setup table (boards, statuses, types, priorities, work types and roles): who may
    /// read it is the `setup_table_reads` switch, not only the endpoint's function.
    #[serde(default)]
    pub setup_table: bool,
    /// The item of the function's Customize allow-list this endpoint is (a setup table:
    /// "Service / Service Board"): a role limited to other items may not use the function
    /// here.
    #[serde(default)]
    pub customize_item: Option<String>,
}

/// The field and value that mark a child record's parent kind (`recordType = "Ticket"`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParentType {
    /// The record field holding the kind.
    pub field: String,
    /// The kind this endpoint's parent is.
    pub value: String,
}

impl Endpoint {
    /// Whether the endpoint accepts the HTTP method.
    pub fn accepts(&self, method: &str) -> bool {
        self.methods
            .as_ref()
            .is_none_or(|methods| methods.iter().any(|m| m.eq_ignore_ascii_case(method)))
    }

    /// Whether a record belongs to a member through any owner field (`My`). A string field
    /// such as a ticket's `resources` may list several member identifiers.
    pub fn is_owned_by(&self, record: &serde_json::Value, member: &str) -> bool {
        self.owner.iter().any(|field| {
            match field
                .split('/')
                .try_fold(record, |value, key| value.get(key))
            {
                Some(serde_json::Value::String(text)) => text
                    .split(',')
                    .any(|part| part.trim().eq_ignore_ascii_case(member)),
                _ => false,
            }
        })
    }

    /// Whether a record belongs to the parent `parent_id` (always, for a top-level endpoint).
    pub fn is_child_of(&self, record: &serde_json::Value, parent_id: i64) -> bool {
        let Some(field) = &self.parent else {
            return true;
        };
        let at = |path: &str| {
            path.split('/')
                .try_fold(record, |value, key| value.get(key))
        };
        at(field).and_then(serde_json::Value::as_i64) == Some(parent_id)
            && self.parent_type.as_ref().is_none_or(|kind| {
                at(&kind.field)
                    .and_then(serde_json::Value::as_str)
                    .is_some_and(|v| v.eq_ignore_ascii_case(&kind.value))
            })
    }

    /// The fields the endpoint names anywhere in its model (required, references, parent,
    /// owners, unique, defaults): fields a query may name even if no record has them yet.
    pub fn declared_fields(&self) -> Vec<&str> {
        let mut fields: Vec<&str> = vec!["id", "_info"];
        fields.extend(self.required.iter().map(String::as_str));
        fields.extend(self.references.keys().map(String::as_str));
        fields.extend(self.parent.as_deref());
        fields.extend(self.parent_type.as_ref().map(|k| k.field.as_str()));
        fields.extend(self.owner.iter().map(String::as_str));
        fields.extend(self.owner_on_create.as_deref());
        fields.extend(self.unique.iter().map(String::as_str));
        fields.extend(self.defaults.keys().map(String::as_str));
        fields.extend(self.default_references.keys().map(String::as_str));
        fields.extend(self.close.as_ref().map(|c| c.status_field.as_str()));
        fields
    }

    /// Whether the `My` level can be decided for this endpoint's records.
    pub fn has_owner(&self) -> bool {
        !self.owner.is_empty()
    }
}

/// Fields of a collection that a second function governs (finance fields of members).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldGuard {
    /// The collection.
    pub collection: String,
    /// The guarded fields: hidden on reads without Inquire, refused on writes without Edit.
    pub fields: Vec<String>,
    /// The function that governs them.
    pub function: FunctionName,
}

/// A request that is not plain CRUD on a collection.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Special {
    /// Path under `/apis/3.0`; `{id}` stands for a record id.
    pub path: String,
    /// HTTP method.
    pub method: String,
    /// What the mock does.
    pub handler: SpecialHandler,
    /// The function checked, if any (`None`: any authenticated member).
    #[serde(default)]
    pub function: Option<FunctionName>,
    /// The operation checked.
    #[serde(default)]
    pub operation: Option<OperationName>,
}

/// An [`Operation`] as written in the data file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OperationName(pub Operation);

impl<'de> Deserialize<'de> for OperationName {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse()
            .map(OperationName)
            .map_err(serde::de::Error::custom)
    }
}

impl<'de> Deserialize<'de> for FunctionName {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// The behaviours of special endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SpecialHandler {
    /// `/system/info`.
    SystemInfo,
    /// `/system/myAccount`: the caller's own member record.
    MyAccount,
    /// `/system/mySecurity`: the caller's effective security settings.
    MySecurity,
    /// `/system/mySecurity/customizeItems`: the Customize allow-lists of the caller's role.
    MySecurityCustomizeItems,
    /// `/system/securityroles`: the roles of the API members the mock knows, each once,
    /// however many members share it.
    SecurityRoles,
    /// `/system/securityroles/{id}`: one role.
    SecurityRole,
    /// `/system/securityRoles/{id}/settings`: a role's settings, by role id.
    SecurityRoleSettings,
    /// `/service/tickets/{id}/merge`.
    MergeTickets,
    /// `/system/documents` upload (multipart).
    UploadDocument,
    /// `POST {collection}/search`: a list whose `conditions`, `orderBy`, `fields`, `page`
    /// and `pageSize` come in a JSON body instead of the query string.
    Search,
}

/// Switches for behaviour the reference document marks as uncertain.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Whether a request without a `clientId` header is refused with 401.
    pub require_client_id: bool,
    /// `pageSize` used when none is given.
    pub default_page_size: usize,
    /// Largest `pageSize`.
    pub max_page_size: usize,
    /// What a `pageSize` above `max_page_size` gets.
    pub page_size_above_max: PageSizeAboveMax,
    /// What `page=0` gets (UNCERTAIN: ConnectWise documents pages from 1).
    pub page_zero: PageZero,
    /// The `code` of a 401 body.
    pub unauthorized_code: String,
    /// The `message` of a 401 body.
    pub unauthorized_message: String,
    /// The `code` of a 403 body.
    pub security_code: String,
    /// The `message` of a 403 body.
    pub security_message: String,
    /// The API version reported in `api-current-version`.
    pub api_version: String,
    /// Field names `conditions` and `orderBy` read as another path
    /// (`lastUpdated` → `_info/lastUpdated`).
    #[serde(default)]
    pub condition_aliases: BTreeMap<String, String>,
    /// What a `conditions` field that is unknown to the collection gets.
    pub unknown_condition_field: UnknownConditionField,
    /// Which function's Edit closes a ticket (the two documents disagree).
    #[serde(default)]
    pub close_rule: CloseRuleSource,
    /// Who may read a setup table.
    #[serde(default)]
    pub setup_table_reads: SetupTableReads,
    /// The function `setup_table_reads = "service-desk"` checks for the service desk's
    /// setup tables (those under `/service/`).
    pub service_desk_function: FunctionName,
    /// How a request whose credentials ConnectWise does not accept is answered.
    #[serde(default)]
    pub bad_credentials: BadCredentials,
    /// Whether every API request is refused with "SSL is required" (the mock serves plain
    /// http: this is what an integration configured with an `http://` URL meets).
    #[serde(default)]
    pub require_ssl: bool,
    /// Reference fields of an endpoint's `default_references` that a new record takes from
    /// the flagged record even when the create names another. Never ConnectWise's
    /// documented behaviour, so empty unless a site is made to drift on purpose
    /// (`serve --drift start-status`: a site whose workflow rule starts every new ticket
    /// at its board's default status).
    #[serde(default)]
    pub default_references_always: Vec<String>,
}

/// Who may read a setup table at inquiry level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SetupTableReads {
    /// The developer guide: setup tables answer at inquiry level without Table Setup, so
    /// every API member may read them.
    #[default]
    Open,
    /// Reads need the endpoint's function (Table Setup) Inquire, as the newer document's
    /// setup advice implies.
    TableSetup,
    /// The service desk's setup tables (boards and their statuses, types and subtypes,
    /// priorities) need `service_desk_function` Inquire, as a board-status 403 was
    /// attributed to missing Service Desk rights; the others are open.
    ServiceDesk,
}

/// How ConnectWise answers credentials it does not accept (UNCERTAIN: clients report each).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BadCredentials {
    /// 401 with `unauthorized_code` and `unauthorized_message`.
    #[default]
    Unauthorized,
    /// 401 `{"code": "ConnectWiseApi", "message": "UserNotAuthenticated"}`.
    UserNotAuthenticated,
    /// 404 with the body of a missing resource: the developer guide warns that a cloud
    /// site may answer bad credentials so.
    NotFound,
}

/// Which document the mock follows for closing a ticket. The older document's table gives
/// closing its own function, Close Service Tickets; the newer document lists closing among
/// what Service Tickets Add and Edit allow. ConnectWise has the function; which one a given
/// version checks is not documented, so both are a switch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CloseRuleSource {
    /// The older table: a change to a closed status needs the close rule's function
    /// (Close Service Tickets) Edit; a change of anything else as well needs the
    /// endpoint's Edit too.
    #[default]
    OlderTable,
    /// The newer document: closing is an edit like any other, governed by the endpoint's
    /// function (Service Tickets Edit).
    NewerDocument,
}

/// What the mock does with a `conditions` field no record of the collection has and the
/// endpoint does not declare (UNCERTAIN: ConnectWise answers 400 for a field its model
/// lacks; the exact message is not known).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UnknownConditionField {
    /// Answer 400 naming the field.
    Reject,
    /// Match nothing, as if the field were null on every record.
    Ignore,
}

/// What the mock does with a `pageSize` above `max_page_size` (UNCERTAIN: reported as
/// silently capped, never confirmed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PageSizeAboveMax {
    /// Serve `max_page_size` records, as if that size had been asked for.
    Cap,
    /// Answer 400 naming the size and the maximum.
    Reject,
}

/// What the mock does with `page=0` (UNCERTAIN: ConnectWise numbers pages from 1 and does
/// not say what page 0 gets; connectwise-rest starts its paging there).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PageZero {
    /// Serve the first page, as if `page=1` had been asked for.
    FirstPage,
    /// Answer 400 in ConnectWise's error shape, naming the page.
    BadRequest,
}

impl PageZero {
    /// The lowest `page` ConnectWise serves (page 0, where it is served, is the first page).
    pub fn lowest_page(self) -> usize {
        match self {
            PageZero::FirstPage => 0,
            PageZero::BadRequest => 1,
        }
    }
}

/// The whole mapping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PermissionMap {
    /// Known functions.
    pub functions: FunctionCatalog,
    /// Uncertain behaviour switches.
    pub settings: Settings,
    /// Collection endpoints.
    pub endpoints: Vec<Endpoint>,
    /// Special endpoints.
    pub specials: Vec<Special>,
    /// Field guards.
    pub field_guards: Vec<FieldGuard>,
    /// The functions with a Customize allow-list, and the items a role that grants the
    /// function allows by default (`/system/mySecurity/customizeItems`).
    pub customize: BTreeMap<FunctionName, Vec<String>>,
    /// For a function whose Customize items are kinds of record (configuration types,
    /// agreement types): the record field naming its item (`type/name`).
    pub customize_fields: BTreeMap<FunctionName, String>,
}

impl PermissionMap {
    /// Whether a function offers the `My` level (ConnectWise's `myAllFlag`): it governs
    /// records that have an owner, or the caller's own account. UNCERTAIN: the flag's
    /// meaning is inferred from its name.
    pub fn offers_my(&self, function: &FunctionName) -> bool {
        self.endpoints
            .iter()
            .any(|e| &e.function == function && !e.owner.is_empty())
            || self.specials.iter().any(|s| {
                s.handler == SpecialHandler::MyAccount && s.function.as_ref() == Some(function)
            })
    }

    /// Every function whose Edit may close a record of `endpoint`, one per document the
    /// `close_rule` switch follows, the one it follows now first.
    pub fn close_functions<'a>(&'a self, endpoint: &'a Endpoint) -> Vec<&'a FunctionName> {
        let mut functions: Vec<&FunctionName> = self.close_function(endpoint).into_iter().collect();
        if let Some(rule) = &endpoint.close {
            for function in [&rule.function, &endpoint.function] {
                if !functions.contains(&function) {
                    functions.push(function);
                }
            }
        }
        functions
    }

    /// Every requirement ConnectWise may check for a request, one per documented
    /// behaviour of the switches that bear on it (setup-table reads), the one the mock
    /// follows now first. An integration that cannot know which one a site follows names
    /// them all when ConnectWise refuses.
    pub fn possible_requirements(&self, method: &str, path: &str) -> Vec<Requirement> {
        let mut possible: Vec<Requirement> = self.requirement(method, path).into_iter().collect();
        if let Some(Route::Collection { endpoint, .. }) = self.route(path, method)
            && operation_for_method(method) == Some(Operation::Inquire)
        {
            for reads in [SetupTableReads::TableSetup, SetupTableReads::ServiceDesk] {
                if let Some(function) = self.inquire_function_under(endpoint, reads) {
                    let requirement = Requirement {
                        function: function.clone(),
                        operation: Operation::Inquire,
                    };
                    if !possible.contains(&requirement) {
                        possible.push(requirement);
                    }
                }
            }
        }
        possible
    }

    /// The function whose Edit closes a record of `endpoint`, under the `close_rule`
    /// switch: the close rule's own function (older table) or the endpoint's (newer
    /// document). `None` when the endpoint has no close rule.
    pub fn close_function<'a>(&'a self, endpoint: &'a Endpoint) -> Option<&'a FunctionName> {
        let rule = endpoint.close.as_ref()?;
        Some(match self.settings.close_rule {
            CloseRuleSource::OlderTable => &rule.function,
            CloseRuleSource::NewerDocument => &endpoint.function,
        })
    }
}

impl PermissionMap {
    /// The function whose Inquire reading `endpoint` needs: its own, or for a setup table
    /// what the `setup_table_reads` switch says (`None`: any API member may read it).
    pub fn inquire_function<'a>(&'a self, endpoint: &'a Endpoint) -> Option<&'a FunctionName> {
        self.inquire_function_under(endpoint, self.settings.setup_table_reads)
    }

    /// The level `role` reads `endpoint` at when setup tables are read as `reads` says: the
    /// level of the function reading it needs, or `All` when it needs none.
    pub fn inquire_level(
        &self,
        endpoint: &Endpoint,
        reads: SetupTableReads,
        role: &SecurityRole,
    ) -> Level {
        self.inquire_function_under(endpoint, reads)
            .map_or(Level::All, |function| {
                role.level(function, Operation::Inquire)
            })
    }

    fn inquire_function_under<'a>(
        &'a self,
        endpoint: &'a Endpoint,
        reads: SetupTableReads,
    ) -> Option<&'a FunctionName> {
        if !endpoint.setup_table {
            return Some(&endpoint.function);
        }
        match reads {
            SetupTableReads::Open => None,
            SetupTableReads::TableSetup => Some(&endpoint.function),
            SetupTableReads::ServiceDesk => endpoint
                .path
                .starts_with("/service/")
                .then_some(&self.settings.service_desk_function),
        }
    }
}

/// Which record of an endpoint a path addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// The collection itself.
    Collection,
    /// `/count`.
    Count,
    /// One record by id.
    Id(i64),
    /// One record by identifier (`/system/members/jsmith`).
    Identifier(String),
}

/// A path resolved against the map.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route<'a> {
    /// A collection endpoint.
    Collection {
        /// The endpoint.
        endpoint: &'a Endpoint,
        /// The parent id for child collections.
        parent_id: Option<i64>,
        /// What is addressed.
        target: Target,
    },
    /// A special endpoint.
    Special {
        /// The endpoint.
        special: &'a Special,
        /// The `{id}` in the path, if any.
        id: Option<i64>,
    },
}

/// The security check a request needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirement {
    /// The function.
    pub function: FunctionName,
    /// The operation.
    pub operation: Operation,
}

impl std::fmt::Display for Requirement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.function, self.operation)
    }
}

fn segments(path: &str) -> Vec<&str> {
    path.split('/').filter(|s| !s.is_empty()).collect()
}

/// Whether `path` starts with `template`'s segments: the id captured, if the template has
/// one, and how many segments of the path it used. Allocates nothing: every request tries
/// every template.
fn match_template(template: &str, path: &[&str]) -> Option<(Option<i64>, usize)> {
    // Most templates differ from the path in their first segment: those are told apart
    // before the template is split.
    let rest = template.trim_start_matches('/');
    if let Some(first) = path.first()
        && !rest.is_empty()
        && !rest.starts_with('{')
    {
        let same = rest
            .as_bytes()
            .get(..first.len())
            .is_some_and(|head| head.eq_ignore_ascii_case(first.as_bytes()));
        let whole = rest.as_bytes().get(first.len()).is_none_or(|b| *b == b'/');
        if !(same && whole) {
            return None;
        }
    }
    let mut captured = None;
    let mut used = 0;
    for t in template.split('/').filter(|s| !s.is_empty()) {
        let p = path.get(used)?;
        if t == "{parentId}" || t == "{id}" {
            captured = Some(p.parse().ok()?);
        } else if !t.eq_ignore_ascii_case(p) {
            return None;
        }
        used += 1;
    }
    Some((captured, used))
}

impl PermissionMap {
    /// Resolves a path under `/apis/3.0` (case-insensitive, as ConnectWise's router is).
    pub fn route(&self, path: &str, method: &str) -> Option<Route<'_>> {
        let parts = segments(path);
        for special in &self.specials {
            if let Some((id, used)) = match_template(&special.path, &parts)
                && used == parts.len()
                && special.method.eq_ignore_ascii_case(method)
            {
                return Some(Route::Special { special, id });
            }
        }
        // Longest template first, so `/service/boards/1/statuses` is not read as board 1.
        let mut best: Option<(Route<'_>, usize)> = None;
        for endpoint in &self.endpoints {
            let Some((parent_id, used)) = match_template(&endpoint.path, &parts) else {
                continue;
            };
            let target = match &parts[used..] {
                [] => Target::Collection,
                [one] if one.eq_ignore_ascii_case("count") => Target::Count,
                [one] => match one.parse() {
                    Ok(id) => Target::Id(id),
                    // Only an endpoint that looks records up by identifier has such paths.
                    Err(_) if endpoint.by_identifier.is_some() => {
                        Target::Identifier((*one).to_owned())
                    }
                    Err(_) => continue,
                },
                _ => continue,
            };
            if best.as_ref().is_none_or(|(_, len)| used > *len) {
                best = Some((
                    Route::Collection {
                        endpoint,
                        parent_id,
                        target,
                    },
                    used,
                ));
            }
        }
        best.map(|(route, _)| route)
    }

    /// The endpoint of a child endpoint's parent records (`/service/tickets` for
    /// `/service/tickets/{parentId}/notes`).
    pub fn parent_of(&self, child: &Endpoint) -> Option<&Endpoint> {
        let (prefix, _) = child.path.split_once("/{parentId}")?;
        self.endpoints
            .iter()
            .find(|e| e.path.eq_ignore_ascii_case(prefix))
    }

    /// The endpoint serving a collection.
    pub fn endpoint_for(&self, collection: &str) -> Option<&Endpoint> {
        self.endpoints.iter().find(|e| e.collection == collection)
    }

    /// The requirement ConnectWise checks for a method on an endpoint's path.
    pub fn requirement(&self, method: &str, path: &str) -> Option<Requirement> {
        match self.route(path, method)? {
            Route::Collection { endpoint, .. } => {
                let operation = operation_for_method(method)?;
                let function = match operation {
                    Operation::Inquire => self.inquire_function(endpoint)?,
                    _ => &endpoint.function,
                };
                Some(Requirement {
                    function: function.clone(),
                    operation,
                })
            }
            Route::Special { special, .. } => Some(Requirement {
                function: special.function.clone()?,
                operation: special.operation.map(|o| o.0)?,
            }),
        }
    }
}

/// The operation ConnectWise checks for an HTTP method.
pub fn operation_for_method(method: &str) -> Option<Operation> {
    match method.to_ascii_uppercase().as_str() {
        "GET" | "HEAD" => Some(Operation::Inquire),
        "POST" => Some(Operation::Add),
        "PUT" | "PATCH" => Some(Operation::Edit),
        "DELETE" => Some(Operation::Delete),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::match_template;

    /// A template, a path's segments, and the match expected.
    type Case<'a> = (&'a str, &'a [&'a str], Option<(Option<i64>, usize)>);

    #[test]
    fn a_template_matches_the_segments_a_path_starts_with_in_any_case() {
        let companies = "/company/companies";
        let notes = "/service/tickets/{parentId}/notes";
        let cases: [Case<'_>; 10] = [
            (companies, &["company", "companies"], Some((None, 2))),
            (companies, &["Company", "COMPANIES", "5"], Some((None, 2))),
            (companies, &["companyx", "companies"], None),
            (companies, &["compan", "companies"], None),
            (companies, &["company"], None),
            (companies, &[], None),
            (
                notes,
                &["service", "tickets", "7", "Notes"],
                Some((Some(7), 4)),
            ),
            (notes, &["service", "tickets", "x", "notes"], None),
            ("/{id}", &["5"], Some((Some(5), 1))),
            ("", &["company"], Some((None, 0))),
        ];
        for (template, path, expected) in cases {
            assert_eq!(
                match_template(template, path),
                expected,
                "{template} {path:?}"
            );
        }
    }
}
