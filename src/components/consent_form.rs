//! One fieldset with one unticked box per channel, each labelled with its full consent text.

use std::cell::RefCell;
use std::rc::Rc;

use web_sys::HtmlInputElement;
use yew::prelude::*;

use crate::options::Options;
use crate::state::{Action, State};
use crate::texts;

/// A copy of the latest state that the JS handle reads.
#[derive(Debug, Clone, Default)]
pub struct StateMirror(Rc<RefCell<State>>);

impl StateMirror {
    /// The latest state the component rendered.
    pub fn get(&self) -> State {
        self.0.borrow().clone()
    }

    fn set(&self, state: State) {
        *self.0.borrow_mut() = state;
    }
}

impl PartialEq for StateMirror {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.0, &other.0)
    }
}

/// Properties of [`ConsentForm`].
#[derive(Debug, Properties, PartialEq)]
pub struct ConsentFormProps {
    /// The checked options.
    pub options: Rc<Options>,
    /// A prefix that makes element ids unique on the page.
    pub id_prefix: AttrValue,
    /// Where the component publishes its state.
    pub mirror: StateMirror,
}

/// The consent fieldset.
#[function_component(ConsentForm)]
pub fn consent_form(props: &ConsentFormProps) -> Html {
    let options = &props.options;
    let state = use_reducer(|| State::new(&options.channels));
    {
        let mirror = props.mirror.clone();
        use_effect_with((*state).clone(), move |state| mirror.set(state.clone()));
    }
    let boxes = options.channels.iter().map(|&channel| {
        let id = format!("{}-{channel}", props.id_prefix);
        let dispatch = state.dispatcher();
        let onchange = Callback::from(move |event: Event| {
            let input: HtmlInputElement = event.target_unchecked_into();
            dispatch.dispatch(Action::Set(channel, input.checked()));
        });
        let text = texts::consent_text(options.locale, channel, &options.brand);
        html! {
            <div class="iys-consent__channel" data-channel={channel.as_str()}>
                <input
                    type="checkbox"
                    class="iys-consent__box"
                    id={id.clone()}
                    name={format!("iys-consent-{channel}")}
                    checked={state.is_ticked(channel)}
                    {onchange}
                />
                <label class="iys-consent__label" for={id}>{ text }</label>
            </div>
        }
    });
    let privacy = options.privacy_notice_url.as_ref().map(|url| {
        html! {
            <p class="iys-consent__privacy">
                <a href={url.clone()} target="_blank" rel="noopener">
                    { texts::privacy_notice_link(options.locale) }
                </a>
            </p>
        }
    });
    html! {
        <fieldset class="iys-consent" lang={options.locale.as_str()}>
            <legend class="iys-consent__legend">{ texts::legend(options.locale) }</legend>
            { for boxes }
            { for privacy }
        </fieldset>
    }
}
