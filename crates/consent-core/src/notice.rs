//! The notice a person gets on the day they consent, at the address they consented for: that the
//! consent was recorded, when, for which brand, channels and purpose, and how to refuse it. It
//! carries no advertising.
//!
//! The texts are templates with the placeholders `{brand}`, `{channels}`, `{date}` and `{link}`;
//! the built-in ones are in Turkish and English, and a shop may give its own, which must keep
//! `{link}`, the way to refuse.

use core::fmt;

use crate::refusal::channel_words;
use crate::time::{Timestamp, TurkeyTime};
use crate::vocabulary::{Channel, Locale};

const PLACEHOLDERS: [&str; 4] = ["brand", "channels", "date", "link"];

/// The longest template accepted, in bytes.
pub const TEMPLATE_LIMIT: usize = 4_096;

/// A notice text with placeholders, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template(String);

/// Why a template was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TemplateError {
    /// It has no `{link}`: a notice must say how to refuse.
    NoLink,
    /// A `{name}` that is not one of the placeholders, or a brace left open.
    Placeholder(String),
    /// Empty, longer than [`TEMPLATE_LIMIT`] bytes, or a subject of more than one line.
    Length,
}

impl fmt::Display for TemplateError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TemplateError::NoLink => {
                formatter.write_str("the text has no {link}: a notice must say how to refuse")
            }
            TemplateError::Placeholder(name) => write!(
                formatter,
                "unknown placeholder `{name}`: expected {{brand}}, {{channels}}, {{date}} or {{link}}"
            ),
            TemplateError::Length => write!(
                formatter,
                "expected a text of 1 to {TEMPLATE_LIMIT} bytes (a subject on one line)"
            ),
        }
    }
}

impl std::error::Error for TemplateError {}

impl Template {
    /// Checks a notice's text: only known placeholders, `{link}` among them.
    pub fn parse(text: &str) -> Result<Template, TemplateError> {
        Template::check(text, true)
    }

    /// Checks an e-mail's subject: one line, only known placeholders; the link goes in the body.
    pub fn parse_subject(text: &str) -> Result<Template, TemplateError> {
        if text.contains(['\r', '\n']) {
            return Err(TemplateError::Length);
        }
        Template::check(text, false)
    }

    fn check(text: &str, needs_link: bool) -> Result<Template, TemplateError> {
        if text.trim().is_empty() || text.len() > TEMPLATE_LIMIT {
            return Err(TemplateError::Length);
        }
        let mut rest = text;
        let mut has_link = false;
        while let Some(start) = rest.find('{') {
            let after = &rest[start + 1..];
            let Some(end) = after.find('}') else {
                return Err(TemplateError::Placeholder(after.chars().take(20).collect()));
            };
            let name = &after[..end];
            if !PLACEHOLDERS.contains(&name) {
                return Err(TemplateError::Placeholder(name.chars().take(20).collect()));
            }
            has_link |= name == "link";
            rest = &after[end + 1..];
        }
        if needs_link && !has_link {
            return Err(TemplateError::NoLink);
        }
        Ok(Template(text.to_owned()))
    }

    /// The text with its placeholders filled in.
    pub fn fill(&self, facts: &NoticeFacts<'_>) -> String {
        let date = facts.date();
        let channels = channel_words(facts.locale, facts.channels);
        self.0
            .replace("{brand}", facts.brand)
            .replace("{channels}", &channels)
            .replace("{date}", &date)
            .replace("{link}", facts.link)
    }
}

/// What a notice says of one consent: the brand, the channels, when, and the refusal link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoticeFacts<'a> {
    /// The language of the notice, the consent's.
    pub locale: Locale,
    /// The brand the consent is for.
    pub brand: &'a str,
    /// The channels consented to: SMS and calls share one notice by SMS.
    pub channels: &'a [Channel],
    /// When the consent was given.
    pub at: Timestamp,
    /// The refusal link.
    pub link: &'a str,
}

impl NoticeFacts<'_> {
    /// The moment of the consent in Turkish time, as the locale writes it:
    /// `06.12.2026 09:15` or `6 December 2026, 09:15 (Turkish time)`.
    pub fn date(&self) -> String {
        let time = TurkeyTime::at(self.at);
        let (date, second) = (time.date(), time.second_of_day());
        let (hour, minute) = (second / 3_600, second / 60 % 60);
        match self.locale {
            Locale::Turkish => format!(
                "{:02}.{:02}.{} {hour:02}:{minute:02}",
                date.day(),
                date.month(),
                date.year()
            ),
            Locale::English => {
                const MONTHS: [&str; 12] = [
                    "January",
                    "February",
                    "March",
                    "April",
                    "May",
                    "June",
                    "July",
                    "August",
                    "September",
                    "October",
                    "November",
                    "December",
                ];
                let month = MONTHS[usize::from(date.month().clamp(1, 12)) - 1];
                format!(
                    "{} {month} {}, {hour:02}:{minute:02} (Turkish time)",
                    date.day(),
                    date.year()
                )
            }
        }
    }
}

/// The three texts of one language: an e-mail's subject and body, and an SMS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoticeTexts {
    /// The e-mail's subject.
    pub email_subject: Template,
    /// The e-mail's body, plain text.
    pub email_body: Template,
    /// The SMS, for SMS and call consents.
    pub sms: Template,
}

/// The built-in texts in `locale`.
pub fn default_texts(locale: Locale) -> NoticeTexts {
    let (subject, body, sms) = match locale {
        Locale::Turkish => (
            "{brand}: ticari ileti onayınız kaydedildi",
            "Merhaba,\n\n{date} tarihinde {brand} markasına, kampanya, indirim ve yeniliklerle ilgili ticari elektronik iletileri {channels} yoluyla almak için onay verdiniz. Bu e-posta, onayınızın kaydedildiğini bildirmek içindir ve reklam içermez.\n\nOnayı siz vermediyseniz ya da ileti almak istemiyorsanız, ücretsiz olarak tek tıkla reddedebilirsiniz:\n{link}\n\nRet hakkınızı istediğiniz zaman, gerekçe göstermeden kullanabilirsiniz; reddiniz İleti Yönetim Sistemi'ne (İYS) iletilir.\n",
            "{brand}: {date} tarihinde {channels} ile ticari ileti almaya onay verdiniz. Ucretsiz ret icin: {link}",
        ),
        Locale::English => (
            "{brand}: your consent to commercial messages is recorded",
            "Hello,\n\nOn {date} you consented to receive commercial electronic messages about offers, discounts and news from {brand} by {channels}. This e-mail only tells you that your consent was recorded; it carries no advertising.\n\nIf you did not give this consent, or do not want these messages, you can refuse them free of charge with one click:\n{link}\n\nYou may refuse at any time without giving a reason; your refusal is passed on to İYS, the national consent registry.\n",
            "{brand}: on {date} you consented to commercial messages by {channels}. Refuse free of charge: {link}",
        ),
    };
    // The built-in texts are checked by this module's tests.
    let template = |text: &str| Template(text.to_owned());
    NoticeTexts {
        email_subject: template(subject),
        email_body: template(body),
        sms: template(sms),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(locale: Locale, channels: &[Channel]) -> NoticeFacts<'_> {
        NoticeFacts {
            locale,
            brand: "Örnek Mağaza",
            channels,
            // 2026-12-06 09:15:00 in Turkey (+03).
            at: Timestamp::from_unix_seconds(1_796_537_700),
            link: "https://relay.shop.example/v1/refusals/AbC",
        }
    }

    #[test]
    fn the_built_in_texts_are_valid_templates() {
        for locale in [Locale::Turkish, Locale::English] {
            let texts = default_texts(locale);
            for template in [&texts.email_body, &texts.sms] {
                assert_eq!(Template::parse(&template.0).as_ref(), Ok(template));
            }
            assert_eq!(
                Template::parse_subject(&texts.email_subject.0).as_ref(),
                Ok(&texts.email_subject)
            );
        }
    }

    #[test]
    fn a_notice_names_brand_channels_date_and_the_link() {
        let texts = default_texts(Locale::Turkish);
        let sms = texts
            .sms
            .fill(&facts(Locale::Turkish, &[Channel::Sms, Channel::Call]));
        assert_eq!(
            sms,
            "Örnek Mağaza: 06.12.2026 09:15 tarihinde SMS ve telefon araması ile ticari ileti almaya onay verdiniz. Ucretsiz ret icin: https://relay.shop.example/v1/refusals/AbC"
        );
        let english = default_texts(Locale::English)
            .email_body
            .fill(&facts(Locale::English, &[Channel::Email]));
        assert!(
            english.contains("On 6 December 2026, 09:15 (Turkish time)"),
            "{english}"
        );
        assert!(english.contains("from Örnek Mağaza by e-mail"));
        assert!(english.contains("\nhttps://relay.shop.example/v1/refusals/AbC\n"));
    }

    #[test]
    fn a_shop_template_must_keep_the_link_and_known_placeholders() {
        assert!(Template::parse("{brand}: ret {link}").is_ok());
        assert_eq!(Template::parse("{brand} only"), Err(TemplateError::NoLink));
        assert_eq!(
            Template::parse("{link} {name}"),
            Err(TemplateError::Placeholder("name".into()))
        );
        assert!(matches!(
            Template::parse("{link} {open"),
            Err(TemplateError::Placeholder(_))
        ));
        assert_eq!(Template::parse("  "), Err(TemplateError::Length));
        assert!(Template::parse_subject("{brand}: onay").is_ok());
        assert_eq!(
            Template::parse_subject("a\nBcc: x@example.com"),
            Err(TemplateError::Length),
            "a subject is one line"
        );
    }
}
