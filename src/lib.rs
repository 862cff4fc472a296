//! iys-consent: the marketing-consent widget for Turkish shops, compiled to WebAssembly.
//!
//! `mount(target, options)` renders one unticked box per channel, records each decision with
//! the exact text shown, keeps it in the browser until the shop's relay has stored it, and
//! returns a handle. The package README documents every option, method and event.

pub mod bindings;
pub mod components;
pub mod entry;
pub mod error;
pub mod events;
pub mod json;
pub mod options;
pub mod outbox;
pub mod policy;
pub mod record;
pub mod state;
pub mod texts;
pub mod widget;

use std::cell::Cell;
use std::rc::Rc;

use consent_core::{Locale, Mode};
use js_sys::{Array, Function, Object, Promise};
use wasm_bindgen::prelude::*;
use web_sys::Element;
use yew::AppHandle;

use crate::components::consent_form::{ConsentForm, ConsentFormProps, WidgetRef};
use crate::error::WidgetError;
use crate::events::{Event, NAMES};
use crate::options::Options;
use crate::widget::{Reaction, Widget};

#[wasm_bindgen(typescript_custom_section)]
const TYPESCRIPT: &str = r#"
/** A channel of commercial messages; each has its own box and its own consent. */
export type Channel = 'sms' | 'call' | 'email';
/** How the widget is embedded. */
export type Mode = 'checkout' | 'newsletter' | 'preferences' | 'headless';
/** The language of every text. */
export type Locale = 'tr' | 'en';
/** A person's decision for one channel. */
export type Status = 'granted' | 'rejected';

/** The shop's own consent texts, replacing the defaults; `textVersion` is required with them. */
export interface ConsentTexts {
  sms?: string;
  call?: string;
  email?: string;
  textVersion?: string;
}

/** Everything `mount` accepts. Unknown keys are refused. */
export interface MountOptions {
  /** The relay's `/v1/consents` URL (http, https or relative). */
  endpoint: string;
  /** The brand named in every consent text. */
  brand: string;
  /** `checkout` (default), `newsletter`, `preferences` or `headless`. */
  mode?: Mode;
  /** The boxes shown, in this order; all three by default. */
  channels?: Channel[];
  /** `tr` (default) or `en`. */
  locale?: Locale;
  texts?: ConsentTexts;
  /** The KVKK privacy notice, shown as a separate link. */
  privacyNoticeUrl?: string;
  /** `individual` (default) or `merchant`. */
  recipientType?: 'individual' | 'merchant';
  /** `web` (default), or `mobile` inside an app's web view. */
  source?: 'web' | 'mobile';
  /** The shop's name for the form, kept as evidence; the mode by default. */
  formId?: string;
  /** Extra request headers, such as a CSRF token. */
  headers?: Record<string, string>;
  /** Checkout: a selector of the shop's form, when the widget is not inside it. */
  form?: string;
  /** Checkout: a selector of the shop's phone input (needed for sms and call). */
  phoneInput?: string;
  /** Checkout: a selector of the shop's e-mail input (needed for email). */
  emailInput?: string;
  /** Checkout: a selector of the shop's input of the person's name and surname, recorded with each decision. */
  nameInput?: string;
  /** Newsletter: show a field for the person's name and surname, recorded with each decision. */
  nameField?: boolean;
  /** Checkout and newsletter: let the person say whether they receive the messages as an individual or as a merchant; `recipientType` is chosen at first. */
  recipientTypeChoice?: boolean;
  /** Preferences: the token the shop's backend signed for this customer. */
  stateToken?: string;
  /** Preferences: the customer's phone number. */
  phone?: string;
  /** Preferences: the customer's e-mail address. */
  email?: string;
  /** How long a request may take before it is retried, 1000 to 60000 ms; 10000 by default. */
  timeoutMs?: number;
}

/** The relay's receipt for one record. */
export interface Receipt {
  id: string;
  outcome: 'stored' | 'duplicate';
  /** The date İYS is given, `YYYY-MM-DD HH:mm:ss` in Turkish time. */
  consentDate: string;
  /** The record's ledger hash. */
  receipt: string;
  /** Whether the record reached the relay after İYS's three-business-day window. */
  late: boolean;
}

export interface RecordedDecision {
  id: string;
  channel: Channel;
  status: Status;
  /** As chosen with `recipientTypeChoice`, or the `recipientType` option. */
  recipientType: 'individual' | 'merchant';
}

/** What `submit()` and `record()` resolve to. */
export interface RecordResult {
  /** `sent`: stored by the relay; `queued`: kept on the device for a later try; `failed`: refused for good; `nothing`: nothing to record. */
  status: 'sent' | 'queued' | 'failed' | 'nothing';
  records: RecordedDecision[];
  receipts: Receipt[];
  queued: string[];
  failed: string[];
  /** Ticked boxes whose address did not fit, with the reason code. */
  invalid: { channel: Channel; reason: string }[];
}

/** One decision for `record()`: `text` is the exact text the page showed, `name` the person's name and surname. */
export interface Decision {
  channel: Channel;
  status: Status;
  recipient: string;
  text?: string;
  name?: string;
}

export interface WidgetState {
  mode: Mode;
  locale: Locale;
  status: 'idle' | 'loading' | 'state_unavailable' | 'recording' | 'recorded' | 'queued' | 'failed' | 'nothing_ticked';
  channels: Partial<Record<Channel, boolean>>;
  /** Records still waiting to be delivered. */
  pending: number;
  /** Records the relay refused for good. */
  failed: { id: string; error: { code: string; message: string; status: number } }[];
}

export interface ChangeDetail { channel: Channel; checked: boolean }
export interface SubmitDetail { records: RecordedDecision[] }
export interface QueuedDetail { ids: string[]; persisted: boolean; retryInMs: number; status: number }
export interface SentDetail { receipts: Receipt[] }
export interface ErrorDetail {
  code: 'invalid_recipient' | 'not_persisted' | 'delivery_failed' | 'delivery_held' | 'state_unavailable';
  message: string;
  reason?: string;
  channel?: Channel;
  relayCode?: string;
  field?: string;
  ids?: string[];
  status?: number;
  /** For `delivery_held`: when the records are tried again, unless a page load comes first. */
  retryInMs?: number;
}

/** The detail of each event, dispatched on the widget's root (bubbling) and to `on(...)`. */
export interface EventDetails {
  'iys:change': ChangeDetail;
  'iys:submit': SubmitDetail;
  'iys:queued': QueuedDetail;
  'iys:sent': SentDetail;
  'iys:error': ErrorDetail;
}
export type EventName = keyof EventDetails;

/** What `mount` and the handle's methods throw. */
export interface WidgetError extends Error {
  code: 'invalid_target' | 'invalid_option' | 'unknown_option' | 'unknown_channel' | 'invalid_selector' | 'invalid_argument' | 'destroyed';
}

export interface ConsentWidget {
  /** Calls `callback` with each `name` event's detail. */
  on<K extends EventName>(name: K, callback: (detail: EventDetails[K]) => void): void;
  /** Stops calling `callback` for `name`. */
  off<K extends EventName>(name: K, callback: (detail: EventDetails[K]) => void): void;
}
"#;

thread_local! {
    static MOUNTED: Cell<u32> = const { Cell::new(0) };
}

/// A mounted widget.
#[wasm_bindgen]
#[derive(Debug)]
pub struct ConsentWidget {
    widget: Option<Rc<Widget>>,
    app: Option<AppHandle<ConsentForm>>,
    container: Element,
}

impl ConsentWidget {
    fn live(&self) -> Result<&Rc<Widget>, JsValue> {
        self.widget
            .as_ref()
            .ok_or_else(|| WidgetError::destroyed().into())
    }
}

#[wasm_bindgen]
impl ConsentWidget {
    /// The boxes and where recording is: `{ mode, locale, status, channels: { sms: false, ... },
    /// pending, failed }`.
    #[wasm_bindgen(unchecked_return_type = "WidgetState")]
    pub fn state(&self) -> Result<JsValue, JsValue> {
        let widget = self.live()?;
        let state = widget.state();
        let channels = Object::new();
        for item in &state.boxes {
            bindings::set_property(&channels, item.channel.as_str(), &item.ticked.into());
        }
        Ok(events::object(&[
            ("mode", widget.options.mode.as_str().into()),
            ("locale", state.locale.as_str().into()),
            ("status", state.status.as_str().into()),
            ("channels", channels.into()),
            ("pending", (widget.pending() as f64).into()),
            ("failed", widget.failed().into()),
        ]))
    }

    /// Records every ticked box; resolves to `{ status, records, receipts, queued, failed,
    /// invalid }` where `status` is `sent`, `queued`, `failed` or `nothing`.
    #[wasm_bindgen(unchecked_return_type = "Promise<RecordResult>")]
    pub fn submit(&self) -> Result<Promise, JsValue> {
        Ok(self.live()?.submit())
    }

    /// Records decisions the page took itself (headless mode, or any mode):
    /// `[{ channel, status, recipient, text?, name? }]`, `text` being the exact text the page
    /// showed and `name` the person's name and surname.
    #[wasm_bindgen(unchecked_return_type = "Promise<RecordResult>")]
    pub fn record(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Decision[]")] decisions: JsValue,
    ) -> Result<Promise, JsValue> {
        self.live()?.record_items(&decisions)
    }

    /// Calls `callback(detail)` for each `name` event (`iys:change`, `iys:submit`, `iys:queued`,
    /// `iys:sent`, `iys:error`).
    #[wasm_bindgen(skip_typescript)]
    pub fn on(&self, name: &str, callback: Function) -> Result<(), JsValue> {
        let event = check_event(name)?;
        self.live()?.events.on(event, &callback);
        Ok(())
    }

    /// Stops calling `callback` for `name`.
    #[wasm_bindgen(skip_typescript)]
    pub fn off(&self, name: &str, callback: Function) -> Result<(), JsValue> {
        let event = check_event(name)?;
        self.live()?.events.off(event, &callback);
        Ok(())
    }

    /// Switches every text to `tr` or `en`.
    #[wasm_bindgen(js_name = setLocale)]
    pub fn set_locale(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Locale")] locale: &str,
    ) -> Result<(), JsValue> {
        let locale: Locale = locale
            .parse()
            .map_err(|_| WidgetError::invalid_argument("setLocale", "\"tr\" or \"en\""))?;
        self.live()?.set_locale(locale);
        Ok(())
    }

    /// The element the widget rendered into, for styling or tests.
    pub fn root(&self) -> Element {
        self.container.clone()
    }

    /// Removes every listener and DOM node the widget added. Records not yet delivered stay
    /// in the browser for the next page load. Calling it again does nothing.
    pub fn destroy(&mut self) {
        if let Some(widget) = self.widget.take() {
            widget.shut_down();
        }
        if let Some(app) = self.app.take() {
            app.destroy();
        }
        self.container.remove();
    }
}

fn check_event(name: &str) -> Result<Event, WidgetError> {
    Event::named(name).ok_or_else(|| {
        WidgetError::invalid_argument(
            "on",
            "one of \"iys:change\", \"iys:submit\", \"iys:queued\", \"iys:sent\", \"iys:error\"",
        )
    })
}

/// Renders the widget into `target` (an element or a CSS selector) with `options`.
///
/// Throws an `Error` with a stable `code` (`invalid_target`, `invalid_option`, `unknown_option`,
/// `unknown_channel`, `invalid_selector`) when the arguments are wrong.
#[wasm_bindgen]
pub fn mount(
    #[wasm_bindgen(unchecked_param_type = "Element | string")] target: JsValue,
    #[wasm_bindgen(unchecked_param_type = "MountOptions")] options: JsValue,
) -> Result<ConsentWidget, JsValue> {
    let options = Options::from_js(&options)?;
    let target = resolve_target(&target)?;
    let document = target
        .owner_document()
        .ok_or_else(|| WidgetError::invalid_target("an element inside a document"))?;
    let find = |option: &str, selector: &Option<String>| -> Result<Option<Element>, WidgetError> {
        let Some(selector) = selector else {
            return Ok(None);
        };
        document
            .query_selector(selector)
            .map_err(|_| WidgetError::invalid_selector(option, "a valid CSS selector"))?
            .map(Some)
            .ok_or_else(|| {
                WidgetError::invalid_selector(
                    option,
                    "a selector that matches an element on the page",
                )
            })
    };
    let mut watched = Vec::new();
    let mut form = None;
    if options.mode == Mode::Checkout {
        // The address fields are watched to show whether the ticked boxes can be recorded; the
        // name is read as the form is submitted.
        for (option, selector, watch) in [
            ("phoneInput", &options.phone_input, true),
            ("emailInput", &options.email_input, true),
            ("nameInput", &options.name_input, false),
        ] {
            if let Some(input) = find(option, selector)? {
                if input.dyn_ref::<web_sys::HtmlInputElement>().is_none() {
                    return Err(WidgetError::invalid_selector(
                        option,
                        "a selector of an <input> element",
                    )
                    .into());
                }
                if watch {
                    watched.push(input);
                }
            }
        }
        form = match find("form", &options.form)? {
            Some(form) => Some(form),
            None => target.closest("form").ok().flatten(),
        };
        if form.is_none() {
            return Err(WidgetError::invalid_option(
                "form",
                "a selector of the shop's form, or a target inside it",
            )
            .into());
        }
    }
    let container = document.create_element("div")?;
    container.set_class_name("iys-consent-root");
    target.append_child(&container)?;
    let number = MOUNTED.with(|mounted| {
        let next = mounted.get() + 1;
        mounted.set(next);
        next
    });
    let mode = options.mode;
    let mut prefix = String::from("iys-consent-");
    consent_core::time::push_digits(&mut prefix, i64::from(number), 1);
    let widget = Widget::new(options, prefix);
    widget.attach(container.clone());

    if let Some(form) = form {
        widget.listen(&form, "submit", Reaction::ShopSubmit);
    }
    for input in watched {
        widget.listen(&input, "input", Reaction::ShopInput);
    }
    if let Some(window) = web_sys::window() {
        widget.listen(&window, "pagehide", Reaction::PageHidden);
        widget.listen(&window, "online", Reaction::Online);
    }
    widget.listen(&document, "visibilitychange", Reaction::Visibility);

    if mode == Mode::Preferences {
        widget.load_preferences();
    }
    widget.resume();
    let props = ConsentFormProps {
        widget: WidgetRef(widget.clone()),
    };
    let app = yew::Renderer::<ConsentForm>::with_root_and_props(container.clone(), props).render();
    Ok(ConsentWidget {
        widget: Some(widget),
        app: Some(app),
        container,
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

/// The names of the events, for pages that subscribe to all of them.
#[wasm_bindgen(js_name = eventNames, unchecked_return_type = "EventName[]")]
pub fn event_names() -> Array {
    NAMES.iter().map(|name| JsValue::from_str(name)).collect()
}

/// The widget's allocator, growing the module's memory as it needs.
// Size: talc rather than the standard library's dlmalloc, about 1.6 KB brotli less.
#[cfg(target_arch = "wasm32")]
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();
