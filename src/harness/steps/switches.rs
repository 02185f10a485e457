//! Steps that choose how the scenario's mock ConnectWise behaves where the documents
//! disagree or leave it open: the switches of `fixtures/connectwise/permissions.toml`'s
//! `[settings]`. Each scenario that sets one says which document it follows.

use cucumber::given;

use super::{Keyword, Pattern, StepDoc, param};
use crate::connectwise::security::{BadCredentials, CloseRuleSource, PageZero, SetupTableReads};
use crate::harness::mistake;
use crate::harness::world::ConformanceWorld;

/// The listing of these steps for `cw-conform steps`.
pub(super) const STEPS: &[StepDoc] = &[
    StepDoc {
        keyword: Keyword::Given,
        pattern: Pattern::Regex(
            r"^ConnectWise governs closing tickets as the (older table|newer document) says$",
        ),
        form: "ConnectWise governs closing tickets as the <document> says",
        description: "The close-rule switch (SD-02): the older table gives closing its own \
                      function, Close Service Tickets; the newer document lists closing under \
                      Service Tickets Edit. Mock only.",
        parameters: &[param("<document>", "older table or newer document")],
        example: "ConnectWise governs closing tickets as the newer document says",
        table: None,
    },
    StepDoc {
        keyword: Keyword::Given,
        pattern: Pattern::Regex(
            r"^ConnectWise answers bad credentials with (401 Unauthorized|401 UserNotAuthenticated|404, as a cloud site may)$",
        ),
        form: "ConnectWise answers bad credentials with <shape>",
        description: "The shape of ConnectWise's refusal of credentials it does not accept \
                      (TS-01). Mock only.",
        parameters: &[param(
            "<shape>",
            "401 Unauthorized, 401 UserNotAuthenticated or 404, as a cloud site may",
        )],
        example: "ConnectWise answers bad credentials with 404, as a cloud site may",
        table: None,
    },
    StepDoc {
        keyword: Keyword::Given,
        pattern: Pattern::Text("ConnectWise requires SSL and the integration's URL is plain http"),
        form: "ConnectWise requires SSL and the integration's URL is plain http",
        description: "Every API request is refused with \"SSL is required\" (TS-01). Mock only.",
        parameters: &[],
        example: "ConnectWise requires SSL and the integration's URL is plain http",
        table: None,
    },
    StepDoc {
        keyword: Keyword::Given,
        pattern: Pattern::Regex(
            r"^ConnectWise lets setup tables be read (without Table Setup|with Table Setup Inquire only|with Service Desk rights only)$",
        ),
        form: "ConnectWise lets setup tables be read <who>",
        description: "The setup-table switch: without Table Setup (the developer guide, the \
                      default), with Table Setup Inquire only (the newer document's advice), \
                      or the service desk's tables with Service Desk rights only. Mock only.",
        parameters: &[param(
            "<who>",
            "without Table Setup, with Table Setup Inquire only, or with Service Desk rights only",
        )],
        example: "ConnectWise lets setup tables be read with Table Setup Inquire only",
        table: None,
    },
    StepDoc {
        keyword: Keyword::Given,
        pattern: Pattern::Regex(r"^ConnectWise (serves page 0 as the first page|refuses page 0)$"),
        form: "ConnectWise serves page 0 as the first page|refuses page 0",
        description: "The page-0 switch: ConnectWise numbers pages from 1 and does not say \
                      what page 0 gets; served as the first page (the default) or refused \
                      with 400. Mock only.",
        parameters: &[],
        example: "ConnectWise refuses page 0",
        table: None,
    },
];

#[given(regex = r"^ConnectWise governs closing tickets as the (older table|newer document) says$")]
async fn close_rule(world: &mut ConformanceWorld, document: String) {
    let source = match document.as_str() {
        "older table" => CloseRuleSource::OlderTable,
        "newer document" => CloseRuleSource::NewerDocument,
        other => mistake!("unknown document \"{other}\" (expected older table or newer document)"),
    };
    world.switch(|settings| settings.close_rule = source).await;
}

#[given(
    regex = r"^ConnectWise answers bad credentials with (401 Unauthorized|401 UserNotAuthenticated|404, as a cloud site may)$"
)]
async fn bad_credentials(world: &mut ConformanceWorld, shape: String) {
    let shape = match shape.as_str() {
        "401 Unauthorized" => BadCredentials::Unauthorized,
        "401 UserNotAuthenticated" => BadCredentials::UserNotAuthenticated,
        "404, as a cloud site may" => BadCredentials::NotFound,
        other => mistake!("unknown refusal \"{other}\""),
    };
    world
        .switch(|settings| settings.bad_credentials = shape)
        .await;
}

#[given("ConnectWise requires SSL and the integration's URL is plain http")]
async fn require_ssl(world: &mut ConformanceWorld) {
    world.switch(|settings| settings.require_ssl = true).await;
}

#[given(
    regex = r"^ConnectWise lets setup tables be read (without Table Setup|with Table Setup Inquire only|with Service Desk rights only)$"
)]
async fn setup_table_reads(world: &mut ConformanceWorld, who: String) {
    let reads = match who.as_str() {
        "without Table Setup" => SetupTableReads::Open,
        "with Table Setup Inquire only" => SetupTableReads::TableSetup,
        "with Service Desk rights only" => SetupTableReads::ServiceDesk,
        other => mistake!("unknown setup-table rule \"{other}\""),
    };
    world
        .switch(|settings| settings.setup_table_reads = reads)
        .await;
}

#[given(regex = r"^ConnectWise (serves page 0 as the first page|refuses page 0)$")]
async fn page_zero(world: &mut ConformanceWorld, answer: String) {
    let page_zero = match answer.as_str() {
        "serves page 0 as the first page" => PageZero::FirstPage,
        "refuses page 0" => PageZero::BadRequest,
        other => mistake!("unknown answer to page 0 \"{other}\""),
    };
    world
        .switch(|settings| settings.page_zero = page_zero)
        .await;
}
