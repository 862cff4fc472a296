//! İYS's JSON shapes and the mapping from the domain to them.
//!
//! The consent body carries only the eight keys İYS accepts (any other is its H118), and optional
//! keys without a value are left out: İYS refuses `null` and `""` for them (H267) and an empty
//! retailer list (H163).

use core::fmt;

use serde::{Deserialize, Serialize};

use crate::recipient::Recipient;
use crate::time::{CivilDate, IysDateTime, iys_epoch};
use crate::vocabulary::{Channel, ConsentStatus, RecipientType, Source};

/// İYS's `type`: the channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum IysType {
    /// Voice call.
    #[serde(rename = "ARAMA")]
    Call,
    /// SMS.
    #[serde(rename = "MESAJ")]
    Sms,
    /// E-mail.
    #[serde(rename = "EPOSTA")]
    Email,
}

/// İYS's `status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum IysStatus {
    /// Consent.
    #[serde(rename = "ONAY")]
    Granted,
    /// Refusal.
    #[serde(rename = "RET")]
    Rejected,
    /// Waiting for the recipient's confirmation (ViA); seen in answers, never sent.
    #[serde(rename = "BEKLIYOR")]
    Pending,
    /// A value this version does not know; seen in answers, never sent.
    #[serde(other)]
    Other,
}

impl IysStatus {
    /// The domain status, for the two values a consent can settle on.
    pub const fn consent_status(self) -> Option<ConsentStatus> {
        match self {
            IysStatus::Granted => Some(ConsentStatus::Granted),
            IysStatus::Rejected => Some(ConsentStatus::Rejected),
            IysStatus::Pending | IysStatus::Other => None,
        }
    }
}

/// İYS's `recipientType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum IysRecipientType {
    /// A private person.
    #[serde(rename = "BIREYSEL")]
    Individual,
    /// A merchant.
    #[serde(rename = "TACIR")]
    Merchant,
}

/// İYS's `source`: the provider's own `HS_*` values and the `IYS_*` values only İYS writes,
/// which arrive through pull, push and the daily files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[allow(missing_docs)]
pub enum IysSource {
    #[serde(rename = "HS_2015")]
    Before2015,
    #[serde(rename = "HS_KARAR")]
    ProviderDecision,
    #[serde(rename = "HS_FIZIKSEL_ORTAM")]
    PhysicalSetting,
    #[serde(rename = "HS_ISLAK_IMZA")]
    WetSignature,
    #[serde(rename = "HS_ETKINLIK")]
    Event,
    #[serde(rename = "HS_ATM")]
    Atm,
    #[serde(rename = "HS_EORTAM")]
    ElectronicMedium,
    #[serde(rename = "HS_WEB")]
    Web,
    #[serde(rename = "HS_MOBIL")]
    MobileApp,
    #[serde(rename = "HS_MESAJ")]
    Sms,
    #[serde(rename = "HS_EPOSTA")]
    Email,
    #[serde(rename = "HS_CAGRI_MERKEZI")]
    CallCentre,
    #[serde(rename = "HS_SOSYAL_MEDYA")]
    SocialMedia,
    /// Through İYS's short number 3338.
    #[serde(rename = "IYS_KISAMESAJ")]
    IysShortNumber,
    /// Through İYS's call centre.
    #[serde(rename = "IYS_CM")]
    IysCallCentre,
    /// On İYS's web site.
    #[serde(rename = "IYS_WEB")]
    IysWeb,
    /// On İYS's web site, adding the brand for the first time.
    #[serde(rename = "IYS_WEB_YENI")]
    IysWebNewBrand,
    /// In İYS's mobile app.
    #[serde(rename = "IYS_MOBIL")]
    IysMobile,
    /// Through an e-mail İYS sent.
    #[serde(rename = "IYS_EPOSTA")]
    IysEmail,
    /// The operator reported the line closed.
    #[serde(rename = "IYS_AHS_HAT_KAPATMA")]
    IysLineClosed,
    /// İYS's embeddable form, verified by e-mail.
    #[serde(rename = "IYS_FRAME_EPOSTA")]
    IysFrameEmail,
    /// İYS's embeddable form, verified by SMS.
    #[serde(rename = "IYS_FRAME_SMS")]
    IysFrameSms,
    /// A source this version does not know; seen in answers, never sent.
    #[serde(other)]
    Other,
}

impl IysSource {
    /// Whether İYS itself recorded the movement (a citizen acting in İYS), rather than a provider.
    pub const fn is_from_iys(self) -> bool {
        matches!(
            self,
            IysSource::IysShortNumber
                | IysSource::IysCallCentre
                | IysSource::IysWeb
                | IysSource::IysWebNewBrand
                | IysSource::IysMobile
                | IysSource::IysEmail
                | IysSource::IysLineClosed
                | IysSource::IysFrameEmail
                | IysSource::IysFrameSms
        )
    }
}

impl From<Channel> for IysType {
    fn from(channel: Channel) -> Self {
        match channel {
            Channel::Sms => IysType::Sms,
            Channel::Call => IysType::Call,
            Channel::Email => IysType::Email,
        }
    }
}

impl From<IysType> for Channel {
    fn from(channel: IysType) -> Self {
        match channel {
            IysType::Sms => Channel::Sms,
            IysType::Call => Channel::Call,
            IysType::Email => Channel::Email,
        }
    }
}

impl From<ConsentStatus> for IysStatus {
    fn from(status: ConsentStatus) -> Self {
        match status {
            ConsentStatus::Granted => IysStatus::Granted,
            ConsentStatus::Rejected => IysStatus::Rejected,
        }
    }
}

impl From<RecipientType> for IysRecipientType {
    fn from(recipient_type: RecipientType) -> Self {
        match recipient_type {
            RecipientType::Individual => IysRecipientType::Individual,
            RecipientType::Merchant => IysRecipientType::Merchant,
        }
    }
}

impl From<IysRecipientType> for RecipientType {
    fn from(recipient_type: IysRecipientType) -> Self {
        match recipient_type {
            IysRecipientType::Individual => RecipientType::Individual,
            IysRecipientType::Merchant => RecipientType::Merchant,
        }
    }
}

impl IysType {
    /// The channel İYS names `text` (`MESAJ`, `ARAMA`, `EPOSTA`).
    pub fn from_wire_name(text: &str) -> Option<Channel> {
        match text {
            "MESAJ" => Some(Channel::Sms),
            "ARAMA" => Some(Channel::Call),
            "EPOSTA" => Some(Channel::Email),
            _ => None,
        }
    }
}

impl IysStatus {
    /// The status İYS names `text` (`ONAY`, `RET`).
    pub fn from_wire_name(text: &str) -> Option<ConsentStatus> {
        match text {
            "ONAY" => Some(ConsentStatus::Granted),
            "RET" => Some(ConsentStatus::Rejected),
            _ => None,
        }
    }
}

impl IysRecipientType {
    /// The recipient type İYS names `text` (`BIREYSEL`, `TACIR`).
    pub fn from_wire_name(text: &str) -> Option<RecipientType> {
        match text {
            "BIREYSEL" => Some(RecipientType::Individual),
            "TACIR" => Some(RecipientType::Merchant),
            _ => None,
        }
    }
}

impl IysSource {
    /// The provider's source İYS names `text`, one of its thirteen `HS_*` values; İYS's own
    /// `IYS_*` sources are never a provider's.
    pub fn provider_source(text: &str) -> Option<Source> {
        Some(match text {
            "HS_2015" => Source::Before2015,
            "HS_KARAR" => Source::ProviderDecision,
            "HS_FIZIKSEL_ORTAM" => Source::PhysicalSetting,
            "HS_ISLAK_IMZA" => Source::WetSignature,
            "HS_ETKINLIK" => Source::Event,
            "HS_ATM" => Source::Atm,
            "HS_EORTAM" => Source::ElectronicMedium,
            "HS_WEB" => Source::Web,
            "HS_MOBIL" => Source::MobileApp,
            "HS_MESAJ" => Source::Sms,
            "HS_EPOSTA" => Source::Email,
            "HS_CAGRI_MERKEZI" => Source::CallCentre,
            "HS_SOSYAL_MEDYA" => Source::SocialMedia,
            _ => return None,
        })
    }
}

impl From<Source> for IysSource {
    fn from(source: Source) -> Self {
        match source {
            Source::Before2015 => IysSource::Before2015,
            Source::ProviderDecision => IysSource::ProviderDecision,
            Source::PhysicalSetting => IysSource::PhysicalSetting,
            Source::WetSignature => IysSource::WetSignature,
            Source::Event => IysSource::Event,
            Source::Atm => IysSource::Atm,
            Source::ElectronicMedium => IysSource::ElectronicMedium,
            Source::Web => IysSource::Web,
            Source::MobileApp => IysSource::MobileApp,
            Source::Sms => IysSource::Sms,
            Source::Email => IysSource::Email,
            Source::CallCentre => IysSource::CallCentre,
            Source::SocialMedia => IysSource::SocialMedia,
        }
    }
}

/// The body of İYS's consent-add endpoints (İYS's `Consent` schema), exactly as sent.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IysConsent {
    /// `+90` and ten digits, or a lower-case e-mail address.
    pub recipient: String,
    /// The channel.
    #[serde(rename = "type")]
    pub channel: IysType,
    /// How the consent was obtained.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<IysSource>,
    /// Consent or refusal.
    pub status: IysStatus,
    /// `YYYY-MM-DD HH:mm:ss` in Turkish time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consent_date: Option<String>,
    /// Individual or merchant.
    pub recipient_type: IysRecipientType,
    /// The İYS number of the dealer that mediated the consent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retailer_code: Option<u64>,
    /// The İYS numbers of dealers allowed to use the consent; never empty when present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retailer_access: Option<Vec<u64>>,
}

/// One movement the provider wants İYS to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Movement<'a> {
    /// The normalised address.
    pub recipient: &'a Recipient,
    /// The channel.
    pub channel: Channel,
    /// Individual or merchant.
    pub recipient_type: RecipientType,
    /// Consent or refusal.
    pub status: ConsentStatus,
    /// How it was obtained.
    pub source: Source,
    /// When, as İYS will record it.
    pub consent_date: IysDateTime,
    /// The dealer that mediated it, if any.
    pub retailer_code: Option<u64>,
    /// Dealers allowed to use it, if any.
    pub retailer_access: &'a [u64],
}

/// The most dealers one consent may name. İYS's schema says 3000 but its error table (H126)
/// says 100, and the table wins.
pub const MAX_RETAILER_ACCESS: usize = 100;

impl IysConsent {
    /// Builds the body İYS accepts for `movement`, checking İYS's rules that a record alone decides.
    pub fn from_movement(movement: &Movement<'_>) -> Result<IysConsent, MovementError> {
        let channel_fits = matches!(
            (movement.channel.is_phone(), movement.recipient),
            (true, Recipient::Phone(_)) | (false, Recipient::Email(_))
        );
        if !channel_fits {
            return Err(MovementError::ChannelMismatch);
        }
        if movement.consent_date.to_instant() < iys_epoch() {
            return Err(MovementError::BeforeIysEpoch);
        }
        if movement.source == Source::ProviderDecision && movement.status != ConsentStatus::Rejected
        {
            return Err(MovementError::ProviderDecisionMustRefuse);
        }
        if movement.source == Source::Before2015
            && movement.consent_date != IysDateTime::from_instant(iys_epoch())
        {
            return Err(MovementError::Before2015DateMustBeEpoch);
        }
        if movement.retailer_access.len() > MAX_RETAILER_ACCESS {
            return Err(MovementError::TooManyRetailers);
        }
        Ok(IysConsent {
            recipient: movement.recipient.normalised(),
            channel: movement.channel.into(),
            source: Some(movement.source.into()),
            status: movement.status.into(),
            consent_date: Some(movement.consent_date.to_string()),
            recipient_type: movement.recipient_type.into(),
            retailer_code: movement.retailer_code,
            retailer_access: (!movement.retailer_access.is_empty())
                .then(|| movement.retailer_access.to_vec()),
        })
    }
}

/// Why a movement cannot be sent to İYS as it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MovementError {
    /// The address does not fit the channel (İYS's H464).
    ChannelMismatch,
    /// The date is before 2015-05-01 00:00:00 (H156).
    BeforeIysEpoch,
    /// A provider's own decision must be a refusal (H408).
    ProviderDecisionMustRefuse,
    /// A pre-2015 consent must carry exactly 2015-05-01 00:00:00 (H155).
    Before2015DateMustBeEpoch,
    /// More dealers than İYS accepts (H126).
    TooManyRetailers,
}

impl MovementError {
    /// The İYS error code İYS would answer with.
    pub const fn iys_code(self) -> &'static str {
        match self {
            MovementError::ChannelMismatch => "H464",
            MovementError::BeforeIysEpoch => "H156",
            MovementError::ProviderDecisionMustRefuse => "H408",
            MovementError::Before2015DateMustBeEpoch => "H155",
            MovementError::TooManyRetailers => "H126",
        }
    }
}

impl fmt::Display for MovementError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(match self {
            MovementError::ChannelMismatch => "the recipient does not fit the channel",
            MovementError::BeforeIysEpoch => "the consent date is before 2015-05-01 00:00:00",
            MovementError::ProviderDecisionMustRefuse => "a provider decision must be a refusal",
            MovementError::Before2015DateMustBeEpoch => {
                "a consent from before 2015 must be dated 2015-05-01 00:00:00"
            }
            MovementError::TooManyRetailers => "too many dealers in retailer access",
        })
    }
}

impl std::error::Error for MovementError {}

/// The body of İYS's single status query (`POST .../consents/status`, İYS's
/// `ConsentDetailRequest`): which (address, channel, recipient type) to look up.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StatusQuery {
    /// `+90` and ten digits, or a lower-case e-mail address.
    pub recipient: String,
    /// Individual or merchant.
    pub recipient_type: IysRecipientType,
    /// The channel.
    #[serde(rename = "type")]
    pub channel: IysType,
}

impl StatusQuery {
    /// The query for one key.
    pub fn new(recipient: &Recipient, channel: Channel, recipient_type: RecipientType) -> Self {
        StatusQuery {
            recipient: recipient.normalised(),
            recipient_type: recipient_type.into(),
            channel: channel.into(),
        }
    }
}

impl fmt::Debug for StatusQuery {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The recipient is personal data and stays out of debug output.
        formatter
            .debug_struct("StatusQuery")
            .field("recipient_type", &self.recipient_type)
            .field("channel", &self.channel)
            .finish_non_exhaustive()
    }
}

/// İYS's answer to a single status query (its `ConsentDetailResponse`): the consent or refusal
/// it holds for the key. Only the fields the relay keeps as evidence are read; the address it
/// echoes is not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConsentDetail {
    /// Consent or refusal.
    pub status: IysStatus,
    /// `YYYY-MM-DD HH:mm:ss`; may be missing for a merchant.
    #[serde(default)]
    pub consent_date: Option<String>,
    /// When İYS first registered it.
    #[serde(default)]
    pub creation_date: Option<String>,
    /// Who recorded it.
    #[serde(default)]
    pub source: Option<IysSource>,
    /// İYS's id of the movement.
    #[serde(default)]
    pub transaction_id: Option<String>,
}

/// The paths of İYS's endpoints the relay calls, for one service provider (`iysCode`) and
/// brand (`brandCode`). Every path the relay sends to İYS is built here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IysPaths {
    iys_code: u64,
    brand_code: u64,
}

impl IysPaths {
    /// The token endpoint, the same for every account.
    pub const TOKEN: &'static str = "/oauth2/token";

    /// The paths of the account `iys_code` and its brand `brand_code`.
    pub const fn new(iys_code: u64, brand_code: u64) -> IysPaths {
        IysPaths {
            iys_code,
            brand_code,
        }
    }

    fn brand(&self, rest: &str) -> String {
        format!("/sps/{}/brands/{}{rest}", self.iys_code, self.brand_code)
    }

    /// Single add, version 2 (an identical repeat is answered with the same transaction).
    pub fn add(&self) -> String {
        format!("/v2{}", self.brand("/consents"))
    }

    /// The single status query.
    pub fn status(&self) -> String {
        self.brand("/consents/status")
    }

    /// A batch of up to 1000 consents, version 2.
    pub fn batch(&self) -> String {
        format!("/v2{}", self.brand("/consents/request"))
    }

    /// The results of the batch `request_id`, version 2.
    pub fn batch_results(&self, request_id: &str) -> String {
        format!("/v2{}/{request_id}", self.brand("/consents/request"))
    }

    /// The changes citizens made in İYS, read with a cursor.
    pub fn changes(&self) -> String {
        self.brand("/consents/changes")
    }

    /// İYS's daily change file of `date` (`YYYY-MM-DD`, Turkish calendar).
    pub fn daily_file(&self, date: CivilDate) -> String {
        self.brand(&format!("/changes/{date}/file"))
    }

    /// The registration of the addresses İYS pushes citizens' movements to.
    pub fn push_registration(&self) -> String {
        self.brand("/push/registration")
    }
}

/// The body of a push registration: one connection per channel, each an https address İYS
/// posts that channel's citizen movements to with HTTP Basic authentication.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushRegistration {
    /// The connections.
    pub connection: Vec<PushConnection>,
}

/// One push connection.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushConnection {
    /// Where İYS posts.
    pub url: String,
    /// The channel whose movements go there.
    #[serde(rename = "type")]
    pub channel: IysType,
    /// The Basic authentication user name İYS sends.
    pub username: String,
    /// Its password.
    pub password: String,
}

impl fmt::Debug for PushRegistration {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("PushRegistration")
            .field("connection", &self.connection)
            .finish()
    }
}

impl fmt::Debug for PushConnection {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The password is a secret.
        formatter
            .debug_struct("PushConnection")
            .field("url", &self.url)
            .field("channel", &self.channel)
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// What İYS pushes: citizens' movements, each with the account and brand it is for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushBatch {
    /// The movements.
    pub list: Vec<PushedMovement>,
}

/// One pushed movement: a movement as pull reports it, with its account and brand. The test
/// record İYS sends on registration names an account (121212) that is nobody's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PushedMovement {
    /// The service provider's İYS code.
    pub iys_code: u64,
    /// The brand's code.
    pub brand_code: u64,
    /// The movement.
    #[serde(flatten)]
    pub movement: IysMovement,
}

/// İYS's answer to a batch (`AddMultipleConsentResponse`): the id to read its results by. The
/// sub-requests it lists echo every address and are not read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchAccepted {
    /// The batch's id.
    pub request_id: String,
}

/// Where one consent of a batch stands at İYS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BatchItemStatus {
    /// Registered.
    Success,
    /// Refused, with an error.
    Failure,
    /// Still waiting at İYS.
    Enqueue,
    /// A status this version does not know: read as still waiting, so nothing is settled on it.
    #[serde(other)]
    Unknown,
}

/// One item of a batch's results as read: İYS's result, or an item that does not read, which
/// settles nothing, so that one odd item does not make the whole batch unreadable.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum BatchItem {
    /// A result that reads.
    Result(BatchItemResult),
    /// Anything else.
    Unreadable(serde::de::IgnoredAny),
}

impl BatchItem {
    /// The result, when the item reads.
    pub fn result(&self) -> Option<&BatchItemResult> {
        match self {
            BatchItem::Result(result) => Some(result),
            BatchItem::Unreadable(_) => None,
        }
    }
}

/// İYS's result for one consent of a batch (`SearchConsentResponseV2`, with the error İYS adds
/// to a failure). Nothing in it names the address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchItemResult {
    /// The consent's position in the batch, from 0.
    #[serde(default)]
    pub index: Option<u64>,
    /// Where it stands.
    pub status: BatchItemStatus,
    /// İYS's id of the registration, on success.
    #[serde(default)]
    pub transaction_id: Option<String>,
    /// When İYS registered it, on success.
    #[serde(default)]
    pub creation_date: Option<String>,
    /// Why İYS refused it, on failure.
    #[serde(default)]
    pub error: Option<IysErrorEntry>,
}

/// How long İYS's refresh token lasts when its answer does not say: four hours.
pub const REFRESH_TOKEN_SECONDS: i64 = 14_400;

/// A request to `POST /oauth2/token`: a new token with the account's password, or a renewal
/// with the refresh token of the last answer. Both are secrets and stay out of debug output.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "grant_type", rename_all = "snake_case")]
pub enum TokenRequest {
    /// The account's user name and password.
    Password {
        /// The İYS user name.
        username: String,
        /// Its password.
        password: String,
    },
    /// The refresh token of the newest answer (İYS sends a new one with each renewal).
    RefreshToken {
        /// The refresh token.
        refresh_token: String,
    },
}

/// İYS's answer to `POST /oauth2/token`. The tokens are secrets and stay out of debug output.
/// Its `token_type` (`bearer`) is not read, so that an odd one cannot lose the token.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenResponse {
    /// The bearer token for every other call.
    pub access_token: String,
    /// The token that renews it without the password.
    #[serde(default)]
    pub refresh_token: Option<String>,
    /// Seconds the access token lasts (7200).
    pub expires_in: i64,
    /// Seconds the refresh token lasts (14400).
    #[serde(default)]
    pub refresh_expires_in: Option<i64>,
}

impl TokenResponse {
    /// When the access token expires, in Unix seconds, for an answer received at `now`: never
    /// before `now`, whatever the answer says.
    pub fn access_expires_at(&self, now: i64) -> i64 {
        now.saturating_add(self.expires_in.max(0))
    }

    /// When the refresh token expires, in Unix seconds, for an answer received at `now`.
    pub fn refresh_expires_at(&self, now: i64) -> i64 {
        let lasts = self.refresh_expires_in.unwrap_or(REFRESH_TOKEN_SECONDS);
        now.saturating_add(lasts.max(0))
    }
}

impl fmt::Debug for TokenRequest {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let grant = match self {
            TokenRequest::Password { .. } => "password",
            TokenRequest::RefreshToken { .. } => "refresh_token",
        };
        formatter
            .debug_struct("TokenRequest")
            .field("grant_type", &grant)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for TokenResponse {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("TokenResponse")
            .field("expires_in", &self.expires_in)
            .field("refresh_expires_in", &self.refresh_expires_in)
            .finish_non_exhaustive()
    }
}

/// İYS's answer to a single add: the registration's id and time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AddConsentResponse {
    /// 64 characters identifying the registration.
    pub transaction_id: String,
    /// When İYS registered it, `YYYY-MM-DD HH:mm:ss`.
    pub creation_date: String,
}

/// İYS's error body: `{"errors": [...]}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IysErrorBody {
    /// One entry per problem.
    pub errors: Vec<IysErrorEntry>,
}

/// One problem İYS reports. The offending `value` İYS echoes back is not kept: it may be the
/// recipient's address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IysErrorEntry {
    /// The H-code, such as `H175`. Some of İYS's examples spell the key `code:` or give a
    /// number, and some bodies have no code at all (empty here; judge those by HTTP status).
    #[serde(alias = "code:", default, deserialize_with = "code_text")]
    pub code: String,
    /// İYS's Turkish message.
    #[serde(default)]
    pub message: String,
    /// The offending field's path; list positions are written as numbers.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "location_text"
    )]
    pub location: Option<Vec<String>>,
    /// The item's position in a batch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<u32>,
}

/// A string or a number, as İYS's error bodies mix them.
#[derive(Deserialize)]
#[serde(untagged)]
enum TextOrNumber {
    Text(String),
    Number(i64),
}

impl From<TextOrNumber> for String {
    fn from(value: TextOrNumber) -> String {
        match value {
            TextOrNumber::Text(text) => text,
            TextOrNumber::Number(number) => number.to_string(),
        }
    }
}

/// Reads an error code given as a string or as a number.
fn code_text<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    TextOrNumber::deserialize(deserializer).map(String::from)
}

/// Reads a location path whose steps are field names or list positions.
fn location_text<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Vec<String>>, D::Error> {
    let steps = Option::<Vec<TextOrNumber>>::deserialize(deserializer)?;
    Ok(steps.map(|steps| steps.into_iter().map(String::from).collect()))
}

/// One movement as İYS reports it in pull (`consents/changes`), push and status answers.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IysMovement {
    /// `YYYY-MM-DD HH:mm:ss`; may be missing for a merchant's line-closure record.
    #[serde(default)]
    pub consent_date: Option<String>,
    /// When İYS registered it.
    pub creation_date: String,
    /// Who recorded it.
    pub source: IysSource,
    /// The address.
    pub recipient: String,
    /// Individual or merchant.
    pub recipient_type: IysRecipientType,
    /// Consent or refusal.
    pub status: IysStatus,
    /// The channel.
    #[serde(rename = "type")]
    pub channel: IysType,
    /// İYS's id of the movement.
    pub transaction_id: String,
    /// The citizen's name, only when they added the brand in İYS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub citizen_name: Option<String>,
}

/// The answer of `GET .../consents/changes`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangesResponse {
    /// The cursor to pass as `after` next time.
    pub after: String,
    /// The movements, oldest registration first.
    pub list: Vec<IysMovement>,
}

impl fmt::Debug for IysConsent {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The recipient is personal data and stays out of debug output.
        formatter
            .debug_struct("IysConsent")
            .field("channel", &self.channel)
            .field("source", &self.source)
            .field("status", &self.status)
            .field("consent_date", &self.consent_date)
            .field("recipient_type", &self.recipient_type)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for IysMovement {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The recipient and the citizen's name are personal data.
        formatter
            .debug_struct("IysMovement")
            .field("channel", &self.channel)
            .field("status", &self.status)
            .field("source", &self.source)
            .field("recipient_type", &self.recipient_type)
            .field("consent_date", &self.consent_date)
            .field("creation_date", &self.creation_date)
            .field("transaction_id", &self.transaction_id)
            .finish_non_exhaustive()
    }
}

/// The columns of İYS's daily change file, in its order; its first line names them.
pub const DAILY_FILE_COLUMNS: [&str; 8] = [
    "creationDate",
    "transactionId",
    "recipient",
    "recipientType",
    "type",
    "status",
    "consentDate",
    "source",
];

/// How many days back İYS keeps daily change files (its H502 past that).
pub const DAILY_FILE_DAYS: i64 = 7;

/// One movement of İYS's daily change file: a consent or refusal İYS registered that day, from
/// the provider or from the citizen.
#[derive(Clone, PartialEq, Eq)]
pub struct DailyChange {
    /// When İYS registered it, `YYYY-MM-DD HH:mm:ss`.
    pub creation_date: String,
    /// İYS's id of the movement.
    pub transaction_id: String,
    /// The address.
    pub recipient: String,
    /// Individual or merchant.
    pub recipient_type: IysRecipientType,
    /// The channel.
    pub channel: IysType,
    /// Consent or refusal.
    pub status: IysStatus,
    /// When it was given, `YYYY-MM-DD HH:mm:ss`; may be empty for a merchant.
    pub consent_date: Option<String>,
    /// Who recorded it.
    pub source: IysSource,
}

impl fmt::Debug for DailyChange {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The address is personal data.
        formatter
            .debug_struct("DailyChange")
            .field("creation_date", &self.creation_date)
            .field("transaction_id", &self.transaction_id)
            .field("recipient_type", &self.recipient_type)
            .field("channel", &self.channel)
            .field("status", &self.status)
            .field("consent_date", &self.consent_date)
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

/// Why a daily change file does not read: the line (from 1) and what is wrong with it, never its
/// content, which holds addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DailyFileError {
    /// The line, from 1.
    pub line: usize,
    /// What is wrong.
    pub problem: &'static str,
}

impl fmt::Display for DailyFileError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            formatter,
            "daily change file, line {}: {}",
            self.line, self.problem
        )
    }
}

impl std::error::Error for DailyFileError {}

/// Reads one of İYS's vocabulary values from its wire name.
fn wire_value<'de, T: Deserialize<'de>>(text: &'de str) -> Option<T> {
    T::deserialize(serde::de::value::BorrowedStrDeserializer::<
        serde::de::value::Error,
    >::new(text))
    .ok()
}

/// The fields of one CSV line: separated by commas, a field in double quotes may hold commas
/// and `""` for a quote.
fn csv_fields(line: &str) -> Option<Vec<String>> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut characters = line.chars().peekable();
    let mut quoted = false;
    let mut started = true;
    while let Some(character) = characters.next() {
        match character {
            '"' if quoted && characters.peek() == Some(&'"') => {
                characters.next();
                field.push('"');
            }
            '"' if quoted => quoted = false,
            '"' if started && field.is_empty() => quoted = true,
            ',' if !quoted => {
                fields.push(std::mem::take(&mut field));
                started = true;
                continue;
            }
            other => field.push(other),
        }
        started = false;
    }
    (!quoted).then(|| {
        fields.push(field);
        fields
    })
}

impl DailyChange {
    /// Reads a whole daily change file: its header line naming [`DAILY_FILE_COLUMNS`], then one
    /// movement a line (CRLF or LF; a last empty line is allowed).
    pub fn parse_file(text: &str) -> Result<Vec<DailyChange>, DailyFileError> {
        let mut lines = text.lines().enumerate();
        let header = lines.next().map(|(_, line)| line).unwrap_or_default();
        if csv_fields(header.trim_start_matches('\u{feff}')).as_deref()
            != Some(&DAILY_FILE_COLUMNS.map(str::to_owned)[..])
        {
            return Err(DailyFileError {
                line: 1,
                problem: "expected the header creationDate,transactionId,recipient,recipientType,type,status,consentDate,source",
            });
        }
        let mut changes = Vec::new();
        for (index, line) in lines {
            if line.is_empty() {
                continue;
            }
            let error = |problem| DailyFileError {
                line: index + 1,
                problem,
            };
            let fields = csv_fields(line).ok_or_else(|| error("a quote is not closed"))?;
            let [
                creation_date,
                transaction_id,
                recipient,
                recipient_type,
                channel,
                status,
                consent_date,
                source,
            ] = <[String; 8]>::try_from(fields).map_err(|_| error("expected 8 fields"))?;
            changes.push(DailyChange {
                recipient_type: wire_value(&recipient_type)
                    .ok_or_else(|| error("the recipient type is not BIREYSEL or TACIR"))?,
                channel: wire_value(&channel)
                    .ok_or_else(|| error("the type is not MESAJ, ARAMA or EPOSTA"))?,
                // A status this version does not know could be a refusal: it does not read.
                status: wire_value(&status)
                    .filter(|status| *status != IysStatus::Other)
                    .ok_or_else(|| error("the status is not ONAY, RET or BEKLIYOR"))?,
                source: wire_value(&source).ok_or_else(|| error("the source does not read"))?,
                consent_date: Some(consent_date).filter(|date| !date.is_empty()),
                creation_date,
                transaction_id,
                recipient,
            });
        }
        Ok(changes)
    }
}
