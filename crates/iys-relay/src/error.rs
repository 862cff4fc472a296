//! The relay's HTTP errors: a status, a stable code and a message, as the v1 contract says.
//!
//! Client mistakes are 4xx with their code. A database that cannot commit or answer is a 503
//! `storage_unavailable` with `Retry-After`; the detail goes to the log, never to the client.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use consent_core::contract::{ErrorBody, ErrorCode};

/// How long a client waits before sending again after `storage_unavailable`.
pub const STORAGE_RETRY_AFTER_SECONDS: u64 = 5;

/// An error answer.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    body: ErrorBody,
    retry_after_seconds: Option<u64>,
}

impl ApiError {
    /// An answer with `code` and `message`.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> ApiError {
        let status = match code {
            ErrorCode::MalformedJson | ErrorCode::InvalidForwardedFor => StatusCode::BAD_REQUEST,
            ErrorCode::InvalidRecord | ErrorCode::InvalidRecipient | ErrorCode::UnknownText => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            ErrorCode::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            ErrorCode::OriginNotAllowed => StatusCode::FORBIDDEN,
            ErrorCode::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::Unauthorized => StatusCode::UNAUTHORIZED,
            ErrorCode::ConflictingDuplicate => StatusCode::CONFLICT,
            ErrorCode::StorageUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::Internal | ErrorCode::Unknown => StatusCode::INTERNAL_SERVER_ERROR,
        };
        ApiError {
            status,
            body: ErrorBody {
                code,
                message: message.into(),
                field: None,
                reason: None,
            },
            retry_after_seconds: None,
        }
    }

    /// Names the offending field, as a path like `records[0].recipient`.
    pub fn with_field(mut self, field: impl Into<String>) -> ApiError {
        self.body.field = Some(field.into());
        self
    }

    /// Adds a finer stable code, such as `phone_not_mobile`.
    pub fn with_reason(mut self, reason: &str) -> ApiError {
        self.body.reason = Some(reason.to_owned());
        self
    }

    /// Tells the client when to try again.
    pub fn with_retry_after(mut self, seconds: u64) -> ApiError {
        self.retry_after_seconds = Some(seconds.max(1));
        self
    }

    /// The database cannot commit or answer now: logged in full, answered 503 with a time to
    /// try again. The client keeps what it sent and sends it again; a commit that landed just
    /// as the deadline passed makes the repeat a duplicate, never a second record.
    pub fn storage_unavailable(detail: &dyn std::fmt::Display) -> ApiError {
        tracing::error!(error = %detail, "the database cannot commit or answer");
        ApiError::new(
            ErrorCode::StorageUnavailable,
            "the relay could not confirm that the records were stored; send them again later (a repeat is answered as a duplicate)",
        )
        .with_retry_after(STORAGE_RETRY_AFTER_SECONDS)
    }

    /// The code, for logs and tests.
    pub fn code(&self) -> ErrorCode {
        self.body.code
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, axum::Json(self.body)).into_response();
        if let Some(seconds) = self.retry_after_seconds
            && let Ok(value) = HeaderValue::from_str(&seconds.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        response
    }
}
