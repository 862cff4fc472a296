//! One record in the outbox as it is stored in `localStorage`: its type, its one reader and its
//! one writer.
//!
//! The stored format is read back by later page loads, possibly of a later version of the
//! widget, so it changes only by adding members:
//!
//! ```json
//! {"id":"0193…","endpoint":"https://shop.example/v1/consents","record":{…},
//!  "state":"pending","attempts":0,"nextAt":1733478000123,"leaseOwner":"9f3c…",
//!  "leaseUntil":1733478035123,"consentedAt":1733478000123,"held":false,
//!  "error":{"code":"invalid_record","message":"…","status":422}}
//! ```
//!
//! - `record` is the record exactly as it is sent to the relay, kept as written.
//! - `held`, `error` and `leaseOwner` may be missing; a missing or unreadable number reads as 0
//!   (due at once), so that a record is never lost to a damaged member. An entry without a
//!   `state` is neither sent nor removed.
//! - Members this version does not know are kept as written and written back, so an older
//!   page never strips what a newer one stored.
//! - An entry without a string `id` and an object `record` cannot be sent: it does not read,
//!   and it is left in storage untouched.

use crate::json;

/// Where a record stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    /// Waiting to be delivered, or being delivered.
    Pending,
    /// Refused by the relay for good, kept for the page to inspect.
    Failed,
    /// A state this version does not know, kept as written; the record is left alone.
    Other(String),
}

/// Why the relay refused a record, as kept with a failed one.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StoredError {
    /// The relay's code, or `http_<status>` for an answer without one.
    pub code: String,
    /// The relay's message.
    pub message: String,
    /// The HTTP status.
    pub status: u16,
}

/// One record in the outbox.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// The record's id, also the end of its storage key.
    pub id: String,
    /// The relay it is for.
    pub endpoint: String,
    /// The record as JSON text, sent as it is.
    pub record: String,
    /// Where it stands.
    pub state: State,
    /// How many answers it has had that kept it.
    pub attempts: u32,
    /// When it is due next, in Unix milliseconds.
    pub next_at: f64,
    /// Whether an answer that says the setup is wrong holds it, so that the next page load
    /// sends it at once.
    pub held: bool,
    /// The tab that leased it.
    pub lease_owner: Option<String>,
    /// Until when the lease holds, in Unix milliseconds.
    pub lease_until: f64,
    /// When the person decided, in Unix milliseconds.
    pub consented_at: f64,
    /// Why the relay refused it, when it did.
    pub error: Option<StoredError>,
    /// Members this version does not know, as key and raw value.
    pub unknown: Vec<(String, String)>,
}

impl Entry {
    /// A fresh pending entry for `record` (JSON text) with `id`, decided at `consented_at`.
    pub fn new(id: &str, endpoint: &str, record: &str, consented_at: f64, now: f64) -> Entry {
        Entry {
            id: id.to_owned(),
            endpoint: endpoint.to_owned(),
            record: record.to_owned(),
            state: State::Pending,
            attempts: 0,
            next_at: now,
            held: false,
            lease_owner: None,
            lease_until: 0.0,
            consented_at,
            error: None,
            unknown: Vec::new(),
        }
    }

    /// Reads an entry as stored; `None` when it is not one (see the module's documentation).
    pub fn parse(text: &str) -> Option<Entry> {
        let mut id = None;
        let mut record = None;
        let mut entry = Entry::new("", "", "", 0.0, 0.0);
        // An entry without a state is not one this widget wrote: it is left alone, as before.
        entry.state = State::Other("null".to_owned());
        // A number that is not finite would never fall due.
        let number = |raw: &str| {
            json::number(raw)
                .filter(|value| value.is_finite())
                .unwrap_or(0.0)
        };
        for (key, raw) in json::members(text)? {
            match key.as_str() {
                "id" => id = json::string(raw),
                "record" => record = json::is_object(raw).then(|| raw.to_owned()),
                "endpoint" => entry.endpoint = json::string(raw).unwrap_or_default(),
                "state" => {
                    entry.state = match json::string(raw).as_deref() {
                        Some("pending") => State::Pending,
                        Some("failed") => State::Failed,
                        _ => State::Other(raw.to_owned()),
                    }
                }
                // `as` saturates: a damaged count reads as 0 or the largest.
                "attempts" => entry.attempts = number(raw) as u32,
                "nextAt" => entry.next_at = number(raw),
                "held" => entry.held = raw == "true",
                "leaseOwner" => entry.lease_owner = json::string(raw),
                "leaseUntil" => entry.lease_until = number(raw),
                "consentedAt" => entry.consented_at = number(raw),
                "error" => entry.error = StoredError::parse(raw),
                _ => {
                    entry.unknown.retain(|(known, _)| *known != key);
                    entry.unknown.push((key, raw.to_owned()));
                }
            }
        }
        entry.id = id?;
        entry.record = record?;
        Some(entry)
    }

    /// The entry as stored.
    pub fn to_json(&self) -> String {
        let mut out = String::with_capacity(self.record.len() + 256);
        out.push_str("{\"id\":");
        json::push_string(&mut out, &self.id);
        out.push_str(",\"endpoint\":");
        json::push_string(&mut out, &self.endpoint);
        out.push_str(",\"record\":");
        out.push_str(&self.record);
        out.push_str(",\"state\":");
        match &self.state {
            State::Pending => out.push_str("\"pending\""),
            State::Failed => out.push_str("\"failed\""),
            State::Other(raw) => out.push_str(raw),
        }
        out.push_str(",\"attempts\":");
        json::push_number(&mut out, f64::from(self.attempts));
        out.push_str(",\"nextAt\":");
        json::push_number(&mut out, self.next_at);
        out.push_str(",\"held\":");
        out.push_str(if self.held { "true" } else { "false" });
        out.push_str(",\"leaseOwner\":");
        match &self.lease_owner {
            Some(owner) => json::push_string(&mut out, owner),
            None => out.push_str("null"),
        }
        out.push_str(",\"leaseUntil\":");
        json::push_number(&mut out, self.lease_until);
        out.push_str(",\"consentedAt\":");
        json::push_number(&mut out, self.consented_at);
        if let Some(error) = &self.error {
            out.push_str(",\"error\":{\"code\":");
            json::push_string(&mut out, &error.code);
            out.push_str(",\"message\":");
            json::push_string(&mut out, &error.message);
            out.push_str(",\"status\":");
            json::push_number(&mut out, f64::from(error.status));
            out.push('}');
        }
        for (key, raw) in &self.unknown {
            out.push(',');
            json::push_string(&mut out, key);
            out.push(':');
            out.push_str(raw);
        }
        out.push('}');
        out
    }

    /// Whether it waits to be delivered to `endpoint`.
    pub fn is_pending_for(&self, endpoint: &str) -> bool {
        self.state == State::Pending && self.endpoint == endpoint
    }

    /// Whether `tab` holds its lease (an expired lease still names its tab).
    pub fn is_leased_by(&self, tab: &str) -> bool {
        self.lease_owner.as_deref() == Some(tab)
    }

    /// Gives its lease up.
    pub fn release(&mut self) {
        self.lease_owner = None;
        self.lease_until = 0.0;
    }
}

impl StoredError {
    /// Reads a stored error; `None` unless `raw` is an object.
    fn parse(raw: &str) -> Option<StoredError> {
        let mut error = StoredError::default();
        for (key, raw) in json::members(raw)? {
            match key.as_str() {
                "code" => error.code = json::string(raw).unwrap_or_default(),
                "message" => error.message = json::string(raw).unwrap_or_default(),
                "status" => error.status = json::number(raw).unwrap_or(0.0) as u16,
                _ => {}
            }
        }
        Some(error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RECORD: &str = r#"{"id":"0193a1b2-0000-7000-8000-000000000001","channel":"email","status":"granted","recipient":"ali@example.com","evidence":{"text":"Kabul {ediyorum} \"tırnak\"","locale":"tr"}}"#;

    #[test]
    fn reads_an_entry_as_the_widget_stored_it_through_json_stringify() {
        // The members in the order and form the widget wrote them before entries were typed:
        // built as text, then rewritten by `JSON.stringify` after a failed answer.
        let stored = format!(
            r#"{{"id":"0193a1b2-0000-7000-8000-000000000001","endpoint":"https://shop.example/v1/consents","record":{RECORD},"state":"failed","attempts":3,"nextAt":1733478000123,"leaseOwner":null,"leaseUntil":0,"consentedAt":1733477999000,"held":false,"error":{{"code":"invalid_recipient","message":"the address does not read","status":422}}}}"#
        );
        let entry = Entry::parse(&stored).unwrap();
        assert_eq!(entry.id, "0193a1b2-0000-7000-8000-000000000001");
        assert_eq!(entry.endpoint, "https://shop.example/v1/consents");
        assert_eq!(entry.record, RECORD);
        assert_eq!(entry.state, State::Failed);
        assert_eq!(entry.attempts, 3);
        assert_eq!(entry.next_at, 1_733_478_000_123.0);
        assert_eq!(entry.lease_owner, None);
        assert_eq!(entry.consented_at, 1_733_477_999_000.0);
        assert_eq!(
            entry.error,
            Some(StoredError {
                code: "invalid_recipient".into(),
                message: "the address does not read".into(),
                status: 422,
            })
        );
        assert!(entry.unknown.is_empty());
    }

    #[test]
    fn reads_the_first_form_written_at_enqueue() {
        let stored = format!(
            r#"{{"id":"a","endpoint":"/v1/consents","record":{RECORD},"state":"pending","attempts":0,"nextAt":5,"leaseOwner":"9f3c","leaseUntil":35005,"consentedAt":4}}"#
        );
        let entry = Entry::parse(&stored).unwrap();
        assert!(entry.is_pending_for("/v1/consents"));
        assert!(entry.is_leased_by("9f3c"));
        assert!(!entry.held);
        assert_eq!(entry.error, None);
        assert_eq!(entry.lease_until, 35_005.0);
    }

    #[test]
    fn writes_what_it_reads_and_keeps_members_it_does_not_know() {
        let stored = format!(
            r#"{{ "priority" : [1,2], "id":"a","record":{RECORD},"state":"sent","held":true,"leaseOwner":"t","nextAt":7}}"#
        );
        let entry = Entry::parse(&stored).unwrap();
        assert_eq!(entry.state, State::Other("\"sent\"".into()));
        assert_eq!(entry.unknown, [("priority".to_owned(), "[1,2]".to_owned())]);
        let written = entry.to_json();
        assert_eq!(Entry::parse(&written).unwrap(), entry);
        let value: serde_json::Value = serde_json::from_str(&written).unwrap();
        assert_eq!(value["priority"], serde_json::json!([1, 2]));
        assert_eq!(value["state"], "sent");
        assert_eq!(
            value["record"]["evidence"]["text"],
            "Kabul {ediyorum} \"tırnak\""
        );
    }

    #[test]
    fn a_damaged_member_keeps_the_record() {
        let stored = format!(
            r#"{{"id":"a","record":{RECORD},"attempts":"three","nextAt":null,"leaseUntil":{{}},"error":7}}"#
        );
        let entry = Entry::parse(&stored).unwrap();
        assert_eq!(entry.attempts, 0);
        assert_eq!(entry.next_at, 0.0);
        assert_eq!(entry.lease_until, 0.0);
        assert_eq!(entry.error, None);
        assert_eq!(entry.endpoint, "");
        assert_eq!(entry.record, RECORD);
    }

    #[test]
    fn an_entry_without_a_state_is_left_alone() {
        let entry =
            Entry::parse(&format!(r#"{{"id":"a","endpoint":"e","record":{RECORD}}}"#)).unwrap();
        assert!(!entry.is_pending_for("e"));
        assert_eq!(Entry::parse(&entry.to_json()).unwrap(), entry);
    }

    #[test]
    fn numbers_beyond_an_f64_read_as_0() {
        let entry = Entry::parse(&format!(
            r#"{{"id":"a","record":{RECORD},"nextAt":0e999,"leaseUntil":{}e-400,"consentedAt":1e999}}"#,
            "9".repeat(400)
        ))
        .unwrap();
        assert_eq!(entry.next_at, 0.0);
        assert_eq!(entry.lease_until, 0.0);
        assert_eq!(entry.consented_at, 0.0);
    }

    #[test]
    fn an_entry_without_an_id_or_a_record_does_not_read() {
        for stored in [
            format!(r#"{{"record":{RECORD}}}"#),
            format!(r#"{{"id":7,"record":{RECORD}}}"#),
            r#"{"id":"a"}"#.to_owned(),
            r#"{"id":"a","record":"{}"}"#.to_owned(),
            format!(r#"{{"id":"a","record":{RECORD}"#),
            "null".to_owned(),
        ] {
            assert_eq!(Entry::parse(&stored), None, "{stored}");
        }
    }

    #[test]
    fn a_new_entry_round_trips() {
        let mut entry = Entry::new("a\"b", "/v1/consents", RECORD, 4.0, 5.0);
        entry.lease_owner = Some("tab".into());
        entry.lease_until = 9.0;
        entry.error = Some(StoredError {
            code: "invalid_record".into(),
            message: "é\n".into(),
            status: 422,
        });
        assert_eq!(Entry::parse(&entry.to_json()).unwrap(), entry);
        entry.release();
        assert!(!entry.is_leased_by("tab"));
        assert_eq!(entry.lease_until, 0.0);
    }
}
