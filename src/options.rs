//! The options a page passes to `mount`, read from a plain JS object and checked.
//!
//! Every mistake throws a JS `Error` with a stable `code` and a message naming the option and
//! what was expected; nothing is guessed.

use consent_core::record::limits;
use consent_core::{CaptureSource, Channel, Locale, Mode, RecipientType};
use js_sys::{Array, Object, Reflect};
use wasm_bindgen::{JsCast, JsValue};

use crate::error::WidgetError;
use crate::texts::DEFAULT_TEXT_VERSION;

/// Every option name.
const KNOWN: &[&str] = &[
    "endpoint",
    "mode",
    "channels",
    "brand",
    "locale",
    "texts",
    "privacyNoticeUrl",
    "recipientType",
    "source",
    "formId",
    "headers",
    "form",
    "phoneInput",
    "emailInput",
    "nameInput",
    "nameField",
    "recipientTypeChoice",
    "stateToken",
    "phone",
    "email",
    "timeoutMs",
];

/// The keys of the `texts` option.
const TEXT_KEYS: &[&str] = &["sms", "call", "email", "textVersion"];

/// Checked options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// Where records go: the relay's `/v1/consents` URL.
    pub endpoint: String,
    /// How the widget is embedded.
    pub mode: Mode,
    /// The channels shown, in this order.
    pub channels: Vec<Channel>,
    /// The brand named in every consent text.
    pub brand: String,
    /// The language of the texts.
    pub locale: Locale,
    /// The shop's own consent texts per channel, replacing the defaults.
    pub custom_texts: Vec<(Channel, String)>,
    /// The version label of the texts in use.
    pub text_version: String,
    /// The KVKK privacy notice, shown as a separate link.
    pub privacy_notice_url: Option<String>,
    /// Individual (the default) or merchant.
    pub recipient_type: RecipientType,
    /// Web page or app web view.
    pub source: CaptureSource,
    /// The shop's name for the form, recorded as evidence.
    pub form_id: String,
    /// Extra request headers, such as a CSRF token.
    pub headers: Vec<(String, String)>,
    /// Checkout: the shop's form, when not the one around the widget.
    pub form: Option<String>,
    /// Checkout: the shop's phone input.
    pub phone_input: Option<String>,
    /// Checkout: the shop's e-mail input.
    pub email_input: Option<String>,
    /// Checkout: the shop's input of the person's name and surname, recorded with each decision.
    pub name_input: Option<String>,
    /// Newsletter: whether to show a field for the person's name and surname.
    pub name_field: bool,
    /// Checkout and newsletter: whether the person chooses between individual and merchant;
    /// `recipient_type` is the choice at first.
    pub recipient_type_choice: bool,
    /// Preferences: the token the shop's backend signed.
    pub state_token: Option<String>,
    /// Preferences: the signed-in customer's phone number.
    pub phone: Option<String>,
    /// Preferences: the signed-in customer's e-mail address.
    pub email: Option<String>,
    /// How long a request to the relay may take before it is retried, in milliseconds.
    pub timeout_ms: u32,
}

impl Default for Options {
    /// What a page that names no option but `endpoint` and `brand` gets, with those two empty.
    fn default() -> Options {
        Options {
            endpoint: String::new(),
            mode: Mode::Checkout,
            channels: Channel::ALL.to_vec(),
            brand: String::new(),
            locale: Locale::Turkish,
            custom_texts: Vec::new(),
            text_version: DEFAULT_TEXT_VERSION.to_owned(),
            privacy_notice_url: None,
            recipient_type: RecipientType::Individual,
            source: CaptureSource::Web,
            form_id: Mode::Checkout.as_str().to_owned(),
            headers: Vec::new(),
            form: None,
            phone_input: None,
            email_input: None,
            name_input: None,
            name_field: false,
            recipient_type_choice: false,
            state_token: None,
            phone: None,
            email: None,
            timeout_ms: 10_000,
        }
    }
}

impl Options {
    /// Reads and checks the options object.
    // Size: read by hand. serde-wasm-bindgen deserialising the same options into a derived
    // struct, added before anything here was taken out, made the wasm 11.1 KB brotli larger
    // (its errors bring `core::fmt` in); this whole reader measured under 3 KB.
    pub fn from_js(value: &JsValue) -> Result<Options, WidgetError> {
        let object: &Object = value
            .dyn_ref()
            .filter(|_| !value.is_null() && !Array::is_array(value))
            .ok_or_else(|| WidgetError::invalid_option("options", "an object"))?;
        check_keys(object, KNOWN, "")?;
        // Size: the options are set one by one on a value with the defaults, so that each
        // error returns by dropping that one value; reading them into locals first made the
        // compiler write, at each of the twenty ways out, the drops of every string read
        // before it (about 6 KB of code).
        let mut options = Options::default();
        if let Some(index) = choice(
            object,
            "mode",
            Mode::NAMES,
            "\"checkout\", \"newsletter\", \"preferences\" or \"headless\"",
        )? {
            options.mode = Mode::ALL[index];
        }
        options.endpoint = string(object, "endpoint")?
            .filter(|url| !url.trim().is_empty())
            .ok_or_else(|| {
                WidgetError::invalid_option("endpoint", "the relay's /v1/consents URL")
            })?;
        options.privacy_notice_url = string(object, "privacyNoticeUrl")?;
        for (key, url) in [
            ("endpoint", Some(&options.endpoint)),
            ("privacyNoticeUrl", options.privacy_notice_url.as_ref()),
        ] {
            if url.is_some_and(|url| !is_safe_url(url)) {
                return Err(WidgetError::invalid_option(
                    key,
                    "an http, https or relative URL",
                ));
            }
        }
        options.brand = string(object, "brand")?
            .filter(|brand| !brand.trim().is_empty())
            .ok_or_else(|| WidgetError::invalid_option("brand", "a non-empty string"))?;
        if let Some(index) = choice(object, "locale", Locale::NAMES, "\"tr\" or \"en\"")? {
            options.locale = Locale::ALL[index];
        }
        if let Some(index) = choice(
            object,
            "recipientType",
            RecipientType::NAMES,
            "\"individual\" or \"merchant\"",
        )? {
            options.recipient_type = RecipientType::ALL[index];
        }
        if let Some(index) = choice(
            object,
            "source",
            CaptureSource::NAMES,
            "\"web\" or \"mobile\"",
        )? {
            options.source = CaptureSource::ALL[index];
        }
        if let Some(channels) = channels(object)? {
            options.channels = channels;
        }
        (options.custom_texts, options.text_version) = texts(object)?;
        // The default texts name the brand; one that outgrows what the relay keeps of a text
        // would otherwise be refused only when its records are delivered.
        for channel in &options.channels {
            if options
                .custom_texts
                .iter()
                .any(|(custom, _)| custom == channel)
            {
                continue;
            }
            for shown in Locale::ALL {
                if crate::texts::consent_text(*shown, *channel, &options.brand).len() > limits::TEXT
                {
                    return Err(WidgetError::invalid_option(
                        "brand",
                        "a name short enough that each consent text stays within 4096 bytes",
                    ));
                }
            }
        }
        options.form_id =
            string(object, "formId")?.unwrap_or_else(|| options.mode.as_str().to_owned());
        if options.form_id.len() > limits::FORM_ID {
            return Err(WidgetError::invalid_option("formId", "at most 128 bytes"));
        }
        options.headers = headers(object)?;
        options.form = string(object, "form")?;
        options.phone_input = string(object, "phoneInput")?;
        options.email_input = string(object, "emailInput")?;
        options.name_input = string(object, "nameInput")?;
        options.name_field = flag(object, "nameField")?;
        options.recipient_type_choice = flag(object, "recipientTypeChoice")?;
        options.state_token = string(object, "stateToken")?;
        options.phone = string(object, "phone")?;
        options.email = string(object, "email")?;
        options.timeout_ms = timeout(object)?;
        options.check_mode()?;
        Ok(options)
    }

    /// Whether any channel shown uses a phone number.
    pub fn needs_phone(&self) -> bool {
        self.channels.iter().any(|channel| channel.is_phone())
    }

    /// Whether the e-mail channel is shown.
    pub fn needs_email(&self) -> bool {
        self.channels.contains(&Channel::Email)
    }

    /// The options each mode needs.
    fn check_mode(&self) -> Result<(), WidgetError> {
        match self.mode {
            Mode::Checkout => {
                if self.needs_phone() && self.phone_input.is_none() {
                    return Err(WidgetError::invalid_option(
                        "phoneInput",
                        "a CSS selector of the shop's phone input, for the sms and call boxes",
                    ));
                }
                if self.needs_email() && self.email_input.is_none() {
                    return Err(WidgetError::invalid_option(
                        "emailInput",
                        "a CSS selector of the shop's e-mail input, for the email box",
                    ));
                }
            }
            Mode::Preferences => {
                if self.state_token.is_none() {
                    return Err(WidgetError::invalid_option(
                        "stateToken",
                        "the token the shop's backend signed for this customer",
                    ));
                }
                if self.needs_phone() && self.phone.is_none() {
                    return Err(WidgetError::invalid_option(
                        "phone",
                        "the customer's phone number, for the sms and call boxes",
                    ));
                }
                if self.needs_email() && self.email.is_none() {
                    return Err(WidgetError::invalid_option(
                        "email",
                        "the customer's e-mail address, for the email box",
                    ));
                }
            }
            Mode::Newsletter | Mode::Headless => {}
        }
        if self.recipient_type_choice && matches!(self.mode, Mode::Preferences | Mode::Headless) {
            return Err(WidgetError::invalid_option(
                "recipientTypeChoice",
                "false in preferences and headless modes: the person chooses in checkout and newsletter",
            ));
        }
        Ok(())
    }
}

/// A boolean option, false when absent.
fn flag(object: &Object, key: &str) -> Result<bool, WidgetError> {
    match field(object, key)? {
        None => Ok(false),
        Some(value) => value
            .as_bool()
            .ok_or_else(|| WidgetError::invalid_option(key, "true or false")),
    }
}

fn check_keys(object: &Object, known: &[&str], prefix: &str) -> Result<(), WidgetError> {
    for key in Object::keys(object).iter() {
        let key = key.as_string().unwrap_or_default();
        if !known.contains(&key.as_str()) {
            return Err(WidgetError::unknown_option(&[prefix, &key].concat()));
        }
    }
    Ok(())
}

fn field(object: &Object, key: &str) -> Result<Option<JsValue>, WidgetError> {
    let value = Reflect::get(object, &JsValue::from_str(key))
        .map_err(|_| WidgetError::invalid_option(key, "a readable property"))?;
    Ok((!value.is_undefined()).then_some(value))
}

fn string(object: &Object, key: &str) -> Result<Option<String>, WidgetError> {
    match field(object, key)? {
        None => Ok(None),
        Some(value) => value
            .as_string()
            .map(Some)
            .ok_or_else(|| WidgetError::invalid_option(key, "a string")),
    }
}

/// The position in `names` of the string option `key`, with the error that lists them.
// Size: one function for the four options that name a value, rather than one per type.
fn choice(
    object: &Object,
    key: &str,
    names: &[&str],
    expected: &str,
) -> Result<Option<usize>, WidgetError> {
    match string(object, key)? {
        None => Ok(None),
        Some(text) => names
            .iter()
            .position(|name| *name == text)
            .map(Some)
            .ok_or_else(|| WidgetError::invalid_option(key, expected)),
    }
}

fn channels(object: &Object) -> Result<Option<Vec<Channel>>, WidgetError> {
    let Some(value) = field(object, "channels")? else {
        return Ok(None);
    };
    let expected = "a non-empty array of \"sms\", \"call\" and \"email\", each at most once";
    if !Array::is_array(&value) {
        return Err(WidgetError::invalid_option("channels", expected));
    }
    let mut channels = Vec::new();
    for item in Array::from(&value).iter() {
        let name = item
            .as_string()
            .ok_or_else(|| WidgetError::invalid_option("channels", expected))?;
        let channel: Channel = name
            .parse()
            .map_err(|_| WidgetError::unknown_channel(&name))?;
        if channels.contains(&channel) {
            return Err(WidgetError::invalid_option("channels", expected));
        }
        channels.push(channel);
    }
    if channels.is_empty() {
        return Err(WidgetError::invalid_option("channels", expected));
    }
    Ok(Some(channels))
}

fn texts(object: &Object) -> Result<(Vec<(Channel, String)>, String), WidgetError> {
    let Some(value) = field(object, "texts")? else {
        return Ok((Vec::new(), DEFAULT_TEXT_VERSION.to_owned()));
    };
    let texts: &Object = value
        .dyn_ref()
        .filter(|_| !value.is_null() && !Array::is_array(&value))
        .ok_or_else(|| {
            WidgetError::invalid_option("texts", "an object of texts per channel and a textVersion")
        })?;
    check_keys(texts, TEXT_KEYS, "texts.")?;
    let mut custom = Vec::new();
    for &channel in Channel::ALL {
        let key = ["texts.", channel.as_str()].concat();
        if let Some(text) = string(texts, channel.as_str())
            .map_err(|_| WidgetError::invalid_option(&key, "a string"))?
        {
            if text.trim().is_empty() || text.len() > limits::TEXT {
                return Err(WidgetError::invalid_option(
                    &key,
                    "a non-empty text of at most 4096 bytes",
                ));
            }
            custom.push((channel, text));
        }
    }
    let version = string(texts, "textVersion")
        .map_err(|_| WidgetError::invalid_option("texts.textVersion", "a string"))?;
    let version = match (version, custom.is_empty()) {
        (Some(version), _)
            if !version.trim().is_empty() && version.len() <= limits::TEXT_VERSION =>
        {
            version
        }
        (None, true) => DEFAULT_TEXT_VERSION.to_owned(),
        _ => {
            return Err(WidgetError::invalid_option(
                "texts.textVersion",
                "a version label of at most 64 bytes, required with custom texts",
            ));
        }
    };
    Ok((custom, version))
}

fn timeout(object: &Object) -> Result<u32, WidgetError> {
    let expected = "a number of milliseconds from 1000 to 60000";
    match field(object, "timeoutMs")? {
        None => Ok(10_000),
        Some(value) => value
            .as_f64()
            .filter(|millis| (1_000.0..=60_000.0).contains(millis))
            .map(|millis| millis as u32)
            .ok_or_else(|| WidgetError::invalid_option("timeoutMs", expected)),
    }
}

fn headers(object: &Object) -> Result<Vec<(String, String)>, WidgetError> {
    let Some(value) = field(object, "headers")? else {
        return Ok(Vec::new());
    };
    let expected = "an object of header names to string values";
    let headers: &Object = value
        .dyn_ref()
        .filter(|_| !value.is_null() && !Array::is_array(&value))
        .ok_or_else(|| WidgetError::invalid_option("headers", expected))?;
    let mut pairs = Vec::new();
    for key in Object::keys(headers).iter() {
        let name = key.as_string().unwrap_or_default();
        let value = Reflect::get(headers, &key)
            .ok()
            .and_then(|value| value.as_string())
            .ok_or_else(|| WidgetError::invalid_option("headers", expected))?;
        let is_token = !name.is_empty()
            && name
                .bytes()
                .all(|byte| byte.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&byte));
        if !is_token
            || name.eq_ignore_ascii_case("content-type")
            || value.bytes().any(|byte| byte == b'\r' || byte == b'\n')
        {
            return Err(WidgetError::invalid_option("headers", expected));
        }
        pairs.push((name, value));
    }
    Ok(pairs)
}

/// Whether a URL from the options may be used: `http`, `https`, or relative.
pub fn is_safe_url(url: &str) -> bool {
    let url = url.trim_start();
    // Size: byte searches, as the scheme and its delimiters are ASCII, rather than `str`'s
    // pattern searchers for a char and for a set of them.
    match url.bytes().position(|byte| byte == b':') {
        None => true,
        Some(colon) => {
            let before = &url[..colon];
            // A colon after the first `/`, `?` or `#` belongs to the path, not a scheme.
            if before
                .bytes()
                .any(|byte| matches!(byte, b'/' | b'?' | b'#'))
            {
                return true;
            }
            before.eq_ignore_ascii_case("http") || before.eq_ignore_ascii_case("https")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{KNOWN, TEXT_KEYS, is_safe_url};

    /// The package's TypeScript declarations, as `cargo xtask dist` checks them.
    const DECLARATIONS: &str = include_str!("../tests/golden/iys_consent.d.ts");

    /// The members of `interface name` in the package's TypeScript declarations.
    fn declared(name: &str) -> Vec<String> {
        let start = DECLARATIONS
            .find(&["export interface ", name, " {"].concat())
            .unwrap();
        let body = &DECLARATIONS[start..];
        let body = &body[body.find('{').unwrap() + 1..body.find("\n}").unwrap()];
        body.lines()
            .map(str::trim)
            .filter(|line| !line.starts_with("/**") && !line.is_empty())
            .filter_map(|line| line.split([':', '?']).next())
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn the_typescript_declarations_name_every_option_the_reader_knows() {
        let mut known: Vec<&str> = KNOWN.to_vec();
        let mut declared_options = declared("MountOptions");
        known.sort_unstable();
        declared_options.sort_unstable();
        assert_eq!(declared_options, known);
        let mut text_keys = declared("ConsentTexts");
        text_keys.sort_unstable();
        let mut expected = TEXT_KEYS.to_vec();
        expected.sort_unstable();
        assert_eq!(text_keys, expected);
    }

    #[test]
    fn only_http_https_and_relative_urls_are_safe() {
        for url in [
            "https://shop.example/kvkk",
            "HTTP://x.example",
            "/kvkk",
            "kvkk.html",
            "./a?b=c:d",
        ] {
            assert!(is_safe_url(url), "{url}");
        }
        for url in [
            "javascript:alert(1)",
            " JavaScript:alert(1)",
            "data:text/html,x",
            "vbscript:x",
        ] {
            assert!(!is_safe_url(url), "{url}");
        }
    }
}
