//! Same-day notices against real servers the tests start: an HTTP server standing for the shop's
//! SMS provider, and aiosmtpd, a real SMTP server, for e-mail.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode};
use consent_core::Timestamp;
use iys_relay::clock::Clock;
use iys_relay::notice::{NoticePass, Notifier, signature};
use iys_relay::store::NewConsent;
use serde_json::{Value, json};

use crate::both_backends;
use crate::support::{Backend, TestDatabase, TestRelay, config, record};

const SECRET: &str = "a-webhook-secret-of-at-least-32-chars";
/// 2026-12-06 10:00:00 in Turkey.
const MORNING: i64 = 1_796_540_400_000;

/// The shop's SMS provider: answers each request with the next status of `answers` (then 200),
/// and keeps what it was sent.
#[derive(Clone, Default)]
struct Provider {
    answers: Arc<Mutex<Vec<u16>>>,
    received: Arc<Mutex<Vec<(HeaderMap, String)>>>,
}

impl Provider {
    async fn start(answers: &[u16]) -> (Provider, String) {
        let provider = Provider {
            answers: Arc::new(Mutex::new(answers.iter().rev().copied().collect())),
            ..Provider::default()
        };
        let shared = provider.clone();
        let app = axum::Router::new().route(
            "/sms",
            axum::routing::post(move |headers: HeaderMap, body: String| {
                let shared = shared.clone();
                async move {
                    shared.received.lock().unwrap().push((headers, body));
                    let status = shared.answers.lock().unwrap().pop().unwrap_or(200);
                    StatusCode::from_u16(status).unwrap()
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address: SocketAddr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (provider, format!("http://{address}/sms"))
    }

    fn received(&self) -> Vec<(HeaderMap, String)> {
        self.received.lock().unwrap().clone()
    }
}

/// A clock at `MORNING` plus what the test moves it by.
fn test_clock() -> (Clock, Arc<AtomicI64>) {
    let offset = Arc::new(AtomicI64::new(0));
    let moved = offset.clone();
    let clock: Clock =
        Arc::new(move || Timestamp::from_unix_millis(MORNING + moved.load(Ordering::Relaxed)));
    (clock, offset)
}

/// A record decided and received at `at`, as the relay stores it.
fn consent_at(channel: &str, recipient: &str, at: i64) -> NewConsent {
    consent_with(channel, recipient, at, |_| {})
}

/// The same, with `change` made to its wire form first.
fn consent_with(
    channel: &str,
    recipient: &str,
    at: i64,
    change: impl FnOnce(&mut Value),
) -> NewConsent {
    let mut value = record(channel, recipient, "granted");
    value["consentedAt"] = json!(Timestamp::from_unix_millis(at).to_rfc3339());
    change(&mut value);
    let wire: consent_core::contract::WireRecord = serde_json::from_value(value).unwrap();
    let record = consent_core::ConsentRecord::from_wire(&wire).unwrap();
    let at = record.consented_at();
    NewConsent {
        record,
        received_at: at,
        consent_date: consent_core::IysDateTime::from_instant(at),
        consent_date_origin: iys_relay::store::ConsentDateOrigin::Client,
        client_ip: None,
        registered: false,
    }
}

async fn relay_with(backend: Backend, settings: impl FnOnce(&mut iys_relay::Config)) -> TestRelay {
    let database = TestDatabase::new(backend).await;
    let mut config = config(&database.url);
    config.brand_name = "Örnek Mağaza".to_owned();
    settings(&mut config);
    TestRelay::start_with(database, config).await
}

fn notifier(relay: &TestRelay, clock: Clock, notices: iys_relay::config::NoticeConfig) -> Notifier {
    let mut config = crate::support::config(&relay.database.url);
    config.brand_name = "Örnek Mağaza".to_owned();
    config.public_url = Some(relay.base.clone());
    config.notices = notices;
    Notifier::new(relay.store.clone(), Arc::new(config), clock)
        .unwrap()
        .unwrap()
}

fn webhook(url: String) -> iys_relay::config::NoticeConfig {
    iys_relay::config::NoticeConfig {
        webhook_url: Some(url),
        webhook_secret: Some(SECRET.to_owned()),
        ..Default::default()
    }
}

async fn an_sms_notice_is_signed_retried_and_sent_once(backend: Backend) {
    let (provider, url) = Provider::start(&[500]).await;
    let relay = relay_with(backend, |_| {}).await;
    let (clock, offset) = test_clock();
    relay
        .store
        .notices_since(Timestamp::from_unix_millis(MORNING - 3_600_000))
        .await
        .unwrap();
    // One submit with SMS and calls to one number, and an e-mail consent: no mail server is set.
    let receipts = relay
        .store
        .store_batch(&[
            consent_at("sms", "0532 123 45 67", MORNING - 60_000),
            consent_at("call", "0532 123 45 67", MORNING - 60_000),
            consent_at("email", "ayse@example.com", MORNING - 60_000),
        ])
        .await
        .unwrap();
    let notifier = notifier(&relay, clock, webhook(url));

    let first = notifier.notify_once().await.unwrap();
    assert_eq!(
        first,
        NoticePass {
            queued: 1,
            retried: 1,
            ..NoticePass::default()
        }
    );
    let counts = relay
        .store
        .notice_counts(Timestamp::from_unix_millis(MORNING))
        .await
        .unwrap();
    assert_eq!(
        (counts.pending, counts.failing, counts.without_notice),
        (1, 1, 1)
    );
    // Not due again before its back-off.
    assert_eq!(notifier.notify_once().await.unwrap(), NoticePass::default());
    offset.store(11_000, Ordering::Relaxed);
    let second = notifier.notify_once().await.unwrap();
    assert_eq!(
        second,
        NoticePass {
            sent: 1,
            ..NoticePass::default()
        }
    );
    offset.store(60_000, Ordering::Relaxed);
    assert_eq!(
        notifier.notify_once().await.unwrap(),
        NoticePass::default(),
        "exactly one notice per consent"
    );

    let received = provider.received();
    assert_eq!(
        received.len(),
        2,
        "the failed attempt and the one that worked"
    );
    let (headers, body) = &received[1];
    let header = headers["x-iys-relay-signature"].to_str().unwrap();
    let seconds: i64 = header
        .strip_prefix("t=")
        .and_then(|rest| rest.split(',').next())
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(
        header,
        signature(SECRET.as_bytes(), seconds, body.as_bytes())
    );
    assert_eq!(seconds, (MORNING + 11_000) / 1_000);
    let sent: Value = serde_json::from_str(body).unwrap();
    assert_eq!(sent["channel"], "sms");
    assert_eq!(sent["recipient"], "+905321234567");
    assert_eq!(sent["brand"], "Örnek Mağaza");
    assert_eq!(sent["locale"], "tr");
    let text = sent["text"].as_str().unwrap();
    assert!(
        text.contains("06.12.2026 09:59") && text.contains("SMS ve telefon araması"),
        "{text}"
    );
    let link = sent["refusalUrl"].as_str().unwrap();
    assert!(text.ends_with(link));
    assert!(!link.contains("5321234567"));

    // The link in the notice refuses both channels and names the notice's first consent.
    let done = relay
        .client
        .post(link)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("refuse=yes")
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), 200);
    let stored = relay.store.records(None, None).await.unwrap();
    let mut first_consent = receipts[..2]
        .iter()
        .map(|r| r.id.clone())
        .collect::<Vec<_>>();
    first_consent.sort();
    let refusals: Vec<_> = stored
        .iter()
        .filter_map(|record| match &record.plain.details.proof {
            iys_relay::store::ProofDetails::RefusalLink(link) => Some(link.notice.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(refusals, vec![Some(first_consent[0].clone()); 2]);

    // What was sent is sealed, its digest chained, and both records show it.
    let summaries = relay.store.notice_summaries().await.unwrap();
    let summary = &summaries[&receipts[0].id];
    assert_eq!(summaries[&receipts[1].id], *summary);
    assert!(!summaries.contains_key(&receipts[2].id));
    assert_eq!(summary.state, "sent");
    assert_eq!(summary.attempts, 2);
    assert_eq!(summary.content.as_deref(), Some(text));
    assert_eq!(
        summary.content_sha256.as_deref(),
        Some(iys_relay::store::notices::content_digest(text).as_str())
    );
    let report = relay.store.verify().await.unwrap();
    assert_eq!(report.problem, None);
    assert_eq!(report.notices, 1);

    // A notice altered in the database is caught.
    sqlx::query("UPDATE notices SET attempts = 1")
        .execute(relay.store.pool())
        .await
        .unwrap();
    let problem = relay.store.verify().await.unwrap().problem.unwrap();
    assert!(problem.2.contains("notice was altered"), "{problem:?}");
}
both_backends!(sms_notice, an_sms_notice_is_signed_retried_and_sent_once);

async fn a_notice_that_cannot_be_delivered_is_missed_when_the_day_ends(backend: Backend) {
    let (provider, url) = Provider::start(&[503; 64]).await;
    let relay = relay_with(backend, |_| {}).await;
    let (clock, offset) = test_clock();
    relay
        .store
        .notices_since(Timestamp::from_unix_millis(MORNING - 3_600_000))
        .await
        .unwrap();
    // Decided at 23:58 Turkish time.
    let late = MORNING + 13 * 3_600_000 + 58 * 60_000;
    relay
        .store
        .store_batch(&[consent_at("sms", "0533 765 43 21", late)])
        .await
        .unwrap();
    offset.store(late - MORNING, Ordering::Relaxed);
    let notifier = notifier(&relay, clock, webhook(url));
    assert_eq!(notifier.notify_once().await.unwrap().retried, 1);
    let mut missed = 0;
    for _ in 0..20 {
        offset.fetch_add(30_000, Ordering::Relaxed);
        missed += notifier.notify_once().await.unwrap().missed;
        if missed > 0 {
            break;
        }
    }
    assert_eq!(missed, 1);
    assert!(provider.received().len() >= 2);
    let counts = relay
        .store
        .notice_counts(Timestamp::from_unix_millis(late + 3_600_000))
        .await
        .unwrap();
    assert_eq!((counts.missed, counts.pending), (1, 0));
    let summaries = relay.store.notice_summaries().await.unwrap();
    let summary = summaries.values().next().unwrap();
    assert_eq!(summary.state, "missed");
    assert_eq!(summary.last_error.as_deref(), Some("webhook_status_503"));
    assert_eq!(relay.store.verify().await.unwrap().problem, None);
}
both_backends!(
    missed_notice,
    a_notice_that_cannot_be_delivered_is_missed_when_the_day_ends
);

/// An aiosmtpd process on a free port of 127.0.0.1, writing what it receives to a Maildir;
/// killed by its process id when dropped.
struct MailServer {
    child: std::process::Child,
    maildir: tempfile::TempDir,
    url: String,
}

impl MailServer {
    fn start() -> MailServer {
        let python = std::env::var("IYS_TEST_SMTP_PYTHON").expect(
            "IYS_TEST_SMTP_PYTHON names a Python with aiosmtpd: run through `cargo xtask test`",
        );
        let maildir = tempfile::tempdir().unwrap();
        for folder in ["tmp", "new", "cur"] {
            std::fs::create_dir_all(maildir.path().join(folder)).unwrap();
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = std::process::Command::new(python)
            .args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{port}"))
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(maildir.path())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let started = std::time::Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "aiosmtpd did not start"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        MailServer {
            child,
            maildir,
            url: format!("smtp://127.0.0.1:{port}"),
        }
    }

    fn messages(&self) -> Vec<String> {
        let folder = self.maildir.path().join("new");
        let Ok(entries) = std::fs::read_dir(folder) else {
            return Vec::new();
        };
        entries
            .map(|entry| std::fs::read_to_string(entry.unwrap().path()).unwrap())
            .collect()
    }
}

impl Drop for MailServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The body of a plain-text message, decoded from quoted-printable or base64.
fn body_of(message: &str) -> String {
    let (head, body) = message
        .split_once("\n\n")
        .or_else(|| message.split_once("\r\n\r\n"))
        .unwrap();
    let head = head.to_ascii_lowercase();
    if head.contains("content-transfer-encoding: base64") {
        use base64::Engine;
        let joined: String = body.split_whitespace().collect();
        return String::from_utf8(
            base64::engine::general_purpose::STANDARD
                .decode(joined)
                .unwrap(),
        )
        .unwrap();
    }
    if head.contains("content-transfer-encoding: quoted-printable") {
        let joined = body.replace("=\r\n", "").replace("=\n", "");
        let mut bytes = Vec::new();
        let raw = joined.as_bytes();
        let mut index = 0;
        while index < raw.len() {
            let escaped = (raw[index] == b'=')
                .then(|| joined.get(index + 1..index + 3))
                .flatten()
                .and_then(|hex| u8::from_str_radix(hex, 16).ok());
            if let Some(byte) = escaped {
                bytes.push(byte);
                index += 3;
                continue;
            }
            bytes.push(raw[index]);
            index += 1;
        }
        return String::from_utf8(bytes).unwrap();
    }
    body.to_owned()
}

fn header<'a>(message: &'a str, name: &str) -> Option<&'a str> {
    message.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.eq_ignore_ascii_case(name).then(|| value.trim())
    })
}

async fn an_email_notice_reaches_a_real_mail_server_with_one_click_headers(backend: Backend) {
    let server = MailServer::start();
    let relay = relay_with(backend, |_| {}).await;
    let (clock, _) = test_clock();
    relay
        .store
        .notices_since(Timestamp::from_unix_millis(MORNING - 3_600_000))
        .await
        .unwrap();
    let english = consent_with(
        "email",
        "Ayse.Yilmaz@Example.com",
        MORNING - 60_000,
        |wire| {
            wire["evidence"]["locale"] = json!("en");
        },
    );
    relay.store.store_batch(&[english]).await.unwrap();
    let notices = iys_relay::config::NoticeConfig {
        smtp_url: Some(server.url.clone()),
        from: Some("Örnek Mağaza <bildirim@shop.test>".to_owned()),
        ..Default::default()
    };
    let notifier = notifier(&relay, clock, notices);
    let pass = notifier.notify_once().await.unwrap();
    assert_eq!((pass.queued, pass.sent), (1, 1), "{pass:?}");

    let messages = server.messages();
    assert_eq!(messages.len(), 1);
    let message = &messages[0];
    assert!(
        header(message, "To")
            .unwrap()
            .contains("ayse.yilmaz@example.com"),
        "{message}"
    );
    assert!(
        header(message, "From")
            .unwrap()
            .contains("bildirim@shop.test")
    );
    let link = header(message, "List-Unsubscribe")
        .unwrap()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .to_owned();
    assert!(
        link.starts_with(&format!("{}/v1/refusals/", relay.base)),
        "{link}"
    );
    assert_eq!(
        header(message, "List-Unsubscribe-Post"),
        Some("List-Unsubscribe=One-Click")
    );
    assert_eq!(header(message, "Auto-Submitted"), Some("auto-generated"));
    let body = body_of(message);
    assert!(
        body.contains("On 6 December 2026, 09:59 (Turkish time)"),
        "{body}"
    );
    assert!(body.contains("from Örnek Mağaza by e-mail"), "{body}");
    assert!(body.contains(&link), "{body}");

    // A mail client's unsubscribe button posts to the header's address.
    let done = relay
        .client
        .post(&link)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), 200);
    let refused = relay
        .store
        .records(None, None)
        .await
        .unwrap()
        .into_iter()
        .filter(|record| record.plain.status.as_str() == "rejected")
        .count();
    assert_eq!(refused, 1);
    assert_eq!(relay.store.verify().await.unwrap().problem, None);
}

mod email_notice {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[ignore = "needs aiosmtpd: run through `cargo xtask test`"]
    async fn sqlite() {
        super::an_email_notice_reaches_a_real_mail_server_with_one_click_headers(
            crate::support::Backend::Sqlite,
        )
        .await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[ignore = "needs aiosmtpd and Postgres: run through `cargo xtask test`"]
    async fn postgres() {
        super::an_email_notice_reaches_a_real_mail_server_with_one_click_headers(
            crate::support::Backend::Postgres,
        )
        .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_notice_settings_nothing_is_sent_and_consents_are_counted() {
    let relay = relay_with(Backend::Sqlite, |_| {}).await;
    let mut config = config(&relay.database.url);
    config.notices = iys_relay::config::NoticeConfig::default();
    let (clock, _) = test_clock();
    assert!(
        Notifier::new(relay.store.clone(), Arc::new(config.clone()), clock.clone())
            .unwrap()
            .is_none()
    );
    config.notices.off = true;
    config.notices.webhook_url = Some("http://127.0.0.1:9/sms".to_owned());
    assert!(
        Notifier::new(relay.store.clone(), Arc::new(config), clock)
            .unwrap()
            .is_none(),
        "RELAY_NOTICE=off sends none"
    );
    let (status, _) = relay
        .post(&crate::support::batch(vec![record(
            "sms",
            "0532 111 22 33",
            "granted",
        )]))
        .await;
    assert_eq!(status, 200);
    let counts = relay
        .store
        .notice_counts(Timestamp::from_unix_millis(MORNING))
        .await
        .unwrap();
    assert_eq!((counts.without_notice, counts.pending), (1, 0));
}

async fn every_consent_gets_one_notice_with_two_relays_and_a_backlog(backend: Backend) {
    let (provider, url) = Provider::start(&[]).await;
    let relay = relay_with(backend, |_| {}).await;
    let (clock, _) = test_clock();
    relay
        .store
        .notices_since(Timestamp::from_unix_millis(MORNING - 2 * 86_400_000))
        .await
        .unwrap();
    // More e-mail consents than a page holds, which get no notice here (no mail server is set),
    // stored before the ones that do.
    let backlog: Vec<NewConsent> = (0..250)
        .map(|index| {
            consent_at(
                "email",
                &format!("kisi{index}@example.com"),
                MORNING - 120_000,
            )
        })
        .collect();
    relay.store.store_batch(&backlog).await.unwrap();
    // A call consent on a landline, which no SMS reaches.
    relay
        .store
        .store_batch(&[consent_at("call", "0212 123 45 67", MORNING - 90_000)])
        .await
        .unwrap();
    // A consent given yesterday that reached the relay only this morning.
    let mut late = consent_at("sms", "0533 111 22 33", MORNING - 86_400_000);
    late.received_at = Timestamp::from_unix_millis(MORNING - 60_000);
    relay
        .store
        .store_batch(&[late, consent_at("sms", "0532 444 55 66", MORNING - 60_000)])
        .await
        .unwrap();

    // Two relays on one database, turning at once.
    let first = notifier(&relay, clock.clone(), webhook(url.clone()));
    let second = notifier(&relay, clock, webhook(url));
    let (one, two) = tokio::join!(first.notify_once(), second.notify_once());
    let (one, two) = (one.unwrap(), two.unwrap());
    assert_eq!(one.queued + two.queued, 2, "{one:?} {two:?}");
    assert_eq!(one.skipped + two.skipped, 1, "{one:?} {two:?}");
    assert_eq!(one.sent + two.sent, 2, "{one:?} {two:?}");
    let (one, two) = tokio::join!(first.notify_once(), second.notify_once());
    assert_eq!(one.unwrap(), NoticePass::default());
    assert_eq!(two.unwrap(), NoticePass::default());

    let received = provider.received();
    let mut recipients: Vec<String> = received
        .iter()
        .map(|(_, body)| {
            serde_json::from_str::<Value>(body).unwrap()["recipient"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    recipients.sort();
    assert_eq!(
        recipients,
        ["+905324445566", "+905331112233"],
        "one SMS each, none twice"
    );
    let counts = relay
        .store
        .notice_counts(Timestamp::from_unix_millis(MORNING))
        .await
        .unwrap();
    assert_eq!(
        (
            counts.sent,
            counts.skipped,
            counts.pending,
            counts.without_notice
        ),
        (2, 1, 0, 250)
    );
    let report = relay.store.verify().await.unwrap();
    assert_eq!(report.problem, None);
    assert_eq!(report.notices, 2);

    // A notice removed while its record remains is caught.
    sqlx::query("DELETE FROM notices WHERE state = 'skipped'")
        .execute(relay.store.pool())
        .await
        .unwrap();
    let problem = relay.store.verify().await.unwrap().problem.unwrap();
    assert!(problem.2.contains("notice was removed"), "{problem:?}");
}
both_backends!(
    two_relays,
    every_consent_gets_one_notice_with_two_relays_and_a_backlog
);
