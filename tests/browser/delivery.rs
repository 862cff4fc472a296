//! Delivery against a relay stand-in on 127.0.0.1 that fails on command: every scenario must end
//! with each record stored exactly once, or kept as failed and reported.

use iys_consent::{ConsentWidget, bindings, mount};
use js_sys::{Array, JSON, Object, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::wasm_bindgen_test;

use crate::{
    checkbox, collect, find, fresh_host, options, pause, prop, settle, storage_keys, storage_read,
};

#[allow(
    clippy::option_env_unwrap,
    reason = "these tests need the server cargo xtask test starts"
)]
fn server() -> &'static str {
    option_env!("IYS_FAULT_SERVER")
        .expect("IYS_FAULT_SERVER is not set: run the browser tests through `cargo xtask test`")
}

/// A scenario name no other test or run uses.
fn scenario(name: &str) -> String {
    let stamp = js_sys::Date::now() as u64;
    let random = bindings::random_bytes(4);
    format!(
        "{name}-{stamp}-{:02x}{:02x}{:02x}{:02x}",
        random[0], random[1], random[2], random[3]
    )
}

fn endpoint(scenario: &str) -> String {
    format!("{}/s/{scenario}/v1/consents", server())
}

async fn call(method: &str, url: &str, body: Option<String>) -> JsValue {
    let headers = Object::new();
    Reflect::set(&headers, &"content-type".into(), &"application/json".into()).unwrap();
    let answer = JsFuture::from(bindings::send(
        method,
        url,
        body.map_or(JsValue::UNDEFINED, JsValue::from),
        &headers,
        10_000,
        false,
    ))
    .await
    .unwrap();
    assert_eq!(prop(&answer, "status"), 200, "{method} {url}");
    JSON::parse(&prop(&answer, "body").as_string().unwrap()).unwrap()
}

async fn plan(scenario: &str, actions: &[&str]) {
    let body = JSON::stringify(
        &actions
            .iter()
            .map(|action| JsValue::from_str(action))
            .collect::<Array>(),
    )
    .unwrap()
    .as_string()
    .unwrap();
    call(
        "POST",
        &format!("{}/s/{scenario}/plan", server()),
        Some(body),
    )
    .await;
}

async fn server_log(scenario: &str) -> JsValue {
    call("GET", &format!("{}/s/{scenario}/log", server()), None).await
}

fn count(log: &JsValue, table: &str, id: &str) -> u32 {
    prop(&prop(log, table), id).as_f64().unwrap_or(0.0) as u32
}

/// Waits until `ids` are all stored and the widget holds nothing pending, or fails.
async fn until_stored(
    scenario: &str,
    widget: &ConsentWidget,
    ids: &[String],
    within_millis: i32,
) -> JsValue {
    let mut waited = 0;
    loop {
        let log = server_log(scenario).await;
        let pending = prop(&widget.state().unwrap(), "pending").as_f64().unwrap();
        if ids.iter().all(|id| count(&log, "stored", id) >= 1) && pending == 0.0 {
            return log;
        }
        assert!(
            waited < within_millis,
            "not all stored after {waited} ms: {}",
            JSON::stringify(&log).unwrap()
        );
        pause(100).await;
        waited += 100;
    }
}

fn headless(endpoint: &str, extra: &str) -> ConsentWidget {
    let host = fresh_host();
    mount(
        host.into(),
        options(&format!(
            r#"{{"endpoint": "{endpoint}", "mode": "headless", "brand": "Örnek Mağaza"{extra}}}"#
        )),
    )
    .unwrap()
}

fn decisions() -> JsValue {
    options(
        r#"[{"channel": "sms", "status": "granted", "recipient": "0532 123 45 67"},
            {"channel": "email", "status": "granted", "recipient": "Ali@Example.com"}]"#,
    )
}

fn ids_of(result: &JsValue) -> Vec<String> {
    Array::from(&prop(result, "records"))
        .iter()
        .map(|record| prop(&record, "id").as_string().unwrap())
        .collect()
}

async fn record(widget: &ConsentWidget, decisions: JsValue) -> JsValue {
    JsFuture::from(widget.record(decisions).unwrap())
        .await
        .unwrap()
}

#[wasm_bindgen_test]
async fn a_newsletter_signup_is_stored_once_with_receipts() {
    let scenario = scenario("newsletter");
    let host = fresh_host();
    let widget = mount(
        host.clone().into(),
        options(&format!(r#"{{"endpoint": "{}", "mode": "newsletter", "brand": "Örnek Mağaza", "channels": ["email", "sms"]}}"#, endpoint(&scenario))),
    )
    .unwrap();
    let sent = collect(&widget, "iys:sent");
    let submitted = collect(&widget, "iys:submit");
    settle().await;
    crate::type_into(
        &find(&host, "input[type=email]").unchecked_into(),
        "ali@example.com",
    );
    crate::type_into(
        &find(&host, "input[type=tel]").unchecked_into(),
        "0532 123 45 67",
    );
    checkbox(&host, "email").click();
    checkbox(&host, "sms").click();
    settle().await;
    let result = JsFuture::from(widget.submit().unwrap()).await.unwrap();
    assert_eq!(prop(&result, "status"), "sent");
    let ids = ids_of(&result);
    assert_eq!(ids.len(), 2);
    let log = until_stored(&scenario, &widget, &ids, 5_000).await;
    for id in &ids {
        assert_eq!(count(&log, "stored", id), 1);
        assert_eq!(count(&log, "posts", id), 1);
        assert_eq!(
            prop(&prop(&prop(&log, "records"), id), "mode"),
            "newsletter"
        );
    }
    assert_eq!(submitted.length(), 1);
    assert_eq!(sent.length(), 1);
    let receipts = Array::from(&prop(&sent.get(0), "receipts"));
    assert_eq!(receipts.length(), 2);
    assert_eq!(prop(&receipts.get(0), "outcome"), "stored");
    assert_eq!(prop(&receipts.get(0), "late"), JsValue::FALSE);
    settle().await;
    assert_eq!(
        find(&host, "[role=status]").text_content().unwrap(),
        "İzniniz kaydedildi."
    );
}

#[wasm_bindgen_test]
async fn every_fault_ends_with_each_record_stored_exactly_once() {
    for faults in [
        &["500"][..],
        &["503:1"],
        &["429:1"],
        &["reset"],
        &["drop"],
        &["hang"],
        &["500", "reset", "503:1"],
    ] {
        let scenario = scenario("fault");
        plan(&scenario, faults).await;
        let widget = headless(&endpoint(&scenario), r#", "timeoutMs": 1500"#);
        let queued = collect(&widget, "iys:queued");
        let result = record(&widget, decisions()).await;
        // Chromium itself resends a request whose reused connection closed before any answer,
        // so after `reset` or `drop` the first try may already succeed.
        let browser_may_resend = matches!(faults[0], "reset" | "drop");
        if !browser_may_resend {
            assert_eq!(prop(&result, "status"), "queued", "{faults:?}");
        }
        let ids = ids_of(&result);
        let log = until_stored(&scenario, &widget, &ids, 20_000).await;
        for id in &ids {
            assert_eq!(count(&log, "stored", id), 1, "{faults:?}");
            assert!(
                count(&log, "posts", id) <= faults.len() as u32 + 1,
                "{faults:?}"
            );
        }
        if faults == ["drop"] {
            // The first answer was lost after the record was stored: the retry is a duplicate.
            assert_eq!(count(&log, "posts", &ids[0]), 2);
        }
        if !browser_may_resend {
            assert!(queued.length() >= 1, "{faults:?}");
        }
        if faults[0].contains(':') {
            let retry_in = prop(&queued.get(0), "retryInMs").as_f64().unwrap();
            assert_eq!(retry_in, 1_000.0, "Retry-After is honoured");
        }
    }
}

#[wasm_bindgen_test]
async fn a_refusal_of_one_record_fails_only_that_record() {
    let scenario = scenario("refused");
    plan(&scenario, &["422:0"]).await;
    let mut widget = headless(&endpoint(&scenario), "");
    let errors = collect(&widget, "iys:error");
    let result = record(&widget, decisions()).await;
    assert_eq!(prop(&result, "status"), "failed");
    let ids = ids_of(&result);
    assert_eq!(errors.length(), 1);
    assert_eq!(prop(&errors.get(0), "code"), "delivery_failed");
    assert_eq!(prop(&errors.get(0), "relayCode"), "invalid_recipient");
    assert_eq!(
        Array::from(&prop(&errors.get(0), "ids")).to_vec(),
        [JsValue::from_str(&ids[0])]
    );
    // The other record was not refused: it goes again at once and is stored.
    let log = until_stored(&scenario, &widget, &ids[1..], 10_000).await;
    assert_eq!(count(&log, "stored", &ids[1]), 1);
    assert_eq!(
        count(&log, "stored", &ids[0]),
        0,
        "a final refusal is never retried"
    );
    pause(1_500).await;
    assert_eq!(prop(&server_log(&scenario).await, "requests"), 2);
    let state = widget.state().unwrap();
    let failed = Array::from(&prop(&state, "failed"));
    assert_eq!(failed.length(), 1);
    assert_eq!(prop(&failed.get(0), "id"), ids[0].as_str());
    assert_eq!(prop(&state, "pending"), 0);
    widget.destroy();
    forget(&ids);
}

#[wasm_bindgen_test]
async fn answers_that_say_the_setup_is_wrong_keep_every_record_queued() {
    for (action, relay_code) in [
        ("401", "unauthorized"),
        ("403", "origin_not_allowed"),
        ("404", "not_found"),
        ("405", "method_not_allowed"),
        ("413", "payload_too_large"),
        ("415", "unsupported_media_type"),
        ("422", "invalid_record"),
        ("garbage", "http_400"),
    ] {
        let scenario = scenario("setup");
        plan(&scenario, &[action]).await;
        let mut widget = headless(&endpoint(&scenario), "");
        let errors = collect(&widget, "iys:error");
        let result = record(&widget, decisions()).await;
        assert_eq!(prop(&result, "status"), "queued", "{action}");
        let ids = ids_of(&result);
        assert_eq!(errors.length(), 1, "{action}");
        assert_eq!(prop(&errors.get(0), "code"), "delivery_held", "{action}");
        assert_eq!(prop(&errors.get(0), "relayCode"), relay_code, "{action}");
        let retry_in = prop(&errors.get(0), "retryInMs").as_f64().unwrap();
        assert!(
            retry_in >= 60_000.0,
            "{action}: held for minutes, not {retry_in} ms"
        );
        pause(300).await;
        let state = widget.state().unwrap();
        assert_eq!(prop(&state, "pending"), 2, "{action}: every record is kept");
        assert_eq!(Array::from(&prop(&state, "failed")).length(), 0, "{action}");
        for id in &ids {
            let key = format!("{}{id}", iys_consent::outbox::STORAGE_PREFIX);
            assert!(
                storage_read(&key).unwrap().is_some(),
                "{action}: record {id} left the outbox"
            );
        }
        assert_eq!(
            prop(&server_log(&scenario).await, "requests"),
            1,
            "{action}: not retried at once"
        );
        widget.destroy();
        forget(&ids);
    }
}

#[wasm_bindgen_test]
async fn records_held_by_a_wrong_origin_arrive_once_after_the_relay_is_mended() {
    let scenario = scenario("mended");
    plan(&scenario, &["403"]).await;
    let mut first = headless(&endpoint(&scenario), "");
    let result = record(&first, decisions()).await;
    assert_eq!(prop(&result, "status"), "queued");
    let ids = ids_of(&result);
    // The shop adds its origin to the relay's list; the next page load sends what was held.
    first.destroy();
    let next_page = headless(&endpoint(&scenario), "");
    let log = until_stored(&scenario, &next_page, &ids, 10_000).await;
    for id in &ids {
        assert_eq!(count(&log, "stored", id), 1);
        assert_eq!(count(&log, "posts", id), 1, "sent once after the mend");
    }
    assert_eq!(prop(&log, "requests"), 2);
    forget(&ids);
}

#[wasm_bindgen_test]
async fn a_refused_connection_keeps_the_records_queued_on_the_device() {
    let widget = headless("http://127.0.0.1:9/v1/consents", "");
    let queued = collect(&widget, "iys:queued");
    let result = record(&widget, decisions()).await;
    assert_eq!(prop(&result, "status"), "queued");
    assert_eq!(prop(&queued.get(0), "status"), 0);
    assert_eq!(prop(&queued.get(0), "persisted"), JsValue::TRUE);
    assert_eq!(prop(&widget.state().unwrap(), "pending"), 2);
    for id in ids_of(&result) {
        let key = format!("{}{id}", iys_consent::outbox::STORAGE_PREFIX);
        let stored = storage_read(&key).unwrap();
        assert!(
            stored.is_some_and(|entry| entry.contains(&id)),
            "record {id} is not in localStorage"
        );
    }
}

#[wasm_bindgen_test]
async fn the_next_page_load_resumes_a_send_cut_short() {
    let scenario = scenario("reload");
    plan(&scenario, &["hang"]).await;
    let endpoint = endpoint(&scenario);
    let mut first = headless(&endpoint, r#", "timeoutMs": 20000"#);
    let promise = first.record(decisions()).unwrap();
    let mut waited = 0;
    while prop(&server_log(&scenario).await, "requests") != 1 {
        assert!(waited < 5_000, "the first send never reached the server");
        pause(50).await;
        waited += 50;
    }
    // The page goes away mid-send.
    first.destroy();
    drop(promise);
    let second = headless(&endpoint, "");
    let ids: Vec<String> = storage_keys(iys_consent::outbox::STORAGE_PREFIX)
        .iter()
        .filter_map(|key| storage_read(key).unwrap())
        .map(|text| JSON::parse(&text).unwrap())
        .filter(|entry| prop(entry, "endpoint") == endpoint.as_str())
        .map(|entry| prop(&entry, "id").as_string().unwrap())
        .collect();
    assert_eq!(ids.len(), 2, "both records survived the page");
    let log = until_stored(&scenario, &second, &ids, 10_000).await;
    for id in &ids {
        assert_eq!(count(&log, "stored", id), 1);
    }
}

#[wasm_bindgen_test]
async fn two_tabs_never_send_the_same_record() {
    let scenario = scenario("tabs");
    let endpoint = endpoint(&scenario);
    let first = headless(&endpoint, "");
    let second = headless(&endpoint, "");
    // Both start before either is awaited.
    let from_first = first.record(decisions()).unwrap();
    let from_second = second.record(decisions()).unwrap();
    let a = JsFuture::from(from_first).await.unwrap();
    let b = JsFuture::from(from_second).await.unwrap();
    let mut ids = ids_of(&a);
    ids.extend(ids_of(&b));
    let log = until_stored(&scenario, &first, &ids, 5_000).await;
    for id in &ids {
        assert_eq!(count(&log, "posts", id), 1, "record {id} was sent twice");
    }

    // A record one tab is sending is left alone by a tab that opens meanwhile.
    let scenario = self::scenario("lease");
    plan(&scenario, &["hang"]).await;
    let endpoint = self::endpoint(&scenario);
    let sender = headless(&endpoint, r#", "timeoutMs": 3000"#);
    let promise = sender.record(decisions()).unwrap();
    let mut waited = 0;
    while prop(&server_log(&scenario).await, "requests") != 1 {
        assert!(waited < 5_000);
        pause(50).await;
        waited += 50;
    }
    let _opened = headless(&endpoint, "");
    pause(1_000).await;
    assert_eq!(
        prop(&server_log(&scenario).await, "requests"),
        1,
        "the new tab sent a leased record"
    );
    let result = JsFuture::from(promise).await.unwrap();
    let ids = ids_of(&result);
    let log = until_stored(&scenario, &sender, &ids, 15_000).await;
    for id in &ids {
        assert_eq!(count(&log, "stored", id), 1);
    }
}

#[wasm_bindgen_test]
async fn with_storage_full_records_are_still_sent_and_the_page_is_told() {
    // Fill the origin's storage to the last few bytes, with ever smaller chunks.
    let mut fillers = Vec::new();
    for size in [512 * 1024, 32 * 1024, 1024, 16] {
        let chunk = "x".repeat(size);
        loop {
            let key = format!("iys-test-fill-{}", fillers.len());
            if bindings::storage_write(&key, Some(chunk.clone())).is_err() {
                break;
            }
            fillers.push(key);
        }
    }
    let scenario = scenario("full");
    let widget = headless(&endpoint(&scenario), "");
    let errors = collect(&widget, "iys:error");
    let result = record(&widget, decisions()).await;
    for key in &fillers {
        bindings::storage_write(key, None).unwrap();
    }
    assert_eq!(prop(&result, "status"), "sent");
    let log = until_stored(&scenario, &widget, &ids_of(&result), 5_000).await;
    assert_eq!(count(&log, "stored", &ids_of(&result)[0]), 1);
    assert!(
        errors
            .iter()
            .any(|error| prop(&error, "code") == "not_persisted"),
        "the page was not told"
    );
}

#[wasm_bindgen_test]
async fn with_storage_disabled_records_are_still_sent() {
    let block = js_sys::Function::new_no_args(
        "globalThis.__iysSaved = Object.getOwnPropertyDescriptor(window, 'localStorage');
         Object.defineProperty(window, 'localStorage', { configurable: true, get() { throw new DOMException('blocked', 'SecurityError'); } });",
    );
    let restore = js_sys::Function::new_no_args(
        "if (globalThis.__iysSaved) { Object.defineProperty(window, 'localStorage', globalThis.__iysSaved); } else { delete window.localStorage; }",
    );
    block.call0(&JsValue::NULL).unwrap();
    assert!(storage_read("x").is_err(), "storage is not blocked");
    let scenario = scenario("disabled");
    let widget = headless(&endpoint(&scenario), "");
    let errors = collect(&widget, "iys:error");
    let result = record(&widget, decisions()).await;
    let log = until_stored(&scenario, &widget, &ids_of(&result), 5_000).await;
    restore.call0(&JsValue::NULL).unwrap();
    assert_eq!(prop(&result, "status"), "sent");
    assert_eq!(count(&log, "stored", &ids_of(&result)[1]), 1);
    assert!(
        errors
            .iter()
            .any(|error| prop(&error, "code") == "not_persisted")
    );
}

/// Dispatches `pagehide` as the page would going away (see [`only_outbox_of`]).
fn page_goes_away(endpoint: &str) {
    only_outbox_of(endpoint);
    web_sys::window()
        .unwrap()
        .dispatch_event(&web_sys::Event::new("pagehide").unwrap())
        .unwrap();
}

/// Drops the records of every endpoint but `endpoint` from the outbox. Every widget still
/// mounted on the test page hears a page going away, so only `endpoint`'s records may go then,
/// and other tests' leftovers cannot use up the browser's budget for `keepalive` requests.
fn only_outbox_of(endpoint: &str) {
    for key in storage_keys(iys_consent::outbox::STORAGE_PREFIX) {
        let entry = JSON::parse(&storage_read(&key).unwrap().unwrap()).unwrap();
        if prop(&entry, "endpoint") != endpoint {
            bindings::storage_write(&key, None).unwrap();
        }
    }
}

/// Makes the test page's document say it is `state` (`visible` or `hidden`), and tells it, as
/// a browser does when the person switches tabs.
fn visibility_changes_to(state: &str) {
    let document = web_sys::window().unwrap().document().unwrap();
    let descriptor = Object::new();
    Reflect::set(&descriptor, &"value".into(), &state.into()).unwrap();
    Reflect::set(&descriptor, &"configurable".into(), &true.into()).unwrap();
    Reflect::define_property(&document, &"visibilityState".into(), &descriptor).unwrap();
    document
        .dispatch_event(&web_sys::Event::new("visibilitychange").unwrap())
        .unwrap();
}

/// Removes the records of `ids` from the outbox.
fn forget(ids: &[String]) {
    for id in ids {
        bindings::storage_write(
            &format!("{}{id}", iys_consent::outbox::STORAGE_PREFIX),
            None,
        )
        .unwrap();
    }
}

/// An e-mail record for `endpoint` decided at `at`, its id made at `id_time`.
fn email_record(
    endpoint: &str,
    recipient: &str,
    at: consent_core::Timestamp,
    id_time: consent_core::Timestamp,
) -> iys_consent::record::BuiltRecord {
    let options_struct = iys_consent::options::Options::from_js(&options(&format!(
        r#"{{"endpoint": "{endpoint}", "mode": "headless", "brand": "B"}}"#
    )))
    .unwrap();
    let decision = iys_consent::record::Decision {
        channel: consent_core::Channel::Email,
        status: consent_core::ConsentStatus::Granted,
        recipient,
        text: "Eski bir onay metni.",
        locale: consent_core::Locale::Turkish,
        page_url: "https://shop.example/",
        user_agent: "test",
        at,
        name: None,
        recipient_type: consent_core::RecipientType::Individual,
    };
    iys_consent::record::build(
        &options_struct,
        &decision,
        iys_consent::record::new_id(id_time),
    )
    .unwrap()
}

/// Stores an e-mail record in the outbox as an earlier page load would have left it: decided at
/// `at`, its id made at `id_time`, due again at `next_at` (Unix milliseconds). Returns its id.
fn leave_in_outbox(
    endpoint: &str,
    recipient: &str,
    at: consent_core::Timestamp,
    id_time: consent_core::Timestamp,
    next_at: i64,
) -> String {
    let built = email_record(endpoint, recipient, at, id_time);
    let entry = format!(
        r#"{{"id":"{}","endpoint":"{endpoint}","record":{},"state":"pending","attempts":0,"nextAt":{next_at},"leaseOwner":null,"leaseUntil":0,"consentedAt":{}}}"#,
        built.id,
        built.json,
        at.unix_millis()
    );
    let key = format!("{}{}", iys_consent::outbox::STORAGE_PREFIX, built.id);
    bindings::storage_write(&key, Some(entry)).unwrap();
    built.id
}

#[wasm_bindgen_test]
async fn entries_in_the_forms_earlier_versions_stored_are_read_and_kept() {
    let scenario = scenario("formats");
    let endpoint = endpoint(&scenario);
    let now = consent_core::Timestamp::from_unix_millis(js_sys::Date::now() as i64);
    let store = |recipient: &str, members: &str| {
        let built = email_record(&endpoint, recipient, now, now);
        // Written as `JSON.stringify` rewrote an entry: blanks, escapes and members in its order.
        let entry = format!(
            r#"{{"id":"{}","endpoint":"{}","record":{},{members}}}"#,
            built.id,
            endpoint.replace('/', "\\/"),
            built.json
        );
        let key = format!("{}{}", iys_consent::outbox::STORAGE_PREFIX, built.id);
        bindings::storage_write(&key, Some(entry)).unwrap();
        built.id
    };
    // Given up by a version that failed records on a wrong origin: sent again.
    let given_up = store(
        "ayse@example.com",
        r#""state":"failed","attempts":1,"nextAt":0,"leaseOwner":null,"leaseUntil":0,"consentedAt":1,"held":false,"error":{"code":"origin_not_allowed","message":"x","status":403}"#,
    );
    // Refused by the relay for good: kept as failed, not sent.
    let refused = store(
        "veli@example.com",
        r#""state":"failed","attempts":1,"nextAt":0,"leaseOwner":null,"leaseUntil":0,"consentedAt":2,"error":{"code":"invalid_recipient","message":"x","status":422}"#,
    );
    // A member written by a later version, and a damaged number: sent.
    let later = store(
        "can@example.com",
        r#""state":"pending","attempts":"two","nextAt":0,"leaseOwner":null,"leaseUntil":0,"consentedAt":3,"priority":[1,{"a":null}]"#,
    );
    // Not an entry: left alone.
    let garbled_key = format!("{}garbled", iys_consent::outbox::STORAGE_PREFIX);
    bindings::storage_write(&garbled_key, Some("{\"id\":\"garbled\",".to_owned())).unwrap();
    let widget = headless(&endpoint, "");
    let log = until_stored(
        &scenario,
        &widget,
        &[given_up.clone(), later.clone()],
        10_000,
    )
    .await;
    assert_eq!(count(&log, "stored", &given_up), 1);
    assert_eq!(count(&log, "stored", &later), 1);
    assert_eq!(
        count(&log, "posts", &refused),
        0,
        "a refused record is not sent"
    );
    let failed = Array::from(&prop(&widget.state().unwrap(), "failed"));
    assert_eq!(failed.length(), 1);
    assert_eq!(prop(&failed.get(0), "id"), refused.as_str());
    assert_eq!(
        prop(&prop(&failed.get(0), "error"), "code"),
        "invalid_recipient"
    );
    assert_eq!(
        storage_read(&garbled_key).unwrap().as_deref(),
        Some("{\"id\":\"garbled\","),
        "what does not read stays as it was"
    );
    bindings::storage_write(&garbled_key, None).unwrap();
    forget(&[refused]);
}

/// The receipt `iys:sent` reports for a record decided on 5 January 2026, long past İYS's
/// window, delivered to a scenario that meets `actions`.
async fn receipt_of_an_old_record(name: &str, actions: &[&str], address: &str) -> JsValue {
    let scenario = scenario(name);
    plan(&scenario, actions).await;
    let endpoint = endpoint(&scenario);
    let at = consent_core::Timestamp::parse_rfc3339("2026-01-05T09:00:00Z").unwrap();
    let id = leave_in_outbox(&endpoint, address, at, at, 0);
    let widget = headless(&endpoint, "");
    let sent = collect(&widget, "iys:sent");
    until_stored(&scenario, &widget, std::slice::from_ref(&id), 5_000).await;
    let mut waited = 0;
    while sent.length() == 0 && waited < 2_000 {
        pause(50).await;
        waited += 50;
    }
    let receipt = Array::from(&prop(&sent.get(0), "receipts")).get(0);
    assert_eq!(prop(&receipt, "id"), id.as_str());
    receipt
}

#[wasm_bindgen_test]
async fn records_past_the_deadline_are_delivered_and_reported_late() {
    let receipt = receipt_of_an_old_record("late", &[], "ali@example.com").await;
    assert_eq!(prop(&receipt, "late"), JsValue::TRUE);
}

#[wasm_bindgen_test]
async fn a_relay_that_does_not_say_whether_a_record_is_late_gets_it_reported_in_time() {
    let receipt = receipt_of_an_old_record("unsaid", &["unsaid"], "veli@example.com").await;
    assert_eq!(prop(&receipt, "late"), JsValue::FALSE);
}

#[wasm_bindgen_test]
async fn checkout_records_on_the_shops_submit_without_holding_it_back() {
    let scenario = scenario("checkout");
    let host = fresh_host();
    host.set_inner_html(
        r#"<form class="order-form" action="javascript:void 0">
             <input class="order-phone" value="0532 123 45 67"><input class="order-email" value="ali@example.com">
             <input class="order-name" value=" Ali Veli ">
             <div class="order-consent"></div><button type="submit">Buy</button>
           </form>"#,
    );
    let form: web_sys::HtmlFormElement = find(&host, "form").unchecked_into();
    let widget = mount(
        find(&host, ".order-consent").into(),
        options(&format!(
            r#"{{"endpoint": "{}", "brand": "B", "phoneInput": ".order-phone", "emailInput": ".order-email", "nameInput": ".order-name"}}"#,
            endpoint(&scenario)
        )),
    )
    .unwrap();
    settle().await;
    // The shop's own handler, added after the widget's, sees the submit go ahead.
    let prevented = js_sys::Array::new();
    let sink = prevented.clone();
    let listener = wasm_bindgen::closure::Closure::wrap(Box::new(move |event: web_sys::Event| {
        sink.push(&event.default_prevented().into());
        event.prevent_default();
    }) as Box<dyn FnMut(web_sys::Event)>);
    form.add_event_listener_with_callback("submit", listener.as_ref().unchecked_ref())
        .unwrap();
    listener.forget();

    // Nothing ticked: the order goes through and nothing is recorded.
    form.request_submit().unwrap();
    pause(300).await;
    assert_eq!(prop(&server_log(&scenario).await, "requests"), 0);

    checkbox(&host, "sms").click();
    checkbox(&host, "email").click();
    settle().await;
    let submitted = collect(&widget, "iys:submit");
    form.request_submit().unwrap();
    assert_eq!(
        submitted.length(),
        1,
        "records were queued during the submit event itself"
    );
    let ids: Vec<String> = Array::from(&prop(&submitted.get(0), "records"))
        .iter()
        .map(|record| prop(&record, "id").as_string().unwrap())
        .collect();
    let log = until_stored(&scenario, &widget, &ids, 5_000).await;
    assert_eq!(ids.len(), 2);
    for id in &ids {
        let stored = prop(&prop(&log, "records"), id);
        assert_eq!(prop(&stored, "mode"), "checkout");
        assert_eq!(
            prop(&stored, "name"),
            "Ali Veli",
            "the shop's name field goes with it"
        );
    }
    assert_eq!(
        prevented.to_vec(),
        vec![JsValue::FALSE, JsValue::FALSE],
        "the widget never held the submit back"
    );
}

#[wasm_bindgen_test]
async fn preferences_show_the_stored_state_and_record_each_change() {
    let scenario = scenario("prefs");
    let body = r#"{"token": "signed-token", "body": {"recipientType": "individual", "channels": [
        {"channel": "sms", "status": "granted", "consentDate": "2026-11-01 10:00:00"},
        {"channel": "call", "status": null, "consentDate": null},
        {"channel": "email", "status": "rejected", "consentDate": "2026-11-02 10:00:00"}]}}"#;
    call(
        "POST",
        &format!("{}/s/{scenario}/state", server()),
        Some(body.to_owned()),
    )
    .await;
    let host = fresh_host();
    let widget = mount(
        host.clone().into(),
        options(&format!(
            r#"{{"endpoint": "{}", "mode": "preferences", "brand": "B", "stateToken": "signed-token", "phone": "0532 123 45 67", "email": "ali@example.com"}}"#,
            endpoint(&scenario)
        )),
    )
    .unwrap();
    settle().await;
    let mut waited = 0;
    while !checkbox(&host, "sms").checked() {
        assert!(waited < 5_000, "the stored state never showed");
        pause(50).await;
        settle().await;
        waited += 50;
    }
    assert!(!checkbox(&host, "call").checked());
    assert!(!checkbox(&host, "email").checked());
    checkbox(&host, "sms").click();
    settle().await;
    let mut waited = 0;
    loop {
        let log = server_log(&scenario).await;
        let records = prop(&log, "records");
        let keys = Object::keys(&records.clone().unchecked_into::<Object>());
        if keys.length() == 1 {
            let record = prop(&records, &keys.get(0).as_string().unwrap());
            assert_eq!(prop(&record, "channel"), "sms");
            assert_eq!(
                prop(&record, "status"),
                "rejected",
                "unticking records a refusal"
            );
            assert_eq!(prop(&record, "mode"), "preferences");
            break;
        }
        assert!(waited < 5_000, "the refusal never arrived");
        pause(100).await;
        waited += 100;
    }
    assert_eq!(
        prop(&prop(&widget.state().unwrap(), "channels"), "sms"),
        JsValue::FALSE
    );

    // A wrong token leaves the boxes as they are and says so.
    let host = fresh_host();
    let other = mount(
        host.clone().into(),
        options(&format!(
            r#"{{"endpoint": "{}", "mode": "preferences", "brand": "B", "stateToken": "forged", "phone": "0532 123 45 67", "email": "ali@example.com", "locale": "en"}}"#,
            endpoint(&scenario)
        )),
    )
    .unwrap();
    let errors = collect(&other, "iys:error");
    let mut waited = 0;
    while errors.length() == 0 {
        assert!(waited < 5_000);
        pause(50).await;
        waited += 50;
    }
    assert_eq!(prop(&errors.get(0), "code"), "state_unavailable");
    settle().await;
    assert!(
        find(&host, "[role=status]")
            .text_content()
            .unwrap()
            .contains("could not be read")
    );
}

/// `count` granted e-mail decisions, each with its own address and a text of about 4.5 KB.
fn large_email_decisions(count: u32, local_part: &str) -> JsValue {
    let text = format!(
        "Örnek Mağaza e-posta iletileri göndersin. {}",
        "Ayrıntı. ".repeat(360)
    );
    let items: Array = (0..count)
        .map(|index| {
            let item = Object::new();
            Reflect::set(&item, &"channel".into(), &"email".into()).unwrap();
            Reflect::set(&item, &"status".into(), &"granted".into()).unwrap();
            Reflect::set(
                &item,
                &"recipient".into(),
                &format!("{local_part}{index}@example.com").into(),
            )
            .unwrap();
            Reflect::set(&item, &"text".into(), &text.as_str().into()).unwrap();
            JsValue::from(item)
        })
        .collect();
    items.into()
}

#[wasm_bindgen_test]
async fn a_large_submit_goes_in_requests_under_the_relays_body_limit() {
    let scenario = scenario("large");
    let endpoint = endpoint(&scenario);
    let widget = headless(&endpoint, r#", "channels": ["email"]"#);
    let result = record(&widget, large_email_decisions(12, "kisi")).await;
    let ids = ids_of(&result);
    assert_eq!(ids.len(), 12);
    assert_eq!(prop(&result, "status"), "sent");
    let log = until_stored(&scenario, &widget, &ids, 10_000).await;
    // About 4.5 KB each: more than fits in one request under the relay's 64 KiB body limit.
    assert!(prop(&log, "requests").as_f64().unwrap() >= 2.0);
    for id in &ids {
        assert_eq!(count(&log, "posts", id), 1);
        assert_eq!(count(&log, "stored", id), 1);
    }
}

#[wasm_bindgen_test]
async fn the_send_as_the_page_goes_away_keeps_to_one_requests_limits() {
    let scenario = scenario("exit");
    // The ordinary sends meet a 503 that asks for a minute's wait, so every record still waits
    // when the page goes away.
    plan(&scenario, &["503:60", "503:60"]).await;
    let endpoint = endpoint(&scenario);
    let mut widget = headless(&endpoint, r#", "channels": ["email"]"#);
    let result = record(&widget, large_email_decisions(14, "cikis")).await;
    let ids = ids_of(&result);
    assert_eq!(prop(&result, "status"), "queued");
    let before = prop(&server_log(&scenario).await, "requests")
        .as_f64()
        .unwrap();
    assert_eq!(before, 2.0, "14 records of about 4.5 KB go in two requests");

    page_goes_away(&endpoint);
    let mut waited = 0;
    while prop(&server_log(&scenario).await, "requests")
        .as_f64()
        .unwrap()
        < before + 1.0
    {
        assert!(waited < 5_000, "nothing was sent as the page went away");
        pause(50).await;
        waited += 50;
    }
    // One request only, even though it cannot carry every record.
    pause(500).await;
    let log = server_log(&scenario).await;
    assert_eq!(prop(&log, "requests").as_f64().unwrap(), before + 1.0);
    let bodies = Array::from(&prop(&log, "bodies"));
    let exit_bytes = bodies.get(bodies.length() - 1).as_f64().unwrap();
    let sent: Vec<&String> = ids
        .iter()
        .filter(|id| count(&log, "stored", id) == 1)
        .collect();
    // The rule of every request: at most 16 records and 48 KiB of them (a browser refuses a
    // keepalive body over 64 KiB), with the envelope and commas around them.
    let envelope = "{\"records\":[]}".len() + sent.len();
    assert!(
        !sent.is_empty() && sent.len() < ids.len(),
        "{} of {} records went",
        sent.len(),
        ids.len()
    );
    assert!(
        exit_bytes <= (48 * 1024 + envelope) as f64,
        "{exit_bytes} bytes"
    );
    assert!(
        exit_bytes > f64::from(40 * 1024),
        "the request was not filled: {exit_bytes} bytes"
    );
    // Every record stays in the outbox until a later pass confirms it (the relay answers
    // `duplicate` for those that arrived), and none of them was lost.
    assert_eq!(prop(&widget.state().unwrap(), "pending"), ids.len() as f64);
    widget.destroy();
    forget(&ids);
}

#[wasm_bindgen_test]
async fn the_send_as_the_page_goes_away_takes_the_oldest_records_first() {
    let scenario = scenario("exit-order");
    let endpoint = endpoint(&scenario);
    // Twenty records an earlier page load left waiting for a later try, one request and four
    // over, stored youngest first, with ids that run the other way from their ages: neither the
    // order they were stored in nor the order of their keys is their age.
    let now = js_sys::Date::now() as i64;
    let mut by_age: Vec<String> = (0..20_i64)
        .rev()
        .map(|index| {
            leave_in_outbox(
                &endpoint,
                &format!("eski{index}@example.com"),
                consent_core::Timestamp::from_unix_millis(now - 3_600_000 + index * 60_000),
                consent_core::Timestamp::from_unix_millis(now - index * 1_000),
                now + 600_000,
            )
        })
        .collect();
    by_age.reverse();
    let mut widget = headless(&endpoint, "");
    pause(300).await;
    assert_eq!(
        prop(&server_log(&scenario).await, "requests"),
        0,
        "records waiting for a later try were sent early"
    );

    page_goes_away(&endpoint);
    let mut waited = 0;
    while prop(&server_log(&scenario).await, "requests") != 1 {
        assert!(waited < 5_000, "nothing was sent as the page went away");
        pause(50).await;
        waited += 50;
    }
    pause(300).await;
    let log = server_log(&scenario).await;
    let sent: Vec<bool> = by_age
        .iter()
        .map(|id| count(&log, "stored", id) == 1)
        .collect();
    let oldest = iys_consent::outbox::MAX_RECORDS_PER_REQUEST;
    assert_eq!(
        sent,
        (0..by_age.len())
            .map(|index| index < oldest)
            .collect::<Vec<_>>(),
        "the {oldest} oldest records go, and only they"
    );
    widget.destroy();
    forget(&by_age);
}

#[wasm_bindgen_test]
async fn a_page_hidden_from_view_sends_what_waits_and_a_visible_one_does_not() {
    let scenario = scenario("hidden");
    let endpoint = endpoint(&scenario);
    // A record an earlier page load left waiting for a later try.
    let now = js_sys::Date::now() as i64;
    let id = leave_in_outbox(
        &endpoint,
        "gizli@example.com",
        consent_core::Timestamp::from_unix_millis(now - 60_000),
        consent_core::Timestamp::from_unix_millis(now),
        now + 600_000,
    );
    let mut widget = headless(&endpoint, "");
    pause(300).await;

    visibility_changes_to("visible");
    pause(300).await;
    assert_eq!(
        prop(&server_log(&scenario).await, "requests"),
        0,
        "a page coming into view sent a record waiting for a later try"
    );

    only_outbox_of(&endpoint);
    visibility_changes_to("hidden");
    let mut waited = 0;
    while count(&server_log(&scenario).await, "stored", &id) != 1 {
        assert!(waited < 5_000, "nothing was sent as the page was hidden");
        pause(50).await;
        waited += 50;
    }
    let document = web_sys::window().unwrap().document().unwrap();
    Reflect::delete_property(&document, &"visibilityState".into()).unwrap();
    widget.destroy();
    forget(&[id]);
}

#[wasm_bindgen_test]
async fn a_record_names_the_language_its_text_was_shown_in() {
    // Nothing listens on port 9, so the record stays in the outbox to be read.
    let mut widget = headless("http://127.0.0.1:9/v1/consents", "");
    widget.set_locale("en").unwrap();
    let result = record(
        &widget,
        options(r#"[{"channel": "email", "status": "granted", "recipient": "ali@example.com"}]"#),
    )
    .await;
    let ids = ids_of(&result);
    let key = format!("{}{}", iys_consent::outbox::STORAGE_PREFIX, ids[0]);
    let entry = JSON::parse(&storage_read(&key).unwrap().unwrap()).unwrap();
    let evidence = prop(&prop(&entry, "record"), "evidence");
    assert_eq!(prop(&evidence, "locale"), "en");
    assert!(
        prop(&evidence, "text")
            .as_string()
            .unwrap()
            .starts_with("I agree to receive commercial messages from Örnek Mağaza")
    );
    widget.destroy();
    forget(&ids);
}

#[wasm_bindgen_test]
async fn each_decision_keeps_the_text_it_was_shown_with() {
    // Nothing listens on port 9, so the records stay in the outbox to be read.
    let mut widget = headless("http://127.0.0.1:9/v1/consents", "");
    let result = record(
        &widget,
        options(
            r#"[{"channel": "email", "status": "granted", "recipient": "ali@example.com", "text": "Birinci metin."},
                {"channel": "email", "status": "granted", "recipient": "veli@example.com", "text": "İkinci metin."},
                {"channel": "email", "status": "granted", "recipient": "can@example.com"}]"#,
        ),
    )
    .await;
    let ids = ids_of(&result);
    assert_eq!(ids.len(), 3);
    let texts: Vec<String> = ids
        .iter()
        .map(|id| {
            let key = format!("{}{id}", iys_consent::outbox::STORAGE_PREFIX);
            let entry = JSON::parse(&storage_read(&key).unwrap().unwrap()).unwrap();
            let record = prop(&entry, "record");
            assert_eq!(prop(&record, "id"), id.as_str());
            prop(&prop(&record, "evidence"), "text")
                .as_string()
                .unwrap()
        })
        .collect();
    assert_eq!(texts[0], "Birinci metin.");
    assert_eq!(texts[1], "İkinci metin.");
    assert!(
        texts[2].contains("Örnek Mağaza") && texts[2] != texts[0] && texts[2] != texts[1],
        "a decision without a text takes the widget's own, not another decision's: {}",
        texts[2]
    );
    widget.destroy();
    forget(&ids);
}

#[wasm_bindgen_test]
async fn each_headless_decision_carries_the_name_it_was_given() {
    let scenario = scenario("names");
    let widget = headless(&endpoint(&scenario), "");
    let result = record(
        &widget,
        options(
            r#"[{"channel": "email", "status": "granted", "recipient": "ayse@example.com", "name": "Ayşe\nYılmaz"},
                {"channel": "sms", "status": "granted", "recipient": "0532 123 45 67"}]"#,
        ),
    )
    .await;
    let ids = ids_of(&result);
    let log = until_stored(&scenario, &widget, &ids, 5_000).await;
    let records = prop(&log, "records");
    assert_eq!(
        prop(&prop(&records, &ids[0]), "name"),
        "Ayşe Yılmaz",
        "a name on one line, as the relay takes it"
    );
    assert!(prop(&prop(&records, &ids[1]), "name").is_null());
}

#[wasm_bindgen_test]
async fn a_newsletter_with_a_name_field_records_the_name_typed() {
    let scenario = scenario("newsletter-name");
    let host = fresh_host();
    let mut widget = mount(
        host.clone().into(),
        options(&format!(
            r#"{{"endpoint": "{}", "mode": "newsletter", "brand": "B", "channels": ["email"], "nameField": true}}"#,
            endpoint(&scenario)
        )),
    )
    .unwrap();
    settle().await;
    let input: web_sys::HtmlInputElement = find(&host, "input[autocomplete=name]").unchecked_into();
    let label = find(&host, &format!("label[for='{}']", input.id()));
    assert_eq!(label.text_content().unwrap(), "Ad soyad");
    crate::type_into(&input, "Ayşe Yılmaz");
    crate::type_into(
        &find(&host, "input[type=email]").unchecked_into(),
        "ayse@example.com",
    );
    checkbox(&host, "email").click();
    settle().await;
    let result = JsFuture::from(widget.submit().unwrap()).await.unwrap();
    let ids = ids_of(&result);
    let log = until_stored(&scenario, &widget, &ids, 5_000).await;
    assert_eq!(
        prop(&prop(&prop(&log, "records"), &ids[0]), "name"),
        "Ayşe Yılmaz"
    );
    widget.destroy();
    // Without the option, no name field.
    let plain = fresh_host();
    let mut without = mount(
        plain.clone().into(),
        options(&format!(
            r#"{{"endpoint": "{}", "mode": "newsletter", "brand": "B", "channels": ["email"]}}"#,
            endpoint(&scenario)
        )),
    )
    .unwrap();
    settle().await;
    assert!(
        plain
            .query_selector("input[autocomplete=name]")
            .unwrap()
            .is_none()
    );
    without.destroy();
}

#[wasm_bindgen_test]
async fn a_person_offered_the_choice_records_as_a_merchant() {
    let scenario = scenario("newsletter-merchant");
    let host = fresh_host();
    let mut widget = mount(
        host.clone().into(),
        options(&format!(
            r#"{{"endpoint": "{}", "mode": "newsletter", "brand": "B", "channels": ["email"], "recipientTypeChoice": true}}"#,
            endpoint(&scenario)
        )),
    )
    .unwrap();
    settle().await;
    // A group of two radios under a legend of its own, each labelled, the option's type chosen.
    let group = find(&host, "fieldset.iys-consent__kind");
    assert_eq!(
        find(&group, "legend").text_content().unwrap(),
        "İletileri kim olarak alıyorsunuz?"
    );
    let radios = group.query_selector_all("input[type=radio]").unwrap();
    assert_eq!(radios.length(), 2);
    let individual: web_sys::HtmlInputElement =
        find(&group, "input[value=individual]").unchecked_into();
    let merchant: web_sys::HtmlInputElement =
        find(&group, "input[value=merchant]").unchecked_into();
    assert!(individual.checked() && !merchant.checked());
    assert_eq!(
        individual.name(),
        merchant.name(),
        "one group, for arrow keys"
    );
    let label = find(&group, &format!("label[for='{}']", merchant.id()));
    assert_eq!(
        label.text_content().unwrap(),
        "Tacir veya esnaf olarak (işletmem adına)"
    );
    merchant.click();
    settle().await;
    assert!(merchant.checked() && !individual.checked());
    crate::type_into(
        &find(&host, "input[type=email]").unchecked_into(),
        "satis@isletme.example",
    );
    checkbox(&host, "email").click();
    settle().await;
    let result = JsFuture::from(widget.submit().unwrap()).await.unwrap();
    let ids = ids_of(&result);
    let summary = Reflect::get(&prop(&result, "records"), &0.into()).unwrap();
    assert_eq!(
        prop(&summary, "recipientType"),
        "merchant",
        "the shop learns the choice"
    );
    let log = until_stored(&scenario, &widget, &ids, 5_000).await;
    assert_eq!(
        prop(&prop(&prop(&log, "records"), &ids[0]), "recipientType"),
        "merchant"
    );
    widget.destroy();
    // Without the option there is no choice, and the option's type is recorded.
    let plain = fresh_host();
    let mut without = mount(
        plain.clone().into(),
        options(&format!(
            r#"{{"endpoint": "{}", "mode": "newsletter", "brand": "B", "channels": ["email"], "recipientType": "merchant"}}"#,
            endpoint(&scenario)
        )),
    )
    .unwrap();
    settle().await;
    assert!(plain.query_selector("input[type=radio]").unwrap().is_none());
    without.destroy();
    // The choice is for the forms a person fills in.
    let refused = mount(
        fresh_host().into(),
        options(&format!(
            r#"{{"endpoint": "{}", "mode": "headless", "brand": "B", "recipientTypeChoice": true}}"#,
            endpoint(&scenario)
        )),
    );
    assert!(refused.is_err());
}
