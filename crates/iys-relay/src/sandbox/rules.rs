//! İYS's rules for one consent body, checked against what İYS holds, and the registration of
//! a consent that passed them.

use super::*;

/// A consent that passed every check: what to store.
pub(super) struct Checked {
    key: (String, String, String),
    movement: Value,
    consent_date: Option<IysDateTime>,
    status: String,
}

/// Checks one consent body against İYS's rules, given what İYS holds.
pub(super) fn check(
    body: &Value,
    world: &World,
    now: Timestamp,
    index: Option<usize>,
) -> Result<Checked, Vec<Value>> {
    let fail = |code: &str, message: &str, location: Option<&str>| {
        vec![error_body(code, message, location, index)]
    };
    let Some(object) = body.as_object() else {
        return Err(fail("H085", "the consent-add request is invalid", None));
    };
    if let Some(unknown) = object
        .keys()
        .find(|key| !CONSENT_KEYS.contains(&key.as_str()))
    {
        return Err(fail(
            "H118",
            "the body has a field İYS does not know",
            Some(unknown),
        ));
    }
    let text = |key: &str| object.get(key).and_then(Value::as_str);
    let recipient =
        text("recipient").ok_or_else(|| fail("H114", "recipient is missing", Some("recipient")))?;
    let kind = text("type").ok_or_else(|| fail("H111", "type is missing", Some("type")))?;
    let status = text("status").ok_or_else(|| fail("H110", "status is missing", Some("status")))?;
    let recipient_type = match object.get("recipientType") {
        None => "BIREYSEL",
        Some(value) => value.as_str().unwrap_or(""),
    };
    if !matches!(status, "ONAY" | "RET") {
        return Err(fail("H115", "status must be ONAY or RET", Some("status")));
    }
    if !matches!(recipient_type, "BIREYSEL" | "TACIR") {
        return Err(fail(
            "H116",
            "recipientType must be BIREYSEL or TACIR",
            Some("recipientType"),
        ));
    }
    if !matches!(kind, "ARAMA" | "MESAJ" | "EPOSTA") {
        return Err(fail(
            "H117",
            "type must be ARAMA, MESAJ or EPOSTA",
            Some("type"),
        ));
    }
    if let Some(value) = object.get("retailerCode")
        && (value.is_null() || value.as_str() == Some(""))
    {
        return Err(fail(
            "H267",
            "retailerCode must not be empty",
            Some("retailerCode"),
        ));
    }
    if let Some(access) = object.get("retailerAccess") {
        match access.as_array() {
            Some(list) if list.is_empty() => {
                return Err(fail(
                    "H163",
                    "the retailer list is empty",
                    Some("retailerAccess"),
                ));
            }
            Some(list) if list.len() > 100 => {
                return Err(fail(
                    "H126",
                    "retailerAccess is too long",
                    Some("retailerAccess"),
                ));
            }
            Some(_) => {}
            None => {
                return Err(fail(
                    "H169",
                    "retailerAccess must be a list",
                    Some("retailerAccess"),
                ));
            }
        }
    }
    let is_phone_type = kind != "EPOSTA";
    let looks_like_email = recipient.contains('@');
    if is_phone_type == looks_like_email {
        return Err(fail(
            "H464",
            "the recipient does not fit the type",
            Some("recipient"),
        ));
    }
    let normalised = if is_phone_type {
        if recipient.len() > 15 {
            return Err(fail(
                "H160",
                "the phone number is longer than 15 characters",
                Some("recipient"),
            ));
        }
        match PhoneNumber::parse(recipient) {
            Ok(number) if recipient.starts_with('+') && number.e164() == recipient => number.e164(),
            _ => {
                return Err(fail(
                    "H121",
                    "the phone number is not in E.164 form",
                    Some("recipient"),
                ));
            }
        }
    } else {
        EmailAddress::parse(recipient)
            .map(|address| address.as_str().to_owned())
            .map_err(|_| fail("H120", "the e-mail address is invalid", Some("recipient")))?
    };
    let key = (
        normalised.clone(),
        kind.to_owned(),
        recipient_type.to_owned(),
    );
    let held = world.held.get(&key);
    let is_merchant_first = recipient_type == "TACIR" && held.is_none();
    let source = match object.get("source") {
        Some(value) => {
            let source = value.as_str().unwrap_or("");
            if !PROVIDER_SOURCES.contains(&source) {
                return Err(fail(
                    "H119",
                    "source is not an allowed value",
                    Some("source"),
                ));
            }
            Some(source)
        }
        None if is_merchant_first => None,
        None if recipient_type == "TACIR" => {
            return Err(fail(
                "H463",
                "updating a TACIR record needs source",
                Some("source"),
            ));
        }
        None => return Err(fail("H113", "source is missing", Some("source"))),
    };
    let consent_date = match object.get("consentDate") {
        Some(value) => {
            let text = value.as_str().unwrap_or("");
            let shaped = text.len() == 19 && text.as_bytes()[10] == b' ';
            if !shaped {
                return Err(fail(
                    "H158",
                    "consentDate must be yyyy-mm-dd hh:mm:ss",
                    Some("consentDate"),
                ));
            }
            let date = IysDateTime::parse(text).map_err(|_| {
                fail(
                    "H157",
                    "consentDate is not a valid date",
                    Some("consentDate"),
                )
            })?;
            if date.to_instant() < iys_epoch() {
                return Err(fail(
                    "H156",
                    "consentDate is before 2015-05-01",
                    Some("consentDate"),
                ));
            }
            if date.to_instant().unix_seconds() > now.unix_seconds() {
                return Err(fail(
                    "H162",
                    "consentDate is in the future",
                    Some("consentDate"),
                ));
            }
            if source == Some("HS_2015") && date != IysDateTime::from_instant(iys_epoch()) {
                return Err(fail(
                    "H155",
                    "an HS_2015 consent must be dated 2015-05-01 00:00:00",
                    Some("consentDate"),
                ));
            }
            // HS_2015 consents carry İYS's fixed date, not the day they were taken.
            if source != Some("HS_2015") && now > registration_deadline(date.to_instant()) {
                return Err(fail(
                    "H467",
                    "consents taken more than three business days ago cannot be registered",
                    Some("consentDate"),
                ));
            }
            Some(date)
        }
        None if is_merchant_first => None,
        None if recipient_type == "TACIR" => {
            return Err(fail(
                "H462",
                "updating a TACIR record needs consentDate",
                Some("consentDate"),
            ));
        }
        None => return Err(fail("H112", "consentDate is missing", Some("consentDate"))),
    };
    if source == Some("HS_KARAR") && status != "RET" {
        return Err(fail(
            "H408",
            "source HS_KARAR must come with status RET",
            Some("status"),
        ));
    }
    match held {
        None if status == "RET" => {
            return Err(fail(
                "H175",
                "the first record for an address cannot be RET",
                Some("status"),
            ));
        }
        Some(held) if held.status == "RET" && status == "RET" => {
            return Err(fail(
                "H174",
                "an update must change the status; it is already RET",
                Some("status"),
            ));
        }
        Some(held) if consent_date.is_some_and(|date| date <= held.consent_date) => {
            return Err(fail(
                "H178",
                "consentDate is older than the stored one",
                Some("consentDate"),
            ));
        }
        _ => {}
    }
    let movement = json!({
        "consentDate": consent_date.map(|date| date.to_string()),
        "source": source.unwrap_or("HS_WEB"),
        "recipient": normalised,
        "recipientType": recipient_type,
        "status": status,
        "type": kind,
    });
    Ok(Checked {
        key,
        movement,
        consent_date,
        status: status.to_owned(),
    })
}

/// Stores a checked consent and returns its `{transactionId, creationDate}`.
pub(super) fn store(world: &mut World, checked: Checked, now: Timestamp) -> Value {
    let transaction_id = Sandbox::next_id(world);
    let creation_date = IysDateTime::from_instant(now).to_string();
    let held_date = checked
        .consent_date
        .unwrap_or_else(|| IysDateTime::from_instant(now));
    world.held.insert(
        checked.key,
        Held {
            status: checked.status,
            consent_date: held_date,
        },
    );
    let mut movement = checked.movement;
    movement["creationDate"] = json!(creation_date);
    movement["transactionId"] = json!(transaction_id);
    world.movements.push((now.unix_millis(), movement, false));
    json!({ "transactionId": transaction_id, "creationDate": creation_date })
}
