//! Steps that change the credentials the integration is configured with.

use crate::connectwise::Secret;
use crate::harness::world::ConformanceWorld;
use crate::mock::MockConfig;
use cucumber::given;

use super::{Keyword, Pattern, StepDoc, param};

/// The listing of these steps for `cw-conform steps`.
pub(super) const STEPS: &[StepDoc] = &[
    StepDoc {
        keyword: Keyword::Given,
        pattern: Pattern::Regex(
            r"^the integration is configured with a wrong (company ID|public key|private key|client ID|ConnectWise URL)$",
        ),
        form: "the integration is configured with a wrong <setting>",
        description: "One of the integration's settings is wrong (a wrong URL reaches another \
                      ConnectWise site that does not know the company).",
        parameters: &[param(
            "<setting>",
            "company ID, public key, private key, client ID or ConnectWise URL",
        )],
        example: "the integration is configured with a wrong private key",
        table: None,
    },
    StepDoc {
        keyword: Keyword::Given,
        pattern: Pattern::Text("the integration sends no client ID"),
        form: "the integration sends no client ID",
        description: "The integration leaves out the clientId header.",
        parameters: &[],
        example: "the integration sends no client ID",
        table: None,
    },
    StepDoc {
        keyword: Keyword::Given,
        pattern: Pattern::Expression(
            "the integration is configured with the company record ID {int} as its company ID",
        ),
        form: "the integration is configured with the company record ID <number> as its company ID",
        description: "The numeric company record ID is given where the sign-in company code \
                      belongs.",
        parameters: &[param("<number>", "a whole number")],
        example: "the integration is configured with the company record ID 19 as its company ID",
        table: None,
    },
];

/// `Given the integration is configured with a wrong private key`
#[given(
    regex = r"^the integration is configured with a wrong (company ID|public key|private key|client ID|ConnectWise URL)$"
)]
async fn wrong_credential(world: &mut ConformanceWorld, which: String) {
    // A wrong URL reaches another ConnectWise site (another region or another MSP),
    // which does not know this company: played by a second mock.
    let other_site = if which == "ConnectWise URL" {
        world
            .start_other_site(MockConfig {
                company_id: "othermsp".into(),
                ..MockConfig::default()
            })
            .await
    } else {
        String::new()
    };
    world.credential_change = Some(Box::new(move |credentials| match which.as_str() {
        "company ID" => credentials.company_id = "wrongcompany".into(),
        "public key" => credentials.public_key = "not-the-public-key".into(),
        "private key" => credentials.private_key = Secret::new("not-the-private-key"),
        "client ID" => credentials.client_id = Some("00000000-0000-0000-0000-000000000000".into()),
        _ => credentials.site.clone_from(&other_site),
    }));
    world.reset_integration().await;
}

#[given("the integration sends no client ID")]
async fn no_client_id(world: &mut ConformanceWorld) {
    world.credential_change = Some(Box::new(|credentials| credentials.client_id = None));
    world.reset_integration().await;
}

/// TS-02: the numeric company record ID given where the sign-in company code belongs.
#[given(expr = "the integration is configured with the company record ID {int} as its company ID")]
async fn numeric_company_id(world: &mut ConformanceWorld, id: i64) {
    world.credential_change = Some(Box::new(move |credentials| {
        credentials.company_id = id.to_string();
    }));
    world.reset_integration().await;
}
