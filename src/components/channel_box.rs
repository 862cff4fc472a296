//! One native checkbox labelled with the full consent text of its channel.

use std::rc::Rc;

use consent_core::Locale;
use yew::prelude::*;

use crate::components::element::{
    Gesture, address_error, element, fixed, flag, input, made, on, text,
};
use crate::state::ChannelBox;
use crate::widget::Widget;

/// One box, disabled while `busy`.
// Size: a function the form's view calls rather than a component of its own; each component
// brings its own copy of Yew's lifecycle, properties builder and comparison.
pub fn channel_box(widget: &Rc<Widget>, item: &ChannelBox, busy: bool, locale: Locale) -> Html {
    let channel = item.channel;
    let id = AttrValue::from([&widget.id_prefix, "-", channel.as_str()].concat());
    let error_id = AttrValue::from([&id, "-error"].concat());
    let invalid = item.error.is_some();
    element(
        "div",
        &["class", "data-channel"],
        Box::new([fixed("iys-consent__channel"), fixed(channel.as_str())]),
        vec![
            input(
                &[
                    "type",
                    "class",
                    "id",
                    "name",
                    "disabled",
                    "aria-invalid",
                    "aria-describedby",
                ],
                Box::new([
                    fixed("checkbox"),
                    fixed("iys-consent__box"),
                    made(id.clone()),
                    made(["iys-consent-", channel.as_str()].concat()),
                    flag(busy, "disabled"),
                    flag(invalid, "true"),
                    if invalid {
                        made(error_id.clone())
                    } else {
                        None
                    },
                ]),
                None,
                Some(item.ticked),
                on(widget, Gesture::Tick(channel)),
            ),
            element(
                "label",
                &["class", "for"],
                Box::new([fixed("iys-consent__label"), made(id)]),
                vec![text(widget.consent_text(channel))],
            )
            .into(),
            address_error(&error_id, locale, item.error),
        ],
    )
    .into()
}
