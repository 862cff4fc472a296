//! The delivery policy, pure and tested without a browser: what an answer from the relay means
//! for a record, and how long to wait before trying again.
//!
//! A record leaves the outbox in two cases only: the relay stored it, or the relay refused that
//! very record for a reason that will not change (`invalid_record` or `invalid_recipient`,
//! naming the record by its index). Every other answer keeps every record: a network error,
//! a timeout, throttling and faults are retried with back-off, and an answer that says the
//! setup is wrong (the origin, the token, the path, a limit) or cannot be read holds the
//! records on a slow schedule and at every page load, until the shop mends its setup.

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
    /// The relay refused the record at this index of the request for good: keep it as failed
    /// and tell the page; the others go again at once.
    Refused {
        /// The record's position in the request.
        index: usize,
    },
    /// The setup is wrong, or the answer cannot be read: keep every record, tell the page, and
    /// try again after the delay and at the next page load.
    Held {
        /// How long to wait.
        after_millis: u64,
    },
}

/// The longest wait between two attempts.
pub const MAX_BACKOFF_MILLIS: u64 = 5 * 60 * 1_000;
/// The first wait.
pub const BASE_BACKOFF_MILLIS: u64 = 1_000;
/// The first wait of records held by a setup problem.
pub const BASE_HOLD_MILLIS: u64 = 2 * 60 * 1_000;
/// The longest wait of records held by a setup problem.
pub const MAX_HOLD_MILLIS: u64 = 30 * 60 * 1_000;

/// Exponential from `base` with full jitter between half and all of the step, capped at `cap`.
fn jittered(base: u64, cap: u64, attempt: u32, random: f64) -> u64 {
    let step = base.saturating_mul(1_u64 << attempt.min(20)).min(cap);
    let random = random.clamp(0.0, 1.0);
    (step as f64 * (0.5 + random / 2.0)) as u64
}

/// How long to wait before attempt `attempt + 1`, given a random number in `[0, 1)`: exponential
/// with full jitter between half and all of the step, capped at five minutes.
pub fn backoff_millis(attempt: u32, random: f64) -> u64 {
    jittered(BASE_BACKOFF_MILLIS, MAX_BACKOFF_MILLIS, attempt, random)
}

/// How long records held by a setup problem wait before attempt `attempt + 1`: two minutes,
/// doubling to half an hour.
pub fn hold_millis(attempt: u32, random: f64) -> u64 {
    jittered(BASE_HOLD_MILLIS, MAX_HOLD_MILLIS, attempt, random)
}

/// Reads `Retry-After` in seconds (the relay sends seconds; an HTTP date is ignored).
pub fn retry_after_millis(header: Option<&str>) -> Option<u64> {
    whole_number(header?.trim())
        .map(|seconds| seconds.saturating_mul(1_000).min(MAX_BACKOFF_MILLIS * 12))
}

/// The whole number `text` writes in decimal digits and nothing else; `None` for anything
/// else, and for a number beyond `u64`.
// Size: one reader of the two numbers an answer carries, byte by byte, rather than
// `str::parse` for each type and `split` for the index.
fn whole_number(text: &str) -> Option<u64> {
    if text.is_empty() {
        return None;
    }
    text.bytes().try_fold(0_u64, |number, byte| {
        let digit = byte.checked_sub(b'0').filter(|digit| *digit < 10)?;
        number.checked_mul(10)?.checked_add(u64::from(digit))
    })
}

/// Whether the relay's `code` refuses a record for a reason sending it again cannot change.
pub fn is_lasting_refusal(code: &str) -> bool {
    matches!(
        code,
        "invalid_record" | "invalid_recipient" | "conflicting_duplicate"
    )
}

/// The record a refusal names as refused for good: the relay's code is `invalid_record`,
/// `invalid_recipient` or `conflicting_duplicate` (its id was stored with another payload) and
/// its field starts with `records[<index>]`, an index of the request's `records` records.
pub fn refused_index(code: Option<&str>, field: Option<&str>, records: usize) -> Option<usize> {
    if !code.is_some_and(is_lasting_refusal) {
        return None;
    }
    let rest = field?.strip_prefix("records[")?;
    let end = rest.bytes().position(|byte| byte == b']')?;
    let index = whole_number(&rest[..end])?;
    usize::try_from(index).ok().filter(|index| *index < records)
}

/// What an answer with HTTP `status` (0 for a network error or a timeout) means for the
/// `attempt`-th try (from 0), with a random number in `[0, 1)` for the jitter; `refused` is the
/// record the answer refuses for good, from [`refused_index`].
pub fn verdict(
    status: u16,
    retry_after: Option<&str>,
    attempt: u32,
    random: f64,
    refused: Option<usize>,
) -> Verdict {
    match status {
        200..=299 => Verdict::Delivered,
        0 | 408 | 425 | 429 | 500..=599 => Verdict::Retry {
            after_millis: retry_after_millis(retry_after)
                .unwrap_or_else(|| backoff_millis(attempt, random)),
        },
        _ => match refused {
            Some(index) if matches!(status, 400 | 409 | 422) => Verdict::Refused { index },
            _ => Verdict::Held {
                after_millis: hold_millis(attempt, random),
            },
        },
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
    fn only_a_refusal_naming_the_record_is_final_and_setup_problems_hold_everything() {
        for status in [0, 408, 429, 500, 502, 503, 504] {
            assert!(
                matches!(verdict(status, None, 0, 0.0, None), Verdict::Retry { .. }),
                "{status}"
            );
        }
        for status in [400, 401, 403, 404, 405, 413, 415, 418, 422] {
            assert!(
                matches!(verdict(status, None, 0, 0.0, None), Verdict::Held { .. }),
                "{status}"
            );
        }
        assert_eq!(
            verdict(422, None, 0, 0.0, Some(1)),
            Verdict::Refused { index: 1 }
        );
        assert_eq!(
            verdict(409, None, 0, 0.0, Some(0)),
            Verdict::Refused { index: 0 }
        );
        assert_eq!(verdict(200, None, 0, 0.0, None), Verdict::Delivered);
        assert_eq!(
            verdict(403, None, 0, 0.0, None),
            Verdict::Held {
                after_millis: 60_000
            }
        );
        assert_eq!(hold_millis(10, 0.999_999), MAX_HOLD_MILLIS - 1);
    }

    #[test]
    fn a_refusal_is_final_only_for_the_record_it_names_with_a_lasting_code() {
        let field = Some("records[1].recipient");
        assert_eq!(refused_index(Some("invalid_recipient"), field, 2), Some(1));
        assert_eq!(
            refused_index(Some("invalid_record"), Some("records[0]"), 1),
            Some(0)
        );
        assert_eq!(
            refused_index(Some("invalid_record"), field, 1),
            None,
            "out of range"
        );
        assert_eq!(
            refused_index(Some("invalid_record"), Some("records"), 2),
            None
        );
        assert_eq!(refused_index(Some("invalid_record"), None, 2), None);
        // A text the relay's register does not know is the shop's setup to fix: the record is
        // kept and sent again once the text is registered.
        assert!(!is_lasting_refusal("unknown_text"));
        assert_eq!(
            refused_index(Some("unknown_text"), Some("records[0].evidence.text"), 1),
            None
        );
        assert_eq!(
            refused_index(Some("conflicting_duplicate"), Some("records[0].id"), 2),
            Some(0)
        );
        assert_eq!(refused_index(Some("payload_too_large"), field, 2), None);
        assert_eq!(refused_index(Some("origin_not_allowed"), field, 2), None);
        assert_eq!(refused_index(None, field, 2), None);
    }

    #[test]
    fn retry_after_is_honoured() {
        assert_eq!(
            verdict(503, Some("7"), 0, 0.0, None),
            Verdict::Retry {
                after_millis: 7_000
            }
        );
        assert_eq!(
            verdict(429, Some(" 2 "), 5, 0.0, None),
            Verdict::Retry {
                after_millis: 2_000
            }
        );
        assert_eq!(
            verdict(503, Some("Wed, 21 Oct 2026 07:28:00 GMT"), 0, 0.0, None),
            Verdict::Retry { after_millis: 500 }
        );
    }

    #[test]
    fn only_decimal_digits_read_as_a_number() {
        assert_eq!(whole_number("0"), Some(0));
        assert_eq!(whole_number("0042"), Some(42));
        assert_eq!(whole_number(&u64::MAX.to_string()), Some(u64::MAX));
        for text in [
            "",
            " 1",
            "1 ",
            "-1",
            "+1",
            "1.5",
            "1e3",
            "١",
            "18446744073709551616",
        ] {
            assert_eq!(whole_number(text), None, "{text:?}");
        }
        for field in [
            "records[]",
            "records[1",
            "records[+1]",
            "records[-1]",
            "records[ 1]",
        ] {
            assert_eq!(
                refused_index(Some("invalid_record"), Some(field), 2),
                None,
                "{field}"
            );
        }
        assert_eq!(
            refused_index(Some("invalid_record"), Some("records[01].id"), 2),
            Some(1)
        );
    }
}
