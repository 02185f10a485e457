//! Steps that choose how the scenario's mock ConnectWise behaves where the documents
//! disagree or leave it open: the switches of `fixtures/connectwise/permissions.toml`'s
//! `[settings]`. Each scenario that sets one says which document it follows. On a sandbox
//! the harness emulates a chosen behaviour where it is stricter than the sandbox's own or a
//! reshaping of its answers ([`crate::harness::documented`]).

use cucumber::given;

use super::{Keyword, Pattern, StepDoc, param};
use crate::connectwise::behaviour::Behaviour;
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
                      Service Tickets Edit. On a sandbox: runs where the sandbox governs \
                      closing so itself (the two documents refuse different roles, so neither \
                      can be emulated over the other).",
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
                      (TS-01). On a sandbox that refuses with a 401, the harness reshapes the \
                      refusal into the chosen shape.",
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
                      or the service desk's tables with Service Desk rights only. On a sandbox \
                      whose setup tables are open, the harness refuses the reads the chosen \
                      rule refuses the member's verified role.",
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
                      with 400. On a sandbox that serves page 0, the harness refuses it when \
                      the scenario chooses so.",
        parameters: &[],
        example: "ConnectWise refuses page 0",
        table: None,
    },
];

/// The documented behaviour a step chooses (`ConnectWise refuses page 0`), if it chooses
/// one: the steps below and the sandbox's choice of what can run read steps alike.
pub(crate) fn behaviour_of_step(step: &str) -> Option<Behaviour> {
    let chosen = |prefix: &str, suffix: &str| {
        step.strip_prefix(prefix)
            .and_then(|rest| rest.strip_suffix(suffix))
    };
    if let Some(document) = chosen("ConnectWise governs closing tickets as the ", " says") {
        return Some(Behaviour::CloseRule(match document {
            "older table" => CloseRuleSource::OlderTable,
            "newer document" => CloseRuleSource::NewerDocument,
            _ => return None,
        }));
    }
    if let Some(shape) = chosen("ConnectWise answers bad credentials with ", "") {
        return Some(Behaviour::BadCredentials(match shape {
            "401 Unauthorized" => BadCredentials::Unauthorized,
            "401 UserNotAuthenticated" => BadCredentials::UserNotAuthenticated,
            "404, as a cloud site may" => BadCredentials::NotFound,
            _ => return None,
        }));
    }
    if let Some(who) = chosen("ConnectWise lets setup tables be read ", "") {
        return Some(Behaviour::SetupTableReads(match who {
            "without Table Setup" => SetupTableReads::Open,
            "with Table Setup Inquire only" => SetupTableReads::TableSetup,
            "with Service Desk rights only" => SetupTableReads::ServiceDesk,
            _ => return None,
        }));
    }
    match step {
        "ConnectWise serves page 0 as the first page" => {
            Some(Behaviour::PageZero(PageZero::FirstPage))
        }
        "ConnectWise refuses page 0" => Some(Behaviour::PageZero(PageZero::BadRequest)),
        _ => None,
    }
}

/// Chooses the behaviour the step names (the step's regex admits only the known ones).
async fn choose(world: &mut ConformanceWorld, step: &str) {
    let Some(behaviour) = behaviour_of_step(step) else {
        mistake!("\"{step}\" names no documented behaviour");
    };
    world.switch(|settings| behaviour.apply(settings)).await;
}

#[given(regex = r"^ConnectWise governs closing tickets as the (older table|newer document) says$")]
async fn close_rule(world: &mut ConformanceWorld, document: String) {
    choose(
        world,
        &format!("ConnectWise governs closing tickets as the {document} says"),
    )
    .await;
}

#[given(
    regex = r"^ConnectWise answers bad credentials with (401 Unauthorized|401 UserNotAuthenticated|404, as a cloud site may)$"
)]
async fn bad_credentials(world: &mut ConformanceWorld, shape: String) {
    choose(
        world,
        &format!("ConnectWise answers bad credentials with {shape}"),
    )
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
    choose(
        world,
        &format!("ConnectWise lets setup tables be read {who}"),
    )
    .await;
}

#[given(regex = r"^ConnectWise (serves page 0 as the first page|refuses page 0)$")]
async fn page_zero(world: &mut ConformanceWorld, answer: String) {
    choose(world, &format!("ConnectWise {answer}")).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every example of a documented-behaviour step reads as a behaviour, and a step that
    /// only looks like one does not.
    #[test]
    fn each_documented_behaviour_step_reads_as_its_behaviour() {
        let read: Vec<String> = STEPS
            .iter()
            .filter_map(|doc| behaviour_of_step(doc.example))
            .map(|b| b.to_string())
            .collect();
        assert_eq!(
            read,
            [
                "close_rule = \"newer-document\"",
                "bad_credentials = \"not-found\"",
                "setup_table_reads = \"table-setup\"",
                "page_zero = \"bad-request\"",
            ]
        );
        assert_eq!(
            behaviour_of_step("ConnectWise lets setup tables be read by anyone"),
            None
        );
        assert_eq!(
            behaviour_of_step("ConnectWise governs closing tickets as the older table says"),
            Some(Behaviour::CloseRule(CloseRuleSource::OlderTable))
        );
    }
}
