//! The register of consent texts over real HTTP and the real `iys-relay texts` command: records
//! whose text is not registered for their channel and language are refused with `unknown_text`;
//! built-in texts for the brand and texts the shop publishes are accepted, each registration is
//! chained in the ledger, and the register dates each text's first use.

use consent_core::record::text_sha256;
use consent_core::{Channel, Locale};
use serde_json::{Value, json};

use crate::both_backends;
use crate::support::{
    Backend, TestDatabase, TestRelay, assert_matches_openapi, batch, config, record,
};

const BRAND: &str = "Örnek Mağaza";

fn with_text(channel: &str, recipient: &str, text: &str, locale: &str) -> Value {
    let mut value = record(channel, recipient, "granted");
    value["evidence"]["text"] = json!(text);
    value["evidence"]["textSha256"] = json!(text_sha256(text));
    value["evidence"]["locale"] = json!(locale);
    value
}

fn texts_command(database_url: &str, arguments: &[&str]) -> std::process::Output {
    let mut all = vec!["texts"];
    all.extend_from_slice(arguments);
    crate::support::run_relay(&all, &[("DATABASE_URL", database_url)])
}

async fn records_need_a_registered_text(backend: Backend) {
    let database = TestDatabase::new(backend).await;
    let mut settings = config(&database.url);
    settings.accept_unregistered_texts = false;
    settings.brand_name = BRAND.to_owned();
    settings.brand_set = true;
    let relay = TestRelay::start_with(database, settings.clone()).await;
    iys_relay::cli::register_built_in_texts(&relay.store, &settings)
        .await
        .unwrap();
    // Registering them again at the next start changes nothing.
    iys_relay::cli::register_built_in_texts(&relay.store, &settings)
        .await
        .unwrap();

    let built_in = consent_core::texts::consent_text(Locale::Turkish, Channel::Sms, BRAND);
    let (status, body) = relay
        .post(&batch(vec![with_text(
            "sms",
            "0532 123 45 67",
            &built_in,
            "tr",
        )]))
        .await;
    assert_eq!(status, 200, "{body}");

    let own = "Örnek Mağaza'nın kış kampanyalarından SMS ile haberdar olmak istiyorum; bu izni istediğim zaman ücretsiz geri alabilirim.";
    let (status, body) = relay
        .post(&batch(vec![
            with_text(
                "email",
                "a@example.com",
                &consent_core::texts::consent_text(Locale::Turkish, Channel::Email, BRAND),
                "tr",
            ),
            with_text("sms", "0532 123 45 67", own, "tr"),
        ]))
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["code"], "unknown_text");
    assert_eq!(body["field"], "records[1].evidence.text");
    assert_matches_openapi("/v1/consents", "post", 422, &body);
    // A text is registered for one channel and language: the SMS text is not the e-mail one.
    let (status, body) = relay
        .post(&batch(vec![with_text(
            "email",
            "a@example.com",
            &built_in,
            "tr",
        )]))
        .await;
    assert_eq!((status, body["code"].as_str()), (422, Some("unknown_text")));
    let (status, _) = relay
        .post(&batch(vec![with_text(
            "sms",
            "0532 123 45 67",
            &built_in,
            "en",
        )]))
        .await;
    assert_eq!(status, 422, "and for one language");
    // The first refused request's registered e-mail consent was stored; nothing else was.
    assert_eq!(relay.count("consents").await, 2);
    // A refusal is never held back by its text: alone, or beside an unknown consent.
    let refusal = |recipient: &str| {
        let mut value = with_text("sms", recipient, own, "tr");
        value["status"] = json!("rejected");
        value
    };
    let (status, body) = relay.post(&batch(vec![refusal("0532 765 43 21")])).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = relay
        .post(&batch(vec![
            with_text("sms", "0533 765 43 21", own, "tr"),
            refusal("0533 765 43 21"),
        ]))
        .await;
    assert_eq!(
        (status, body["field"].as_str()),
        (422, Some("records[0].evidence.text"))
    );
    assert_eq!(
        relay.count("consents").await,
        4,
        "both refusals stored, the consent held"
    );

    // The shop publishes its own text from its release process.
    let folder = tempfile::tempdir().unwrap();
    let file = folder.path().join("sms-tr.txt");
    std::fs::write(&file, format!("{own}\n")).unwrap();
    let file = file.to_str().unwrap();
    let url = relay.database.url.clone();
    let added = texts_command(
        &url,
        &[
            "add",
            "--channel",
            "sms",
            "--locale",
            "tr",
            "--version",
            "2026-12",
            file,
        ],
    );
    assert!(added.status.success(), "{added:?}");
    let said = String::from_utf8(added.stdout).unwrap();
    assert!(
        said.starts_with("registered sms tr 2026-12 ") && said.contains(&text_sha256(own)),
        "{said}"
    );
    let again = texts_command(
        &url,
        &[
            "add",
            "--channel",
            "sms",
            "--locale",
            "tr",
            "--version",
            "2026-13",
            file,
        ],
    );
    assert!(
        String::from_utf8(again.stdout)
            .unwrap()
            .starts_with("already registered sms tr 2026-12")
    );
    let bad = folder.path().join("bad.txt");
    std::fs::write(&bad, "a bell\u{7} in a text").unwrap();
    let refused = texts_command(
        &url,
        &[
            "add",
            "--channel",
            "sms",
            "--locale",
            "tr",
            "--version",
            "1",
            bad.to_str().unwrap(),
        ],
    );
    assert!(!refused.status.success());

    let (status, body) = relay
        .post(&batch(vec![with_text("sms", "0532 123 45 67", own, "tr")]))
        .await;
    assert_eq!(status, 200, "{body}");

    let listed = texts_command(&url, &["list", "--format", "jsonl"]);
    assert!(listed.status.success(), "{listed:?}");
    let texts: Vec<Value> = String::from_utf8(listed.stdout)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(texts.len(), 7, "six built in, one published");
    let find = |sha: &str, channel: &str, locale: &str| {
        texts
            .iter()
            .find(|text| {
                text["sha256"] == sha && text["channel"] == channel && text["locale"] == locale
            })
            .unwrap()
            .clone()
    };
    let published = find(&text_sha256(own), "sms", "tr");
    assert_eq!(published["version"], "2026-12");
    assert_eq!(published["origin"], "published");
    assert_eq!(published["text"], own);
    assert!(published["firstUsedAt"].is_string());
    let sms = find(&text_sha256(&built_in), "sms", "tr");
    assert_eq!(sms["origin"], "built_in");
    assert_eq!(sms["version"], consent_core::texts::DEFAULT_TEXT_VERSION);
    assert!(sms["firstUsedAt"].is_string());
    let english = consent_core::texts::consent_text(Locale::English, Channel::Email, BRAND);
    assert!(find(&text_sha256(&english), "email", "en")["firstUsedAt"].is_null());
    let table = texts_command(&url, &["list"]);
    let table = String::from_utf8(table.stdout).unwrap();
    assert!(
        table.starts_with("channel\tlocale\tversion\tsha256\torigin\tregistered\tfirst used\n")
    );
    assert!(table.contains("\tnever\n"));

    let report = relay.store.verify().await.unwrap();
    assert_eq!(report.problem, None);
    assert_eq!(report.texts, 7);
    // Rewording a registered text in the database is caught.
    sqlx::query("UPDATE consent_texts SET text = 'Başka bir metin' WHERE origin = 'published'")
        .execute(relay.store.pool())
        .await
        .unwrap();
    let problem = relay.store.verify().await.unwrap().problem.unwrap();
    assert!(
        problem.2.contains("registered text was altered"),
        "{problem:?}"
    );
}
both_backends!(register, records_need_a_registered_text);
