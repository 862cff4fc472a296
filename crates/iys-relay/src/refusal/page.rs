//! The refusal page: one heading, one sentence, one button, in Turkish or English. It works
//! without script, loads nothing from elsewhere, and its policy allows only its own inline style
//! and a form posted back to itself.

use std::sync::LazyLock;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use consent_core::Locale;
use consent_core::refusal::page_words;
use sha2::{Digest, Sha256};

const STYLE: &str = "body{margin:0;font:1.0625rem/1.5 system-ui,sans-serif;color:#1a1a1a;background:#f6f6f4}main{max-width:34rem;margin:10vh auto;padding:2rem;background:#fff;border:1px solid #d0d0cc;border-radius:.5rem}h1{font-size:1.375rem;margin:0 0 1rem}button{font:inherit;padding:.625rem 1.25rem;border:2px solid #7a1010;border-radius:.375rem;background:#a31515;color:#fff;cursor:pointer}button:focus-visible{outline:3px solid #1a1a1a;outline-offset:2px}[role=status]{font-weight:600}";

static POLICY: LazyLock<String> = LazyLock::new(|| {
    let digest = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(STYLE));
    format!(
        "default-src 'none'; style-src 'sha256-{digest}'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    )
});

/// What the page shows under its heading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Body<'a> {
    /// The statement and the button that refuses.
    Form {
        /// What the page says before the button.
        statement: &'a str,
    },
    /// A sentence in a live region: the outcome of a refusal, or why there is nothing to do.
    Message(&'a str),
    /// A sentence and the button again, after a request the page did not send.
    Retry {
        /// What the page says before the button.
        statement: &'a str,
    },
}

/// The page in `locale` with `status`, under the headers a page that holds a capability in its
/// address needs: no caching, no referrer, no framing, and a strict content policy.
pub fn render(status: StatusCode, locale: Locale, brand: &str, body: Body<'_>) -> Response {
    let words = page_words(locale);
    let lang = match locale {
        Locale::Turkish => "tr",
        Locale::English => "en",
    };
    let form = |statement: &str| {
        format!(
            "<p>{}</p><form method=\"post\"><input type=\"hidden\" name=\"refuse\" value=\"yes\"><button type=\"submit\">{}</button></form>",
            escape(statement),
            escape(words.button)
        )
    };
    let content = match body {
        Body::Form { statement } | Body::Retry { statement } => form(statement),
        Body::Message(message) => format!("<p role=\"status\">{}</p>", escape(message)),
    };
    let html = format!(
        "<!doctype html><html lang=\"{lang}\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><meta name=\"robots\" content=\"noindex\"><title>{title} · {brand}</title><style>{STYLE}</style></head><body><main><h1>{title}</h1>{content}</main></body></html>",
        title = escape(words.title),
        brand = escape(brand),
    );
    let mut response = (status, html).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    if let Ok(policy) = HeaderValue::from_str(&POLICY) {
        headers.insert(header::CONTENT_SECURITY_POLICY, policy);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response
}

/// `text` with the five characters HTML gives meaning to escaped.
pub fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            other => escaped.push(other),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_what_html_reads() {
        assert_eq!(
            escape(r#"<a href="x">Tom & 'Jerry'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;Tom &amp; &#39;Jerry&#39;&lt;/a&gt;"
        );
    }

    #[test]
    fn the_policy_allows_the_page_own_style_only() {
        let digest = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(STYLE));
        assert!(POLICY.contains(&format!("style-src 'sha256-{digest}'")));
        assert!(POLICY.starts_with("default-src 'none'"));
        assert!(!POLICY.contains("unsafe"));
    }
}
