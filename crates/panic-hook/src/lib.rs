//! The panic hook Yew's renderer installs, in place of the crates.io package of the same name.
//!
//! In the tests' builds a panic's message and location go to the browser console (without the
//! JavaScript stack trace that package adds).
//! The shipped build aborts at the panic itself, so its hook never runs; there the hook is
//! empty, which keeps Rust's formatting code out of the module (about 1.5 KB brotli).

#![forbid(unsafe_code)]

use std::panic::PanicHookInfo;

#[cfg(not(panic = "immediate-abort"))]
mod console {
    use wasm_bindgen::prelude::wasm_bindgen;

    #[wasm_bindgen]
    extern "C" {
        /// `console.error`.
        #[wasm_bindgen(js_namespace = console)]
        pub fn error(message: &str);
    }
}

/// Writes the panic's message, with where it happened, to the browser console.
pub fn hook(info: &PanicHookInfo<'_>) {
    #[cfg(not(panic = "immediate-abort"))]
    console::error(&info.to_string());
    #[cfg(panic = "immediate-abort")]
    let _ = info;
}
