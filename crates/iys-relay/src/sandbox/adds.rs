//! Single adds (V1 and V2), batches and their results, and the faults a test plans for them.

use super::*;

/// The answer a planned fault gives instead of doing the work: `500`, `503`, `429`, or
/// `timeout` (no answer for a minute, then 503). `lost` does the work and is handled after it.
pub(super) async fn failure(fault: Option<&str>) -> Option<Response> {
    match fault {
        Some("500") => Some(single_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "H015",
            "an unexpected error",
        )),
        Some("503") => Some(single_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "H192",
            "the request timed out",
        )),
        Some("429") => Some(single_error(
            StatusCode::TOO_MANY_REQUESTS,
            "H124",
            "more than 10 requests per second",
        )),
        // İYS counting a window otherwise than the relay does.
        Some("H467") => Some(single_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "H467",
            "consents taken more than three business days ago cannot be registered",
        )),
        Some("timeout") => {
            tokio::time::sleep(Duration::from_secs(60)).await;
            Some(single_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "H192",
                "the request timed out",
            ))
        }
        _ => None,
    }
}

/// Takes the next planned fault, if any.
pub(super) fn next_fault(sandbox: &Sandbox) -> Option<String> {
    sandbox.lock().faults.pop_front()
}

pub(super) async fn add(
    sandbox: Sandbox,
    headers: HeaderMap,
    path: String,
    iys: String,
    brand: String,
    body: Bytes,
    v2: bool,
) -> Response {
    if let Err(response) = gate(&sandbox, &headers, &iys, &brand) {
        return response;
    }
    let fault = next_fault(&sandbox);
    if let Some(response) = failure(fault.as_deref()).await {
        return response;
    }
    let Ok(value) = serde_json::from_slice::<Value>(&body) else {
        return single_error(
            StatusCode::BAD_REQUEST,
            "H014",
            "the body is not valid JSON",
        );
    };
    let answer = {
        let mut world = sandbox.lock();
        world.log.push(value.clone());
        let now = sandbox.now(&world);
        let fingerprint = format!("{path}\n{}", String::from_utf8_lossy(&body));
        if let Some(first) = world.idempotent.get(&fingerprint).filter(|_| v2) {
            Ok(first.clone())
        } else {
            match check(&value, &world, now, None) {
                Ok(checked) => {
                    let answer = store(&mut world, checked, now);
                    if v2 {
                        world.idempotent.insert(fingerprint, answer.clone());
                    }
                    Ok(answer)
                }
                Err(entries) => Err(entries),
            }
        }
    };
    match answer {
        Ok(answer) => {
            if fault.as_deref() == Some("lost") {
                // Stored, but the answer never arrives.
                tokio::time::sleep(Duration::from_secs(60)).await;
            }
            Json(answer).into_response()
        }
        Err(entries) => {
            let status = match entries[0]["code"].as_str() {
                Some("H174" | "H175" | "H178" | "H085") => StatusCode::BAD_REQUEST,
                _ => StatusCode::UNPROCESSABLE_ENTITY,
            };
            errors(status, entries)
        }
    }
}

pub(super) async fn add_v1(
    State(sandbox): State<Sandbox>,
    Path((iys, brand)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = format!("/sps/{iys}/brands/{brand}/consents");
    add(sandbox, headers, path, iys, brand, body, false).await
}

pub(super) async fn add_v2(
    State(sandbox): State<Sandbox>,
    Path((iys, brand)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = format!("/v2/sps/{iys}/brands/{brand}/consents");
    add(sandbox, headers, path, iys, brand, body, true).await
}

pub(super) async fn batch_add(
    State(sandbox): State<Sandbox>,
    Path((iys, brand)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(response) = gate(&sandbox, &headers, &iys, &brand) {
        return response;
    }
    let fault = next_fault(&sandbox);
    if let Some(response) = failure(fault.as_deref()).await {
        return response;
    }
    let Ok(Value::Array(items)) = serde_json::from_slice::<Value>(&body) else {
        return single_error(
            StatusCode::BAD_REQUEST,
            "H092",
            "the batch request is invalid",
        );
    };
    if items.len() > 1_000 {
        return single_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "H091",
            "a batch holds more than 1000 consents",
        );
    }
    let mut seen = std::collections::HashSet::new();
    for (index, item) in items.iter().enumerate() {
        let key = (
            item["recipientType"]
                .as_str()
                .unwrap_or("BIREYSEL")
                .to_owned(),
            item["type"].clone(),
            item["recipient"].clone(),
        );
        if !seen.insert(format!("{key:?}")) {
            return errors(
                StatusCode::UNPROCESSABLE_ENTITY,
                vec![error_body(
                    "H194",
                    "a (recipientType, type, recipient) appears twice in the batch",
                    None,
                    Some(index),
                )],
            );
        }
    }
    let (request_id, sub_requests) = {
        let mut world = sandbox.lock();
        world.log.extend(items.iter().cloned());
        let now = sandbox.now(&world);
        let request_id = {
            let id = Sandbox::next_id(&mut world);
            format!(
                "{}-{}-{}-{}-{}",
                &id[..8],
                &id[8..12],
                &id[12..16],
                &id[16..20],
                &id[20..32]
            )
        };
        let sub_requests: Vec<Value> = items
            .iter()
            .enumerate()
            .map(|(index, item)| {
                let mut sub = item.clone();
                sub["subRequestId"] = json!(format!("{request_id}-{index}"));
                sub
            })
            .collect();
        world.batches.insert(
            request_id.clone(),
            Batch {
                submitted_ms: now.unix_millis(),
                items,
                results: None,
            },
        );
        world.queued_batches.push_back(request_id.clone());
        (request_id, sub_requests)
    };
    if fault.as_deref() == Some("lost") {
        // Queued, but the answer never arrives.
        tokio::time::sleep(Duration::from_secs(60)).await;
    }
    (
        StatusCode::ACCEPTED,
        Json(json!({ "requestId": request_id, "subRequests": sub_requests })),
    )
        .into_response()
}

pub(super) async fn batch_result(
    State(sandbox): State<Sandbox>,
    Path((iys, brand, request)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Response {
    if let Err(response) = gate(&sandbox, &headers, &iys, &brand) {
        return response;
    }
    let world = sandbox.lock();
    match world.batches.get(&request) {
        None => single_error(StatusCode::NOT_FOUND, "H093", "the request was not found"),
        Some(Batch {
            results: Some(results),
            ..
        }) => Json(results.clone()).into_response(),
        // Not processed yet: İYS answers with an empty body.
        Some(_) => StatusCode::OK.into_response(),
    }
}

/// Registers a batch's consents in order. A consent already registered through a batch with the
/// very same data and date is not registered again: its result points to the original, as İYS's
/// V2 batch does.
pub(super) fn process_batch(world: &mut World, request: &str, now: Timestamp) {
    let Some(items) = world.batches.get(request).map(|batch| batch.items.clone()) else {
        return;
    };
    let mut results = Vec::new();
    for (index, item) in items.iter().enumerate() {
        let sub_request_id = format!("{request}-{index}");
        let fingerprint = item.to_string();
        if let Some(original) = world.registered.get(&fingerprint) {
            results.push(json!({"index": index, "status": "success", "subrequestId": sub_request_id, "requestId": request, "transactionId": original["transactionId"], "creationDate": original["creationDate"], "isAddConsentV2Service": true, "originalRequestInformation": {"requestId": original["requestId"], "subRequestId": original["subRequestId"]}}));
            continue;
        }
        match check(item, world, now, Some(index)) {
            Ok(checked) => {
                let answer = store(world, checked, now);
                world.registered.insert(
                    fingerprint,
                    json!({"transactionId": answer["transactionId"], "creationDate": answer["creationDate"], "requestId": request, "subRequestId": sub_request_id}),
                );
                results.push(json!({"index": index, "status": "success", "subrequestId": sub_request_id, "requestId": request, "transactionId": answer["transactionId"], "creationDate": answer["creationDate"], "isAddConsentV2Service": true}));
            }
            Err(entries) => {
                results.push(json!({"index": index, "status": "failure", "subrequestId": sub_request_id, "requestId": request, "error": {"code": entries[0]["code"], "message": entries[0]["message"]}}));
            }
        }
    }
    if let Some(batch) = world.batches.get_mut(request) {
        batch.results = Some(Value::Array(results));
    }
}
