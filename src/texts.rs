//! The widget's sentences in Turkish and English. The consent texts themselves live in
//! `consent_core::texts`, which the relay's register of texts builds from too.

use consent_core::Locale;

pub use consent_core::texts::{DEFAULT_TEXT_VERSION, consent_text};

/// The fieldset's legend.
pub fn legend(locale: Locale) -> &'static str {
    match locale {
        Locale::Turkish => "Ticari elektronik ileti izni",
        Locale::English => "Marketing messages",
    }
}

/// The text of the separate link to the KVKK privacy notice.
pub fn privacy_notice_link(locale: Locale) -> &'static str {
    match locale {
        Locale::Turkish => "Kişisel verilerin işlenmesine ilişkin aydınlatma metni",
        Locale::English => "Privacy notice on the processing of personal data",
    }
}

/// The widget's other sentences.
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
}

/// A sentence in the person's language.
pub fn message(locale: Locale, message: Message) -> &'static str {
    use Message::*;
    match (locale, message) {
        (Locale::Turkish, PhoneLabel) => "Cep telefonu",
        (Locale::Turkish, EmailLabel) => "E-posta adresi",
        (Locale::Turkish, NameLabel) => "Ad soyad",
        (Locale::Turkish, SubmitButton) => "Abone ol",
        (Locale::Turkish, TickOne) => "Lütfen en az bir kutuyu işaretleyin.",
        (Locale::Turkish, Recording) => "İzniniz kaydediliyor…",
        (Locale::Turkish, Recorded) => "İzniniz kaydedildi.",
        (Locale::Turkish, Queued) => {
            "Bağlantı yok; izniniz bu cihazda saklandı ve bağlantı gelince gönderilecek."
        }
        (Locale::Turkish, Failed) => "İzniniz kaydedilemedi.",
        (Locale::Turkish, Retry) => "Tekrar dene",
        (Locale::Turkish, Loading) => "Tercihleriniz yükleniyor…",
        (Locale::Turkish, StateUnavailable) => {
            "Tercihleriniz şu anda okunamadı; kutular son kaydedilen durumu göstermiyor olabilir."
        }
        (Locale::Turkish, PreferenceSaved) => "Tercihiniz kaydedildi.",
        (Locale::Turkish, NotPersisted) => {
            "Bu tarayıcı izninizi saklayamadı; gönderim hemen deneniyor."
        }
        (Locale::Turkish, KindLegend) => "İletileri kim olarak alıyorsunuz?",
        (Locale::Turkish, KindIndividual) => "Bireysel müşteri olarak",
        (Locale::Turkish, KindMerchant) => "Tacir veya esnaf olarak (işletmem adına)",
        (Locale::English, PhoneLabel) => "Mobile phone",
        (Locale::English, EmailLabel) => "E-mail address",
        (Locale::English, NameLabel) => "Name and surname",
        (Locale::English, SubmitButton) => "Subscribe",
        (Locale::English, TickOne) => "Please tick at least one box.",
        (Locale::English, Recording) => "Recording your consent…",
        (Locale::English, Recorded) => "Your consent is recorded.",
        (Locale::English, Queued) => {
            "You are offline; your consent is kept on this device and will be sent when the connection is back."
        }
        (Locale::English, Failed) => "Your consent could not be recorded.",
        (Locale::English, Retry) => "Try again",
        (Locale::English, Loading) => "Loading your preferences…",
        (Locale::English, StateUnavailable) => {
            "Your preferences could not be read right now; the boxes may not show what was last recorded."
        }
        (Locale::English, PreferenceSaved) => "Your preference is recorded.",
        (Locale::English, NotPersisted) => {
            "This browser could not keep your consent; sending it right away."
        }
        (Locale::English, KindLegend) => "Who receives the messages?",
        (Locale::English, KindIndividual) => "Me, as an individual customer",
        (Locale::English, KindMerchant) => "My business (a merchant or tradesperson)",
    }
}

/// The sentence for an address error code from `consent-core`, in the person's language.
/// Codes this version does not know get a general sentence: the person never sees a code.
pub fn recipient_error(locale: Locale, code: &str) -> &'static str {
    match (locale, code) {
        (Locale::Turkish, "phone_empty") => "Telefon numaranızı yazın.",
        (Locale::Turkish, "phone_invalid_character") => {
            "Telefon numarasında yalnızca rakam, boşluk, tire ve parantez olabilir."
        }
        (Locale::Turkish, "phone_not_turkish") => {
            "Yalnızca +90 ile başlayan Türkiye numaraları kabul edilir."
        }
        (Locale::Turkish, "phone_wrong_length") => {
            "Telefon numarası alan koduyla birlikte 10 haneli olmalı, örneğin 0532 123 45 67."
        }
        (Locale::Turkish, "phone_unassigned") => "Bu numara kullanılan bir Türkiye numarası değil.",
        (Locale::Turkish, "phone_not_mobile") => "SMS için bir cep telefonu numarası gerekir.",
        (Locale::Turkish, "phone_cannot_receive") => "Bu numaraya ticari arama yapılamaz.",
        (Locale::Turkish, "email_empty") => "E-posta adresinizi yazın.",
        (Locale::Turkish, "email_turkish_letter") => {
            "E-posta adresinde Türkçe karakter (ç, ğ, ı, ö, ş, ü) olamaz."
        }
        (Locale::Turkish, "email_non_ascii") => {
            "E-posta adresinde yalnızca İngilizce harfler olabilir."
        }
        (Locale::Turkish, "email_whitespace") => "E-posta adresinde boşluk olamaz.",
        (
            Locale::Turkish,
            "email_too_short" | "email_too_long" | "email_at_sign" | "email_local_part"
            | "email_domain",
        ) => "Geçerli bir e-posta adresi yazın, örneğin ornek@alan.com.",
        (Locale::Turkish, "email_forbidden_character") => {
            "E-posta adresinde izin verilmeyen bir işaret var."
        }
        (Locale::Turkish, "recipient_channel_mismatch") => {
            "Bu kanal için bu tür bir adres kullanılamaz."
        }
        (Locale::Turkish, _) => "Bu adres kabul edilmedi.",
        (Locale::English, "phone_empty") => "Enter your phone number.",
        (Locale::English, "phone_invalid_character") => {
            "A phone number may hold only digits, spaces, dashes and parentheses."
        }
        (Locale::English, "phone_not_turkish") => {
            "Only Turkish numbers starting with +90 are accepted."
        }
        (Locale::English, "phone_wrong_length") => {
            "A phone number has 10 digits with the area code, for example 0532 123 45 67."
        }
        (Locale::English, "phone_unassigned") => "This is not a Turkish number in use.",
        (Locale::English, "phone_not_mobile") => "SMS needs a mobile number.",
        (Locale::English, "phone_cannot_receive") => "Marketing calls cannot go to this number.",
        (Locale::English, "email_empty") => "Enter your e-mail address.",
        (Locale::English, "email_turkish_letter") => {
            "An e-mail address cannot hold Turkish letters (ç, ğ, ı, ö, ş, ü)."
        }
        (Locale::English, "email_non_ascii") => "An e-mail address may hold only English letters.",
        (Locale::English, "email_whitespace") => "An e-mail address cannot hold spaces.",
        (
            Locale::English,
            "email_too_short" | "email_too_long" | "email_at_sign" | "email_local_part"
            | "email_domain",
        ) => "Enter a valid e-mail address, for example name@example.com.",
        (Locale::English, "email_forbidden_character") => {
            "The e-mail address holds a character that is not allowed."
        }
        (Locale::English, "recipient_channel_mismatch") => {
            "This kind of address does not fit this channel."
        }
        (Locale::English, _) => "This address was not accepted.",
    }
}
