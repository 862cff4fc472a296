//! The sandbox's own endpoints under `/sandbox/`, for tests and demos: a citizen's movement made
//! in İYS, planned faults, the clock, and the log.

use super::*;

pub(super) async fn citizen(State(sandbox): State<Sandbox>, Json(body): Json<Value>) -> Response {
    let mut world = sandbox.lock();
    let now = sandbox.now(&world);
    let key = (
        body["recipient"].as_str().unwrap_or("").to_owned(),
        body["type"].as_str().unwrap_or("").to_owned(),
        body["recipientType"]
            .as_str()
            .unwrap_or("BIREYSEL")
            .to_owned(),
    );
    let status = body["status"].as_str().unwrap_or("RET").to_owned();
    let date = IysDateTime::from_instant(now);
    world.held.insert(
        key.clone(),
        Held {
            status: status.clone(),
            consent_date: date,
        },
    );
    let transaction_id = Sandbox::next_id(&mut world);
    let movement = json!({
        "consentDate": date.to_string(),
        "creationDate": date.to_string(),
        "source": body["source"].as_str().unwrap_or("IYS_KISAMESAJ"),
        "recipient": key.0,
        "recipientType": key.2,
        "status": status,
        "type": key.1,
        "transactionId": transaction_id,
    });
    world
        .movements
        .push((now.unix_millis(), movement.clone(), true));
    deliver(&sandbox, &world, &movement);
    Json(movement).into_response()
}

pub(super) async fn faults(
    State(sandbox): State<Sandbox>,
    Json(plan): Json<Vec<String>>,
) -> Response {
    sandbox.lock().faults.extend(plan);
    Json(json!({"ok": true})).into_response()
}

pub(super) async fn clock(State(sandbox): State<Sandbox>, Json(body): Json<Value>) -> Response {
    let mut world = sandbox.lock();
    world.clock_offset_ms += body["advanceSeconds"].as_i64().unwrap_or(0) * 1_000;
    Json(json!({"offsetSeconds": world.clock_offset_ms / 1_000})).into_response()
}

pub(super) async fn log(State(sandbox): State<Sandbox>) -> Response {
    let world = sandbox.lock();
    Json(json!({
        "requests": world.log,
        "tokenRequests": world.token_log,
        "statusQueries": world.status_log,
        "pushRegistrations": world.push_log,
        "pushes": world.pushes,
        "rateLimited": world.rate_limited,
        "batches": world.batches.len(),
        "held": world.held.len(),
        "movements": world.movements.len(),
    }))
    .into_response()
}
