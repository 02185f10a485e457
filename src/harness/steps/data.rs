//! Steps that state, in business terms, the records a scenario needs: the harness
//! arranges them ([`crate::harness::arrange`]) and later steps refer to them by name.

use cucumber::gherkin::Step;
use cucumber::given;

use serde_json::{Map, Value};

use crate::harness::arrange::{self, Ownership};
use crate::harness::mistake;
use crate::harness::world::ConformanceWorld;

use super::{Keyword, Pattern, StepDoc, param};

/// The listing of these steps for `cw-conform steps`.
pub(super) const STEPS: &[StepDoc] = &[
    StepDoc {
        keyword: Keyword::Given,
        pattern: Pattern::Regex(
            r#"^(?:a|an) ([a-z][a-z-]*(?: [a-z-]+)?) "([^"]+)"(?: of ([a-z][a-z-]*(?: [a-z-]+)?) "([^"]+)")?(?: owned by (the API member|another member))?(?: with:?)?$"#,
        ),
        form: "a|an <kind> \"<name>\"[ of <parent kind> \"<parent>\"][ owned by the API member|another member][ with:]",
        description: "ConnectWise holds a record of this kind (fixtures/records.toml), which later \
                  steps call by its name: on the mock it is inserted, on a sandbox the setup \
                  member creates it with the run's mark and it is removed afterwards. `owned \
                  by` sets its owner (for `My` levels) to the member the scenario signs in as, \
                  or to another one; `with:` sets fields (| field | value |; a value \
                  `{\"id\": <kind> \"<name>\"}` refers to a record arranged before).",
        parameters: &[
            param(
                "<kind>",
                "a kind of record: service ticket (or ticket), time entry, agreement, …",
            ),
            param("<name>", "the name later steps use for it"),
            param(
                "<parent kind>",
                "for a child record (a task, an addition): its parent's kind",
            ),
            param("<parent>", "the name of the arranged parent"),
        ],
        example: "a service ticket \"VPN\" owned by the API member",
        table: None,
    },
    StepDoc {
        keyword: Keyword::Given,
        pattern: Pattern::Regex(
            r#"^([0-9,]+) ([a-z][a-z ]*?) "([^"]+)", more than fit on a page of ([0-9,]+)$"#,
        ),
        form: "<count> <records> \"<name>\", more than fit on a page of <size>",
        description: "ConnectWise holds that many records of the kind, arranged as one record is \
                  (inserted on the mock, created by the setup member on a sandbox) and named \
                  \"<name> 1\" to \"<name> <count>\"; the claim is checked: more records \
                  than <size>, so a list asked <size> a page takes more than one page.",
        parameters: &[
            param("<count>", "a whole number"),
            param(
                "<records>",
                "a kind of record in the plural: contacts, companies, …",
            ),
            param(
                "<name>",
                "the name of the group, which each record's name begins with",
            ),
            param("<size>", "the records a page holds"),
        ],
        example: "12 contacts \"Paged\", more than fit on a page of 5",
        table: None,
    },
    StepDoc {
        keyword: Keyword::Given,
        pattern: Pattern::Regex(
            r#"^(?:a|an) ([a-z][a-z -]*?) "([^"]+)" that ConnectWise does not hold$"#,
        ),
        form: "a|an <kind> \"<name>\" that ConnectWise does not hold",
        description: "A record number that names no record of the kind (past the largest id \
                  ConnectWise holds; nothing is written), which later steps call by its name.",
        parameters: &[
            param(
                "<kind>",
                "a kind of record: service ticket (or ticket), board, …",
            ),
            param("<name>", "the name later steps use for it"),
        ],
        example: "a service ticket \"Gone\" that ConnectWise does not hold",
        table: None,
    },
];

/// `Given a service ticket "VPN" owned by the API member`, `Given a task "Call" of ticket
/// "VPN"`, `Given an agreement "Acme" with:` (a `| field | value |` table).
#[given(
    regex = r#"^(?:a|an) ([a-z][a-z-]*(?: [a-z-]+)?) "([^"]+)"(?: of ([a-z][a-z-]*(?: [a-z-]+)?) "([^"]+)")?(?: owned by (the API member|another member))?(?: with:?)?$"#
)]
async fn a_record(
    world: &mut ConformanceWorld,
    kind: String,
    name: String,
    parent_kind: String,
    parent: String,
    owner: String,
    step: &Step,
) {
    if !parent.is_empty() {
        let said = arrange::kind(&parent_kind)
            .unwrap_or_else(|| mistake!("no kind of record called \"{parent_kind}\""));
        let arranged = arrange::named(&world.arranged, &parent);
        if arranged.kind != said.name {
            mistake!("\"{parent}\" is a {}, not a {parent_kind}", arranged.kind);
        }
    }
    let mut fields = step
        .table
        .as_ref()
        .map(|table| super::actions::fields_from(&table.rows))
        .unwrap_or_default();
    super::actions::name_arranged_ids(&world.arranged, &mut fields);
    let parent = (!parent.is_empty()).then_some(parent.as_str());
    arrange::arrange(
        world,
        &kind,
        &name,
        parent,
        Ownership::from_phrase(&owner),
        fields,
    )
    .await;
}

/// `Given 12 contacts "Paged", more than fit on a page of 5`: records `Paged 1` to `Paged
/// 12`, each arranged as one record is, its name field (`lastName` for a contact) set to its
/// name so a search for the group's name finds them all.
#[given(regex = r#"^([0-9,]+) ([a-z][a-z ]*?) "([^"]+)", more than fit on a page of ([0-9,]+)$"#)]
async fn records_past_a_page(
    world: &mut ConformanceWorld,
    count: String,
    plural: String,
    group: String,
    size: String,
) {
    let count = super::paging::number(&count);
    let size = super::paging::number(&size);
    if count <= size {
        mistake!("{count} {plural} fit on one page of {size}: arrange more than {size}");
    }
    let kind = arrange::kind_of_plural(&plural).unwrap_or_else(|| {
        mistake!(
            "no kind of record called \"{plural}\"{} (fixtures/records.toml lists them)",
            crate::model::spelling::did_you_mean(
                &plural,
                arrange::kinds().iter().map(|k| k.name.as_str())
            )
        )
    });
    if kind.parent.is_some() {
        mistake!(
            "a {} belongs to a parent record: arrange them one by one",
            kind.name
        );
    }
    let field = arrange::name_field(kind)
        .unwrap_or_else(|| mistake!("a {} has no field that names it", kind.name));
    for n in 1..=count {
        let name = arrange::member_of_group(&group, n);
        let mut fields = Map::new();
        fields.insert(field.to_owned(), Value::from(name.clone()));
        arrange::arrange(world, &kind.name, &name, None, Ownership::Unsaid, fields).await;
    }
}

/// `Given a service ticket "Gone" that ConnectWise does not hold`.
#[given(regex = r#"^(?:a|an) ([a-z][a-z -]*?) "([^"]+)" that ConnectWise does not hold$"#)]
async fn a_record_not_held(world: &mut ConformanceWorld, kind: String, name: String) {
    arrange::absent(world, &kind, &name).await;
}
