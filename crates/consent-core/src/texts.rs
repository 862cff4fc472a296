//! The default consent texts in Turkish and English, one per channel, naming the brand.
//!
//! Each names the brand, the channel, the purpose, and the right to withdraw at any time for
//! free, as the regulation asks. The widget renders exactly these strings, and they are hashed
//! into the record, so they are evidence: change them only together with the text version. The
//! relay builds the same ones for its register of texts, so a record made with the defaults is
//! known to it.

use crate::vocabulary::{Channel, Locale};

/// The version label of the default texts, recorded as `textVersion`.
pub const DEFAULT_TEXT_VERSION: &str = "iys-consent-2026-11";

/// The consent text for one channel's box.
pub fn consent_text(locale: Locale, channel: Channel, brand: &str) -> String {
    match (locale, channel) {
        (Locale::Turkish, Channel::Sms) => format!(
            "{brand} tarafından kampanya, indirim ve yeniliklerle ilgili ticari elektronik iletilerin cep telefonuma SMS ile gönderilmesini kabul ediyorum. Bu onayı dilediğim zaman ücretsiz olarak geri alabileceğimi biliyorum."
        ),
        (Locale::Turkish, Channel::Call) => format!(
            "{brand} tarafından kampanya, indirim ve yeniliklerle ilgili ticari amaçlı telefon aramaları almayı kabul ediyorum. Bu onayı dilediğim zaman ücretsiz olarak geri alabileceğimi biliyorum."
        ),
        (Locale::Turkish, Channel::Email) => format!(
            "{brand} tarafından kampanya, indirim ve yeniliklerle ilgili ticari elektronik iletilerin e-posta adresime gönderilmesini kabul ediyorum. Bu onayı dilediğim zaman ücretsiz olarak geri alabileceğimi biliyorum."
        ),
        (Locale::English, Channel::Sms) => format!(
            "I agree to receive commercial messages from {brand} about campaigns, discounts and new products by SMS to my mobile phone. I know I can withdraw this consent at any time, free of charge."
        ),
        (Locale::English, Channel::Call) => format!(
            "I agree to receive commercial phone calls from {brand} about campaigns, discounts and new products. I know I can withdraw this consent at any time, free of charge."
        ),
        (Locale::English, Channel::Email) => format!(
            "I agree to receive commercial messages from {brand} about campaigns, discounts and new products by e-mail. I know I can withdraw this consent at any time, free of charge."
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_text_names_the_brand_and_the_right_to_withdraw_for_free() {
        for &locale in Locale::ALL {
            for &channel in Channel::ALL {
                let text = consent_text(locale, channel, "Örnek Mağaza");
                assert!(text.starts_with("Örnek Mağaza") || text.contains("from Örnek Mağaza"));
                let (withdraw, free) = match locale {
                    Locale::Turkish => ("geri alabileceğimi", "ücretsiz"),
                    Locale::English => ("withdraw", "free of charge"),
                };
                assert!(text.contains(withdraw) && text.contains(free), "{text}");
            }
        }
    }
}
