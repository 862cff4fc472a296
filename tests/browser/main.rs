//! The widget in a real browser: wasm-bindgen-test runs these in headless Chromium.
//!
//! The delivery tests talk to the relay stand-in that `cargo xtask test` starts; its address is
//! read at compile time from `IYS_FAULT_SERVER`.

#![cfg(target_arch = "wasm32")]
#![allow(
    clippy::unwrap_used,
    reason = "a test that meets an unexpected error should fail loudly"
)]
#![allow(unreachable_pub, reason = "test modules share helpers")]

mod delivery;
mod modes;

use js_sys::{JSON, Promise, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Document, Element, HtmlElement, HtmlInputElement};

wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

/// The page's document.
pub fn document() -> Document {
    web_sys::window().unwrap().document().unwrap()
}

/// A fresh, empty element attached to the page body, for one test to mount into.
pub fn fresh_host() -> HtmlElement {
    let host: HtmlElement = document().create_element("div").unwrap().unchecked_into();
    document().body().unwrap().append_child(&host).unwrap();
    host
}

/// Lets Yew render everything it has scheduled.
pub async fn settle() {
    yew::scheduler::flush().await;
}

/// Waits `millis` milliseconds of real time (for network and back-off, never for rendering).
pub async fn pause(millis: i32) {
    let promise = Promise::new(&mut |resolve, _| {
        web_sys::window()
            .unwrap()
            .set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, millis)
            .unwrap();
    });
    JsFuture::from(promise).await.unwrap();
}

/// Options from JSON text.
pub fn options(json: &str) -> JsValue {
    JSON::parse(json).unwrap_or_else(|_| panic!("bad test options {json}"))
}

/// The test page's `localStorage`; an error when the page blocks it.
fn storage() -> Result<web_sys::Storage, JsValue> {
    web_sys::window()
        .unwrap()
        .local_storage()?
        .ok_or_else(|| JsValue::from_str("this page has no localStorage"))
}

/// The `localStorage` keys that start with `prefix`.
pub fn storage_keys(prefix: &str) -> Vec<String> {
    let storage = storage().unwrap();
    (0..storage.length().unwrap())
        .filter_map(|index| storage.key(index).unwrap())
        .filter(|key| key.starts_with(prefix))
        .collect()
}

/// `localStorage.getItem`; an error when the page blocks storage.
pub fn storage_read(key: &str) -> Result<Option<String>, JsValue> {
    storage()?.get_item(key)
}

/// A property of a JS value.
pub fn prop(value: &JsValue, key: &str) -> JsValue {
    Reflect::get(value, &key.into()).unwrap()
}

/// The element `selector` finds inside `root`.
pub fn find(root: &Element, selector: &str) -> Element {
    root.query_selector(selector)
        .unwrap()
        .unwrap_or_else(|| panic!("nothing matches {selector}"))
}

/// The checkbox of `channel` inside `root`.
pub fn checkbox(root: &Element, channel: &str) -> HtmlInputElement {
    find(
        root,
        &format!("[data-channel={channel}] input[type=checkbox]"),
    )
    .unchecked_into()
}

/// Types `value` into `input` as a person would: sets it and fires `input`.
pub fn type_into(input: &HtmlInputElement, value: &str) {
    input.set_value(value);
    let event = web_sys::Event::new("input").unwrap();
    input.dispatch_event(&event).unwrap();
}

/// Everything `widget.on(name, ...)` sees, collected in a JS array.
pub fn collect(widget: &iys_consent::ConsentWidget, name: &str) -> js_sys::Array {
    let seen = js_sys::Array::new();
    let sink = seen.clone();
    let callback = wasm_bindgen::closure::Closure::wrap(Box::new(move |detail: JsValue| {
        sink.push(&detail);
    }) as Box<dyn FnMut(JsValue)>);
    widget
        .on(
            name,
            callback
                .as_ref()
                .unchecked_ref::<js_sys::Function>()
                .clone(),
        )
        .unwrap();
    callback.forget();
    seen
}
