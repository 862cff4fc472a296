//! One native checkbox labelled with the full consent text of its channel.

use std::rc::Rc;

use consent_core::Locale;
use web_sys::HtmlInputElement;
use yew::prelude::*;

use crate::state::ChannelBox;
use crate::texts;
use crate::widget::Widget;

/// One box, disabled while `busy`.
// Size: a function the form's view calls rather than a component of its own; each component
// brings its own copy of Yew's lifecycle, properties builder and comparison.
pub fn channel_box(widget: &Rc<Widget>, item: &ChannelBox, busy: bool, locale: Locale) -> Html {
    let channel = item.channel;
    let id = [&widget.id_prefix, "-", channel.as_str()].concat();
    let onchange = {
        let widget = widget.clone();
        Callback::from(move |event: Event| {
            let input: HtmlInputElement = event.target_unchecked_into();
            widget.ticked(channel, input.checked());
        })
    };
    let error_id = [&id, "-error"].concat();
    let error = item.error.map(|code| {
        html! {
            <p class="iys-consent__error" id={error_id.clone()}>{ texts::recipient_error(locale, code) }</p>
        }
    });
    html! {
        <div class="iys-consent__channel" data-channel={channel.as_str()}>
            <input
                type="checkbox"
                class="iys-consent__box"
                id={id.clone()}
                name={["iys-consent-", channel.as_str()].concat()}
                checked={item.ticked}
                disabled={busy}
                aria-invalid={item.error.map(|_| "true")}
                aria-describedby={item.error.map(|_| error_id.clone())}
                {onchange}
            />
            <label class="iys-consent__label" for={id}>{ widget.consent_text(channel) }</label>
            { for error }
        </div>
    }
}
