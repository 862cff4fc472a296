//! Rendering, options and behaviour of each mode, without a relay.

use iys_consent::mount;
use js_sys::Reflect;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::wasm_bindgen_test;
use web_sys::{Element, HtmlElement, HtmlInputElement};

use crate::{
    checkbox, collect, document, find, fresh_host, options, prop, settle, storage_keys, type_into,
};

const ENDPOINT: &str = "http://127.0.0.1:9/v1/consents";

fn newsletter(extra: &str) -> JsValue {
    options(&format!(
        r#"{{"endpoint": "{ENDPOINT}", "mode": "newsletter", "brand": "Örnek Mağaza"{extra}}}"#
    ))
}

fn error_code(error: &JsValue) -> String {
    prop(error, "code").as_string().unwrap()
}

/// A shop checkout form with phone and e-mail inputs and a place for the widget. Its inputs
/// are the only ones on the page with these classes: earlier tests' forms are removed.
fn shop_form() -> (HtmlElement, Element) {
    for old in ["form.shop-order"] {
        while let Some(form) = document().query_selector(old).unwrap() {
            form.remove();
        }
    }
    let host = fresh_host();
    host.set_inner_html(
        r#"<form class="shop-order" action="javascript:void 0">
             <input class="shop-phone" type="tel"><input class="shop-email" type="email">
             <div class="shop-consent"></div><button type="submit">Buy</button>
           </form>"#,
    );
    let slot = find(&host, ".shop-consent");
    (host, slot)
}

fn checkout_options(extra: &str) -> JsValue {
    options(&format!(
        r#"{{"endpoint": "{ENDPOINT}", "brand": "Örnek Mağaza", "phoneInput": ".shop-phone", "emailInput": ".shop-email"{extra}}}"#
    ))
}

#[wasm_bindgen_test]
async fn checkout_renders_one_unticked_box_per_channel_with_its_full_text() {
    let (host, slot) = shop_form();
    let widget = mount(slot.into(), checkout_options("")).unwrap();
    settle().await;
    let boxes = host.query_selector_all("input[type=checkbox]").unwrap();
    assert_eq!(boxes.length(), 3);
    for index in 0..boxes.length() {
        let input: HtmlInputElement = boxes.get(index).unwrap().unchecked_into();
        assert!(!input.checked(), "box {index} is ticked");
        assert!(
            input.tab_index() >= 0,
            "box {index} cannot be reached by keyboard"
        );
        let label = find(&host, &format!("label[for='{}']", input.id()));
        let text = label.text_content().unwrap();
        assert!(
            text.contains("Örnek Mağaza") && text.contains("ücretsiz"),
            "{text}"
        );
    }
    let fieldset = find(&host, "fieldset");
    assert_eq!(fieldset.get_attribute("lang").as_deref(), Some("tr"));
    assert!(host.query_selector("fieldset > legend").unwrap().is_some());
    assert!(
        host.query_selector("[role=status][aria-live=polite]")
            .unwrap()
            .is_some()
    );
    assert!(
        host.query_selector("[style]").unwrap().is_none(),
        "no inline styles"
    );
    assert!(
        host.query_selector("style").unwrap().is_none(),
        "no injected stylesheet"
    );
    let state = widget.state().unwrap();
    assert_eq!(prop(&prop(&state, "channels"), "sms"), JsValue::FALSE);
    assert_eq!(prop(&state, "mode"), "checkout");
}

#[wasm_bindgen_test]
async fn callbacks_are_called_per_registration_until_removed_or_destroyed() {
    let (host, slot) = shop_form();
    let mut widget = mount(slot.into(), checkout_options("")).unwrap();
    let seen = js_sys::Array::new();
    // A callback that notes `label`, and one that throws, which must not stop the others.
    let noting = |label: &'static str| {
        let sink = seen.clone();
        let callback = wasm_bindgen::closure::Closure::wrap(Box::new(move |_: JsValue| {
            sink.push(&label.into());
        }) as Box<dyn FnMut(JsValue)>);
        let function: js_sys::Function = callback
            .as_ref()
            .unchecked_ref::<js_sys::Function>()
            .clone();
        callback.forget();
        function
    };
    let throwing = js_sys::Function::new_no_args("throw new Error('the page broke')");
    let first = noting("first");
    let second = noting("second");
    widget.on("iys:change", throwing.clone()).unwrap();
    widget.on("iys:change", first.clone()).unwrap();
    widget.on("iys:change", first.clone()).unwrap();
    widget.on("iys:change", second.clone()).unwrap();
    widget.on("iys:sent", second.clone()).unwrap();
    settle().await;
    checkbox(&host, "sms").click();
    settle().await;
    let labels = |array: &js_sys::Array| -> Vec<String> {
        array
            .iter()
            .map(|label| label.as_string().unwrap())
            .collect()
    };
    assert_eq!(
        labels(&seen),
        ["first", "first", "second"],
        "each registration, in order"
    );

    // Removing a callback removes every registration of it for that event only.
    widget.off("iys:change", first.clone()).unwrap();
    widget.off("iys:queued", second.clone()).unwrap();
    checkbox(&host, "sms").click();
    settle().await;
    assert_eq!(labels(&seen), ["first", "first", "second", "second"]);
    let refused = widget.off("iys:other", second.clone()).unwrap_err();
    assert_eq!(
        prop(&refused, "code"),
        "invalid_argument",
        "an unknown event name"
    );

    // Destroying the widget forgets them: the same root's events call nothing more.
    let root = widget.root();
    widget.destroy();
    iys_consent::bindings::dispatch(&root, "iys:change", &JsValue::NULL);
    assert_eq!(seen.length(), 4);
}

#[wasm_bindgen_test]
async fn boxes_toggle_on_activation_and_report_changes() {
    let (host, slot) = shop_form();
    let widget = mount(
        slot.into(),
        checkout_options(r#", "channels": ["email", "sms"]"#),
    )
    .unwrap();
    let changes = collect(&widget, "iys:change");
    let bubbled = js_sys::Array::new();
    let sink = bubbled.clone();
    let listener =
        wasm_bindgen::closure::Closure::wrap(Box::new(move |event: web_sys::CustomEvent| {
            sink.push(&event.detail());
        }) as Box<dyn FnMut(web_sys::CustomEvent)>);
    host.add_event_listener_with_callback("iys:change", listener.as_ref().unchecked_ref())
        .unwrap();
    listener.forget();
    settle().await;
    let order: Vec<String> = (0..2)
        .map(|index| {
            host.query_selector_all("[data-channel]")
                .unwrap()
                .get(index)
                .unwrap()
                .unchecked_into::<Element>()
                .get_attribute("data-channel")
                .unwrap()
        })
        .collect();
    assert_eq!(order, ["email", "sms"], "channels in the order given");
    let sms = checkbox(&host, "sms");
    sms.focus().unwrap();
    assert_eq!(
        document().active_element().unwrap(),
        sms.clone().unchecked_into::<Element>()
    );
    // Space or a click on a focused checkbox fires the same activation.
    sms.click();
    settle().await;
    assert!(sms.checked());
    assert_eq!(
        prop(&prop(&widget.state().unwrap(), "channels"), "sms"),
        JsValue::TRUE
    );
    assert_eq!(changes.length(), 1);
    assert_eq!(prop(&changes.get(0), "channel"), "sms");
    assert_eq!(prop(&changes.get(0), "checked"), JsValue::TRUE);
    assert_eq!(bubbled.length(), 1, "the DOM event bubbles to the page");
    // The label toggles it too.
    find(&host, &format!("label[for='{}']", sms.id()))
        .unchecked_into::<HtmlElement>()
        .click();
    settle().await;
    assert!(!sms.checked());
}

#[wasm_bindgen_test]
async fn checkout_shows_address_problems_under_ticked_boxes_as_the_person_types() {
    let (host, slot) = shop_form();
    let _widget = mount(slot.into(), checkout_options("")).unwrap();
    settle().await;
    let phone: HtmlInputElement = find(&host, ".shop-phone").unchecked_into();
    type_into(&phone, "0212 123 00 00");
    settle().await;
    assert!(
        host.query_selector(".iys-consent__error")
            .unwrap()
            .is_none(),
        "nothing ticked, nothing shown"
    );
    checkbox(&host, "sms").click();
    settle().await;
    let sms = checkbox(&host, "sms");
    let described = sms.get_attribute("aria-describedby").unwrap();
    let message = find(&host, &format!("#{described}"))
        .text_content()
        .unwrap();
    assert_eq!(message, "SMS için bir cep telefonu numarası gerekir.");
    assert_eq!(sms.get_attribute("aria-invalid").as_deref(), Some("true"));
    assert!(
        host.query_selector("[data-channel=call] .iys-consent__error")
            .unwrap()
            .is_none()
    );
    type_into(&phone, "0532 123 45 67");
    settle().await;
    assert!(
        host.query_selector(".iys-consent__error")
            .unwrap()
            .is_none()
    );
}

#[wasm_bindgen_test]
async fn newsletter_has_its_own_fields_and_validates_in_the_persons_language() {
    let host = fresh_host();
    let widget = mount(host.clone().into(), newsletter(r#", "locale": "en""#)).unwrap();
    settle().await;
    let form = find(&host, "form.iys-consent-form");
    assert_eq!(form.get_attribute("lang").as_deref(), Some("en"));
    let phone: HtmlInputElement = find(&host, "input[type=tel]").unchecked_into();
    let email: HtmlInputElement = find(&host, "input[type=email]").unchecked_into();
    assert!(
        find(&host, &format!("label[for='{}']", phone.id()))
            .text_content()
            .unwrap()
            .contains("phone")
    );
    type_into(&email, "örnek@alan.com");
    settle().await;
    let email = find(&host, "input[type=email]");
    let message = find(
        &host,
        &format!("#{}", email.get_attribute("aria-describedby").unwrap()),
    )
    .text_content()
    .unwrap();
    assert_eq!(
        message,
        "An e-mail address cannot hold Turkish letters (ç, ğ, ı, ö, ş, ü)."
    );
    assert!(
        !message.contains("email_"),
        "no codes or Rust errors reach the person"
    );
    // Submitting with nothing ticked asks for a tick and records nothing.
    let result = wasm_bindgen_futures::JsFuture::from(widget.submit().unwrap())
        .await
        .unwrap();
    assert_eq!(prop(&result, "status"), "nothing");
    settle().await;
    let status = find(&host, "[role=status]").text_content().unwrap();
    assert_eq!(status, "Please tick at least one box.");
}

#[wasm_bindgen_test]
async fn set_locale_switches_every_text() {
    let host = fresh_host();
    let widget = mount(
        host.clone().into(),
        newsletter(r#", "privacyNoticeUrl": "/kvkk""#),
    )
    .unwrap();
    settle().await;
    assert!(host.text_content().unwrap().contains("ücretsiz"));
    widget.set_locale("en").unwrap();
    settle().await;
    let text = host.text_content().unwrap();
    assert!(
        text.contains("free of charge")
            && text.contains("Privacy notice")
            && !text.contains("ücretsiz"),
        "{text}"
    );
    assert_eq!(
        find(&host, "fieldset").get_attribute("lang").as_deref(),
        Some("en")
    );
    let error = widget.set_locale("de").unwrap_err();
    assert_eq!(error_code(&error), "invalid_argument");
}

#[wasm_bindgen_test]
async fn the_privacy_notice_is_a_separate_link() {
    let host = fresh_host();
    let _widget = mount(
        host.clone().into(),
        newsletter(r#", "privacyNoticeUrl": "https://shop.example/kvkk""#),
    )
    .unwrap();
    settle().await;
    let link = find(&host, ".iys-consent__privacy a");
    assert_eq!(
        link.get_attribute("href").as_deref(),
        Some("https://shop.example/kvkk")
    );
    assert!(
        host.query_selector("label a").unwrap().is_none(),
        "the notice is not inside a consent text"
    );
}

#[wasm_bindgen_test]
async fn custom_texts_replace_the_defaults() {
    let host = fresh_host();
    let _widget = mount(
        host.clone().into(),
        newsletter(r#", "channels": ["email"], "texts": {"email": "Kendi metnimiz: e-posta izni, ücretsiz geri alınabilir.", "textVersion": "2026-11-a"}"#),
    )
    .unwrap();
    settle().await;
    assert_eq!(
        find(&host, "label.iys-consent__label")
            .text_content()
            .unwrap(),
        "Kendi metnimiz: e-posta izni, ücretsiz geri alınabilir."
    );
}

#[wasm_bindgen_test]
async fn headless_renders_nothing() {
    let host = fresh_host();
    let widget = mount(
        host.clone().into(),
        options(&format!(
            r#"{{"endpoint": "{ENDPOINT}", "mode": "headless", "brand": "B"}}"#
        )),
    )
    .unwrap();
    settle().await;
    assert!(
        host.query_selector("input, fieldset, form")
            .unwrap()
            .is_none()
    );
    let error = widget.record(JsValue::from_str("nope")).unwrap_err();
    assert_eq!(error_code(&error), "invalid_argument");
}

#[wasm_bindgen_test]
async fn destroy_leaves_the_page_as_it_was() {
    let (host, slot) = shop_form();
    let before = host.inner_html();
    let mut widget = mount(slot.into(), checkout_options("")).unwrap();
    settle().await;
    assert_ne!(host.inner_html(), before);
    let changes = collect(&widget, "iys:change");
    widget.destroy();
    settle().await;
    assert_eq!(host.inner_html(), before);
    // The shop's inputs no longer reach the widget, and the handle says it is gone.
    type_into(
        &find(&host, ".shop-phone").unchecked_into(),
        "0532 123 45 67",
    );
    assert_eq!(changes.length(), 0);
    assert_eq!(error_code(&widget.state().unwrap_err()), "destroyed");
    widget.destroy();
}

#[wasm_bindgen_test]
async fn a_destroyed_widget_hears_nothing_of_the_page() {
    let (host, slot) = shop_form();
    let mut widget = mount(slot.into(), checkout_options("")).unwrap();
    settle().await;
    type_into(
        &find(&host, ".shop-phone").unchecked_into(),
        "0532 123 45 67",
    );
    checkbox(&host, "sms").click();
    settle().await;
    widget.destroy();

    // Whatever the page does next reaches no listener of the widget: a listener left behind
    // would record the ticked box on the shop's submit, or throw calling a function that went
    // with the widget.
    let errors = js_sys::Array::new();
    let sink = errors.clone();
    let on_error = wasm_bindgen::closure::Closure::wrap(Box::new(move |event: JsValue| {
        sink.push(&prop(&event, "message"));
    }) as Box<dyn FnMut(JsValue)>);
    let window = web_sys::window().unwrap();
    window
        .add_event_listener_with_callback("error", on_error.as_ref().unchecked_ref())
        .unwrap();
    let stored = || storage_keys(iys_consent::outbox::STORAGE_PREFIX).len();
    let before = stored();
    let fire = |target: &web_sys::EventTarget, kind: &str| {
        target
            .dispatch_event(&web_sys::Event::new(kind).unwrap())
            .unwrap();
    };
    fire(&find(&host, "form.shop-order"), "submit");
    fire(&find(&host, ".shop-phone"), "input");
    fire(&window, "pagehide");
    fire(&window, "online");
    fire(&document(), "visibilitychange");
    settle().await;
    window
        .remove_event_listener_with_callback("error", on_error.as_ref().unchecked_ref())
        .unwrap();
    assert_eq!(errors.length(), 0, "{:?}", errors.to_vec());
    assert_eq!(stored(), before, "the shop's submit was recorded");
}

#[wasm_bindgen_test]
fn bad_options_throw_errors_with_stable_codes() {
    let (host, slot) = shop_form();
    let slot_value: JsValue = slot.clone().into();
    let good = format!(r#"{{"endpoint": "{ENDPOINT}", "mode": "newsletter", "brand": "B"}}"#);
    let cases: Vec<(JsValue, String, &str)> = vec![
        (slot_value.clone(), "null".into(), "invalid_option"),
        (slot_value.clone(), "{}".into(), "invalid_option"),
        (
            slot_value.clone(),
            format!(r#"{{"endpoint": "{ENDPOINT}", "brand": "B", "colour": "red"}}"#),
            "unknown_option",
        ),
        (
            slot_value.clone(),
            format!(r#"{{"endpoint": "{ENDPOINT}", "brand": 7}}"#),
            "invalid_option",
        ),
        (
            slot_value.clone(),
            r#"{"endpoint": "javascript:alert(1)", "brand": "B"}"#.to_owned(),
            "invalid_option",
        ),
        (
            slot_value.clone(),
            format!(r#"{{"endpoint": "{ENDPOINT}", "brand": "B", "mode": "popup"}}"#),
            "invalid_option",
        ),
        (
            slot_value.clone(),
            format!(r#"{{"endpoint": "{ENDPOINT}", "brand": "B", "locale": "de"}}"#),
            "invalid_option",
        ),
        (
            slot_value.clone(),
            format!(r#"{{"endpoint": "{ENDPOINT}", "brand": "B", "channels": ["fax"]}}"#),
            "unknown_channel",
        ),
        (
            slot_value.clone(),
            format!(r#"{{"endpoint": "{ENDPOINT}", "brand": "B", "channels": []}}"#),
            "invalid_option",
        ),
        (
            slot_value.clone(),
            format!(
                r#"{{"endpoint": "{ENDPOINT}", "brand": "B", "channels": ["sms", "sms"], "phoneInput": ".shop-phone"}}"#
            ),
            "invalid_option",
        ),
        (
            slot_value.clone(),
            format!(
                r#"{{"endpoint": "{ENDPOINT}", "brand": "B", "channels": ["email"], "emailInput": "[[bad"}}"#
            ),
            "invalid_selector",
        ),
        (
            slot_value.clone(),
            format!(
                r#"{{"endpoint": "{ENDPOINT}", "brand": "B", "channels": ["email"], "emailInput": ".nowhere"}}"#
            ),
            "invalid_selector",
        ),
        (
            slot_value.clone(),
            format!(r#"{{"endpoint": "{ENDPOINT}", "brand": "B", "channels": ["sms"]}}"#),
            "invalid_option",
        ),
        (
            slot_value.clone(),
            format!(
                r#"{{"endpoint": "{ENDPOINT}", "brand": "B", "mode": "newsletter", "privacyNoticeUrl": "javascript:alert(1)"}}"#
            ),
            "invalid_option",
        ),
        (
            slot_value.clone(),
            format!(
                r#"{{"endpoint": "{ENDPOINT}", "brand": "B", "mode": "newsletter", "texts": {{"sms": "x"}}}}"#
            ),
            "invalid_option",
        ),
        (
            slot_value.clone(),
            format!(
                r#"{{"endpoint": "{ENDPOINT}", "brand": "B", "mode": "newsletter", "texts": {{"fax": "x"}}}}"#
            ),
            "unknown_option",
        ),
        (
            slot_value.clone(),
            format!(
                r#"{{"endpoint": "{ENDPOINT}", "brand": "B", "mode": "newsletter", "headers": {{"x-csrf": 1}}}}"#
            ),
            "invalid_option",
        ),
        (
            slot_value.clone(),
            format!(r#"{{"endpoint": "{ENDPOINT}", "brand": "B", "mode": "preferences"}}"#),
            "invalid_option",
        ),
        (
            slot_value.clone(),
            format!(
                r#"{{"endpoint": "{ENDPOINT}", "brand": "B", "mode": "newsletter", "recipientType": "company"}}"#
            ),
            "invalid_option",
        ),
        (
            slot_value.clone(),
            format!(
                r#"{{"endpoint": "{ENDPOINT}", "brand": "B", "mode": "newsletter", "timeoutMs": 5}}"#
            ),
            "invalid_option",
        ),
        (
            slot_value.clone(),
            format!(
                r#"{{"endpoint": "{ENDPOINT}", "brand": "B", "mode": "newsletter", "nameField": "yes"}}"#
            ),
            "invalid_option",
        ),
        (
            slot_value.clone(),
            format!(
                r#"{{"endpoint": "{ENDPOINT}", "brand": "{}", "mode": "newsletter", "channels": ["email"]}}"#,
                "Ş".repeat(1_950)
            ),
            "invalid_option",
        ),
        ("#no-such-element".into(), good.clone(), "invalid_target"),
        ("[[not a selector".into(), good.clone(), "invalid_target"),
        (JsValue::from(42), good.clone(), "invalid_target"),
    ];
    let before = host.inner_html();
    for (target, json, code) in cases {
        let error = mount(target, options(&json)).unwrap_err();
        assert_eq!(error_code(&error), code, "{json}");
        assert!(error.is_instance_of::<js_sys::Error>());
        let message = prop(&error, "message").as_string().unwrap();
        assert!(
            message.contains("expected") || message.contains("unknown"),
            "{message}"
        );
    }
    assert_eq!(host.inner_html(), before, "a failed mount added nothing");
}

#[wasm_bindgen_test]
async fn texts_from_options_are_rendered_as_text_not_html() {
    let host = fresh_host();
    let payload = "<img src=x onerror=\"window.__xss=1\"><script>window.__xss=1</script>";
    let json = format!(
        r#"{{"endpoint": "{ENDPOINT}", "mode": "newsletter", "brand": {brand}, "channels": ["email"], "texts": {{"email": {brand}, "textVersion": "x"}}}}"#,
        brand = js_sys::JSON::stringify(&payload.into())
            .unwrap()
            .as_string()
            .unwrap()
    );
    let _widget = mount(host.clone().into(), options(&json)).unwrap();
    settle().await;
    assert!(host.query_selector("img, script").unwrap().is_none());
    assert!(host.text_content().unwrap().contains("<img src=x"));
    assert!(
        Reflect::get(&web_sys::window().unwrap(), &"__xss".into())
            .unwrap()
            .is_undefined()
    );
}

/// Script and markup payloads put in every text the widget shows and every address it reads.
const XSS_PAYLOADS: &[&str] = &[
    "<img src=x onerror=\"window.__xss=1\">",
    "<script>window.__xss=1</script>",
    "\"><svg onload=\"window.__xss=1\"></svg>",
    "<iframe srcdoc=\"<script>parent.__xss=1</script>\"></iframe>",
    "</label><a href=\"javascript:window.__xss=1\" id=\"xss-link\">x</a>",
    "javascript:window.__xss=1",
];

/// Fails when the page ran a payload or the widget's DOM holds an element a payload brought.
async fn assert_inert(host: &Element, payload: &str) {
    // Long enough for an image's error and a frame's load to have fired.
    crate::pause(100).await;
    assert!(
        host.query_selector("img, script, svg, iframe, #xss-link")
            .unwrap()
            .is_none(),
        "{payload} became markup"
    );
    assert!(
        Reflect::get(&web_sys::window().unwrap(), &"__xss".into())
            .unwrap()
            .is_undefined(),
        "{payload} ran"
    );
}

#[wasm_bindgen_test]
async fn payloads_in_every_text_and_address_stay_text_in_every_mode() {
    for payload in XSS_PAYLOADS {
        let quoted = js_sys::JSON::stringify(&(*payload).into())
            .unwrap()
            .as_string()
            .unwrap();
        let texts = format!(
            r#", "brand": {quoted}, "channels": ["sms", "call", "email"], "texts": {{"sms": {quoted}, "call": {quoted}, "email": {quoted}, "textVersion": "drill"}}"#
        );

        // Checkout: the texts, and the payload typed into the shop's own inputs.
        let (host, slot) = shop_form();
        let checkout = mount(slot.into(), checkout_options(&texts)).unwrap();
        settle().await;
        assert!(host.text_content().unwrap().contains(payload));
        for channel in ["sms", "call", "email"] {
            checkbox(&host, channel).click();
        }
        type_into(&find(&host, ".shop-phone").unchecked_into(), payload);
        type_into(&find(&host, ".shop-email").unchecked_into(), payload);
        settle().await;
        assert!(
            host.query_selector(".iys-consent__error")
                .unwrap()
                .is_some()
        );
        let result = wasm_bindgen_futures::JsFuture::from(checkout.submit().unwrap())
            .await
            .unwrap();
        assert_ne!(prop(&result, "status"), "sent");
        assert_inert(&host, payload).await;

        // Newsletter: the texts, and the payload typed into its own fields.
        let host = fresh_host();
        let signup = mount(
            host.clone().into(),
            options(&format!(
                r#"{{"endpoint": "{ENDPOINT}", "mode": "newsletter", "locale": "en"{texts}}}"#
            )),
        )
        .unwrap();
        settle().await;
        for channel in ["sms", "call", "email"] {
            checkbox(&host, channel).click();
        }
        type_into(&find(&host, "input[type=tel]").unchecked_into(), payload);
        type_into(&find(&host, "input[type=email]").unchecked_into(), payload);
        settle().await;
        let result = wasm_bindgen_futures::JsFuture::from(signup.submit().unwrap())
            .await
            .unwrap();
        assert_ne!(prop(&result, "status"), "sent");
        settle().await;
        assert_inert(&host, payload).await;

        // Headless: the payload as the address and as the text the page showed.
        let host = fresh_host();
        let headless = mount(
            host.clone().into(),
            options(&format!(
                r#"{{"endpoint": "{ENDPOINT}", "mode": "headless"{texts}}}"#
            )),
        )
        .unwrap();
        let decisions = js_sys::JSON::parse(&format!(
            r#"[{{"channel": "email", "status": "granted", "recipient": {quoted}, "text": {quoted}}}]"#
        ))
        .unwrap();
        let result = wasm_bindgen_futures::JsFuture::from(headless.record(decisions).unwrap())
            .await
            .unwrap();
        assert_ne!(prop(&result, "status"), "sent");
        assert_inert(&host, payload).await;
    }
    // A link to the privacy notice never takes a script URL.
    for url in [
        "javascript:window.__xss=1",
        " JavaScript:window.__xss=1",
        "data:text/html,<script>window.__xss=1</script>",
    ] {
        let error = mount(
            fresh_host().into(),
            newsletter(&format!(
                r#", "privacyNoticeUrl": {}"#,
                js_sys::JSON::stringify(&url.into())
                    .unwrap()
                    .as_string()
                    .unwrap()
            )),
        )
        .unwrap_err();
        assert_eq!(error_code(&error), "invalid_option", "{url}");
    }
}
