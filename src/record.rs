//! Building the v1 records the widget sends, as JSON text, with the evidence of what was shown.

use consent_core::record::{RecordId, fit_name, limits, text_sha256};
use consent_core::{
    Channel, ConsentStatus, Locale, Recipient, RecipientError, RecipientType, Timestamp,
};

use crate::bindings;
use crate::json;
use crate::options::Options;

/// The widget's version, recorded as `sdkVersion`.
pub const SDK_VERSION: &str = env!("CARGO_PKG_VERSION");

/// The first `limit` bytes of `text`, cut at a character boundary.
fn clip(text: &str, limit: usize) -> &str {
    let mut end = text.len().min(limit);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// What a record is built from, besides the options.
#[derive(Debug, Clone)]
pub struct Decision<'a> {
    /// The channel.
    pub channel: Channel,
    /// Granted or rejected.
    pub status: ConsentStatus,
    /// The address as typed.
    pub recipient: &'a str,
    /// The exact text shown for the box.
    pub text: &'a str,
    /// The language the text was shown in.
    pub locale: Locale,
    /// The page's URL.
    pub page_url: &'a str,
    /// The browser's user agent.
    pub user_agent: &'a str,
    /// When the person decided.
    pub at: Timestamp,
    /// The person's name and surname, when the page has it.
    pub name: Option<&'a str>,
    /// Individual or merchant.
    pub recipient_type: RecipientType,
}

/// A record ready to be queued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuiltRecord {
    /// Its id.
    pub id: String,
    /// Its channel.
    pub channel: Channel,
    /// Its status.
    pub status: ConsentStatus,
    /// Individual or merchant.
    pub recipient_type: RecipientType,
    /// When the person decided.
    pub at: Timestamp,
    /// The record as JSON text, exactly as the contract says.
    pub json: String,
}

/// A fresh UUIDv7 for a decision at `at`.
pub fn new_id(at: Timestamp) -> RecordId {
    let mut random = [0_u8; 10];
    let bytes = bindings::random_bytes(10);
    random.copy_from_slice(&bytes[..10]);
    RecordId::v7(at.unix_millis().max(0) as u64, random)
}

/// Checks the address for the channel and builds the record.
pub fn build(
    options: &Options,
    decision: &Decision<'_>,
    id: RecordId,
) -> Result<BuiltRecord, RecipientError> {
    Recipient::parse_for(decision.channel, decision.recipient)?;
    let mut json = String::with_capacity(512 + decision.text.len());
    let field = |json: &mut String, name: &str, value: &str, last: bool| {
        json::push_string(json, name);
        json.push(':');
        json::push_string(json, value);
        if !last {
            json.push(',');
        }
    };
    let id_text = id.to_hyphenated();
    json.push('{');
    field(&mut json, "id", &id_text, false);
    field(&mut json, "channel", decision.channel.as_str(), false);
    field(
        &mut json,
        "recipient",
        clip(decision.recipient.trim(), limits::RECIPIENT),
        false,
    );
    field(
        &mut json,
        "recipientType",
        decision.recipient_type.as_str(),
        false,
    );
    field(&mut json, "status", decision.status.as_str(), false);
    field(&mut json, "consentedAt", &decision.at.to_rfc3339(), false);
    field(&mut json, "source", options.source.as_str(), false);
    let name = decision.name.map(fit_name).unwrap_or_default();
    if !name.is_empty() {
        field(&mut json, "name", &name, false);
    }
    json.push_str("\"evidence\":{");
    field(&mut json, "text", decision.text, false);
    field(&mut json, "textSha256", &text_sha256(decision.text), false);
    field(&mut json, "textVersion", &options.text_version, false);
    field(&mut json, "locale", decision.locale.as_str(), false);
    field(
        &mut json,
        "pageUrl",
        clip(decision.page_url, limits::PAGE_URL),
        false,
    );
    field(&mut json, "formId", &options.form_id, false);
    field(&mut json, "mode", options.mode.as_str(), false);
    field(
        &mut json,
        "userAgent",
        clip(decision.user_agent, limits::USER_AGENT),
        false,
    );
    field(&mut json, "sdkVersion", SDK_VERSION, true);
    json.push_str("}}");
    Ok(BuiltRecord {
        id: id_text,
        channel: decision.channel,
        status: decision.status,
        recipient_type: decision.recipient_type,
        at: decision.at,
        json,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clipping_keeps_whole_characters() {
        assert_eq!(clip("ğğğ", 3), "ğ");
        assert_eq!(clip("abc", 10), "abc");
    }
}

#[cfg(test)]
mod contract_tests {
    use consent_core::contract::WireRecord;
    use consent_core::{ConsentRecord, Mode, RecipientType};

    use super::*;

    fn options() -> Options {
        Options {
            endpoint: "https://relay.example/v1/consents".to_owned(),
            brand: "Örnek \"Mağaza\"".to_owned(),
            text_version: "v1".to_owned(),
            ..Options::default()
        }
    }

    #[test]
    fn a_built_record_is_one_the_relay_accepts() {
        let text = crate::texts::consent_text(Locale::Turkish, Channel::Sms, "Örnek \"Mağaza\"\n");
        let decision = Decision {
            recipient_type: RecipientType::Individual,
            channel: Channel::Sms,
            status: ConsentStatus::Granted,
            recipient: " 0532 123 45 67 ",
            text: &text,
            locale: Locale::Turkish,
            page_url: "https://shop.example/checkout?step=2#pay",
            user_agent: "Mozilla/5.0",
            at: Timestamp::parse_rfc3339("2026-11-28T21:04:05.123Z").unwrap(),
            name: None,
        };
        let id = RecordId::v7(1_764_363_845_123, [9; 10]);
        let built = build(&options(), &decision, id).unwrap();
        let wire: WireRecord = serde_json::from_str(&built.json).unwrap();
        let record = ConsentRecord::from_wire(&wire).unwrap();
        assert_eq!(record.recipient().normalised(), "+905321234567");
        assert_eq!(record.evidence().unwrap().text(), text);
        assert_eq!(record.evidence().unwrap().mode(), Mode::Checkout);
        assert_eq!(built.id, id.to_string());
        assert_eq!(record.name(), None);
        assert!(!built.json.contains("\"name\""));
    }

    #[test]
    fn a_name_goes_on_one_line_within_the_relays_limit() {
        let long = format!("Ayşe\n  Yılmaz\t{}", "ş".repeat(150));
        for (given, expected) in [
            ("  Ayşe Yılmaz ", "Ayşe Yılmaz".to_owned()),
            ("Ayşe\r\nYılmaz", "Ayşe Yılmaz".to_owned()),
            // 14 bytes, then 93 two-byte letters: 200 bytes.
            (long.as_str(), format!("Ayşe Yılmaz {}", "ş".repeat(93))),
        ] {
            let decision = Decision {
                recipient_type: RecipientType::Individual,
                channel: Channel::Email,
                status: ConsentStatus::Granted,
                recipient: "ayse@example.com",
                text: "t",
                locale: Locale::Turkish,
                page_url: "https://shop.example/",
                user_agent: "",
                at: Timestamp::from_unix_millis(0),
                name: Some(given),
            };
            let built = build(&options(), &decision, RecordId::v7(0, [0; 10])).unwrap();
            let wire: WireRecord = serde_json::from_str(&built.json).unwrap();
            let record = ConsentRecord::from_wire(&wire).unwrap();
            assert_eq!(record.name(), Some(expected.as_str()), "{given:?}");
        }
    }

    #[test]
    fn an_invalid_address_is_refused_with_its_code() {
        let decision = Decision {
            recipient_type: RecipientType::Individual,
            channel: Channel::Sms,
            status: ConsentStatus::Granted,
            recipient: "0212 123 00 00",
            text: "t",
            locale: Locale::Turkish,
            page_url: "https://shop.example/",
            user_agent: "",
            at: Timestamp::from_unix_millis(0),
            name: None,
        };
        let error = build(&options(), &decision, RecordId::v7(0, [0; 10])).unwrap_err();
        assert_eq!(error.code(), "phone_not_mobile");
    }
}
