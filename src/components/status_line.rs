//! The live region that announces where recording is.

use std::rc::Rc;

use consent_core::Locale;
use yew::prelude::*;

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
        let widget = widget.clone();
        let onclick = Callback::from(move |_: MouseEvent| {
            let _ = widget.submit();
        });
        html! {
            <button type="button" class="iys-consent__retry" {onclick}>
                { texts::message(locale, Message::Retry) }
            </button>
        }
    });
    let persisted = state.not_persisted.then(|| {
        html! { <span class="iys-consent__note">{ texts::message(locale, Message::NotPersisted) }</span> }
    });
    html! {
        <div {class} role="status" aria-live="polite">
            { for message.map(|message| html! { <span>{ texts::message(locale, message) }</span> }) }
            { for persisted }
            { for retry }
        </div>
    }
}
