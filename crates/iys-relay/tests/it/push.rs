//! İYS's push against the sandbox over real HTTP: the relay registers its address with
//! credentials of its own, İYS's test record is taken and left aside, a citizen's refusal made
//! in İYS arrives by push and is applied once although the pull brings it too, and a push
//! without the credentials is refused.

use std::time::Duration;

use consent_core::{Channel, ConsentStatus, RecipientType};
use serde_json::{Value, json};

use crate::both_backends;
use crate::forwarding::{forwarder_with, sandbox_get, sandbox_post, schema, settle, start_sandbox};
use crate::support::{Backend, TestDatabase, TestRelay, batch, config, record};

async fn a_refusal_made_in_iys_arrives_by_push_and_is_applied_once(backend: Backend) {
    let iys = start_sandbox().await;
    let database = TestDatabase::new(backend).await;
    let mut settings = config(&database.url);
    settings.iys.iys_code = Some(123_456);
    settings.iys.brand_code = Some(123_456);
    let relay = TestRelay::start_with(database, settings).await;
    let forwarder = forwarder_with(&relay.store, &iys, Duration::from_secs(10), 100);

    assert!(forwarder.register_push(&relay.base).await.unwrap());
    assert!(
        !forwarder.register_push(&relay.base).await.unwrap(),
        "the same address is registered once"
    );
    let log = sandbox_get(&iys, "/sandbox/log").await;
    let registrations = log["pushRegistrations"].as_array().unwrap();
    assert_eq!(registrations.len(), 1);
    let registration = &registrations[0];
    assert!(
        schema::push_registration_validator().is_valid(registration),
        "{registration}"
    );
    let connections = registration["connection"].as_array().unwrap();
    let mut types: Vec<&str> = connections
        .iter()
        .map(|connection| connection["type"].as_str().unwrap())
        .collect();
    types.sort_unstable();
    assert_eq!(types, ["ARAMA", "EPOSTA", "MESAJ"]);
    for connection in connections {
        assert_eq!(connection["url"], format!("{}/v1/iys/push", relay.base));
        assert!(connection["password"].as_str().unwrap().len() >= 32);
    }
    // İYS's test record, for an account that is nobody's, was taken and left aside.
    assert_eq!(relay.count("iys_movements").await, 0);

    let (status, _) = relay
        .post(&batch(vec![record("sms", "0532 123 45 67", "granted")]))
        .await;
    assert_eq!(status, 200);
    settle(&[&forwarder], &relay.store, Duration::from_secs(20)).await;

    // The citizen texts RET to 3338, a second later (İYS's dates have seconds): İYS pushes it
    // at once.
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let movement = sandbox_post(
        &iys,
        "/sandbox/citizen",
        json!({"recipient": "+905321234567", "type": "MESAJ", "recipientType": "BIREYSEL", "status": "RET"}),
    )
    .await;
    let started = std::time::Instant::now();
    while relay.count("iys_movements").await == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "no push arrived"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let log = sandbox_get(&iys, "/sandbox/log").await;
    assert_eq!(log["pushes"][0]["status"], 200, "{log}");
    assert_eq!(log["pushes"][0]["transactionId"], movement["transactionId"]);
    let state = relay
        .store
        .current_state(
            &[(Channel::Sms, "+905321234567".to_owned())],
            RecipientType::Individual,
        )
        .await
        .unwrap();
    assert_eq!(state[0].status, ConsentStatus::Rejected);

    // The pull brings the same movement: applied once.
    assert_eq!(forwarder.pull_once().await.unwrap(), 0);
    assert_eq!(relay.count("iys_movements").await, 1);

    // A push without the registered credentials is refused, and changes nothing.
    let forged = json!({"list": [{
        "iysCode": 123_456, "brandCode": 123_456, "consentDate": "2026-12-01 10:00:00",
        "creationDate": "2026-12-01 10:00:01", "source": "IYS_MOBIL", "recipient": "+905320000000",
        "recipientType": "BIREYSEL", "status": "RET", "type": "MESAJ",
        "transactionId": "f".repeat(64)
    }]});
    let client = reqwest::Client::new();
    for user in [None, Some(("iys-relay-00000000", "wrong"))] {
        let mut request = client
            .post(format!("{}/v1/iys/push", relay.base))
            .json(&forged);
        if let Some((name, password)) = user {
            request = request.basic_auth(name, Some(password));
        }
        let answer = request.send().await.unwrap();
        assert_eq!(answer.status().as_u16(), 401);
        assert!(answer.headers().contains_key("www-authenticate"));
        let body: Value = answer.json().await.unwrap();
        assert_eq!(body["code"], "unauthorized");
        crate::support::assert_matches_openapi("/v1/iys/push", "post", 401, &body);
    }
    assert_eq!(relay.count("iys_movements").await, 1);
    assert_eq!(relay.store.verify().await.unwrap().problem, None);
}
both_backends!(
    push,
    a_refusal_made_in_iys_arrives_by_push_and_is_applied_once
);
