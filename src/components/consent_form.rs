//! The widget's root: the fieldset of boxes, and in newsletter mode its own fields and button.

use std::rc::Rc;

use consent_core::{Mode, RecipientType};
use web_sys::HtmlInputElement;
use yew::prelude::*;

use crate::components::channel_box::channel_box;
use crate::components::status_line::status_line;
use crate::state::{Field, State};
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

/// A labelled field (an address, or the name) with its error tied to it.
// Size: a function, not a component (see `channel_box`).
fn text_field(widget: &Rc<Widget>, state: &State, field: Field) -> Html {
    let locale = state.locale;
    let (suffix, kind, label, value, error) = match field {
        Field::Name => ("name", "text", Message::NameLabel, &state.name, None),
        Field::Phone => (
            "phone",
            "tel",
            Message::PhoneLabel,
            &state.phone,
            state.phone_error(),
        ),
        Field::Email => (
            "email",
            "email",
            Message::EmailLabel,
            &state.email,
            state.email_error(),
        ),
    };
    let id = [&widget.id_prefix, "-", suffix].concat();
    let error_id = [&id, "-error"].concat();
    let oninput = {
        let widget = widget.clone();
        Callback::from(move |event: InputEvent| {
            let input: HtmlInputElement = event.target_unchecked_into();
            widget.typed(field, input.value());
        })
    };
    html! {
        <div class="iys-consent__field">
            <label class="iys-consent__field-label" for={id.clone()}>{ texts::message(locale, label) }</label>
            <input
                class="iys-consent__input"
                id={id}
                type={kind}
                autocomplete={if kind == "text" { "name" } else { kind }}
                inputmode={(kind == "tel").then_some("tel")}
                value={value.clone()}
                aria-invalid={error.map(|_| "true")}
                aria-describedby={error.map(|_| error_id.clone())}
                {oninput}
            />
            { for error.map(|code| html! {
                <p class="iys-consent__error" id={error_id}>{ texts::recipient_error(locale, code) }</p>
            }) }
        </div>
    }
}

/// The widget's UI.
// Size: a struct component whose only message asks it to render again, rather than a function
// component with a hook for that, which brought Yew's hooks machinery.
#[derive(Debug)]
pub struct ConsentForm;

impl Component for ConsentForm {
    type Message = ();
    type Properties = ConsentFormProps;

    fn create(context: &Context<Self>) -> Self {
        // The widget owns the state; the component renders it, and renders again on each
        // change.
        context.props().widget.0.rendered_by(context.link().clone());
        ConsentForm
    }

    fn update(&mut self, _: &Context<Self>, (): ()) -> bool {
        true
    }

    fn view(&self, context: &Context<Self>) -> Html {
        view(&context.props().widget.0)
    }
}

fn view(widget: &Rc<Widget>) -> Html {
    let widget = widget.clone();
    let options = widget.options.clone();
    if options.mode == Mode::Headless {
        return html! {};
    }
    let state = widget.state();
    let locale = state.locale;
    let boxes = state
        .boxes
        .iter()
        .map(|item| channel_box(&widget, item, state.busy, locale));
    let privacy = options.privacy_notice_url.as_ref().map(|url| {
        html! {
            <p class="iys-consent__privacy">
                <a href={url.clone()} target="_blank" rel="noopener noreferrer">
                    { texts::message(locale, Message::PrivacyNoticeLink) }
                </a>
            </p>
        }
    });
    let status = status_line(&widget, &state, locale);
    let fields = (options.mode == Mode::Newsletter).then(|| {
        let name = options
            .name_field
            .then(|| text_field(&widget, &state, Field::Name));
        let phone = options
            .needs_phone()
            .then(|| text_field(&widget, &state, Field::Phone));
        let email = options
            .needs_email()
            .then(|| text_field(&widget, &state, Field::Email));
        html! { <>{ for name }{ for phone }{ for email }</> }
    });
    // Individual or merchant, when the shop lets the person say; the choice goes with every
    // decision of the submit.
    let kind = options.recipient_type_choice.then(|| {
        let group = [&widget.id_prefix, "-kind"].concat();
        let choice = |value: RecipientType, label: Message| {
            let widget = widget.clone();
            let id = [&group, "-", value.as_str()].concat();
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
            <legend class="iys-consent__legend">{ texts::message(locale, Message::Legend) }</legend>
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
