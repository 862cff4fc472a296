use iys_consent::mount;
use js_sys::{Object, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::wasm_bindgen_test;
use web_sys::{HtmlInputElement, HtmlLabelElement};

use crate::{fresh_host, settle};

fn options(pairs: &[(&str, JsValue)]) -> JsValue {
    let object = Object::new();
    for (key, value) in pairs {
        Reflect::set(&object, &(*key).into(), value).unwrap();
    }
    object.into()
}

fn brand_only() -> JsValue {
    options(&[("brand", "Örnek Mağaza".into())])
}

fn error_code(error: &JsValue) -> String {
    Reflect::get(error, &"code".into())
        .unwrap()
        .as_string()
        .unwrap()
}

#[wasm_bindgen_test]
async fn renders_one_unticked_box_per_channel_with_its_full_text() {
    let host = fresh_host();
    let _widget = mount(host.clone().into(), brand_only()).unwrap();
    settle().await;
    let boxes = host.query_selector_all("input[type=checkbox]").unwrap();
    assert_eq!(boxes.length(), 3);
    for index in 0..boxes.length() {
        let input: HtmlInputElement = boxes.get(index).unwrap().unchecked_into();
        assert!(!input.checked(), "box {index} is ticked");
        let label: HtmlLabelElement = host
            .query_selector(&format!("label[for='{}']", input.id()))
            .unwrap()
            .unwrap()
            .unchecked_into();
        let text = label.text_content().unwrap();
        assert!(
            text.contains("Örnek Mağaza") && text.contains("ücretsiz"),
            "{text}"
        );
    }
    let fieldset = host.query_selector("fieldset").unwrap().unwrap();
    assert_eq!(fieldset.get_attribute("lang").as_deref(), Some("tr"));
    assert!(host.query_selector("fieldset > legend").unwrap().is_some());
}

#[wasm_bindgen_test]
async fn ticking_a_box_shows_in_the_state() {
    let host = fresh_host();
    let widget = mount(host.clone().into(), brand_only()).unwrap();
    settle().await;
    let sms: HtmlInputElement = host
        .query_selector("[data-channel=sms] input")
        .unwrap()
        .unwrap()
        .unchecked_into();
    sms.click();
    settle().await;
    let state = widget.state();
    assert_eq!(Reflect::get(&state, &"sms".into()).unwrap(), JsValue::TRUE);
    assert_eq!(
        Reflect::get(&state, &"email".into()).unwrap(),
        JsValue::FALSE
    );
}

#[wasm_bindgen_test]
async fn channels_follow_the_order_given_and_english_texts() {
    let host = fresh_host();
    let channels = js_sys::Array::of2(&"email".into(), &"sms".into());
    let _widget = mount(
        host.clone().into(),
        options(&[
            ("brand", "Shop".into()),
            ("channels", channels.into()),
            ("locale", "en".into()),
        ]),
    )
    .unwrap();
    settle().await;
    let shown: Vec<String> = (0..2)
        .map(|index| {
            host.query_selector_all("[data-channel]")
                .unwrap()
                .get(index)
                .unwrap()
                .unchecked_into::<web_sys::Element>()
                .get_attribute("data-channel")
                .unwrap()
        })
        .collect();
    assert_eq!(shown, ["email", "sms"]);
    let text = host.text_content().unwrap();
    assert!(text.contains("free of charge"), "{text}");
}

#[wasm_bindgen_test]
async fn destroy_leaves_the_host_as_it_was() {
    let host = fresh_host();
    host.set_inner_html("<p>shop content</p>");
    let before = host.inner_html();
    let mut widget = mount(host.clone().into(), brand_only()).unwrap();
    settle().await;
    assert_ne!(host.inner_html(), before);
    widget.destroy();
    settle().await;
    assert_eq!(host.inner_html(), before);
    widget.destroy();
}

#[wasm_bindgen_test]
fn bad_arguments_throw_errors_with_stable_codes() {
    let host = fresh_host();
    let cases: Vec<(JsValue, JsValue, &str)> = vec![
        (host.clone().into(), JsValue::NULL, "invalid_option"),
        (host.clone().into(), options(&[]), "invalid_option"),
        (
            host.clone().into(),
            options(&[("brand", "B".into()), ("colour", "red".into())]),
            "unknown_option",
        ),
        (
            host.clone().into(),
            options(&[("brand", 7.into())]),
            "invalid_option",
        ),
        (
            host.clone().into(),
            options(&[("brand", "B".into()), ("locale", "de".into())]),
            "invalid_option",
        ),
        (
            host.clone().into(),
            options(&[
                ("brand", "B".into()),
                ("channels", js_sys::Array::of1(&"fax".into()).into()),
            ]),
            "unknown_channel",
        ),
        (
            host.clone().into(),
            options(&[
                ("brand", "B".into()),
                ("privacyNoticeUrl", "javascript:alert(1)".into()),
            ]),
            "invalid_option",
        ),
        ("#no-such-element".into(), brand_only(), "invalid_target"),
        ("[[not a selector".into(), brand_only(), "invalid_target"),
        (JsValue::from(42), brand_only(), "invalid_target"),
    ];
    for (target, options, code) in cases {
        let error = mount(target, options).unwrap_err();
        assert_eq!(error_code(&error), code);
        assert!(error.is_instance_of::<js_sys::Error>());
    }
    assert_eq!(
        host.child_element_count(),
        0,
        "a failed mount added nothing"
    );
}

#[wasm_bindgen_test]
async fn texts_from_options_are_rendered_as_text_not_html() {
    let host = fresh_host();
    let _widget = mount(
        host.clone().into(),
        options(&[("brand", "<img src=x onerror=alert(1)>".into())]),
    )
    .unwrap();
    settle().await;
    assert!(host.query_selector("img").unwrap().is_none());
    assert!(
        host.text_content()
            .unwrap()
            .contains("<img src=x onerror=alert(1)>")
    );
}
