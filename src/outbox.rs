//! The durable outbox: records are written to `localStorage` before anything is sent, delivered
//! to the relay with retries, and resumed by the next page load of the same origin.
//!
//! - Each record has its own storage key, so tabs adding records never rewrite each other's.
//! - One tab at a time leases records under the Web Lock `iys-consent-outbox`, so two tabs never
//!   both send the same record (in a browser without Web Locks the leases alone narrow that race
//!   without closing it, and the relay's deduplication keeps it harmless); a lease expires a
//!   little after a request's timeout, so records of a tab that closed are picked up again.
//! - The relay deduplicates by record id, so a retry after a lost answer is harmless.
//! - A record leaves the outbox only when the relay stored it, or refused that very record for
//!   good ([`crate::policy`]). Network errors, timeouts, 408, 429 and 5xx are retried with
//!   back-off; an answer that says the setup is wrong (401, 403, 404, 413, ...) or cannot be read
//!   holds every record on a slow schedule and at every page load, and the page is told.
//! - When storage is disabled or full, records are kept in memory and still sent, and the page
//!   is told they could not be persisted.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

use js_sys::{Array, JSON, Object, Promise};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use crate::bindings::{self, property, string_property};
use crate::entry::{Entry, State, StoredError};
use crate::events::{Event, Events, object};
use crate::policy::{self, Verdict};
use crate::record::BuiltRecord;

/// The prefix of the storage keys, one per record (`<prefix><id>`), so that tabs adding records
/// never rewrite each other's; the version lets a later format live beside this one.
pub const STORAGE_PREFIX: &str = "iys-consent:outbox:v1:";
/// The Web Lock that serialises outbox passes across tabs.
const LOCK_NAME: &str = "iys-consent-outbox";
/// How much longer than a request's timeout a lease holds, in milliseconds.
const LEASE_MARGIN_MILLIS: f64 = 5_000.0;
/// How much longer than a request's timeout a lease must still hold for the tab to send the
/// record on it: a request that meets no answer is given up a little after its timeout.
const SEND_MARGIN_MILLIS: f64 = 2_500.0;
/// How long the records sent as a page goes away stay leased: the next page load of the same
/// origin confirms them after this (the relay answers `duplicate` if they arrived).
const EXIT_LEASE_MILLIS: f64 = 3_000.0;
/// The most records in one request (the relay's default limit).
pub const MAX_RECORDS_PER_REQUEST: usize = 16;
/// The most bytes of records in one request, under the relay's default body limit.
const MAX_REQUEST_BYTES: usize = 48 * 1024;
/// Failed records kept for the page to inspect, at most.
const MAX_FAILED_KEPT: usize = 50;

/// What happened to the records of one delivery pass.
#[derive(Debug, Clone, Default)]
pub struct PassReport {
    /// Receipts of delivered records, as JS objects.
    pub receipts: Vec<(String, JsValue)>,
    /// Ids kept for a later try.
    pub queued: Vec<String>,
    /// Ids refused for good.
    pub failed: Vec<String>,
}

/// An armed timer: its handle and the callback it will call.
type Timer = (JsValue, Closure<dyn FnMut()>);

/// What a request's answer changes in the stored entries, written in the next pass under the
/// lock. Only entries this tab still leases change: another tab that took one over after this
/// tab's lease ran out decides for it.
// Size: outcomes as data that one function applies, rather than a boxed closure each.
#[derive(Debug)]
enum Change {
    /// The relay stored these records: they are forgotten.
    Delivered(Vec<String>),
    /// These records wait: `after` milliseconds from `now`, or each its own back-off when
    /// `None`; `held` when the setup is wrong.
    Wait {
        ids: Vec<String>,
        now: f64,
        after: Option<u64>,
        jitter: f64,
        held: bool,
    },
    /// The relay refused `ids[index]` for good with `error`; the others of the request go again
    /// at once.
    Refused {
        ids: Vec<String>,
        index: usize,
        error: StoredError,
    },
}

impl Change {
    /// The ids of the entries it may change; entries it drops are forgotten whatever their id.
    fn ids(&self) -> &[String] {
        match self {
            Change::Delivered(_) => &[],
            Change::Wait { ids, .. } | Change::Refused { ids, .. } => ids,
        }
    }

    fn apply(self, tab: &str, entries: &mut Vec<Entry>) {
        match self {
            Change::Delivered(ids) => entries.retain(|entry| !ids.contains(&entry.id)),
            Change::Wait {
                ids,
                now,
                after,
                jitter,
                held,
            } => {
                for entry in entries.iter_mut() {
                    if ids.contains(&entry.id) && entry.is_leased_by(tab) {
                        let wait =
                            after.unwrap_or_else(|| policy::backoff_millis(entry.attempts, jitter));
                        entry.attempts = entry.attempts.saturating_add(1);
                        entry.next_at = now + wait as f64;
                        entry.held = held;
                        entry.release();
                    }
                }
            }
            Change::Refused { ids, index, error } => {
                for entry in entries.iter_mut() {
                    if !ids.contains(&entry.id) || !entry.is_leased_by(tab) {
                        continue;
                    }
                    if entry.id == ids[index] {
                        entry.state = State::Failed;
                        entry.error = Some(error.clone());
                    }
                    entry.held = false;
                    entry.release();
                }
                // Keep only the newest records the relay refused; no other record is ever
                // dropped.
                let failed_count = entries
                    .iter()
                    .filter(|entry| entry.state == State::Failed)
                    .count();
                let mut excess = failed_count.saturating_sub(MAX_FAILED_KEPT);
                entries.retain(|entry| {
                    if excess > 0 && entry.state == State::Failed {
                        excess -= 1;
                        false
                    } else {
                        true
                    }
                });
            }
        }
    }
}

/// The outbox of one mounted widget.
pub struct Outbox {
    endpoint: String,
    timeout_ms: u32,
    headers: Object,
    tab: String,
    events: Rc<Events>,
    /// Entries that could not be written to storage.
    volatile: RefCell<Vec<Entry>>,
    /// Ids this tab is sending right now.
    in_flight: RefCell<Vec<String>>,
    timer: RefCell<Option<Timer>>,
    stopped: Cell<bool>,
    /// The end of the last flush this tab started: flushes run one after another.
    chain: RefCell<Promise>,
    /// What this tab learned about each record it sent, whichever flush sent it.
    outcomes: RefCell<Vec<(String, Outcome)>>,
    /// Outcomes not written yet: the next pass under the lock writes them before it leases.
    deferred: RefCell<Vec<Change>>,
    /// When the next record waiting is due, as the last pass under the lock found it
    /// (infinite when none waits); `None` when it has to be read again.
    next_due: Cell<Option<f64>>,
    /// Whether this page's first pass under the lock ran: it sends records held by a setup
    /// problem whatever their next try, since a page load may follow a mended setup.
    resumed: Cell<bool>,
}

/// What became of one record this tab sent.
#[derive(Debug, Clone)]
enum Outcome {
    Delivered(JsValue),
    Queued,
    Failed,
}

impl std::fmt::Debug for Outbox {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Outbox")
            .field("endpoint", &self.endpoint)
            .field("tab", &self.tab)
            .finish_non_exhaustive()
    }
}

fn text(object: &JsValue, key: &str) -> String {
    string_property(object, key).unwrap_or_default()
}

/// The storage key of the record `id`.
fn storage_key(id: &str) -> String {
    let mut key = String::from(STORAGE_PREFIX);
    key.push_str(id);
    key
}

fn random_unit() -> f64 {
    let bytes = bindings::random_bytes(4);
    f64::from(u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]])) / 4_294_967_296.0
}

impl Outbox {
    /// An outbox delivering to `endpoint` with extra `headers`.
    pub fn new(
        endpoint: String,
        timeout_ms: u32,
        headers: &[(String, String)],
        events: Rc<Events>,
    ) -> Rc<Outbox> {
        let tab = consent_core::record::hex(&bindings::random_bytes(8));
        Rc::new(Outbox {
            endpoint,
            timeout_ms,
            headers: bindings::request_headers(headers, "content-type", "application/json"),
            tab,
            events,
            volatile: RefCell::new(Vec::new()),
            in_flight: RefCell::default(),
            timer: RefCell::new(None),
            stopped: Cell::new(false),
            chain: RefCell::new(Promise::resolve(&JsValue::UNDEFINED)),
            outcomes: RefCell::default(),
            deferred: RefCell::new(Vec::new()),
            next_due: Cell::new(None),
            resumed: Cell::new(false),
        })
    }

    /// How long a lease holds: longer than a request may take.
    fn lease_millis(&self) -> f64 {
        f64::from(self.timeout_ms) + LEASE_MARGIN_MILLIS
    }

    /// Every entry: the persisted ones, then those only in memory. Stored entries that do not
    /// read are left in storage untouched.
    fn load(&self) -> Vec<Entry> {
        let mut entries: Vec<Entry> = bindings::storage_values(STORAGE_PREFIX)
            .unwrap_or_default()
            .iter()
            .filter_map(|text| Entry::parse(text))
            .collect();
        let only_in_memory: Vec<Entry> = self
            .volatile
            .borrow()
            .iter()
            .filter(|kept| !entries.iter().any(|entry| entry.id == kept.id))
            .cloned()
            .collect();
        entries.extend(only_in_memory);
        entries
    }

    /// Writes `entries` back, each under its own key, and forgets the `removed` ids; entries
    /// that storage did not take at first stay in memory. Returns whether storage took every
    /// write.
    fn save(&self, entries: &[Entry], removed: &[String]) -> bool {
        let mut stored = true;
        for id in removed {
            stored &= bindings::storage_write(&storage_key(id), None).is_ok();
        }
        let mut volatile = self.volatile.borrow_mut();
        volatile.retain(|kept| !removed.contains(&kept.id));
        for entry in entries {
            if let Some(kept) = volatile.iter_mut().find(|kept| kept.id == entry.id) {
                *kept = entry.clone();
                continue;
            }
            stored &=
                bindings::storage_write(&storage_key(&entry.id), Some(entry.to_json())).is_ok();
        }
        stored
    }

    /// Queues `records`, writing each to storage before anything is sent, already leased to
    /// this tab so that [`Outbox::flush_with`] can send them without a pass under the lock.
    /// Returns whether they were all persisted (those that could not be are kept in memory and
    /// still sent) and the leased records.
    pub fn enqueue(&self, records: &[BuiltRecord]) -> (bool, Vec<Entry>) {
        let now = bindings::now_millis();
        let mut persisted = true;
        let mut fresh = Vec::new();
        let lease_until = now + self.lease_millis();
        for record in records {
            let consented_at = record.at.unix_millis() as f64;
            let mut entry = Entry::new(&record.id, &self.endpoint, &record.json, consented_at, now);
            entry.lease_owner = Some(self.tab.clone());
            entry.lease_until = lease_until;
            if bindings::storage_write(&storage_key(&record.id), Some(entry.to_json())).is_err() {
                self.volatile.borrow_mut().push(entry.clone());
                persisted = false;
            }
            self.in_flight.borrow_mut().push(record.id.clone());
            fresh.push(entry);
        }
        (persisted, fresh)
    }

    /// Entries of this endpoint that are due and not leased by another tab or in flight here.
    fn due(&self, entries: &[Entry], now: f64) -> Vec<Entry> {
        let in_flight = self.in_flight.borrow();
        let mut due = oldest_first(
            entries
                .iter()
                .filter(|entry| {
                    entry.is_pending_for(&self.endpoint)
                        && (entry.next_at <= now || (!self.resumed.get() && entry.held))
                        && !in_flight.contains(&entry.id)
                        && (entry.lease_until < now || entry.is_leased_by(&self.tab))
                })
                .collect(),
        );
        due.truncate(fitting(due.iter().map(|entry| entry.record.len())));
        due
    }

    /// Writes the deferred changes under the lock and, when `lease`, leases the due records;
    /// returns the records leased.
    // Size: one pass under the lock for both, so that one closure and one future do both.
    async fn pass(self: &Rc<Self>, lease: bool) -> Vec<Entry> {
        let outbox = self.clone();
        let chosen: Rc<RefCell<Vec<Entry>>> = Rc::default();
        let result = chosen.clone();
        let task = Closure::wrap(Box::new(move || {
            let now = bindings::now_millis();
            let mut entries = outbox.load();
            outbox.apply_deferred(&mut entries);
            if !lease {
                return Promise::resolve(&JsValue::UNDEFINED);
            }
            if !outbox.resumed.get() {
                outbox.revive(&mut entries);
            }
            let mut due = outbox.due(&entries, now);
            outbox.resumed.set(true);
            for entry in &mut due {
                entry.lease_owner = Some(outbox.tab.clone());
                entry.lease_until = now + outbox.lease_millis();
                outbox.in_flight.borrow_mut().push(entry.id.clone());
            }
            outbox.save(&due, &[]);
            // The leases just taken count as the records were saved.
            for leased in &due {
                if let Some(entry) = entries.iter_mut().find(|entry| entry.id == leased.id) {
                    *entry = leased.clone();
                }
            }
            outbox.next_due.set(Some(outbox.next_due_in(&entries)));
            *result.borrow_mut() = due;
            Promise::resolve(&JsValue::UNDEFINED)
        }) as Box<dyn FnMut() -> Promise>);
        let _ = JsFuture::from(bindings::with_lock(LOCK_NAME, &task)).await;
        chosen.take()
    }

    /// Puts back to pending, held, the records an earlier version gave up as failed on an
    /// answer that did not refuse them for good (a wrong origin, a limit, a missing token):
    /// only the relay's own refusal of a record ends it.
    fn revive(&self, entries: &mut [Entry]) {
        let mut revived = Vec::new();
        for entry in entries.iter_mut() {
            let code = entry.error.as_ref().map_or("", |error| error.code.as_str());
            if entry.endpoint == self.endpoint
                && entry.state == State::Failed
                && !policy::is_lasting_refusal(code)
            {
                entry.state = State::Pending;
                entry.held = true;
                revived.push(entry.clone());
            }
        }
        if !revived.is_empty() {
            self.save(&revived, &[]);
        }
    }

    /// Applies the deferred changes to `entries` and writes the entries they may have changed;
    /// entries they drop are forgotten.
    fn apply_deferred(&self, entries: &mut Vec<Entry>) {
        let changes: Vec<Change> = self.deferred.borrow_mut().drain(..).collect();
        if changes.is_empty() {
            return;
        }
        let before: Vec<String> = entries.iter().map(|entry| entry.id.clone()).collect();
        let mut touched = Vec::new();
        for change in changes {
            touched.extend_from_slice(change.ids());
            change.apply(&self.tab, entries);
        }
        let changed: Vec<Entry> = entries
            .iter()
            .filter(|entry| touched.contains(&entry.id))
            .cloned()
            .collect();
        let removed: Vec<String> = before
            .into_iter()
            .filter(|id| !entries.iter().any(|entry| entry.id == *id))
            .collect();
        self.save(&changed, &removed);
    }

    /// When the next pending record of this endpoint is due: infinite when none is pending.
    fn next_due_in(&self, entries: &[Entry]) -> f64 {
        entries
            .iter()
            .filter(|entry| entry.is_pending_for(&self.endpoint))
            .map(|entry| entry.next_at.max(entry.lease_until + 1.0))
            .fold(f64::INFINITY, f64::min)
    }

    /// Makes `change` to the entries in the next pass under the lock.
    fn defer(&self, change: Change) {
        self.deferred.borrow_mut().push(change);
    }

    /// Delivers what is due: leases it, sends it, records the outcome, and keeps going while
    /// more is due. Flushes of one tab run one after another.
    pub async fn flush(self: &Rc<Self>) {
        self.flush_with(Vec::new()).await;
    }

    /// Sends `fresh`, records [`Outbox::enqueue`] leased to this tab, first, then delivers
    /// what else is due. Each pass under the lock writes the outcomes of the request before
    /// and leases the next records, so a submit that finds nothing else waiting takes the lock
    /// once.
    pub async fn flush_with(self: &Rc<Self>, fresh: Vec<Entry>) {
        let mut release = None;
        let done = Promise::new(&mut |resolve, _| release = Some(resolve));
        let previous = self.chain.replace(done);
        let _ = JsFuture::from(previous).await;
        let mut report = PassReport::default();
        let mut chosen = fresh;
        // Whether the last pass under the lock found nothing more to send.
        let mut drained = false;
        for _ in 0..64 {
            if self.stopped.get() {
                break;
            }
            if chosen.is_empty() {
                chosen = self.pass(true).await;
            }
            if chosen.is_empty() {
                drained = true;
                break;
            }
            while !chosen.is_empty() && !self.stopped.get() {
                let part = next_request(&mut chosen);
                // A record is sent only while this tab's lease on it outlasts a whole request
                // (waiting behind an earlier flush ages it); the others go back to the next
                // pass under the lock, which leases them again unless another tab has.
                let now = bindings::now_millis();
                let needed = f64::from(self.timeout_ms) + SEND_MARGIN_MILLIS;
                let mut fit = Vec::new();
                for leased in part {
                    if leased.lease_until - now >= needed {
                        fit.push(leased);
                    } else {
                        self.in_flight.borrow_mut().retain(|id| *id != leased.id);
                    }
                }
                if !fit.is_empty() {
                    // Size: the request's future is boxed and called through its trait, so
                    // that its states are not laid out inside this loop's (about 250 bytes
                    // brotli less; boxing the lease and the deferred writes made it larger).
                    let sending: Pin<Box<dyn Future<Output = ()> + '_>> =
                        Box::pin(self.send(&fit, &mut report));
                    sending.await;
                }
            }
        }
        {
            self.in_flight
                .borrow_mut()
                .retain(|id| !chosen.iter().any(|leased| leased.id == *id));
        }
        if !self.deferred.borrow().is_empty() {
            self.pass(false).await;
        }
        if !drained {
            self.next_due.set(None);
        }
        {
            let mut outcomes = self.outcomes.borrow_mut();
            let mut learn = |id: String, outcome: Outcome, replace: bool| match outcomes
                .iter_mut()
                .find(|(known, _)| *known == id)
            {
                Some((_, known)) if replace => *known = outcome,
                Some(_) => {}
                None => outcomes.push((id, outcome)),
            };
            for (id, receipt) in report.receipts {
                learn(id, Outcome::Delivered(receipt), true);
            }
            for id in report.queued {
                learn(id, Outcome::Queued, false);
            }
            for id in report.failed {
                learn(id, Outcome::Failed, true);
            }
        }
        self.schedule_next();
        if let Some(release) = release {
            let _ = release.call0(&JsValue::NULL);
        }
    }

    /// What this tab knows of `ids`: delivered with a receipt, queued, or failed. Ids it has
    /// not sent yet (another tab holds them, or they wait for their next try) count as queued.
    pub fn outcomes(&self, ids: &[String]) -> PassReport {
        let outcomes = self.outcomes.borrow();
        let mut report = PassReport::default();
        for id in ids {
            match outcomes
                .iter()
                .find(|(known, _)| known == id)
                .map(|(_, outcome)| outcome)
            {
                Some(Outcome::Delivered(receipt)) => {
                    report.receipts.push((id.clone(), receipt.clone()))
                }
                Some(Outcome::Failed) => report.failed.push(id.clone()),
                Some(Outcome::Queued) | None => report.queued.push(id.clone()),
            }
        }
        report
    }

    async fn send(self: &Rc<Self>, chosen: &[Entry], report: &mut PassReport) {
        let ids: Vec<String> = chosen.iter().map(|leased| leased.id.clone()).collect();
        let body = request_body(chosen);
        let answer = JsFuture::from(bindings::send(
            "POST",
            &self.endpoint,
            body.into(),
            &self.headers,
            self.timeout_ms,
            false,
        ))
        .await
        .unwrap_or(JsValue::UNDEFINED);
        let status = property(&answer, "status").as_f64().unwrap_or(0.0) as u16;
        let retry_after = string_property(&answer, "retryAfter");
        let body = text(&answer, "body");
        let attempts = chosen
            .iter()
            .map(|leased| leased.attempts)
            .max()
            .unwrap_or(0);
        let error = Refusal::read(status, &body);
        let refused =
            policy::refused_index(error.code.as_deref(), error.field.as_deref(), ids.len());
        let verdict = policy::verdict(
            status,
            retry_after.as_deref(),
            attempts,
            random_unit(),
            refused,
        );
        {
            self.in_flight.borrow_mut().retain(|id| !ids.contains(id));
        }
        match verdict {
            Verdict::Delivered => self.delivered(chosen, &body, report),
            Verdict::Retry { after_millis } => {
                self.wait(&ids, after_millis, false, status, report);
            }
            Verdict::Held { after_millis } => {
                self.wait(&ids, after_millis, true, status, report);
                self.events.emit(
                    Event::Error,
                    &object(&[
                        ("code", JsValue::from_str("delivery_held")),
                        ("relayCode", error.relay_code(status).as_str().into()),
                        ("message", error.message.as_str().into()),
                        ("status", f64::from(status).into()),
                        ("ids", ids_array(&ids)),
                        ("retryInMs", (after_millis as f64).into()),
                    ]),
                );
            }
            Verdict::Refused { index } => self.refused(&ids, index, status, &error, report),
        }
    }

    /// Puts `ids` back to be sent after `after_millis`; `held` marks them waiting for the shop
    /// to mend its setup, so that the next page load sends them at once.
    fn wait(
        &self,
        ids: &[String],
        after_millis: u64,
        held: bool,
        status: u16,
        report: &mut PassReport,
    ) {
        self.defer(Change::Wait {
            ids: ids.to_vec(),
            now: bindings::now_millis(),
            after: Some(after_millis),
            jitter: 0.0,
            held,
        });
        let persisted = self.volatile.borrow().is_empty();
        self.events.emit(
            Event::Queued,
            &object(&[
                ("ids", ids_array(ids)),
                ("persisted", persisted.into()),
                ("retryInMs", (after_millis as f64).into()),
                ("status", f64::from(status).into()),
            ]),
        );
        report.queued.extend(ids.iter().cloned());
    }

    fn delivered(&self, chosen: &[Entry], body: &str, report: &mut PassReport) {
        let ids: Vec<String> = chosen.iter().map(|leased| leased.id.clone()).collect();
        let receipts: Vec<JsValue> = JSON::parse(body)
            .ok()
            .map(|answer| property(&answer, "records"))
            .filter(Array::is_array)
            .map(|records| Array::from(&records).iter().collect())
            .unwrap_or_default();
        let mut done = Vec::new();
        for receipt in &receipts {
            let id = text(receipt, "id");
            if chosen.iter().any(|leased| leased.id == id) {
                // The relay says whether the record came after İYS's window; one that does not
                // say (an older relay) is reported in time.
                // Size: the relay judges it, so the widget carries no holiday calendar.
                if property(receipt, "late").as_bool().is_none() {
                    bindings::set_property(receipt, "late", &JsValue::FALSE);
                }
                done.push(id.clone());
                report.receipts.push((id, receipt.clone()));
            }
        }
        self.defer(Change::Delivered(done.clone()));
        // Records the answer did not mention (a portal or proxy answering 200 with something
        // else) stay pending and wait as after a network error.
        let missing: Vec<String> = ids
            .iter()
            .filter(|id| !done.contains(id))
            .cloned()
            .collect();
        if !missing.is_empty() {
            self.defer(Change::Wait {
                ids: missing.clone(),
                now: bindings::now_millis(),
                after: None,
                jitter: random_unit(),
                // The relay answered, so the setup works.
                held: false,
            });
            report.queued.extend(missing);
        }
        if !done.is_empty() {
            let receipts: Array = report
                .receipts
                .iter()
                .filter(|(id, _)| done.contains(id))
                .map(|(_, receipt)| receipt.clone())
                .collect();
            self.events
                .emit(Event::Sent, &object(&[("receipts", receipts.into())]));
        }
    }

    /// The relay refused the record at `index` of `ids` for good: it is kept as failed and
    /// reported; the others go again at once, on their own.
    fn refused(
        &self,
        ids: &[String],
        index: usize,
        status: u16,
        error: &Refusal,
        report: &mut PassReport,
    ) {
        let relay_code = error.relay_code(status);
        let failed = vec![ids[index].clone()];
        let stored_error = StoredError {
            code: relay_code.clone(),
            message: error.message.clone(),
            status,
        };
        self.defer(Change::Refused {
            ids: ids.to_vec(),
            index,
            error: stored_error,
        });
        let mut detail = vec![
            ("code", JsValue::from_str("delivery_failed")),
            ("relayCode", relay_code.as_str().into()),
            ("message", error.message.as_str().into()),
            ("ids", ids_array(&failed)),
        ];
        if let Some(field) = &error.field {
            detail.push(("field", field.as_str().into()));
        }
        self.events.emit(Event::Error, &object(&detail));
        report.failed.extend(failed);
    }

    /// Sends what is pending with `keepalive`, without waiting, as the page goes away. Records
    /// another tab holds are left to it.
    pub fn flush_on_exit(&self) {
        let now = bindings::now_millis();
        let mut entries = self.load();
        // Outcomes not written yet (a record delivered a moment ago) are written now: there may
        // be no later pass under the lock.
        self.apply_deferred(&mut entries);
        // One request, the oldest first, under the body limit of every request (browsers cap
        // keepalive bodies at 64 KiB).
        let mut waiting = oldest_first(
            entries
                .iter()
                .filter(|entry| {
                    let leased_elsewhere =
                        entry.lease_until >= now && !entry.is_leased_by(&self.tab);
                    entry.is_pending_for(&self.endpoint) && !leased_elsewhere
                })
                .collect(),
        );
        waiting.truncate(fitting(waiting.iter().map(|entry| entry.record.len())));
        if waiting.is_empty() {
            return;
        }
        for entry in &mut waiting {
            entry.lease_owner = Some(self.tab.clone());
            entry.lease_until = now + EXIT_LEASE_MILLIS;
        }
        self.save(&waiting, &[]);
        let body = request_body(&waiting);
        let _ = bindings::send(
            "POST",
            &self.endpoint,
            body.into(),
            &self.headers,
            self.timeout_ms,
            true,
        );
    }

    /// Arms a timer for the next due record.
    fn schedule_next(self: &Rc<Self>) {
        if self.stopped.get() {
            return;
        }
        let now = bindings::now_millis();
        let next = match self.next_due.take() {
            Some(next) => next,
            None => self.next_due_in(&self.load()),
        };
        if !next.is_finite() {
            return;
        }
        let delay = (next - now).clamp(0.0, policy::MAX_BACKOFF_MILLIS as f64) as u32;
        let outbox = Rc::downgrade(self);
        let callback = Closure::wrap(Box::new(move || {
            if let Some(outbox) = outbox.upgrade() {
                wasm_bindgen_futures::spawn_local(async move {
                    outbox.flush().await;
                });
            }
        }) as Box<dyn FnMut()>);
        let handle = bindings::set_timer(&callback, delay.max(10));
        if let Some((old, _)) = self.timer.borrow_mut().replace((handle, callback)) {
            bindings::clear_timer(&old);
        }
    }

    /// Stops timers and gives up this tab's leases; records stay in storage for the next page
    /// load, which may send them at once (the relay deduplicates a request still on its way).
    pub fn stop(&self) {
        self.stopped.set(true);
        if let Some((handle, _)) = self.timer.borrow_mut().take() {
            bindings::clear_timer(&handle);
        }
        let mut mine: Vec<Entry> = self
            .load()
            .into_iter()
            .filter(|entry| entry.is_leased_by(&self.tab))
            .collect();
        for entry in &mut mine {
            entry.release();
        }
        self.save(&mine, &[]);
    }

    /// Failed records of this endpoint, as `{ id, error }` objects.
    pub fn failed(&self) -> Array {
        self.load()
            .iter()
            .filter(|entry| entry.endpoint == self.endpoint && entry.state == State::Failed)
            .map(|entry| {
                let error = entry.error.as_ref().map_or(JsValue::UNDEFINED, |error| {
                    object(&[
                        ("code", error.code.as_str().into()),
                        ("message", error.message.as_str().into()),
                        ("status", f64::from(error.status).into()),
                    ])
                });
                object(&[("id", entry.id.as_str().into()), ("error", error)])
            })
            .collect()
    }

    /// The number of records of this endpoint still waiting to be delivered.
    pub fn pending_count(&self) -> usize {
        self.load()
            .iter()
            .filter(|entry| entry.is_pending_for(&self.endpoint))
            .count()
    }
}

/// The oldest of `entries` by decision time, as many as one request may take, oldest first;
/// entries decided in the same millisecond keep their stored order. The records nearest their
/// registration deadline go first.
fn oldest_first(entries: Vec<&Entry>) -> Vec<Entry> {
    let mut waiting: Vec<(f64, &Entry)> = entries
        .into_iter()
        .map(|entry| (entry.consented_at, entry))
        .collect();
    let mut chosen = Vec::new();
    while chosen.len() < MAX_RECORDS_PER_REQUEST && !waiting.is_empty() {
        let mut oldest = 0;
        for (index, (at, _)) in waiting.iter().enumerate() {
            if at.total_cmp(&waiting[oldest].0).is_lt() {
                oldest = index;
            }
        }
        chosen.push(waiting.remove(oldest).1.clone());
    }
    chosen
}

/// Takes from the front of `chosen` the records of one request.
fn next_request(chosen: &mut Vec<Entry>) -> Vec<Entry> {
    let count = fitting(chosen.iter().map(|leased| leased.record.len()));
    chosen.drain(..count).collect()
}

/// How many records of `sizes` (their JSON lengths, in sending order) go in one request: at
/// most [`MAX_RECORDS_PER_REQUEST`], well under the relay's default body limit of 64 KiB, and
/// always the first one.
fn fitting(sizes: impl Iterator<Item = usize>) -> usize {
    let mut bytes = 0;
    let mut count = 0;
    for size in sizes {
        if count == MAX_RECORDS_PER_REQUEST || (count > 0 && bytes + size > MAX_REQUEST_BYTES) {
            break;
        }
        bytes += size;
        count += 1;
    }
    count
}

/// What an error answer of the relay says, as far as it can be read.
#[derive(Debug, Default)]
struct Refusal {
    code: Option<String>,
    message: String,
    field: Option<String>,
}

impl Refusal {
    /// Reads `{code, message, field}` from an answer's body; an answer that is not the relay's
    /// error body leaves them empty.
    fn read(status: u16, body: &str) -> Refusal {
        if (200..300).contains(&status) || status == 0 {
            return Refusal::default();
        }
        let answer = JSON::parse(body).unwrap_or(JsValue::UNDEFINED);
        Refusal {
            code: string_property(&answer, "code"),
            message: text(&answer, "message"),
            field: string_property(&answer, "field"),
        }
    }

    /// The relay's code, or `http_<status>` for an answer without one.
    fn relay_code(&self, status: u16) -> String {
        self.code.clone().unwrap_or_else(|| {
            let mut code = String::from("http_");
            consent_core::time::push_digits(&mut code, i64::from(status), 1);
            code
        })
    }
}

/// The body of one request to the relay: `{"records":[...]}` with each entry's record.
fn request_body(entries: &[Entry]) -> String {
    let mut body = String::from("{\"records\":[");
    for (index, entry) in entries.iter().enumerate() {
        if index > 0 {
            body.push(',');
        }
        body.push_str(&entry.record);
    }
    body.push_str("]}");
    body
}

fn ids_array(ids: &[String]) -> JsValue {
    let array: Array = ids.iter().map(|id| JsValue::from_str(id)).collect();
    array.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TAB: &str = "tab-a";

    /// Entries `a`, `b` and `c`, pending, leased by [`TAB`] except `c`, leased by another tab.
    fn leased() -> Vec<Entry> {
        ["a", "b", "c"]
            .iter()
            .map(|id| {
                let mut entry = Entry::new(id, "https://relay.example/v1/consents", "{}", 0.0, 0.0);
                entry.lease_owner = Some(if *id == "c" { "tab-b" } else { TAB }.to_owned());
                entry.lease_until = 50_000.0;
                entry.held = true;
                entry
            })
            .collect()
    }

    fn ids(names: &[&str]) -> Vec<String> {
        names.iter().map(|name| (*name).to_owned()).collect()
    }

    #[test]
    fn delivered_records_are_forgotten_and_nothing_else() {
        let mut entries = leased();
        let change = Change::Delivered(ids(&["a", "c"]));
        assert!(change.ids().is_empty());
        change.apply(TAB, &mut entries);
        let left: Vec<&str> = entries.iter().map(|entry| entry.id.as_str()).collect();
        assert_eq!(left, ["b"]);
    }

    #[test]
    fn waiting_records_are_released_and_due_later_unless_another_tab_took_them() {
        let mut entries = leased();
        Change::Wait {
            ids: ids(&["a", "c"]),
            now: 1_000.0,
            after: Some(4_000),
            jitter: 0.0,
            held: true,
        }
        .apply(TAB, &mut entries);
        let [a, b, c] = &entries[..] else { panic!() };
        assert_eq!((a.attempts, a.next_at, a.held), (1, 5_000.0, true));
        assert_eq!((a.lease_owner.as_deref(), a.lease_until), (None, 0.0));
        assert_eq!((b.attempts, b.lease_owner.as_deref()), (0, Some(TAB)));
        assert_eq!((c.attempts, c.lease_owner.as_deref()), (0, Some("tab-b")));

        // Without a wait of its own, each record backs off by its own attempts, and a relay that
        // answered holds nothing.
        let mut entries = leased();
        entries[1].attempts = 3;
        Change::Wait {
            ids: ids(&["a", "b"]),
            now: 1_000.0,
            after: None,
            jitter: 0.0,
            held: false,
        }
        .apply(TAB, &mut entries);
        assert_eq!(
            entries[0].next_at,
            1_000.0 + policy::backoff_millis(0, 0.0) as f64
        );
        assert_eq!(
            entries[1].next_at,
            1_000.0 + policy::backoff_millis(3, 0.0) as f64
        );
        assert_eq!((entries[1].attempts, entries[1].held), (4, false));
    }

    #[test]
    fn a_refusal_fails_the_record_it_names_and_frees_the_others_at_once() {
        let mut entries = leased();
        let error = StoredError {
            code: "invalid_recipient".to_owned(),
            message: "m".to_owned(),
            status: 422,
        };
        let change = Change::Refused {
            ids: ids(&["a", "b"]),
            index: 1,
            error: error.clone(),
        };
        assert_eq!(change.ids(), ids(&["a", "b"]));
        change.apply(TAB, &mut entries);
        let [a, b, c] = &entries[..] else { panic!() };
        assert_eq!(
            (&a.state, a.held, a.attempts, a.next_at),
            (&State::Pending, false, 0, 0.0)
        );
        assert_eq!(a.lease_owner, None);
        assert_eq!((&b.state, b.error.as_ref()), (&State::Failed, Some(&error)));
        assert_eq!(
            (&c.state, c.lease_owner.as_deref()),
            (&State::Pending, Some("tab-b"))
        );
    }

    #[test]
    fn only_the_newest_refused_records_are_kept() {
        let mut entries: Vec<Entry> = (0..MAX_FAILED_KEPT + 2)
            .map(|index| {
                let mut entry = Entry::new(&index.to_string(), "e", "{}", 0.0, 0.0);
                entry.state = State::Failed;
                entry
            })
            .collect();
        entries.extend(leased());
        Change::Refused {
            ids: ids(&["a"]),
            index: 0,
            error: StoredError::default(),
        }
        .apply(TAB, &mut entries);
        let failed: Vec<&str> = entries
            .iter()
            .filter(|entry| entry.state == State::Failed)
            .map(|entry| entry.id.as_str())
            .collect();
        assert_eq!(failed.len(), MAX_FAILED_KEPT);
        assert_eq!(failed[0], "3", "the oldest three went");
        assert_eq!(*failed.last().unwrap(), "a");
        assert!(entries.iter().any(|entry| entry.id == "b"));
    }
}
