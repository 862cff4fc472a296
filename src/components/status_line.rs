//! The live region that announces where recording is.

use std::rc::Rc;

use consent_core::Locale;
use yew::prelude::*;

use crate::components::element::{Gesture, element, fixed, listening, on, text};
use crate::state::{State, Status};
use crate::texts::{self, Message};
use crate::widget::Widget;

/// A polite live region, always present so screen readers hear each change.
// Size: a function, not a component (see `channel_box`).
pub fn status_line(widget: &Rc<Widget>, state: &State, locale: Locale) -> Html {
    let message = match state.status {
        Status::Idle => None,
        Status::Loading => Some(Message::Loading),
        Status::StateUnavailable => Some(Message::StateUnavailable),
        Status::Recording => Some(Message::Recording),
        Status::Recorded => Some(Message::Recorded),
        Status::Queued => Some(Message::Queued),
        Status::Failed => Some(Message::Failed),
        Status::NothingTicked => Some(Message::TickOne),
    };
    let is_problem = matches!(
        state.status,
        Status::Failed | Status::StateUnavailable | Status::NothingTicked
    );
    let class = if is_problem {
        "iys-consent__status iys-consent__status--problem"
    } else {
        "iys-consent__status"
    };
    let retry = (state.status == Status::Failed).then(|| {
        listening(
            "button",
            &["type", "class"],
            Box::new([fixed("button"), fixed("iys-consent__retry")]),
            vec![text(texts::message(locale, Message::Retry))],
            Some(on(widget, Gesture::Retry)),
        )
        .into()
    });
    let persisted = state.not_persisted.then(|| {
        element(
            "span",
            &["class"],
            Box::new([fixed("iys-consent__note")]),
            vec![text(texts::message(locale, Message::NotPersisted))],
        )
        .into()
    });
    let message = message.map(|message| {
        element(
            "span",
            &[],
            Box::new([]),
            vec![text(texts::message(locale, message))],
        )
        .into()
    });
    element(
        "div",
        &["class", "role", "aria-live"],
        Box::new([fixed(class), fixed("status"), fixed("polite")]),
        vec![
            message.unwrap_or_default(),
            persisted.unwrap_or_default(),
            retry.unwrap_or_default(),
        ],
    )
    .into()
}
