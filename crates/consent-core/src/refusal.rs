//! Refusals given through a link: what the refusal page says, how it shows the address, and what
//! a refusal given there proves.
//!
//! The relay puts such a link in every notice and mints them for the shop's own messages. The
//! page names the brand, the channels and the address, masked; the text it shows is kept with
//! the refusal as its evidence, like a box's text is kept with a decision taken in the widget.

use serde::{Deserialize, Serialize};

use crate::recipient::Recipient;
use crate::record::{limits, text_sha256};
use crate::vocabulary::{Channel, Locale};

/// How a refusal link was used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkAction {
    /// The person pressed the button on the refusal page.
    Button,
    /// A mail client sent RFC 8058's one-click request (`List-Unsubscribe=One-Click`) for the
    /// person, who saw no page.
    OneClick,
}

impl LinkAction {
    /// The name used in the evidence.
    pub const fn as_str(self) -> &'static str {
        match self {
            LinkAction::Button => "button",
            LinkAction::OneClick => "one_click",
        }
    }
}

/// What a refusal given through a link proves: how it was given, what the page said, which
/// message the link came in, and the browser that sent it. The time and the client's address are
/// the record's own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LinkRefusal {
    /// The button or a mail client's one-click request.
    pub action: LinkAction,
    /// The page's text as shown, the button's label included; empty for a one-click request.
    pub text: String,
    /// Its SHA-256, lower-case hex.
    pub text_sha256: String,
    /// The language of the page, and of the message the link came in.
    pub locale: Locale,
    /// The consent record whose notice carried the link, when a notice did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notice: Option<String>,
    /// The shop's reference for the message that carried the link, when it gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// The user agent of the request, cut to the record's limit.
    pub user_agent: String,
}

impl LinkRefusal {
    /// The evidence of a refusal given with `action` on a page that showed `text` (empty for a
    /// one-click request); the user agent is cut to [`limits::USER_AGENT`] bytes and loses its
    /// control characters.
    pub fn new(
        action: LinkAction,
        text: &str,
        locale: Locale,
        notice: Option<String>,
        reference: Option<String>,
        user_agent: &str,
    ) -> LinkRefusal {
        let mut agent: String = user_agent.chars().filter(|c| !c.is_control()).collect();
        let mut end = agent.len().min(limits::USER_AGENT);
        while !agent.is_char_boundary(end) {
            end -= 1;
        }
        agent.truncate(end);
        LinkRefusal {
            action,
            text: text.to_owned(),
            text_sha256: text_sha256(text),
            locale,
            notice,
            reference,
            user_agent: agent,
        }
    }
}

/// The longest reference a shop may give a link, in bytes.
pub const REFERENCE_LIMIT: usize = 64;

/// Whether `reference` may name a message in a link: 1 to [`REFERENCE_LIMIT`] ASCII letters,
/// digits and `.`, `_`, `:`, `-`, so that it never carries personal data by accident of format.
pub fn is_reference(reference: &str) -> bool {
    (1..=REFERENCE_LIMIT).contains(&reference.len())
        && reference
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'.' | b'_' | b':' | b'-'))
}

/// The address as the refusal page shows it: enough for its owner to know it, too little for
/// anyone else to learn it. `+90 532 *** ** 67`; `a***@example.com`.
pub fn mask(recipient: &Recipient) -> String {
    match recipient {
        Recipient::Phone(phone) => {
            let national = phone.national();
            let (area, last) = (
                national.get(..3).unwrap_or_default(),
                national
                    .get(national.len().saturating_sub(2)..)
                    .unwrap_or_default(),
            );
            format!("+90 {area} *** ** {last}")
        }
        Recipient::Email(email) => {
            let address = email.as_str();
            let (local, domain) = address.rsplit_once('@').unwrap_or((address, ""));
            let first = local.chars().next().map(String::from).unwrap_or_default();
            format!("{first}***@{domain}")
        }
    }
}

/// The channels a link refuses, in the words of `locale`: `SMS`, `SMS ve telefon araması`.
pub fn channel_words(locale: Locale, channels: &[Channel]) -> String {
    let word = |channel: Channel| match (locale, channel) {
        (_, Channel::Sms) => "SMS",
        (Locale::Turkish, Channel::Call) => "telefon araması",
        (Locale::Turkish, Channel::Email) => "e-posta",
        (Locale::English, Channel::Call) => "phone calls",
        (Locale::English, Channel::Email) => "e-mail",
    };
    let and = match locale {
        Locale::Turkish => " ve ",
        Locale::English => " and ",
    };
    channels
        .iter()
        .map(|channel| word(*channel))
        .collect::<Vec<_>>()
        .join(and)
}

/// The sentences of the refusal page and its answers, in one language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageWords {
    /// The page's title and heading.
    pub title: &'static str,
    /// The button's label.
    pub button: &'static str,
    /// After the refusal was recorded.
    pub done: &'static str,
    /// When the address had refused already.
    pub already: &'static str,
    /// For a link that does not open.
    pub invalid: &'static str,
    /// For a link past its expiry.
    pub expired: &'static str,
    /// When the refusal cannot be recorded now.
    pub unavailable: &'static str,
}

/// The refusal page's sentences in `locale`.
pub fn page_words(locale: Locale) -> PageWords {
    match locale {
        Locale::Turkish => PageWords {
            title: "Ticari ileti izninizi geri alın",
            button: "İletileri reddet",
            done: "Reddiniz kaydedildi ve İleti Yönetim Sistemi'ne (İYS) iletilecek. Bu kanaldan size artık ticari ileti gönderilmeyecek.",
            already: "Reddiniz zaten kayıtlı; yapmanız gereken başka bir şey yok.",
            invalid: "Bu bağlantı geçerli değil. Mesajdaki bağlantıyı eksiksiz açtığınızdan emin olun.",
            expired: "Bu bağlantının süresi dolmuş. Gönderenden yeni bir ileti bekleyin ya da İYS'nin 3338 kısa numarasını kullanın.",
            unavailable: "Reddinizi şu anda kaydedemiyoruz. Lütfen birkaç dakika sonra yeniden deneyin.",
        },
        Locale::English => PageWords {
            title: "Withdraw your consent to commercial messages",
            button: "Refuse messages",
            done: "Your refusal is recorded and will be passed on to İYS, the national consent registry. You will receive no more commercial messages on this channel.",
            already: "Your refusal is already recorded; there is nothing more to do.",
            invalid: "This link is not valid. Make sure you opened the whole link from the message.",
            expired: "This link has expired. Wait for a new message from the sender, or use İYS's short number 3338.",
            unavailable: "Your refusal cannot be recorded right now. Please try again in a few minutes.",
        },
    }
}

/// What the refusal page says before the button: the brand, the address as masked and the
/// channels, that refusing is free, and that it goes to İYS.
pub fn page_statement(locale: Locale, brand: &str, masked: &str, channels: &[Channel]) -> String {
    let words = channel_words(locale, channels);
    match locale {
        Locale::Turkish => format!(
            "Bu sayfada {brand} markasının {masked} adresine {words} yoluyla gönderdiği ticari elektronik iletileri reddedebilirsiniz. Ret ücretsizdir, hemen kaydedilir ve İleti Yönetim Sistemi'ne (İYS) iletilir."
        ),
        Locale::English => format!(
            "On this page you can refuse the commercial electronic messages {brand} sends to {masked} by {words}. Refusing is free of charge, is recorded at once, and is passed on to İYS, the national consent registry."
        ),
    }
}

/// The page's text as the evidence of a refusal given with its button keeps it: the statement,
/// then the button's label on a line of its own.
pub fn page_text(locale: Locale, brand: &str, masked: &str, channels: &[Channel]) -> String {
    format!(
        "{}\n{}",
        page_statement(locale, brand, masked, channels),
        page_words(locale).button
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_show_the_ends_and_hide_the_middle() {
        let phone = Recipient::parse_for(Channel::Sms, "0532 123 45 67").unwrap();
        assert_eq!(mask(&phone), "+90 532 *** ** 67");
        let email = Recipient::parse_for(Channel::Email, "Ayse.Yilmaz@Example.com").unwrap();
        assert_eq!(mask(&email), "a***@example.com");
    }

    #[test]
    fn references_are_short_plain_labels() {
        assert!(is_reference("campaign-2026-12.week:49"));
        assert!(!is_reference(""));
        assert!(!is_reference("ayse@example.com"));
        assert!(!is_reference("with space"));
        assert!(!is_reference(&"x".repeat(REFERENCE_LIMIT + 1)));
    }

    #[test]
    fn the_page_names_brand_address_and_channels_in_both_languages() {
        let turkish = page_text(
            Locale::Turkish,
            "Örnek Mağaza",
            "+90 532 *** ** 67",
            &[Channel::Sms, Channel::Call],
        );
        assert!(turkish.contains("Örnek Mağaza"));
        assert!(turkish.contains("+90 532 *** ** 67"));
        assert!(turkish.contains("SMS ve telefon araması"));
        assert!(turkish.ends_with("\nİletileri reddet"));
        let english = page_text(
            Locale::English,
            "Shop",
            "a***@example.com",
            &[Channel::Email],
        );
        assert!(english.contains("by e-mail"));
        assert!(english.ends_with("\nRefuse messages"));
    }

    #[test]
    fn link_evidence_hashes_its_text_and_cuts_the_user_agent() {
        let agent = format!("Mozilla\u{7}/{}", "ş".repeat(limits::USER_AGENT));
        let link = LinkRefusal::new(
            LinkAction::Button,
            "text",
            Locale::Turkish,
            None,
            Some("spring".into()),
            &agent,
        );
        assert_eq!(link.text_sha256, text_sha256("text"));
        assert!(link.user_agent.len() <= limits::USER_AGENT);
        assert!(link.user_agent.starts_with("Mozilla/ş"));
        let json = serde_json::to_string(&link).unwrap();
        assert!(json.contains(r#""action":"button""#), "{json}");
        assert!(!json.contains("notice"), "{json}");
        assert_eq!(serde_json::from_str::<LinkRefusal>(&json).unwrap(), link);
    }
}
