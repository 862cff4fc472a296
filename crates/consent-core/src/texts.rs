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

/// What comes before and after the brand in each text, by language (in the order of
/// [`Locale::ALL`]) and channel (in the order of [`Channel::ALL`]).
// Size: a table joined around the brand, not `format!`, which the widget would carry with the
// whole of `core::fmt`.
const TEXTS: [[(&str, &str); 3]; 2] = [
    [
        (
            "",
            " tarafından kampanya, indirim ve yeniliklerle ilgili ticari elektronik iletilerin cep telefonuma SMS ile gönderilmesini kabul ediyorum. Bu onayı dilediğim zaman ücretsiz olarak geri alabileceğimi biliyorum.",
        ),
        (
            "",
            " tarafından kampanya, indirim ve yeniliklerle ilgili ticari amaçlı telefon aramaları almayı kabul ediyorum. Bu onayı dilediğim zaman ücretsiz olarak geri alabileceğimi biliyorum.",
        ),
        (
            "",
            " tarafından kampanya, indirim ve yeniliklerle ilgili ticari elektronik iletilerin e-posta adresime gönderilmesini kabul ediyorum. Bu onayı dilediğim zaman ücretsiz olarak geri alabileceğimi biliyorum.",
        ),
    ],
    [
        (
            "I agree to receive commercial messages from ",
            " about campaigns, discounts and new products by SMS to my mobile phone. I know I can withdraw this consent at any time, free of charge.",
        ),
        (
            "I agree to receive commercial phone calls from ",
            " about campaigns, discounts and new products. I know I can withdraw this consent at any time, free of charge.",
        ),
        (
            "I agree to receive commercial messages from ",
            " about campaigns, discounts and new products by e-mail. I know I can withdraw this consent at any time, free of charge.",
        ),
    ],
];

/// The consent text for one channel's box.
pub fn consent_text(locale: Locale, channel: Channel, brand: &str) -> String {
    let (before, after) = TEXTS[locale as usize][channel as usize];
    [before, brand, after].concat()
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
