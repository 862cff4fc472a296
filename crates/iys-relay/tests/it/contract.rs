//! The v1 contract over real HTTP: receipts, idempotency, every error code, the preference
//! centre, each answer checked against the relay's OpenAPI document.

use iys_relay::token::{self, Claims};
use serde_json::{Value, json};

use crate::both_backends;
use crate::support::{
    Backend, ORIGIN, TOKEN_SECRET, TestDatabase, TestRelay, assert_matches_openapi, batch, config,
    now_rfc3339, record,
};

async fn stores_records_and_answers_receipts(backend: Backend) {
    let relay = TestRelay::start(backend).await;
    let sms = record("sms", "0532 123 45 67", "granted");
    let email = record("email", "Ali.Veli@Example.com", "granted");
    let (status, body) = relay.post(&batch(vec![sms.clone(), email.clone()])).await;
    assert_eq!(status, 200, "{body}");
    assert_matches_openapi("/v1/consents", "post", 200, &body);
    let receipts = body["records"].as_array().unwrap();
    assert_eq!(receipts.len(), 2);
    assert_eq!(receipts[0]["id"], sms["id"]);
    assert_eq!(receipts[1]["id"], email["id"]);
    assert!(
        receipts
            .iter()
            .all(|receipt| receipt["outcome"] == "stored")
    );
    assert_ne!(receipts[0]["receipt"], receipts[1]["receipt"]);
    assert_eq!(relay.count("consents").await, 2);
    assert_eq!(relay.count("ledger").await, 2);
    let stored = relay.store.records(None, None).await.unwrap();
    let phone = stored
        .iter()
        .find(|record| record.plain.channel == consent_core::Channel::Sms)
        .unwrap();
    assert_eq!(phone.plain.recipient, "+905321234567");
    assert_eq!(phone.plain.details.recipient_as_typed, "0532 123 45 67");
    assert_eq!(phone.plain.details.client_ip.as_deref(), Some("127.0.0.1"));
    let mail = stored
        .iter()
        .find(|record| record.plain.channel == consent_core::Channel::Email)
        .unwrap();
    assert_eq!(mail.plain.recipient, "ali.veli@example.com");
}
both_backends!(stores_records, stores_records_and_answers_receipts);

async fn a_repeat_is_a_duplicate_with_the_first_receipt(backend: Backend) {
    let relay = TestRelay::start(backend).await;
    let first = record("sms", "0532 123 45 67", "granted");
    let (_, stored) = relay.post(&batch(vec![first.clone()])).await;
    // Sent again as it was (another content is a conflicting duplicate, tested on its own).
    for body in [batch(vec![first.clone()]), batch(vec![first.clone()])] {
        let (status, repeat) = relay.post(&body).await;
        assert_eq!(status, 200);
        assert_eq!(repeat["records"][0]["outcome"], "duplicate");
        assert_eq!(
            repeat["records"][0]["receipt"],
            stored["records"][0]["receipt"]
        );
        assert_eq!(
            repeat["records"][0]["consentDate"],
            stored["records"][0]["consentDate"]
        );
    }
    // The same id twice in one request: stored once.
    let twice = record("call", "0212 123 00 00", "granted");
    let (_, both) = relay.post(&batch(vec![twice.clone(), twice])).await;
    assert_eq!(both["records"][0]["outcome"], "stored");
    assert_eq!(both["records"][1]["outcome"], "duplicate");
    assert_eq!(relay.count("consents").await, 2);
    assert_eq!(relay.count("ledger").await, 2);
}
both_backends!(repeats, a_repeat_is_a_duplicate_with_the_first_receipt);

async fn concurrent_repeats_store_one_row(backend: Backend) {
    let relay = std::sync::Arc::new(TestRelay::start(backend).await);
    let body = batch(vec![record("sms", "0532 123 45 67", "granted")]);
    let mut tasks = Vec::new();
    for _ in 0..32 {
        let relay = relay.clone();
        let body = body.clone();
        tasks.push(tokio::spawn(async move { relay.post(&body).await }));
    }
    let mut outcomes = Vec::new();
    let mut receipts = std::collections::HashSet::new();
    for task in tasks {
        let (status, answer) = task.await.unwrap();
        assert_eq!(status, 200, "{answer}");
        outcomes.push(answer["records"][0]["outcome"].as_str().unwrap().to_owned());
        receipts.insert(answer["records"][0]["receipt"].as_str().unwrap().to_owned());
    }
    assert_eq!(
        outcomes
            .iter()
            .filter(|outcome| *outcome == "stored")
            .count(),
        1
    );
    assert_eq!(receipts.len(), 1, "every answer carries the first receipt");
    assert_eq!(relay.count("consents").await, 1);
    assert_eq!(relay.count("ledger").await, 1);
}
both_backends!(concurrent_repeats, concurrent_repeats_store_one_row);

async fn post_raw(
    relay: &TestRelay,
    content_type: Option<&str>,
    origin: Option<&str>,
    body: Vec<u8>,
) -> (u16, Value, reqwest::header::HeaderMap) {
    let mut request = relay
        .client
        .post(format!("{}/v1/consents", relay.base))
        .body(body);
    if let Some(content_type) = content_type {
        request = request.header("content-type", content_type);
    }
    if let Some(origin) = origin {
        request = request.header("origin", origin);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.json().await.unwrap_or(Value::Null);
    (status, body, headers)
}

fn assert_error(status: u16, body: &Value, expected_status: u16, code: &str) {
    assert_eq!(status, expected_status, "{body}");
    assert_eq!(body["code"], code, "{body}");
    assert_matches_openapi("/v1/consents", "post", status, body);
}

async fn every_client_mistake_is_a_4xx_with_its_code(backend: Backend) {
    let relay = TestRelay::start(backend).await;
    let good = batch(vec![record("sms", "0532 123 45 67", "granted")]);
    let json = Some("application/json");

    for broken in [
        &b"{\"records\":"[..],
        b"not json",
        b"",
        b"{\"records\": []} trailing",
        b"\xff\xfe",
    ] {
        let (status, body, _) = post_raw(&relay, json, None, broken.to_vec()).await;
        assert_error(status, &body, 400, "malformed_json");
    }

    let mut unknown_field = good.clone();
    unknown_field["records"][0]["evidence"]["checked"] = json!(true);
    let (status, body) = relay.post(&unknown_field).await;
    assert_error(status, &body, 422, "invalid_record");
    assert!(
        body["field"].as_str().unwrap().contains("checked"),
        "{body}"
    );

    let mut wrong_type = good.clone();
    wrong_type["records"][0]["recipient"] = json!(5_321_234_567_u64);
    let (status, body) = relay.post(&wrong_type).await;
    assert_error(status, &body, 422, "invalid_record");
    assert_eq!(body["field"], "records[0].recipient");
    assert!(
        !body["message"].as_str().unwrap().contains("5321234567"),
        "{body}"
    );

    let mut bad_hash = good.clone();
    bad_hash["records"][0]["evidence"]["textSha256"] = json!("0".repeat(64));
    let (status, body) = relay.post(&bad_hash).await;
    assert_error(status, &body, 422, "invalid_record");
    assert_eq!(body["field"], "records[0].evidence.textSha256");
    assert_eq!(body["reason"], "text_hash_mismatch");

    let (status, body) = relay.post(&json!({"records": []})).await;
    assert_error(status, &body, 422, "invalid_record");
    let (status, body) = relay.post(&json!({"consents": []})).await;
    assert_error(status, &body, 422, "invalid_record");

    let mut landline = good.clone();
    landline["records"][0]["recipient"] = json!("0212 123 00 00");
    let (status, body) = relay.post(&landline).await;
    assert_error(status, &body, 422, "invalid_recipient");
    assert_eq!(body["reason"], "phone_not_mobile");
    assert!(!body["message"].as_str().unwrap().contains("212"), "{body}");

    let bytes = good.to_string().into_bytes();
    for content_type in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
    ] {
        let (status, body, _) = post_raw(&relay, content_type, None, bytes.clone()).await;
        assert_error(status, &body, 415, "unsupported_media_type");
    }
    let (status, _, _) = post_raw(
        &relay,
        Some("application/json; charset=utf-8"),
        None,
        bytes.clone(),
    )
    .await;
    assert_eq!(status, 200);

    let mut huge = record("sms", "0532 123 45 67", "granted");
    huge["evidence"]["text"] = json!("x".repeat(70_000));
    let (status, body) = relay.post(&batch(vec![huge])).await;
    assert_error(status, &body, 413, "payload_too_large");
    let many: Vec<Value> = (0..17)
        .map(|_| record("email", "ali@example.com", "granted"))
        .collect();
    let (status, body) = relay.post(&batch(many)).await;
    assert_error(status, &body, 413, "payload_too_large");

    let (status, body, _) = post_raw(&relay, json, Some("https://evil.test"), bytes.clone()).await;
    assert_error(status, &body, 403, "origin_not_allowed");

    // One bad record keeps the whole request out.
    let before = relay.count("consents").await;
    let mut mixed = batch(vec![
        record("email", "veli@example.com", "granted"),
        record("sms", "0532 123 45 67", "granted"),
    ]);
    mixed["records"][1]["recipient"] = json!("ali@example.com");
    let (status, body) = relay.post(&mixed).await;
    assert_error(status, &body, 422, "invalid_recipient");
    assert_eq!(body["field"], "records[1].recipient");
    assert_eq!(relay.count("consents").await, before);
}
both_backends!(client_mistakes, every_client_mistake_is_a_4xx_with_its_code);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn junk_never_gets_a_500() {
    let relay = TestRelay::start(Backend::Sqlite).await;
    let mut bodies: Vec<Vec<u8>> = vec![
        b"null".to_vec(),
        b"[]".to_vec(),
        b"{\"records\": null}".to_vec(),
        b"{\"records\": [null]}".to_vec(),
        b"{\"records\": [{}]}".to_vec(),
        b"{\"records\": [1, 2, 3]}".to_vec(),
        "[".repeat(10_000).into_bytes(),
        b"{\"records\": \"\\ud800\"}".to_vec(),
    ];
    let good = batch(vec![record("sms", "0532 123 45 67", "granted")]).to_string();
    for cut in (1..good.len()).step_by(37) {
        bodies.push(good.as_bytes()[..cut].to_vec());
    }
    for field in [
        "id",
        "channel",
        "recipient",
        "recipientType",
        "status",
        "consentedAt",
        "source",
    ] {
        for value in [
            json!(null),
            json!(1),
            json!([]),
            json!(""),
            json!("x".repeat(400)),
        ] {
            let mut body: Value = serde_json::from_str(&good).unwrap();
            body["records"][0][field] = value;
            bodies.push(body.to_string().into_bytes());
        }
    }
    for body in bodies {
        let (status, answer, _) =
            post_raw(&relay, Some("application/json"), None, body.clone()).await;
        assert!(
            (400..500).contains(&status),
            "{status} for {}: {answer}",
            String::from_utf8_lossy(&body[..body.len().min(80)])
        );
        assert_matches_openapi("/v1/consents", "post", status, &answer);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_the_rate_limit_is_429_with_retry_after() {
    let database = TestDatabase::new(Backend::Sqlite).await;
    let mut settings = config(&database.url);
    settings.rate_limit_per_minute = 3;
    let relay = TestRelay::start_with(database, settings).await;
    let body = batch(vec![record("sms", "0532 123 45 67", "granted")]);
    for _ in 0..3 {
        assert_eq!(relay.post(&body).await.0, 200);
    }
    let response = relay
        .client
        .post(format!("{}/v1/consents", relay.base))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 429);
    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=20).contains(&retry_after), "{retry_after}");
    let answer: Value = response.json().await.unwrap();
    assert_error(429, &answer, 429, "rate_limited");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browsers_from_the_shop_get_cors_headers_and_preflights() {
    let relay = TestRelay::start(Backend::Sqlite).await;
    let preflight = relay
        .client
        .request(
            reqwest::Method::OPTIONS,
            format!("{}/v1/consents", relay.base),
        )
        .header("origin", ORIGIN)
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "content-type, x-csrf-token",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status().as_u16(), 204);
    assert_eq!(preflight.headers()["access-control-allow-origin"], ORIGIN);
    assert!(
        preflight.headers()["access-control-allow-methods"]
            .to_str()
            .unwrap()
            .contains("POST")
    );
    assert_eq!(
        preflight.headers()["access-control-allow-headers"],
        "content-type, x-csrf-token"
    );
    let foreign = relay
        .client
        .request(
            reqwest::Method::OPTIONS,
            format!("{}/v1/consents", relay.base),
        )
        .header("origin", "https://evil.test")
        .send()
        .await
        .unwrap();
    assert_eq!(foreign.status().as_u16(), 403);
    assert!(
        foreign
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
    let body = batch(vec![record("sms", "0532 123 45 67", "granted")])
        .to_string()
        .into_bytes();
    let (status, _, headers) = post_raw(&relay, Some("application/json"), Some(ORIGIN), body).await;
    assert_eq!(status, 200);
    assert_eq!(headers["access-control-allow-origin"], ORIGIN);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_consent_date_is_the_client_time_only_when_it_is_plausible_and_late_says_so() {
    let relay = TestRelay::start(Backend::Sqlite).await;
    let now = consent_core::Timestamp::parse_rfc3339(&now_rfc3339()).unwrap();
    let at = |offset_millis: i64| now.add_millis(offset_millis).to_rfc3339();
    let cases = [
        (at(-5_000), true),
        (at(-3_600_000), false),
        (at(3_600_000), false),
        ("2015-01-01T00:00:00.000Z".to_owned(), false),
    ];
    for (consented_at, is_client) in cases {
        let mut sent = record("email", "ali@example.com", "granted");
        sent["consentedAt"] = json!(consented_at);
        let (status, body) = relay.post(&batch(vec![sent.clone()])).await;
        assert_eq!(status, 200, "{body}");
        let stored = relay.store.records(None, None).await.unwrap();
        let stored = stored
            .iter()
            .find(|record| record.plain.id == sent["id"])
            .unwrap();
        let expected_origin = if is_client { "Client" } else { "Receipt" };
        assert_eq!(
            format!("{:?}", stored.plain.consent_date_origin),
            expected_origin,
            "{consented_at}"
        );
        assert_eq!(
            stored.plain.consented_at,
            consent_core::Timestamp::parse_rfc3339(&consented_at)
                .unwrap()
                .to_rfc3339()
        );
        let expected_date = if is_client {
            consent_core::IysDateTime::from_instant(
                consent_core::Timestamp::parse_rfc3339(&consented_at).unwrap(),
            )
            .to_string()
        } else {
            consent_core::IysDateTime::from_instant(
                consent_core::Timestamp::parse_rfc3339(&stored.plain.received_at).unwrap(),
            )
            .to_string()
        };
        assert_eq!(body["records"][0]["consentDate"], expected_date.as_str());
        // Only the decision of 2015 reached the relay after İYS's window.
        let late = consented_at.starts_with("2015");
        assert_eq!(body["records"][0]["late"], late, "{consented_at}");
        assert_matches_openapi("/v1/consents", "post", 200, &body);
    }
}

async fn state_request(relay: &TestRelay, token: Option<&str>, query: &str) -> (u16, Value) {
    let mut request = relay
        .client
        .get(format!("{}/v1/consents/state?{query}", relay.base));
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap();
    assert_matches_openapi("/v1/consents/state", "get", status, &body);
    (status, body)
}

fn token_for(phone: Option<&str>, email: Option<&str>, lifetime_seconds: i64) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    token::sign(
        TOKEN_SECRET.as_bytes(),
        &Claims {
            phone: phone.map(str::to_owned),
            email: email.map(str::to_owned),
            recipient_type: consent_core::RecipientType::Individual,
            exp: now + lifetime_seconds,
        },
    )
}

async fn the_preference_centre_reads_the_latest_decision_with_a_token(backend: Backend) {
    let relay = TestRelay::start(backend).await;
    let granted = record("sms", "0532 123 45 67", "granted");
    relay
        .post(&batch(vec![
            granted,
            record("email", "ali@example.com", "granted"),
        ]))
        .await;
    let mut refused = record("sms", "+905321234567", "rejected");
    refused["consentedAt"] = json!(
        consent_core::Timestamp::parse_rfc3339(&now_rfc3339())
            .unwrap()
            .add_millis(1_000)
            .to_rfc3339()
    );
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    relay.post(&batch(vec![refused])).await;

    let token = token_for(Some("0532 123 45 67"), Some("Ali@Example.com"), 600);
    let (status, body) = state_request(&relay, Some(&token), "").await;
    assert_eq!(status, 200, "{body}");
    let channels = body["channels"].as_array().unwrap();
    let of = |name: &str| {
        channels
            .iter()
            .find(|channel| channel["channel"] == name)
            .unwrap()
            .clone()
    };
    assert_eq!(of("sms")["status"], "rejected");
    assert_eq!(of("call")["status"], Value::Null);
    assert_eq!(of("email")["status"], "granted");

    let expired = token_for(Some("05321234567"), None, -1);
    let other = token_for(Some("05551234567"), None, 600);
    let mut forged = token.clone();
    forged.pop();
    forged.push(if token.ends_with('A') { 'B' } else { 'A' });
    for token in [
        None,
        Some(expired.as_str()),
        Some(forged.as_str()),
        Some("not-a-token"),
    ] {
        let (status, body) = state_request(&relay, token, "").await;
        assert_eq!(status, 401, "{token:?}: {body}");
        assert_eq!(body["code"], "unauthorized");
    }
    // Another customer's token reads that customer's state, never this one's.
    let (status, body) = state_request(&relay, Some(&other), "").await;
    assert_eq!(status, 200);
    assert!(
        body["channels"]
            .as_array()
            .unwrap()
            .iter()
            .all(|channel| channel["status"].is_null()),
        "{body}"
    );
    // An address in the URL is refused, even the token's own.
    for query in ["phone=05321234567", "email=ali%40example.com"] {
        let (status, body) = state_request(&relay, Some(&token), query).await;
        assert_eq!(status, 422, "{query}: {body}");
        assert_eq!(body["code"], "invalid_record");
    }
}
both_backends!(
    preference_centre,
    the_preference_centre_reads_the_latest_decision_with_a_token
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_answers_ok() {
    let relay = TestRelay::start(Backend::Sqlite).await;
    let response = relay
        .client
        .get(format!("{}/v1/health", relay.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let body: Value = response.json().await.unwrap();
    assert_matches_openapi("/v1/health", "get", 200, &body);
    assert_eq!(body["status"], "ok");
}

/// The code block that follows `marker` in the README.
fn readme_block(marker: &str) -> String {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md")).unwrap();
    let after = &readme[readme.find(marker).unwrap()..];
    let start = after.find("```").unwrap();
    let code = &after[start..];
    let code = &code[code.find('\n').unwrap() + 1..];
    code[..code.find("```").unwrap()].to_owned()
}

#[test]
fn the_readme_token_examples_make_tokens_the_relay_accepts() {
    let javascript = format!(
        "{}\nprocess.stdout.write(preferenceToken('{TOKEN_SECRET}', {{ phone: '0532 123 45 67', email: 'ali@example.com' }}));",
        readme_block("In Node.js:")
    );
    let node = std::process::Command::new("node")
        .args(["--input-type=module", "-e", &javascript])
        .output()
        .unwrap();
    assert!(
        node.status.success(),
        "{}",
        String::from_utf8_lossy(&node.stderr)
    );
    let python = format!(
        "{}\nprint(preference_token(b'{TOKEN_SECRET}', phone='0532 123 45 67', email='ali@example.com'), end='')",
        readme_block("In Python:")
    );
    let python = std::process::Command::new("python3")
        .args(["-c", &python])
        .output()
        .unwrap();
    assert!(
        python.status.success(),
        "{}",
        String::from_utf8_lossy(&python.stderr)
    );
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    for output in [node.stdout, python.stdout] {
        let token = String::from_utf8(output).unwrap();
        let grant = token::verify(TOKEN_SECRET.as_bytes(), &token, now).unwrap();
        assert_eq!(grant.phone.as_deref(), Some("+905321234567"));
        assert_eq!(grant.email.as_deref(), Some("ali@example.com"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_that_cannot_commit_is_a_503_with_retry_after_and_health_says_so() {
    let relay = TestRelay::start(Backend::Sqlite).await;
    relay.store.pool().close().await;
    let response = relay
        .client
        .post(format!("{}/v1/consents", relay.base))
        .header("content-type", "application/json")
        .body(batch(vec![record("sms", "0532 123 45 67", "granted")]).to_string())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let retry_after = response.headers().get("retry-after").cloned();
    let body: Value = response.json().await.unwrap();
    assert_error(status, &body, 503, "storage_unavailable");
    assert_eq!(retry_after.unwrap(), "5");
    let message = body["message"].as_str().unwrap();
    assert!(
        !message.to_lowercase().contains("pool") && !message.contains("sqlite"),
        "{message}"
    );
    let health = relay
        .client
        .get(format!("{}/v1/health", relay.base))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status().as_u16(), 503);
    let body: Value = health.json().await.unwrap();
    assert_matches_openapi("/v1/health", "get", 503, &body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_answer_only_the_bearer_of_the_metrics_token() {
    let database = TestDatabase::new(Backend::Sqlite).await;
    let mut settings = config(&database.url);
    settings.metrics_token = Some("a-metrics-token-for-the-test".to_owned());
    let relay = TestRelay::start_with(database, settings).await;
    let get = |token: Option<&str>| {
        let mut request = relay.client.get(format!("{}/metrics", relay.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send()
    };
    assert_eq!(get(None).await.unwrap().status().as_u16(), 401);
    assert_eq!(
        get(Some("a-metrics-token-for-the-tesT"))
            .await
            .unwrap()
            .status()
            .as_u16(),
        401
    );
    let answer = get(Some("a-metrics-token-for-the-test")).await.unwrap();
    assert_eq!(answer.status().as_u16(), 200);
    let text = answer.text().await.unwrap();
    assert!(text.contains("iys_relay_pending_records 0"));
    assert!(
        !text.contains("iys_relay_reconciliation_unlisted"),
        "nothing reconciled yet"
    );
    // The newest reconciliation shows.
    for (day, unlisted) in [("2026-12-04", 0), ("2026-12-05", 2)] {
        relay
            .store
            .record_reconciliation(&iys_relay::store::forwarding::ReconciliationRecord {
                day: day.to_owned(),
                ran_at_ms: 0,
                listed: 7,
                known: 6,
                applied: 1,
                waiting: 0,
                unlisted,
            })
            .await
            .unwrap();
    }
    let text = get(Some("a-metrics-token-for-the-test"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.contains("iys_relay_reconciliation_unlisted 2"),
        "{text}"
    );
    assert!(text.contains("iys_relay_reconciliation_movements{kind=\"applied\"} 1"));
    // 2026-12-05 00:00 in Türkiye is 2026-12-04 21:00 UTC.
    assert!(
        text.contains("iys_relay_reconciled_day_timestamp_seconds 1796418000"),
        "{text}"
    );

    // Without a token configured, nobody reads them.
    let open = TestRelay::start(Backend::Sqlite).await;
    let answer = open
        .client
        .get(format!("{}/metrics", open.base))
        .bearer_auth("anything-at-all-here")
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status().as_u16(), 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forwarded_address_a_trusted_proxy_garbled_is_refused_not_guessed() {
    let database = TestDatabase::new(Backend::Sqlite).await;
    let mut settings = config(&database.url);
    settings.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    let relay = TestRelay::start_with(database, settings).await;
    let send = |forwarded: &'static str| {
        relay
            .client
            .post(format!("{}/v1/consents", relay.base))
            .header("content-type", "application/json")
            .header("x-forwarded-for", forwarded)
            .body(batch(vec![record("sms", "0532 123 45 67", "granted")]).to_string())
            .send()
    };
    let refused = send("198.51.100.7, not-an-address").await.unwrap();
    assert_eq!(refused.status().as_u16(), 400);
    let body: Value = refused.json().await.unwrap();
    assert_error(400, &body, 400, "invalid_forwarded_for");
    assert_eq!(relay.count("consents").await, 0, "nothing was stored");
    let stored = send("203.0.113.9").await.unwrap();
    assert_eq!(stored.status().as_u16(), 200);
    let records = relay.store.records(None, None).await.unwrap();
    assert_eq!(
        records[0].plain.details.client_ip.as_deref(),
        Some("203.0.113.9")
    );
}

async fn an_id_sent_again_with_another_payload_is_a_conflicting_duplicate(backend: Backend) {
    let relay = TestRelay::start(backend).await;
    let first = record("email", "ali@example.com", "granted");
    assert_eq!(relay.post(&batch(vec![first.clone()])).await.0, 200);
    let (status, body) = relay.post(&batch(vec![first.clone()])).await;
    assert_eq!(
        (status, body["records"][0]["outcome"].as_str()),
        (200, Some("duplicate"))
    );
    let mut changed = first.clone();
    changed["status"] = json!("rejected");
    let fresh = record("sms", "0532 123 45 67", "granted");
    let (status, body) = relay
        .post(&batch(vec![fresh.clone(), changed.clone()]))
        .await;
    assert_error(status, &body, 409, "conflicting_duplicate");
    assert_eq!(body["field"], "records[1].id");
    assert_eq!(
        relay.count("consents").await,
        1,
        "nothing of the request was stored"
    );
    // The same new id with two payloads at once: one is stored, the other refused.
    let racing = record("email", "veli@example.com", "granted");
    let mut rival = racing.clone();
    rival["recipient"] = json!("ayse@example.com");
    let (racing, rival) = (batch(vec![racing]), batch(vec![rival]));
    let (a, b) = tokio::join!(relay.post(&racing), relay.post(&rival));
    let mut statuses = [a.0, b.0];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 409]);
    assert_eq!(relay.count("consents").await, 2);
    assert_eq!(relay.store.verify().await.unwrap().problem, None);
}
both_backends!(
    conflicting_duplicate,
    an_id_sent_again_with_another_payload_is_a_conflicting_duplicate
);
