//! What the İYS mapping produces, checked against İYS's own OpenAPI document.

use consent_core::iys::MovementError;
use consent_core::iys::wire::{IysConsent, Movement};
use consent_core::time::{IysDateTime, iys_epoch};
use consent_core::{Channel, ConsentStatus, Recipient, RecipientType, Source};
use serde_json::{Value, json};

#[path = "../support/iys_schema.rs"]
mod support;

use support::{consent_validator, iys_openapi};

fn assert_valid(validator: &jsonschema::Validator, body: &Value) {
    let errors: Vec<String> = validator
        .iter_errors(body)
        .map(|error| error.to_string())
        .collect();
    assert!(errors.is_empty(), "{body}: {errors:?}");
}

#[test]
fn every_channel_status_type_and_source_validates() {
    let validator = consent_validator();
    let phone = Recipient::parse_for(Channel::Sms, "0532 123 45 67").unwrap();
    let email = Recipient::parse_for(Channel::Email, "Ornek@Alan.com").unwrap();
    let date = IysDateTime::parse("2026-11-28 14:03:11").unwrap();
    let mut checked = 0;
    for &channel in Channel::ALL {
        let recipient = if channel.is_phone() { &phone } else { &email };
        for &recipient_type in RecipientType::ALL {
            for &status in &[ConsentStatus::Granted, ConsentStatus::Rejected] {
                for &source in Source::ALL {
                    let consent_date = if source == Source::Before2015 {
                        IysDateTime::from_instant(iys_epoch())
                    } else {
                        date
                    };
                    let movement = Movement {
                        recipient,
                        channel,
                        recipient_type,
                        status,
                        source,
                        consent_date,
                        retailer_code: None,
                        retailer_access: &[],
                    };
                    match IysConsent::from_movement(&movement) {
                        Ok(consent) => {
                            assert_valid(&validator, &serde_json::to_value(&consent).unwrap());
                            checked += 1;
                        }
                        Err(error) => {
                            assert_eq!(error, MovementError::ProviderDecisionMustRefuse);
                            assert_eq!(status, ConsentStatus::Granted);
                        }
                    }
                }
            }
        }
    }
    assert_eq!(checked, 3 * 2 * (2 * 13 - 1));
}

#[test]
fn the_body_holds_exactly_the_documented_keys_and_never_null_or_empty() {
    let validator = consent_validator();
    let phone = Recipient::parse_for(Channel::Call, "+90 212 123 00 00").unwrap();
    let movement = Movement {
        recipient: &phone,
        channel: Channel::Call,
        recipient_type: RecipientType::Individual,
        status: ConsentStatus::Granted,
        source: Source::Web,
        consent_date: IysDateTime::parse("2026-11-28 14:03:11").unwrap(),
        retailer_code: None,
        retailer_access: &[],
    };
    let body = serde_json::to_value(IysConsent::from_movement(&movement).unwrap()).unwrap();
    assert_eq!(
        body,
        json!({
            "recipient": "+902121230000",
            "type": "ARAMA",
            "source": "HS_WEB",
            "status": "ONAY",
            "consentDate": "2026-11-28 14:03:11",
            "recipientType": "BIREYSEL",
        })
    );
    assert_valid(&validator, &body);

    let with_dealers = Movement {
        retailer_code: Some(11_223_344),
        retailer_access: &[11_223_344, 55_667_788],
        ..movement.clone()
    };
    let body = serde_json::to_value(IysConsent::from_movement(&with_dealers).unwrap()).unwrap();
    assert_eq!(body["retailerCode"], 11_223_344);
    assert_eq!(body["retailerAccess"], json!([11_223_344, 55_667_788]));
    assert_valid(&validator, &body);
}

#[test]
fn the_mended_schema_still_refuses_what_iys_refuses() {
    let validator = consent_validator();
    let good = json!({
        "recipient": "+905321234567", "type": "MESAJ", "source": "HS_WEB", "status": "ONAY",
        "consentDate": "2026-11-28 14:03:11", "recipientType": "BIREYSEL",
    });
    assert_valid(&validator, &good);
    let mutations: [(&str, Value); 6] = [
        ("consentDate", json!("2026-11-28T14:03:11Z")),
        ("type", json!("SMS")),
        ("status", json!("RED")),
        ("source", json!("IYS_WEB")),
        ("retailerCode", Value::Null),
        ("unknown", json!("x")),
    ];
    for (key, value) in mutations {
        let mut body = good.clone();
        body[key] = value;
        assert!(
            !validator.is_valid(&body),
            "{key} should be refused: {body}"
        );
    }
    let mut missing = good.clone();
    missing.as_object_mut().unwrap().remove("consentDate");
    assert!(!validator.is_valid(&missing));
}

#[test]
fn rules_a_record_alone_decides_are_checked_before_sending() {
    let email = Recipient::parse_for(Channel::Email, "ornek@alan.com").unwrap();
    let base = Movement {
        recipient: &email,
        channel: Channel::Email,
        recipient_type: RecipientType::Individual,
        status: ConsentStatus::Rejected,
        source: Source::Web,
        consent_date: IysDateTime::parse("2026-11-28 14:03:11").unwrap(),
        retailer_code: None,
        retailer_access: &[],
    };
    let sms = Movement {
        channel: Channel::Sms,
        ..base.clone()
    };
    assert_eq!(
        IysConsent::from_movement(&sms),
        Err(MovementError::ChannelMismatch)
    );
    let old = Movement {
        consent_date: IysDateTime::parse("2015-04-30 23:59:59").unwrap(),
        ..base.clone()
    };
    assert_eq!(
        IysConsent::from_movement(&old),
        Err(MovementError::BeforeIysEpoch)
    );
    let before_2015 = Movement {
        source: Source::Before2015,
        ..base.clone()
    };
    assert_eq!(
        IysConsent::from_movement(&before_2015),
        Err(MovementError::Before2015DateMustBeEpoch)
    );
    let decision = Movement {
        source: Source::ProviderDecision,
        status: ConsentStatus::Granted,
        ..base.clone()
    };
    assert_eq!(
        IysConsent::from_movement(&decision).map_err(MovementError::iys_code),
        Err("H408")
    );
    let too_many: Vec<u64> = (0..101).collect();
    let crowded = Movement {
        retailer_access: &too_many,
        ..base
    };
    assert_eq!(
        IysConsent::from_movement(&crowded),
        Err(MovementError::TooManyRetailers)
    );
}

/// Every JSON object in the document that holds an `errors` array: İYS's own error examples.
fn error_examples(value: &Value, found: &mut Vec<Value>) {
    match value {
        Value::Object(object) => {
            if object.get("errors").is_some_and(Value::is_array) {
                found.push(value.clone());
            }
            for child in object.values() {
                error_examples(child, found);
            }
        }
        Value::Array(items) => items.iter().for_each(|item| error_examples(item, found)),
        _ => {}
    }
}

#[test]
fn every_error_example_in_the_document_parses_and_its_codes_are_catalogued() {
    use consent_core::iys::errors::lookup;
    use consent_core::iys::wire::IysErrorBody;
    let mut examples = Vec::new();
    error_examples(&iys_openapi(), &mut examples);
    assert!(
        examples.len() > 50,
        "only {} examples found",
        examples.len()
    );
    let mut codes = 0;
    for example in &examples {
        let body: IysErrorBody = serde_json::from_value(example.clone())
            .unwrap_or_else(|error| panic!("{example}: {error}"));
        for entry in &body.errors {
            // ViA's four-digit codes are outside what the relay uses.
            if entry.code.len() == 4 && entry.code.starts_with('H') {
                assert!(
                    lookup(&entry.code).is_some(),
                    "{} is not catalogued",
                    entry.code
                );
                codes += 1;
            }
        }
    }
    assert!(codes > 50, "only {codes} codes checked");
}

#[test]
fn catalogued_statuses_match_the_documented_error_table() {
    use consent_core::iys::errors::CATALOGUE;
    let document = iys_openapi();
    let table = document["tags"]
        .as_array()
        .unwrap()
        .iter()
        .find(|tag| tag["name"] == "HATA KODLARI")
        .and_then(|tag| tag["description"].as_str())
        .unwrap()
        .to_owned();
    let mut documented = std::collections::HashMap::new();
    for line in table.lines() {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        if let [_, code, status, ..] = cells[..]
            && code.len() == 4
            && code.starts_with('H')
            && let Ok(status) = status.parse::<u16>()
        {
            documented.entry(code.to_owned()).or_insert(status);
        }
    }
    assert!(
        documented.len() > 100,
        "only {} rows read",
        documented.len()
    );
    for (code, status) in &documented {
        let entry = CATALOGUE
            .iter()
            .find(|entry| entry.code == code)
            .unwrap_or_else(|| panic!("{code} is in İYS's table but not catalogued"));
        assert_eq!(entry.http_status, Some(*status), "{code}");
    }
}

#[test]
fn pull_bodies_parse_and_unknown_values_do_not_break_a_page() {
    use consent_core::iys::wire::{ChangesResponse, IysSource, IysStatus};
    let changes: ChangesResponse = serde_json::from_value(json!({
        "after": "1596530379_0a1b",
        "list": [
            {"consentDate": "2020-08-04 11:39:39", "creationDate": "2020-08-04 11:39:40",
             "source": "IYS_KISAMESAJ", "recipient": "+905321234567", "recipientType": "BIREYSEL",
             "status": "RET", "type": "MESAJ", "transactionId": "abc"},
            {"creationDate": "2020-08-04 11:40:00", "source": "IYS_SOMETHING_NEW",
             "recipient": "ali@example.com", "recipientType": "BIREYSEL", "status": "BEKLIYOR",
             "type": "EPOSTA", "transactionId": "def"}
        ]
    }))
    .unwrap();
    assert!(changes.list[0].source.is_from_iys());
    assert_eq!(
        changes.list[0].status.consent_status(),
        Some(consent_core::ConsentStatus::Rejected)
    );
    assert_eq!(changes.list[1].source, IysSource::Other);
    assert_eq!(changes.list[1].status, IysStatus::Pending);
    assert_eq!(changes.list[1].status.consent_status(), None);
    let debug = format!("{:?}", changes.list[0]);
    assert!(!debug.contains("5321234567"), "{debug}");
}

#[test]
fn every_path_the_relay_calls_is_in_the_document_with_its_method() {
    use consent_core::iys::wire::IysPaths;
    let document = iys_openapi();
    let paths = IysPaths::new(123_456, 654_321);
    let called = [
        (IysPaths::TOKEN.to_owned(), "post"),
        (paths.add(), "post"),
        (paths.status(), "post"),
        (paths.batch(), "post"),
        (paths.batch_results("29a014400sf3d3c6"), "get"),
        (paths.changes(), "get"),
        (
            paths.daily_file(consent_core::time::CivilDate::new(2026, 12, 5).unwrap()),
            "get",
        ),
    ];
    for (path, method) in called {
        // Put the document's placeholders back where the codes and the id stand.
        let template = path
            .replace("123456", "{iysCode}")
            .replace("654321", "{brandCode}")
            .replace("29a014400sf3d3c6", "{requestId}")
            .replace("2026-12-05", "{reportDate}");
        assert!(
            document["paths"][&template][method].is_object(),
            "{method} {template} is not in İYS's document"
        );
    }
}

#[test]
fn batch_answers_read_as_the_document_shows_them() {
    use consent_core::iys::wire::{BatchAccepted, BatchItemResult, BatchItemStatus};
    let document = iys_openapi();
    let schemas = &document["components"]["schemas"];
    let accepted: BatchAccepted =
        serde_json::from_value(schemas["AddMultipleConsentResponse"]["example"].clone()).unwrap();
    assert!(!accepted.request_id.is_empty());
    let success: BatchItemResult = serde_json::from_value(json!({
        "index": 0, "status": "success", "subrequestId": "s", "transactionId": "t",
        "requestId": "r", "creationDate": "2026-12-01 10:00:00", "isAddConsentV2Service": true
    }))
    .unwrap();
    assert_eq!(success.status, BatchItemStatus::Success);
    assert_eq!(success.index, Some(0));
    assert_eq!(success.transaction_id.as_deref(), Some("t"));
    let failure: BatchItemResult = serde_json::from_value(json!({
        "index": 3, "status": "failure", "error": {"code": "H174", "message": "m"}
    }))
    .unwrap();
    assert_eq!(failure.error.unwrap().code, "H174");
    let later: BatchItemResult =
        serde_json::from_value(json!({"index": 1, "status": "processing"})).unwrap();
    assert_eq!(
        later.status,
        BatchItemStatus::Unknown,
        "an unknown status settles nothing"
    );
    // Every status the document lists reads as a known one.
    let listed = schemas["SearchConsentResponseV2"]["properties"]["status"]["enum"]
        .as_array()
        .unwrap();
    for status in listed {
        let read: BatchItemStatus = serde_json::from_value(status.clone()).unwrap();
        assert_ne!(read, BatchItemStatus::Unknown, "{status}");
    }
}

#[test]
fn the_daily_file_columns_are_the_documents_in_its_order() {
    use consent_core::iys::wire::DAILY_FILE_COLUMNS;
    let document = iys_openapi();
    let description = document["paths"]["/sps/{iysCode}/brands/{brandCode}/changes/{reportDate}/file"]
        ["get"]["description"]
        .as_str()
        .unwrap();
    // The document lists each column as "- Name (`column`)", and repeats part of its text.
    let mut listed: Vec<&str> = Vec::new();
    for column in description
        .lines()
        .filter(|line| line.trim_start().starts_with("- "))
        .filter_map(|line| line.split('`').nth(1))
    {
        if !listed.contains(&column) {
            listed.push(column);
        }
    }
    assert_eq!(listed, DAILY_FILE_COLUMNS);
}

#[test]
fn a_daily_file_reads_with_its_header_and_refuses_what_does_not_fit() {
    use consent_core::iys::wire::{DailyChange, IysRecipientType, IysSource, IysStatus, IysType};
    let file = "creationDate,transactionId,recipient,recipientType,type,status,consentDate,source\r\n\
        2026-12-05 10:00:01,aa11,+905321112233,BIREYSEL,MESAJ,RET,2026-12-05 10:00:00,IYS_KISAMESAJ\r\n\
        2026-12-05 11:30:00,bb22,\"ali@example.com\",TACIR,EPOSTA,ONAY,,HS_WEB\r\n";
    let changes = DailyChange::parse_file(file).unwrap();
    assert_eq!(changes.len(), 2);
    assert_eq!(changes[0].status, IysStatus::Rejected);
    assert_eq!(changes[0].channel, IysType::Sms);
    assert_eq!(changes[0].source, IysSource::IysShortNumber);
    assert_eq!(
        changes[0].consent_date.as_deref(),
        Some("2026-12-05 10:00:00")
    );
    assert_eq!(changes[1].recipient, "ali@example.com");
    assert_eq!(changes[1].recipient_type, IysRecipientType::Merchant);
    assert_eq!(changes[1].consent_date, None);
    assert!(
        !format!("{changes:?}").contains("ali@"),
        "no address in debug output"
    );
    assert_eq!(
        DailyChange::parse_file(
            "creationDate,transactionId,recipient,recipientType,type,status,consentDate,source\n"
        )
        .unwrap(),
        []
    );
    let header =
        "creationDate,transactionId,recipient,recipientType,type,status,consentDate,source\n";
    for (file, line, problem) in [
        ("creationDate,recipient\n", 1, "expected the header"),
        (
            &format!("{header}2026-12-05 10:00:01,aa11,+905321112233,BIREYSEL,MESAJ\n") as &str,
            2,
            "expected 8 fields",
        ),
        (
            &format!("{header}a,b,c,BIREYSEL,MESAJ,IPTAL,d,HS_WEB\n"),
            2,
            "the status is not",
        ),
        (
            &format!("{header}a,b,c,BIREYSEL,FAKS,RET,d,HS_WEB\n"),
            2,
            "the type is not",
        ),
        (
            &format!("{header}a,b,\"c,BIREYSEL,MESAJ,RET,d,HS_WEB\n"),
            2,
            "a quote is not closed",
        ),
    ] {
        let error = DailyChange::parse_file(file).unwrap_err();
        assert_eq!(error.line, line, "{file}");
        assert!(
            error.problem.starts_with(problem),
            "{file}: {}",
            error.problem
        );
        assert!(!error.to_string().contains("+90532"));
    }
}
