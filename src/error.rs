//! Errors the widget reports to the page: a JS `Error` with a stable `code`.

use core::fmt;

use js_sys::Reflect;
use wasm_bindgen::JsValue;

/// A mistake in how the page called the widget.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WidgetError {
    code: &'static str,
    message: String,
}

impl WidgetError {
    /// An option has the wrong type or value.
    pub fn invalid_option(option: &str, expected: &str) -> WidgetError {
        WidgetError {
            code: "invalid_option",
            message: format!("invalid option `{option}`: expected {expected}"),
        }
    }

    /// An option the widget does not know.
    pub fn unknown_option(option: &str) -> WidgetError {
        WidgetError {
            code: "unknown_option",
            message: format!("unknown option `{option}`"),
        }
    }

    /// A channel other than `sms`, `call` and `email`.
    pub fn unknown_channel(channel: &str) -> WidgetError {
        let shown: String = channel.chars().take(32).collect();
        WidgetError {
            code: "unknown_channel",
            message: format!("unknown channel `{shown}`: expected \"sms\", \"call\" or \"email\""),
        }
    }

    /// A selector in the options is not valid CSS or matches nothing.
    pub fn invalid_selector(option: &str, expected: &str) -> WidgetError {
        WidgetError {
            code: "invalid_selector",
            message: format!("invalid option `{option}`: expected {expected}"),
        }
    }

    /// A method of the handle was called with a wrong argument.
    pub fn invalid_argument(method: &str, expected: &str) -> WidgetError {
        WidgetError {
            code: "invalid_argument",
            message: format!("invalid argument to `{method}`: expected {expected}"),
        }
    }

    /// The handle was used after `destroy()`.
    pub fn destroyed() -> WidgetError {
        WidgetError {
            code: "destroyed",
            message: "the widget was destroyed".to_owned(),
        }
    }

    /// The mount target is not an element or a selector that finds one.
    pub fn invalid_target(expected: &str) -> WidgetError {
        WidgetError {
            code: "invalid_target",
            message: format!("invalid target: expected {expected}"),
        }
    }

    /// The stable code.
    pub fn code(&self) -> &'static str {
        self.code
    }
}

impl fmt::Display for WidgetError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.message)
    }
}

impl From<WidgetError> for JsValue {
    fn from(error: WidgetError) -> JsValue {
        let js_error = js_sys::Error::new(&error.message);
        // Setting a property on a fresh Error object cannot fail.
        let _ = Reflect::set(&js_error, &"code".into(), &error.code.into());
        js_error.into()
    }
}
