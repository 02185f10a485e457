//! Steps that state, in business terms, the records a scenario needs: the harness
//! arranges them ([`crate::harness::arrange`]) and later steps refer to them by name.

use cucumber::gherkin::Step;
use cucumber::given;

use crate::harness::arrange::{self, Ownership};
use crate::harness::mistake;
use crate::harness::world::ConformanceWorld;

use super::{Keyword, Pattern, StepDoc, param};

/// The listing of these steps for `cw-conform steps`.
pub(super) const STEPS: &[StepDoc] = &[StepDoc {
    keyword: Keyword::Given,
    pattern: Pattern::Regex(
        r#"^(?:a|an) ([a-z][a-z-]*(?: [a-z-]+)?) "([^"]+)"(?: of ([a-z][a-z-]*(?: [a-z-]+)?) "([^"]+)")?(?: owned by (the API member|another member))?(?: with:?)?$"#,
    ),
    form: "a|an <kind> \"<name>\"[ of <parent kind> \"<parent>\"][ owned by the API member|another member][ with:]",
    description: "ConnectWise holds a record of this kind (fixtures/records.toml), which later \
                  steps call by its name: on the mock it is inserted, on a sandbox the setup \
                  member creates it with the run's mark and it is removed afterwards. `owned \
                  by` sets its owner (for `My` levels) to the member the scenario signs in as, \
                  or to another one; `with:` sets fields (| field | value |).",
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
}];

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
    let fields = step
        .table
        .as_ref()
        .map(|table| super::actions::fields_from(&table.rows))
        .unwrap_or_default();
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
