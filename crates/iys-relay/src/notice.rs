//! Same-day notices: for every consent stored, a message at the address consented for, on the
//! same Turkish day, saying that the consent was recorded and how to refuse it.
//!
//! E-mail consents get an e-mail over SMTP (`RELAY_SMTP_URL`), with `List-Unsubscribe` headers
//! for mail clients' own button; SMS and call consents get one SMS through the shop's provider,
//! posted to `RELAY_NOTICE_WEBHOOK_URL` and signed with `RELAY_NOTICE_WEBHOOK_SECRET`. Each loop
//! turn queues a notice for every consent without one, in the database, then sends the notices
//! that are due: a failure is tried again with back-off until the day ends, and each notice's
//! outcome is chained in the ledger.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chacha20poly1305::aead::OsRng;
use chacha20poly1305::aead::rand_core::RngCore;
use consent_core::notice::NoticeFacts as NoticeWords;
use consent_core::time::end_of_turkish_day;
use consent_core::{Channel, Recipient, RecordId, Timestamp};
use hmac::{Hmac, Mac};
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use sha2::Sha256;
use tokio::sync::watch;

use crate::clock::Clock;
use crate::config::Config;
use crate::refusal::Link;
use crate::store::notices::{DueNotice, NewNotice, NoticeKind, NoticeOutcome, Unnoticed};
use crate::store::{Store, StoreError};

/// How often the loop looks for consents and due notices.
pub const INTERVAL: Duration = Duration::from_secs(2);
/// How long a claimed notice is left to the relay that claimed it.
const LEASE_MS: i64 = 120_000;
/// How long one SMTP command or webhook request may take.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(20);
/// How long one delivery may take in all, well within its lease.
const DELIVERY_LIMIT: Duration = Duration::from_secs(45);
/// Notices delivered in one turn at most, each claimed just before it is sent.
const PER_TURN: usize = 50;

/// What one turn of the loop did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NoticePass {
    /// Notices queued for consents that had none.
    pub queued: usize,
    /// Notices delivered.
    pub sent: usize,
    /// Attempts that failed and will be made again.
    pub retried: usize,
    /// Notices whose day ended first.
    pub missed: usize,
    /// Consents no notice can reach, kept as skipped (a call consent on a landline).
    pub skipped: usize,
    /// Records whose sealed values do not open, which get no notice.
    pub unreadable: usize,
}

/// Why a delivery failed, as a code that names no address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryError(pub String);

/// Sends the notices.
#[derive(Clone)]
pub struct Notifier {
    store: Store,
    config: Arc<Config>,
    clock: Clock,
    mailer: Option<AsyncSmtpTransport<Tokio1Executor>>,
    http: reqwest::Client,
    stop: watch::Sender<bool>,
}

impl std::fmt::Debug for Notifier {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Notifier")
            .field("email", &self.mailer.is_some())
            .field("sms", &self.config.notices.sends_sms())
            .finish_non_exhaustive()
    }
}

/// The wait before attempt `attempts + 1`: ten seconds, doubling, at most a quarter of an hour.
pub fn back_off(attempts: i64) -> Duration {
    let doubled = 10_u64.saturating_mul(1_u64 << attempts.clamp(0, 10));
    Duration::from_secs(doubled.min(900))
}

/// The signature header's value for `body` posted at `unix_seconds`:
/// `t=<seconds>,v1=<hex HMAC-SHA256 of "<seconds>.<body>">`.
pub fn signature(secret: &[u8], unix_seconds: i64, body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret)
        // HMAC accepts keys of any length.
        .unwrap_or_else(|_| unreachable!());
    mac.update(unix_seconds.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!(
        "t={unix_seconds},v1={}",
        consent_core::record::hex(&mac.finalize().into_bytes())
    )
}

impl Notifier {
    /// A notifier for `config`'s notice settings; `None` when none go out (`RELAY_NOTICE=off`,
    /// or neither a mail server nor a webhook is set).
    pub fn new(
        store: Store,
        config: Arc<Config>,
        clock: Clock,
    ) -> Result<Option<Notifier>, String> {
        let notices = &config.notices;
        if !notices.sends_email() && !notices.sends_sms() {
            return Ok(None);
        }
        let mailer = match (&notices.smtp_url, notices.sends_email()) {
            (Some(url), true) => Some(
                AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                    .map_err(|error| format!("RELAY_SMTP_URL: {error}"))?
                    .timeout(Some(DELIVERY_TIMEOUT))
                    .build(),
            ),
            _ => None,
        };
        if let Some(from) = &notices.from {
            from.parse::<lettre::message::Mailbox>()
                .map_err(|error| format!("RELAY_NOTICE_FROM: {error}"))?;
        }
        let http = reqwest::Client::builder()
            .timeout(DELIVERY_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|error| error.to_string())?;
        let (stop, _) = watch::channel(false);
        Ok(Some(Notifier {
            store,
            config,
            clock,
            mailer,
            http,
            stop,
        }))
    }

    /// Runs until [`Notifier::stop`].
    pub async fn run(self) {
        let mut stopped = self.stop.subscribe();
        loop {
            if let Err(error) = self.notify_once().await {
                tracing::warn!(%error, "notices: the database failed; trying again");
            }
            tokio::select! {
                _ = tokio::time::sleep(INTERVAL) => {}
                _ = stopped.changed() => return,
            }
        }
    }

    /// Ends [`Notifier::run`] after the turn in progress.
    pub fn stop(&self) {
        let _ = self.stop.send(true);
    }

    /// One turn: queue a notice for every consent without one, then deliver those due.
    pub async fn notify_once(&self) -> Result<NoticePass, StoreError> {
        let mut pass = NoticePass::default();
        let now = (self.clock)();
        let since = self.store.notices_since(now).await?;
        let mut channels = Vec::new();
        if self.mailer.is_some() {
            channels.push(Channel::Email);
        }
        if self.config.notices.sends_sms() {
            channels.extend([Channel::Sms, Channel::Call]);
        }
        let mut after = 0;
        loop {
            let page = self
                .store
                .unnoticed_consents(since, &channels, after, 200)
                .await?;
            pass.unreadable += page.unreadable.len();
            for notice in self.group(page.consents) {
                if self.store.queue_notice(&notice, now).await? {
                    if notice.skipped.is_some() {
                        pass.skipped += 1;
                    } else {
                        pass.queued += 1;
                    }
                }
            }
            match page.next {
                Some(next) => after = next,
                None => break,
            }
        }
        if pass.unreadable > 0 {
            tracing::warn!(
                records = pass.unreadable,
                "notices: records whose sealed values do not open get no notice; run iys-relay verify"
            );
        }
        for _ in 0..PER_TURN {
            // A relay told to stop finishes the notice in hand and takes no other.
            if *self.stop.borrow() {
                break;
            }
            let mut token = [0_u8; 16];
            OsRng.fill_bytes(&mut token);
            let token = consent_core::record::hex(&token);
            let Some(notice) = self
                .store
                .claim_notice((self.clock)(), LEASE_MS, &token)
                .await?
            else {
                break;
            };
            self.deliver_one(&notice, &token, &mut pass).await?;
        }
        Ok(pass)
    }

    /// The notices for `consents`: one per consent, except that SMS and call consents for one
    /// number in one submit share one SMS. Consents of a kind that is not sent get none.
    fn group(&self, consents: Vec<Unnoticed>) -> Vec<NewNotice> {
        let mut groups: BTreeMap<(Vec<u8>, &'static str, i64, String), Vec<Unnoticed>> =
            BTreeMap::new();
        for consent in consents {
            let kind = NoticeKind::for_channel(consent.channel);
            let sent = match kind {
                NoticeKind::Email => self.mailer.is_some(),
                NoticeKind::Sms => self.config.notices.sends_sms(),
            };
            if !sent {
                continue;
            }
            // E-mail consents each get their own; phone ones of one submit share.
            let submit = match kind {
                NoticeKind::Email => consent.record_id.clone(),
                NoticeKind::Sms => String::new(),
            };
            groups
                .entry((
                    consent.recipient_hash.clone(),
                    consent.recipient_type.as_str(),
                    consent.received_at_ms,
                    submit,
                ))
                .or_default()
                .push(consent);
        }
        groups
            .into_values()
            .filter_map(|mut consents| {
                consents.sort_by(|a, b| a.record_id.cmp(&b.record_id));
                let first = consents.first()?.clone();
                let mut channels: Vec<Channel> = Channel::ALL
                    .iter()
                    .copied()
                    .filter(|channel| consents.iter().any(|c| c.channel == *channel))
                    .collect();
                channels.dedup();
                let consent_at_ms = consents
                    .iter()
                    .map(|c| c.consent_at_ms)
                    .min()
                    .unwrap_or(first.consent_at_ms);
                // A consent that reached the relay after its own day still gets its notice,
                // on the day it arrived.
                let day_of = consent_at_ms.max(first.received_at_ms);
                // A call consent on a landline: no SMS reaches it.
                let skipped = match Recipient::parse_for(Channel::Call, &first.recipient) {
                    Ok(Recipient::Phone(phone)) if phone.check_reachable(Channel::Sms).is_err() => {
                        Some("not_mobile")
                    }
                    _ => None,
                };
                let mut random = [0_u8; 10];
                OsRng.fill_bytes(&mut random);
                let now = (self.clock)();
                Some(NewNotice {
                    id: RecordId::v7(now.unix_millis().max(0) as u64, random).to_string(),
                    kind: NoticeKind::for_channel(first.channel),
                    recipient: first.recipient.clone(),
                    recipient_hash: first.recipient_hash.clone(),
                    recipient_type: first.recipient_type,
                    channels,
                    locale: first.locale,
                    consent_at_ms,
                    deadline_ms: end_of_turkish_day(Timestamp::from_unix_millis(day_of))
                        .unix_millis(),
                    consents: consents.into_iter().map(|c| c.record_id).collect(),
                    skipped: skipped.filter(|_| first.channel.is_phone()),
                })
            })
            .collect()
    }

    async fn deliver_one(
        &self,
        notice: &DueNotice,
        token: &str,
        pass: &mut NoticePass,
    ) -> Result<(), StoreError> {
        let now = (self.clock)();
        if now.unix_millis() >= notice.deadline_ms {
            let code = notice
                .last_error
                .clone()
                .unwrap_or_else(|| "day_ended".to_owned());
            if self
                .store
                .settle_notice(&notice.id, token, &NoticeOutcome::DayEnded(code), now)
                .await?
            {
                tracing::warn!(notice = %notice.id, "a notice missed its day");
                pass.missed += 1;
            }
            return Ok(());
        }
        let delivered = tokio::time::timeout(DELIVERY_LIMIT, self.deliver(notice))
            .await
            .unwrap_or_else(|_| Err(DeliveryError("delivery_timeout".to_owned())));
        match delivered {
            Ok(content) => {
                let settled = self
                    .store
                    .settle_notice(
                        &notice.id,
                        token,
                        &NoticeOutcome::Sent(content),
                        (self.clock)(),
                    )
                    .await?;
                if settled {
                    tracing::info!(notice = %notice.id, kind = notice.kind.as_str(), "notice sent");
                    pass.sent += 1;
                } else {
                    tracing::warn!(notice = %notice.id, "a notice was delivered after its claim ran out; another relay may deliver it too");
                }
            }
            Err(DeliveryError(code)) => {
                let next = Timestamp::from_unix_millis(
                    (now.unix_millis() + back_off(notice.attempts).as_millis() as i64)
                        .min(notice.deadline_ms - 1_000),
                );
                if next.unix_millis() <= now.unix_millis() {
                    if self
                        .store
                        .settle_notice(
                            &notice.id,
                            token,
                            &NoticeOutcome::FailedLast(code.clone()),
                            now,
                        )
                        .await?
                    {
                        tracing::warn!(notice = %notice.id, code = %code, "a notice missed its day");
                        pass.missed += 1;
                    }
                } else if self
                    .store
                    .retry_notice(&notice.id, token, next, &code)
                    .await?
                {
                    tracing::warn!(notice = %notice.id, code = %code, attempts = notice.attempts + 1, "a notice failed; trying again");
                    pass.retried += 1;
                }
            }
        }
        Ok(())
    }

    /// The refusal link of `notice`: its address and channels, naming its first consent.
    fn link(&self, notice: &DueNotice, recipient: Recipient) -> Result<String, DeliveryError> {
        let mut link = Link::new(
            recipient,
            &notice.channels,
            notice.recipient_type,
            notice.locale,
        )
        .map_err(|_| DeliveryError("unreachable_channels".to_owned()))?;
        link.notice = notice
            .consents
            .first()
            .and_then(|id| RecordId::parse(id).ok());
        crate::refusal::routes::mint(&self.config, self.store.keyring(), link, (self.clock)())
            .ok_or_else(|| DeliveryError("no_public_url".to_owned()))
    }

    /// Delivers `notice`; returns what was sent (the e-mail's subject and body, or the SMS).
    async fn deliver(&self, notice: &DueNotice) -> Result<String, DeliveryError> {
        let channel = notice.channels.first().copied().unwrap_or(Channel::Email);
        let recipient = Recipient::parse_for(channel, &notice.recipient)
            .map_err(|_| DeliveryError("unreadable_address".to_owned()))?;
        let link = self.link(notice, recipient)?;
        let texts = self.config.notices.texts.get(notice.locale);
        let words = NoticeWords {
            locale: notice.locale,
            brand: &self.config.brand_name,
            channels: &notice.channels,
            at: Timestamp::from_unix_millis(notice.consent_at_ms),
            link: &link,
        };
        match notice.kind {
            NoticeKind::Email => {
                let subject = texts.email_subject.fill(&words);
                let body = texts.email_body.fill(&words);
                self.send_email(&notice.recipient, &subject, &body, &link)
                    .await?;
                Ok(format!("{subject}\n\n{body}"))
            }
            NoticeKind::Sms => {
                let text = texts.sms.fill(&words);
                self.post_webhook(notice, &text, &link).await?;
                Ok(text)
            }
        }
    }

    async fn send_email(
        &self,
        to: &str,
        subject: &str,
        body: &str,
        link: &str,
    ) -> Result<(), DeliveryError> {
        let (Some(mailer), Some(from)) = (&self.mailer, &self.config.notices.from) else {
            return Err(DeliveryError("email_not_configured".to_owned()));
        };
        let bad = |code: &str| DeliveryError(code.to_owned());
        let mut message = Message::builder()
            .from(from.parse().map_err(|_| bad("invalid_sender"))?)
            .to(to.parse().map_err(|_| bad("invalid_address"))?)
            .subject(subject)
            .header(ContentType::TEXT_PLAIN)
            .body(body.to_owned())
            .map_err(|_| bad("invalid_message"))?;
        let headers = message.headers_mut();
        headers.insert_raw(HeaderValue::new(
            HeaderName::new_from_ascii_str("List-Unsubscribe"),
            format!("<{link}>"),
        ));
        headers.insert_raw(HeaderValue::new(
            HeaderName::new_from_ascii_str("List-Unsubscribe-Post"),
            "List-Unsubscribe=One-Click".to_owned(),
        ));
        headers.insert_raw(HeaderValue::new(
            HeaderName::new_from_ascii_str("Auto-Submitted"),
            "auto-generated".to_owned(),
        ));
        match mailer.send(message).await {
            Ok(_) => Ok(()),
            Err(error) if error.is_permanent() => Err(bad("smtp_rejected")),
            Err(error) if error.is_timeout() => Err(bad("smtp_timeout")),
            Err(error) if error.is_transient() => Err(bad("smtp_busy")),
            Err(_) => Err(bad("smtp_unreachable")),
        }
    }

    async fn post_webhook(
        &self,
        notice: &DueNotice,
        text: &str,
        link: &str,
    ) -> Result<(), DeliveryError> {
        let notices = &self.config.notices;
        let (Some(url), Some(secret)) = (&notices.webhook_url, &notices.webhook_secret) else {
            return Err(DeliveryError("webhook_not_configured".to_owned()));
        };
        let body = serde_json::to_vec(&serde_json::json!({
            "id": notice.id,
            "channel": "sms",
            "recipient": notice.recipient,
            "brand": self.config.brand_name,
            "locale": notice.locale,
            "text": text,
            "refusalUrl": link,
        }))
        .map_err(|_| DeliveryError("invalid_message".to_owned()))?;
        let signed = signature(secret.as_bytes(), (self.clock)().unix_seconds(), &body);
        let answer = self
            .http
            .post(url)
            .header("content-type", "application/json")
            .header("x-iys-relay-signature", signed)
            .body(body)
            .send()
            .await;
        match answer {
            Ok(answer) if answer.status().is_success() => Ok(()),
            Ok(answer) => Err(DeliveryError(format!(
                "webhook_status_{}",
                answer.status().as_u16()
            ))),
            Err(error) if error.is_timeout() => Err(DeliveryError("webhook_timeout".to_owned())),
            Err(_) => Err(DeliveryError("webhook_unreachable".to_owned())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn back_off_doubles_to_a_quarter_of_an_hour() {
        assert_eq!(back_off(0), Duration::from_secs(10));
        assert_eq!(back_off(1), Duration::from_secs(20));
        assert_eq!(back_off(6), Duration::from_secs(640));
        assert_eq!(back_off(7), Duration::from_secs(900));
        assert_eq!(back_off(1_000), Duration::from_secs(900));
    }

    #[test]
    fn the_signature_covers_time_and_body() {
        let signed = signature(b"secret", 1_700_000_000, b"{}");
        let mut mac =
            <Hmac<Sha256> as Mac>::new_from_slice(b"secret").unwrap_or_else(|_| unreachable!());
        mac.update(b"1700000000.{}");
        let expected = consent_core::record::hex(&mac.finalize().into_bytes());
        assert_eq!(signed, format!("t=1700000000,v1={expected}"));
    }
}
