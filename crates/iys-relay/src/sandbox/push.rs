//! İYS's push: a provider registers, per channel, the address citizens' movements are posted
//! to. İYS checks that the address answers HTTP Basic authentication within five seconds by
//! posting it a fixed test record, and from then on posts every `IYS_*` movement of that channel
//! there. At most two connections are active per channel.
//!
//! One difference on purpose: İYS takes only https addresses (H531); the sandbox also takes plain
//! http to this machine, the only place it can reach.

use super::*;

/// How long İYS waits for the address to answer the test record.
const PUSH_TIMEOUT: Duration = Duration::from_secs(5);
/// Connections İYS keeps active per channel at most.
const CONNECTIONS_PER_TYPE: usize = 2;

/// A registered connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct PushTarget {
    iys_code: u64,
    brand_code: u64,
    url: String,
    channel: String,
    username: String,
    password: String,
}

/// The record İYS posts to every new connection, the same for everyone.
fn test_record() -> Value {
    json!({"list": [{
        "iysCode": 121_212,
        "brandCode": 121_212,
        "consentDate": "2015-05-01 15:00:00",
        "creationDate": "2015-05-01 15:00:00",
        "source": "IYS_MOBIL",
        "recipient": "pushtest@iys.org.tr",
        "recipientType": "BIREYSEL",
        "status": "ONAY",
        "type": "EPOSTA",
        "transactionId": "e52ee30512adfcd2a41fb3b4682f5bd61eee5b1c92bda665fc0b7e56644d429d"
    }]})
}

fn is_reachable_url(url: &str) -> bool {
    if url.starts_with("https://") {
        return true;
    }
    let Some(rest) = url.strip_prefix("http://") else {
        return false;
    };
    let host = rest.split(['/', ':']).next().unwrap_or("");
    host == "localhost" || host == "127.0.0.1"
}

fn invalid(code: &str, message: &str, location: &str) -> Response {
    errors(
        StatusCode::UNPROCESSABLE_ENTITY,
        vec![error_body(code, message, Some(location), None)],
    )
}

/// Posts `body` to `target` with its Basic authentication; the answer's status.
async fn post(client: &reqwest::Client, target: &PushTarget, body: &Value) -> Result<u16, bool> {
    client
        .post(&target.url)
        .basic_auth(&target.username, Some(&target.password))
        .json(body)
        .timeout(PUSH_TIMEOUT)
        .send()
        .await
        .map(|answer| answer.status().as_u16())
        .map_err(|error| error.is_timeout())
}

/// `POST /sps/{iysCode}/brands/{brandCode}/push/registration`.
pub(super) async fn push_registration(
    State(sandbox): State<Sandbox>,
    Path((iys, brand)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(response) = gate(&sandbox, &headers, &iys, &brand) {
        return response;
    }
    let (Ok(iys_code), Ok(brand_code)) = (iys.parse::<u64>(), brand.parse::<u64>()) else {
        return single_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "H190",
            "iysCode must be an integer",
        );
    };
    let Ok(request) = serde_json::from_slice::<Value>(&body) else {
        return single_error(StatusCode::BAD_REQUEST, "H014", "the request must be JSON");
    };
    let Some(connections) = request["connection"]
        .as_array()
        .filter(|list| !list.is_empty())
    else {
        return invalid("H110", "connection is missing", "connection");
    };
    let mut targets = Vec::with_capacity(connections.len());
    for connection in connections {
        let text = |key: &str| connection[key].as_str().unwrap_or("").to_owned();
        let url = text("url");
        if !is_reachable_url(&url) {
            return invalid("H531", "the connection url must start with https", "url");
        }
        let channel = text("type");
        if channel.is_empty() {
            return invalid("H111", "type is missing", "type");
        }
        if !matches!(channel.as_str(), "ARAMA" | "MESAJ" | "EPOSTA") {
            return invalid("H117", "type must be ARAMA, MESAJ or EPOSTA", "type");
        }
        let (username, password) = (text("username"), text("password"));
        if username.is_empty() {
            return invalid("H093", "username is missing", "username");
        }
        if password.is_empty() {
            return invalid("H093", "password is missing", "password");
        }
        targets.push(PushTarget {
            iys_code,
            brand_code,
            url,
            channel,
            username,
            password,
        });
    }
    {
        let mut world = sandbox.lock();
        world.push_log.push(request.clone());
        for target in &targets {
            let active = world
                .push_targets
                .iter()
                .filter(|known| known.channel == target.channel && known.url != target.url)
                .count();
            if active >= CONNECTIONS_PER_TYPE {
                return invalid(
                    "H530",
                    "the connection could not be made: two are active for this type",
                    "type",
                );
            }
        }
    }
    // Every address must take the test record, with its credentials, within five seconds.
    let client = reqwest::Client::new();
    for target in &targets {
        match post(&client, target, &test_record()).await {
            Ok(status) if (200..300).contains(&status) => {}
            Err(true) => return invalid("H191", "the connection timed out", "url"),
            _ => return invalid("H530", "the connection could not be made", "url"),
        }
    }
    let mut world = sandbox.lock();
    for target in targets {
        world
            .push_targets
            .retain(|known| !(known.channel == target.channel && known.url == target.url));
        world.push_targets.push(target);
    }
    Json(json!({"message": "Bağlantı oluşturuldu"})).into_response()
}

/// Posts a citizen's `movement` to the connections registered for its channel, in the
/// background, noting each answer in the log.
pub(super) fn deliver(sandbox: &Sandbox, world: &World, movement: &Value) {
    let channel = movement["type"].as_str().unwrap_or("");
    let targets: Vec<PushTarget> = world
        .push_targets
        .iter()
        .filter(|target| target.channel == channel)
        .cloned()
        .collect();
    for target in targets {
        let mut item = movement.clone();
        item["iysCode"] = json!(target.iys_code);
        item["brandCode"] = json!(target.brand_code);
        let body = json!({ "list": [item] });
        let sandbox = sandbox.clone();
        tokio::spawn(async move {
            let answer = post(&reqwest::Client::new(), &target, &body).await;
            let status = answer.unwrap_or(0);
            sandbox.lock().pushes.push(json!({
                "url": target.url,
                "transactionId": body["list"][0]["transactionId"],
                "status": status,
            }));
        });
    }
}
