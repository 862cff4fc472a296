//! iys-consent: the marketing-consent widget for Turkish shops, compiled to WebAssembly.
//!
//! `mount(target, options)` renders one unticked box per channel into the page and returns a
//! handle; see the package README for the options and events.

pub mod components;
pub mod error;
pub mod options;
pub mod state;
pub mod texts;

use std::cell::Cell;
use std::rc::Rc;

use js_sys::{Object, Reflect};
use wasm_bindgen::prelude::*;
use web_sys::Element;
use yew::AppHandle;

use crate::components::consent_form::{ConsentForm, ConsentFormProps, StateMirror};
use crate::error::WidgetError;
use crate::options::Options;

thread_local! {
    static MOUNTED: Cell<u32> = const { Cell::new(0) };
}

/// A mounted widget.
#[wasm_bindgen]
#[derive(Debug)]
pub struct ConsentWidget {
    app: Option<AppHandle<ConsentForm>>,
    container: Element,
    mirror: StateMirror,
}

#[wasm_bindgen]
impl ConsentWidget {
    /// The boxes as the person has left them: `{ sms: false, email: true, ... }`.
    pub fn state(&self) -> JsValue {
        let object = Object::new();
        for &(channel, ticked) in self.mirror.get().channels() {
            // Setting a property on a fresh plain object cannot fail.
            let _ = Reflect::set(&object, &channel.as_str().into(), &ticked.into());
        }
        object.into()
    }

    /// Removes everything the widget added to the page. Calling it again does nothing.
    pub fn destroy(&mut self) {
        if let Some(app) = self.app.take() {
            app.destroy();
            self.container.remove();
        }
    }
}

/// Renders the widget into `target` (an element or a CSS selector) with `options`.
///
/// Throws an `Error` with a stable `code` (`invalid_target`, `invalid_option`, `unknown_option`,
/// `unknown_channel`) when the arguments are wrong.
#[wasm_bindgen]
pub fn mount(target: JsValue, options: JsValue) -> Result<ConsentWidget, JsValue> {
    let options = Options::from_js(&options)?;
    let target = resolve_target(&target)?;
    let document = target
        .owner_document()
        .ok_or_else(|| WidgetError::invalid_target("an element inside a document"))?;
    let container = document.create_element("div")?;
    container.set_class_name("iys-consent-root");
    target.append_child(&container)?;
    let number = MOUNTED.with(|mounted| {
        let next = mounted.get() + 1;
        mounted.set(next);
        next
    });
    let mirror = StateMirror::default();
    let props = ConsentFormProps {
        options: Rc::new(options),
        id_prefix: format!("iys-consent-{number}").into(),
        mirror: mirror.clone(),
    };
    let app = yew::Renderer::<ConsentForm>::with_root_and_props(container.clone(), props).render();
    Ok(ConsentWidget {
        app: Some(app),
        container,
        mirror,
    })
}

fn resolve_target(target: &JsValue) -> Result<Element, WidgetError> {
    if let Some(element) = target.dyn_ref::<Element>() {
        return Ok(element.clone());
    }
    let expected = "an element or a CSS selector that matches one";
    let selector = target
        .as_string()
        .ok_or_else(|| WidgetError::invalid_target(expected))?;
    let document = web_sys::window()
        .and_then(|window| window.document())
        .ok_or_else(|| WidgetError::invalid_target("a page with a document"))?;
    document
        .query_selector(&selector)
        .map_err(|_| WidgetError::invalid_target("a valid CSS selector"))?
        .ok_or_else(|| WidgetError::invalid_target(expected))
}
