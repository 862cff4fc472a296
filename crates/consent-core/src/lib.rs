//! The rules of commercial-message consent in Turkey, as İYS applies them.
//!
//! This crate is pure: it does no IO, reads no clock (callers pass `now`), logs nothing, and
//! depends on no wasm, HTTP or SQL crate, so the widget and the relay share it.
//!
//! - [`vocabulary`]: channels, recipient types, statuses, sources, in English.
//! - [`phone`], [`email`], [`recipient`]: addresses as people type them, checked with İYS's rules.
//! - [`record`]: the consent record and its evidence; [`contract`]: its v1 wire form.
//! - [`import`]: rows of an existing consent database in İYS's columns, checked.
//! - [`notice`]: the same-day notice of a consent, in Turkish and English.
//! - [`texts`]: the default consent texts, shared by the widget and the relay's register.
//! - [`refusal`]: refusal links: the page's words and what a refusal given there proves.
//! - [`time`]: instants, Turkish civil time and İYS's date format; [`calendar`]: holidays and the
//!   three-business-day deadline.
//! - [`iys`]: İYS's wire format, error catalogue and state rules.

pub mod calendar;
pub mod contract;
pub mod email;
pub mod import;
pub mod iys;
pub mod notice;
pub mod phone;
pub mod recipient;
pub mod record;
pub mod refusal;
pub mod texts;
pub mod time;
pub mod vocabulary;

pub use recipient::{Recipient, RecipientError};
pub use record::{ConsentRecord, RecordError, RecordId};
pub use time::{IysDateTime, Timestamp};
pub use vocabulary::{CaptureSource, Channel, ConsentStatus, Locale, Mode, RecipientType, Source};
