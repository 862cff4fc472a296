//! Someone who can write to the database but holds no key: each forgery of the ledger or the
//! records makes `iys-relay verify` exit 1 and name the first bad entry, on SQLite and Postgres.

use consent_core::time::{IysDateTime, Timestamp};
use consent_core::{Channel, ConsentStatus, RecipientType};
use iys_relay::clock::system_clock;
use iys_relay::store::forwarding::{Holder, IysState, PulledMovement, Settlement};
use iys_relay::store::ledger::unkeyed_hash;
use serde_json::Value;
use sqlx::Row;

use crate::both_backends;
use crate::support::{Backend, DATA_KEY, TestRelay, batch, record};

/// Runs the real `iys-relay` binary against `database_url`: its exit code and what it printed.
fn relay(database_url: &str, arguments: &[&str]) -> (Option<i32>, String) {
    let output = crate::support::run_relay(arguments, &[("DATABASE_URL", database_url)]);
    (
        output.status.code(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
    )
}

/// A relay whose ledger holds every kind of entry: five stored records (entries 1 to 5), an
/// İYS outcome for the first (6), a movement pulled from İYS (7).
struct Ledgered {
    relay: TestRelay,
    ids: Vec<String>,
}

impl Ledgered {
    async fn new(backend: Backend) -> Ledgered {
        let relay = TestRelay::start(backend).await;
        let records: Vec<Value> = vec![
            record("sms", "0532 123 45 67", "granted"),
            record("email", "ali@example.com", "granted"),
            record("sms", "0532 765 43 21", "granted"),
            record("email", "ayse@example.com", "granted"),
            record("call", "0212 123 00 00", "granted"),
        ];
        let (status, _) = relay.post(&batch(records.clone())).await;
        assert_eq!(status, 200);
        let ids: Vec<String> = records
            .iter()
            .map(|record| record["id"].as_str().unwrap().to_owned())
            .collect();
        let now = system_clock()();
        let claimed = relay
            .store
            .claim_for_forwarding("forgery-test", now, 60_000, 1)
            .await
            .unwrap();
        assert_eq!(claimed[0].id, ids[0]);
        assert!(
            relay
                .store
                .finish_forwarding(
                    &ids[0],
                    Holder::Claimant("forgery-test"),
                    &Settlement::accepted(
                        Some("a".repeat(64)),
                        Some("2026-12-03 10:00:00".to_owned())
                    ),
                    now,
                )
                .await
                .unwrap()
        );
        let applied = relay
            .store
            .apply_pulled(
                &[PulledMovement {
                    transaction_id: "b".repeat(64),
                    recipient: "+905321234567".to_owned(),
                    channel: Channel::Call,
                    recipient_type: RecipientType::Individual,
                    status: ConsentStatus::Rejected,
                    source: "IYS_KISAMESAJ".to_owned(),
                    consent_date: IysDateTime::from_instant(now),
                    creation_date: IysDateTime::from_instant(now).to_string(),
                }],
                Some("1_x"),
                now,
            )
            .await
            .unwrap();
        assert_eq!(applied, 1);
        let ledgered = Ledgered { relay, ids };
        let (code, report) = ledgered.verify();
        assert_eq!(code, Some(0), "{report}");
        assert!(
            report.contains("7 entries, 5 records and 1 movements"),
            "{report}"
        );
        ledgered
    }

    fn url(&self) -> &str {
        &self.relay.database.url
    }

    fn verify(&self) -> (Option<i32>, String) {
        relay(self.url(), &["verify"])
    }

    async fn execute(&self, sql: &str) {
        sqlx::query(sql)
            .execute(self.relay.store.pool())
            .await
            .unwrap();
    }

    /// Checks that verify fails naming `entry`, with `words` in its reason.
    fn assert_broken_at(&self, entry: i64, words: &str) {
        let (code, report) = self.verify();
        assert_eq!(code, Some(1), "{report}");
        let named = [" (", ":"]
            .iter()
            .any(|after| report.contains(&format!("ledger broken at entry {entry}{after}")));
        assert!(
            named && report.contains(words),
            "expected entry {entry} and {words:?}: {report}"
        );
    }
}

async fn deleting_a_record_is_found(backend: Backend) {
    let ledgered = Ledgered::new(backend).await;
    let id = &ledgered.ids[2];
    ledgered
        .execute(&format!("DELETE FROM consents WHERE id = '{id}'"))
        .await;
    ledgered.assert_broken_at(3, "removed without a purge entry");
}
both_backends!(forged_deletion, deleting_a_record_is_found);

async fn cutting_off_the_newest_entries_is_found_against_a_checkpoint(backend: Backend) {
    let ledgered = Ledgered::new(backend).await;
    let (code, checkpoint) = relay(ledgered.url(), &["checkpoint"]);
    assert_eq!(code, Some(0), "{checkpoint}");
    assert!(
        checkpoint.starts_with("iys-relay checkpoint v1 entries=7 "),
        "{checkpoint}"
    );
    let file = tempfile::NamedTempFile::new().unwrap();
    // Kept as a log keeps it, among other lines.
    std::fs::write(
        file.path(),
        format!("2026-12-03T10:00:00Z INFO starting\n2026-12-03T10:00:01Z INFO ledger checkpoint checkpoint={checkpoint}"),
    )
    .unwrap();
    let checkpoint_file = file.path().to_str().unwrap().to_owned();
    let (code, report) = relay(
        ledgered.url(),
        &["verify", "--checkpoint", &checkpoint_file],
    );
    assert_eq!(code, Some(0), "{report}");
    assert!(report.contains("extends 1 checkpoints"), "{report}");
    // Two records stored after the checkpoint, then cut off with their entries and rows, and
    // the head moved back: the chain that is left is whole.
    let later = vec![
        record("email", "sonra@example.com", "granted"),
        record("email", "daha.sonra@example.com", "granted"),
    ];
    ledgered.relay.post(&batch(later.clone())).await;
    let (code, checkpoint) = relay(ledgered.url(), &["checkpoint"]);
    assert_eq!(code, Some(0));
    std::fs::write(file.path(), checkpoint).unwrap();
    for record in &later {
        let id = record["id"].as_str().unwrap();
        ledgered
            .execute(&format!("DELETE FROM consents WHERE id = '{id}'"))
            .await;
    }
    ledgered.execute("DELETE FROM ledger WHERE seq > 7").await;
    let seventh: String = sqlx::query("SELECT hash FROM ledger WHERE seq = 7")
        .fetch_one(ledgered.relay.store.pool())
        .await
        .unwrap()
        .try_get("hash")
        .unwrap();
    ledgered
        .execute(&format!(
            "UPDATE ledger_head SET seq = 7, hash = '{seventh}' WHERE id = 1"
        ))
        .await;
    let (code, _) = ledgered.verify();
    assert_eq!(
        code,
        Some(0),
        "without a checkpoint a clean cut leaves a whole chain"
    );
    let (code, report) = relay(
        ledgered.url(),
        &["verify", "--checkpoint", &checkpoint_file],
    );
    assert_eq!(code, Some(1), "{report}");
    assert!(
        report.contains("ledger broken at entry 8") && report.contains("removed from the end"),
        "{report}"
    );
    // A checkpoint whose figures were changed is not taken for the relay's.
    let forged = std::fs::read_to_string(file.path())
        .unwrap()
        .replace("entries=9", "entries=7");
    std::fs::write(file.path(), forged).unwrap();
    let (code, report) = relay(
        ledgered.url(),
        &["verify", "--checkpoint", &checkpoint_file],
    );
    assert_eq!(code, Some(1), "{report}");
    assert!(
        report.contains("not signed with this relay's ledger keys"),
        "{report}"
    );
}
both_backends!(
    forged_truncation,
    cutting_off_the_newest_entries_is_found_against_a_checkpoint
);

async fn changing_a_status_a_consent_time_or_an_iys_state_is_found(backend: Backend) {
    let ledgered = Ledgered::new(backend).await;
    let [first, second, third, ..] = &ledgered.ids[..] else {
        unreachable!()
    };
    ledgered
        .execute(&format!(
            "UPDATE consents SET status = 'rejected' WHERE id = '{third}'"
        ))
        .await;
    ledgered.assert_broken_at(3, "altered");
    ledgered
        .execute(&format!(
            "UPDATE consents SET status = 'granted' WHERE id = '{third}'"
        ))
        .await;
    assert_eq!(ledgered.verify().0, Some(0));

    // The consent time that orders a person's decisions, moved a day back.
    ledgered
        .execute(&format!(
            "UPDATE consents SET consent_at_ms = consent_at_ms - 86400000 WHERE id = '{second}'"
        ))
        .await;
    ledgered.assert_broken_at(2, "consent time");
    ledgered
        .execute(&format!(
            "UPDATE consents SET consent_at_ms = consent_at_ms + 86400000 WHERE id = '{second}'"
        ))
        .await;
    assert_eq!(ledgered.verify().0, Some(0));

    // The İYS outcome: an accepted record made to look refused, and a pending one made to look
    // accepted.
    ledgered
        .execute(&format!(
            "UPDATE consents SET iys_state = 'refused', iys_error = 'H121' WHERE id = '{first}'"
        ))
        .await;
    ledgered.assert_broken_at(6, "İYS outcome was altered");
    ledgered
        .execute(&format!(
            "UPDATE consents SET iys_state = 'accepted', iys_error = NULL WHERE id = '{first}'"
        ))
        .await;
    assert_eq!(ledgered.verify().0, Some(0));
    ledgered
        .execute(&format!(
            "UPDATE consents SET iys_state = 'accepted' WHERE id = '{third}'"
        ))
        .await;
    ledgered.assert_broken_at(3, "İYS outcome was altered");
}
both_backends!(
    forged_state,
    changing_a_status_a_consent_time_or_an_iys_state_is_found
);

async fn a_row_reusing_a_ledger_position_is_refused_and_found(backend: Backend) {
    let ledgered = Ledgered::new(backend).await;
    let copy = "INSERT INTO consents (id, recipient_hash, recipient_sealed, channel, recipient_type, status, source, consented_at_ms, received_at_ms, consent_date, consent_date_origin, consent_at_ms, details_sealed, key_id, ledger_seq, ledger_hash) \
                SELECT '0193741f-6c2a-7b1e-9a51-3f0c2d7e8a11', recipient_hash, recipient_sealed, channel, recipient_type, 'rejected', source, consented_at_ms, received_at_ms, consent_date, consent_date_origin, consent_at_ms, details_sealed, key_id, ledger_seq, ledger_hash FROM consents WHERE ledger_seq = 4";
    let refused = sqlx::query(copy).execute(ledgered.relay.store.pool()).await;
    assert!(
        refused.is_err(),
        "the database refuses a second record at one ledger position"
    );
    ledgered.execute("DROP INDEX consents_by_ledger_seq").await;
    ledgered.execute(copy).await;
    ledgered.assert_broken_at(4, "ledger entry 4");
}
both_backends!(
    forged_position,
    a_row_reusing_a_ledger_position_is_refused_and_found
);

async fn a_purge_appended_without_the_key_is_found(backend: Backend) {
    let ledgered = Ledgered::new(backend).await;
    let id = ledgered.ids[3].clone();
    ledgered
        .execute(&format!("DELETE FROM consents WHERE id = '{id}'"))
        .await;
    let head: (i64, String) = {
        let row = sqlx::query("SELECT seq, hash FROM ledger_head WHERE id = 1")
            .fetch_one(ledgered.relay.store.pool())
            .await
            .unwrap();
        (row.try_get("seq").unwrap(), row.try_get("hash").unwrap())
    };
    let seq = head.0 + 1;
    let at_ms = system_clock()().unix_millis();
    // As the ledger was chained before it was keyed: plain SHA-256, recomputed by the forger.
    let payload = "0".repeat(64);
    let hash = unkeyed_hash(seq, "purged", &id, &payload, at_ms, &head.1);
    ledgered
        .execute(&format!(
            "INSERT INTO ledger (seq, kind, record_id, payload_hash, at_ms, prev_hash, hash) VALUES ({seq}, 'purged', '{id}', '{payload}', {at_ms}, '{}', '{hash}')",
            head.1
        ))
        .await;
    ledgered
        .execute(&format!(
            "UPDATE ledger_head SET seq = {seq}, hash = '{hash}' WHERE id = 1"
        ))
        .await;
    ledgered.assert_broken_at(seq, "without the ledger key");
    // Made to look keyed, with facts that name no refusal: the hash does not fit.
    ledgered
        .execute(&format!(
            "UPDATE ledger SET version = 2, key_id = (SELECT key_id FROM ledger WHERE seq = 1), facts = '{{\"endedBy\":\"{id}\",\"endedAtMs\":0,\"retentionDays\":1096}}' WHERE seq = {seq}"
        ))
        .await;
    ledgered.assert_broken_at(seq, "altered");
}
both_backends!(forged_purge, a_purge_appended_without_the_key_is_found);

async fn swapping_the_sealed_values_of_two_rows_is_found(backend: Backend) {
    let ledgered = Ledgered::new(backend).await;
    let pool = ledgered.relay.store.pool();
    let sealed = |id: String| async move {
        let row =
            sqlx::query("SELECT recipient_sealed, details_sealed FROM consents WHERE id = $1")
                .bind(id)
                .fetch_one(pool)
                .await
                .unwrap();
        (
            row.try_get::<Vec<u8>, _>("recipient_sealed").unwrap(),
            row.try_get::<Vec<u8>, _>("details_sealed").unwrap(),
        )
    };
    let (a, b) = (ledgered.ids[1].clone(), ledgered.ids[3].clone());
    let (first, second) = (sealed(a.clone()).await, sealed(b.clone()).await);
    for (id, (recipient, details)) in [(&a, second), (&b, first)] {
        sqlx::query("UPDATE consents SET recipient_sealed = $1, details_sealed = $2 WHERE id = $3")
            .bind(recipient)
            .bind(details)
            .bind(id.clone())
            .execute(pool)
            .await
            .unwrap();
    }
    ledgered.assert_broken_at(2, "does not open");
}
both_backends!(forged_swap, swapping_the_sealed_values_of_two_rows_is_found);

async fn altering_or_removing_a_movement_from_iys_is_found(backend: Backend) {
    let ledgered = Ledgered::new(backend).await;
    ledgered
        .execute("UPDATE iys_movements SET status = 'granted'")
        .await;
    ledgered.assert_broken_at(7, "movement pulled from İYS was altered");
    ledgered
        .execute("UPDATE iys_movements SET status = 'rejected'")
        .await;
    assert_eq!(ledgered.verify().0, Some(0));
    ledgered.execute("DELETE FROM iys_movements").await;
    ledgered.assert_broken_at(7, "was removed");
}
both_backends!(
    forged_movement,
    altering_or_removing_a_movement_from_iys_is_found
);

async fn a_purge_the_retention_rule_allows_verifies_and_its_entry_cannot_be_bent(backend: Backend) {
    let ledgered = Ledgered::new(backend).await;
    // A refusal for the second record's address, then time passes beyond the retention.
    let mut refusal = record("email", "ali@example.com", "rejected");
    refusal["consentedAt"] = serde_json::json!(system_clock()().to_rfc3339());
    ledgered.relay.post(&batch(vec![refusal])).await;
    let later = Timestamp::from_unix_millis(system_clock()().unix_millis() + 1_097 * 86_400_000);
    let report = ledgered.relay.store.purge(later, 1_096).await.unwrap();
    assert_eq!(
        report.purged, 2,
        "the consent and the refusal that ended it"
    );
    let (code, report) = ledgered.verify();
    assert_eq!(code, Some(0), "{report}");
    // A purge entry is keyed like every other: its facts cannot be bent to hide a deletion.
    ledgered
        .execute("UPDATE ledger SET facts = replace(facts, '1096', '1') WHERE kind = 'purged'")
        .await;
    ledgered.assert_broken_at(9, "altered");
}
both_backends!(
    lawful_purge,
    a_purge_the_retention_rule_allows_verifies_and_its_entry_cannot_be_bent
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_untouched_copy_of_a_forged_database_still_verifies() {
    let ledgered = Ledgered::new(Backend::Sqlite).await;
    ledgered.relay.store.pool().close().await;
    let file = ledgered.relay.database.sqlite_file.clone().unwrap();
    let folder = tempfile::tempdir().unwrap();
    let copy = folder.path().join("copy.db");
    std::fs::copy(&file, &copy).unwrap();
    if let Ok(wal) = std::fs::read(file.with_extension("db-wal")) {
        std::fs::write(copy.with_extension("db-wal"), wal).unwrap();
    }
    let pool = sqlx::AnyPool::connect(&ledgered.relay.database.url)
        .await
        .unwrap();
    sqlx::query("UPDATE consents SET status = 'rejected'")
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    assert_eq!(ledgered.verify().0, Some(1));
    let (code, report) = relay(&format!("sqlite://{}", copy.display()), &["verify"]);
    assert_eq!(code, Some(0), "{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn iys_state_names_are_the_ones_stored() {
    for state in IysState::ALL {
        assert_eq!(state.as_str().parse::<IysState>(), Ok(state));
    }
}

/// Rewrites entries `1..=count` of the ledger as version 1 wrote them (plain SHA-256 over the
/// payload hash), with `payloads` their payload hashes, and moves the head to the last.
async fn rechain_unkeyed(pool: &sqlx::AnyPool, payloads: &[String], shift_first_by: i64) {
    let mut prev = iys_relay::store::GENESIS_HASH.to_owned();
    for (index, payload) in payloads.iter().enumerate() {
        let seq = index as i64 + 1;
        let row = sqlx::query("SELECT kind, record_id, at_ms FROM ledger WHERE seq = $1")
            .bind(seq)
            .fetch_one(pool)
            .await
            .unwrap();
        let kind: String = row.try_get("kind").unwrap();
        let record_id: String = row.try_get("record_id").unwrap();
        let at_ms: i64 =
            row.try_get::<i64, _>("at_ms").unwrap() + if seq == 1 { shift_first_by } else { 0 };
        let hash = unkeyed_hash(seq, &kind, &record_id, payload, at_ms, &prev);
        sqlx::query("UPDATE ledger SET version = 1, key_id = NULL, facts = NULL, payload_hash = $1, at_ms = $2, prev_hash = $3, hash = $4 WHERE seq = $5")
            .bind(payload.clone())
            .bind(at_ms)
            .bind(prev.clone())
            .bind(hash.clone())
            .bind(seq)
            .execute(pool)
            .await
            .unwrap();
        sqlx::query("UPDATE consents SET ledger_hash = $1 WHERE ledger_seq = $2")
            .bind(hash.clone())
            .bind(seq)
            .execute(pool)
            .await
            .unwrap();
        prev = hash;
    }
    sqlx::query("UPDATE ledger_head SET seq = $1, hash = $2 WHERE id = 1")
        .bind(payloads.len() as i64)
        .bind(prev)
        .execute(pool)
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ledger_from_before_keyed_chaining_is_sealed_and_its_dropped_refusals_go_again() {
    use sha2::Digest;
    let old = TestRelay::start(Backend::Sqlite).await;
    let consent = record("sms", "0532 123 45 67", "granted");
    let refusal = record("email", "eski@example.com", "rejected");
    old.post(&batch(vec![consent.clone(), refusal.clone()]))
        .await;
    let refusal_id = refusal["id"].as_str().unwrap().to_owned();
    let pool = old.store.pool().clone();
    // As a relay of the version before wrote it: the refusal settled locally as "nothing to
    // refuse", a movement pulled from İYS, every entry chained without a key.
    let mut payloads: Vec<String> = Vec::new();
    for stored in old.store.records(None, None).await.unwrap() {
        payloads.push(stored.plain.payload_hash());
    }
    sqlx::query("UPDATE consents SET iys_state = 'skipped', iys_error = 'H175' WHERE id = $1")
        .bind(refusal_id.clone())
        .execute(&pool)
        .await
        .unwrap();
    let iys_text = format!("iys {refusal_id} skipped   H175");
    payloads.push(consent_core::record::hex(&sha2::Sha256::digest(
        iys_text.as_bytes(),
    )));
    sqlx::query("INSERT INTO ledger (seq, kind, record_id, payload_hash, at_ms, prev_hash, hash) VALUES (3, 'iys', $1, '', 0, '', '')")
        .bind(refusal_id.clone())
        .execute(&pool)
        .await
        .unwrap();
    let keyring = iys_relay::crypto::Keyring::new(&DATA_KEY, &[]);
    let transaction_id = "c".repeat(64);
    sqlx::query("INSERT INTO iys_movements (transaction_id, recipient_hash, recipient_sealed, channel, recipient_type, status, source, consent_date, consent_at_ms, creation_date, pulled_at_ms) VALUES ($1, $2, $3, 'sms', 'individual', 'rejected', 'IYS_KISAMESAJ', '2026-12-01 10:00:00', $4, '2026-12-01 10:00:01', 0)")
        .bind(transaction_id.clone())
        .bind(old.store.recipient_hash("+905321234567"))
        .bind(keyring.seal(b"+905321234567", &format!("iys_movements.recipient/{transaction_id}")))
        .bind(IysDateTime::parse("2026-12-01 10:00:00").unwrap().to_instant().unix_millis())
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("DELETE FROM relay_meta WHERE name = 'ledger_keyed'")
        .execute(&pool)
        .await
        .unwrap();
    rechain_unkeyed(&pool, &payloads, 0).await;
    pool.close().await;

    let (code, report) = relay(&old.database.url, &["verify"]);
    assert_eq!(code, Some(0), "{report}");
    assert!(
        report.contains("6 entries, 2 records and 1 movements"),
        "{report}"
    );
    let reopened = sqlx::AnyPool::connect(&old.database.url).await.unwrap();
    let kinds: Vec<(String, i64)> =
        sqlx::query("SELECT kind, version FROM ledger WHERE seq > 3 ORDER BY seq")
            .fetch_all(&reopened)
            .await
            .unwrap()
            .iter()
            .map(|row| {
                (
                    row.try_get("kind").unwrap(),
                    row.try_get("version").unwrap(),
                )
            })
            .collect();
    assert_eq!(
        kinds,
        [
            ("sealed".to_owned(), 2),
            ("pulled".to_owned(), 2),
            ("requeued".to_owned(), 2)
        ]
    );
    let state: String = sqlx::query("SELECT iys_state FROM consents WHERE id = $1")
        .bind(refusal_id.clone())
        .fetch_one(&reopened)
        .await
        .unwrap()
        .try_get("iys_state")
        .unwrap();
    assert_eq!(
        state, "pending",
        "the refusal dropped on local knowledge goes to İYS again"
    );
    // Records stored before keyed chaining are purged lawfully, and verify agrees.
    let store = iys_relay::Store::open(&old.database.url, keyring.clone(), 2)
        .await
        .unwrap();
    let years_later =
        Timestamp::from_unix_millis(system_clock()().unix_millis() + 1_100 * 86_400_000);
    assert_eq!(store.purge(years_later, 1_096).await.unwrap().purged, 1);
    let (code, report) = relay(&old.database.url, &["verify"]);
    assert_eq!(code, Some(0), "{report}");
    store.pool().close().await;
    // Rewriting the unkeyed entries, even with every plain hash recomputed, breaks the keyed
    // entry that sealed them.
    rechain_unkeyed(&reopened, &payloads, -1_000).await;
    let fourth: String = sqlx::query("SELECT hash FROM ledger WHERE seq = 7")
        .fetch_one(&reopened)
        .await
        .unwrap()
        .try_get("hash")
        .unwrap();
    sqlx::query("UPDATE ledger_head SET seq = 7, hash = $1 WHERE id = 1")
        .bind(fourth)
        .execute(&reopened)
        .await
        .unwrap();
    reopened.close().await;
    let (code, report) = relay(&old.database.url, &["verify"]);
    assert_eq!(code, Some(1), "{report}");
    assert!(report.contains("ledger broken at entry 4:"), "{report}");
}
