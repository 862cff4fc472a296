//! Daily reconciliation with İYS's change file: what İYS registered on a day, the relay's and
//! the citizens' movements alike, compared with what the relay holds for that day.
//!
//! - A movement İYS lists that the relay has never seen (a refusal a citizen made in İYS that the
//!   pull missed, a consent another system of the shop registered) is applied as a pulled one.
//! - A record the relay holds as accepted by İYS that day but İYS does not list is left for a
//!   person to decide: the relay cannot tell from here whether İYS lost it or the record is
//!   wrong.

use std::collections::{HashMap, HashSet};

use consent_core::iys::wire::{DAILY_FILE_DAYS, DailyChange, IysMovement};
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
    /// Of those, the ones not applied because the relay still sends a record for the same
    /// address, channel and recipient type: İYS may list that very record before the relay has
    /// read its answer. The day is reconciled again once the record settles.
    pub deferred: usize,
    /// Of those, the transactions whose line does not read (an address the relay would refuse,
    /// a value it does not know): left for a person.
    pub unreadable: Vec<String>,
    /// Records the relay holds as accepted by İYS that day that İYS does not list, with the
    /// transaction each was accepted under: left for a person.
    pub unlisted: Vec<(String, String)>,
}

impl Reconciliation {
    /// Whether every movement İYS lists was decided: none deferred, none unreadable.
    pub fn is_complete(&self) -> bool {
        self.deferred == 0 && self.unreadable.is_empty()
    }

    /// Whether, after applying what İYS holds, nothing is left to decide.
    pub fn agrees(&self) -> bool {
        self.is_complete() && self.unlisted.is_empty()
    }
}

/// From this second of the Turkish day on, İYS's file of the day before is taken to be written:
/// İYS writes it at the end of each day, and an early ask would find no file and read every
/// record of the day as missing.
const FILE_READY_SECOND: u32 = 3 * 3_600;

/// The newest Turkish day whose daily change file İYS has written at `now`: yesterday from
/// 03:00 Turkish time, the day before until then.
pub fn due_day(now: Timestamp) -> CivilDate {
    let turkey = TurkeyTime::at(now);
    let back = if turkey.second_of_day() >= FILE_READY_SECOND {
        1
    } else {
        2
    };
    turkey.date().add_days(-back)
}

impl Forwarder {
    /// Reconciles every day İYS still keeps a file of (the last seven) up to the due day
    /// ([`due_day`]) that no relay on this database has reconciled completely yet, oldest
    /// first; one day's failure does not stop the others.
    pub async fn reconcile_due(&self) -> Vec<Result<Reconciliation, String>> {
        let now = (self.clock)();
        let due = due_day(now);
        let oldest = TurkeyTime::at(now).date().add_days(-DAILY_FILE_DAYS);
        let mut outcomes = Vec::new();
        let mut day = oldest.max(due.add_days(-(DAILY_FILE_DAYS - 1)));
        while day <= due {
            let done = self.store.is_reconciled(&day.to_string()).await;
            match done {
                Ok(true) => {}
                Ok(false) => outcomes.push(self.reconcile(day).await),
                Err(error) => outcomes.push(Err(error.to_string())),
            }
            day = day.add_days(1);
        }
        outcomes
    }

    /// Reconciles the Turkish day `day` with İYS's daily change file: applies the movements the
    /// relay missed, and lists the accepted records İYS does not. A day that is not over, or
    /// whose file İYS has not written although the relay holds records it accepted that day, is
    /// an error, and nothing is kept of it. The result is kept, so the daily run skips the day,
    /// only when every movement was decided.
    pub async fn reconcile(&self, day: CivilDate) -> Result<Reconciliation, String> {
        let now = (self.clock)();
        if day >= TurkeyTime::at(now).date() {
            return Err(format!(
                "{day} is not over in Türkiye: İYS has no file of it yet"
            ));
        }
        let known = self
            .store
            .known_transactions(day)
            .await
            .map_err(|error| error.to_string())?;
        let accepted: HashMap<&str, &str> = known
            .iter()
            .filter(|(transaction, _)| !transaction.is_empty())
            .filter_map(|(transaction, record)| Some((transaction.as_str(), record.as_deref()?)))
            .collect();
        let known_ids: HashSet<&str> = known
            .iter()
            .map(|(transaction, _)| transaction.as_str())
            .collect();
        let file = self.iys.daily_file(day).await?.unwrap_or_default();
        if file.trim().is_empty() && !accepted.is_empty() {
            return Err(format!(
                "İYS has no daily change file of {day} (yet), although the relay holds {} records it accepted that day; nothing was decided",
                accepted.len()
            ));
        }
        let changes = if file.trim().is_empty() {
            Vec::new()
        } else {
            DailyChange::parse_file(&file).map_err(|error| error.to_string())?
        };
        let mut report = Reconciliation {
            day,
            listed: changes.len(),
            known: 0,
            applied: 0,
            waiting: 0,
            deferred: 0,
            unreadable: Vec::new(),
            unlisted: Vec::new(),
        };
        let mut missed = Vec::new();
        for change in &changes {
            let seen = known_ids.contains(change.transaction_id.as_str())
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
                Ok(Some(read)) => {
                    let sending = self
                        .store
                        .is_sending(&read.recipient, read.channel, read.recipient_type)
                        .await
                        .map_err(|error| error.to_string())?;
                    if sending {
                        report.deferred += 1;
                    } else {
                        missed.push(read);
                    }
                }
                Ok(None) => report.waiting += 1,
                Err(why) => {
                    // The lines that read are still applied; this one is left for a person,
                    // named by its transaction only.
                    tracing::error!(transaction = %change.transaction_id, why, %day, "a movement in İYS's daily change file cannot be read");
                    report.unreadable.push(change.transaction_id.clone());
                }
            }
        }
        report.applied = self
            .store
            .apply_pulled(&missed, None, now)
            .await
            .map_err(|error| error.to_string())?;
        let listed: HashSet<&str> = changes
            .iter()
            .map(|change| change.transaction_id.as_str())
            .collect();
        report.unlisted = accepted
            .iter()
            .filter(|(transaction, _)| !listed.contains(**transaction))
            .map(|(transaction, record)| ((*record).to_owned(), (*transaction).to_owned()))
            .collect();
        report.unlisted.sort();
        if report.is_complete() {
            let count = |count: usize| i64::try_from(count).unwrap_or(i64::MAX);
            self.store
                .record_reconciliation(&ReconciliationRecord {
                    day: day.to_string(),
                    ran_at_ms: now.unix_millis(),
                    listed: count(report.listed),
                    known: count(report.known),
                    applied: count(report.applied),
                    waiting: count(report.waiting),
                    unlisted: count(report.unlisted.len()),
                })
                .await
                .map_err(|error| error.to_string())?;
        }
        tracing::info!(
            %day,
            listed = report.listed,
            known = report.known,
            applied = report.applied,
            deferred = report.deferred,
            unreadable = report.unreadable.len(),
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
