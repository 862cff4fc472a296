//! What İYS answers about what it holds: the single and multiple status queries, the history,
//! the changes for pull, and the daily change file.

use super::*;

/// İYS's single status query: its checks of the body and its limit of 1000 queries an hour,
/// then the movement İYS holds for the key. İYS documents no answer for a key it has never
/// seen; the sandbox answers 404 with no H-code.
pub(super) async fn single_status(
    State(sandbox): State<Sandbox>,
    Path((iys, brand)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(response) = gate(&sandbox, &headers, &iys, &brand) {
        return response;
    }
    {
        let mut world = sandbox.lock();
        if world.faults.front().map(String::as_str) == Some("status-page-404") {
            // A proxy's own page in front of İYS, not İYS's answer.
            world.faults.pop_front();
            return (
                StatusCode::NOT_FOUND,
                [(header::CONTENT_TYPE, "text/html")],
                "<html><body>Not Found</body></html>",
            )
                .into_response();
        }
    }
    let Ok(Value::Object(query)) = serde_json::from_slice::<Value>(&body) else {
        return single_error(
            StatusCode::BAD_REQUEST,
            "H097",
            "the status query is invalid",
        );
    };
    let fail = |code: &str, message: &str, location: &str| {
        errors(
            StatusCode::UNPROCESSABLE_ENTITY,
            vec![error_body(code, message, Some(location), None)],
        )
    };
    let text = |key: &str| query.get(key).and_then(Value::as_str);
    let Some(kind) = text("type") else {
        return fail("H111", "type is missing", "type");
    };
    let Some(recipient_type) = text("recipientType") else {
        return fail("H170", "recipientType is missing", "recipientType");
    };
    let Some(recipient) = text("recipient") else {
        return fail("H114", "recipient is missing", "recipient");
    };
    if !matches!(kind, "ARAMA" | "MESAJ" | "EPOSTA") {
        return fail("H117", "type must be ARAMA, MESAJ or EPOSTA", "type");
    }
    if !matches!(recipient_type, "BIREYSEL" | "TACIR") {
        return fail(
            "H116",
            "recipientType must be BIREYSEL or TACIR",
            "recipientType",
        );
    }
    if kind == "EPOSTA" {
        if EmailAddress::parse(recipient).map(|address| address.as_str() == recipient) != Ok(true) {
            return fail("H120", "the e-mail address is invalid", "recipient");
        }
    } else if recipient.len() > 15 {
        return fail(
            "H166",
            "the phone number is longer than 15 characters",
            "recipient",
        );
    } else if PhoneNumber::parse(recipient).map(|number| number.e164() == recipient) != Ok(true)
        || !recipient.starts_with('+')
    {
        return fail("H121", "the phone number is not in E.164 form", "recipient");
    }
    let mut world = sandbox.lock();
    let now = sandbox.now(&world).unix_seconds();
    world.status_calls.retain(|at| now - at < 3_600);
    if world.status_calls.len() >= STATUS_QUERIES_PER_HOUR {
        return single_error(
            StatusCode::TOO_MANY_REQUESTS,
            "H086",
            "the hourly single-status limit is reached",
        );
    }
    world.status_calls.push_back(now);
    world.status_log.push(Value::Object(query.clone()));
    let key = (
        recipient.to_owned(),
        kind.to_owned(),
        recipient_type.to_owned(),
    );
    let Some(held) = world.held.get(&key) else {
        return errors(
            StatusCode::NOT_FOUND,
            vec![json!({"message": "no consent is recorded for this address"})],
        );
    };
    let latest = world.movements.iter().rev().find(|(_, movement, _)| {
        movement["recipient"] == recipient
            && movement["type"] == kind
            && movement["recipientType"] == recipient_type
    });
    let mut answer = json!({
        "consentDate": held.consent_date.to_string(),
        "recipient": recipient,
        "recipientType": recipient_type,
        "status": held.status,
        "type": kind,
    });
    if let Some((_, movement, _)) = latest {
        for field in ["creationDate", "source", "transactionId"] {
            answer[field] = movement[field].clone();
        }
    }
    Json(answer).into_response()
}

pub(super) async fn multi_status(
    State(sandbox): State<Sandbox>,
    Path((iys, brand, recipient_type, kind)): Path<(String, String, String, String)>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    if let Err(response) = gate(&sandbox, &headers, &iys, &brand) {
        return response;
    }
    let Some(recipients) = body["recipients"].as_array() else {
        return single_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "H478",
            "recipients is not a list",
        );
    };
    if recipients.len() > 1_000 {
        return single_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "H127",
            "the recipients list is too long",
        );
    }
    let world = sandbox.lock();
    let granted: Vec<&Value> = recipients
        .iter()
        .filter(|recipient| {
            let key = (
                recipient.as_str().unwrap_or("").to_owned(),
                kind.clone(),
                recipient_type.clone(),
            );
            world
                .held
                .get(&key)
                .is_some_and(|held| held.status == "ONAY")
        })
        .collect();
    let request_id = format!("{:032x}", world.counter);
    Json(json!({ "requestId": request_id, "list": granted })).into_response()
}

pub(super) async fn history(
    State(sandbox): State<Sandbox>,
    Path((iys, brand)): Path<(String, String)>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    if let Err(response) = gate(&sandbox, &headers, &iys, &brand) {
        return response;
    }
    let world = sandbox.lock();
    let list: Vec<Value> = world
        .movements
        .iter()
        .rev()
        .filter(|(_, movement, _)| {
            movement["recipient"] == body["recipient"] && movement["type"] == body["type"]
        })
        .map(|(_, movement, _)| movement.clone())
        .take(100)
        .collect();
    Json(json!({ "list": list })).into_response()
}

pub(super) async fn changes(
    State(sandbox): State<Sandbox>,
    Path((iys, brand)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    if let Err(response) = gate(&sandbox, &headers, &iys, &brand) {
        return response;
    }
    let source = query.get("source").map_or("IYS", String::as_str);
    if !matches!(source, "IYS" | "HS") {
        return single_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "H506",
            "the pull source is invalid",
        );
    }
    let limit: usize = query
        .get("limit")
        .and_then(|limit| limit.parse().ok())
        .unwrap_or(1_000);
    if limit > 1_000 {
        return single_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "H507",
            "the pull limit is over 1000",
        );
    }
    let after: usize = query
        .get("after")
        .and_then(|after| after.split('_').next())
        .and_then(|position| position.parse().ok())
        .unwrap_or(0);
    let world = sandbox.lock();
    let now = sandbox.now(&world).unix_millis();
    // The last hour (the configured lag) is not listed yet; İYS keeps seven days.
    let lag = sandbox.config.pull_lag.as_millis() as i64;
    let visible: Vec<(usize, &Value)> = world
        .movements
        .iter()
        .enumerate()
        .filter(|(position, (created, _, from_iys))| {
            *position >= after
                && *from_iys == (source == "IYS")
                && now - created >= lag
                && now - created <= 7 * 86_400_000
        })
        .map(|(position, (_, movement, _))| (position, movement))
        .take(limit)
        .collect();
    let Some(&(last, _)) = visible.last() else {
        return StatusCode::NO_CONTENT.into_response();
    };
    let list: Vec<Value> = visible
        .into_iter()
        .map(|(_, movement)| movement.clone())
        .collect();
    Json(json!({ "after": format!("{}_{}", last + 1, list.last().and_then(|movement| movement["transactionId"].as_str()).unwrap_or("")), "list": list })).into_response()
}

/// İYS's daily change file of a past day: every movement İYS registered that Turkish day, from
/// the provider and from citizens, as CSV with its header, sorted by creation date and then
/// transaction id, ending with a line break. A date not written `YYYY-MM-DD` is H501, one more
/// than seven days back H502; a day without movements, and a day not over yet, have no file
/// (204).
pub(super) async fn daily_file(
    State(sandbox): State<Sandbox>,
    Path((iys, brand, date)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Response {
    if let Err(response) = gate(&sandbox, &headers, &iys, &brand) {
        return response;
    }
    let Some(day) = CivilDate::parse_iso(&date) else {
        return single_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "H501",
            "the date must be written yyyy-aa-gg",
        );
    };
    let world = sandbox.lock();
    let today = TurkeyTime::at(sandbox.now(&world)).date();
    if today.days_since_epoch() - day.days_since_epoch() > 7 {
        return single_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "H502",
            "the report date is more than seven days back",
        );
    }
    if day >= today {
        return StatusCode::NO_CONTENT.into_response();
    }
    let prefix = format!("{day} ");
    let field = |movement: &Value, key: &str| movement[key].as_str().unwrap_or("").to_owned();
    let mut rows: Vec<[String; 8]> = world
        .movements
        .iter()
        .map(|(_, movement, _)| movement)
        .filter(|movement| field(movement, "creationDate").starts_with(&prefix))
        .map(|movement| {
            [
                "creationDate",
                "transactionId",
                "recipient",
                "recipientType",
                "type",
                "status",
                "consentDate",
                "source",
            ]
            .map(|key| field(movement, key))
        })
        .collect();
    if rows.is_empty() {
        return StatusCode::NO_CONTENT.into_response();
    }
    rows.sort_by(|a, b| (&a[0], &a[1]).cmp(&(&b[0], &b[1])));
    let mut file = String::from(
        "creationDate,transactionId,recipient,recipientType,type,status,consentDate,source\n",
    );
    for row in rows {
        file.push_str(&row.join(","));
        file.push('\n');
    }
    ([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], file).into_response()
}
