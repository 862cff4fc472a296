//! The `iys-relay serve` process itself: what it logs and how it stops.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use crate::support::{DATA_KEY, ORIGIN, base64_key, batch, record};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_logs_no_address_and_finishes_requests_when_told_to_stop() {
    let folder = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_iys-relay"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env(
            "DATABASE_URL",
            format!("sqlite://{}", folder.path().join("relay.db").display()),
        )
        .env("RELAY_DATA_KEY", base64_key(&DATA_KEY))
        .env("RELAY_ALLOWED_ORIGINS", ORIGIN)
        .env("RELAY_ACCEPT_UNREGISTERED_TEXTS", "true")
        .env(
            "RELAY_STATE_TOKEN_SECRET",
            "0123456789abcdef0123456789abcdef",
        )
        .env("RELAY_LOG", "trace")
        .env("RELAY_CHECKPOINT_INTERVAL_SECONDS", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let base = line.trim().rsplit(' ').next().unwrap().to_owned();
    assert!(base.starts_with("http://127.0.0.1:"), "{line}");
    let client = reqwest::Client::new();
    let post = |body: serde_json::Value| {
        client
            .post(format!("{base}/v1/consents"))
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
    };
    let stored = post(batch(vec![
        record("sms", "0532 123 45 67", "granted"),
        record("email", "gizli.kisi@example.com", "granted"),
    ]))
    .await
    .unwrap();
    assert_eq!(stored.status().as_u16(), 200);
    let refused = post(batch(vec![record("sms", "0212 987 65 43", "granted")]))
        .await
        .unwrap();
    assert_eq!(refused.status().as_u16(), 422);
    let mut wrong_type = batch(vec![record("sms", "0532 123 45 67", "granted")]);
    wrong_type["records"][0]["recipient"] = serde_json::json!(5_449_876_543_u64);
    assert_eq!(post(wrong_type).await.unwrap().status().as_u16(), 422);
    let token_response = client
        .get(format!("{base}/v1/consents/state?phone=05321234567"))
        .header("authorization", "Bearer v1.e30.AAAA")
        .send()
        .await
        .unwrap();
    assert_eq!(token_response.status().as_u16(), 401);

    // A checkpoint is logged at start and every second after.
    tokio::time::sleep(std::time::Duration::from_millis(1_500)).await;

    // Stop it while a request is on its way: the request is still answered.
    let in_flight = tokio::spawn(post(batch(vec![record(
        "email",
        "veli@example.com",
        "granted",
    )])));
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    // A request the server had accepted is answered; one that arrived after it stopped
    // accepting is refused at connect, never cut off half-way.
    match in_flight.await.unwrap() {
        Ok(answer) => assert_eq!(answer.status().as_u16(), 200),
        Err(error) => assert!(error.is_connect(), "{error}"),
    }
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "{:?}", output.status);
    let log = String::from_utf8_lossy(&output.stderr);
    assert!(
        log.contains("consents received") && log.contains("stopped"),
        "{log}"
    );
    // The checkpoints it logged are the ones `verify --checkpoint` reads from the log.
    let log_file = folder.path().join("relay.log");
    std::fs::write(&log_file, log.as_bytes()).unwrap();
    let verified = Command::new(env!("CARGO_BIN_EXE_iys-relay"))
        .args(["verify", "--checkpoint"])
        .arg(&log_file)
        .env(
            "DATABASE_URL",
            format!("sqlite://{}", folder.path().join("relay.db").display()),
        )
        .env("RELAY_DATA_KEY", base64_key(&DATA_KEY))
        .env("RELAY_LOG", "warn")
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&verified.stdout);
    assert!(verified.status.success(), "{report}");
    let logged = log.matches("iys-relay checkpoint v1").count();
    assert!(logged >= 2, "{log}");
    assert!(
        report.contains(&format!("extends {logged} checkpoints")),
        "{report}"
    );
    for secret in [
        "5321234567",
        "532 123",
        "gizli",
        "9876543",
        "987 65",
        "5449876543",
        "0123456789abcdef",
        &base64_key(&DATA_KEY),
    ] {
        assert!(!log.contains(secret), "the log holds {secret:?}:\n{log}");
    }
}
