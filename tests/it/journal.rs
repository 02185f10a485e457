//! The journal: what the mock received, by whom, and how it answered; never headers.

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{AI, Wire, role};

#[tokio::test(flavor = "multi_thread")]
async fn the_journal_records_method_path_query_status_and_member() {
    let wire = Wire::with_role(role("full-access")).await;
    let ticket = json!({"summary": "Printer offline", "company": {"id": 19}});

    wire.get("/service/tickets")
        .query(&[("conditions", "id = 1001"), ("pageSize", "5")])
        .send()
        .await
        .assert_status(200);
    wire.post("/service/tickets")
        .json(&ticket)
        .send()
        .await
        .assert_status(201);
    wire.as_member(AI)
        .call_on_site(Method::DELETE, "/v2025_1/APIS/3.0/Service/Tickets/1011")
        .send()
        .await
        .assert_status(204);
    wire.unauthenticated(Method::GET, "/service/tickets/1001")
        .send()
        .await
        .assert_status(401);

    let entries: Vec<Value> = wire
        .mock()
        .journal()
        .iter()
        .map(|e| serde_json::to_value(e).unwrap())
        .collect();
    assert_eq!(
        entries,
        [
            json!({"method": "GET", "path": "/service/tickets",
                   "query": "conditions=id+%3D+1001&pageSize=5", "status": 200,
                   "member": AI, "body": null}),
            json!({"method": "POST", "path": "/service/tickets", "query": "", "status": 201,
                   "member": AI, "body": ticket}),
            json!({"method": "DELETE", "path": "/Service/Tickets/1011", "query": "",
                   "status": 204, "member": AI, "body": null}),
            json!({"method": "GET", "path": "/service/tickets/1001", "query": "",
                   "status": 401, "member": null, "body": null}),
        ]
    );
    wire.shutdown();
}

#[tokio::test(flavor = "multi_thread")]
async fn the_journal_never_keeps_headers_or_keys() {
    let wire = Wire::with_role(role("full-access")).await;
    let credentials = wire.credentials(AI);

    wire.get("/system/info")
        .header("X-Custom", "header-value-to-forget")
        .send()
        .await
        .assert_status(200);
    wire.patch("/service/tickets/1001")
        .json(&json!([{"op": "replace", "path": "summary", "value": "Patched"}]))
        .send()
        .await
        .assert_status(200);

    let journal = wire.mock().journal();
    let recorded = serde_json::to_string(&journal).unwrap();
    let shown = cw_conform::mock::journal::render(&journal);
    for secret in [
        credentials.private_key.expose(),
        credentials.public_key.as_str(),
        credentials.authorization().expose(),
        "header-value-to-forget",
        "cw-conform",
        "clientId",
    ] {
        assert!(!recorded.contains(secret), "{secret} in {recorded}");
        assert!(!shown.contains(secret), "{secret} in {shown}");
    }
    assert_eq!(
        journal[1].body,
        Some(json!([{"op": "replace", "path": "summary", "value": "Patched"}]))
    );
    assert_eq!(
        shown,
        "  GET /system/info -> 200 (as ai-integration)\n  PATCH /service/tickets/1001 -> 200 (as ai-integration)"
    );
    wire.shutdown();
}
