//! İYS's state rules as a pure decision: given what İYS holds for one (recipient, channel,
//! recipient type) and a new movement, should the movement be sent, and with which date?

use crate::time::{IysDateTime, Timestamp};
use crate::vocabulary::ConsentStatus;

/// What İYS last recorded for one (recipient, channel, recipient type).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeldConsent {
    /// The stored status.
    pub status: ConsentStatus,
    /// The stored consent date.
    pub consent_date: IysDateTime,
}

/// What to do with a new movement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Decision {
    /// İYS will accept it: send it with this consent date.
    Send {
        /// The movement's own date, or, for a refusal that must win over a consent with the
        /// same or a later date, the second after that consent.
        consent_date: IysDateTime,
    },
    /// A refusal over a consent dated in this very second: İYS needs a later date, so send the
    /// refusal once this moment has passed, dated then.
    WaitUntil(Timestamp),
    /// A refusal over a refusal: İYS already holds what the person asked for (its H174).
    SkipAlreadyRefused,
    /// A refusal for an address İYS has never seen: there is nothing to refuse (its H175).
    SkipNothingToRefuse,
    /// A consent not newer than what İYS holds: a later decision already stands (its H178).
    Supersede,
}

impl Decision {
    /// The İYS error code a send would have met, for the skips and supersessions.
    pub const fn iys_code(self) -> Option<&'static str> {
        match self {
            Decision::Send { .. } | Decision::WaitUntil(_) => None,
            Decision::SkipAlreadyRefused => Some("H174"),
            Decision::SkipNothingToRefuse => Some("H175"),
            Decision::Supersede => Some("H178"),
        }
    }
}

/// Decides whether a movement with `status` and `consent_date` should go to İYS, which holds
/// `held` (or nothing) for the same key, at `now`.
///
/// İYS accepts a consent over a consent, but a new movement must be dated after the stored one
/// (an equal date is not "more recent", H178), the first movement may not be a refusal (H175),
/// and a refusal over a refusal is refused (H174). A refusal always wins over a consent: when
/// the consent İYS holds is dated the same second as the refusal or later (clocks disagree,
/// or the person changed their mind within a second), the refusal is sent dated one second after
/// that consent, waiting first if that second has not come yet.
pub fn decide(
    held: Option<HeldConsent>,
    status: ConsentStatus,
    consent_date: IysDateTime,
    now: Timestamp,
) -> Decision {
    let Some(held) = held else {
        return match status {
            ConsentStatus::Rejected => Decision::SkipNothingToRefuse,
            ConsentStatus::Granted => Decision::Send { consent_date },
        };
    };
    match (held.status, status) {
        (ConsentStatus::Rejected, ConsentStatus::Rejected) => Decision::SkipAlreadyRefused,
        _ if consent_date > held.consent_date => Decision::Send { consent_date },
        (ConsentStatus::Granted, ConsentStatus::Rejected) => {
            let after = held.consent_date.to_instant().add_millis(1_000);
            if after.unix_seconds() <= now.unix_seconds() {
                Decision::Send {
                    consent_date: IysDateTime::from_instant(after),
                }
            } else {
                Decision::WaitUntil(after)
            }
        }
        _ => Decision::Supersede,
    }
}
