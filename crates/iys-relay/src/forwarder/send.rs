//! Sending: what to do with each claimed record (İYS's state rules, the status query a refusal
//! needs, the registration window), single adds, batches and their results, and how İYS's
//! answers settle each record.

use super::*;

/// The state a record ends in when İYS refuses it for good with `code`.
fn settled_state(code: &str, disposition: Disposition) -> IysState {
    match disposition {
        Disposition::StateConflict if Some(code) == Decision::Supersede.iys_code() => {
            IysState::Superseded
        }
        Disposition::StateConflict => IysState::Skipped,
        Disposition::Late => IysState::MissedDeadline,
        _ => IysState::Refused,
    }
}

/// A claimed record ready to go to İYS.
#[derive(Debug)]
struct Prepared {
    /// The body to send.
    body: IysConsent,
    /// The date it goes with.
    consent_date: IysDateTime,
    /// That date, when it is not the record's own.
    sent_date: Option<IysDateTime>,
    /// Whether it goes after its registration window.
    late: bool,
    /// İYS's answer to the status query made before deciding, if one was made.
    evidence: Option<StatusEvidence>,
}

impl Prepared {
    /// The settlement for İYS's answer to this send.
    fn settlement(&self, settlement: Settlement) -> Settlement {
        settlement
            .sent(self.sent_date, self.late)
            .with_evidence(self.evidence.as_ref())
    }
}

/// What İYS answered when asked what it holds for a key.
#[derive(Debug)]
enum Asked {
    /// It holds a consent or a refusal (`None`: something the relay does not read, such as a
    /// consent waiting for the person's confirmation).
    Holds(Option<HeldConsent>, StatusEvidence),
    /// It holds nothing for the key.
    Nothing(StatusEvidence),
    /// No clear answer: ask again at this moment.
    Later(Timestamp),
}

fn backoff_millis(attempts: u32) -> i64 {
    let step = 1_000_i64.saturating_mul(1 << attempts.min(9));
    step.min(300_000)
}

impl Forwarder {
    /// What to do with a claimed record before anything is sent: `Some` when it should go to
    /// İYS, `None` when it was settled or deferred here.
    ///
    /// A consent past İYS's window is held for the operator. A refusal past it is still
    /// registered, dated at the moment it is sent, because a refusal may never be dropped; its
    /// own date stays in the record and the ledger. A refusal the relay's own knowledge would
    /// settle without sending (İYS holds nothing for the key, or a refusal already) is settled
    /// only after İYS itself has been asked: the person's consent may have reached İYS through
    /// another system.
    async fn prepare(
        &self,
        record: &Claimed,
        now: Timestamp,
    ) -> Result<Option<Prepared>, StoreError> {
        let store = &self.store;
        let holder = Holder::Claimant(&self.owner);
        // A consent on record from before May 2015 (HS_2015) has İYS's fixed date and no window.
        let late = record.source != Source::Before2015
            && (record.late || now > registration_deadline(record.consent_date.to_instant()));
        if late && record.status == ConsentStatus::Granted {
            tracing::warn!(record = %record.id, "a consent missed İYS's three-business-day window; held for the operator");
            store
                .finish_forwarding(
                    &record.id,
                    holder,
                    &Settlement::with_code(IysState::MissedDeadline, Some("H467")).sent(None, true),
                    now,
                )
                .await?;
            return Ok(None);
        }
        let date = if late {
            tracing::warn!(record = %record.id, "a refusal missed İYS's three-business-day window; sending it dated now");
            IysDateTime::from_instant(now)
        } else {
            record.consent_date
        };
        let held = store
            .held(
                &record.recipient_hash,
                record.channel,
                record.recipient_type,
            )
            .await?;
        let mut decision = decide(
            held.as_ref().map(|(held, _)| *held),
            record.status,
            date,
            now,
        );
        let mut evidence = None;
        if matches!(
            decision,
            Decision::SkipNothingToRefuse | Decision::SkipAlreadyRefused
        ) {
            let asked = self
                .status_queries
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            if asked >= STATUS_QUERIES_PER_PASS {
                // The next pass asks; this one must finish within its claims.
                store
                    .defer_forwarding(&record.id, &self.owner, now.add_millis(5_000), false)
                    .await?;
                return Ok(None);
            }
            match self.ask_status(record, now).await? {
                Asked::Later(at) => {
                    store
                        .defer_forwarding(&record.id, &self.owner, at, true)
                        .await?;
                    return Ok(None);
                }
                Asked::Nothing(answer) => {
                    decision = Decision::SkipNothingToRefuse;
                    evidence = Some(answer);
                }
                Asked::Holds(Some(held_there), answer)
                    if held_there.status == ConsentStatus::Granted
                        && held_there.consent_date.to_instant().unix_millis()
                            > record.consent_date.to_instant().unix_millis()
                                + LATER_DECISION_MILLIS =>
                {
                    // The person consented again after this refusal (through another of the
                    // shop's systems): the later decision stands, as İYS's date rule says.
                    decision = Decision::Supersede;
                    evidence = Some(answer);
                }
                Asked::Holds(Some(held_there), answer) => {
                    store
                        .set_held(
                            &record.recipient_hash,
                            record.channel,
                            record.recipient_type,
                            held_there.status,
                            held_there.consent_date,
                            Timestamp::from_unix_millis(0),
                        )
                        .await?;
                    decision = decide(Some(held_there), record.status, date, now);
                    evidence = Some(answer);
                }
                Asked::Holds(None, answer) => {
                    decision = Decision::Send { consent_date: date };
                    evidence = Some(answer);
                }
            }
        }
        let settle_here = |state: IysState| {
            Settlement::with_code(state, decision.iys_code())
                .sent(None, late)
                .with_evidence(evidence.as_ref())
        };
        let consent_date = match decision {
            Decision::Send { consent_date } => consent_date,
            Decision::WaitUntil(moment) => {
                store
                    .defer_forwarding(&record.id, &self.owner, moment, false)
                    .await?;
                return Ok(None);
            }
            Decision::SkipAlreadyRefused | Decision::SkipNothingToRefuse => {
                tracing::info!(record = %record.id, code = decision.iys_code(), "İYS, asked, holds nothing this refusal would change");
                store
                    .finish_forwarding(&record.id, holder, &settle_here(IysState::Skipped), now)
                    .await?;
                return Ok(None);
            }
            Decision::Supersede => {
                store
                    .finish_forwarding(&record.id, holder, &settle_here(IysState::Superseded), now)
                    .await?;
                return Ok(None);
            }
            _ => {
                store
                    .defer_forwarding(&record.id, &self.owner, now.add_millis(1_000), false)
                    .await?;
                return Ok(None);
            }
        };
        // Never two movements for one address and channel in the same second.
        if let Some((_, last_sent)) = held
            && last_sent / 1_000 == now.unix_seconds()
        {
            let next_second = Timestamp::from_unix_seconds(now.unix_seconds() + 1);
            store
                .defer_forwarding(&record.id, &self.owner, next_second, false)
                .await?;
            return Ok(None);
        }
        let movement = Movement {
            recipient: &record.recipient,
            channel: record.channel,
            recipient_type: record.recipient_type,
            status: record.status,
            source: record.source,
            consent_date,
            retailer_code: None,
            retailer_access: &[],
        };
        match IysConsent::from_movement(&movement) {
            Ok(body) => Ok(Some(Prepared {
                body,
                consent_date,
                sent_date: (consent_date != record.consent_date).then_some(consent_date),
                late,
                evidence,
            })),
            Err(error) => {
                store
                    .finish_forwarding(
                        &record.id,
                        holder,
                        &Settlement::with_code(IysState::Refused, Some(error.iys_code()))
                            .sent(None, late),
                        now,
                    )
                    .await?;
                Ok(None)
            }
        }
    }

    /// Asks İYS what it holds for a record's key (its single status query). İYS documents no
    /// answer for a key it has never seen; an empty 2xx and a 404 that is not about the account
    /// both mean it holds nothing. Any other answer is no answer, and the record waits.
    async fn ask_status(&self, record: &Claimed, now: Timestamp) -> Result<Asked, StoreError> {
        let path = self.iys.paths().status();
        let query = StatusQuery::new(&record.recipient, record.channel, record.recipient_type);
        let evidence =
            |http_status: u16, code: Option<String>, held: Option<HeldEvidence>| StatusEvidence {
                asked_at: now.to_rfc3339(),
                http_status,
                code,
                held,
            };
        let later = now.add_millis(backoff_millis(record.attempts));
        Ok(
            match self
                .iys
                .call::<_, ConsentDetail>(reqwest::Method::POST, &path, Some(&query))
                .await
            {
                Ok(None) => Asked::Nothing(evidence(200, None, None)),
                Ok(Some(detail)) => {
                    let status = detail.status.consent_status();
                    let date = detail
                        .consent_date
                        .as_deref()
                        .or(detail.creation_date.as_deref())
                        .and_then(|date| IysDateTime::parse(date).ok());
                    let held = status.map(|status| HeldEvidence {
                        status,
                        consent_date: detail.consent_date.clone(),
                        creation_date: detail.creation_date.clone(),
                        transaction_id: detail.transaction_id.clone(),
                    });
                    let known = status.zip(date).map(|(status, consent_date)| HeldConsent {
                        status,
                        consent_date,
                    });
                    Asked::Holds(known, evidence(200, None, held))
                }
                // İYS's error body with a 404, not one that says the İYS number or the brand
                // is unknown (H001, H018): İYS holds nothing for the key.
                Err(CallError::Iys { status: 404, code })
                    if disposition(&code, Some(404)) != Disposition::Account
                        && !matches!(code.as_str(), "H001" | "H018") =>
                {
                    Asked::Nothing(evidence(
                        404,
                        Some(code).filter(|code| !code.is_empty()),
                        None,
                    ))
                }
                Err(CallError::Iys { status, code }) => {
                    let disposition = disposition(&code, Some(status));
                    tracing::warn!(record = %record.id, code = %code, status, ?disposition, "İYS did not answer the status query");
                    match disposition {
                        Disposition::InvalidRecipient => Asked::Nothing(evidence(
                            status,
                            Some(code).filter(|code| !code.is_empty()),
                            None,
                        )),
                        Disposition::Account => Asked::Later(self.pause(&code, now)),
                        retryable => Asked::Later(
                            now.add_millis(
                                (retryable.min_wait_seconds() as i64 * 1_000)
                                    .max(backoff_millis(record.attempts)),
                            ),
                        ),
                    }
                }
                Err(CallError::Network) => Asked::Later(later),
                Err(CallError::Halted(until)) => Asked::Later(Timestamp::from_unix_seconds(until)),
                Err(CallError::Account(code)) => Asked::Later(self.pause(&code, now)),
            },
        )
    }

    /// Puts claimed records back to be tried at `at`.
    async fn release(&self, ids: &[String], at: Timestamp) -> Result<(), StoreError> {
        for id in ids {
            self.store
                .defer_forwarding(id, &self.owner, at, false)
                .await?;
        }
        Ok(())
    }

    /// Sends up to 1000 due records, one per address and channel, in one asynchronous batch.
    pub(super) async fn send_batch(&self) -> Result<usize, StoreError> {
        let now = (self.clock)();
        let claimed = self
            .store
            .claim_for_forwarding(&self.owner, now, LEASE_MILLIS, 1_000)
            .await?;
        let count = claimed.len();
        let mut members = Vec::new();
        for record in claimed {
            if let Some(prepared) = self.prepare(&record, now).await? {
                members.push((record, prepared));
            }
        }
        if members.is_empty() {
            return Ok(count);
        }
        let ids: Vec<String> = members
            .iter()
            .map(|(record, _)| record.id.clone())
            .collect();
        let bodies: Vec<&IysConsent> = members.iter().map(|(_, prepared)| &prepared.body).collect();
        let path = self.iys.paths().batch();
        match self
            .iys
            .call::<_, BatchAccepted>(reqwest::Method::POST, &path, Some(&bodies))
            .await
        {
            Ok(answer) => {
                let Some(BatchAccepted { request_id }) = answer else {
                    self.release(&ids, now.add_millis(30_000)).await?;
                    return Ok(count);
                };
                let batched: Vec<BatchedRecord> = members
                    .iter()
                    .enumerate()
                    .map(|(index, (record, prepared))| BatchedRecord {
                        id: record.id.clone(),
                        index,
                        sent_date: prepared.sent_date,
                        late: prepared.late,
                        evidence: prepared.evidence.clone(),
                    })
                    .collect();
                let poll_at = now.add_millis(self.settings.batch_poll_delay.as_millis() as i64);
                self.store
                    .mark_batched(&batched, &self.owner, &request_id, now, poll_at)
                    .await?;
                tracing::info!(records = batched.len(), "sent a batch to İYS");
            }
            Err(CallError::Halted(until)) => {
                self.release(&ids, Timestamp::from_unix_seconds(until))
                    .await?
            }
            Err(CallError::Account(code)) => {
                let until = self.pause(&code, now);
                self.release(&ids, until).await?;
            }
            Err(CallError::Iys { status, code })
                if !disposition(&code, Some(status)).is_retryable() =>
            {
                // İYS refused the batch as a whole (one bad item fails it): send each record
                // on its own, so one bad item neither holds the others back nor is resent forever.
                tracing::warn!(code = %code, status, "İYS refused a batch; sending its records one by one");
                for (record, prepared) in members {
                    self.send_one(&record, prepared).await?;
                }
            }
            Err(_) => self.release(&ids, now.add_millis(30_000)).await?,
        }
        Ok(count)
    }

    /// Settles one record of a batch from its result.
    async fn settle_member(
        &self,
        member: &BatchMember,
        result: &BatchItemResult,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let store = &self.store;
        let settlement = |settlement: Settlement| {
            settlement
                .sent(member.sent_date, member.late)
                .with_evidence(member.evidence.as_ref())
        };
        match result.status {
            BatchItemStatus::Success => {
                store
                    .set_held(
                        &member.recipient_hash,
                        member.channel,
                        member.recipient_type,
                        member.status,
                        member.date_sent(),
                        now,
                    )
                    .await?;
                store
                    .finish_forwarding(
                        &member.id,
                        Holder::Batch,
                        &settlement(Settlement::accepted(
                            result.transaction_id.clone(),
                            result.creation_date.clone(),
                        )),
                        now,
                    )
                    .await?;
                Ok(true)
            }
            BatchItemStatus::Failure => {
                let code = result
                    .error
                    .as_ref()
                    .map(|error| error.code.clone())
                    .unwrap_or_default();
                match disposition(&code, None) {
                    retryable if retryable.is_retryable() || retryable == Disposition::Account => {
                        store.unbatch(&member.id, now.add_millis(5_000)).await?;
                    }
                    final_refusal => {
                        store
                            .finish_forwarding(
                                &member.id,
                                Holder::Batch,
                                &settlement(Settlement::with_code(
                                    settled_state(&code, final_refusal),
                                    Some(&code),
                                )),
                                now,
                            )
                            .await?;
                    }
                }
                Ok(true)
            }
            // Still waiting at İYS.
            BatchItemStatus::Enqueue | BatchItemStatus::Unknown => Ok(false),
        }
    }

    /// Reads the results of every batch that is due and settles its records.
    pub(super) async fn poll_batches(&self) -> Result<usize, StoreError> {
        let now = (self.clock)();
        let mut settled = 0;
        for batch_id in self.store.due_batches(now).await? {
            let path = self.iys.paths().batch_results(&batch_id);
            let members = self.store.batch_members(&batch_id).await?;
            let results = match self
                .iys
                .call::<(), Vec<BatchItem>>(reqwest::Method::GET, &path, None)
                .await
            {
                Ok(Some(results)) if !results.is_empty() => results,
                _ => {
                    // Not processed yet, or no answer: ask again later, and after two hours
                    // without results send the records again one by one.
                    if members
                        .iter()
                        .all(|member| now.unix_millis() - member.sent_at_ms > BATCH_GIVE_UP_MILLIS)
                    {
                        tracing::warn!(batch = %batch_id, "no results for a batch after two hours; sending its records one by one");
                        for member in &members {
                            self.store.unbatch(&member.id, now).await?;
                        }
                    } else {
                        self.store
                            .repoll_batch(&batch_id, now.add_millis(30_000))
                            .await?;
                    }
                    continue;
                }
            };
            for member in &members {
                // An item that does not read settles nothing: its record waits as if İYS had not
                // processed it yet.
                let result = results
                    .iter()
                    .filter_map(BatchItem::result)
                    .find(|result| result.index == Some(member.index as u64));
                if let Some(result) = result
                    && self.settle_member(member, result, now).await?
                {
                    settled += 1;
                }
            }
            self.store
                .repoll_batch(&batch_id, now.add_millis(30_000))
                .await?;
        }
        Ok(settled)
    }

    /// Prepares one claimed record and, when it should go, sends it.
    pub(super) async fn settle(&self, record: Claimed) -> Result<(), StoreError> {
        let now = (self.clock)();
        match self.prepare(&record, now).await? {
            Some(prepared) => self.send_one(&record, prepared).await,
            None => Ok(()),
        }
    }

    /// Sends one prepared record through single add V2 and records İYS's answer.
    async fn send_one(&self, record: &Claimed, prepared: Prepared) -> Result<(), StoreError> {
        let now = (self.clock)();
        let store = &self.store;
        let holder = Holder::Claimant(&self.owner);
        let path = self.iys.paths().add();
        match self.iys.call_add(&path, &prepared.body).await {
            Ok(answer) => {
                tracing::info!(record = %record.id, late = prepared.late, "İYS accepted a record");
                store
                    .set_held(
                        &record.recipient_hash,
                        record.channel,
                        record.recipient_type,
                        record.status,
                        prepared.consent_date,
                        now,
                    )
                    .await?;
                store
                    .finish_forwarding(
                        &record.id,
                        holder,
                        &prepared.settlement(Settlement::accepted(
                            Some(answer.transaction_id),
                            Some(answer.creation_date),
                        )),
                        (self.clock)(),
                    )
                    .await?;
                Ok(())
            }
            Err(CallError::Network) => {
                tracing::warn!(record = %record.id, "no clear answer from İYS; trying again later");
                store
                    .defer_forwarding(
                        &record.id,
                        &self.owner,
                        now.add_millis(backoff_millis(record.attempts)),
                        true,
                    )
                    .await
            }
            Err(CallError::Halted(until)) => {
                store
                    .defer_forwarding(
                        &record.id,
                        &self.owner,
                        Timestamp::from_unix_seconds(until),
                        false,
                    )
                    .await
            }
            Err(CallError::Account(code)) => {
                let until = self.pause(&code, now);
                store
                    .defer_forwarding(&record.id, &self.owner, until, false)
                    .await
            }
            Err(CallError::Iys { status, code }) => {
                let disposition = disposition(&code, Some(status));
                tracing::info!(record = %record.id, code = %code, status, ?disposition, "İYS refused a request");
                match disposition {
                    Disposition::Account => {
                        let until = self.pause(&code, now);
                        store
                            .defer_forwarding(&record.id, &self.owner, until, false)
                            .await?;
                    }
                    retryable if retryable.is_retryable() => {
                        let wait = (retryable.min_wait_seconds() as i64 * 1_000)
                            .max(backoff_millis(record.attempts));
                        store
                            .defer_forwarding(&record.id, &self.owner, now.add_millis(wait), true)
                            .await?;
                    }
                    Disposition::Late if record.status == ConsentStatus::Rejected => {
                        // İYS counts the window otherwise than the relay does: the refusal goes
                        // again, dated at the moment of sending.
                        tracing::warn!(record = %record.id, "İYS holds a refusal late; sending it again dated now");
                        store
                            .defer_as_late(&record.id, &self.owner, now.add_millis(1_000))
                            .await?;
                    }
                    final_refusal => {
                        store
                            .finish_forwarding(
                                &record.id,
                                holder,
                                &prepared.settlement(Settlement::with_code(
                                    settled_state(&code, final_refusal),
                                    Some(&code),
                                )),
                                now,
                            )
                            .await?;
                    }
                }
                Ok(())
            }
        }
    }

    /// Rests forwarding after İYS refused the account; returns until when.
    fn pause(&self, code: &str, now: Timestamp) -> Timestamp {
        let until = now.add_millis(ACCOUNT_PAUSE_MILLIS);
        self.paused_until
            .store(until.unix_millis(), std::sync::atomic::Ordering::Relaxed);
        tracing::error!(
            code,
            "İYS refused the account (credentials, rights or subscription); forwarding rests for five minutes and no record is given up"
        );
        until
    }
}
