//! The widget's root: the fieldset of boxes, and in newsletter mode its own fields and button.

use std::rc::Rc;

use consent_core::{Channel, Mode, RecipientType};
use web_sys::HtmlInputElement;
use yew::prelude::*;

use crate::components::channel_box::ChannelBox;
use crate::components::status_line::StatusLine;
use crate::texts::{self, Message};
use crate::widget::Widget;

/// A shared widget, compared by identity.
#[derive(Debug, Clone)]
pub struct WidgetRef(pub Rc<Widget>);

impl PartialEq for WidgetRef {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.0, &other.0)
    }
}

/// Properties of [`ConsentForm`].
#[derive(Debug, Properties, PartialEq)]
pub struct ConsentFormProps {
    /// The widget this renders.
    pub widget: WidgetRef,
}

/// Properties of [`TextField`].
#[derive(Debug, Clone, Properties, PartialEq)]
pub struct TextFieldProps {
    /// The input's id.
    pub id: AttrValue,
    /// `tel`, `email` or `text`.
    pub kind: &'static str,
    /// What the browser may fill it with: `tel`, `email` or `name`.
    pub autocomplete: &'static str,
    /// The label text.
    pub label: &'static str,
    /// What is typed.
    pub value: AttrValue,
    /// The code of the address problem, if any.
    pub error: Option<&'static str>,
    /// The language of the error sentence.
    pub locale: consent_core::Locale,
    /// Called with the new value as the person types.
    pub on_input: Callback<String>,
}

/// A labelled field (an address, or the name) with its error tied to it.
#[function_component(TextField)]
pub fn text_field(props: &TextFieldProps) -> Html {
    let error_id = format!("{}-error", props.id);
    let oninput = props.on_input.reform(|event: InputEvent| {
        let input: HtmlInputElement = event.target_unchecked_into();
        input.value()
    });
    html! {
        <div class="iys-consent__field">
            <label class="iys-consent__field-label" for={props.id.clone()}>{ props.label }</label>
            <input
                class="iys-consent__input"
                id={props.id.clone()}
                type={props.kind}
                autocomplete={props.autocomplete}
                inputmode={(props.kind == "tel").then_some("tel")}
                value={props.value.clone()}
                aria-invalid={props.error.map(|_| "true")}
                aria-describedby={props.error.map(|_| error_id.clone())}
                {oninput}
            />
            { for props.error.map(|code| html! {
                <p class="iys-consent__error" id={error_id.clone()}>{ texts::recipient_error(props.locale, code) }</p>
            }) }
        </div>
    }
}

/// The widget's UI.
#[function_component(ConsentForm)]
pub fn consent_form(props: &ConsentFormProps) -> Html {
    let widget = props.widget.0.clone();
    let options = widget.options.clone();
    // The widget owns the state; the component renders it, and renders again on each change.
    widget.rendered_by(use_force_update());
    if options.mode == Mode::Headless {
        return html! {};
    }
    let state = widget.state();
    let locale = state.locale;
    let on_change = {
        let widget = widget.clone();
        Callback::from(move |(channel, checked): (Channel, bool)| widget.ticked(channel, checked))
    };
    let boxes = state.boxes.iter().map(|item| {
        html! {
            <ChannelBox
                key={item.channel.as_str()}
                channel={item.channel}
                id={format!("{}-{}", widget.id_prefix, item.channel)}
                text={widget.consent_text(item.channel)}
                ticked={item.ticked}
                disabled={state.busy}
                error={item.error}
                locale={locale}
                on_change={on_change.clone()}
            />
        }
    });
    let privacy = options.privacy_notice_url.as_ref().map(|url| {
        html! {
            <p class="iys-consent__privacy">
                <a href={url.clone()} target="_blank" rel="noopener noreferrer">
                    { texts::privacy_notice_link(locale) }
                </a>
            </p>
        }
    });
    let on_retry = {
        let widget = widget.clone();
        Callback::from(move |()| {
            let _ = widget.submit();
        })
    };
    let status = html! {
        <StatusLine status={state.status} not_persisted={state.not_persisted} locale={locale} {on_retry} />
    };
    // Size: one `html!` per field on purpose. Building the three fields from a table of rows
    // made the wasm 227 bytes smaller raw but the package 82 bytes larger brotli.
    let fields = (options.mode == Mode::Newsletter).then(|| {
        let phone = options.needs_phone().then(|| {
            let widget = widget.clone();
            html! {
                <TextField
                    id={format!("{}-phone", widget.id_prefix)}
                    kind="tel"
                    autocomplete="tel"
                    label={texts::message(locale, Message::PhoneLabel)}
                    value={state.phone.clone()}
                    error={state.phone_error()}
                    locale={locale}
                    on_input={Callback::from(move |value| widget.typed_phone(value))}
                />
            }
        });
        let email = options.needs_email().then(|| {
            let widget = widget.clone();
            html! {
                <TextField
                    id={format!("{}-email", widget.id_prefix)}
                    kind="email"
                    autocomplete="email"
                    label={texts::message(locale, Message::EmailLabel)}
                    value={state.email.clone()}
                    error={state.email_error()}
                    locale={locale}
                    on_input={Callback::from(move |value| widget.typed_email(value))}
                />
            }
        });
        let name = options.name_field.then(|| {
            let widget = widget.clone();
            html! {
                <TextField
                    id={format!("{}-name", widget.id_prefix)}
                    kind="text"
                    autocomplete="name"
                    label={texts::message(locale, Message::NameLabel)}
                    value={state.name.clone()}
                    error={None}
                    locale={locale}
                    on_input={Callback::from(move |value| widget.typed_name(value))}
                />
            }
        });
        html! { <>{ for name }{ for phone }{ for email }</> }
    });
    // Individual or merchant, when the shop lets the person say; the choice goes with every
    // decision of the submit.
    let kind = options.recipient_type_choice.then(|| {
        let group = format!("{}-kind", widget.id_prefix);
        let choice = |value: RecipientType, label: Message| {
            let widget = widget.clone();
            let id = format!("{group}-{value}");
            html! {
                <div class="iys-consent__channel">
                    <input
                        type="radio"
                        class="iys-consent__box"
                        id={id.clone()}
                        name={group.clone()}
                        value={value.as_str()}
                        checked={state.recipient_type == value}
                        onchange={Callback::from(move |_| widget.chose_recipient_type(value))}
                    />
                    <label class="iys-consent__label" for={id}>{ texts::message(locale, label) }</label>
                </div>
            }
        };
        html! {
            <fieldset class="iys-consent__kind">
                <legend>{ texts::message(locale, Message::KindLegend) }</legend>
                { choice(RecipientType::Individual, Message::KindIndividual) }
                { choice(RecipientType::Merchant, Message::KindMerchant) }
            </fieldset>
        }
    });
    let fieldset = html! {
        <fieldset class="iys-consent" lang={locale.as_str()} aria-busy={state.busy.then_some("true")}>
            <legend class="iys-consent__legend">{ texts::legend(locale) }</legend>
            { for fields }
            { for kind }
            { for boxes }
            { for privacy }
        </fieldset>
    };
    if options.mode == Mode::Newsletter {
        let onsubmit = {
            let widget = widget.clone();
            Callback::from(move |event: SubmitEvent| {
                event.prevent_default();
                let _ = widget.submit();
            })
        };
        html! {
            <form class="iys-consent-form" lang={locale.as_str()} novalidate=true {onsubmit}>
                { fieldset }
                <button type="submit" class="iys-consent__submit" disabled={state.status == crate::state::Status::Recording}>
                    { texts::message(locale, Message::SubmitButton) }
                </button>
                { status }
            </form>
        }
    } else {
        html! { <div class="iys-consent-wrap" lang={locale.as_str()}>{ fieldset }{ status }</div> }
    }
}
