//! The view's elements, built through Yew's virtual DOM types.
//!
//! Size: `html!` writes out the construction of every element, attribute and text where it is
//! used; these functions build each element once and the views call them with a tag, the
//! attribute names, their values and the children (about 1.5 KB brotli less for the same DOM).
//! The attributes are Yew's `Attributes::Dynamic`, as `html!` makes them: a fixed list of
//! names, so that Yew compares and patches them by position.

use std::rc::Rc;

use consent_core::{Channel, Locale, RecipientType};
use wasm_bindgen::JsCast;
use web_sys::HtmlInputElement;
use yew::virtual_dom::{
    AttrValue, AttributeOrProperty, Attributes, Listener, ListenerKind, Listeners, VList, VTag,
    VText,
};
use yew::{Html, NodeRef};

use crate::state::Field;
use crate::texts;
use crate::widget::Widget;

/// An attribute's value, or `None` to leave the attribute out.
pub type Value = Option<AttributeOrProperty>;

/// A fixed attribute value.
pub fn fixed(value: &'static str) -> Value {
    Some(AttributeOrProperty::Static(value))
}

/// An attribute present, with the fixed `value`, only when `on` (`disabled="disabled"`,
/// `aria-invalid="true"`).
pub fn flag(on: bool, value: &'static str) -> Value {
    on.then_some(AttributeOrProperty::Static(value))
}

/// An attribute value made at run time.
pub fn made(value: impl Into<AttrValue>) -> Value {
    Some(AttributeOrProperty::Attribute(value.into()))
}

/// The element `tag` with the attributes `names`, each set to its value in `values` unless that
/// is `None`, and `children`. The values come boxed, as Yew keeps them.
// Size: built with the constructors `html!` itself calls, which take the parts as they are
// (about 550 bytes brotli less than `VTag::new`, which lowercases and matches the tag name
// at run time, and the setters, which move the element through each).
pub fn element(
    tag: &'static str,
    names: &'static [&'static str],
    values: Box<[Value]>,
    children: Vec<Html>,
) -> VTag {
    listening(tag, names, values, children, None)
}

/// [`element`] with `listener`, when given.
pub fn listening(
    tag: &'static str,
    names: &'static [&'static str],
    values: Box<[Value]>,
    children: Vec<Html>,
    listener: Option<Rc<dyn Listener>>,
) -> VTag {
    VTag::__new_other(
        AttrValue::Static(tag),
        NodeRef::default(),
        None,
        attributes(names, values),
        listeners(listener),
        VList::with_children(children, None).into(),
    )
}

fn listeners(listener: Option<Rc<dyn Listener>>) -> Listeners {
    match listener {
        Some(listener) => Listeners::Pending(Box::new([Some(listener)])),
        None => Listeners::None,
    }
}

fn attributes(names: &'static [&'static str], values: Box<[Value]>) -> Attributes {
    Attributes::Dynamic {
        keys: names,
        values,
    }
}

/// An `<input>` with the attributes `names` set to `values`, its current `value` or `checked`
/// state, and `listener`.
pub fn input(
    names: &'static [&'static str],
    values: Box<[Value]>,
    value: Option<AttrValue>,
    checked: Option<bool>,
    listener: Rc<dyn Listener>,
) -> Html {
    VTag::__new_input(
        value,
        checked,
        NodeRef::default(),
        None,
        attributes(names, values),
        listeners(Some(listener)),
    )
    .into()
}

/// The paragraph that says why the address of a box or a field does not fit, under the id its
/// input names in `aria-describedby`; nothing when it fits.
pub fn address_error(id: &AttrValue, locale: Locale, code: Option<&str>) -> Html {
    code.map(|code| {
        element(
            "p",
            &["class", "id"],
            Box::new([fixed("iys-consent__error"), made(id.clone())]),
            vec![text(texts::recipient_error(locale, code))],
        )
        .into()
    })
    .unwrap_or_default()
}

/// A text node.
pub fn text(text: impl Into<AttrValue>) -> Html {
    VText::new(text).into()
}

/// What the person does in the widget's own elements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gesture {
    /// Ticked or unticked the box of a channel.
    Tick(Channel),
    /// Typed in one of the widget's fields.
    Type(Field),
    /// Chose individual or merchant.
    Choose(RecipientType),
    /// Submitted the newsletter form.
    Submit,
    /// Asked to try again.
    Retry,
}

/// The listener of `gesture` on one element, for `widget`.
// Size: one listener type for every element, naming its gesture, rather than a callback and
// Yew's wrapper type for each kind of event.
pub fn on(widget: &Rc<Widget>, gesture: Gesture) -> Rc<dyn Listener> {
    Rc::new(On(widget.clone(), gesture))
}

struct On(Rc<Widget>, Gesture);

impl Listener for On {
    fn kind(&self) -> ListenerKind {
        match self.1 {
            Gesture::Tick(_) | Gesture::Choose(_) => ListenerKind::onchange,
            Gesture::Type(_) => ListenerKind::oninput,
            Gesture::Submit => ListenerKind::onsubmit,
            Gesture::Retry => ListenerKind::onclick,
        }
    }

    fn handle(&self, event: web_sys::Event) {
        let widget = &self.0;
        // The element listened to: a box or a field, for the gestures that read it.
        let input = event
            .target()
            .map(JsCast::unchecked_into::<HtmlInputElement>);
        match (self.1, input) {
            (Gesture::Tick(channel), Some(input)) => widget.ticked(channel, input.checked()),
            (Gesture::Type(field), Some(input)) => widget.typed(field, input.value()),
            (Gesture::Choose(value), _) => widget.chose_recipient_type(value),
            (Gesture::Submit, _) => {
                event.prevent_default();
                let _ = widget.submit();
            }
            (Gesture::Retry, _) => {
                let _ = widget.submit();
            }
            (Gesture::Tick(_) | Gesture::Type(_), None) => {}
        }
    }

    fn passive(&self) -> bool {
        false
    }
}
