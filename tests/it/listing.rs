//! Lists on the wire: paging with the `Link` header, `conditions`, `orderBy`, `fields` and
//! `/count`.
//!
//! The seeded tickets are 1001 to 1010; 1001 to 1009 are on board 1 (Help Desk), 1010 on
//! board 2 (Projects Intake).

use rstest::rstest;
use serde_json::json;
use url::Url;

use crate::support::{Reply, Wire, cw_error, role};

async fn reader() -> Wire {
    Wire::with_role(role("read-only-discovery")).await
}

/// The `Link` header as `(rel, url)` pairs, in order.
fn links(reply: &Reply) -> Vec<(String, Url)> {
    let header = reply
        .header("link")
        .unwrap_or_else(|| panic!("no Link header: {reply}"));
    header
        .split(", ")
        .map(|part| {
            let (target, rel) = part
                .split_once(">; rel=")
                .unwrap_or_else(|| panic!("malformed link {part:?} in {header}"));
            let target = target.strip_prefix('<').unwrap();
            (
                rel.trim_matches('"').to_owned(),
                Url::parse(target).unwrap(),
            )
        })
        .collect()
}

/// The query pairs of a URL, in order.
fn pairs(url: &Url) -> Vec<(String, String)> {
    url.query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn pair(key: &str, value: &str) -> (String, String) {
    (key.to_owned(), value.to_owned())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_page_is_the_right_slice_with_links_that_keep_the_query() {
    let wire = reader().await;

    let reply = wire
        .get("/service/tickets")
        .query(&[
            ("conditions", "board/id=1"),
            ("pageSize", "2"),
            ("page", "2"),
        ])
        .send()
        .await;

    reply.assert_status(200);
    assert_eq!(reply.ids(), [1003, 1004]);
    let links = links(&reply);
    let rels: Vec<&str> = links.iter().map(|(rel, _)| rel.as_str()).collect();
    assert_eq!(rels, ["prev", "next", "first", "last"]);
    for ((rel, url), page) in links.iter().zip(["1", "3", "1", "5"]) {
        assert_eq!(
            url.path(),
            "/v4_6_release/apis/3.0/service/tickets",
            "{rel}"
        );
        assert_eq!(
            pairs(url),
            [
                pair("conditions", "board/id=1"),
                pair("pageSize", "2"),
                pair("page", page)
            ],
            "{rel}: {url}"
        );
        // The page comes last, as clients that scan for `page=N>; rel=` rely on.
        assert!(
            reply
                .header("link")
                .unwrap()
                .contains(&format!("page={page}>; rel=\"{rel}\"")),
            "{rel}"
        );
    }
    wire.shutdown();
}

#[tokio::test(flavor = "multi_thread")]
async fn the_last_page_has_no_next_link() {
    let wire = reader().await;

    let reply = wire
        .get("/service/tickets?conditions=board/id=1&pageSize=2&page=5")
        .send()
        .await;

    reply.assert_status(200);
    assert_eq!(reply.ids(), [1009]);
    let links: Vec<(String, String)> = links(&reply)
        .into_iter()
        .map(|(rel, url)| {
            let page = url
                .query_pairs()
                .find(|(k, _)| k == "page")
                .unwrap()
                .1
                .into_owned();
            (rel, page)
        })
        .collect();
    assert_eq!(
        links,
        [pair("prev", "4"), pair("first", "1"), pair("last", "5")]
    );
    wire.shutdown();
}

#[tokio::test(flavor = "multi_thread")]
async fn the_first_page_has_no_prev_link() {
    let wire = reader().await;

    let reply = wire.get("/service/tickets?pageSize=4").send().await;

    reply.assert_status(200);
    assert_eq!(reply.ids(), [1001, 1002, 1003, 1004]);
    let rels: Vec<String> = links(&reply).into_iter().map(|(rel, _)| rel).collect();
    assert_eq!(rels, ["next", "first", "last"]);
    wire.shutdown();
}

/// The `pageSize` the links carry, which is the size the mock used.
fn page_size_of(reply: &Reply) -> String {
    let (_, url) = links(reply).remove(0);
    url.query_pairs()
        .find(|(k, _)| k == "pageSize")
        .unwrap()
        .1
        .into_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_default_page_size_is_25() {
    let wire = Wire::with_role(role("full-access")).await;
    for n in 0..20 {
        wire.post("/service/tickets")
            .json(&json!({"summary": format!("Bulk {n}"), "company": {"id": 19}}))
            .send()
            .await
            .assert_status(201);
    }

    let first = wire.get("/service/tickets").send().await;
    let second = wire.get("/service/tickets?page=2").send().await;

    first.assert_status(200);
    assert_eq!(first.ids().len(), 25);
    assert_eq!(page_size_of(&first), "25");
    assert_eq!(second.ids().len(), 5);
    assert_eq!(second.ids()[0], first.ids()[24] + 1);
    wire.shutdown();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_page_size_above_1000_is_capped() {
    let wire = reader().await;

    let reply = wire.get("/service/tickets?pageSize=5000").send().await;

    reply.assert_status(200);
    assert_eq!(reply.ids().len(), 10);
    assert_eq!(page_size_of(&reply), "1000");
    wire.shutdown();
}

#[tokio::test(flavor = "multi_thread")]
async fn lower_case_pagesize_is_accepted() {
    let wire = reader().await;

    let reply = wire.get("/service/tickets?pagesize=3&page=2").send().await;

    reply.assert_status(200);
    assert_eq!(reply.ids(), [1004, 1005, 1006]);
    wire.shutdown();
}

#[rstest]
#[case::page_not_a_number("page=abc", "Invalid page \"abc\": expected a whole number.")]
#[case::page_negative("page=-1", "Invalid page \"-1\": expected a whole number.")]
#[case::page_size_not_a_number(
    "pageSize=ten",
    "Invalid pageSize \"ten\": expected a whole number."
)]
#[tokio::test(flavor = "multi_thread")]
async fn a_bad_paging_number_is_400(#[case] query: &str, #[case] message: &str) {
    let wire = reader().await;

    let reply = wire.get(&format!("/service/tickets?{query}")).send().await;

    reply.assert(400, &cw_error("BadRequest", message));
    wire.shutdown();
}

#[rstest]
#[case::equals("id = 1004", &[1004])]
#[case::not_equals("priority/id != 3", &[1004, 1007, 1008])]
#[case::less_than("actualHours < 0.75", &[1001, 1005, 1007, 1008, 1009, 1010])]
#[case::at_most("actualHours <= 0.75", &[1001, 1002, 1005, 1007, 1008, 1009, 1010])]
#[case::greater_than("actualHours > 1", &[1004, 1006])]
#[case::at_least("actualHours >= 1", &[1003, 1004, 1006])]
#[case::contains("summary contains \"FILE\"", &[1007, 1010])]
#[case::like_star("summary like \"*printer*\"", &[1003])]
#[case::like_percent("summary like 'VPN%'", &[1004])]
#[case::in_list("id in (1001, 1005, 1010)", &[1001, 1005, 1010])]
#[case::not_in("id not in (1001, 1002, 1003, 1004, 1005)", &[1006, 1007, 1008, 1009, 1010])]
#[case::not_contains(
    "company/name not contains \"Acme\"",
    &[1002, 1003, 1005, 1006, 1008, 1009, 1010]
)]
#[case::not_like("summary not like '*o*'", &[1006])]
#[case::and_or_with_parentheses(
    "(company/name = \"Acme Corporation\" or company/name = 'Globex Inc.') and closedFlag = False",
    &[1001, 1003, 1004, 1007, 1009]
)]
#[case::and_binds_tighter_than_or("id = 1001 or id = 1002 and closedFlag = true", &[1001])]
#[case::nested_reference("board/name = \"Projects Intake\"", &[1010])]
#[case::double_quotes("status/name = \"In Progress\"", &[1001, 1004, 1009])]
#[case::single_quotes("status/name = 'In Progress'", &[1001, 1004, 1009])]
#[case::true_literal("closedFlag = True", &[1005, 1006, 1008])]
#[case::false_literal("closedFlag = False and board/id = 2", &[1010])]
#[case::null_literal("closedDate != null", &[1005, 1006, 1008])]
#[case::missing_is_null("closedBy = null and priority/id = 3", &[1001, 1002, 1003, 1009, 1010])]
#[case::datetime("_info/lastUpdated > [2026-10-01T12:00:00Z]", &[1001, 1002, 1007, 1009])]
#[case::date("_info/dateEntered < [2026-09-20]", &[1005, 1006, 1008])]
#[case::keywords_any_case("Closedflag = TRUE AND Company/Name CONTAINS 'globex'", &[1005])]
#[tokio::test(flavor = "multi_thread")]
async fn conditions_filter_the_list(#[case] conditions: &str, #[case] expected: &[i64]) {
    let wire = reader().await;

    let list = wire
        .get("/service/tickets")
        .query(&[("conditions", conditions)])
        .send()
        .await;
    let count = wire
        .get("/service/tickets/count")
        .query(&[("conditions", conditions)])
        .send()
        .await;

    list.assert_status(200);
    assert_eq!(list.ids(), expected, "{conditions}");
    count.assert(200, &json!({"count": expected.len()}));
    wire.shutdown();
}

#[rstest]
#[case::unknown_operator(
    "id ~ 5",
    "Invalid conditions: unknown operator \"~\" at position 3 in conditions; expected one of =, !=, <, <=, >, >=, contains, like, in, not"
)]
#[case::unquoted_string(
    "status/name = Open",
    "Invalid conditions: unexpected \"Open\" at position 14 in conditions; expected a value (quoted string, number, true, false, null or [datetime])"
)]
#[case::unterminated_string(
    "summary = \"VPN",
    "Invalid conditions: unterminated string '\"VPN' starting at position 10 in conditions"
)]
#[case::unclosed_parenthesis(
    "(id = 1001 or id = 1002",
    "Invalid conditions: unclosed \"(\" at position 0 in conditions"
)]
#[case::bad_datetime(
    "_info/lastUpdated > [2026-13-01]",
    "Invalid conditions: invalid datetime \"[2026-13-01]\" at position 20 in conditions; expected [YYYY-MM-DD] or [YYYY-MM-DDThh:mm:ssZ]"
)]
#[tokio::test(flavor = "multi_thread")]
async fn a_malformed_condition_is_400_naming_the_problem(
    #[case] conditions: &str,
    #[case] message: &str,
) {
    let wire = reader().await;

    let reply = wire
        .get("/service/tickets")
        .query(&[("conditions", conditions)])
        .send()
        .await;

    reply.assert(400, &cw_error("BadRequest", message));
    wire.shutdown();
}

#[rstest]
#[case::descending("id desc", &[1010, 1009, 1008, 1007, 1006, 1005, 1004, 1003, 1002, 1001])]
#[case::two_keys(
    "actualHours desc, id asc",
    &[1006, 1004, 1003, 1002, 1001, 1005, 1007, 1008, 1009, 1010]
)]
#[case::nested_field("priority/id, id desc", &[1007, 1004, 1010, 1009, 1006, 1005, 1003, 1002, 1001, 1008])]
#[tokio::test(flavor = "multi_thread")]
async fn order_by_sorts_the_list(#[case] order_by: &str, #[case] expected: &[i64]) {
    let wire = reader().await;

    let reply = wire
        .get("/service/tickets")
        .query(&[("orderBy", order_by)])
        .send()
        .await;

    reply.assert_status(200);
    assert_eq!(reply.ids(), expected);
    wire.shutdown();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_malformed_order_by_is_400() {
    let wire = reader().await;

    let reply = wire
        .get("/service/tickets")
        .query(&[("orderBy", "id upwards")])
        .send()
        .await;

    reply.assert(
        400,
        &cw_error(
            "BadRequest",
            "Invalid orderBy: invalid sort direction \"upwards\" at position 3 in orderBy; expected asc or desc",
        ),
    );
    wire.shutdown();
}

#[tokio::test(flavor = "multi_thread")]
async fn fields_project_a_list() {
    let wire = reader().await;

    let reply = wire
        .get("/service/tickets")
        .query(&[
            ("conditions", "id in (1001, 1010)"),
            ("fields", "id,summary,board/name"),
        ])
        .send()
        .await;

    reply.assert(
        200,
        &json!([
            {"id": 1001, "summary": "Outlook keeps prompting for password", "board": {"name": "Help Desk"}},
            {"id": 1010, "summary": "Request: migrate file server to SharePoint", "board": {"name": "Projects Intake"}},
        ]),
    );
    wire.shutdown();
}

#[tokio::test(flavor = "multi_thread")]
async fn fields_project_one_record() {
    let wire = reader().await;

    let reply = wire
        .get("/service/tickets/1004?fields=id,status/name,closedFlag")
        .send()
        .await;

    reply.assert(
        200,
        &json!({"id": 1004, "status": {"name": "In Progress"}, "closedFlag": false}),
    );
    wire.shutdown();
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_fields_are_400() {
    let wire = reader().await;

    let reply = wire
        .get("/service/tickets")
        .query(&[("fields", "id summary")])
        .send()
        .await;

    reply.assert(
        400,
        &cw_error(
            "BadRequest",
            "Invalid fields: unexpected \"summary\" at position 3 in fields; expected \",\" or end of input",
        ),
    );
    wire.shutdown();
}

/// A client that follows `rel="next"` literally, as many ConnectWise clients do, reaches
/// the mock again and reads every record: the links carry the host and port the client
/// used, not `localhost` without a port.
#[tokio::test(flavor = "multi_thread")]
async fn following_next_links_literally_reads_every_page() {
    let wire = reader().await;
    let credentials = wire.credentials(crate::support::AI);
    let http = cw_conform::connectwise::http::client().expect("an HTTP client");
    let all = wire
        .get("/service/tickets")
        .query(&[("pageSize", "1000")])
        .send()
        .await
        .ids();
    let mut next = Some(format!(
        "{}/service/tickets?pageSize=2",
        wire.mock().api_url()
    ));
    let mut read = Vec::new();
    while let Some(url) = next.take() {
        let response = http
            .get(&url)
            .header("Authorization", credentials.authorization().expose())
            .header("clientId", "any")
            .send()
            .await
            .unwrap_or_else(|e| panic!("following {url}: {e}"));
        assert_eq!(response.status(), 200, "{url}");
        next = response
            .headers()
            .get("link")
            .and_then(|v| v.to_str().ok())
            .and_then(|link| {
                link.split(',')
                    .find(|part| part.contains("rel=\"next\""))
                    .and_then(|part| part.trim().strip_prefix('<'))
                    .and_then(|part| part.split_once('>'))
                    .map(|(url, _)| url.to_owned())
            });
        let page: Vec<serde_json::Value> = response.json().await.unwrap();
        read.extend(page.iter().filter_map(|r| r["id"].as_i64()));
        assert!(read.len() <= all.len(), "the links go round in circles");
    }
    assert_eq!(read, all);
    wire.shutdown();
}
