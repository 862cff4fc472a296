//! `iys-relay import` against a real database and the sandbox: rows checked with the core's
//! rules, rejected rows written beside the file with their reasons, records with evidence of
//! the file and row, sent to İYS in batches and checked against İYS's schema, `--registered`
//! rows kept and never sent, and a file imported again adding nothing.

use std::time::Duration;

use consent_core::time::{IysDateTime, Timestamp};
use consent_core::{Channel, Source};
use iys_relay::clock::system_clock;
use iys_relay::store::ProofDetails;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::both_backends;
use crate::forwarding::{forwarder_with, sandbox_get, schema, settle, start_sandbox};
use crate::support::{Backend, DATA_KEY, TestDatabase};

fn import(database_url: &str, arguments: &[&str]) -> (bool, String) {
    let mut all = vec!["import"];
    all.extend_from_slice(arguments);
    let output = crate::support::run_relay(&all, &[("DATABASE_URL", database_url)]);
    (
        output.status.success(),
        String::from_utf8(output.stdout).unwrap(),
    )
}

fn turkish(at: Timestamp) -> String {
    IysDateTime::from_instant(at).to_string()
}

async fn an_existing_database_is_imported_checked_and_sent_once(backend: Backend) {
    let database = TestDatabase::new(backend).await;
    let url = database.url.clone();
    let folder = tempfile::tempdir().unwrap();
    let now = system_clock()();
    let hour_ago = turkish(now.add_millis(-3_600_000));
    let month_ago = turkish(now.add_millis(-30 * 86_400_000));
    let file = folder.path().join("customers.csv");
    let text = format!(
        "recipient,recipientType,type,status,consentDate,source,name\n\
         0532 123 45 67,BIREYSEL,MESAJ,ONAY,{hour_ago},HS_WEB,\"Yılmaz, Ayşe\"\n\
         ayse@example.com,BIREYSEL,EPOSTA,RET,{hour_ago},HS_ISLAK_IMZA,\n\
         0212 123 45 67,BIREYSEL,MESAJ,ONAY,{hour_ago},HS_WEB,\n\
         0533 111 22 33,BIREYSEL,SMS,ONAY,{hour_ago},HS_WEB,\n\
         0533 111 22 44,BIREYSEL,MESAJ,ONAY,{month_ago},HS_FIZIKSEL_ORTAM,\n\
         eski@example.com,BIREYSEL,EPOSTA,ONAY,2015-05-01 00:00:00,HS_2015,\n\
         satis@isletme.example,TACIR,EPOSTA,ONAY,{hour_ago},HS_CAGRI_MERKEZI,\n"
    );
    std::fs::write(&file, &text).unwrap();
    let path = file.to_str().unwrap();

    let (ok, said) = import(&url, &[path]);
    assert!(ok, "{said}");
    assert!(
        said.starts_with("imported 5, rejected 2, already present 0, to be sent 4, past İYS's window 1 (kept, not sent), registered 0; 7 rows"),
        "{said}"
    );
    let rejected =
        std::fs::read_to_string(folder.path().join("customers.csv.rejected.csv")).unwrap();
    let lines: Vec<&str> = rejected.lines().collect();
    assert_eq!(
        lines[0],
        "recipient,recipientType,type,status,consentDate,source,name,row,reason,column"
    );
    assert!(
        lines[1].starts_with("0212 123 45 67,")
            && lines[1].ends_with(",4,phone_not_mobile,recipient"),
        "{rejected}"
    );
    assert!(lines[2].ends_with(",5,unknown_type,type"), "{rejected}");
    assert_eq!(lines.len(), 3);

    // The same file again adds nothing.
    let (ok, again) = import(&url, &[path]);
    assert!(ok);
    assert!(
        again.starts_with("imported 0, rejected 2, already present 5,"),
        "{again}"
    );

    let store = iys_relay::Store::open(&url, iys_relay::crypto::Keyring::new(&DATA_KEY, &[]), 4)
        .await
        .unwrap();
    let stored = store.records(None, None).await.unwrap();
    assert_eq!(stored.len(), 5);
    let sha = consent_core::record::hex(&Sha256::digest(text.as_bytes()));
    let sms = stored
        .iter()
        .find(|record| record.plain.recipient == "+905321234567")
        .unwrap();
    let ProofDetails::Import(evidence) = &sms.plain.details.proof else {
        panic!("not an import")
    };
    assert_eq!((evidence.file.as_str(), evidence.row), ("customers.csv", 2));
    assert_eq!(evidence.file_sha256, sha);
    assert_eq!(sms.plain.details.name.as_deref(), Some("Yılmaz, Ayşe"));
    assert_eq!(sms.plain.details.recipient_as_typed, "0532 123 45 67");
    let refusal = stored
        .iter()
        .find(|record| record.plain.recipient == "ayse@example.com")
        .unwrap();
    assert_eq!(refusal.plain.source, Source::WetSignature);
    // Imported consents get no same-day notice: they were given long before.
    let page = store
        .unnoticed_consents(0, &[Channel::Sms, Channel::Call, Channel::Email], 0, 100)
        .await
        .unwrap();
    assert!(page.consents.is_empty());

    // A file of consents İYS holds already: kept as evidence, never sent; a decision another
    // file brought counts as present.
    let registered = folder.path().join("registered.csv");
    std::fs::write(
        &registered,
        format!(
            "source,status,recipient,consentDate,type,recipientType\n\
             HS_WEB,ONAY,0532 123 45 67,{hour_ago},MESAJ,BIREYSEL\n\
             HS_MESAJ,ONAY,0544 999 88 77,{hour_ago},MESAJ,BIREYSEL\n"
        ),
    )
    .unwrap();
    let (ok, said) = import(&url, &["--registered", registered.to_str().unwrap()]);
    assert!(ok, "{said}");
    assert!(said.starts_with("imported 1, rejected 0, already present 1, to be sent 0, past İYS's window 0 (kept, not sent), registered 1;"), "{said}");

    // Forwarding sends the rest in batches, with their own sources and dates.
    let iys = start_sandbox().await;
    let forwarder = forwarder_with(&store, &iys, Duration::from_secs(10), 2);
    settle(&[&forwarder], &store, Duration::from_secs(30)).await;
    let stored = store.records(None, None).await.unwrap();
    let state = |recipient: &str| {
        stored
            .iter()
            .find(|record| record.plain.recipient == recipient)
            .map(|record| record.iys.state.as_str().to_owned())
            .unwrap()
    };
    assert_eq!(state("+905321234567"), "accepted");
    assert_eq!(state("satis@isletme.example"), "accepted");
    assert_eq!(
        state("eski@example.com"),
        "accepted",
        "HS_2015 has no window"
    );
    assert_eq!(state("+905331112244"), "missed_deadline");
    assert_eq!(
        state("ayse@example.com"),
        "skipped",
        "İYS holds nothing to refuse"
    );
    assert_eq!(state("+905449998877"), "imported");
    let log = sandbox_get(&iys, "/sandbox/log").await;
    assert!(log["batches"].as_u64().unwrap() >= 1, "{log}");
    let validator = schema::consent_validator();
    let sent: Vec<&Value> = log["requests"].as_array().unwrap().iter().collect();
    for body in &sent {
        assert!(validator.is_valid(body), "{body}");
        assert_ne!(
            body["recipient"], "+905449998877",
            "a registered row is never sent"
        );
    }
    let before = sent
        .iter()
        .find(|body| body["recipient"] == "eski@example.com")
        .unwrap();
    assert_eq!(before["source"], "HS_2015");
    assert_eq!(before["consentDate"], "2015-05-01 00:00:00");
    assert!(
        sent.iter()
            .any(|body| body["recipient"] == "satis@isletme.example"
                && body["recipientType"] == "TACIR"
                && body["source"] == "HS_CAGRI_MERKEZI")
    );
    let report = store.verify().await.unwrap();
    assert_eq!(report.problem, None);
    assert_eq!(report.records, 6);
}
both_backends!(
    import_file,
    an_existing_database_is_imported_checked_and_sent_once
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_that_is_not_iys_columns_stops_before_storing_anything() {
    let database = TestDatabase::new(Backend::Sqlite).await;
    let folder = tempfile::tempdir().unwrap();
    let file = folder.path().join("wrong.csv");
    std::fs::write(&file, "phone,consent\n05321234567,yes\n").unwrap();
    let output = crate::support::run_relay(
        &["import", file.to_str().unwrap()],
        &[("DATABASE_URL", &database.url), ("RELAY_LOG", "error")],
    );
    assert!(!output.status.success());
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(said.contains("`phone`"), "{said}");
    assert!(!folder.path().join("wrong.csv.rejected.csv").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_from_an_app_keeps_the_source_name_it_always_had() {
    let relay = crate::support::TestRelay::start(Backend::Sqlite).await;
    let mut from_app = crate::support::record("sms", "0532 765 43 21", "granted");
    from_app["source"] = serde_json::json!("mobile");
    let (status, _) = relay.post(&crate::support::batch(vec![from_app])).await;
    assert_eq!(status, 200);
    let column: String = sqlx::Row::try_get(
        &sqlx::query("SELECT source FROM consents")
            .fetch_one(relay.store.pool())
            .await
            .unwrap(),
        "source",
    )
    .unwrap();
    assert_eq!(column, "mobile");
    let stored = relay.store.records(None, None).await.unwrap();
    assert_eq!(stored[0].plain.source, Source::MobileApp);
    let json = serde_json::to_value(&stored[0].plain).unwrap();
    assert_eq!(json["source"], "mobile");
    assert_eq!(relay.store.verify().await.unwrap().problem, None);
}
