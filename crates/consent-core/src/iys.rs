//! Everything that speaks İYS: its wire format, its error catalogue and its state rules.
//!
//! This is the only module where İYS's Turkish values (`MESAJ`, `ONAY`, `BIREYSEL`, `HS_WEB`, ...)
//! appear.

pub mod errors;
pub mod state;
pub mod wire;

pub use errors::{Disposition, IysErrorInfo};
pub use state::{Decision, HeldConsent};
pub use wire::{IysConsent, MovementError};
