//! Routing and faults: case-insensitive paths, any codebase, unknown paths, `/system/info`
//! and injected faults such as 429.

use cw_conform::mock::Fault;
use reqwest::Method;
use rstest::rstest;
use serde_json::json;

use crate::support::{AI, Wire, cw_error, fixtures, role};

#[tokio::test(flavor = "multi_thread")]
async fn paths_are_case_insensitive() {
    let wire = Wire::with_role(role("read-only-discovery")).await;

    let lower = wire.get("/service/tickets").send().await;
    let mixed = wire.get("/Service/Tickets").send().await;
    let upper = wire.get("/SERVICE/TICKETS/1004").send().await;

    mixed.assert(200, &lower.json());
    assert_eq!(mixed.ids().len(), 10);
    upper.assert_status(200);
    assert_eq!(upper.json()["id"], 1004);
    wire.shutdown();
}

#[rstest]
#[case::router_codebase("/v4_6_release/apis/3.0")]
#[case::versioned_codebase("/v2025_1/apis/3.0")]
#[case::upper_case_prefix("/v2017_3/APIS/3.0")]
#[case::no_codebase("/apis/3.0")]
#[tokio::test(flavor = "multi_thread")]
async fn any_codebase_before_apis_3_0_works(#[case] prefix: &str) {
    let wire = Wire::with_role(role("read-only-discovery")).await;

    let reply = wire
        .as_member(AI)
        .call_on_site(Method::GET, &format!("{prefix}/service/tickets/1004"))
        .send()
        .await;

    reply.assert_status(200);
    assert_eq!(reply.json()["summary"], "VPN drops every 30 minutes");
    wire.shutdown();
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_api_path_is_404_in_connectwise_shape() {
    let wire = Wire::with_role(role("full-access")).await;

    let reply = wire.get("/service/widgets").send().await;
    let deep = wire.get("/service/tickets/1004/widgets/1").send().await;

    reply.assert(
        404,
        &cw_error(
            "NotFound",
            "The requested resource /service/widgets was not found.",
        ),
    );
    deep.assert(
        404,
        &cw_error(
            "NotFound",
            "The requested resource /service/tickets/1004/widgets/1 was not found.",
        ),
    );
    wire.shutdown();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_path_outside_the_api_is_404_in_connectwise_shape() {
    let wire = Wire::with_role(role("full-access")).await;

    let reply = wire
        .as_member(AI)
        .call_on_site(
            Method::GET,
            "/v4_6_release/services/system_io/actionprocessor",
        )
        .send()
        .await;

    reply.assert(
        404,
        &cw_error(
            "NotFound",
            "The requested resource /v4_6_release/services/system_io/actionprocessor was not found.",
        ),
    );
    wire.shutdown();
}

#[tokio::test(flavor = "multi_thread")]
async fn system_info_reports_the_version() {
    let wire = Wire::with_role(role("no-access")).await;

    let reply = wire.get("/system/info").send().await;

    reply.assert(200, &fixtures().system_info);
    assert_eq!(reply.json()["version"], "v2025.16.101230");
    wire.shutdown();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_429_fault_carries_retry_after_then_the_next_request_succeeds() {
    let wire = Wire::with_role(role("read-only-discovery")).await;
    wire.mock().inject_fault(Fault {
        status: 429,
        retry_after: Some(1),
        times: 1,
    });

    let limited = wire.get("/service/tickets/1001").send().await;
    let next = wire.get("/service/tickets/1001").send().await;

    limited.assert(
        429,
        &json!({
            "error": "ConnectWiseAPI",
            "message": "Too many requests. Please try again in 1 seconds.",
        }),
    );
    assert_eq!(limited.header("retry-after"), Some("1"));
    next.assert_status(200);
    assert_eq!(next.header("retry-after"), None);
    let statuses: Vec<u16> = wire.mock().journal().iter().map(|e| e.status).collect();
    assert_eq!(statuses, [429, 200]);
    wire.shutdown();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_fault_answers_as_many_requests_as_it_is_told() {
    let wire = Wire::with_role(role("read-only-discovery")).await;
    wire.mock().inject_fault(Fault {
        status: 500,
        retry_after: None,
        times: 2,
    });

    let first = wire.get("/service/tickets/1001").send().await;
    let second = wire.get("/service/tickets/1001").send().await;
    let third = wire.get("/service/tickets/1001").send().await;

    let outage = cw_error("ConnectWiseApi", "A timeout has occured. Please try again.");
    first.assert(500, &outage);
    second.assert(500, &outage);
    third.assert_status(200);
    wire.shutdown();
}
