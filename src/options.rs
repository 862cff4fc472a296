//! The options a page passes to `mount`, read from a plain JS object and checked.

use consent_core::{Channel, Locale};
use js_sys::{Array, Object, Reflect};
use wasm_bindgen::{JsCast, JsValue};

use crate::error::WidgetError;

/// The options this version understands.
const KNOWN: &[&str] = &["brand", "channels", "locale", "privacyNoticeUrl"];

/// Checked options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// The brand named in every consent text.
    pub brand: String,
    /// The channels shown, in this order.
    pub channels: Vec<Channel>,
    /// The language of the texts.
    pub locale: Locale,
    /// The KVKK privacy notice, shown as a separate link.
    pub privacy_notice_url: Option<String>,
}

impl Options {
    /// Reads and checks the options object.
    pub fn from_js(value: &JsValue) -> Result<Options, WidgetError> {
        let object: &Object = value
            .dyn_ref()
            .filter(|_| !value.is_null() && !Array::is_array(value))
            .ok_or_else(|| WidgetError::invalid_option("options", "an object"))?;
        for key in Object::keys(object).iter() {
            let key = key.as_string().unwrap_or_default();
            if !KNOWN.contains(&key.as_str()) {
                return Err(WidgetError::unknown_option(&key));
            }
        }
        let brand = string(object, "brand")?
            .filter(|brand| !brand.trim().is_empty())
            .ok_or_else(|| WidgetError::invalid_option("brand", "a non-empty string"))?;
        let locale = match string(object, "locale")? {
            None => Locale::Turkish,
            Some(text) => text
                .parse()
                .map_err(|_| WidgetError::invalid_option("locale", "\"tr\" or \"en\""))?,
        };
        let channels = channels(object)?;
        let privacy_notice_url = string(object, "privacyNoticeUrl")?;
        if let Some(url) = &privacy_notice_url
            && !is_safe_url(url)
        {
            return Err(WidgetError::invalid_option(
                "privacyNoticeUrl",
                "an http, https or relative URL",
            ));
        }
        Ok(Options {
            brand,
            channels,
            locale,
            privacy_notice_url,
        })
    }
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

fn channels(object: &Object) -> Result<Vec<Channel>, WidgetError> {
    let Some(value) = field(object, "channels")? else {
        return Ok(Channel::ALL.to_vec());
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
    Ok(channels)
}

/// Whether a URL from the options may become a link: `http`, `https`, or relative.
pub fn is_safe_url(url: &str) -> bool {
    let url = url.trim_start();
    match url.find(':') {
        None => true,
        Some(colon) => {
            let before = &url[..colon];
            // A colon after the first `/`, `?` or `#` belongs to the path, not a scheme.
            if before.contains(['/', '?', '#']) {
                return true;
            }
            before.eq_ignore_ascii_case("http") || before.eq_ignore_ascii_case("https")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::is_safe_url;

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
