//! İYS's state rules as a pure decision: given what İYS holds for one (recipient, channel,
//! recipient type) and a new movement, should the movement be sent?

use crate::time::IysDateTime;
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
pub enum Decision {
    /// İYS will accept it: send it.
    Send,
    /// A refusal over a refusal: İYS already holds what the person asked for (its H174).
    SkipAlreadyRefused,
    /// A refusal for an address İYS has never seen: there is nothing to refuse (its H175).
    SkipNothingToRefuse,
    /// Not newer than what İYS holds: a later decision already stands (its H178).
    Supersede,
}

impl Decision {
    /// The İYS error code a send would have met, for the skips and supersessions.
    pub const fn iys_code(self) -> Option<&'static str> {
        match self {
            Decision::Send => None,
            Decision::SkipAlreadyRefused => Some("H174"),
            Decision::SkipNothingToRefuse => Some("H175"),
            Decision::Supersede => Some("H178"),
        }
    }
}

/// Decides whether a movement with `status` and `consent_date` should go to İYS, which holds
/// `held` (or nothing) for the same key.
///
/// İYS accepts a consent over a consent, but a new movement must be dated after the stored one
/// (an equal date is not "more recent"), the first movement may not be a refusal, and a refusal
/// over a refusal is refused.
pub fn decide(
    held: Option<HeldConsent>,
    status: ConsentStatus,
    consent_date: IysDateTime,
) -> Decision {
    match held {
        None if status == ConsentStatus::Rejected => Decision::SkipNothingToRefuse,
        None => Decision::Send,
        Some(held) if consent_date <= held.consent_date => Decision::Supersede,
        Some(held)
            if held.status == ConsentStatus::Rejected && status == ConsentStatus::Rejected =>
        {
            Decision::SkipAlreadyRefused
        }
        Some(_) => Decision::Send,
    }
}
