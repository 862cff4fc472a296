//! The widget's root: the fieldset of boxes, and in newsletter mode its own fields and button.

use std::rc::Rc;

use consent_core::{Mode, RecipientType};
use yew::prelude::*;

use crate::components::channel_box::channel_box;
use crate::components::element::{
    Gesture, Value, address_error, element, fixed, flag, input, listening, made, on, text,
};
use crate::components::status_line::status_line;
use crate::state::{Field, State, Status};
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
    let id = AttrValue::from([&widget.id_prefix, "-", suffix].concat());
    let error_id = AttrValue::from([&id, "-error"].concat());
    element(
        "div",
        &["class"],
        Box::new([fixed("iys-consent__field")]),
        vec![
            element(
                "label",
                &["class", "for"],
                Box::new([fixed("iys-consent__field-label"), made(id.clone())]),
                vec![text(texts::message(locale, label))],
            )
            .into(),
            input(
                &[
                    "class",
                    "id",
                    "type",
                    "autocomplete",
                    "inputmode",
                    "aria-invalid",
                    "aria-describedby",
                ],
                Box::new([
                    fixed("iys-consent__input"),
                    made(id),
                    fixed(kind),
                    fixed(if kind == "text" { "name" } else { kind }),
                    flag(kind == "tel", "tel"),
                    flag(error.is_some(), "true"),
                    if error.is_some() {
                        made(error_id.clone())
                    } else {
                        None
                    },
                ]),
                Some(AttrValue::from(value.clone())),
                None,
                on(widget, Gesture::Type(field)),
            ),
            address_error(&error_id, locale, error),
        ],
    )
    .into()
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
        return Html::default();
    }
    let state = widget.state();
    let locale = state.locale;
    let lang = fixed(locale.as_str());
    let legend = |class: Value, message: Message| -> Html {
        element(
            "legend",
            &["class"],
            Box::new([class]),
            vec![text(texts::message(locale, message))],
        )
        .into()
    };
    let mut children = vec![legend(fixed("iys-consent__legend"), Message::Legend)];
    if options.mode == Mode::Newsletter {
        if options.name_field {
            children.push(text_field(&widget, &state, Field::Name));
        }
        if options.needs_phone() {
            children.push(text_field(&widget, &state, Field::Phone));
        }
        if options.needs_email() {
            children.push(text_field(&widget, &state, Field::Email));
        }
    }
    // Individual or merchant, when the shop lets the person say; the choice goes with every
    // decision of the submit.
    if options.recipient_type_choice {
        let group = AttrValue::from([&widget.id_prefix, "-kind"].concat());
        let choice = |value: RecipientType, label: Message| -> Html {
            let id = AttrValue::from([&group, "-", value.as_str()].concat());
            element(
                "div",
                &["class"],
                Box::new([fixed("iys-consent__channel")]),
                vec![
                    input(
                        &["type", "class", "id", "name"],
                        Box::new([
                            fixed("radio"),
                            fixed("iys-consent__box"),
                            made(id.clone()),
                            made(group.clone()),
                        ]),
                        Some(AttrValue::Static(value.as_str())),
                        Some(state.recipient_type == value),
                        on(&widget, Gesture::Choose(value)),
                    ),
                    element(
                        "label",
                        &["class", "for"],
                        Box::new([fixed("iys-consent__label"), made(id)]),
                        vec![text(texts::message(locale, label))],
                    )
                    .into(),
                ],
            )
            .into()
        };
        children.push(
            element(
                "fieldset",
                &["class"],
                Box::new([fixed("iys-consent__kind")]),
                vec![
                    legend(None, Message::KindLegend),
                    choice(RecipientType::Individual, Message::KindIndividual),
                    choice(RecipientType::Merchant, Message::KindMerchant),
                ],
            )
            .into(),
        );
    }
    for item in &state.boxes {
        children.push(channel_box(&widget, item, state.busy, locale));
    }
    if let Some(url) = &options.privacy_notice_url {
        let link = element(
            "a",
            &["href", "target", "rel"],
            Box::new([
                made(url.clone()),
                fixed("_blank"),
                fixed("noopener noreferrer"),
            ]),
            vec![text(texts::message(locale, Message::PrivacyNoticeLink))],
        );
        children.push(
            element(
                "p",
                &["class"],
                Box::new([fixed("iys-consent__privacy")]),
                vec![link.into()],
            )
            .into(),
        );
    }
    let fieldset = element(
        "fieldset",
        &["class", "lang", "aria-busy"],
        Box::new([fixed("iys-consent"), lang.clone(), flag(state.busy, "true")]),
        children,
    )
    .into();
    let status = status_line(&widget, &state, locale);
    if options.mode == Mode::Newsletter {
        let button = element(
            "button",
            &["type", "class", "disabled"],
            Box::new([
                fixed("submit"),
                fixed("iys-consent__submit"),
                flag(state.status == Status::Recording, "disabled"),
            ]),
            vec![text(texts::message(locale, Message::SubmitButton))],
        );
        listening(
            "form",
            &["class", "lang", "novalidate"],
            Box::new([fixed("iys-consent-form"), lang, fixed("novalidate")]),
            vec![fieldset, button.into(), status],
            Some(on(&widget, Gesture::Submit)),
        )
        .into()
    } else {
        element(
            "div",
            &["class", "lang"],
            Box::new([fixed("iys-consent-wrap"), lang]),
            vec![fieldset, status],
        )
        .into()
    }
}
