//! The delivery policy, pure and tested without a browser: what an answer from the relay means
//! for a record, and how long to wait before trying again.

/// What to do with the records of one request after the relay answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Stored (or stored before): drop them from the outbox.
    Delivered,
    /// Worth trying again after the delay, in milliseconds.
    Retry {
        /// How long to wait.
        after_millis: u64,
    },
    /// The relay refused them for good: keep them as failed and tell the page.
    Final,
}

/// The longest wait between two attempts.
pub const MAX_BACKOFF_MILLIS: u64 = 5 * 60 * 1_000;
/// The first wait.
pub const BASE_BACKOFF_MILLIS: u64 = 1_000;

/// How long to wait before attempt `attempt + 1`, given a random number in `[0, 1)`: exponential
/// with full jitter between half and all of the step, capped at five minutes.
pub fn backoff_millis(attempt: u32, random: f64) -> u64 {
    let step = BASE_BACKOFF_MILLIS
        .saturating_mul(1_u64 << attempt.min(20))
        .min(MAX_BACKOFF_MILLIS);
    let random = random.clamp(0.0, 1.0);
    (step as f64 * (0.5 + random / 2.0)) as u64
}

/// Reads `Retry-After` in seconds (the relay sends seconds; an HTTP date is ignored).
pub fn retry_after_millis(header: Option<&str>) -> Option<u64> {
    header?
        .trim()
        .parse::<u64>()
        .ok()
        .map(|seconds| seconds.saturating_mul(1_000).min(MAX_BACKOFF_MILLIS * 12))
}

/// What an answer with HTTP `status` (0 for a network error or a timeout) means, for the
/// `attempt`-th try (from 0), with a random number in `[0, 1)` for the jitter.
pub fn verdict(status: u16, retry_after: Option<&str>, attempt: u32, random: f64) -> Verdict {
    match status {
        200..=299 => Verdict::Delivered,
        0 | 408 | 425 | 429 | 500..=599 => Verdict::Retry {
            after_millis: retry_after_millis(retry_after)
                .unwrap_or_else(|| backoff_millis(attempt, random)),
        },
        _ => Verdict::Final,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_grow_exponentially_with_jitter_and_a_cap() {
        assert_eq!(backoff_millis(0, 0.0), 500);
        assert_eq!(backoff_millis(0, 0.999_999), 999);
        assert_eq!(backoff_millis(3, 0.0), 4_000);
        assert_eq!(backoff_millis(40, 0.999_999), MAX_BACKOFF_MILLIS - 1);
        assert!(backoff_millis(10, 0.5) <= MAX_BACKOFF_MILLIS);
    }

    #[test]
    fn network_errors_throttling_and_faults_are_retried_others_are_final() {
        for status in [0, 408, 429, 500, 502, 503, 504] {
            assert!(
                matches!(verdict(status, None, 0, 0.0), Verdict::Retry { .. }),
                "{status}"
            );
        }
        for status in [400, 401, 403, 404, 413, 415, 422] {
            assert_eq!(verdict(status, None, 0, 0.0), Verdict::Final, "{status}");
        }
        assert_eq!(verdict(200, None, 0, 0.0), Verdict::Delivered);
    }

    #[test]
    fn retry_after_is_honoured() {
        assert_eq!(
            verdict(503, Some("7"), 0, 0.0),
            Verdict::Retry {
                after_millis: 7_000
            }
        );
        assert_eq!(
            verdict(429, Some(" 2 "), 5, 0.0),
            Verdict::Retry {
                after_millis: 2_000
            }
        );
        assert_eq!(
            verdict(503, Some("Wed, 21 Oct 2026 07:28:00 GMT"), 0, 0.0),
            Verdict::Retry { after_millis: 500 }
        );
    }
}
