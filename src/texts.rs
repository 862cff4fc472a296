//! The widget's sentences in Turkish and English. The consent texts themselves live in
//! `consent_core::texts`, which the relay's register of texts builds from too.
//!
//! Size: the sentences are tables indexed by language (in the order of `Locale::ALL`), not
//! functions of matches: a lookup is a few instructions whatever the number of sentences.

use consent_core::Locale;

pub use consent_core::texts::{DEFAULT_TEXT_VERSION, consent_text};

/// The widget's sentences; each is a row of `MESSAGES`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Message {
    /// Label of the phone input in newsletter mode.
    PhoneLabel,
    /// Label of the e-mail input in newsletter mode.
    EmailLabel,
    /// Label of the name input in newsletter mode.
    NameLabel,
    /// The newsletter's submit button.
    SubmitButton,
    /// Newsletter submitted with no box ticked.
    TickOne,
    /// While records are being sent.
    Recording,
    /// The relay stored them.
    Recorded,
    /// Offline or the relay is unreachable: kept and sent later.
    Queued,
    /// The relay refused them for good.
    Failed,
    /// Button to try a failed delivery again.
    Retry,
    /// Preferences: loading the current state.
    Loading,
    /// Preferences: the state could not be read.
    StateUnavailable,
    /// Preferences: a change was recorded.
    PreferenceSaved,
    /// The records could not be kept in the browser (storage full or disabled).
    NotPersisted,
    /// The question of the individual or merchant choice.
    KindLegend,
    /// The individual answer.
    KindIndividual,
    /// The merchant answer.
    KindMerchant,
    /// The fieldset's legend.
    Legend,
    /// The text of the separate link to the KVKK privacy notice.
    PrivacyNoticeLink,
}

/// Each [`Message`] in Turkish and English, in the order of the enum.
const MESSAGES: [[&str; 2]; 19] = [
    ["Cep telefonu", "Mobile phone"],
    ["E-posta adresi", "E-mail address"],
    ["Ad soyad", "Name and surname"],
    ["Abone ol", "Subscribe"],
    [
        "Lütfen en az bir kutuyu işaretleyin.",
        "Please tick at least one box.",
    ],
    ["İzniniz kaydediliyor…", "Recording your consent…"],
    ["İzniniz kaydedildi.", "Your consent is recorded."],
    [
        "Bağlantı yok; izniniz bu cihazda saklandı ve bağlantı gelince gönderilecek.",
        "You are offline; your consent is kept on this device and will be sent when the connection is back.",
    ],
    [
        "İzniniz kaydedilemedi.",
        "Your consent could not be recorded.",
    ],
    ["Tekrar dene", "Try again"],
    ["Tercihleriniz yükleniyor…", "Loading your preferences…"],
    [
        "Tercihleriniz şu anda okunamadı; kutular son kaydedilen durumu göstermiyor olabilir.",
        "Your preferences could not be read right now; the boxes may not show what was last recorded.",
    ],
    ["Tercihiniz kaydedildi.", "Your preference is recorded."],
    [
        "Bu tarayıcı izninizi saklayamadı; gönderim hemen deneniyor.",
        "This browser could not keep your consent; sending it right away.",
    ],
    [
        "İletileri kim olarak alıyorsunuz?",
        "Who receives the messages?",
    ],
    ["Bireysel müşteri olarak", "Me, as an individual customer"],
    [
        "Tacir veya esnaf olarak (işletmem adına)",
        "My business (a merchant or tradesperson)",
    ],
    ["Ticari elektronik ileti izni", "Marketing messages"],
    [
        "Kişisel verilerin işlenmesine ilişkin aydınlatma metni",
        "Privacy notice on the processing of personal data",
    ],
];

/// A sentence in the person's language.
pub fn message(locale: Locale, message: Message) -> &'static str {
    MESSAGES[message as usize][locale as usize]
}

/// The sentence for each address error code from `consent-core`, in Turkish and English.
const RECIPIENT_ERRORS: [(&str, [&str; 2]); 18] = [
    (
        "phone_empty",
        ["Telefon numaranızı yazın.", "Enter your phone number."],
    ),
    (
        "phone_invalid_character",
        [
            "Telefon numarasında yalnızca rakam, boşluk, tire ve parantez olabilir.",
            "A phone number may hold only digits, spaces, dashes and parentheses.",
        ],
    ),
    (
        "phone_not_turkish",
        [
            "Yalnızca +90 ile başlayan Türkiye numaraları kabul edilir.",
            "Only Turkish numbers starting with +90 are accepted.",
        ],
    ),
    (
        "phone_wrong_length",
        [
            "Telefon numarası alan koduyla birlikte 10 haneli olmalı, örneğin 0532 123 45 67.",
            "A phone number has 10 digits with the area code, for example 0532 123 45 67.",
        ],
    ),
    (
        "phone_unassigned",
        [
            "Bu numara kullanılan bir Türkiye numarası değil.",
            "This is not a Turkish number in use.",
        ],
    ),
    (
        "phone_not_mobile",
        [
            "SMS için bir cep telefonu numarası gerekir.",
            "SMS needs a mobile number.",
        ],
    ),
    (
        "phone_cannot_receive",
        [
            "Bu numaraya ticari arama yapılamaz.",
            "Marketing calls cannot go to this number.",
        ],
    ),
    (
        "email_empty",
        ["E-posta adresinizi yazın.", "Enter your e-mail address."],
    ),
    (
        "email_turkish_letter",
        [
            "E-posta adresinde Türkçe karakter (ç, ğ, ı, ö, ş, ü) olamaz.",
            "An e-mail address cannot hold Turkish letters (ç, ğ, ı, ö, ş, ü).",
        ],
    ),
    (
        "email_non_ascii",
        [
            "E-posta adresinde yalnızca İngilizce harfler olabilir.",
            "An e-mail address may hold only English letters.",
        ],
    ),
    (
        "email_whitespace",
        [
            "E-posta adresinde boşluk olamaz.",
            "An e-mail address cannot hold spaces.",
        ],
    ),
    (
        "email_too_short",
        [
            "Geçerli bir e-posta adresi yazın, örneğin ornek@alan.com.",
            "Enter a valid e-mail address, for example name@example.com.",
        ],
    ),
    (
        "email_too_long",
        [
            "Geçerli bir e-posta adresi yazın, örneğin ornek@alan.com.",
            "Enter a valid e-mail address, for example name@example.com.",
        ],
    ),
    (
        "email_at_sign",
        [
            "Geçerli bir e-posta adresi yazın, örneğin ornek@alan.com.",
            "Enter a valid e-mail address, for example name@example.com.",
        ],
    ),
    (
        "email_local_part",
        [
            "Geçerli bir e-posta adresi yazın, örneğin ornek@alan.com.",
            "Enter a valid e-mail address, for example name@example.com.",
        ],
    ),
    (
        "email_domain",
        [
            "Geçerli bir e-posta adresi yazın, örneğin ornek@alan.com.",
            "Enter a valid e-mail address, for example name@example.com.",
        ],
    ),
    (
        "email_forbidden_character",
        [
            "E-posta adresinde izin verilmeyen bir işaret var.",
            "The e-mail address holds a character that is not allowed.",
        ],
    ),
    (
        "recipient_channel_mismatch",
        [
            "Bu kanal için bu tür bir adres kullanılamaz.",
            "This kind of address does not fit this channel.",
        ],
    ),
];

/// The sentence for a code this version does not know: the person never sees a code.
const OTHER_RECIPIENT_ERROR: [&str; 2] =
    ["Bu adres kabul edilmedi.", "This address was not accepted."];

/// The sentence for an address error code from `consent-core`, in the person's language.
pub fn recipient_error(locale: Locale, code: &str) -> &'static str {
    let sentences = RECIPIENT_ERRORS
        .iter()
        .find(|(known, _)| *known == code)
        .map_or(OTHER_RECIPIENT_ERROR, |(_, sentences)| *sentences);
    sentences[locale as usize]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_sentence_is_in_the_language_asked_for() {
        assert_eq!(message(Locale::Turkish, Message::Retry), "Tekrar dene");
        assert_eq!(message(Locale::English, Message::Retry), "Try again");
        assert_eq!(
            message(Locale::English, Message::PrivacyNoticeLink),
            "Privacy notice on the processing of personal data"
        );
        assert_eq!(
            recipient_error(Locale::Turkish, "phone_not_mobile"),
            "SMS için bir cep telefonu numarası gerekir."
        );
        assert_eq!(
            recipient_error(Locale::English, "email_domain"),
            "Enter a valid e-mail address, for example name@example.com."
        );
    }

    #[test]
    fn a_code_this_version_does_not_know_gets_the_general_sentence() {
        assert_eq!(
            recipient_error(Locale::English, "phone_from_the_future"),
            "This address was not accepted."
        );
        for (index, (code, _)) in RECIPIENT_ERRORS.iter().enumerate() {
            assert!(
                RECIPIENT_ERRORS[index + 1..]
                    .iter()
                    .all(|(other, _)| other != code),
                "{code} has one row"
            );
            assert_ne!(
                recipient_error(Locale::English, code),
                OTHER_RECIPIENT_ERROR[1]
            );
        }
    }
}
