//! Forwarding to İYS, against the relay's own İYS sandbox over real HTTP. Every body the
//! forwarder sends is checked against İYS's official OpenAPI schema.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use consent_core::Timestamp;
use iys_relay::Store;
use iys_relay::clock::{Clock, system_clock};
use iys_relay::crypto::Keyring;
use iys_relay::forwarder::{Forwarder, ForwarderSettings, IysAccount};
use iys_relay::sandbox::{Sandbox, SandboxConfig, router};
use serde_json::{Value, json};

use crate::both_backends;
use crate::support::{Backend, DATA_KEY, RelayProcess, TestDatabase, record};

#[path = "../../../consent-core/tests/support/iys_schema.rs"]
pub mod schema;

/// A sandbox on a free port of 127.0.0.1, with results of batches at once and no pull lag.
pub async fn start_sandbox() -> String {
    let sandbox = Sandbox::new(SandboxConfig {
        batch_delay: Duration::from_millis(0),
        pull_lag: Duration::from_secs(0),
        ..SandboxConfig::default()
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address: SocketAddr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router(sandbox)).await.unwrap() });
    format!("http://{address}")
}

fn forwarder(store: &Store, base: &str, timeout: Duration) -> Forwarder {
    forwarder_with(store, base, timeout, 100)
}

pub fn forwarder_with(
    store: &Store,
    base: &str,
    timeout: Duration,
    batch_threshold: i64,
) -> Forwarder {
    forwarder_on(store, base, timeout, batch_threshold, system_clock())
}

fn forwarder_on(
    store: &Store,
    base: &str,
    timeout: Duration,
    batch_threshold: i64,
    clock: Clock,
) -> Forwarder {
    let account = IysAccount {
        base_url: base.to_owned(),
        username: "sandbox".to_owned(),
        password: "sandbox".to_owned(),
        iys_code: 123_456,
        brand_code: 123_456,
    };
    let settings = ForwarderSettings {
        request_timeout: timeout,
        pull_interval: Duration::from_secs(3_600),
        batch_threshold,
        batch_poll_delay: Duration::from_millis(0),
        ..ForwarderSettings::default()
    };
    Forwarder::new(store.clone(), account, settings, clock).unwrap()
}

/// A record as the relay stores it, decided at `at` (now by default).
fn new_consent(
    channel: &str,
    recipient: &str,
    status: &str,
    at: Option<Timestamp>,
) -> iys_relay::store::NewConsent {
    let mut value = record(channel, recipient, status);
    if let Some(at) = at {
        value["consentedAt"] = json!(at.to_rfc3339());
    }
    let wire: consent_core::contract::WireRecord = serde_json::from_value(value).unwrap();
    let record = consent_core::ConsentRecord::from_wire(&wire).unwrap();
    let at = record.consented_at();
    iys_relay::store::NewConsent {
        record,
        received_at: at,
        consent_date: consent_core::IysDateTime::from_instant(at),
        consent_date_origin: iys_relay::store::ConsentDateOrigin::Client,
        client_ip: None,
        registered: false,
    }
}

async fn open_store(backend: Backend) -> (TestDatabase, Store) {
    let database = TestDatabase::new(backend).await;
    let store = Store::open(&database.url, Keyring::new(&DATA_KEY, &[]), 8)
        .await
        .unwrap();
    (database, store)
}

/// Runs forwarding passes until nothing is pending, or fails after `within`.
pub async fn settle(forwarders: &[&Forwarder], store: &Store, within: Duration) {
    let started = std::time::Instant::now();
    loop {
        for forwarder in forwarders {
            forwarder.forward_once().await.unwrap();
        }
        let pending = store
            .records(None, None)
            .await
            .unwrap()
            .iter()
            .filter(|record| matches!(record.iys.state.as_str(), "pending" | "batched"))
            .count();
        if pending == 0 {
            return;
        }
        assert!(
            started.elapsed() < within,
            "{pending} records still pending"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub async fn sandbox_get(base: &str, path: &str) -> Value {
    reqwest::get(format!("{base}{path}"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

pub async fn sandbox_post(base: &str, path: &str, body: Value) -> Value {
    reqwest::Client::new()
        .post(format!("{base}{path}"))
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

fn outcome(
    store_records: &[iys_relay::store::StoredRecord],
    id: &str,
) -> (String, Option<String>, Option<String>) {
    let record = store_records
        .iter()
        .find(|record| record.plain.id == id)
        .unwrap();
    (
        record.iys.state.to_string(),
        record.iys.transaction_id.clone(),
        record.iys.error.clone(),
    )
}

async fn accepted_records_carry_the_transaction_and_bodies_fit_the_official_schema(
    backend: Backend,
) {
    let base = start_sandbox().await;
    let (_database, store) = open_store(backend).await;
    let records = [
        new_consent("sms", "0532 123 45 67", "granted", None),
        new_consent("call", "0212 123 00 00", "granted", None),
        new_consent("email", "Ali@Example.com", "granted", None),
    ];
    store.store_batch(&records).await.unwrap();
    let forwarder = forwarder(&store, &base, Duration::from_secs(5));
    settle(&[&forwarder], &store, Duration::from_secs(20)).await;
    let stored = store.records(None, None).await.unwrap();
    for record in &records {
        let (state, transaction, _) = outcome(&stored, &record.record.id().to_string());
        assert_eq!(state, "accepted");
        assert_eq!(transaction.unwrap().len(), 64);
    }
    let log = sandbox_get(&base, "/sandbox/log").await;
    let sent = log["requests"].as_array().unwrap();
    assert_eq!(sent.len(), 3);
    let validator = schema::consent_validator();
    for body in sent {
        let errors: Vec<String> = validator
            .iter_errors(body)
            .map(|error| error.to_string())
            .collect();
        assert!(errors.is_empty(), "{body}: {errors:?}");
    }
    assert!(
        sent.iter()
            .any(|body| body["recipient"] == "+905321234567" && body["type"] == "MESAJ")
    );
    assert!(
        sent.iter()
            .any(|body| body["recipient"] == "ali@example.com" && body["type"] == "EPOSTA")
    );
    assert_eq!(
        store.verify().await.unwrap().problem,
        None,
        "the outcomes are in the ledger"
    );
}
both_backends!(
    forward_accepts,
    accepted_records_carry_the_transaction_and_bodies_fit_the_official_schema
);

async fn movements_iys_would_refuse_are_settled_without_being_sent(backend: Backend) {
    let base = start_sandbox().await;
    let (_database, store) = open_store(backend).await;
    let now = Timestamp::from_unix_millis(system_clock()().unix_millis());
    let first_refusal = new_consent("email", "yeni@example.com", "rejected", None);
    let consent = new_consent(
        "sms",
        "0532 123 45 67",
        "granted",
        Some(now.add_millis(-10_000)),
    );
    let refusal = new_consent(
        "sms",
        "0532 123 45 67",
        "rejected",
        Some(now.add_millis(-5_000)),
    );
    let second_refusal = new_consent(
        "sms",
        "0532 123 45 67",
        "rejected",
        Some(now.add_millis(-2_000)),
    );
    store
        .store_batch(&[
            first_refusal.clone(),
            consent.clone(),
            refusal.clone(),
            second_refusal.clone(),
        ])
        .await
        .unwrap();
    let forwarder = forwarder(&store, &base, Duration::from_secs(5));
    settle(&[&forwarder], &store, Duration::from_secs(20)).await;
    let stored = store.records(None, None).await.unwrap();
    assert_eq!(
        outcome(&stored, &first_refusal.record.id().to_string()),
        ("skipped".to_owned(), None, Some("H175".to_owned()))
    );
    // Neither refusal was settled on the relay's own knowledge: İYS was asked first, and its
    // answers are kept as evidence.
    let evidence = |id: &str| {
        stored
            .iter()
            .find(|record| record.plain.id == id)
            .and_then(|record| record.iys.evidence.clone())
            .unwrap_or_else(|| panic!("no status evidence for {id}"))
    };
    let nothing = evidence(&first_refusal.record.id().to_string());
    assert_eq!((nothing.http_status, nothing.held), (404, None));
    let refused_there = evidence(&second_refusal.record.id().to_string());
    assert_eq!(refused_there.http_status, 200);
    assert_eq!(
        refused_there.held.map(|held| held.status),
        Some(consent_core::ConsentStatus::Rejected)
    );
    let queries = sandbox_get(&base, "/sandbox/log").await["statusQueries"].clone();
    let queries = queries.as_array().unwrap();
    assert_eq!(queries.len(), 2, "one status query per refusal to settle");
    let validator = schema::status_query_validator();
    for query in queries {
        let errors: Vec<String> = validator
            .iter_errors(query)
            .map(|error| error.to_string())
            .collect();
        assert!(errors.is_empty(), "{query}: {errors:?}");
    }
    assert_eq!(
        outcome(&stored, &consent.record.id().to_string()).0,
        "accepted"
    );
    assert_eq!(
        outcome(&stored, &refusal.record.id().to_string()).0,
        "accepted"
    );
    assert_eq!(
        outcome(&stored, &second_refusal.record.id().to_string()),
        ("skipped".to_owned(), None, Some("H174".to_owned()))
    );
    let sent = sandbox_get(&base, "/sandbox/log").await["requests"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(
        sent, 2,
        "only the consent and the first refusal went to İYS"
    );

    // A consent older than what İYS holds is superseded, never sent.
    let stale = new_consent(
        "sms",
        "0532 123 45 67",
        "granted",
        Some(now.add_millis(-60_000)),
    );
    store
        .store_batch(std::slice::from_ref(&stale))
        .await
        .unwrap();
    settle(&[&forwarder], &store, Duration::from_secs(10)).await;
    let stored = store.records(None, None).await.unwrap();
    assert_eq!(
        outcome(&stored, &stale.record.id().to_string()),
        ("superseded".to_owned(), None, Some("H178".to_owned()))
    );
    assert_eq!(
        sandbox_get(&base, "/sandbox/log").await["requests"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}
both_backends!(
    forward_rules,
    movements_iys_would_refuse_are_settled_without_being_sent
);

/// Signs in to the sandbox at `base` with its password, as İYS's token endpoint answers it.
async fn sandbox_sign_in(client: &reqwest::Client, base: &str) -> Value {
    client
        .post(format!("{base}/oauth2/token"))
        .json(&json!({"grant_type": "password", "username": "sandbox", "password": "sandbox"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Registers a consent in the sandbox through İYS's own API, as another of the shop's systems
/// (an older integration, a call centre) would, so that the relay knows nothing of it.
async fn register_elsewhere(base: &str, body: Value) {
    let client = reqwest::Client::new();
    let token = sandbox_sign_in(&client, base).await;
    let response = client
        .post(format!("{base}/v2/sps/123456/brands/123456/consents"))
        .bearer_auth(token["access_token"].as_str().unwrap())
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status().as_u16(),
        200,
        "{}",
        response.text().await.unwrap()
    );
}

async fn a_refusal_for_a_consent_registered_elsewhere_reaches_iys(backend: Backend) {
    let base = start_sandbox().await;
    let (_database, store) = open_store(backend).await;
    let now = system_clock()();
    register_elsewhere(
        &base,
        json!({"recipient": "+905321112233", "type": "MESAJ", "source": "HS_CAGRI_MERKEZI", "status": "ONAY", "consentDate": consent_core::IysDateTime::from_instant(now.add_millis(-60_000)).to_string(), "recipientType": "BIREYSEL"}),
    )
    .await;
    let refusal = new_consent(
        "sms",
        "0532 111 22 33",
        "rejected",
        Some(now.add_millis(-5_000)),
    );
    store
        .store_batch(std::slice::from_ref(&refusal))
        .await
        .unwrap();
    let forwarder = forwarder(&store, &base, Duration::from_secs(5));
    settle(&[&forwarder], &store, Duration::from_secs(20)).await;
    let stored = store.records(None, None).await.unwrap();
    let (state, transaction, _) = outcome(&stored, &refusal.record.id().to_string());
    assert_eq!(state, "accepted", "the refusal went to İYS");
    assert_eq!(transaction.unwrap().len(), 64);
    let evidence = stored[0].iys.evidence.clone().unwrap();
    assert_eq!(
        evidence.held.map(|held| held.status),
        Some(consent_core::ConsentStatus::Granted),
        "the status answer that made the relay send is kept"
    );
    let log = sandbox_get(&base, "/sandbox/log").await;
    let sent = log["requests"].as_array().unwrap();
    let last = sent.last().unwrap();
    assert_eq!(
        (last["recipient"].as_str(), last["status"].as_str()),
        (Some("+905321112233"), Some("RET"))
    );
    let validator = schema::consent_validator();
    assert!(validator.is_valid(last), "{last}");
    assert!(
        schema::status_query_validator().is_valid(&log["statusQueries"][0]),
        "{}",
        log["statusQueries"][0]
    );
    assert_eq!(store.verify().await.unwrap().problem, None);
}
both_backends!(
    refusal_elsewhere,
    a_refusal_for_a_consent_registered_elsewhere_reaches_iys
);

/// A record of `recipient_type` decided at `at`.
fn typed_consent(
    channel: &str,
    recipient: &str,
    status: &str,
    recipient_type: &str,
    at: Timestamp,
) -> iys_relay::store::NewConsent {
    let mut consent = new_consent(channel, recipient, status, Some(at));
    let mut wire = record(channel, recipient, status);
    wire["consentedAt"] = json!(at.to_rfc3339());
    wire["recipientType"] = json!(recipient_type);
    consent.record =
        consent_core::ConsentRecord::from_wire(&serde_json::from_value(wire).unwrap()).unwrap();
    consent
}

async fn a_merchant_is_registered_in_iys_as_tacir_beside_the_individual(backend: Backend) {
    let base = start_sandbox().await;
    let (_database, store) = open_store(backend).await;
    let now = system_clock()();
    let forwarder = forwarder(&store, &base, Duration::from_secs(5));
    // One number, as a person and as their business: İYS keeps the two apart.
    let merchant = typed_consent(
        "sms",
        "0535 777 88 99",
        "granted",
        "merchant",
        now.add_millis(-90_000),
    );
    let person = typed_consent(
        "sms",
        "0535 777 88 99",
        "granted",
        "individual",
        now.add_millis(-80_000),
    );
    store.store_batch(&[merchant, person]).await.unwrap();
    settle(&[&forwarder], &store, Duration::from_secs(20)).await;
    // The business refuses later; the person's consent stands.
    let refusal = typed_consent(
        "sms",
        "0535 777 88 99",
        "rejected",
        "merchant",
        now.add_millis(-10_000),
    );
    store
        .store_batch(std::slice::from_ref(&refusal))
        .await
        .unwrap();
    settle(&[&forwarder], &store, Duration::from_secs(20)).await;
    let stored = store.records(None, None).await.unwrap();
    assert!(
        stored
            .iter()
            .all(|record| record.iys.state.as_str() == "accepted"),
        "{stored:?}"
    );
    let log = sandbox_get(&base, "/sandbox/log").await;
    let sent = log["requests"].as_array().unwrap();
    let validator = schema::consent_validator();
    for body in sent {
        assert!(validator.is_valid(body), "{body}");
    }
    let kinds: Vec<(&str, &str)> = sent
        .iter()
        .map(|body| {
            (
                body["recipientType"].as_str().unwrap(),
                body["status"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [("TACIR", "ONAY"), ("BIREYSEL", "ONAY"), ("TACIR", "RET")]
    );
    // İYS's status query: the merchant refused, the person consenting.
    let client = reqwest::Client::new();
    let token = sandbox_sign_in(&client, &base).await;
    let access = token["access_token"].as_str().unwrap().to_owned();
    for (kind, status) in [("TACIR", "RET"), ("BIREYSEL", "ONAY")] {
        let held: Value = client
            .post(format!("{base}/sps/123456/brands/123456/consents/status"))
            .bearer_auth(&access)
            .json(&json!({"recipient": "+905357778899", "type": "MESAJ", "recipientType": kind}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(held["status"], status, "{kind}: {held}");
    }
    assert_eq!(store.verify().await.unwrap().problem, None);
}
both_backends!(
    merchant_tacir,
    a_merchant_is_registered_in_iys_as_tacir_beside_the_individual
);

async fn a_refusal_past_its_window_is_sent_dated_now_and_marked_late(backend: Backend) {
    let base = start_sandbox().await;
    let (_database, store) = open_store(backend).await;
    // The forwarder's clock and the sandbox's move forward together, as days pass.
    let offset = Arc::new(AtomicI64::new(0));
    let clock: Clock = {
        let offset = Arc::clone(&offset);
        Arc::new(move || system_clock()().add_millis(offset.load(Ordering::SeqCst)))
    };
    let forwarder = forwarder_on(
        &store,
        &base,
        Duration::from_secs(5),
        100,
        Arc::clone(&clock),
    );
    let start = clock();
    let consent = new_consent(
        "email",
        "gec@example.com",
        "granted",
        Some(start.add_millis(-60_000)),
    );
    store
        .store_batch(std::slice::from_ref(&consent))
        .await
        .unwrap();
    settle(&[&forwarder], &store, Duration::from_secs(20)).await;
    // The refusal is taken now, but the relay cannot reach İYS for twelve days.
    let refusal = new_consent(
        "email",
        "gec@example.com",
        "rejected",
        Some(start.add_millis(-1_000)),
    );
    store
        .store_batch(std::slice::from_ref(&refusal))
        .await
        .unwrap();
    let days = 12 * 86_400;
    offset.store(days * 1_000, Ordering::SeqCst);
    sandbox_post(&base, "/sandbox/clock", json!({"advanceSeconds": days})).await;
    settle(&[&forwarder], &store, Duration::from_secs(20)).await;
    let stored = store.records(None, None).await.unwrap();
    let record = stored
        .iter()
        .find(|record| record.plain.id == refusal.record.id().to_string())
        .unwrap();
    assert_eq!(
        record.iys.state.as_str(),
        "accepted",
        "a late refusal still reaches İYS"
    );
    assert!(record.iys.late);
    assert_eq!(
        record.plain.consent_date,
        refusal.consent_date.to_string(),
        "the record keeps its own date"
    );
    let sent_date = record.iys.sent_date.clone().unwrap();
    let sent_at = consent_core::IysDateTime::parse(&sent_date)
        .unwrap()
        .to_instant();
    let moved = clock();
    assert!(
        (moved.unix_millis() - sent_at.unix_millis()).abs() < 60_000,
        "sent dated at the moment of sending: {sent_date}"
    );
    let log = sandbox_get(&base, "/sandbox/log").await;
    let last = log["requests"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["status"], "RET");
    assert_eq!(last["consentDate"], sent_date);
    assert!(schema::consent_validator().is_valid(&last), "{last}");
    assert_eq!(store.verify().await.unwrap().problem, None);
}
both_backends!(
    late_refusal,
    a_refusal_past_its_window_is_sent_dated_now_and_marked_late
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_past_the_deadline_is_marked_not_sent() {
    let base = start_sandbox().await;
    let (_database, store) = open_store(Backend::Sqlite).await;
    let old = new_consent(
        "sms",
        "0532 123 45 67",
        "granted",
        Some(system_clock()().add_millis(-12 * 86_400_000)),
    );
    store.store_batch(std::slice::from_ref(&old)).await.unwrap();
    let forwarder = forwarder(&store, &base, Duration::from_secs(5));
    settle(&[&forwarder], &store, Duration::from_secs(10)).await;
    let stored = store.records(None, None).await.unwrap();
    assert_eq!(
        outcome(&stored, &old.record.id().to_string()),
        ("missed_deadline".to_owned(), None, Some("H467".to_owned()))
    );
    assert_eq!(
        sandbox_get(&base, "/sandbox/log").await["requests"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_and_lost_answers_end_with_each_record_accepted_once() {
    let base = start_sandbox().await;
    let (_database, store) = open_store(Backend::Sqlite).await;
    sandbox_post(
        &base,
        "/sandbox/faults",
        json!(["500", "503", "429", "lost", "timeout"]),
    )
    .await;
    let records: Vec<_> = ["0532 111 11 11", "0532 222 22 22", "0532 333 33 33"]
        .iter()
        .map(|phone| new_consent("sms", phone, "granted", None))
        .collect();
    store.store_batch(&records).await.unwrap();
    let forwarder = forwarder(&store, &base, Duration::from_secs(1));
    // Back-off after failures: make the records due again at once instead of waiting.
    let started = std::time::Instant::now();
    loop {
        forwarder.forward_once().await.unwrap();
        sqlx::query("UPDATE consents SET iys_next_at_ms = 0 WHERE iys_state = 'pending'")
            .execute(store.pool())
            .await
            .unwrap();
        let pending = store
            .records(None, None)
            .await
            .unwrap()
            .iter()
            .filter(|record| record.iys.state.as_str() == "pending")
            .count();
        if pending == 0 {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(40), "still pending");
    }
    let stored = store.records(None, None).await.unwrap();
    let mut transactions = std::collections::HashSet::new();
    for record in &records {
        let (state, transaction, _) = outcome(&stored, &record.record.id().to_string());
        assert_eq!(state, "accepted");
        transactions.insert(transaction.unwrap());
    }
    assert_eq!(transactions.len(), 3);
    let log = sandbox_get(&base, "/sandbox/log").await;
    assert_eq!(log["held"], 3, "İYS holds each address once");
    // The lost answer was retried with the very same body, which V2 answers with the same
    // transaction instead of a second registration.
    let bodies: Vec<String> = log["requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(Value::to_string)
        .collect();
    let distinct: std::collections::HashSet<&String> = bodies.iter().collect();
    assert_eq!(distinct.len(), 3);
}

async fn two_relays_share_the_rate_and_send_each_record_once(backend: Backend) {
    let base = start_sandbox().await;
    let (_database, store) = open_store(backend).await;
    let records: Vec<_> = (0..40)
        .map(|index| {
            new_consent(
                "email",
                &format!("kisi{index}@example.com"),
                "granted",
                None,
            )
        })
        .collect();
    store.store_batch(&records).await.unwrap();
    let first = forwarder(&store, &base, Duration::from_secs(5));
    let second = forwarder(&store, &base, Duration::from_secs(5));
    let started = std::time::Instant::now();
    let first_only = [&first];
    let second_only = [&second];
    tokio::join!(
        settle(&first_only, &store, Duration::from_secs(30)),
        settle(&second_only, &store, Duration::from_secs(30))
    );
    let elapsed = started.elapsed();
    let log = sandbox_get(&base, "/sandbox/log").await;
    assert_eq!(
        log["rateLimited"], 0,
        "the sandbox never had to refuse a request for its rate"
    );
    assert_eq!(
        log["requests"].as_array().unwrap().len(),
        40,
        "two relays sent each record once"
    );
    // 40 requests at most 8 to a calendar second fill at least five seconds, so they span more
    // than three whole seconds however the first one falls.
    assert!(
        elapsed > Duration::from_secs(3),
        "40 records at 8 a second took only {elapsed:?}"
    );
}
both_backends!(
    two_relays,
    two_relays_share_the_rate_and_send_each_record_once
);

async fn a_refusal_made_in_iys_reaches_the_preference_centre(backend: Backend) {
    let base = start_sandbox().await;
    let (_database, store) = open_store(backend).await;
    let consent = new_consent("sms", "0532 123 45 67", "granted", None);
    store.store_batch(&[consent]).await.unwrap();
    let forwarder = forwarder(&store, &base, Duration::from_secs(5));
    settle(&[&forwarder], &store, Duration::from_secs(10)).await;
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    sandbox_post(&base, "/sandbox/citizen", json!({"recipient": "+905321234567", "type": "MESAJ", "recipientType": "BIREYSEL", "status": "RET"})).await;
    assert_eq!(forwarder.pull_once().await.unwrap(), 1);
    assert_eq!(
        forwarder.pull_once().await.unwrap(),
        0,
        "the cursor moved on"
    );
    let states = store
        .current_state(
            &[(consent_core::Channel::Sms, "+905321234567".to_owned())],
            consent_core::RecipientType::Individual,
        )
        .await
        .unwrap();
    assert_eq!(states[0].status, consent_core::ConsentStatus::Rejected);
    // A later consent from the shop is sent over İYS's refusal.
    let again = new_consent(
        "sms",
        "0532 123 45 67",
        "granted",
        Some(system_clock()().add_millis(1_000)),
    );
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    store
        .store_batch(std::slice::from_ref(&again))
        .await
        .unwrap();
    settle(&[&forwarder], &store, Duration::from_secs(10)).await;
    let stored = store.records(None, None).await.unwrap();
    assert_eq!(
        outcome(&stored, &again.record.id().to_string()).0,
        "accepted"
    );
}
both_backends!(
    pull_refusal,
    a_refusal_made_in_iys_reaches_the_preference_centre
);

/// The sandbox serves İYS's daily change file with İYS's columns and rules: every movement of
/// a past day, the relay's and the citizens', as the core reads it; 204 for a day without one
/// or not over yet; H501 for a date not written `YYYY-MM-DD`; H502 past seven days.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sandbox_serves_the_daily_change_file_with_iys_rules() {
    use consent_core::iys::wire::{DailyChange, IysPaths, IysStatus};
    use consent_core::time::{CivilDate, TurkeyTime};
    let base = start_sandbox().await;
    // The sandbox's day starts at noon, so that every movement of the test falls on one day.
    let second_of_day = i64::from(TurkeyTime::at(system_clock()()).second_of_day());
    let to_noon = (12 * 3_600 - second_of_day).rem_euclid(86_400);
    sandbox_post(&base, "/sandbox/clock", json!({"advanceSeconds": to_noon})).await;
    let (_database, store) = open_store(Backend::Sqlite).await;
    let consents = [
        new_consent("sms", "0532 444 55 66", "granted", None),
        new_consent("email", "gunluk@example.com", "granted", None),
    ];
    store.store_batch(&consents).await.unwrap();
    let forwarder = forwarder(&store, &base, Duration::from_secs(5));
    settle(&[&forwarder], &store, Duration::from_secs(20)).await;
    sandbox_post(
        &base,
        "/sandbox/citizen",
        json!({"recipient": "+905324445566", "type": "MESAJ", "recipientType": "BIREYSEL", "status": "RET"}),
    )
    .await;
    let stored = store.records(None, None).await.unwrap();
    // Every movement so far was registered on the sandbox's today.
    let day = CivilDate::parse_iso(&stored[0].iys.creation_date.clone().unwrap()[..10]).unwrap();
    let paths = IysPaths::new(123_456, 123_456);
    let client = reqwest::Client::new();
    let fetch = async |path: String| {
        let token = sandbox_sign_in(&client, &base).await;
        let response = client
            .get(format!("{base}{path}"))
            .bearer_auth(token["access_token"].as_str().unwrap())
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let kind = response
            .headers()
            .get("content-type")
            .map(|value| value.to_str().unwrap().to_owned());
        (status, kind, response.text().await.unwrap())
    };
    let (status, _, _) = fetch(paths.daily_file(day)).await;
    assert_eq!(status, 204, "the day is not over: no file yet");
    sandbox_post(&base, "/sandbox/clock", json!({"advanceSeconds": 86_400})).await;
    let (status, kind, body) = fetch(paths.daily_file(day)).await;
    assert_eq!(status, 200);
    assert!(kind.unwrap().starts_with("text/csv"));
    assert!(body.ends_with('\n'));
    let changes = DailyChange::parse_file(&body).unwrap();
    assert_eq!(changes.len(), 3, "the two adds and the citizen's refusal");
    let mut order: Vec<(String, String)> = changes
        .iter()
        .map(|change| (change.creation_date.clone(), change.transaction_id.clone()))
        .collect();
    let listed = order.clone();
    order.sort();
    assert_eq!(listed, order, "sorted by creation date, then transaction");
    for record in &stored {
        let transaction = record.iys.transaction_id.clone().unwrap();
        let change = changes
            .iter()
            .find(|change| change.transaction_id == transaction)
            .expect("every accepted record is in the file");
        assert_eq!(change.recipient, record.plain.recipient);
        assert_eq!(change.status, IysStatus::Granted);
    }
    assert!(
        changes
            .iter()
            .any(|change| change.status == IysStatus::Rejected
                && change.recipient == "+905324445566")
    );
    let (status, _, _) = fetch(paths.daily_file(day.add_days(-1))).await;
    assert_eq!(status, 204, "a day without movements has no file");
    let today = day.add_days(1);
    let (status, _, body) = fetch(paths.daily_file(today.add_days(-8))).await;
    assert_eq!((status, body.contains("H502")), (422, true));
    let (status, _, body) = fetch(paths.daily_file(today.add_days(-7))).await;
    assert!(status == 204 || status == 200, "{status} {body}");
    let (status, _, body) =
        fetch(paths.daily_file(day).replace(&day.to_string(), "2026-1-5")).await;
    assert_eq!((status, body.contains("H501")), (422, true));
}

/// Runs `iys-relay reconcile` against the sandbox at `base` for `day`.
fn reconcile_command(database_url: &str, base: &str, day: &str) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_iys-relay"))
        .args(["reconcile", "--date", day])
        .env("DATABASE_URL", database_url)
        .env("RELAY_DATA_KEY", crate::support::base64_key(&DATA_KEY))
        .env("RELAY_LOG", "warn")
        .env("IYS_BASE_URL", base)
        .env("IYS_USERNAME", "sandbox")
        .env("IYS_PASSWORD", "sandbox")
        .env("IYS_CODE", "123456")
        .env("IYS_BRAND_CODE", "123456")
        .output()
        .unwrap()
}

/// Reconciling a day with İYS's daily change file applies the refusal a citizen made in İYS
/// that the pull missed, waits with a movement for an address whose own record is still on its
/// way, agrees once all is applied, and leaves for a person a record the relay holds as accepted
/// that İYS does not list; a day not over, or without a file although records were accepted,
/// decides nothing; `iys-relay reconcile` exits 0 or 1 accordingly.
async fn reconciliation_applies_what_the_relay_missed_and_flags_what_iys_does_not_list(
    backend: Backend,
) {
    use consent_core::time::{CivilDate, TurkeyTime};
    let base = start_sandbox().await;
    // Everything happens yesterday, Turkish time: the consents at 11:00, İYS's registrations
    // from noon on (the sandbox's clock is set back to then), so the day is over for the relay
    // and for the command alike.
    let now = system_clock()();
    let today = TurkeyTime::at(now).date();
    let day = today.add_days(-1);
    let at = |second: u32| TurkeyTime::new(day, second).unwrap().to_instant().unwrap();
    let back = (at(12 * 3_600).unix_millis() - now.unix_millis()) / 1_000;
    sandbox_post(&base, "/sandbox/clock", json!({"advanceSeconds": back})).await;
    let (database, store) = open_store(backend).await;
    let consents = [
        new_consent("sms", "0532 777 66 55", "granted", Some(at(11 * 3_600))),
        new_consent(
            "email",
            "mutabakat@example.com",
            "granted",
            Some(at(11 * 3_600)),
        ),
    ];
    store.store_batch(&consents).await.unwrap();
    let forwarder = forwarder(&store, &base, Duration::from_secs(5));
    settle(&[&forwarder], &store, Duration::from_secs(20)).await;
    // A refusal made in İYS that the relay never pulled, and one for an address whose own
    // record the relay has not sent yet.
    for number in ["+905327776655", "+905327770000"] {
        sandbox_post(
            &base,
            "/sandbox/citizen",
            json!({"recipient": number, "type": "MESAJ", "recipientType": "BIREYSEL", "status": "RET"}),
        )
        .await;
    }
    let unsent = new_consent("sms", "0532 777 00 00", "granted", Some(at(11 * 3_600)));
    store
        .store_batch(std::slice::from_ref(&unsent))
        .await
        .unwrap();
    let stored = store.records(None, None).await.unwrap();
    assert_eq!(
        CivilDate::parse_iso(&stored[0].iys.creation_date.clone().unwrap()[..10]),
        Some(day)
    );
    let error = forwarder.reconcile(today).await.unwrap_err();
    assert!(error.contains("not over"), "{error}");
    // The sandbox's day ends: its file of yesterday is written.
    sandbox_post(&base, "/sandbox/clock", json!({"advanceSeconds": 86_400})).await;
    let state = async |number: &str| {
        store
            .current_state(
                &[(consent_core::Channel::Sms, number.to_owned())],
                consent_core::RecipientType::Individual,
            )
            .await
            .unwrap()[0]
            .status
    };
    assert_eq!(
        state("+905327776655").await,
        consent_core::ConsentStatus::Granted
    );

    let report = forwarder.reconcile(day).await.unwrap();
    assert_eq!(
        (
            report.listed,
            report.known,
            report.applied,
            report.waiting,
            report.deferred
        ),
        (4, 2, 1, 0, 1)
    );
    assert!(
        !report.is_complete() && report.unlisted.is_empty(),
        "{report:?}"
    );
    assert_eq!(
        state("+905327776655").await,
        consent_core::ConsentStatus::Rejected,
        "the refusal made in İYS applies"
    );
    assert!(
        !store.is_reconciled(&day.to_string()).await.unwrap(),
        "an incomplete day is done again"
    );
    // The unsent record settles; the day is then decided in full.
    settle(&[&forwarder], &store, Duration::from_secs(20)).await;
    let report = forwarder.reconcile(day).await.unwrap();
    assert_eq!((report.known, report.applied, report.deferred), (3, 1, 0));
    assert!(report.agrees(), "{report:?}");
    assert!(store.is_reconciled(&day.to_string()).await.unwrap());
    assert_eq!(store.verify().await.unwrap().problem, None);
    let again = forwarder.reconcile(day).await.unwrap();
    assert_eq!(
        (again.known, again.applied),
        (4, 0),
        "nothing is applied twice"
    );
    let output = reconcile_command(&database.url, &base, &day.to_string());
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("agree"));

    // İYS with no file of the day, although the relay holds records it accepted: nothing is
    // decided.
    let empty = start_sandbox().await;
    let elsewhere = forwarder_with(&store, &empty, Duration::from_secs(5), 100);
    let error = elsewhere.reconcile(day).await.unwrap_err();
    assert!(error.contains("no daily change file"), "{error}");

    // The relay holds the e-mail consent as accepted under a transaction İYS does not list.
    let email = consents[1].record.id().to_string();
    let pool = sqlx::AnyPool::connect(&database.url).await.unwrap();
    sqlx::query("UPDATE consents SET iys_transaction_id = $1 WHERE id = $2")
        .bind("f".repeat(64))
        .bind(email.clone())
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    let report = forwarder.reconcile(day).await.unwrap();
    assert_eq!(report.unlisted, [(email.clone(), "f".repeat(64))]);
    assert!(!report.agrees());
    let output = reconcile_command(&database.url, &base, &day.to_string());
    assert_eq!(output.status.code(), Some(1));
    let printed = String::from_utf8_lossy(&output.stdout);
    assert!(printed.contains(&email), "{printed}");
    assert!(!printed.contains("mutabakat@"), "no address is printed");
}
both_backends!(
    reconcile_daily_file,
    reconciliation_applies_what_the_relay_missed_and_flags_what_iys_does_not_list
);

/// İYS's rules, asked of the sandbox directly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sandbox_answers_status_queries_with_iys_rules_and_limit() {
    let base = start_sandbox().await;
    let client = reqwest::Client::new();
    let token = sandbox_sign_in(&client, &base).await;
    let access = token["access_token"].as_str().unwrap().to_owned();
    let ask = async |body: Value| {
        let response = client
            .post(format!("{base}/sps/123456/brands/123456/consents/status"))
            .bearer_auth(&access)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        (
            status,
            body["errors"][0]["code"].as_str().unwrap_or("").to_owned(),
            body,
        )
    };
    let query = json!({"recipient": "+905321234567", "recipientType": "BIREYSEL", "type": "MESAJ"});
    let with = |key: &str, value: Value| {
        let mut body = query.clone();
        body[key] = value;
        body
    };
    let without = |key: &str| {
        let mut body = query.clone();
        body.as_object_mut().unwrap().remove(key);
        body
    };
    for (body, status, code) in [
        (without("type"), 422, "H111"),
        (without("recipientType"), 422, "H170"),
        (without("recipient"), 422, "H114"),
        (with("type", json!("FAKS")), 422, "H117"),
        (with("recipientType", json!("KURUMSAL")), 422, "H116"),
        (with("recipient", json!("05321234567")), 422, "H121"),
        (with("recipient", json!("+9053212345678901")), 422, "H166"),
        (
            json!({"recipient": "Ali@Example.com", "recipientType": "BIREYSEL", "type": "EPOSTA"}),
            422,
            "H120",
        ),
        (query.clone(), 404, ""),
    ] {
        let (answered, found, answer) = ask(body.clone()).await;
        assert_eq!(
            (answered, found.as_str()),
            (status, code),
            "{body}: {answer}"
        );
        tokio::time::sleep(Duration::from_millis(120)).await;
    }
    register_elsewhere(
        &base,
        json!({"recipient": "+905321234567", "type": "MESAJ", "source": "HS_WEB", "status": "ONAY", "consentDate": consent_core::IysDateTime::from_instant(system_clock()()).to_string(), "recipientType": "BIREYSEL"}),
    )
    .await;
    let (status, _, held) = ask(query.clone()).await;
    assert_eq!(status, 200);
    assert_eq!(held["status"], "ONAY");
    assert_eq!(held["transactionId"].as_str().unwrap().len(), 64);
    // İYS allows 1000 single status queries an hour; the sandbox's clock moves a second for
    // every ten, to stay within the per-second limit.
    let mut refused = None;
    for number in 0..1_001 {
        if number % 10 == 0 {
            sandbox_post(&base, "/sandbox/clock", json!({"advanceSeconds": 1})).await;
        }
        let (status, code, _) = ask(query.clone()).await;
        if status != 200 {
            refused = Some((number, status, code));
            break;
        }
    }
    assert_eq!(
        refused,
        Some((998, 429, "H086".to_owned())),
        "the two answered queries above and 998 here make the hour's 1000"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sandbox_enforces_iys_rules_with_iys_codes() {
    let base = start_sandbox().await;
    let client = reqwest::Client::new();
    let unauthorised = client
        .post(format!("{base}/v2/sps/1/brands/1/consents"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(unauthorised.status().as_u16(), 401);
    let token = sandbox_sign_in(&client, &base).await;
    assert_eq!(token["expires_in"], 7_200);
    let access = token["access_token"].as_str().unwrap().to_owned();
    let now = consent_core::IysDateTime::from_instant(system_clock()()).to_string();
    let good = json!({"recipient": "+905321234567", "type": "MESAJ", "source": "HS_WEB", "status": "ONAY", "consentDate": now, "recipientType": "BIREYSEL"});
    let send = |body: Value| {
        let client = client.clone();
        let base = base.clone();
        let access = access.clone();
        async move {
            tokio::time::sleep(Duration::from_millis(120)).await;
            let response = client
                .post(format!("{base}/v2/sps/1/brands/1/consents"))
                .bearer_auth(access)
                .json(&body)
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            let body: Value = response.json().await.unwrap();
            (
                status,
                body["errors"][0]["code"].as_str().unwrap_or("").to_owned(),
                body,
            )
        }
    };
    let with = |key: &str, value: Value| {
        let mut body = good.clone();
        body[key] = value;
        body
    };
    let without = |key: &str| {
        let mut body = good.clone();
        body.as_object_mut().unwrap().remove(key);
        body
    };
    for (body, code) in [
        (with("colour", json!("red")), "H118"),
        (without("status"), "H110"),
        (without("type"), "H111"),
        (without("consentDate"), "H112"),
        (without("source"), "H113"),
        (without("recipient"), "H114"),
        (with("status", json!("RED")), "H115"),
        (with("recipientType", json!("KURUMSAL")), "H116"),
        (with("type", json!("SMS")), "H117"),
        (with("source", json!("IYS_WEB")), "H119"),
        (with("recipient", json!("+9005321234567")), "H121"),
        (with("recipient", json!("ali@example.com")), "H464"),
        (
            json!({"recipient": "örnek@alan.com", "type": "EPOSTA", "source": "HS_WEB", "status": "ONAY", "consentDate": now}),
            "H120",
        ),
        (with("consentDate", json!("2026-11-28T10:00:00Z")), "H158"),
        (with("consentDate", json!("2026-02-30 10:00:00")), "H157"),
        (with("consentDate", json!("2015-04-30 23:59:59")), "H156"),
        (with("consentDate", json!("2099-01-01 00:00:00")), "H162"),
        (with("consentDate", json!("2026-01-05 10:00:00")), "H467"),
        (with("status", json!("RET")), "H175"),
        (with("retailerCode", Value::Null), "H267"),
        (with("retailerAccess", json!([])), "H163"),
    ] {
        let (status, found, answer) = send(body.clone()).await;
        assert!(status == 422 || status == 400, "{body}: {status} {answer}");
        assert_eq!(found, code, "{body}: {answer}");
    }
    let (status, _, first) = send(good.clone()).await;
    assert_eq!(status, 200);
    let (_, _, repeat) = send(good.clone()).await;
    assert_eq!(
        first["transactionId"], repeat["transactionId"],
        "V2 answers an identical repeat with the same transaction"
    );
    let (_, code, _) = send(with("status", json!("RET"))).await;
    assert_eq!(code, "H178", "the same date again is not more recent");

    // Batch: duplicates refused, results after the delay.
    let batch = json!([good.clone(), good.clone()]);
    let answer = client
        .post(format!("{base}/sps/1/brands/1/consents/request"))
        .bearer_auth(&access)
        .json(&batch)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status().as_u16(), 422);
    let answer: Value = answer.json().await.unwrap();
    assert_eq!(answer["errors"][0]["code"], "H194");

    // More than ten requests in one second meet 429 H124.
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    let mut statuses = Vec::new();
    for _ in 0..12 {
        let response = client.post(format!("{base}/sps/1/brands/1/consents/status")).bearer_auth(&access).json(&json!({"recipient": "+905321234567", "type": "MESAJ", "recipientType": "BIREYSEL"})).send().await.unwrap();
        statuses.push(response.status().as_u16());
    }
    assert!(statuses.contains(&429), "{statuses:?}");

    // The hourly token limit: the 101st call meets H084.
    let mut last = 0;
    for _ in 0..100 {
        last = client
            .post(format!("{base}/oauth2/token"))
            .json(&json!({"grant_type": "password", "username": "sandbox", "password": "sandbox"}))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16();
    }
    assert_eq!(last, 429);
}

async fn a_backlog_goes_in_batches(backend: Backend) {
    let base = start_sandbox().await;
    let (_database, store) = open_store(backend).await;
    let mut records: Vec<_> = (0..60)
        .map(|index| {
            new_consent(
                "email",
                &format!("yigin{index}@example.com"),
                "granted",
                None,
            )
        })
        .collect();
    // A first-ever refusal in the backlog is settled before the batch, never sent.
    records.push(new_consent("email", "hic@example.com", "rejected", None));
    store.store_batch(&records).await.unwrap();
    let forwarder = forwarder_with(&store, &base, Duration::from_secs(5), 10);
    settle(&[&forwarder], &store, Duration::from_secs(30)).await;
    let stored = store.records(None, None).await.unwrap();
    let accepted = stored
        .iter()
        .filter(|record| record.iys.state.as_str() == "accepted")
        .count();
    assert_eq!(accepted, 60);
    assert_eq!(
        stored
            .iter()
            .filter(|record| record.iys.state.as_str() == "skipped")
            .count(),
        1
    );
    let log = sandbox_get(&base, "/sandbox/log").await;
    assert_eq!(log["batches"], 1, "sixty records in one batch request");
    assert_eq!(log["requests"].as_array().unwrap().len(), 60);
    let validator = schema::consent_validator();
    for body in log["requests"].as_array().unwrap() {
        assert!(validator.is_valid(body), "{body}");
    }
    assert_eq!(store.verify().await.unwrap().problem, None);
}
both_backends!(backlog_batches, a_backlog_goes_in_batches);

/// A record decided a day ago, arriving after a backlog of newer ones, is nearer its deadline
/// and goes first: the conservative deadline never falls earlier for a later decision, so the
/// order of decision (then of arrival) is the order of deadlines.
async fn a_record_near_its_deadline_overtakes_a_newer_backlog(backend: Backend) {
    let base = start_sandbox().await;
    let (_database, store) = open_store(backend).await;
    let backlog: Vec<_> = (0..40)
        .map(|index| {
            new_consent(
                "email",
                &format!("yeni{index}@example.com"),
                "granted",
                None,
            )
        })
        .collect();
    store.store_batch(&backlog).await.unwrap();
    let a_day_ago = (system_clock())().add_millis(-24 * 3_600_000);
    let late_arrival = new_consent("email", "dun@example.com", "granted", Some(a_day_ago));
    let late_id = late_arrival.record.id().to_string();
    store.store_batch(&[late_arrival]).await.unwrap();
    // One pass sends one claim's worth of single adds, under the batch threshold.
    let forwarder = forwarder(&store, &base, Duration::from_secs(5));
    forwarder.forward_once().await.unwrap();
    let stored = store.records(None, None).await.unwrap();
    assert_eq!(outcome(&stored, &late_id).0, "accepted");
    let still_pending = stored
        .iter()
        .filter(|record| record.iys.state.as_str() == "pending")
        .count();
    assert!(still_pending > 0, "the pass took only part of the backlog");
    let log = sandbox_get(&base, "/sandbox/log").await;
    assert_eq!(
        log["requests"][0]["recipient"], "dun@example.com",
        "the record nearest its deadline was sent first"
    );
    settle(&[&forwarder], &store, Duration::from_secs(30)).await;
    assert_eq!(store.verify().await.unwrap().problem, None);
}
both_backends!(
    deadline_first,
    a_record_near_its_deadline_overtakes_a_newer_backlog
);

/// A pass of the forwarder asks İYS's status query at most 20 times, so that it ends within its
/// claims however many refusals of a backlog need asking: the rest are asked in later passes.
async fn a_pass_asks_at_most_twenty_status_queries(backend: Backend) {
    let base = start_sandbox().await;
    let (_database, store) = open_store(backend).await;
    // First refusals of addresses nobody has seen: each needs İYS asked before it settles.
    let refusals: Vec<_> = (0..25)
        .map(|index| {
            new_consent(
                "email",
                &format!("hic{index}@example.com"),
                "rejected",
                None,
            )
        })
        .collect();
    store.store_batch(&refusals).await.unwrap();
    // A backlog over the threshold goes through the batch path, which claims them all at once.
    let forwarder = forwarder_with(&store, &base, Duration::from_secs(5), 1);
    forwarder.forward_once().await.unwrap();
    let log = sandbox_get(&base, "/sandbox/log").await;
    assert_eq!(log["statusQueries"].as_array().unwrap().len(), 20);
    let still_pending = store
        .records(None, None)
        .await
        .unwrap()
        .iter()
        .filter(|record| record.iys.state.as_str() == "pending")
        .count();
    assert_eq!(still_pending, 5, "the rest wait for a later pass");
    settle(&[&forwarder], &store, Duration::from_secs(30)).await;
    let log = sandbox_get(&base, "/sandbox/log").await;
    assert_eq!(log["statusQueries"].as_array().unwrap().len(), 25);
    let stored = store.records(None, None).await.unwrap();
    assert!(
        stored.iter().all(|record| record.iys.evidence.is_some()),
        "every refusal settled with İYS's answer kept"
    );
    assert_eq!(store.verify().await.unwrap().problem, None);
}
both_backends!(status_query_cap, a_pass_asks_at_most_twenty_status_queries);

async fn records_a_dead_relay_held_are_taken_over_after_its_claim_expires(backend: Backend) {
    let base = start_sandbox().await;
    let (_database, store) = open_store(backend).await;
    let records: Vec<_> = (0..12)
        .map(|index| {
            new_consent(
                "email",
                &format!("devral{index}@example.com"),
                "granted",
                None,
            )
        })
        .collect();
    store.store_batch(&records).await.unwrap();
    // An instance claims a third of them and dies before settling them.
    let now = system_clock()();
    let orphaned = store
        .claim_for_forwarding("killed-relay", now, 1_500, 4)
        .await
        .unwrap();
    assert_eq!(orphaned.len(), 4);
    let survivor = forwarder(&store, &base, Duration::from_secs(5));
    survivor.forward_once().await.unwrap();
    let accepted = |records: &[iys_relay::store::StoredRecord]| {
        records
            .iter()
            .filter(|record| record.iys.state.as_str() == "accepted")
            .count()
    };
    assert_eq!(
        accepted(&store.records(None, None).await.unwrap()),
        8,
        "the claimed records wait for the claim to expire"
    );
    tokio::time::sleep(Duration::from_millis(1_600)).await;
    settle(&[&survivor], &store, Duration::from_secs(20)).await;
    assert_eq!(accepted(&store.records(None, None).await.unwrap()), 12);
    let log = sandbox_get(&base, "/sandbox/log").await;
    assert_eq!(
        log["requests"].as_array().unwrap().len(),
        12,
        "each record went to İYS once"
    );
    // The dead instance's late outcome cannot overwrite what the survivor recorded.
    let late = store
        .finish_forwarding(
            &orphaned[0].id,
            iys_relay::store::forwarding::Holder::Claimant("killed-relay"),
            &iys_relay::store::forwarding::Settlement::with_code(
                iys_relay::store::forwarding::IysState::Refused,
                Some("H015"),
            ),
            now,
        )
        .await
        .unwrap();
    assert!(!late);
    assert_eq!(store.verify().await.unwrap().problem, None);
}
both_backends!(
    takeover,
    records_a_dead_relay_held_are_taken_over_after_its_claim_expires
);

/// The sandbox's token requests so far, as (grant type, outcome).
async fn token_requests(base: &str) -> Vec<(String, String)> {
    sandbox_get(base, "/sandbox/log").await["tokenRequests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| {
            (
                entry["grant"].as_str().unwrap().to_owned(),
                entry["outcome"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_are_reused_refreshed_renewed_and_not_asked_for_an_hour_after_h084() {
    let base = start_sandbox().await;
    let (_database, store) = open_store(Backend::Sqlite).await;
    // The forwarder's clock and the sandbox's move forward together.
    let offset = Arc::new(AtomicI64::new(0));
    let clock: Clock = {
        let offset = Arc::clone(&offset);
        Arc::new(move || system_clock()().add_millis(offset.load(Ordering::SeqCst)))
    };
    let advance = async |seconds: i64| {
        offset.fetch_add(seconds * 1_000, Ordering::SeqCst);
        sandbox_post(&base, "/sandbox/clock", json!({"advanceSeconds": seconds})).await;
    };
    let forwarder = forwarder_on(
        &store,
        &base,
        Duration::from_secs(5),
        100,
        Arc::clone(&clock),
    );
    let mut phones = (11..).map(|n| format!("0532 400 00 {n}"));
    let mut send_one = async || {
        let consent = new_consent("sms", &phones.next().unwrap(), "granted", Some(clock()));
        store
            .store_batch(std::slice::from_ref(&consent))
            .await
            .unwrap();
        consent.record.id().to_string()
    };
    let grant = |grant: &str, outcome: &str| (grant.to_owned(), outcome.to_owned());

    // A first record takes a token with the password; a second one an hour later reuses it.
    send_one().await;
    settle(&[&forwarder], &store, Duration::from_secs(10)).await;
    advance(3_600).await;
    send_one().await;
    settle(&[&forwarder], &store, Duration::from_secs(10)).await;
    assert_eq!(token_requests(&base).await, [grant("password", "issued")]);

    // Near the end of the access token's two hours, the refresh token is used.
    advance(3_400).await;
    send_one().await;
    settle(&[&forwarder], &store, Duration::from_secs(10)).await;
    assert_eq!(
        token_requests(&base).await,
        [
            grant("password", "issued"),
            grant("refresh_token", "issued")
        ]
    );

    // After both tokens have lapsed, the password again.
    advance(5 * 3_600).await;
    send_one().await;
    settle(&[&forwarder], &store, Duration::from_secs(10)).await;
    assert_eq!(
        token_requests(&base).await,
        [
            grant("password", "issued"),
            grant("refresh_token", "issued"),
            grant("password", "issued"),
        ]
    );

    // Somebody else spends the hour's 100 token requests; the forwarder's token then lapses.
    advance(5 * 3_600).await;
    let client = reqwest::Client::new();
    let mut spent = 0;
    while spent < 100 {
        let answer = client
            .post(format!("{base}/oauth2/token"))
            .json(&json!({"grant_type": "password", "username": "sandbox", "password": "sandbox"}))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 200);
        spent += 1;
    }
    let waiting = send_one().await;
    let pending = async || {
        let stored = store.records(None, None).await.unwrap();
        outcome(&stored, &waiting).0
    };
    forwarder.forward_once().await.unwrap();
    let after_h084 = token_requests(&base).await;
    assert_eq!(after_h084.len(), 104);
    assert_eq!(after_h084[103], grant("password", "H084"));
    assert_eq!(pending().await, "pending");

    // For the rest of the hour the forwarder makes no token request at all, and the record waits.
    for _ in 0..3 {
        forwarder.forward_once().await.unwrap();
    }
    advance(1_800).await;
    forwarder.forward_once().await.unwrap();
    assert_eq!(token_requests(&base).await.len(), 104);
    assert_eq!(pending().await, "pending");

    // Once the hour is over, one token request, and the record is accepted.
    advance(1_801).await;
    settle(&[&forwarder], &store, Duration::from_secs(10)).await;
    let tokens = token_requests(&base).await;
    assert_eq!(tokens.len(), 105);
    assert_eq!(tokens[104], grant("password", "issued"));
    let stored = store.records(None, None).await.unwrap();
    let (state, transaction, _) = outcome(&stored, &waiting);
    assert_eq!(state, "accepted");
    assert!(transaction.is_some());
    assert!(
        stored
            .iter()
            .all(|record| record.iys.state.as_str() == "accepted"),
        "every record is accepted in the end"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_iys_knows_more_its_refusals_settle_records_without_retry() {
    let base = start_sandbox().await;
    let (_database, store) = open_store(Backend::Sqlite).await;
    let now = system_clock()();
    // Two addresses the relay sent consents for two minutes ago.
    let earlier = [
        new_consent(
            "sms",
            "0532 500 00 01",
            "granted",
            Some(now.add_millis(-120_000)),
        ),
        new_consent(
            "sms",
            "0532 500 00 02",
            "granted",
            Some(now.add_millis(-120_000)),
        ),
    ];
    store.store_batch(&earlier).await.unwrap();
    let forwarder = forwarder(&store, &base, Duration::from_secs(5));
    settle(&[&forwarder], &store, Duration::from_secs(10)).await;
    // Both people then refuse in İYS, and the relay has not pulled that yet.
    for phone in ["+905325000001", "+905325000002"] {
        sandbox_post(
            &base,
            "/sandbox/citizen",
            json!({"recipient": phone, "type": "MESAJ", "recipientType": "BIREYSEL", "status": "RET"}),
        )
        .await;
    }
    // Decisions the shop took a minute ago reach the relay late.
    let stale_consent = new_consent(
        "sms",
        "0532 500 00 01",
        "granted",
        Some(now.add_millis(-60_000)),
    );
    let repeated_refusal = new_consent(
        "sms",
        "0532 500 00 02",
        "rejected",
        Some(now.add_millis(-60_000)),
    );
    store
        .store_batch(&[stale_consent.clone(), repeated_refusal.clone()])
        .await
        .unwrap();
    settle(&[&forwarder], &store, Duration::from_secs(10)).await;
    let stored = store.records(None, None).await.unwrap();
    assert_eq!(
        outcome(&stored, &stale_consent.record.id().to_string()),
        ("superseded".to_owned(), None, Some("H178".to_owned()))
    );
    assert_eq!(
        outcome(&stored, &repeated_refusal.record.id().to_string()),
        ("skipped".to_owned(), None, Some("H174".to_owned()))
    );
    assert_eq!(
        sandbox_get(&base, "/sandbox/log").await["requests"]
            .as_array()
            .unwrap()
            .len(),
        4,
        "each record went to İYS once: İYS's final answers are not retried"
    );
}

/// A `iys-relay serve` process forwarding to the sandbox at `sandbox`, under the instance name
/// `relay-a` unless `forwarding` is off. Returns the process and its address.
fn spawn_relay(database_url: &str, sandbox: &str, forwarding: bool) -> (RelayProcess, String) {
    let forwarding_settings = [
        ("RELAY_INSTANCE", "relay-a"),
        ("IYS_BASE_URL", sandbox),
        ("IYS_USERNAME", "sandbox"),
        ("IYS_PASSWORD", "sandbox"),
        ("IYS_CODE", "123456"),
        ("IYS_BRAND_CODE", "123456"),
        ("IYS_BATCH_THRESHOLD", "20"),
        ("IYS_BATCH_POLL_SECONDS", "0"),
        ("IYS_PULL_INTERVAL_SECONDS", "3600"),
    ];
    let settings: &[(&str, &str)] = if forwarding {
        &forwarding_settings
    } else {
        &[]
    };
    RelayProcess::start(database_url, settings)
}

/// `serve` reconciles by itself, from its start, every day İYS still keeps a file of, and
/// `/metrics` shows the newest.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_reconciles_the_days_iys_keeps_by_itself() {
    let sandbox = start_sandbox().await;
    let database = TestDatabase::new(Backend::Sqlite).await;
    let (mut relay, address) = RelayProcess::start(
        &database.url,
        &[
            ("IYS_BASE_URL", sandbox.as_str()),
            ("IYS_USERNAME", "sandbox"),
            ("IYS_PASSWORD", "sandbox"),
            ("IYS_CODE", "123456"),
            ("IYS_BRAND_CODE", "123456"),
            ("RELAY_METRICS_TOKEN", "a-metrics-token-for-the-test"),
        ],
    );
    let store = Store::open(&database.url, Keyring::new(&DATA_KEY, &[]), 2)
        .await
        .unwrap();
    let due = iys_relay::forwarder::due_day(system_clock()());
    let oldest = due.add_days(-6);
    let started = std::time::Instant::now();
    while !(store.is_reconciled(&due.to_string()).await.unwrap()
        && store.is_reconciled(&oldest.to_string()).await.unwrap())
    {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "serve did not reconcile {oldest} to {due}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        !store
            .is_reconciled(&oldest.add_days(-1).to_string())
            .await
            .unwrap(),
        "İYS keeps seven days"
    );
    let metrics = reqwest::Client::new()
        .get(format!("{address}/metrics"))
        .bearer_auth("a-metrics-token-for-the-test")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("iys_relay_reconciliation_unlisted 0"),
        "{metrics}"
    );
    relay.kill();
}

/// Posts records to a relay process, sixteen per request, and returns their ids.
async fn post_records(relay: &str, phones: &[String]) -> Vec<String> {
    let client = reqwest::Client::new();
    let mut ids = Vec::new();
    for chunk in phones.chunks(16) {
        let records: Vec<Value> = chunk
            .iter()
            .map(|phone| record("sms", phone, "granted"))
            .collect();
        ids.extend(
            records
                .iter()
                .map(|record| record["id"].as_str().unwrap().to_owned()),
        );
        let answer = client
            .post(format!("{relay}/v1/consents"))
            .json(&json!({ "records": records }))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status().as_u16(), 200);
    }
    ids
}

/// Waits until the sandbox's log says `field` reached `count`.
async fn wait_for_sandbox(base: &str, field: &str, count: u64) {
    let started = std::time::Instant::now();
    while sandbox_get(base, "/sandbox/log").await[field]
        .as_u64()
        .unwrap()
        < count
    {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the sandbox never saw {count} {field}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until a relay process has settled every record, reading its database.
async fn wait_until_settled(store: &Store) {
    let started = std::time::Instant::now();
    loop {
        let records = store.records(None, None).await.unwrap();
        if records
            .iter()
            .all(|record| record.iys.state.as_str() == "accepted")
        {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(90),
            "not settled: {:?}",
            records
                .iter()
                .map(|record| record.iys.state.as_str())
                .collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn a_relay_killed_mid_send_resumes_without_loss_or_duplicates(backend: Backend) {
    let sandbox = start_sandbox().await;
    let database = TestDatabase::new(backend).await;
    let phones: Vec<String> = (0..65)
        .map(|n| format!("0532 4{:02} {:02} {:02}", n, n % 7, n % 11))
        .collect();

    // A backlog stored while forwarding was off.
    let (mut relay, address) = spawn_relay(&database.url, &sandbox, false);
    let mut ids = post_records(&address, &phones[..62]).await;
    relay.kill();

    // Killed while İYS has the batch and its answer has not come back.
    sandbox_post(&sandbox, "/sandbox/faults", json!(["lost"])).await;
    let (mut relay, _) = spawn_relay(&database.url, &sandbox, true);
    wait_for_sandbox(&sandbox, "batches", 1).await;
    relay.kill();

    // The next run sends the batch again; İYS points its consents to the first registration.
    let (mut relay, address) = spawn_relay(&database.url, &sandbox, true);
    let store = Store::open(&database.url, Keyring::new(&DATA_KEY, &[]), 2)
        .await
        .unwrap();
    wait_until_settled(&store).await;
    assert_eq!(sandbox_get(&sandbox, "/sandbox/log").await["batches"], 2);

    // Killed while İYS has registered a live record and its answer has not come back.
    sandbox_post(&sandbox, "/sandbox/faults", json!(["lost"])).await;
    ids.extend(post_records(&address, &phones[62..]).await);
    wait_for_sandbox(&sandbox, "movements", 63).await;
    relay.kill();
    let (mut relay, _) = spawn_relay(&database.url, &sandbox, true);
    wait_until_settled(&store).await;
    relay.kill();

    let stored = store.records(None, None).await.unwrap();
    assert_eq!(stored.len(), ids.len());
    let mut transactions = std::collections::HashSet::new();
    for id in &ids {
        let (state, transaction, error) = outcome(&stored, id);
        assert_eq!((state.as_str(), error), ("accepted", None));
        assert!(transactions.insert(transaction.unwrap()));
    }
    let log = sandbox_get(&sandbox, "/sandbox/log").await;
    assert_eq!(log["held"], 65);
    assert_eq!(log["movements"], 65, "İYS registered each record once");
    let validator = schema::consent_validator();
    for body in log["requests"].as_array().unwrap() {
        assert!(validator.is_valid(body), "{body}");
    }
    assert_eq!(store.verify().await.unwrap().problem, None);
}

both_backends!(
    killed_mid_send,
    a_relay_killed_mid_send_resumes_without_loss_or_duplicates
);

async fn a_restarted_instance_takes_back_only_its_own_earlier_claims(backend: Backend) {
    let (_database, store) = open_store(backend).await;
    let phones = [
        "0532 555 00 01",
        "0532 555 00 02",
        "0532 555 00 03",
        "0532 555 00 04",
    ];
    let records: Vec<_> = phones
        .iter()
        .map(|phone| new_consent("sms", phone, "granted", None))
        .collect();
    store.store_batch(&records).await.unwrap();
    let now = Timestamp::from_unix_millis(system_clock()().unix_millis() + 1_000);
    // Each owner claims one record: an earlier run of relay-a, the current run of relay-a, a
    // relay whose name starts the same way, and another relay.
    let owners = [
        "relay-a#1-aa",
        "relay-a#2-bb",
        "relay-ab#1-cc",
        "relay-b#1-dd",
    ];
    let mut held = Vec::new();
    for owner in owners {
        let claimed = store
            .claim_for_forwarding(owner, now, 600_000, 1)
            .await
            .unwrap();
        assert_eq!(claimed.len(), 1);
        held.push((owner, claimed[0].id.clone()));
    }
    let released = store
        .release_earlier_claims("relay-a#", "relay-a#2-bb")
        .await
        .unwrap();
    assert_eq!(released, 1);
    // Only the earlier run's record is free to claim again.
    let again = store
        .claim_for_forwarding("relay-c#1-ee", now, 600_000, 10)
        .await
        .unwrap();
    let ids: Vec<&String> = again.iter().map(|record| &record.id).collect();
    assert_eq!(ids, vec![&held[0].1]);
    // A relay that stops lets go of exactly its own claims.
    assert_eq!(store.release_claims("relay-b#1-dd").await.unwrap(), 1);
    assert_eq!(store.release_claims("relay-b#1-dd").await.unwrap(), 0);
}

both_backends!(
    earlier_claims,
    a_restarted_instance_takes_back_only_its_own_earlier_claims
);

async fn pulled_addresses_are_normalised_and_an_unreadable_movement_stops_the_cursor(
    backend: Backend,
) {
    let base = start_sandbox().await;
    let (_database, store) = open_store(backend).await;
    let forwarder = forwarder(&store, &base, Duration::from_secs(5));
    sandbox_post(
        &base,
        "/sandbox/citizen",
        json!({"recipient": "ALI@Example.COM", "type": "EPOSTA", "status": "RET"}),
    )
    .await;
    assert_eq!(forwarder.pull_once().await.unwrap(), 1);
    let state = store
        .current_state(
            &[(consent_core::Channel::Email, "ali@example.com".to_owned())],
            consent_core::RecipientType::Individual,
        )
        .await
        .unwrap();
    assert_eq!(
        state.first().map(|state| state.status),
        Some(consent_core::ConsentStatus::Rejected),
        "the pulled address is found as received addresses are"
    );
    let cursor = store.pull_cursor().await.unwrap();
    // A movement whose address does not read, then a readable refusal after it.
    for recipient in ["+90532", "+905329998877"] {
        sandbox_post(
            &base,
            "/sandbox/citizen",
            json!({"recipient": recipient, "type": "MESAJ", "status": "RET"}),
        )
        .await;
    }
    let error = forwarder.pull_once().await.unwrap_err();
    assert!(error.contains("cannot be read"), "{error}");
    assert_eq!(
        store.pull_cursor().await.unwrap(),
        cursor,
        "the cursor stays"
    );
    let later = store
        .current_state(
            &[(consent_core::Channel::Sms, "+905329998877".to_owned())],
            consent_core::RecipientType::Individual,
        )
        .await
        .unwrap();
    assert!(later.is_empty(), "nothing after it is applied out of order");
    assert_eq!(store.verify().await.unwrap().problem, None);
}
both_backends!(
    pull_reading,
    pulled_addresses_are_normalised_and_an_unreadable_movement_stops_the_cursor
);

async fn a_clock_stepped_ahead_on_one_relay_does_not_stall_the_others(backend: Backend) {
    let base = start_sandbox().await;
    let (database, store) = open_store(backend).await;
    let other_store = Store::open(&database.url, Keyring::new(&DATA_KEY, &[]), 4)
        .await
        .unwrap();
    let ahead: Clock = Arc::new(|| system_clock()().add_millis(3_600_000));
    let stepped = forwarder_on(&store, &base, Duration::from_secs(5), 100, ahead);
    let steady = forwarder(&other_store, &base, Duration::from_secs(5));
    let first = new_consent("sms", "0532 600 00 01", "granted", None);
    store
        .store_batch(std::slice::from_ref(&first))
        .await
        .unwrap();
    assert_eq!(stepped.forward_once().await.unwrap(), 1);
    // The relay whose clock is an hour ahead has used the shared budget; the other one still
    // gets its requests at once.
    let second = new_consent("sms", "0532 600 00 02", "granted", None);
    other_store
        .store_batch(std::slice::from_ref(&second))
        .await
        .unwrap();
    let sent = tokio::time::timeout(Duration::from_secs(10), steady.forward_once())
        .await
        .expect("the steady relay was stalled by the other's clock")
        .unwrap();
    assert_eq!(sent, 1);
    let stored = store.records(None, None).await.unwrap();
    assert!(
        stored
            .iter()
            .all(|record| record.iys.state.as_str() == "accepted")
    );
}
both_backends!(
    clock_step,
    a_clock_stepped_ahead_on_one_relay_does_not_stall_the_others
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusal_iys_calls_late_goes_again_dated_now() {
    let base = start_sandbox().await;
    let (_database, store) = open_store(Backend::Sqlite).await;
    let forwarder = forwarder(&store, &base, Duration::from_secs(5));
    let now = system_clock()();
    let consent = new_consent(
        "sms",
        "0532 700 00 01",
        "granted",
        Some(now.add_millis(-60_000)),
    );
    store
        .store_batch(std::slice::from_ref(&consent))
        .await
        .unwrap();
    settle(&[&forwarder], &store, Duration::from_secs(20)).await;
    let refusal = new_consent(
        "sms",
        "0532 700 00 01",
        "rejected",
        Some(now.add_millis(-30_000)),
    );
    store
        .store_batch(std::slice::from_ref(&refusal))
        .await
        .unwrap();
    sandbox_post(&base, "/sandbox/faults", json!(["H467"])).await;
    settle(&[&forwarder], &store, Duration::from_secs(20)).await;
    let stored = store.records(None, None).await.unwrap();
    let record = stored
        .iter()
        .find(|record| record.plain.id == refusal.record.id().to_string())
        .unwrap();
    assert_eq!(
        record.iys.state.as_str(),
        "accepted",
        "the refusal was not dropped"
    );
    assert!(record.iys.late);
    assert!(
        record.iys.sent_date.is_some(),
        "sent dated at the moment of sending"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_proxy_page_is_no_answer_and_a_later_consent_elsewhere_stands() {
    let base = start_sandbox().await;
    let (_database, store) = open_store(Backend::Sqlite).await;
    let forwarder = forwarder(&store, &base, Duration::from_secs(5));
    let now = system_clock()();
    // A 404 page from something in front of İYS settles nothing: the refusal waits.
    let unknown = new_consent("email", "bilinmeyen@example.com", "rejected", None);
    store
        .store_batch(std::slice::from_ref(&unknown))
        .await
        .unwrap();
    sandbox_post(&base, "/sandbox/faults", json!(["status-page-404"])).await;
    forwarder.forward_once().await.unwrap();
    let stored = store.records(None, None).await.unwrap();
    assert_eq!(
        stored[0].iys.state.as_str(),
        "pending",
        "no answer is not nothing to refuse"
    );
    settle(&[&forwarder], &store, Duration::from_secs(20)).await;
    let stored = store.records(None, None).await.unwrap();
    assert_eq!(
        outcome(&stored, &unknown.record.id().to_string()),
        ("skipped".to_owned(), None, Some("H175".to_owned())),
        "İYS's own answer settles it"
    );
    // The person consented again through another system after refusing on the page: the later
    // decision stands, and no refusal overrules it.
    register_elsewhere(
        &base,
        json!({"recipient": "+905327770011", "type": "MESAJ", "source": "HS_CAGRI_MERKEZI", "status": "ONAY", "consentDate": consent_core::IysDateTime::from_instant(now).to_string(), "recipientType": "BIREYSEL"}),
    )
    .await;
    let older = new_consent(
        "sms",
        "0532 777 00 11",
        "rejected",
        Some(now.add_millis(-30 * 60_000)),
    );
    store
        .store_batch(std::slice::from_ref(&older))
        .await
        .unwrap();
    settle(&[&forwarder], &store, Duration::from_secs(20)).await;
    let stored = store.records(None, None).await.unwrap();
    assert_eq!(
        outcome(&stored, &older.record.id().to_string()).0,
        "superseded"
    );
    let sent = sandbox_get(&base, "/sandbox/log").await["requests"].clone();
    assert!(
        sent.as_array()
            .unwrap()
            .iter()
            .all(|body| body["status"] != "RET"),
        "no refusal was sent: {sent}"
    );
}
