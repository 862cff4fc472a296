//! The pull: İYS's changes made by citizens (in İYS's app, web site or the 3338 short number),
//! read page by page after a cursor kept in the database, and applied.

use consent_core::iys::wire::IysStatus;
use consent_core::time::IysDateTime;
use consent_core::{Channel, ConsentStatus, RecipientType};

use super::Forwarder;
use crate::store::forwarding::PulledMovement;
use consent_core::iys::wire::IysMovement;

impl Forwarder {
    /// Reads İYS's changes made by citizens since the last cursor and applies them.
    pub async fn pull_once(&self) -> Result<usize, String> {
        let mut applied = 0;
        loop {
            let after = self
                .store
                .pull_cursor()
                .await
                .map_err(|error| error.to_string())?;
            let Some(page) = self.iys.changes(after.as_deref()).await? else {
                return Ok(applied);
            };
            let mut movements = Vec::with_capacity(page.list.len());
            for movement in &page.list {
                match read_movement(movement) {
                    Ok(Some(read)) => movements.push(read),
                    // Waiting for the person's confirmation: not a decision to apply yet.
                    Ok(None) => {}
                    Err(why) => {
                        // Skipping it could lose a refusal: the cursor stays where it is, so
                        // the page is read again, until an operator looks.
                        tracing::error!(transaction = %movement.transaction_id, why, "İYS reported a movement the relay cannot read; the pull stops before it");
                        return Err(format!(
                            "İYS's movement {} cannot be read ({why}); the pull stops before it",
                            movement.transaction_id
                        ));
                    }
                }
            }
            applied += self
                .store
                .apply_pulled(&movements, Some(&page.after), (self.clock)())
                .await
                .map_err(|error| error.to_string())?;
            let refusals = movements
                .iter()
                .filter(|movement| movement.status == ConsentStatus::Rejected)
                .count();
            tracing::info!(
                movements = movements.len(),
                refusals,
                "pulled İYS's changes"
            );
            if page.list.len() < 1_000 {
                return Ok(applied);
            }
        }
    }
}

/// A movement from İYS's changes as the relay applies it, its address normalised as received
/// addresses are; `None` for a movement that is not a decision yet (waiting for the person's
/// confirmation); an error saying what does not read otherwise.
pub(super) fn read_movement(
    movement: &IysMovement,
) -> Result<Option<PulledMovement>, &'static str> {
    let status = match movement.status {
        IysStatus::Pending => return Ok(None),
        other => other.consent_status().ok_or("its status is unknown")?,
    };
    let channel = Channel::from(movement.channel);
    let recipient = consent_core::Recipient::parse_for(channel, &movement.recipient)
        .map_err(|_| "its address does not fit its channel")?
        .normalised();
    let consent_date = match movement.consent_date.as_deref() {
        Some(date) => IysDateTime::parse(date).map_err(|_| "its consent date does not read")?,
        None => IysDateTime::parse(&movement.creation_date)
            .map_err(|_| "it has no consent date and its creation date does not read")?,
    };
    let source = serde_json::to_value(movement.source)
        .ok()
        .and_then(|source| source.as_str().map(str::to_owned))
        .ok_or("its source does not read")?;
    Ok(Some(PulledMovement {
        transaction_id: movement.transaction_id.clone(),
        recipient,
        channel,
        recipient_type: RecipientType::from(movement.recipient_type),
        status,
        source,
        consent_date,
        creation_date: movement.creation_date.clone(),
    }))
}
