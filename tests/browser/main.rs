//! The widget in a real browser: wasm-bindgen-test runs these in headless Chromium.

#![cfg(target_arch = "wasm32")]
#![allow(
    clippy::unwrap_used,
    reason = "a test that meets an unexpected error should fail loudly"
)]

mod mount;

use wasm_bindgen::JsCast;
use web_sys::{Document, HtmlElement};

wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

/// The page's document.
pub(crate) fn document() -> Document {
    web_sys::window().unwrap().document().unwrap()
}

/// A fresh, empty element attached to the page body, for one test to mount into.
pub(crate) fn fresh_host() -> HtmlElement {
    let host: HtmlElement = document().create_element("div").unwrap().unchecked_into();
    document().body().unwrap().append_child(&host).unwrap();
    host
}

/// Lets Yew render everything it has scheduled.
pub(crate) async fn settle() {
    yew::scheduler::flush().await;
}
