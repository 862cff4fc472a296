//! The relay's HTTP API as a client reaches it: any method, path, query, headers (the
//! preference-centre token and the forwarded address among them) and body get an answer, never
//! a panic and never a 500, and every error answer carries a code.
#![no_main]

use std::sync::OnceLock;

use axum::body::{Body, to_bytes};
use axum::http::Request;
use iys_relay::clock::system_clock;
use iys_relay::config::Config;
use iys_relay::{AppState, Store, app};
use libfuzzer_sys::fuzz_target;
use tower::ServiceExt;

struct Relay {
    runtime: tokio::runtime::Runtime,
    state: AppState,
    _folder: std::path::PathBuf,
}

fn relay() -> &'static Relay {
    static RELAY: OnceLock<Relay> = OnceLock::new();
    RELAY.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("a runtime");
        let folder = std::env::temp_dir().join(format!("iys-fuzz-http-{}", std::process::id()));
        std::fs::create_dir_all(&folder).expect("a scratch folder");
        let url = format!("sqlite://{}", folder.join("relay.db").display());
        let state = runtime.block_on(async {
            let mut config = Config::load(None, &|name| match name {
                "RELAY_DATA_KEY" => Some("BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=".to_owned()),
                "RELAY_ALLOWED_ORIGINS" => Some("https://shop.test".to_owned()),
                "RELAY_STATE_TOKEN_SECRET" => Some("a-shared-secret-of-at-least-32-bytes!".to_owned()),
                "RELAY_METRICS_TOKEN" => Some("a-metrics-token-for-fuzzing".to_owned()),
                "RELAY_TRUSTED_PROXIES" => Some("127.0.0.1".to_owned()),
                "RELAY_RATE_LIMIT_PER_MINUTE" => Some("100000000".to_owned()),
                _ => None,
            })
            .expect("the settings");
            config.database_url = url.clone();
            let store = Store::open(&url, config.keyring(), 2).await.expect("the store");
            AppState::new(config, store, system_clock())
        });
        Relay {
            runtime,
            state,
            _folder: folder,
        }
    })
}

const PATHS: &[&str] = &[
    "/v1/consents",
    "/v1/consents/state",
    "/v1/health",
    "/metrics",
    "/v1/",
    "/",
];
const METHODS: &[&str] = &["GET", "POST", "OPTIONS", "PUT", "DELETE", "HEAD", "PATCH"];
const HEADERS: &[&str] = &[
    "authorization",
    "content-type",
    "origin",
    "x-forwarded-for",
    "content-length",
    "access-control-request-headers",
];

fuzz_target!(|input: &[u8]| {
    let Some((&selector, rest)) = input.split_first() else {
        return;
    };
    let method = METHODS[usize::from(selector) % METHODS.len()];
    let path = PATHS[usize::from(selector >> 3) % PATHS.len()];
    // The rest: a query, then header values and the body, separated by newlines.
    let text = String::from_utf8_lossy(rest);
    let mut parts = text.splitn(HEADERS.len() + 2, '\n');
    let query = parts.next().unwrap_or("");
    let mut builder = Request::builder()
        .method(method)
        .uri(format!("{path}?{}", query.replace(['#', ' '], "")));
    for name in HEADERS {
        if let Some(value) = parts.next()
            && !value.is_empty()
            && *name != "content-length"
        {
            builder = builder.header(*name, value);
        }
    }
    let body = parts.next().unwrap_or("").as_bytes().to_vec();
    let Ok(request) = builder.body(Body::from(body)) else {
        return;
    };
    let relay = relay();
    let (status, body) = relay.runtime.block_on(async {
        let response = app(relay.state.clone())
            .oneshot(request)
            .await
            .expect("the router never fails");
        let status = response.status().as_u16();
        (status, to_bytes(response.into_body(), 1 << 20).await.expect("a body"))
    });
    assert_ne!(status, 500, "a client's request got a 500: {}", String::from_utf8_lossy(&body));
    if (400..600).contains(&status) && !body.is_empty() {
        let answer: serde_json::Value =
            serde_json::from_slice(&body).expect("an error answer is JSON");
        assert!(answer["code"].is_string() || answer["status"].is_string(), "{answer}");
    }
});
