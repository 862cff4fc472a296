//! One mounted widget: its options, state, outbox and events, shared by the component and the
//! JS handle.

use std::cell::{Ref, RefCell};
use std::rc::Rc;

use consent_core::{Channel, ConsentStatus, Locale, Mode, RecipientType, Timestamp};
use js_sys::{Array, Promise};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{JsFuture, future_to_promise};
use web_sys::{Element, EventTarget, HtmlInputElement};
use yew::html::Scope;

use crate::components::consent_form::ConsentForm;

use crate::bindings;
use crate::entry::Entry;
use crate::events::{Event, Events, object};
use crate::options::Options;
use crate::outbox::{Outbox, PassReport};
use crate::record::{self, BuiltRecord, Decision};
use crate::state::{Action, Field, State, Status};
use crate::texts::{self, Message};

/// What the widget does on a DOM event it listens to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum Reaction {
    /// Checkout: the shop's form is submitted.
    ShopSubmit,
    /// Checkout: one of the shop's address fields changed.
    ShopInput,
    /// The page is going away.
    PageHidden,
    /// The browser is back online.
    Online,
    /// The page's visibility changed; it may be hidden.
    Visibility,
}

/// The function the DOM listeners call with their reaction's number and the event.
type EventHandler = Closure<dyn FnMut(u32, web_sys::Event)>;

/// Every reaction, in the order of its number.
const REACTIONS: [Reaction; 5] = [
    Reaction::ShopSubmit,
    Reaction::ShopInput,
    Reaction::PageHidden,
    Reaction::Online,
    Reaction::Visibility,
];

// Each reaction sits at its own number, which is what the DOM listeners pass back.
const _: () = {
    let mut index = 0;
    while index < REACTIONS.len() {
        assert!(REACTIONS[index] as usize == index);
        index += 1;
    }
};

/// One decision to record.
#[derive(Debug, Clone)]
pub struct Choice {
    /// The channel.
    pub channel: Channel,
    /// Granted or rejected.
    pub status: ConsentStatus,
    /// The address, when the caller gives it; otherwise the widget's field or the shop's.
    pub recipient: Option<String>,
    /// The exact text shown for this decision, when it is not the widget's own for the channel.
    pub text: Option<String>,
    /// The person's name and surname, when the caller gives it; otherwise the shop's field's.
    pub name: Option<String>,
}

impl Choice {
    /// A decision on `channel` with the widget's own address and text.
    fn of(channel: Channel, status: ConsentStatus) -> Choice {
        Choice {
            channel,
            status,
            recipient: None,
            text: None,
            name: None,
        }
    }
}

/// The shared core of a mounted widget.
pub struct Widget {
    /// The checked options.
    pub options: Rc<Options>,
    /// The events.
    pub events: Rc<Events>,
    outbox: Rc<Outbox>,
    /// The one state: every change goes through [`Widget::dispatch`], and the component renders
    /// from it.
    state: RefCell<State>,
    /// Asks the component to render again, once it has rendered the first time.
    redraw: RefCell<Option<Scope<ConsentForm>>>,
    /// The one function every DOM listener the widget added calls, with its reaction; the
    /// bindings keep the listeners, under `id_prefix`, until [`Widget::shut_down`].
    on_event: RefCell<Option<EventHandler>>,
    /// A prefix that makes element ids unique on the page.
    pub id_prefix: String,
}

impl std::fmt::Debug for Widget {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Widget")
            .field("mode", &self.options.mode)
            .field("id_prefix", &self.id_prefix)
            .finish_non_exhaustive()
    }
}

/// The outcome of recording, as the promise of `submit()` and `record()` resolves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Overall {
    Nothing,
    Sent,
    Queued,
    Failed,
}

impl Overall {
    fn as_str(self) -> &'static str {
        match self {
            Overall::Nothing => "nothing",
            Overall::Sent => "sent",
            Overall::Queued => "queued",
            Overall::Failed => "failed",
        }
    }
}

fn input_value(selector: Option<&str>) -> Option<String> {
    let document = web_sys::window()?.document()?;
    let element = document.query_selector(selector?).ok()??;
    element
        .dyn_into::<HtmlInputElement>()
        .ok()
        .map(|input| input.value())
}

impl Widget {
    /// A widget for `options`, with its outbox.
    pub fn new(options: Options, id_prefix: String) -> Rc<Widget> {
        let events = Rc::new(Events::default());
        let outbox = Outbox::new(
            options.endpoint.clone(),
            options.timeout_ms,
            &options.headers,
            events.clone(),
        );
        let mut state = State::new(&options.channels, options.locale);
        state.recipient_type = options.recipient_type;
        Rc::new(Widget {
            options: Rc::new(options),
            events,
            outbox,
            state: RefCell::new(state),
            redraw: RefCell::new(None),
            on_event: RefCell::new(None),
            id_prefix,
        })
    }

    /// The component gives the handle that renders it again after each change.
    pub fn rendered_by(&self, redraw: Scope<ConsentForm>) {
        *self.redraw.borrow_mut() = Some(redraw);
    }

    /// The state, to read; not to be held across a change.
    pub fn state(&self) -> Ref<'_, State> {
        self.state.borrow()
    }

    fn dispatch(&self, action: Action) {
        self.state.borrow_mut().apply(action);
        if let Some(redraw) = self.redraw.borrow().as_ref() {
            redraw.send_message(());
        }
    }

    /// The language in use.
    pub fn locale(&self) -> Locale {
        self.state.borrow().locale
    }

    /// Switches the language of every text.
    pub fn set_locale(&self, locale: Locale) {
        self.dispatch(Action::SetLocale(locale));
    }

    /// The exact consent text for `channel` in the current language.
    pub fn consent_text(&self, channel: Channel) -> String {
        self.options
            .custom_texts
            .iter()
            .find(|(custom, _)| *custom == channel)
            .map(|(_, text)| text.clone())
            .unwrap_or_else(|| texts::consent_text(self.locale(), channel, &self.options.brand))
    }

    /// A box was ticked or unticked by the person.
    pub fn ticked(self: &Rc<Self>, channel: Channel, checked: bool) {
        self.dispatch(Action::Tick(channel, checked));
        self.events.emit(
            Event::Change,
            &object(&[
                ("channel", channel.as_str().into()),
                ("checked", checked.into()),
            ]),
        );
        match self.options.mode {
            Mode::Checkout => self.shop_fields_changed(),
            Mode::Preferences => {
                let status = if checked {
                    ConsentStatus::Granted
                } else {
                    ConsentStatus::Rejected
                };
                let widget = self.clone();
                wasm_bindgen_futures::spawn_local(async move {
                    let _ = widget.record_now(vec![Choice::of(channel, status)]).await;
                });
            }
            Mode::Newsletter | Mode::Headless => {}
        }
    }

    /// Checkout: re-checks the addresses in the shop's fields.
    pub fn shop_fields_changed(&self) {
        self.dispatch(Action::ShopFields(
            input_value(self.options.phone_input.as_deref()),
            input_value(self.options.email_input.as_deref()),
        ));
    }

    /// Newsletter: one of the fields changed.
    pub fn typed(&self, field: Field, value: String) {
        self.dispatch(Action::Type(field, value));
    }

    /// The person chose individual or merchant.
    pub fn chose_recipient_type(&self, value: RecipientType) {
        self.dispatch(Action::ChooseRecipientType(value));
    }

    /// The address for `channel`: from the explicit value, or from where the mode keeps it.
    fn address(&self, channel: Channel, explicit: Option<String>) -> String {
        if let Some(value) = explicit {
            return value;
        }
        let options = &self.options;
        let state = self.state.borrow();
        let value = match (options.mode, channel.is_phone()) {
            (Mode::Checkout, true) => input_value(options.phone_input.as_deref()),
            (Mode::Checkout, false) => input_value(options.email_input.as_deref()),
            (Mode::Newsletter, true) => Some(state.phone.clone()),
            (Mode::Newsletter, false) => Some(state.email.clone()),
            (Mode::Preferences, true) => options.phone.clone(),
            (Mode::Preferences, false) => options.email.clone(),
            (Mode::Headless, _) => None,
        };
        value.unwrap_or_default()
    }

    /// The person's name: from the shop's field in checkout, from the widget's own in a
    /// newsletter that shows one.
    fn person_name(&self) -> Option<String> {
        match self.options.mode {
            Mode::Checkout => input_value(self.options.name_input.as_deref()),
            Mode::Newsletter if self.options.name_field => Some(self.state.borrow().name.clone()),
            _ => None,
        }
    }

    /// Builds records for `decisions`; addresses that do not fit are reported, not sent.
    fn build(&self, choices: &[Choice]) -> (Vec<BuiltRecord>, Vec<(Channel, &'static str)>) {
        let at = Timestamp::from_unix_millis(bindings::now_millis() as i64);
        let page_url = bindings::page_url();
        let user_agent = bindings::user_agent();
        let mut built = Vec::new();
        let mut rejected = Vec::new();
        for choice in choices {
            let channel = &choice.channel;
            let recipient = self.address(*channel, choice.recipient.clone());
            // Each decision carries the text it was shown with; only a decision without one
            // takes the widget's text for its channel.
            let text = choice
                .text
                .clone()
                .unwrap_or_else(|| self.consent_text(*channel));
            let name = choice.name.clone().or_else(|| self.person_name());
            let decision = Decision {
                name: name.as_deref(),
                recipient_type: self.state.borrow().recipient_type,
                channel: *channel,
                status: choice.status,
                recipient: &recipient,
                text: &text,
                locale: self.locale(),
                page_url: &page_url,
                user_agent: &user_agent,
                at,
            };
            match record::build(&self.options, &decision, record::new_id(at)) {
                Ok(record) => built.push(record),
                Err(error) => {
                    rejected.push((*channel, error.code()));
                    self.events.emit(
                        Event::Error,
                        &object(&[
                            ("code", "invalid_recipient".into()),
                            ("reason", error.code().into()),
                            ("channel", channel.as_str().into()),
                            (
                                "message",
                                texts::recipient_error(self.locale(), error.code()).into(),
                            ),
                        ]),
                    );
                }
            }
        }
        (built, rejected)
    }

    /// Queues records at once (written to storage before anything is sent) and announces them.
    /// Returns them leased to this tab, for [`Outbox::flush_with`].
    fn queue(&self, records: &[BuiltRecord]) -> Vec<Entry> {
        if records.is_empty() {
            return Vec::new();
        }
        let (persisted, fresh) = self.outbox.enqueue(records);
        self.dispatch(Action::Persisted(persisted));
        self.events.emit(
            Event::Submit,
            &object(&[("records", summaries(records).into())]),
        );
        if !persisted {
            self.events.emit(
                Event::Error,
                &object(&[
                    ("code", "not_persisted".into()),
                    (
                        "message",
                        texts::message(self.locale(), Message::NotPersisted).into(),
                    ),
                ]),
            );
        }
        fresh
    }

    /// Builds, queues and sends `decisions`, and reports the outcome.
    pub async fn record_now(self: &Rc<Self>, choices: Vec<Choice>) -> JsValue {
        let (records, rejected) = self.build(&choices);
        if records.is_empty() {
            if !rejected.is_empty() {
                self.dispatch(Action::ShopFields(
                    input_value(self.options.phone_input.as_deref()),
                    input_value(self.options.email_input.as_deref()),
                ));
            }
            return result(
                Overall::Nothing,
                &records,
                &PassReport::default(),
                &rejected,
            );
        }
        let fresh = self.queue(&records);
        self.dispatch(Action::Status(Status::Recording));
        self.outbox.flush_with(fresh).await;
        let ids: Vec<String> = records.iter().map(|record| record.id.clone()).collect();
        let report = self.outbox.outcomes(&ids);
        let overall = overall(&records, &report);
        self.dispatch(Action::Status(match overall {
            Overall::Sent | Overall::Nothing => Status::Recorded,
            Overall::Queued => Status::Queued,
            Overall::Failed => Status::Failed,
        }));
        result(overall, &records, &report, &rejected)
    }

    /// The ticked boxes with their addresses, as `submit()` records them.
    fn ticked_decisions(&self) -> Vec<Choice> {
        self.state
            .borrow()
            .ticked()
            .into_iter()
            .map(|channel| Choice::of(channel, ConsentStatus::Granted))
            .collect()
    }

    /// `submit()`: records every ticked box; resolves to the outcome.
    pub fn submit(self: &Rc<Self>) -> Promise {
        let widget = self.clone();
        future_to_promise(async move {
            let decisions = widget.ticked_decisions();
            if decisions.is_empty() {
                if widget.options.mode == Mode::Newsletter {
                    widget.dispatch(Action::Status(Status::NothingTicked));
                }
                return Ok(result(Overall::Nothing, &[], &PassReport::default(), &[]));
            }
            Ok(widget.record_now(decisions).await)
        })
    }

    /// Headless `record([...])`: each item `{ channel, status, recipient, text?, name? }`.
    pub fn record_items(self: &Rc<Self>, items: &JsValue) -> Result<Promise, JsValue> {
        let expected = "an array of { channel, status, recipient, text?, name? }";
        if !Array::is_array(items) {
            return Err(crate::error::WidgetError::invalid_argument("record", expected).into());
        }
        let mut choices = Vec::new();
        for item in Array::from(items).iter() {
            let field = |key: &str| bindings::string_property(&item, key);
            let channel: Channel = field("channel")
                .and_then(|name| name.parse().ok())
                .filter(|channel| self.options.channels.contains(channel))
                .ok_or_else(|| {
                    crate::error::WidgetError::invalid_argument(
                        "record",
                        "a channel the widget was mounted with",
                    )
                })?;
            let status: ConsentStatus = field("status")
                .and_then(|name| name.parse().ok())
                .ok_or_else(|| {
                    crate::error::WidgetError::invalid_argument(
                        "record",
                        "status \"granted\" or \"rejected\"",
                    )
                })?;
            let recipient = field("recipient")
                .ok_or_else(|| crate::error::WidgetError::invalid_argument("record", expected))?;
            choices.push(Choice {
                channel,
                status,
                recipient: Some(recipient),
                text: field("text"),
                name: field("name"),
            });
        }
        let widget = self.clone();
        Ok(future_to_promise(async move {
            Ok(widget.record_now(choices).await)
        }))
    }

    /// Checkout: the shop's form is being submitted. Records are built and written to storage
    /// synchronously and sent without holding the submit back; should the page go away first,
    /// they leave with `keepalive` as it does, and a navigation loses nothing.
    pub fn shop_form_submitted(self: &Rc<Self>) {
        let decisions = self.ticked_decisions();
        if decisions.is_empty() {
            return;
        }
        let (records, _) = self.build(&decisions);
        if records.is_empty() {
            return;
        }
        let fresh = self.queue(&records);
        let widget = self.clone();
        wasm_bindgen_futures::spawn_local(async move {
            widget.dispatch(Action::Status(Status::Recording));
            widget.outbox.flush_with(fresh).await;
            let ids: Vec<String> = records.iter().map(|record| record.id.clone()).collect();
            let status = match overall(&records, &widget.outbox.outcomes(&ids)) {
                Overall::Sent | Overall::Nothing => Status::Recorded,
                Overall::Queued => Status::Queued,
                Overall::Failed => Status::Failed,
            };
            widget.dispatch(Action::Status(status));
        });
    }

    /// Delivers whatever earlier page loads left pending.
    pub fn resume(self: &Rc<Self>) {
        let outbox = self.outbox.clone();
        wasm_bindgen_futures::spawn_local(async move {
            outbox.flush().await;
        });
    }

    /// Sends what is pending as the page goes away.
    pub fn page_hidden(&self) {
        self.outbox.flush_on_exit();
    }

    /// Preferences: reads the current state from the relay.
    pub fn load_preferences(self: &Rc<Self>) {
        self.dispatch(Action::Status(Status::Loading));
        let widget = self.clone();
        wasm_bindgen_futures::spawn_local(async move {
            let options = &widget.options;
            // The person is named by the token alone: an address in a URL would stay in
            // proxies' and servers' logs.
            let url = [options.endpoint.trim_end_matches('/'), "/state"].concat();
            let token = options.state_token.as_deref().unwrap_or_default();
            let headers = bindings::request_headers(
                &options.headers,
                "authorization",
                &["Bearer ", token].concat(),
            );
            let answer = JsFuture::from(bindings::send(
                "GET",
                &url,
                JsValue::UNDEFINED,
                &headers,
                options.timeout_ms,
                false,
            ))
            .await
            .unwrap_or(JsValue::UNDEFINED);
            let status = bindings::property(&answer, "status")
                .as_f64()
                .unwrap_or(0.0);
            let body = bindings::string_property(&answer, "body").unwrap_or_default();
            let parsed = (status == 200.0)
                .then(|| js_sys::JSON::parse(&body).ok())
                .flatten();
            let Some(parsed) = parsed else {
                widget.dispatch(Action::Status(Status::StateUnavailable));
                widget.events.emit(
                    Event::Error,
                    &object(&[
                        ("code", "state_unavailable".into()),
                        ("status", status.into()),
                        (
                            "message",
                            texts::message(widget.locale(), Message::StateUnavailable).into(),
                        ),
                    ]),
                );
                return;
            };
            let channels = bindings::property(&parsed, "channels");
            let granted: Vec<Channel> = if Array::is_array(&channels) {
                Array::from(&channels)
                    .iter()
                    .filter(|item| {
                        bindings::string_property(item, "status").as_deref() == Some("granted")
                    })
                    .filter_map(|item| bindings::string_property(&item, "channel")?.parse().ok())
                    .collect()
            } else {
                Vec::new()
            };
            widget.dispatch(Action::Loaded(granted));
        });
    }

    /// Listens to `kind` events on `target` until [`Widget::shut_down`], reacting with
    /// `reaction`.
    // Size: one closure for every listener, which the bindings call with its reaction, and the
    // bindings keep the listeners to remove them.
    pub fn listen(self: &Rc<Self>, target: &EventTarget, kind: &str, reaction: Reaction) {
        let mut on_event = self.on_event.borrow_mut();
        let handler = on_event.get_or_insert_with(|| {
            let widget = Rc::downgrade(self);
            Closure::wrap(Box::new(move |reaction: u32, event: web_sys::Event| {
                let reaction = REACTIONS.get(reaction as usize);
                if let (Some(widget), Some(reaction)) = (widget.upgrade(), reaction) {
                    widget.react(*reaction, &event);
                }
            }) as Box<dyn FnMut(u32, web_sys::Event)>)
        });
        bindings::listen(&self.id_prefix, target, kind, reaction as u32, handler);
    }

    fn react(self: &Rc<Self>, reaction: Reaction, event: &web_sys::Event) {
        match reaction {
            Reaction::ShopSubmit => self.shop_form_submitted(),
            Reaction::ShopInput => self.shop_fields_changed(),
            Reaction::Online => self.resume(),
            Reaction::PageHidden => self.page_hidden(),
            Reaction::Visibility => {
                // The document listened to (the event's current target) is the target's own,
                // which may be a frame's.
                if bindings::hides_page(event) {
                    self.page_hidden();
                }
            }
        }
    }

    /// Removes every DOM listener the widget added, stops its timers and forgets the page's
    /// callbacks.
    pub fn shut_down(&self) {
        bindings::unlisten(&self.id_prefix);
        self.on_event.borrow_mut().take();
        self.outbox.stop();
        self.events.detach();
        self.redraw.borrow_mut().take();
    }

    /// Attaches the events to the root element.
    pub fn attach(&self, root: Element) {
        self.events.attach(root);
    }

    /// Failed records, for the page.
    pub fn failed(&self) -> Array {
        self.outbox.failed()
    }

    /// Records still waiting to be delivered.
    pub fn pending(&self) -> usize {
        self.outbox.pending_count()
    }
}

fn overall(records: &[BuiltRecord], report: &PassReport) -> Overall {
    let ids: Vec<&str> = records.iter().map(|record| record.id.as_str()).collect();
    let failed = report.failed.iter().any(|id| ids.contains(&id.as_str()));
    let delivered = ids
        .iter()
        .all(|id| report.receipts.iter().any(|(delivered, _)| delivered == id));
    if failed {
        Overall::Failed
    } else if delivered {
        Overall::Sent
    } else {
        Overall::Queued
    }
}

/// Each record as events and results name it: `{ id, channel, status }`.
fn summaries(records: &[BuiltRecord]) -> Array {
    records
        .iter()
        .map(|record| {
            object(&[
                ("id", record.id.as_str().into()),
                ("channel", record.channel.as_str().into()),
                ("status", record.status.as_str().into()),
                ("recipientType", record.recipient_type.as_str().into()),
            ])
        })
        .collect()
}

fn result(
    overall: Overall,
    records: &[BuiltRecord],
    report: &PassReport,
    rejected: &[(Channel, &'static str)],
) -> JsValue {
    let ids: Vec<&str> = records.iter().map(|record| record.id.as_str()).collect();
    let listed = summaries(records);
    let receipts: Array = report
        .receipts
        .iter()
        .filter(|(id, _)| ids.contains(&id.as_str()))
        .map(|(_, receipt)| receipt.clone())
        .collect();
    let queued: Array = report
        .queued
        .iter()
        .filter(|id| ids.contains(&id.as_str()))
        .map(|id| JsValue::from_str(id))
        .collect();
    let failed: Array = report
        .failed
        .iter()
        .filter(|id| ids.contains(&id.as_str()))
        .map(|id| JsValue::from_str(id))
        .collect();
    let invalid: Array = rejected
        .iter()
        .map(|(channel, code)| {
            object(&[
                ("channel", channel.as_str().into()),
                ("reason", (*code).into()),
            ])
        })
        .collect();
    object(&[
        ("status", overall.as_str().into()),
        ("records", listed.into()),
        ("receipts", receipts.into()),
        ("queued", queued.into()),
        ("failed", failed.into()),
        ("invalid", invalid.into()),
    ])
}
