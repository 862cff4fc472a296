//! iys-relay: the shop's backend half of iys-consent.
//!
//! It receives consent records from the widget (`POST /v1/consents`), re-validates them with
//! `consent-core`, keeps them sealed in SQLite or Postgres with a hash-chained ledger, serves the
//! preference centre's state, records refusals given through links (`/v1/refusals/{token}`), and
//! exports the proof.

pub mod api;
pub mod cli;
pub mod clock;
pub mod config;
pub mod crypto;
pub mod error;
pub mod export;
pub mod forwarder;
pub mod import;
pub mod notice;
pub mod protect;
pub mod refusal;
pub mod sandbox;
pub mod server;
pub mod store;
pub mod token;
pub mod writer;

pub use api::{AppState, app};
pub use config::Config;
pub use store::Store;
