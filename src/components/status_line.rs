//! The live region that announces where recording is.

use consent_core::Locale;
use yew::prelude::*;

use crate::state::Status;
use crate::texts::{self, Message};

/// Properties of [`StatusLine`].
#[derive(Debug, Clone, Properties, PartialEq)]
pub struct StatusLineProps {
    /// Where recording is.
    pub status: Status,
    /// The records could not be kept on the device.
    pub not_persisted: bool,
    /// The language.
    pub locale: Locale,
    /// Called when the person asks to try again.
    pub on_retry: Callback<()>,
}

/// A polite live region, always present so screen readers hear each change.
#[function_component(StatusLine)]
pub fn status_line(props: &StatusLineProps) -> Html {
    let message = match props.status {
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
        props.status,
        Status::Failed | Status::StateUnavailable | Status::NothingTicked
    );
    let class = classes!(
        "iys-consent__status",
        is_problem.then_some("iys-consent__status--problem")
    );
    let retry = (props.status == Status::Failed).then(|| {
        let on_retry = props.on_retry.reform(|_: MouseEvent| ());
        html! {
            <button type="button" class="iys-consent__retry" onclick={on_retry}>
                { texts::message(props.locale, Message::Retry) }
            </button>
        }
    });
    let persisted = props.not_persisted.then(|| {
        html! { <span class="iys-consent__note">{ texts::message(props.locale, Message::NotPersisted) }</span> }
    });
    html! {
        <div class={class} role="status" aria-live="polite">
            { for message.map(|message| html! { <span>{ texts::message(props.locale, message) }</span> }) }
            { for persisted }
            { for retry }
        </div>
    }
}
