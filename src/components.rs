//! The widget's Yew components, one per file.

pub mod channel_box;
pub mod consent_form;
pub mod element;
pub mod status_line;
