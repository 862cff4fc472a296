//! The view's elements, built through Yew's virtual DOM types.
//!
//! Size: `html!` writes out the construction of every element, attribute and text where it is
//! used; these functions build each element once and the views call them with a tag, the
//! attribute names, their values and the children (about 1.5 KB brotli less for the same DOM).
//! The attributes are Yew's `Attributes::Dynamic`, as `html!` makes them: a fixed list of
//! names, so that Yew compares and patches them by position.

use std::rc::Rc;

use yew::Html;
use yew::virtual_dom::{AttrValue, AttributeOrProperty, Attributes, Listener, VTag, VText};

/// An attribute's value, or `None` to leave the attribute out.
pub type Value = Option<AttrValue>;

/// A fixed attribute value.
pub fn fixed(value: &'static str) -> Value {
    Some(AttrValue::Static(value))
}

/// A boolean attribute: present (as `name="name"`) when `on`.
pub fn flag(on: bool, name: &'static str) -> Value {
    on.then_some(AttrValue::Static(name))
}

/// The element `tag` with the attributes `names`, each set to its value in `values` unless that
/// is `None`, and `children`.
pub fn element(
    tag: &'static str,
    names: &'static [&'static str],
    values: Vec<Value>,
    children: Vec<Html>,
) -> VTag {
    let mut element = VTag::new(AttrValue::Static(tag));
    element.set_attributes(Attributes::Dynamic {
        keys: names,
        values: values
            .into_iter()
            .map(|value| value.map(AttributeOrProperty::Attribute))
            .collect(),
    });
    element.add_children(children);
    element
}

/// An `<input>` with the attributes `names` set to `values`, its current `value` or `checked`
/// state, and `listener`.
pub fn input(
    names: &'static [&'static str],
    values: Vec<Value>,
    value: Option<AttrValue>,
    checked: Option<bool>,
    listener: Rc<dyn Listener>,
) -> Html {
    let mut input = element("input", names, values, Vec::new());
    input.set_value(value);
    if let Some(checked) = checked {
        input.set_checked(checked);
    }
    input.add_listener(listener);
    input.into()
}

/// A text node.
pub fn text(text: impl Into<AttrValue>) -> Html {
    VText::new(text).into()
}
