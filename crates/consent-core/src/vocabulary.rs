//! The words of the domain, in English.
//!
//! İYS's Turkish wire values (`MESAJ`, `ONAY`, `BIREYSEL`, `HS_WEB`, ...) live only in [`crate::iys`].
//! The lower-case names here (`sms`, `granted`, ...) are the ones the widget-to-relay contract uses.

use core::fmt;
use core::str::FromStr;

use serde::{Deserialize, Serialize};

/// Declares a closed vocabulary: a fieldless enum with one stable lower-case name per variant,
/// `as_str`, `ALL`, `Display`, `FromStr` and serde under those names.
macro_rules! vocabulary {
    (
        $(#[$meta:meta])*
        $name:ident, $what:literal {
            $($(#[$variant_meta:meta])* $variant:ident => $text:literal,)+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum $name {
            $($(#[$variant_meta])* #[serde(rename = $text)] $variant,)+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// Every value's name, in the order of [`Self::ALL`].
            pub const NAMES: &'static [&'static str] = &[$($text),+];

            /// The stable name used on the wire between the widget and the relay.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                formatter.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = UnknownValue;

            fn from_str(text: &str) -> Result<Self, Self::Err> {
                match text {
                    $($text => Ok($name::$variant),)+
                    _ => Err(UnknownValue {
                        what: $what,
                        expected: &[$($text),+],
                    }),
                }
            }
        }
    };
}

vocabulary! {
    /// A channel through which commercial messages reach a person; each needs its own consent.
    Channel, "channel" {
        /// Text messages to a mobile number (İYS `MESAJ`).
        Sms => "sms",
        /// Voice calls to a phone number (İYS `ARAMA`).
        Call => "call",
        /// E-mail (İYS `EPOSTA`).
        Email => "email",
    }
}

vocabulary! {
    /// Whether the recipient is a private person or a trader; İYS keeps one record of each kind per address.
    RecipientType, "recipient type" {
        /// A private person (İYS `BIREYSEL`): prior consent is required.
        Individual => "individual",
        /// A merchant or tradesperson (İYS `TACIR`): no prior consent is required, but refusals apply.
        Merchant => "merchant",
    }
}

vocabulary! {
    /// The person's decision for one channel.
    ConsentStatus, "status" {
        /// The person agreed (İYS `ONAY`).
        Granted => "granted",
        /// The person refused or withdrew (İYS `RET`).
        Rejected => "rejected",
    }
}

vocabulary! {
    /// Where the widget ran when the person decided; decides the İYS source.
    CaptureSource, "source" {
        /// A page of the shop's web site (İYS `HS_WEB`).
        Web => "web",
        /// A web view inside the shop's mobile app (İYS `HS_MOBIL`).
        Mobile => "mobile",
    }
}

vocabulary! {
    /// How the widget was embedded when the decision was taken.
    Mode, "mode" {
        /// Boxes inside the shop's own checkout form.
        Checkout => "checkout",
        /// A standalone sign-up form.
        Newsletter => "newsletter",
        /// A signed-in customer's preference centre.
        Preferences => "preferences",
        /// No user interface; the page records decisions itself.
        Headless => "headless",
    }
}

vocabulary! {
    /// The languages the widget's texts come in.
    Locale, "locale" {
        /// Turkish, the default.
        Turkish => "tr",
        /// English.
        English => "en",
    }
}

vocabulary! {
    /// How the service provider obtained a consent, as İYS classifies it (the `HS_*` sources).
    Source, "source" {
        /// On record as consenting before 1 May 2015 (İYS `HS_2015`).
        Before2015 => "before_2015",
        /// The provider itself set the status to refused (İYS `HS_KARAR`).
        ProviderDecision => "provider_decision",
        /// Taken in a physical setting (İYS `HS_FIZIKSEL_ORTAM`).
        PhysicalSetting => "physical_setting",
        /// A signed paper form or survey (İYS `HS_ISLAK_IMZA`).
        WetSignature => "wet_signature",
        /// At an event the provider organised (İYS `HS_ETKINLIK`).
        Event => "event",
        /// On the provider's own cash machine (İYS `HS_ATM`).
        Atm => "atm",
        /// Some other electronic medium of the provider (İYS `HS_EORTAM`).
        ElectronicMedium => "electronic_medium",
        /// A transaction on the provider's web site (İYS `HS_WEB`).
        Web => "web",
        /// The provider's mobile app (İYS `HS_MOBIL`).
        MobileApp => "mobile_app",
        /// The provider's SMS number (İYS `HS_MESAJ`).
        Sms => "sms",
        /// The provider's e-mail (İYS `HS_EPOSTA`).
        Email => "email",
        /// The provider's call centre (İYS `HS_CAGRI_MERKEZI`).
        CallCentre => "call_centre",
        /// The provider's social-media account (İYS `HS_SOSYAL_MEDYA`).
        SocialMedia => "social_media",
    }
}

impl Channel {
    /// Whether the channel's address is a phone number.
    pub const fn is_phone(self) -> bool {
        matches!(self, Channel::Sms | Channel::Call)
    }
}

impl Source {
    /// The name a stored record gives its source: the widget's `web` and `mobile` for the two
    /// sources it captures, so records stored before other sources existed keep their names, and
    /// the vocabulary's own name for the others.
    pub const fn record_name(self) -> &'static str {
        match self {
            Source::MobileApp => "mobile",
            other => other.as_str(),
        }
    }

    /// The source a stored record names, as [`Source::record_name`] writes it.
    pub fn from_record_name(name: &str) -> Option<Source> {
        if name == "mobile" {
            return Some(Source::MobileApp);
        }
        name.parse()
            .ok()
            .filter(|source| *source != Source::MobileApp)
    }
}

/// Serde for a record's source under [`Source::record_name`]: `#[serde(with = "record_source")]`.
pub mod record_source {
    use serde::{Deserialize, Deserializer, Serializer};

    use super::Source;

    /// Writes the record name.
    pub fn serialize<S: Serializer>(source: &Source, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(source.record_name())
    }

    /// Reads a record name.
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Source, D::Error> {
        let name = <&str>::deserialize(deserializer)?;
        Source::from_record_name(name)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown source `{name}`")))
    }
}

impl From<CaptureSource> for Source {
    fn from(capture: CaptureSource) -> Self {
        match capture {
            CaptureSource::Web => Source::Web,
            CaptureSource::Mobile => Source::MobileApp,
        }
    }
}

/// A name that is not one of a vocabulary's values.
///
/// Returned by the `FromStr` implementations above; the message lists what would have been accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownValue {
    what: &'static str,
    expected: &'static [&'static str],
}

impl UnknownValue {
    /// What kind of value was being parsed, for example `channel`.
    pub fn what(&self) -> &'static str {
        self.what
    }

    /// The names that would have been accepted.
    pub fn expected(&self) -> &'static [&'static str] {
        self.expected
    }
}

impl fmt::Display for UnknownValue {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "unknown {}: expected one of ", self.what)?;
        for (index, name) in self.expected.iter().enumerate() {
            if index > 0 {
                formatter.write_str(", ")?;
            }
            write!(formatter, "`{name}`")?;
        }
        Ok(())
    }
}

impl std::error::Error for UnknownValue {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_names_keep_the_widgets_names_and_read_back() {
        assert_eq!(Source::from(CaptureSource::Web).record_name(), "web");
        assert_eq!(Source::from(CaptureSource::Mobile).record_name(), "mobile");
        for &source in Source::ALL {
            assert_eq!(Source::from_record_name(source.record_name()), Some(source));
        }
        assert_eq!(Source::from_record_name("mobile_app"), None);
        assert_eq!(Source::from_record_name("nowhere"), None);
    }

    #[test]
    fn every_name_parses_back_to_its_value() {
        for channel in Channel::ALL {
            assert_eq!(channel.as_str().parse::<Channel>(), Ok(*channel));
        }
        for source in Source::ALL {
            assert_eq!(source.as_str().parse::<Source>(), Ok(*source));
        }
        for mode in Mode::ALL {
            assert_eq!(mode.to_string().parse::<Mode>(), Ok(*mode));
        }
    }

    #[test]
    fn unknown_name_lists_the_accepted_ones() {
        let error = "fax".parse::<Channel>().unwrap_err();
        assert_eq!(error.what(), "channel");
        assert_eq!(
            error.to_string(),
            "unknown channel: expected one of `sms`, `call`, `email`"
        );
    }

    #[test]
    fn serde_uses_the_contract_names() {
        assert_eq!(
            serde_json::to_string(&ConsentStatus::Rejected).unwrap(),
            "\"rejected\""
        );
        assert_eq!(
            serde_json::from_str::<Locale>("\"en\"").unwrap(),
            Locale::English
        );
        assert!(serde_json::from_str::<Channel>("\"SMS\"").is_err());
    }

    #[test]
    fn only_sms_and_call_use_phone_numbers() {
        assert!(Channel::Sms.is_phone());
        assert!(Channel::Call.is_phone());
        assert!(!Channel::Email.is_phone());
    }
}
