//! İYS's official OpenAPI document as a validator of the bodies sent to İYS, shared by the test
//! suites of consent-core and iys-relay (each includes this file with `#[path]`).

#![allow(
    unreachable_pub,
    dead_code,
    reason = "each including test crate uses what it needs"
)]

use serde_json::{Value, json};

/// İYS's OpenAPI document: the copy kept as test data in `consent-core/tests/data`, or the file
/// `IYS_OPENAPI` names (to check the relay against a newer version of the document).
pub fn iys_openapi() -> Value {
    let path = std::env::var("IYS_OPENAPI").unwrap_or_else(|_| {
        // Both crates sit in `crates/`, so this names the same file from either.
        format!(
            "{}/../consent-core/tests/data/iys-openapi-3.2.0.json",
            env!("CARGO_MANIFEST_DIR")
        )
    });
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("İYS OpenAPI document at {path}: {error}"));
    serde_json::from_str(&text).unwrap()
}

/// A validator for the request body of `POST /sps/{iysCode}/brands/{brandCode}/consents`,
/// with the document's two known faults mended as its prose says: `consentDate` is
/// `YYYY-MM-DD HH:mm:ss`, not RFC 3339, and `retailerCode` has up to 8 digits, not a maximum of 8.
/// Unknown keys are refused, as İYS's H118 says.
pub fn consent_validator() -> jsonschema::Validator {
    let mut document = iys_openapi();
    let path = &document["paths"]["/sps/{iysCode}/brands/{brandCode}/consents"]["post"];
    assert_eq!(
        path["requestBody"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/Consent"
    );
    let consent = &mut document["components"]["schemas"]["Consent"];
    let date = consent["properties"]["consentDate"]
        .as_object_mut()
        .unwrap();
    assert_eq!(date.remove("format"), Some(json!("date-time")));
    date.insert(
        "pattern".into(),
        json!(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$"),
    );
    let retailer = consent["properties"]["retailerCode"]
        .as_object_mut()
        .unwrap();
    assert_eq!(
        retailer.insert("maximum".into(), json!(99_999_999)),
        Some(json!(8))
    );
    consent["additionalProperties"] = json!(false);
    let schema = json!({
        "$ref": "#/components/schemas/Consent",
        "components": document["components"].clone(),
    });
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft4)
        .build(&schema)
        .unwrap()
}

/// A validator for the request body of the single status query,
/// `POST /sps/{iysCode}/brands/{brandCode}/consents/status` (İYS's `ConsentDetailRequest`), with
/// unknown keys refused.
pub fn status_query_validator() -> jsonschema::Validator {
    let mut document = iys_openapi();
    let path = &document["paths"]["/sps/{iysCode}/brands/{brandCode}/consents/status"]["post"];
    assert_eq!(
        path["requestBody"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/ConsentDetailRequest"
    );
    document["components"]["schemas"]["ConsentDetailRequest"]["additionalProperties"] =
        json!(false);
    let schema = json!({
        "$ref": "#/components/schemas/ConsentDetailRequest",
        "components": document["components"].clone(),
    });
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft4)
        .build(&schema)
        .unwrap()
}

/// A validator for the request body of the push registration,
/// `POST /sps/{iysCode}/brands/{brandCode}/push/registration` (inline in the document), with
/// unknown keys refused at both levels.
pub fn push_registration_validator() -> jsonschema::Validator {
    let document = iys_openapi();
    let mut schema = document["paths"]["/sps/{iysCode}/brands/{brandCode}/push/registration"]
        ["post"]["requestBody"]["content"]["application/json"]["schema"]
        .clone();
    assert_eq!(schema["required"], json!(["connection"]));
    schema["additionalProperties"] = json!(false);
    schema["properties"]["connection"]["items"]["additionalProperties"] = json!(false);
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft4)
        .build(&schema)
        .unwrap()
}
