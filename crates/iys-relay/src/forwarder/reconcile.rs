//! Daily reconciliation with İYS's change file: what İYS registered on a day, the relay's and
//! the citizens' movements alike, compared with what the relay holds for that day.
//!
//! - A movement İYS lists that the relay has never seen (a refusal a citizen made in İYS that the
//!   pull missed, a consent another system of the shop registered) is applied as a pulled one.
//! - A record the relay holds as accepted by İYS that day but İYS does not list is left for a
//!   person to decide: the relay cannot tell from here whether İYS lost it or the record is
//!   wrong.

use consent_core::iys::wire::{DailyChange, IysMovement};
use consent_core::time::{CivilDate, Timestamp, TurkeyTime};

use super::Forwarder;
use super::pull::read_movement;
use crate::store::forwarding::ReconciliationRecord;

/// What a reconciliation found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reconciliation {
    /// The Turkish day reconciled.
    pub day: CivilDate,
    /// The movements İYS lists for the day.
    pub listed: usize,
    /// Of those, the ones the relay knew.
    pub known: usize,
    /// Of those, the ones the relay had missed and applied now.
    pub applied: usize,
    /// Of those, the ones waiting for the person's confirmation, which decide nothing yet.
    pub waiting: usize,
    /// Records the relay holds as accepted by İYS that day that İYS does not list, with the
    /// transaction each was accepted under: left for a person.
    pub unlisted: Vec<(String, String)>,
}

impl Reconciliation {
    /// Whether, after applying what İYS holds, nothing is left for a person to decide.
    pub fn agrees(&self) -> bool {
        self.unlisted.is_empty()
    }
}

/// From this second of the Turkish day on, İYS's file of the day before is taken to be written:
/// İYS writes it at the end of each day, and an early ask would find no file and read every
/// record of the day as missing.
const FILE_READY_SECOND: u32 = 3 * 3_600;

/// The Turkish day a relay reconciles at `now`: yesterday from 03:00 Turkish time, the day
/// before until then.
pub(super) fn due_day(now: Timestamp) -> CivilDate {
    let turkey = TurkeyTime::at(now);
    let back = if turkey.second_of_day() >= FILE_READY_SECOND {
        1
    } else {
        2
    };
    turkey.date().add_days(-back)
}

impl Forwarder {
    /// Reconciles the due day (yesterday from 03:00 Turkish time, the day before until then)
    /// unless a relay on this database already did; `None` when it was done.
    pub async fn reconcile_due(&self) -> Result<Option<Reconciliation>, String> {
        let day = due_day((self.clock)());
        let done = self
            .store
            .is_reconciled(&day.to_string())
            .await
            .map_err(|error| error.to_string())?;
        if done {
            return Ok(None);
        }
        self.reconcile(day).await.map(Some)
    }

    /// Reconciles the Turkish day `day` with İYS's daily change file: applies the movements the
    /// relay missed, and lists the accepted records İYS does not.
    pub async fn reconcile(&self, day: CivilDate) -> Result<Reconciliation, String> {
        // No file (204): İYS registered nothing that day.
        let file = self.iys.daily_file(day).await?.unwrap_or_default();
        let changes = if file.is_empty() {
            Vec::new()
        } else {
            DailyChange::parse_file(&file).map_err(|error| error.to_string())?
        };
        let known = self
            .store
            .known_transactions(day)
            .await
            .map_err(|error| error.to_string())?;
        let mut report = Reconciliation {
            day,
            listed: changes.len(),
            known: 0,
            applied: 0,
            waiting: 0,
            unlisted: Vec::new(),
        };
        let mut missed = Vec::new();
        for change in &changes {
            let seen = known
                .iter()
                .any(|(transaction, _)| *transaction == change.transaction_id)
                || self
                    .store
                    .knows_transaction(&change.transaction_id)
                    .await
                    .map_err(|error| error.to_string())?;
            if seen {
                report.known += 1;
                continue;
            }
            let movement = IysMovement {
                consent_date: change.consent_date.clone(),
                creation_date: change.creation_date.clone(),
                source: change.source,
                recipient: change.recipient.clone(),
                recipient_type: change.recipient_type,
                status: change.status,
                channel: change.channel,
                transaction_id: change.transaction_id.clone(),
                citizen_name: None,
            };
            match read_movement(&movement) {
                Ok(Some(read)) => missed.push(read),
                Ok(None) => report.waiting += 1,
                Err(why) => {
                    // Skipping it could lose a refusal: nothing of the file is applied.
                    return Err(format!(
                        "İYS's movement {} in the daily file of {day} cannot be read ({why}); nothing was applied",
                        change.transaction_id
                    ));
                }
            }
        }
        report.applied = self
            .store
            .apply_pulled(&missed, None, (self.clock)())
            .await
            .map_err(|error| error.to_string())?;
        report.unlisted = known
            .into_iter()
            .filter_map(|(transaction, record)| Some((record?, transaction)))
            .filter(|(_, transaction)| {
                !changes
                    .iter()
                    .any(|change| change.transaction_id == *transaction)
            })
            .collect();
        let count = |count: usize| i64::try_from(count).unwrap_or(i64::MAX);
        self.store
            .record_reconciliation(&ReconciliationRecord {
                day: day.to_string(),
                ran_at_ms: (self.clock)().unix_millis(),
                listed: count(report.listed),
                known: count(report.known),
                applied: count(report.applied),
                waiting: count(report.waiting),
                unlisted: count(report.unlisted.len()),
            })
            .await
            .map_err(|error| error.to_string())?;
        tracing::info!(
            %day,
            listed = report.listed,
            known = report.known,
            applied = report.applied,
            unlisted = report.unlisted.len(),
            "reconciled with İYS's daily change file"
        );
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_due_day_is_yesterday_once_iys_wrote_its_file() {
        let at = |text: &str| due_day(Timestamp::parse_rfc3339(text).unwrap()).to_string();
        // Turkish time is three hours ahead of UTC.
        assert_eq!(at("2026-12-06T00:30:00Z"), "2026-12-05", "03:30 in Türkiye");
        assert_eq!(at("2026-12-05T23:59:59Z"), "2026-12-04", "02:59 in Türkiye");
        assert_eq!(at("2026-12-05T23:30:00Z"), "2026-12-04", "02:30 in Türkiye");
        assert_eq!(
            at("2026-12-05T21:00:00Z"),
            "2026-12-04",
            "midnight in Türkiye"
        );
        assert_eq!(
            at("2026-12-05T20:59:59Z"),
            "2026-12-04",
            "23:59 the day before"
        );
    }
}
