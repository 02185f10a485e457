//! Signing in: the codebase lookup and Basic authentication with the `clientId` header.

use base64::Engine as _;
use reqwest::Method;
use rstest::rstest;
use serde_json::json;

use crate::support::{AI, Wire, cw_error, role};

#[tokio::test(flavor = "multi_thread")]
async fn company_info_for_the_known_company_names_the_codebase() {
    let wire = Wire::with_role(role("least-privilege")).await;

    let reply = wire
        .bare(Method::GET, "/login/companyinfo/northwind")
        .send()
        .await;

    reply.assert(
        200,
        &json!({
            "CompanyName": "Northwind IT",
            "Codebase": "v4_6_release/",
            "VersionCode": "v2025.16",
            "VersionNumber": "v2025.16.0",
            "CompanyID": "northwind",
            "IsCloud": false,
        }),
    );
    wire.shutdown();
}

#[tokio::test(flavor = "multi_thread")]
async fn company_info_for_an_unknown_company_is_null() {
    let wire = Wire::with_role(role("least-privilege")).await;

    let reply = wire
        .bare(Method::GET, "/login/companyinfo/contoso")
        .send()
        .await;

    reply.assert_status(200);
    assert_eq!(reply.text, "null");
    wire.shutdown();
}

fn basic(raw: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(raw)
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn correct_credentials_are_accepted() {
    let wire = Wire::with_role(role("least-privilege")).await;

    let reply = wire.get("/system/info").send().await;

    reply.assert_status(200);
    wire.shutdown();
}

/// What each bad sign-in sends: the `Authorization` value (None: no header) and whether a
/// `clientId` header goes with it.
#[rstest]
#[case::wrong_company_id(
    Some(basic("contoso+ai-integration-public:ai-integration-private")),
    true
)]
#[case::wrong_public_key(Some(basic("northwind+someone-public:ai-integration-private")), true)]
#[case::wrong_private_key(Some(basic("northwind+ai-integration-public:guessed-private")), true)]
#[case::missing_authorization(None, true)]
#[case::garbage_basic_value(Some("Basic %%%not-base64%%%".to_owned()), true)]
#[case::basic_without_company(Some(basic("ai-integration-public:ai-integration-private")), true)]
#[case::not_basic(Some("Bearer ai-integration-private".to_owned()), true)]
#[case::missing_client_id(
    Some(basic("northwind+ai-integration-public:ai-integration-private")),
    false
)]
#[tokio::test(flavor = "multi_thread")]
async fn bad_sign_ins_are_refused_with_401(
    #[case] authorization: Option<String>,
    #[case] with_client_id: bool,
) {
    let wire = Wire::with_role(role("least-privilege")).await;
    let mut call = if with_client_id {
        wire.unauthenticated(Method::GET, "/system/info")
    } else {
        wire.bare(Method::GET, "/v4_6_release/apis/3.0/system/info")
    };
    if let Some(value) = &authorization {
        call = call.header("Authorization", value);
    }

    let reply = call.send().await;

    reply.assert(401, &cw_error("Unauthorized", "Unauthorized"));
    for secret in [
        "ai-integration-private",
        "guessed-private",
        "ai-integration-public",
        "someone-public",
    ] {
        assert!(
            !reply.text.contains(secret),
            "the 401 body echoes {secret}: {reply}"
        );
    }
    assert_eq!(wire.mock().journal()[0].member, None);
    wire.shutdown();
}

#[tokio::test(flavor = "multi_thread")]
async fn the_client_id_header_name_is_case_insensitive() {
    let wire = Wire::with_role(role("least-privilege")).await;
    let authorization = wire.credentials(AI).authorization();

    let reply = wire
        .bare(Method::GET, "/v4_6_release/apis/3.0/system/info")
        .header("Authorization", authorization.expose())
        .header("ClientID", "cw-conform")
        .send()
        .await;

    reply.assert_status(200);
    wire.shutdown();
}

#[tokio::test(flavor = "multi_thread")]
async fn an_empty_client_id_is_refused() {
    let wire = Wire::with_role(role("least-privilege")).await;
    let authorization = wire.credentials(AI).authorization();

    let reply = wire
        .bare(Method::GET, "/v4_6_release/apis/3.0/system/info")
        .header("Authorization", authorization.expose())
        .header("clientId", "  ")
        .send()
        .await;

    reply.assert(401, &cw_error("Unauthorized", "Unauthorized"));
    wire.shutdown();
}

#[tokio::test(flavor = "multi_thread")]
async fn every_reply_names_the_current_api_version() {
    let wire = Wire::with_role(role("least-privilege")).await;

    let accepted = wire.get("/system/info").send().await;
    let refused = wire
        .unauthenticated(Method::GET, "/system/info")
        .send()
        .await;

    for reply in [accepted, refused] {
        assert_eq!(
            reply.header("api-current-version"),
            Some("2025.16"),
            "{reply}"
        );
        assert_eq!(
            reply.header("content-type"),
            Some("application/json; charset=utf-8"),
            "{reply}"
        );
    }
    wire.shutdown();
}
