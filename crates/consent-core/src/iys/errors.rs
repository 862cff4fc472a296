//! İYS's error codes, what each means, and whether trying again can help.
//!
//! İYS removes a caller's IP from its whitelist when fewer than 70 % of its requests succeed over a
//! day, so only codes that say İYS was busy or faulty are worth retrying; everything else is final.
//! Meanings are paraphrased from İYS API document 3.2.0.

/// What a caller should do after an İYS error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Disposition {
    /// Over the per-second limit: wait a moment, then retry.
    Throttled,
    /// Over an hourly limit (tokens H084, single status H086, history H089): wait a full hour.
    /// Retrying earlier restarts İYS's counter.
    HourlyLimit,
    /// İYS said it is busy or timed out: retry with back-off.
    Busy,
    /// A fault inside İYS: retry with back-off.
    ServerFault,
    /// The access token is missing or expired: get a new one, then retry.
    Reauthenticate,
    /// The consent date is ahead of İYS's clock (H162): retry once the moment has passed.
    ClockAhead,
    /// The request itself is wrong: fix the code, do not retry.
    InvalidRequest,
    /// The address is not acceptable to İYS: final.
    InvalidRecipient,
    /// The date is not acceptable to İYS: final.
    InvalidDate,
    /// The consent is older than three business days: final.
    Late,
    /// İYS's stored state makes the movement pointless or out of date (H174, H175, H178): final,
    /// and usually a sign that the local state is behind İYS.
    StateConflict,
    /// The account, credentials, rights or subscription do not allow it: an operator must act.
    Account,
    /// Something named in the request does not exist.
    NotFound,
}

impl Disposition {
    /// Whether sending the same request again later can succeed.
    pub const fn is_retryable(self) -> bool {
        matches!(
            self,
            Disposition::Throttled
                | Disposition::HourlyLimit
                | Disposition::Busy
                | Disposition::ServerFault
                | Disposition::Reauthenticate
                | Disposition::ClockAhead
        )
    }

    /// The least time to wait before retrying, in seconds; 0 when no wait is needed or the
    /// error is final.
    pub const fn min_wait_seconds(self) -> u64 {
        match self {
            Disposition::HourlyLimit => 3_600,
            Disposition::ClockAhead => 2,
            Disposition::Throttled | Disposition::Busy | Disposition::ServerFault => 1,
            _ => 0,
        }
    }
}

/// One entry of İYS's error table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IysErrorInfo {
    /// The code, such as `H175`.
    pub code: &'static str,
    /// The HTTP status İYS documents for it, where it does.
    pub http_status: Option<u16>,
    /// What it means, in English.
    pub meaning: &'static str,
    /// What to do about it.
    pub disposition: Disposition,
}

/// The catalogue entry for `code`, such as `H175`.
pub fn lookup(code: &str) -> Option<&'static IysErrorInfo> {
    CATALOGUE.iter().find(|entry| entry.code == code)
}

/// What to do about an error with `code` and HTTP `status`. A code the catalogue lacks (or a
/// body without one) is judged by its status: 429 is throttling, 401 a stale token, 5xx a fault
/// worth retrying, anything else final, the cautious choice.
pub fn disposition(code: &str, status: Option<u16>) -> Disposition {
    if let Some(entry) = lookup(code) {
        return entry.disposition;
    }
    match status {
        Some(429) => Disposition::Throttled,
        Some(401) => Disposition::Reauthenticate,
        Some(500..=599) => Disposition::ServerFault,
        _ => Disposition::InvalidRequest,
    }
}

use Disposition::{
    Account, Busy, ClockAhead, HourlyLimit, InvalidDate, InvalidRecipient, InvalidRequest, Late,
    NotFound, Reauthenticate, ServerFault, StateConflict, Throttled,
};

const fn entry(
    code: &'static str,
    http_status: u16,
    disposition: Disposition,
    meaning: &'static str,
) -> IysErrorInfo {
    IysErrorInfo {
        code,
        http_status: if http_status == 0 {
            None
        } else {
            Some(http_status)
        },
        meaning,
        disposition,
    }
}

/// Every code in İYS's error table and in its endpoint examples. A status of 0 means İYS's
/// table gives none for the code.
pub const CATALOGUE: &[IysErrorInfo] = &[
    // Request shape.
    entry("H014", 400, InvalidRequest, "the body is not valid JSON"),
    entry(
        "H085",
        400,
        InvalidRequest,
        "the consent-add request is invalid",
    ),
    entry("H092", 400, InvalidRequest, "the batch request is invalid"),
    entry(
        "H095",
        400,
        InvalidRequest,
        "the transaction request is invalid",
    ),
    entry("H097", 400, InvalidRequest, "the status query is invalid"),
    entry(
        "H098",
        400,
        InvalidRequest,
        "the daily-change query is invalid",
    ),
    entry(
        "H118",
        422,
        InvalidRequest,
        "the body has a field İYS does not know",
    ),
    // Missing fields.
    entry("H110", 422, InvalidRequest, "status is missing"),
    entry("H111", 422, InvalidRequest, "type is missing"),
    entry("H112", 422, InvalidRequest, "consentDate is missing"),
    entry("H113", 422, InvalidRequest, "source is missing"),
    entry("H114", 422, InvalidRequest, "recipient is missing"),
    entry("H170", 422, InvalidRequest, "recipientType is missing"),
    entry(
        "H168",
        422,
        InvalidRequest,
        "the recipients list is missing",
    ),
    // Bad enum values.
    entry("H115", 422, InvalidRequest, "status is not ONAY or RET"),
    entry(
        "H116",
        422,
        InvalidRequest,
        "recipientType is not BIREYSEL or TACIR",
    ),
    entry(
        "H117",
        422,
        InvalidRequest,
        "type is not ARAMA, MESAJ or EPOSTA",
    ),
    entry(
        "H119",
        422,
        InvalidRequest,
        "source is not an allowed value",
    ),
    entry(
        "H486",
        400,
        InvalidRequest,
        "source is not an allowed value",
    ),
    entry("H450", 422, InvalidRequest, "the type is invalid"),
    // Recipients.
    entry(
        "H120",
        422,
        InvalidRecipient,
        "the e-mail address is invalid",
    ),
    entry(
        "H121",
        422,
        InvalidRecipient,
        "the phone number is not in E.164 form",
    ),
    entry(
        "H122",
        422,
        InvalidRecipient,
        "the recipient is neither a phone number nor an e-mail address",
    ),
    entry(
        "H160",
        422,
        InvalidRecipient,
        "the phone number is longer than 15 characters",
    ),
    entry(
        "H166",
        422,
        InvalidRecipient,
        "the phone number is longer than 15 characters",
    ),
    entry(
        "H464",
        422,
        InvalidRecipient,
        "the recipient does not fit the type",
    ),
    entry("H459", 422, InvalidRequest, "ViA needs type MESAJ or ARAMA"),
    // Dates.
    entry(
        "H155",
        422,
        InvalidDate,
        "an HS_2015 consent must be dated 2015-05-01 00:00:00",
    ),
    entry(
        "H156",
        422,
        InvalidDate,
        "the consent date is before 2015-05-01",
    ),
    entry(
        "H157",
        422,
        InvalidDate,
        "the consent date is not a valid date",
    ),
    entry(
        "H158",
        422,
        InvalidDate,
        "the consent date is not in yyyy-mm-dd hh:mm:ss form",
    ),
    entry("H162", 422, ClockAhead, "the consent date is in the future"),
    entry(
        "H467",
        422,
        Late,
        "consents taken more than three business days ago cannot be registered",
    ),
    entry(
        "H178",
        400,
        StateConflict,
        "the consent date is older than the stored one",
    ),
    entry("H179", 500, ServerFault, "the date comparison failed"),
    // State.
    entry(
        "H174",
        400,
        StateConflict,
        "an update must change the status; it is already RET",
    ),
    entry(
        "H175",
        400,
        StateConflict,
        "the first record for an address cannot be RET",
    ),
    entry(
        "H408",
        422,
        InvalidRequest,
        "source HS_KARAR must come with status RET",
    ),
    entry(
        "H462",
        400,
        InvalidRequest,
        "updating a TACIR record needs consentDate",
    ),
    entry(
        "H463",
        400,
        InvalidRequest,
        "updating a TACIR record needs source",
    ),
    // Sizes and lists.
    entry(
        "H091",
        422,
        InvalidRequest,
        "a batch holds more than 1000 consents",
    ),
    entry(
        "H125",
        422,
        InvalidRequest,
        "a batch holds more than 1000 consents",
    ),
    entry("H126", 422, InvalidRequest, "retailerAccess is too long"),
    entry(
        "H127",
        422,
        InvalidRequest,
        "the recipients list is too long",
    ),
    entry("H163", 422, InvalidRequest, "the retailer list is empty"),
    entry("H164", 422, InvalidRequest, "the recipients list is empty"),
    entry("H478", 422, InvalidRequest, "recipients is not a list"),
    entry(
        "H193",
        422,
        InvalidRequest,
        "a retailer or recipient appears twice in the list",
    ),
    entry(
        "H194",
        422,
        InvalidRequest,
        "a (recipientType, type, recipient) appears twice in the batch",
    ),
    // Paging.
    entry("H182", 422, InvalidRequest, "offset is invalid"),
    entry("H183", 422, InvalidRequest, "limit is invalid"),
    entry("H184", 422, InvalidRequest, "all is invalid"),
    entry("H185", 422, InvalidRequest, "short is invalid"),
    entry("H186", 422, InvalidRequest, "the page size is over 100"),
    entry("H187", 422, InvalidRequest, "limit is 0"),
    // Ids and paths.
    entry("H190", 422, InvalidRequest, "iysCode is not an integer"),
    entry(
        "H191",
        422,
        InvalidRequest,
        "brandCode is not an integer, or a push connection timed out",
    ),
    entry(
        "H198",
        422,
        InvalidRequest,
        "requestId is longer than 36 characters",
    ),
    entry("H199", 422, InvalidRequest, "requestId has only letters"),
    entry("H400", 422, InvalidRequest, "requestId has only digits"),
    entry(
        "H093",
        422,
        NotFound,
        "the transactionId was not found, or push credentials are missing",
    ),
    entry(
        "H266",
        400,
        InvalidRequest,
        "iysCode or retailerCode is missing",
    ),
    entry(
        "H267",
        400,
        InvalidRequest,
        "iysCode or retailerCode is an empty string",
    ),
    // Dealers.
    entry("H060", 500, ServerFault, "the dealer update failed"),
    entry("H061", 500, ServerFault, "the dealer delete failed"),
    entry("H062", 500, ServerFault, "the dealer save failed"),
    entry(
        "H090",
        400,
        InvalidRequest,
        "the dealer-add request is invalid",
    ),
    entry("H169", 422, InvalidRequest, "retailerAccess is missing"),
    entry(
        "H171",
        400,
        InvalidRequest,
        "the dealer-access grant is invalid",
    ),
    entry(
        "H172",
        400,
        InvalidRequest,
        "the dealer-access removal is invalid",
    ),
    entry(
        "H173",
        400,
        InvalidRequest,
        "the dealer-access query is invalid",
    ),
    entry("H180", 403, NotFound, "the retailerCode was not found"),
    entry("H181", 500, ServerFault, "listing dealers failed"),
    entry("H401", 400, NotFound, "no consent was found for the dealer"),
    entry("H243", 400, InvalidRequest, "the tax number is invalid"),
    entry(
        "H244",
        400,
        InvalidRequest,
        "tin must have 10 or 11 characters",
    ),
    // Authentication and rights.
    entry(
        "H176",
        400,
        Account,
        "only an administrator account may do this",
    ),
    entry(
        "H245",
        400,
        Account,
        "the iysCode is not in the integrator's group",
    ),
    entry("H250", 400, Account, "username or password is missing"),
    entry("H251", 401, Account, "the credentials are wrong"),
    entry("H252", 400, Account, "the credentials are missing"),
    entry(
        "H268",
        404,
        Account,
        "no integrator user exists for the iysCode",
    ),
    entry(
        "H351",
        401,
        Reauthenticate,
        "the access token is missing, invalid or expired",
    ),
    entry(
        "H353",
        403,
        Account,
        "iysCode, brandCode or retailerCode does not match the user's rights",
    ),
    entry("H355", 404, Account, "the user lacks the permission"),
    entry(
        "H363",
        400,
        Account,
        "the service is not allowed for this account type",
    ),
    entry("H129", 404, NotFound, "the integrator was not found"),
    entry("H402", 400, InvalidRequest, "the brand query is invalid"),
    entry("H405", 400, InvalidRequest, "the brand query is invalid"),
    entry("H403", 400, InvalidRequest, "the status query is invalid"),
    entry(
        "H404",
        422,
        InvalidRequest,
        "the text must have at least one character",
    ),
    entry("H197", 422, InvalidRequest, "the search text is missing"),
    entry("H195", 403, Account, "the brand lookup failed"),
    entry("H196", 403, Account, "the iysCode lookup failed"),
    // Limits.
    entry("H083", 429, Throttled, "more than 10 requests per second"),
    entry("H124", 429, Throttled, "more than 10 requests per second"),
    entry(
        "H084",
        429,
        HourlyLimit,
        "the hourly token limit is reached; wait a full hour",
    ),
    entry(
        "H086",
        429,
        HourlyLimit,
        "the hourly single-status limit is reached",
    ),
    entry(
        "H089",
        429,
        HourlyLimit,
        "the hourly history limit is reached",
    ),
    // Faults inside İYS.
    entry("H015", 500, ServerFault, "an unexpected error"),
    entry("H412", 500, ServerFault, "an unexpected error"),
    entry("H470", 500, ServerFault, "an unexpected error"),
    entry("H476", 500, ServerFault, "an unexpected error"),
    entry("H100", 500, ServerFault, "recovery data was not saved"),
    entry("H101", 500, ServerFault, "the main data was not saved"),
    entry("H102", 500, ServerFault, "encryption failed"),
    entry("H103", 500, ServerFault, "the search failed"),
    entry("H105", 500, ServerFault, "decryption failed"),
    entry("H106", 500, ServerFault, "the status report failed"),
    entry("H107", 500, ServerFault, "listing failed"),
    entry("H082", 400, ServerFault, "listing the enumeration failed"),
    entry("H241", 400, ServerFault, "listing the enumeration failed"),
    entry("H123", 400, Busy, "the service is busy"),
    entry("H192", 503, Busy, "the request timed out"),
    // Subscription.
    entry(
        "H520",
        0,
        Account,
        "the subscription is paused or expired; only the subscription query is allowed",
    ),
    entry("H521", 403, Account, "the subscription is closed"),
    entry("H524", 403, Account, "there is no subscription"),
    entry("H525", 422, Account, "the consent quota is used up"),
    entry("H586", 403, Account, "the package has no API access"),
    entry("H437", 0, NotFound, "the subscription was not found"),
    entry("H522", 0, Account, "only an integrator account may do this"),
    // ViA.
    entry(
        "H452",
        422,
        InvalidRequest,
        "ARAMA or MESAJ through ViA need IYS_CM or IYS_KISAMESAJ",
    ),
    entry(
        "H453",
        422,
        InvalidRequest,
        "at most two ViA operations per day per recipient",
    ),
    entry("H454", 422, InvalidRequest, "the ViA requestId is invalid"),
    entry(
        "H455",
        422,
        InvalidRequest,
        "the ViA verification code is invalid",
    ),
    entry("H456", 422, NotFound, "the ViA request was not found"),
    entry("H460", 422, InvalidRequest, "the data was not verified"),
    entry(
        "H465",
        422,
        InvalidRequest,
        "no new ViA process within three minutes",
    ),
    entry(
        "H568",
        0,
        StateConflict,
        "a refusal link only for addresses in ONAY",
    ),
    // Codes seen only in İYS's endpoint examples.
    entry("H001", 0, NotFound, "the iysCode was not found"),
    entry("H018", 0, NotFound, "the brand was not found"),
    entry("H031", 0, NotFound, "the user was not found"),
    entry("H058", 0, NotFound, "the dealer was not found"),
    entry("H016", 0, InvalidRequest, "dealer fields are missing"),
    entry("H017", 0, InvalidRequest, "dealer fields are too long"),
    entry("H067", 0, Account, "no eight-digit dealer codes are left"),
    entry(
        "H201",
        0,
        InvalidRequest,
        "the dealer status is not active, suspended or passive",
    ),
    entry("H214", 0, InvalidRequest, "a dealer field is empty"),
    entry("H215", 0, InvalidRequest, "a dealer field is empty"),
    entry("H216", 0, InvalidRequest, "a dealer field is empty"),
    entry("H217", 0, InvalidRequest, "a dealer field is empty"),
    entry("H218", 0, InvalidRequest, "a dealer field is empty"),
    entry("H219", 0, InvalidRequest, "a dealer field is empty"),
    entry("H220", 0, InvalidRequest, "a dealer field is empty"),
    entry("H221", 0, InvalidRequest, "a dealer field is empty"),
    entry("H222", 0, InvalidRequest, "a dealer field is empty"),
    entry(
        "H224",
        0,
        InvalidRequest,
        "the dealer's phone is not in E.164 form",
    ),
    entry(
        "H225",
        0,
        InvalidRequest,
        "the TCKN or MERSIS number is invalid",
    ),
    entry(
        "H226",
        0,
        InvalidRequest,
        "the TCKN or MERSIS number is invalid",
    ),
    entry(
        "H227",
        0,
        InvalidRequest,
        "the TCKN or MERSIS number has the wrong length",
    ),
    entry(
        "H228",
        0,
        InvalidRequest,
        "the TCKN or MERSIS number has the wrong length",
    ),
    entry("H229", 0, InvalidRequest, "the value must be alphanumeric"),
    entry(
        "H230",
        0,
        InvalidRequest,
        "the MERSIS number must be unique",
    ),
    entry("H231", 0, InvalidRequest, "the TCKN must be unique"),
    entry("H253", 0, StateConflict, "a passive dealer already exists"),
    entry("H288", 0, InvalidRequest, "tin is empty"),
    entry("H501", 0, InvalidRequest, "the date must be yyyy-aa-gg"),
    entry(
        "H502",
        0,
        InvalidRequest,
        "the report date is more than seven days back",
    ),
    entry("H506", 0, InvalidRequest, "the pull source is invalid"),
    entry("H507", 0, InvalidRequest, "the pull limit is over 1000"),
    entry("H512", 0, InvalidRequest, "only true is accepted"),
    entry(
        "H530",
        0,
        Account,
        "creating or removing the push connection failed",
    ),
    entry("H531", 0, InvalidRequest, "the push URL must be https"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_well_formed() {
        for (index, entry) in CATALOGUE.iter().enumerate() {
            assert!(
                entry.code.len() == 4
                    && entry.code.starts_with('H')
                    && entry.code[1..].bytes().all(|byte| byte.is_ascii_digit()),
                "{}",
                entry.code
            );
            assert!(
                CATALOGUE[index + 1..]
                    .iter()
                    .all(|other| other.code != entry.code),
                "{} twice",
                entry.code
            );
        }
    }

    #[test]
    fn only_limits_faults_stale_tokens_and_early_dates_are_retried() {
        for code in [
            "H083", "H124", "H084", "H123", "H192", "H015", "H470", "H476", "H179", "H351", "H162",
        ] {
            assert!(disposition(code, None).is_retryable(), "{code}");
        }
        for code in [
            "H120", "H121", "H118", "H156", "H467", "H174", "H175", "H178", "H251", "H525",
        ] {
            assert!(!disposition(code, None).is_retryable(), "{code}");
        }
    }

    #[test]
    fn unknown_codes_are_judged_by_their_status() {
        assert_eq!(lookup("H999"), None);
        assert!(!disposition("H999", None).is_retryable());
        assert!(!disposition("H999", Some(422)).is_retryable());
        assert_eq!(disposition("H999", Some(503)), Disposition::ServerFault);
        assert_eq!(disposition("", Some(429)), Disposition::Throttled);
        assert_eq!(disposition("", Some(401)), Disposition::Reauthenticate);
    }

    #[test]
    fn hourly_limits_wait_an_hour() {
        for code in ["H084", "H086", "H089"] {
            assert_eq!(
                disposition(code, Some(429)).min_wait_seconds(),
                3_600,
                "{code}"
            );
        }
        assert_eq!(disposition("H124", Some(429)).min_wait_seconds(), 1);
        assert_eq!(disposition("H120", Some(422)).min_wait_seconds(), 0);
    }

    #[test]
    fn every_catalogued_429_is_throttling_and_nearly_every_5xx_is_retried() {
        for entry in CATALOGUE {
            match entry.http_status {
                Some(429) => {
                    assert!(
                        matches!(
                            entry.disposition,
                            Disposition::Throttled | Disposition::HourlyLimit
                        ),
                        "{}",
                        entry.code
                    );
                }
                Some(500..=599) => {
                    assert!(entry.disposition.is_retryable(), "{}", entry.code);
                }
                _ => {}
            }
        }
    }
}
