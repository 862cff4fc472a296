//! The proof store: encryption at rest, the ledger and `verify`, export, purge, key rotation,
//! through the store and through the `iys-relay` command itself.

use std::process::Command;

use consent_core::Timestamp;
use iys_relay::Store;
use iys_relay::crypto::Keyring;
use serde_json::Value;
use sqlx::Row;

use crate::both_backends;
use crate::support::{Backend, DATA_KEY, TestDatabase, TestRelay, base64_key, batch, record};

/// Runs the real `iys-relay` binary against `database_url`.
fn relay_command(database_url: &str, arguments: &[&str]) -> std::process::Output {
    crate::support::run_relay(arguments, &[("DATABASE_URL", database_url)])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sqlite_file_never_holds_an_address_or_the_evidence_in_clear() {
    let relay = TestRelay::start(Backend::Sqlite).await;
    let mut sms = record("sms", "0532 123 45 67", "granted");
    sms["evidence"]["text"] = serde_json::json!("Gizli Metin: Örnek Mağaza SMS onayı");
    sms["evidence"]["textSha256"] = serde_json::json!(consent_core::record::text_sha256(
        "Gizli Metin: Örnek Mağaza SMS onayı"
    ));
    let (status, _) = relay
        .post(&batch(vec![
            sms,
            record("email", "gizli.kisi@example.com", "granted"),
        ]))
        .await;
    assert_eq!(status, 200);
    relay.store.pool().close().await;
    let file = relay.database.sqlite_file.clone().unwrap();
    let mut bytes = std::fs::read(&file).unwrap();
    if let Ok(wal) = std::fs::read(file.with_extension("db-wal")) {
        bytes.extend(wal);
    }
    assert!(bytes.len() > 4_096);
    for needle in [
        "5321234567",
        "532 123 45 67",
        "gizli.kisi",
        "Gizli Metin",
        "shop.test/checkout",
        "127.0.0.1",
    ] {
        assert!(
            !bytes
                .windows(needle.len())
                .any(|window| window == needle.as_bytes()),
            "found {needle:?} in the database file"
        );
    }
}

async fn no_column_holds_an_address_in_clear(backend: Backend) {
    let relay = TestRelay::start(backend).await;
    relay
        .post(&batch(vec![
            record("sms", "0532 123 45 67", "granted"),
            record("email", "gizli.kisi@example.com", "granted"),
        ]))
        .await;
    let rows = sqlx::query("SELECT * FROM consents")
        .fetch_all(relay.store.pool())
        .await
        .unwrap();
    assert_eq!(rows.len(), 2);
    for row in rows {
        for index in 0..row.len() {
            let text = row
                .try_get::<String, _>(index)
                .map(String::into_bytes)
                .or_else(|_| row.try_get::<Vec<u8>, _>(index))
                .unwrap_or_default();
            for needle in ["5321234567", "gizli.kisi"] {
                assert!(
                    !text
                        .windows(needle.len())
                        .any(|window| window == needle.as_bytes()),
                    "column {index} holds {needle}"
                );
            }
        }
    }
}
both_backends!(no_clear_addresses, no_column_holds_an_address_in_clear);

async fn verify_names_the_first_altered_removed_or_reordered_entry(backend: Backend) {
    let relay = TestRelay::start(backend).await;
    let records: Vec<Value> = (0..5)
        .map(|_| record("email", "ali@example.com", "granted"))
        .collect();
    let (status, _) = relay.post(&batch(records.clone())).await;
    assert_eq!(status, 200);
    let url = relay.database.url.clone();
    let intact = relay_command(&url, &["verify"]);
    assert!(
        intact.status.success(),
        "{}",
        String::from_utf8_lossy(&intact.stdout)
    );
    assert!(String::from_utf8_lossy(&intact.stdout).contains("5 entries, 5 records"));
    let pool = relay.store.pool();
    let third = records[2]["id"].as_str().unwrap();

    // A record altered in place.
    sqlx::query("UPDATE consents SET status = 'rejected' WHERE id = $1")
        .bind(third)
        .execute(pool)
        .await
        .unwrap();
    let broken = relay_command(&url, &["verify"]);
    let report = String::from_utf8_lossy(&broken.stdout);
    assert_eq!(broken.status.code(), Some(1), "{report}");
    assert!(
        report.contains("entry 3") && report.contains(third) && report.contains("altered"),
        "{report}"
    );
    sqlx::query("UPDATE consents SET status = 'granted' WHERE id = $1")
        .bind(third)
        .execute(pool)
        .await
        .unwrap();
    assert!(relay_command(&url, &["verify"]).status.success());

    // Sealed evidence swapped between two records.
    let swap = sqlx::query("SELECT details_sealed FROM consents WHERE id = $1")
        .bind(records[0]["id"].as_str().unwrap())
        .fetch_one(pool)
        .await
        .unwrap();
    let foreign: Vec<u8> = swap.try_get("details_sealed").unwrap();
    let original: Vec<u8> = sqlx::query("SELECT details_sealed FROM consents WHERE id = $1")
        .bind(third)
        .fetch_one(pool)
        .await
        .unwrap()
        .try_get("details_sealed")
        .unwrap();
    sqlx::query("UPDATE consents SET details_sealed = $1 WHERE id = $2")
        .bind(foreign)
        .bind(third)
        .execute(pool)
        .await
        .unwrap();
    let report = String::from_utf8_lossy(&relay_command(&url, &["verify"]).stdout).into_owned();
    assert!(
        report.contains(third) && report.contains("does not open"),
        "{report}"
    );
    sqlx::query("UPDATE consents SET details_sealed = $1 WHERE id = $2")
        .bind(original)
        .bind(third)
        .execute(pool)
        .await
        .unwrap();

    // A ledger entry removed from the middle.
    sqlx::query("DELETE FROM ledger WHERE seq = 2")
        .execute(pool)
        .await
        .unwrap();
    let report = String::from_utf8_lossy(&relay_command(&url, &["verify"]).stdout).into_owned();
    assert!(report.contains("entry 2 is missing"), "{report}");
}
both_backends!(
    verify_ledger,
    verify_names_the_first_altered_removed_or_reordered_entry
);

async fn verify_finds_reordered_entries_and_records_removed_without_purge(backend: Backend) {
    let relay = TestRelay::start(backend).await;
    let records: Vec<Value> = (0..3)
        .map(|_| record("email", "ali@example.com", "granted"))
        .collect();
    relay.post(&batch(records.clone())).await;
    let pool = relay.store.pool();
    // Swap the record ids of two entries: the chain no longer verifies.
    sqlx::query("UPDATE ledger SET record_id = 'x' WHERE seq = 1")
        .execute(pool)
        .await
        .unwrap();
    let report = relay.store.verify().await.unwrap();
    assert_eq!(
        report.problem.as_ref().map(|problem| problem.0),
        Some(1),
        "{report:?}"
    );
    sqlx::query("UPDATE ledger SET record_id = $1 WHERE seq = 1")
        .bind(records[0]["id"].as_str().unwrap())
        .execute(pool)
        .await
        .unwrap();
    assert_eq!(relay.store.verify().await.unwrap().problem, None);
    // The newest entry removed: the head gives it away.
    sqlx::query("DELETE FROM ledger WHERE seq = 3")
        .execute(pool)
        .await
        .unwrap();
    let report = relay.store.verify().await.unwrap();
    assert!(
        report
            .problem
            .as_ref()
            .unwrap()
            .2
            .contains("removed from the end"),
        "{report:?}"
    );
    // A record deleted behind the relay's back.
    let relay = TestRelay::start(backend).await;
    let records: Vec<Value> = (0..2)
        .map(|_| record("email", "ali@example.com", "granted"))
        .collect();
    relay.post(&batch(records.clone())).await;
    sqlx::query("DELETE FROM consents WHERE id = $1")
        .bind(records[1]["id"].as_str().unwrap())
        .execute(relay.store.pool())
        .await
        .unwrap();
    let (seq, id, what) = relay.store.verify().await.unwrap().problem.unwrap();
    assert_eq!((seq, id.as_str()), (2, records[1]["id"].as_str().unwrap()));
    assert!(what.contains("removed without a purge entry"), "{what}");
}
both_backends!(
    verify_reorder,
    verify_finds_reordered_entries_and_records_removed_without_purge
);

async fn export_writes_the_proof_decrypted(backend: Backend) {
    let relay = TestRelay::start(backend).await;
    relay
        .post(&batch(vec![
            record("sms", "0532 123 45 67", "granted"),
            record("email", "Ali@Example.com", "rejected"),
        ]))
        .await;
    let url = relay.database.url.clone();
    let jsonl = relay_command(&url, &["export", "--format", "jsonl"]);
    assert!(
        jsonl.status.success(),
        "{}",
        String::from_utf8_lossy(&jsonl.stderr)
    );
    let lines: Vec<Value> = String::from_utf8(jsonl.stdout)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    for line in &lines {
        for key in [
            "id",
            "recipient",
            "channel",
            "recipientType",
            "status",
            "consentDate",
            "receivedAt",
            "details",
            "iys",
            "ledgerHash",
        ] {
            assert!(!line[key].is_null(), "{key} missing in {line}");
        }
        assert_eq!(line["iys"]["state"], "pending");
    }
    let sms = lines.iter().find(|line| line["channel"] == "sms").unwrap();
    assert_eq!(sms["recipient"], "+905321234567");
    assert_eq!(sms["details"]["recipientAsTyped"], "0532 123 45 67");
    assert!(
        sms["details"]["evidence"]["text"]
            .as_str()
            .unwrap()
            .contains("Örnek Mağaza")
    );

    let csv = relay_command(&url, &["export", "--format", "csv"]);
    let csv = String::from_utf8(csv.stdout).unwrap();
    let mut rows = csv.lines();
    assert!(rows.next().unwrap().starts_with(
        "creationDate,transactionId,recipient,recipientType,type,status,consentDate,source,"
    ));
    let data: Vec<&str> = rows.collect();
    assert_eq!(data.len(), 2);
    assert!(data.iter().any(
        |row| row.contains(",'+905321234567,BIREYSEL,MESAJ,ONAY,") && row.contains(",HS_WEB,")
    ));
    assert!(
        data.iter()
            .any(|row| row.contains(",ali@example.com,BIREYSEL,EPOSTA,RET,"))
    );

    // An export file holds every address in clear: only its owner may read it, also when it
    // existed before with a wider mode.
    {
        use std::os::unix::fs::PermissionsExt;
        let folder = tempfile::tempdir().unwrap();
        let file = folder.path().join("proof.jsonl");
        std::fs::write(&file, "earlier").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        let written = relay_command(&url, &["export", "--output", file.to_str().unwrap()]);
        assert!(written.status.success());
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert!(
            std::fs::read_to_string(&file)
                .unwrap()
                .contains("+905321234567")
        );
    }

    let future = relay_command(&url, &["export", "--from", "2100-01-01"]);
    assert!(future.status.success());
    assert!(future.stdout.is_empty());
    let past = relay_command(&url, &["export", "--to", "2016-01-01T00:00:00Z"]);
    assert!(past.stdout.is_empty());
    let bad = relay_command(&url, &["export", "--from", "yesterday"]);
    assert!(!bad.status.success());
}
both_backends!(export, export_writes_the_proof_decrypted);

async fn purge_removes_only_records_whose_consent_ended_long_ago(backend: Backend) {
    let relay = TestRelay::start(backend).await;
    let granted = record("sms", "0532 123 45 67", "granted");
    let mut refused = record("sms", "0532 123 45 67", "rejected");
    refused["consentedAt"] = serde_json::json!(
        Timestamp::parse_rfc3339(granted["consentedAt"].as_str().unwrap())
            .unwrap()
            .add_millis(1_000)
            .to_rfc3339()
    );
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    let still_granted = record("email", "ali@example.com", "granted");
    relay
        .post(&batch(vec![granted, refused, still_granted.clone()]))
        .await;
    let now = Timestamp::parse_rfc3339(&crate::support::now_rfc3339()).unwrap();
    // Within the retention period nothing goes.
    let report = relay
        .store
        .purge(now.add_millis(1_095 * 86_400_000), 1_096)
        .await
        .unwrap();
    assert_eq!(report.purged, 0);
    // After it, the ended SMS consent and its refusal go; the e-mail consent stays.
    let report = relay
        .store
        .purge(now.add_millis(1_097 * 86_400_000), 1_096)
        .await
        .unwrap();
    assert_eq!(report.purged, 2);
    let left = relay.store.records(None, None).await.unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].plain.id, still_granted["id"].as_str().unwrap());
    assert_eq!(relay.count("ledger").await, 5);
    let report = relay.store.verify().await.unwrap();
    assert_eq!(report.problem, None, "{report:?}");
    assert_eq!(report.records, 1);
    // The command refuses a retention below three years.
    let short = Command::new(env!("CARGO_BIN_EXE_iys-relay"))
        .arg("purge")
        .env("DATABASE_URL", &relay.database.url)
        .env("RELAY_DATA_KEY", base64_key(&DATA_KEY))
        .env("RELAY_RETENTION_DAYS", "30")
        .output()
        .unwrap();
    assert!(!short.status.success());
    assert!(String::from_utf8_lossy(&short.stderr).contains("1096"));
    let purge = relay_command(&relay.database.url, &["purge"]);
    assert!(purge.status.success());
    assert!(String::from_utf8_lossy(&purge.stdout).contains("purged 0 records"));
}
both_backends!(
    purge,
    purge_removes_only_records_whose_consent_ended_long_ago
);

async fn a_rotated_key_still_opens_old_records(backend: Backend) {
    let database = TestDatabase::new(backend).await;
    let old_key = [1_u8; 32];
    let new_key = [2_u8; 32];
    let old = Store::open(&database.url, Keyring::new(&old_key, &[]), 2)
        .await
        .unwrap();
    let first = consent_record("0532 123 45 67");
    old.store_batch(&[first]).await.unwrap();
    old.pool().close().await;

    let rotated = Store::open(&database.url, Keyring::new(&new_key, &[old_key]), 2)
        .await
        .unwrap();
    rotated
        .store_batch(&[consent_record("0533 123 45 67")])
        .await
        .unwrap();
    let records = rotated.records(None, None).await.unwrap();
    assert_eq!(records.len(), 2);
    let states = rotated
        .current_state(
            &[(consent_core::Channel::Sms, "+905321234567".to_owned())],
            consent_core::RecipientType::Individual,
        )
        .await
        .unwrap();
    assert_eq!(states.len(), 1, "lookups survive the rotation");
    assert_eq!(rotated.verify().await.unwrap().problem, None);
    rotated.pool().close().await;

    let forgotten = Store::open(&database.url, Keyring::new(&new_key, &[]), 2)
        .await
        .unwrap();
    let error = forgotten.records(None, None).await.unwrap_err();
    assert!(error.to_string().contains("unknown key"), "{error}");
    let (seq, _, what) = forgotten.verify().await.unwrap().problem.unwrap();
    assert_eq!(seq, 1, "the first entry was chained with the forgotten key");
    assert!(what.contains("ledger key"), "{what}");
    forgotten.pool().close().await;

    // A ledger key of its own, kept apart from the data key: entries chained before with the
    // key derived from the data key still verify, and without the ledger key nothing after does.
    let ledger_key = [3_u8; 32];
    let separate = Store::open(
        &database.url,
        Keyring::new(&new_key, &[old_key]).with_ledger_key(ledger_key, &[]),
        2,
    )
    .await
    .unwrap();
    separate
        .store_batch(&[consent_record("0534 123 45 67")])
        .await
        .unwrap();
    assert_eq!(separate.verify().await.unwrap().problem, None);
    separate.pool().close().await;
    let without = Store::open(&database.url, Keyring::new(&new_key, &[old_key]), 2)
        .await
        .unwrap();
    let (seq, _, what) = without.verify().await.unwrap().problem.unwrap();
    assert_eq!(seq, 3, "the entry chained with the ledger key of its own");
    assert!(what.contains("ledger key"), "{what}");
}
both_backends!(key_rotation, a_rotated_key_still_opens_old_records);

async fn one_batch_stores_many_records_and_answers_repeats_with_the_first_receipt(
    backend: Backend,
) {
    use consent_core::contract::Outcome;
    let database = TestDatabase::new(backend).await;
    let store = Store::open(&database.url, Keyring::new(&DATA_KEY, &[]), 2)
        .await
        .unwrap();
    let earlier = consent_record("0532 123 45 67");
    let first = store
        .store_batch(std::slice::from_ref(&earlier))
        .await
        .unwrap();
    assert_eq!(first[0].outcome, Outcome::Stored);

    // A record stored before, one record twice (and once more after several statements'
    // worth of others), and enough new ones to take several statements of each kind.
    let repeated = consent_record("0533 123 45 67");
    let mut batch = vec![earlier, repeated.clone(), repeated.clone()];
    batch.extend((0..300).map(|n| consent_record(&format!("0534 {:03} 45 67", 100 + n))));
    batch.push(repeated);
    let receipts = store.store_batch(&batch).await.unwrap();
    assert_eq!(receipts.len(), batch.len());
    for (receipt, new) in receipts.iter().zip(&batch) {
        assert_eq!(
            receipt.id,
            new.record.id().to_string(),
            "receipts keep the batch's order"
        );
    }
    assert_eq!(receipts[0].outcome, Outcome::Duplicate);
    assert_eq!(receipts[0].receipt, first[0].receipt);
    assert_eq!(receipts[0].consent_date, first[0].consent_date);
    assert_eq!(receipts[1].outcome, Outcome::Stored);
    assert_eq!(receipts[2].outcome, Outcome::Duplicate);
    assert_eq!(receipts[2].receipt, receipts[1].receipt);
    assert_eq!(receipts[2].consent_date, receipts[1].consent_date);
    let last = receipts.last().unwrap();
    assert_eq!(last.outcome, Outcome::Duplicate);
    assert_eq!(last.receipt, receipts[1].receipt);
    assert!(
        receipts[3..receipts.len() - 1]
            .iter()
            .all(|receipt| receipt.outcome == Outcome::Stored)
    );

    let stored = store.records(None, None).await.unwrap();
    assert_eq!(stored.len(), 1 + 1 + 300);
    for receipt in receipts
        .iter()
        .filter(|receipt| receipt.outcome == Outcome::Stored)
    {
        let record = stored
            .iter()
            .find(|record| record.plain.id == receipt.id)
            .unwrap();
        assert_eq!(record.ledger_hash, receipt.receipt);
    }
    let mut positions: Vec<i64> = stored.iter().map(|record| record.ledger_seq).collect();
    positions.sort_unstable();
    assert_eq!(positions, (1..=302).collect::<Vec<i64>>());
    let report = store.verify().await.unwrap();
    assert_eq!(report.problem, None);
    assert_eq!((report.entries, report.records), (302, 302));
    store.pool().close().await;
}
both_backends!(
    batch_of_many,
    one_batch_stores_many_records_and_answers_repeats_with_the_first_receipt
);

fn consent_record(phone: &str) -> iys_relay::store::NewConsent {
    let wire: consent_core::contract::WireRecord =
        serde_json::from_value(record("sms", phone, "granted")).unwrap();
    let record = consent_core::ConsentRecord::from_wire(&wire).unwrap();
    let now = record.consented_at();
    iys_relay::store::NewConsent {
        record,
        received_at: now,
        consent_date: consent_core::IysDateTime::from_instant(now),
        consent_date_origin: iys_relay::store::ConsentDateOrigin::Client,
        client_ip: None,
        registered: false,
    }
}

/// The dump of a Postgres database, as an operator's backup holds it.
fn pg_dump(database_url: &str) -> Vec<u8> {
    let candidates = std::iter::once(std::path::PathBuf::from("pg_dump")).chain(
        std::fs::read_dir("/usr/lib/postgresql")
            .into_iter()
            .flatten()
            .flatten()
            .map(|entry| entry.path().join("bin").join("pg_dump")),
    );
    for program in candidates {
        if let Ok(output) = Command::new(&program)
            .args(["--dbname", database_url, "--no-owner"])
            .output()
            && output.status.success()
        {
            assert!(output.stdout.len() > 1_000);
            return output.stdout;
        }
    }
    panic!("pg_dump did not run");
}

async fn the_whole_flow_leaves_no_address_in_the_database_files(backend: Backend) {
    use crate::forwarding::{forwarder_with, sandbox_post, settle, start_sandbox};
    let sandbox = start_sandbox().await;
    let relay = TestRelay::start(backend).await;
    let people = [
        (
            "0532 111 22 33",
            "+905321112233",
            "5321112233",
            "ilk.kisi@example.com",
            "Zeynep Karakaya",
        ),
        (
            "0533 444 55 66",
            "+905334445566",
            "5334445566",
            "ikinci.kisi@example.com",
            "Mehmet Öztürk",
        ),
        (
            "0542 777 88 99",
            "+905427778899",
            "5427778899",
            "ucuncu.kisi@example.com",
            "Elif Demirtaş",
        ),
    ];
    // Each record names its person.
    let named = |channel: &str, recipient: &str, status: &str, name: &str| {
        let mut value = record(channel, recipient, status);
        value["name"] = Value::from(name);
        value
    };
    // Single adds: one person at a time, each through İYS's single add.
    let forwarder = forwarder_with(
        &relay.store,
        &sandbox,
        std::time::Duration::from_secs(5),
        100,
    );
    let (typed, _, _, email, name) = people[0];
    relay
        .post(&batch(vec![
            named("sms", typed, "granted", name),
            named("email", email, "granted", name),
        ]))
        .await;
    settle(
        &[&forwarder],
        &relay.store,
        std::time::Duration::from_secs(20),
    )
    .await;
    // A backlog that goes in one of İYS's batches.
    let batching = forwarder_with(&relay.store, &sandbox, std::time::Duration::from_secs(5), 1);
    let mut backlog = Vec::new();
    for (typed, _, _, email, name) in &people[1..] {
        backlog.push(named("sms", typed, "granted", name));
        backlog.push(named("call", typed, "granted", name));
        backlog.push(named("email", email, "granted", name));
    }
    relay.post(&batch(backlog)).await;
    settle(
        &[&batching],
        &relay.store,
        std::time::Duration::from_secs(20),
    )
    .await;
    assert!(
        sandbox_get_batches(&sandbox).await >= 1,
        "the backlog went in a batch"
    );
    // A refusal made in İYS, pulled back.
    sandbox_post(
        &sandbox,
        "/sandbox/citizen",
        serde_json::json!({"recipient": people[1].1, "type": "MESAJ", "recipientType": "BIREYSEL", "status": "RET"}),
    )
    .await;
    assert_eq!(forwarder.pull_once().await.unwrap(), 1);
    // A refusal through the widget, then exports and a purge years later.
    relay
        .post(&batch(vec![named(
            "email",
            people[2].3,
            "rejected",
            people[2].4,
        )]))
        .await;
    settle(
        &[&forwarder],
        &relay.store,
        std::time::Duration::from_secs(20),
    )
    .await;
    let folder = tempfile::tempdir().unwrap();
    for format in ["jsonl", "csv"] {
        let file = folder.path().join(format!("proof.{format}"));
        let exported = relay_command(
            &relay.database.url,
            &[
                "export",
                "--format",
                format,
                "--output",
                file.to_str().unwrap(),
            ],
        );
        assert!(exported.status.success());
        let proof = std::fs::read_to_string(&file).unwrap();
        assert!(proof.contains(people[0].1));
        assert!(proof.contains(people[1].4), "the export names the person");
    }
    let years_later = Timestamp::from_unix_millis(
        iys_relay::clock::system_clock()().unix_millis() + 1_100 * 86_400_000,
    );
    assert_eq!(
        relay.store.purge(years_later, 1_096).await.unwrap().purged,
        2
    );
    assert_eq!(relay.store.verify().await.unwrap().problem, None);

    let bytes = match backend {
        Backend::Sqlite => {
            relay.store.pool().close().await;
            let file = relay.database.sqlite_file.clone().unwrap();
            let mut bytes = std::fs::read(&file).unwrap();
            bytes.extend(std::fs::read(file.with_extension("db-wal")).unwrap_or_default());
            bytes
        }
        Backend::Postgres => pg_dump(&relay.database.url),
    };
    assert!(bytes.len() > 4_096);
    for (typed, e164, national, email, name) in people {
        for needle in [
            typed,
            e164,
            national,
            email,
            email.split('@').next().unwrap(),
            name,
            name.split(' ').nth(1).unwrap(),
        ] {
            assert!(
                !bytes
                    .windows(needle.len())
                    .any(|window| window == needle.as_bytes()),
                "found {needle:?} in the database"
            );
        }
    }
}
both_backends!(
    no_clear_addresses_anywhere,
    the_whole_flow_leaves_no_address_in_the_database_files
);

async fn sandbox_get_batches(base: &str) -> u64 {
    crate::forwarding::sandbox_get(base, "/sandbox/log").await["batches"]
        .as_u64()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn debug_output_of_records_and_pulled_movements_hides_addresses() {
    let relay = TestRelay::start(Backend::Sqlite).await;
    let mut named = record("sms", "0532 123 45 67", "granted");
    named["name"] = Value::from("Gizem Saklı");
    relay.post(&batch(vec![named])).await;
    let stored = relay.store.records(None, None).await.unwrap();
    assert_eq!(stored[0].plain.details.name.as_deref(), Some("Gizem Saklı"));
    let movement = iys_relay::store::forwarding::PulledMovement {
        transaction_id: "d".repeat(64),
        recipient: "gizli.kisi@example.com".to_owned(),
        channel: consent_core::Channel::Email,
        recipient_type: consent_core::RecipientType::Individual,
        status: consent_core::ConsentStatus::Rejected,
        source: "IYS_WEB".to_owned(),
        consent_date: consent_core::IysDateTime::parse("2026-12-01 10:00:00").unwrap(),
        creation_date: "2026-12-01 10:00:01".to_owned(),
    };
    let shown = format!("{stored:?} {:?} {movement:?}", stored[0].plain);
    assert!(shown.contains("PlainRecord") && shown.contains("PulledMovement"));
    for needle in [
        "5321234567",
        "532 123 45 67",
        "gizli.kisi",
        "127.0.0.1",
        "Gizem",
        "Saklı",
    ] {
        assert!(!shown.contains(needle), "{needle} in {shown}");
    }
}
