//! Sandbox cleanup against the in-process mock playing a customer's sandbox: only records
//! this run created, re-read and still carrying its exact mark, are deleted; a create whose
//! answer never came is found by its mark; records that merely quote the mark, or carry
//! another run's token, are never touched.

use std::sync::Arc;
use std::time::Duration;

use cw_conform::cleanup;
use cw_conform::connectwise::{Client, ClientError, Credentials};
use cw_conform::ledger::{Ledger, LedgerGate};
use cw_conform::mock::{ApiMember, MockConfig, MockConnectWise};
use cw_conform::target::Sandbox;
use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{AI, fixtures, role};

/// A mock playing the customer's sandbox, the sandbox settings that point at it, and a
/// fresh run ledger.
struct Customer {
    mock: MockConnectWise,
    sandbox: Sandbox,
    ledger: Arc<Ledger>,
    _dir: crate::support::Scratch,
}

impl Customer {
    async fn start(delay: Option<Duration>) -> Self {
        let config = MockConfig {
            members: vec![ApiMember::with_role(AI, role("full-access"))],
            delay,
            ..MockConfig::default()
        };
        let mock = MockConnectWise::start(fixtures(), config).await;
        let credentials = mock.credentials_for(AI).unwrap();
        let vars = [
            ("CONNECTWISE_SITE", mock.site()),
            ("CONNECTWISE_COMPANY_ID", credentials.company_id.clone()),
            ("CONNECTWISE_PUBLIC_KEY", credentials.public_key.clone()),
            (
                "CONNECTWISE_PRIVATE_KEY",
                credentials.private_key.expose().to_owned(),
            ),
            ("CONNECTWISE_CLIENT_ID", "any-client".to_owned()),
            ("CONNECTWISE_REQUESTS_PER_MINUTE", "900".to_owned()),
        ];
        let sandbox = Sandbox::from_vars(&|name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.clone())
        })
        .unwrap();
        let dir = crate::support::Scratch::new("cleanup");
        let ledger = Arc::new(Ledger::create(&dir.0, &sandbox.site, &sandbox.company_id).unwrap());
        Customer {
            mock,
            sandbox,
            ledger,
            _dir: dir,
        }
    }

    fn credentials(&self) -> Credentials {
        self.sandbox.credentials("least-privilege").unwrap()
    }

    /// A client as a scenario has it: through the run's ledger gate.
    fn gated(&self, timeout: Duration) -> Client {
        let gate = LedgerGate::new(Arc::clone(&self.ledger), "least-privilege", 1, false);
        Client::with_timeout(self.credentials(), timeout)
            .unwrap()
            .with_gate(Arc::new(gate))
    }

    /// A client as the customer's own staff have it: no gate.
    fn staff(&self) -> Client {
        Client::new(self.credentials()).unwrap()
    }

    async fn create_contact(&self, client: &Client, last_name: &str) -> Result<i64, ClientError> {
        let body = json!({"firstName": "Pat", "lastName": last_name, "company": {"id": 2}});
        let response = client
            .send(Method::POST, "/company/contacts", &[], Some(&body))
            .await?;
        assert_eq!(response.status, 201, "{}", response.body);
        Ok(response.body["id"].as_i64().unwrap())
    }

    fn contacts_named(&self, needle: &str) -> Vec<Value> {
        self.mock
            .records("contacts")
            .into_iter()
            .filter(|c| c["lastName"].as_str().is_some_and(|n| n.contains(needle)))
            .collect()
    }
}

#[tokio::test]
async fn a_create_whose_answer_never_came_is_found_by_its_mark_and_removed() {
    // Every answer takes 400 ms; the scenario's client gives up after 100 ms, after the
    // mock has made the record.
    let customer = Customer::start(Some(Duration::from_millis(400))).await;
    let staff = customer.staff();
    let quoting = customer
        .create_contact(&staff, "[cw-conform] quoted by a customer")
        .await
        .unwrap();
    let other_run = customer
        .create_contact(&staff, "[cw-conform 0123456789abcdef.1] another run's")
        .await
        .unwrap();
    let mark = customer.ledger.next_mark();
    let gated = customer.gated(Duration::from_millis(100));
    let timed_out = customer
        .create_contact(&gated, &format!("{mark} Smith"))
        .await;
    assert!(
        matches!(timed_out, Err(ClientError::Timeout { .. })),
        "{timed_out:?}"
    );
    // Wait out the answer the client gave up on; the record exists on ConnectWise.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(customer.contacts_named(&mark).len(), 1);
    assert_eq!(customer.ledger.state().pending().len(), 1);

    let left = cleanup::clean(&customer.sandbox, &customer.ledger, None).await;

    assert_eq!(left, Vec::new());
    assert!(customer.ledger.state().is_clean());
    assert_eq!(customer.contacts_named(&mark), Vec::<Value>::new());
    assert!(customer.mock.record("contacts", quoting).is_some());
    assert!(customer.mock.record("contacts", other_run).is_some());
    let deletes: Vec<String> = customer
        .mock
        .journal()
        .iter()
        .filter(|e| e.method == "DELETE")
        .map(|e| e.path.clone())
        .collect();
    assert_eq!(deletes.len(), 1, "only the run's own contact: {deletes:?}");
}

#[tokio::test]
async fn a_record_that_no_longer_carries_the_runs_mark_is_listed_not_deleted() {
    let customer = Customer::start(None).await;
    let mark = customer.ledger.next_mark();
    let gated = customer.gated(Duration::from_secs(10));
    let id = customer
        .create_contact(&gated, &format!("{mark} Smith"))
        .await
        .unwrap();
    // Someone on the customer's side takes the record over.
    let patch = json!([{"op": "replace", "path": "lastName", "value": "Smith (kept by staff)"}]);
    let response = customer
        .staff()
        .send(
            Method::PATCH,
            &format!("/company/contacts/{id}"),
            &[],
            Some(&patch),
        )
        .await
        .unwrap();
    assert_eq!(response.status, 200);

    let left = cleanup::clean(&customer.sandbox, &customer.ledger, None).await;

    assert_eq!(left.len(), 1, "{left:?}");
    assert_eq!(left[0].id, Some(id));
    assert!(
        left[0].reason.contains("no longer carries the mark"),
        "{}",
        left[0]
    );
    assert!(
        customer.mock.record("contacts", id).is_some(),
        "it was deleted"
    );
    assert!(
        !customer.ledger.finish_if_clean(),
        "the ledger still lists it"
    );
}

#[tokio::test]
async fn the_gate_sends_nothing_to_records_the_run_did_not_create() {
    let customer = Customer::start(None).await;
    let gated = customer.gated(Duration::from_secs(10));
    let before = customer.mock.journal().len();
    for (method, path, body) in [
        (Method::DELETE, "/company/contacts/2", None),
        (Method::PATCH, "/service/tickets/1001", Some(json!([]))),
        (
            Method::PUT,
            "/company/companies/2",
            Some(json!({"name": "x"})),
        ),
        (
            Method::POST,
            "/service/tickets/1001/notes",
            Some(json!({"text": customer.ledger.next_mark()})),
        ),
        (
            Method::POST,
            "/company/contacts",
            Some(json!({"lastName": "[cw-conform] unmarked by this run"})),
        ),
    ] {
        let refused = gated.send(method.clone(), path, &[], body.as_ref()).await;
        assert!(
            matches!(refused, Err(ClientError::Refused { .. })),
            "{method} {path}: {refused:?}"
        );
    }
    assert_eq!(customer.mock.journal().len(), before, "something was sent");
}
