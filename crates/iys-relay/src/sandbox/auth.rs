//! İYS's token endpoint, and the gate every consent endpoint passes: the per-second limit, the
//! bearer token and the codes in the path.

use super::*;

/// Answers the per-second limit, the bearer token and the path codes shared by every consent
/// endpoint; `Ok` when the request may go on.
#[allow(
    clippy::result_large_err,
    reason = "the error is the answer itself, sent at once"
)]
pub(super) fn gate(
    sandbox: &Sandbox,
    headers: &HeaderMap,
    iys: &str,
    brand: &str,
) -> Result<(), Response> {
    let mut world = sandbox.lock();
    let now = sandbox.now(&world);
    let second = now.unix_seconds();
    if world.second.0 == second {
        world.second.1 += 1;
    } else {
        world.second = (second, 1);
    }
    if world.second.1 > REQUESTS_PER_SECOND {
        world.rate_limited += 1;
        return Err(single_error(
            StatusCode::TOO_MANY_REQUESTS,
            "H124",
            "more than 10 requests per second",
        ));
    }
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "));
    let valid = token
        .and_then(|token| world.access_tokens.get(token))
        .is_some_and(|expires| *expires > now.unix_seconds());
    if !valid {
        return Err(single_error(
            StatusCode::UNAUTHORIZED,
            "H351",
            "the access token is missing, invalid or expired",
        ));
    }
    if iys.parse::<u64>().is_err() {
        return Err(single_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "H190",
            "iysCode must be an integer",
        ));
    }
    if brand.parse::<u64>().is_err() {
        return Err(single_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "H191",
            "brandCode must be an integer",
        ));
    }
    Ok(())
}

pub(super) async fn token(
    State(sandbox): State<Sandbox>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/x-www-form-urlencoded"));
    let fields: HashMap<String, String> = if is_form {
        String::from_utf8_lossy(&body)
            .split('&')
            .filter_map(|pair| pair.split_once('='))
            .map(|(key, value)| (key.to_owned(), value.replace('+', " ")))
            .collect()
    } else {
        serde_json::from_slice::<HashMap<String, Value>>(&body)
            .unwrap_or_default()
            .into_iter()
            .filter_map(|(key, value)| value.as_str().map(|text| (key, text.to_owned())))
            .collect()
    };
    let mut world = sandbox.lock();
    let now = sandbox.now(&world).unix_seconds();
    // Over the hourly limit, and a retry before the hour is over restarts the counter.
    world.token_calls.retain(|at| now - at < 3_600);
    let grant = fields.get("grant_type").cloned().unwrap_or_default();
    if world.token_calls.len() >= TOKEN_REQUESTS_PER_HOUR {
        world.token_calls.push_back(now);
        world.token_calls.pop_front();
        world
            .token_log
            .push(json!({"grant": grant, "outcome": "H084"}));
        return single_error(
            StatusCode::TOO_MANY_REQUESTS,
            "H084",
            "the hourly token limit is reached",
        );
    }
    world.token_calls.push_back(now);
    world
        .token_log
        .push(json!({"grant": grant, "outcome": "invalid"}));
    let invalid = |description: &str| {
        (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "invalid_grant", "error_description": description})),
        )
            .into_response()
    };
    match fields.get("grant_type").map(String::as_str) {
        Some("password") => {
            if fields.get("username") != Some(&sandbox.config.username)
                || fields.get("password") != Some(&sandbox.config.password)
            {
                return invalid("the user credentials are not valid");
            }
        }
        Some("refresh_token") => {
            let refresh = fields.get("refresh_token").cloned().unwrap_or_default();
            match world.refresh_tokens.remove(&refresh) {
                Some(expires) if expires > now => {}
                _ => return invalid("the refresh token is not valid"),
            }
        }
        _ => {
            return (
                StatusCode::BAD_REQUEST,
                Json(json!({"error": "invalid_request", "error_description": "grant_type must be password or refresh_token"})),
            )
                .into_response();
        }
    }
    if let Some(last) = world.token_log.last_mut() {
        last["outcome"] = json!("issued");
    }
    let access = Sandbox::next_id(&mut world);
    let refresh = Sandbox::next_id(&mut world);
    world
        .access_tokens
        .insert(access.clone(), now + ACCESS_TOKEN_SECONDS);
    world
        .refresh_tokens
        .insert(refresh.clone(), now + REFRESH_TOKEN_SECONDS);
    Json(json!({
        "access_token": access,
        "refresh_token": refresh,
        "expires_in": ACCESS_TOKEN_SECONDS,
        "refresh_expires_in": REFRESH_TOKEN_SECONDS,
        "token_type": "bearer",
    }))
    .into_response()
}
