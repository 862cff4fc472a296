//! One native checkbox labelled with the full consent text of its channel.

use consent_core::{Channel, Locale};
use web_sys::HtmlInputElement;
use yew::prelude::*;

use crate::texts;

/// Properties of [`ChannelBox`].
#[derive(Debug, Clone, Properties, PartialEq)]
pub struct ChannelBoxProps {
    /// The channel.
    pub channel: Channel,
    /// The element id of the checkbox.
    pub id: AttrValue,
    /// The full consent text, rendered as text.
    pub text: AttrValue,
    /// Whether it is ticked.
    pub ticked: bool,
    /// Whether it cannot be changed right now.
    pub disabled: bool,
    /// The code of an address problem to show, if any.
    pub error: Option<&'static str>,
    /// The language of the error sentence.
    pub locale: Locale,
    /// Called with the new value when the person ticks or unticks it.
    pub on_change: Callback<(Channel, bool)>,
}

/// One box.
#[function_component(ChannelBox)]
pub fn channel_box(props: &ChannelBoxProps) -> Html {
    let channel = props.channel;
    let onchange = props.on_change.reform(move |event: Event| {
        let input: HtmlInputElement = event.target_unchecked_into();
        (channel, input.checked())
    });
    let error_id = format!("{}-error", props.id);
    let error = props.error.map(|code| {
        html! {
            <p class="iys-consent__error" id={error_id.clone()}>{ texts::recipient_error(props.locale, code) }</p>
        }
    });
    html! {
        <div class="iys-consent__channel" data-channel={channel.as_str()}>
            <input
                type="checkbox"
                class="iys-consent__box"
                id={props.id.clone()}
                name={format!("iys-consent-{channel}")}
                checked={props.ticked}
                disabled={props.disabled}
                aria-invalid={props.error.map(|_| "true")}
                aria-describedby={props.error.map(|_| error_id.clone())}
                {onchange}
            />
            <label class="iys-consent__label" for={props.id.clone()}>{ props.text.clone() }</label>
            { for error }
        </div>
    }
}
