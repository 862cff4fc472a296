//! The widget's events: a bubbling `CustomEvent` on its root element, and the same event to the
//! callbacks registered with `on(...)`.
//!
//! | event | detail |
//! |---|---|
//! | `iys:change` | `{ channel, checked }`: a box was ticked or unticked |
//! | `iys:submit` | `{ records: [{ id, channel, status }] }`: decisions were recorded and queued |
//! | `iys:queued` | `{ ids, persisted, retryInMs }`: kept for a later try (offline, relay busy), or could not be kept on this device |
//! | `iys:sent` | `{ receipts: [{ id, outcome, consentDate, receipt, late }] }`: the relay stored them |
//! | `iys:error` | `{ code, message, field?, relayCode?, ids?, status?, retryInMs? }`: something needs the page's attention (`delivery_failed`: the relay refused a record for good; `delivery_held`: the setup is wrong and the records wait) |

use std::cell::RefCell;

use js_sys::{Function, Object};
use wasm_bindgen::JsValue;
use web_sys::Element;

use crate::bindings;

/// The widget's events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// `iys:change`: a box was ticked or unticked.
    Change,
    /// `iys:submit`: decisions were recorded and queued.
    Submit,
    /// `iys:queued`: kept for a later try.
    Queued,
    /// `iys:sent`: the relay stored them.
    Sent,
    /// `iys:error`: something needs the page's attention.
    Error,
}

/// The events' names, in the order of [`Event`].
pub const NAMES: [&str; 5] = [
    "iys:change",
    "iys:submit",
    "iys:queued",
    "iys:sent",
    "iys:error",
];

/// Every event, in the order of [`NAMES`].
const ALL: [Event; 5] = [
    Event::Change,
    Event::Submit,
    Event::Queued,
    Event::Sent,
    Event::Error,
];

impl Event {
    /// The event named `name`.
    pub fn named(name: &str) -> Option<Event> {
        NAMES
            .iter()
            .position(|known| *known == name)
            .map(|index| ALL[index])
    }

    /// The event's name.
    pub fn name(self) -> &'static str {
        NAMES[self as usize]
    }
}

/// Where events go.
// Size: the page's callbacks are kept by the bindings' JavaScript with the root element they
// were registered on, so that calling them is part of dispatching, and registering one is a
// call.
#[derive(Debug, Default)]
pub struct Events {
    root: RefCell<Option<Element>>,
}

impl Events {
    /// Events will be dispatched on `root`.
    pub fn attach(&self, root: Element) {
        *self.root.borrow_mut() = Some(root);
    }

    /// Stops dispatching on the root and forgets every callback.
    pub fn detach(&self) {
        if let Some(root) = self.root.borrow_mut().take() {
            bindings::forget_callbacks(&root);
        }
    }

    /// Registers `callback` for `event`.
    pub fn on(&self, event: Event, callback: &Function) {
        if let Some(root) = self.root.borrow().as_ref() {
            bindings::add_callback(root, event.name(), callback);
        }
    }

    /// Removes `callback` for `event`.
    pub fn off(&self, event: Event, callback: &Function) {
        if let Some(root) = self.root.borrow().as_ref() {
            bindings::remove_callback(root, event.name(), callback);
        }
    }

    /// Dispatches `event` with `detail` on the root, then calls the callbacks registered for it.
    pub fn emit(&self, event: Event, detail: &JsValue) {
        // The root is taken out of the cell first: a page's listener may destroy the widget.
        let root = self.root.borrow().clone();
        if let Some(root) = root {
            bindings::dispatch(&root, event.name(), detail);
        }
    }
}

/// A plain object from key-value pairs.
pub fn object(pairs: &[(&str, JsValue)]) -> JsValue {
    let object = Object::new();
    for (key, value) in pairs {
        bindings::set_property(&object, key, value);
    }
    object.into()
}
