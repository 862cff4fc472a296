//! The widget's Yew components, one per file.

pub mod consent_form;
