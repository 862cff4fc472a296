//! Errors the widget reports to the page: a JS `Error` with a stable `code`.

use wasm_bindgen::JsValue;

/// A mistake in how the page called the widget: the JS `Error` the page receives, made at once.
// Size: the error is the JS object from the start, one number in Rust. An error of a code and
// a message string made every `?` of the options' reader copy and drop that string (about
// 2 KB of code).
#[derive(Debug)]
pub struct WidgetError(JsValue);

impl WidgetError {
    fn new(code: &str, message: &[&str]) -> WidgetError {
        let error = js_sys::Error::new(&message.concat());
        crate::bindings::set_property(&error, "code", &JsValue::from_str(code));
        WidgetError(error.into())
    }

    /// An option has the wrong type or value.
    pub fn invalid_option(option: &str, expected: &str) -> WidgetError {
        WidgetError::new(
            "invalid_option",
            &["invalid option `", option, "`: expected ", expected],
        )
    }

    /// An option the widget does not know.
    pub fn unknown_option(option: &str) -> WidgetError {
        WidgetError::new("unknown_option", &["unknown option `", option, "`"])
    }

    /// A channel other than `sms`, `call` and `email`.
    pub fn unknown_channel(channel: &str) -> WidgetError {
        let shown: String = channel.chars().take(32).collect();
        WidgetError::new(
            "unknown_channel",
            &[
                "unknown channel `",
                &shown,
                "`: expected \"sms\", \"call\" or \"email\"",
            ],
        )
    }

    /// A selector in the options is not valid CSS or matches nothing.
    pub fn invalid_selector(option: &str, expected: &str) -> WidgetError {
        WidgetError::new(
            "invalid_selector",
            &["invalid option `", option, "`: expected ", expected],
        )
    }

    /// A method of the handle was called with a wrong argument.
    pub fn invalid_argument(method: &str, expected: &str) -> WidgetError {
        WidgetError::new(
            "invalid_argument",
            &["invalid argument to `", method, "`: expected ", expected],
        )
    }

    /// The handle was used after `destroy()`.
    pub fn destroyed() -> WidgetError {
        WidgetError::new("destroyed", &["the widget was destroyed"])
    }

    /// The mount target is not an element or a selector that finds one.
    pub fn invalid_target(expected: &str) -> WidgetError {
        WidgetError::new("invalid_target", &["invalid target: expected ", expected])
    }
}

impl From<WidgetError> for JsValue {
    fn from(error: WidgetError) -> JsValue {
        error.0
    }
}
