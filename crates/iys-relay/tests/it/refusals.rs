//! Refusal links over real HTTP: minted by the API and the command line, opened as a page,
//! used with the button and with RFC 8058's one-click request, recorded in the ledger and
//! forwarded to the sandbox as a RET.

use std::time::Duration;

use consent_core::refusal::LinkAction;
use consent_core::{Channel, Locale, Recipient, RecipientType, Timestamp};
use iys_relay::clock::system_clock;
use iys_relay::refusal::Link;
use iys_relay::store::ProofDetails;
use serde_json::{Value, json};

use crate::both_backends;
use crate::forwarding::{forwarder_with, sandbox_get, settle, start_sandbox};
use crate::support::{
    Backend, TestDatabase, TestRelay, assert_matches_openapi, batch, config, record,
};

const API_TOKEN: &str = "a-backend-token-of-at-least-32-characters";
const BRAND: &str = "Örnek Mağaza";

async fn start_relay(backend: Backend) -> TestRelay {
    let database = TestDatabase::new(backend).await;
    let mut config = config(&database.url);
    config.api_token = Some(API_TOKEN.to_owned());
    config.brand_name = BRAND.to_owned();
    TestRelay::start_with(database, config).await
}

async fn mint(relay: &TestRelay, body: &Value, token: Option<&str>) -> (u16, Value) {
    let mut request = relay
        .client
        .post(format!("{}/v1/refusal-links", relay.base))
        .header("content-type", "application/json")
        .body(body.to_string());
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

struct Page {
    status: u16,
    headers: reqwest::header::HeaderMap,
    html: String,
}

async fn open(client: &reqwest::Client, url: &str) -> Page {
    let response = client.get(url).send().await.unwrap();
    Page {
        status: response.status().as_u16(),
        headers: response.headers().clone(),
        html: response.text().await.unwrap(),
    }
}

async fn submit(client: &reqwest::Client, url: &str, form: &str) -> Page {
    let response = client
        .post(url)
        .header("content-type", "application/x-www-form-urlencoded")
        .header("user-agent", "Mozilla/5.0 (refusal test)")
        .body(form.to_owned())
        .send()
        .await
        .unwrap();
    Page {
        status: response.status().as_u16(),
        headers: response.headers().clone(),
        html: response.text().await.unwrap(),
    }
}

async fn a_refusal_link_records_a_refusal_that_reaches_iys(backend: Backend) {
    let iys = start_sandbox().await;
    let relay = start_relay(backend).await;
    let (status, _) = relay
        .post(&batch(vec![
            record("sms", "0532 123 45 67", "granted"),
            record("call", "0532 123 45 67", "granted"),
        ]))
        .await;
    assert_eq!(status, 200);
    let forwarder = forwarder_with(&relay.store, &iys, Duration::from_secs(10), 100);
    settle(&[&forwarder], &relay.store, Duration::from_secs(30)).await;

    let asked = json!({
        "recipients": [{"phone": "0532 123 45 67", "channels": ["sms", "call"]}],
        "reference": "winter-sale"
    });
    let (status, body) = mint(&relay, &asked, None).await;
    assert_eq!((status, body["code"].as_str()), (401, Some("unauthorized")));
    let (status, body) = mint(
        &relay,
        &asked,
        Some("a-wrong-token-of-at-least-32-characters"),
    )
    .await;
    assert_eq!(status, 401, "{body}");
    let (status, body) = mint(&relay, &asked, Some(API_TOKEN)).await;
    assert_eq!(status, 200, "{body}");
    assert_matches_openapi("/v1/refusal-links", "post", 200, &body);
    let url = body["links"][0]["url"].as_str().unwrap().to_owned();
    assert_eq!(body["links"][0]["channels"], json!(["sms", "call"]));
    assert!(
        url.starts_with(&format!("{}/v1/refusals/", relay.base)),
        "{url}"
    );
    assert!(!url.contains("5321234567"));

    // Opening the page records nothing: mail scanners open links too.
    let before = relay.count("consents").await;
    let page = open(&relay.client, &url).await;
    assert_eq!(page.status, 200);
    assert!(page.html.contains(BRAND), "{}", page.html);
    assert!(page.html.contains("+90 532 *** ** 67"), "{}", page.html);
    assert!(page.html.contains("SMS ve telefon araması"));
    assert!(page.html.contains("<html lang=\"tr\">"));
    assert!(page.html.contains("<form method=\"post\">"));
    assert!(!page.html.contains("5321234567") && !page.html.contains("<script"));
    let policy = page.headers["content-security-policy"].to_str().unwrap();
    assert!(policy.starts_with("default-src 'none'") && policy.contains("form-action 'self'"));
    assert_eq!(page.headers["referrer-policy"], "no-referrer");
    assert_eq!(page.headers["cache-control"], "no-store");
    assert_eq!(page.headers["x-frame-options"], "DENY");
    assert_eq!(relay.count("consents").await, before);

    // Two presses at once (a double click, or two tabs) store one refusal per channel.
    let (done, other) = tokio::join!(
        submit(&relay.client, &url, "refuse=yes"),
        submit(&relay.client, &url, "refuse=yes")
    );
    assert_eq!((done.status, other.status), (200, 200));
    let pages = format!("{}{}", done.html, other.html);
    assert!(pages.contains("Reddiniz kaydedildi"), "{pages}");
    assert!(pages.contains("zaten kayıtlı"), "{pages}");
    assert_eq!(relay.count("consents").await, before + 2);
    let again = submit(&relay.client, &url, "refuse=yes").await;
    assert_eq!(again.status, 200);
    assert!(again.html.contains("zaten kayıtlı"), "{}", again.html);
    let page = open(&relay.client, &url).await;
    assert!(page.html.contains("zaten kayıtlı") && !page.html.contains("<form"));
    assert_eq!(
        relay.count("consents").await,
        before + 2,
        "a second click records nothing"
    );

    let stored = relay.store.records(None, None).await.unwrap();
    let refusals: Vec<_> = stored
        .iter()
        .filter(|record| matches!(record.plain.details.proof, ProofDetails::RefusalLink(_)))
        .collect();
    assert_eq!(refusals.len(), 2);
    for refusal in &refusals {
        assert_eq!(refusal.plain.status.as_str(), "rejected");
        assert_eq!(refusal.plain.recipient, "+905321234567");
        assert_eq!(refusal.plain.source.as_str(), "web");
        assert_eq!(
            refusal.plain.details.client_ip.as_deref(),
            Some("127.0.0.1")
        );
        let ProofDetails::RefusalLink(link) = &refusal.plain.details.proof else {
            unreachable!()
        };
        assert_eq!(link.action, LinkAction::Button);
        assert_eq!(link.reference.as_deref(), Some("winter-sale"));
        assert_eq!(link.locale, Locale::Turkish);
        assert_eq!(link.user_agent, "Mozilla/5.0 (refusal test)");
        assert!(link.text.contains("+90 532 *** ** 67") && link.text.ends_with("İletileri reddet"));
        assert_eq!(
            link.text_sha256,
            consent_core::record::text_sha256(&link.text)
        );
    }
    let mut channels: Vec<&str> = refusals.iter().map(|r| r.plain.channel.as_str()).collect();
    channels.sort_unstable();
    assert_eq!(channels, ["call", "sms"]);

    settle(&[&forwarder], &relay.store, Duration::from_secs(30)).await;
    let log = sandbox_get(&iys, "/sandbox/log").await;
    let refused: Vec<&Value> = log["requests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|request| request["status"] == "RET")
        .collect();
    let mut types: Vec<&str> = refused
        .iter()
        .map(|r| r["type"].as_str().unwrap())
        .collect();
    types.sort_unstable();
    assert_eq!(types, ["ARAMA", "MESAJ"], "{log}");
    for request in &refused {
        assert_eq!(request["recipient"], "+905321234567");
        assert_eq!(request["source"], "HS_WEB");
        assert!(
            crate::forwarding::schema::consent_validator().is_valid(request),
            "{request}"
        );
    }
    let settled = relay.store.records(None, None).await.unwrap();
    assert!(
        settled
            .iter()
            .all(|record| record.iys.state.as_str() == "accepted"),
        "{settled:?}"
    );
    assert_eq!(relay.store.verify().await.unwrap().problem, None);
}
both_backends!(button, a_refusal_link_records_a_refusal_that_reaches_iys);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_link_from_the_command_line_takes_a_mail_client_one_click_refusal() {
    let relay = start_relay(Backend::Sqlite).await;
    let output = crate::support::run_relay(
        &[
            "refusal-link",
            "--email",
            "Ayse.Yilmaz@Example.com",
            "--locale",
            "en",
        ],
        &[("RELAY_PUBLIC_URL", &relay.base)],
    );
    assert!(output.status.success(), "{output:?}");
    let url = String::from_utf8(output.stdout).unwrap().trim().to_owned();
    assert!(
        url.starts_with(&format!("{}/v1/refusals/", relay.base)),
        "{url}"
    );
    assert!(!url.to_ascii_lowercase().contains("ayse"));

    let page = open(&relay.client, &url).await;
    assert!(page.html.contains("a***@example.com") && page.html.contains("by e-mail"));
    assert!(page.html.contains("<html lang=\"en\">"));

    // A mail client posts RFC 8058's body for the person, who sees no page.
    let done = submit(&relay.client, &url, "List-Unsubscribe=One-Click").await;
    assert_eq!(done.status, 200);
    let stored = relay.store.records(None, None).await.unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].plain.recipient, "ayse.yilmaz@example.com");
    assert_eq!(stored[0].plain.channel, Channel::Email);
    let ProofDetails::RefusalLink(link) = &stored[0].plain.details.proof else {
        panic!("not a link refusal")
    };
    assert_eq!(link.action, LinkAction::OneClick);
    assert_eq!(link.text, "");
    assert_eq!(link.reference, None);

    // The export says where the record came from and how the link was used.
    let database = relay.database.url.clone();
    let output = crate::support::run_relay(
        &["export", "--format", "csv"],
        &[("DATABASE_URL", &database)],
    );
    assert!(output.status.success(), "{output:?}");
    let csv = String::from_utf8(output.stdout).unwrap();
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let row: Vec<&str> = lines.next().unwrap().split(',').collect();
    let column = |name: &str| row[header.iter().position(|column| *column == name).unwrap()];
    assert_eq!(column("proof"), "refusal_link");
    assert_eq!(column("mode"), "one_click");
    assert_eq!(column("status"), "RET");
    assert_eq!(column("source"), "HS_WEB");
    let output = crate::support::run_relay(&["export"], &[("DATABASE_URL", &database)]);
    let line: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(line["details"]["refusalLink"]["action"], "one_click");
    assert!(line["details"].get("evidence").is_none());

    // Nothing of the address is in the database file in clear.
    relay.store.pool().close().await;
    let file = relay.database.sqlite_file.clone().unwrap();
    let mut bytes = std::fs::read(&file).unwrap();
    if let Ok(wal) = std::fs::read(file.with_extension("db-wal")) {
        bytes.extend(wal);
    }
    for needle in ["ayse", "Ayse", "a***@example.com"] {
        assert!(
            !bytes
                .windows(needle.len())
                .any(|window| window == needle.as_bytes()),
            "found {needle:?} in the database file"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn links_that_were_altered_or_have_expired_record_nothing() {
    let relay = start_relay(Backend::Sqlite).await;
    let mut config = config(&relay.database.url);
    config.public_url = Some(relay.base.clone());
    config.refusal_link_days = Some(30);
    let phone = Recipient::parse_for(Channel::Sms, "0532 765 43 21").unwrap();
    let link = Link::new(
        phone,
        &[Channel::Sms],
        RecipientType::Individual,
        Locale::Turkish,
    )
    .unwrap();
    let now = (system_clock())();
    let month_ago = Timestamp::from_unix_millis(now.unix_millis() - 31 * 86_400_000);
    let expired =
        iys_relay::refusal::routes::mint(&config, &config.keyring(), link.clone(), month_ago)
            .unwrap();
    let page = open(&relay.client, &expired).await;
    assert_eq!(page.status, 410);
    assert!(page.html.contains("süresi dolmuş"), "{}", page.html);
    assert_eq!(
        submit(&relay.client, &expired, "refuse=yes").await.status,
        410
    );

    let fresh = iys_relay::refusal::routes::mint(&config, &config.keyring(), link, now).unwrap();
    let (base, token) = fresh.rsplit_once('/').unwrap();
    let mut altered = token.to_owned().into_bytes();
    altered[10] = if altered[10] == b'A' { b'B' } else { b'A' };
    let altered = format!("{base}/{}", String::from_utf8(altered).unwrap());
    let page = relay
        .client
        .get(&altered)
        .header("accept-language", "en-GB,en;q=0.9")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status().as_u16(), 404);
    assert!(
        page.text()
            .await
            .unwrap()
            .contains("This link is not valid")
    );
    assert_eq!(
        submit(&relay.client, &altered, "refuse=yes").await.status,
        404
    );

    // A request that is neither the button nor a one-click request shows the button again.
    let stray = submit(&relay.client, &fresh, "something=else").await;
    assert_eq!(stray.status, 400);
    assert!(stray.html.contains("<form method=\"post\">"));
    assert_eq!(relay.count("consents").await, 0);

    // Minting refuses what it cannot make a link of, naming the field.
    for (recipient, field) in [
        (
            json!({"phone": "0212 123 45 67", "channels": ["sms"]}),
            "recipients[0].phone",
        ),
        (json!({"phone": "0532 123 45 67"}), "recipients[0].channels"),
        (json!({"email": "not-an-address"}), "recipients[0].email"),
        (
            json!({"email": "a@example.com", "phone": "0532 123 45 67"}),
            "recipients[0]",
        ),
    ] {
        let (status, body) =
            mint(&relay, &json!({"recipients": [recipient]}), Some(API_TOKEN)).await;
        assert_eq!(status, 422, "{body}");
        assert_eq!(body["field"], field, "{body}");
        assert_matches_openapi("/v1/refusal-links", "post", 422, &body);
    }
}
