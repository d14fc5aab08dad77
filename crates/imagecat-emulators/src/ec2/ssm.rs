//! SSM Parameter Store over AWS JSON 1.1 (`X-Amz-Target:
//! AmazonSSM.GetParameter`): GetParameter, GetParameters (names may carry
//! `:VERSION`), PutParameter, DeleteParameter; and STS
//! GetCallerIdentity (the Query protocol).

use serde_json::{Value, json};

use super::data::{RegionState, SsmParameter};
use super::handlers::Ctx;
use super::query::{ApiError, ApiResult};

/// STS GetCallerIdentity's result.
pub(crate) fn caller_identity(cx: &Ctx<'_>) -> String {
    format!(
        "<Arn>arn:aws:iam::{a}:user/emulator</Arn><UserId>AIDAEMULATOR{a}</UserId><Account>{a}</Account>",
        a = cx.account
    )
}

/// The SSM actions; the answer is the JSON body.
pub(crate) fn dispatch(
    cx: &Ctx<'_>,
    r: &mut RegionState,
    action: &str,
    body: &[u8],
) -> ApiResult<String> {
    let input: Value = serde_json::from_slice(body).map_err(|_| {
        ApiError::bad(
            "SerializationException",
            "Start of structure or map found where not expected.",
        )
    })?;
    let text = |k: &str| input.get(k).and_then(Value::as_str);
    let out = match action {
        "GetParameter" => {
            let name = text("Name").ok_or_else(|| validation("name"))?;
            json!({"Parameter": lookup(cx, r, name)?})
        }
        "GetParameters" => {
            let names = input
                .get("Names")
                .and_then(Value::as_array)
                .ok_or_else(|| validation("names"))?;
            let (mut found, mut invalid) = (Vec::new(), Vec::new());
            for n in names.iter().filter_map(Value::as_str) {
                match lookup(cx, r, n) {
                    Ok(p) => found.push(p),
                    Err(_) => invalid.push(n.to_owned()),
                }
            }
            json!({"Parameters": found, "InvalidParameters": invalid})
        }
        "PutParameter" => {
            let name = text("Name").ok_or_else(|| validation("name"))?.to_owned();
            let value = text("Value").ok_or_else(|| validation("value"))?.to_owned();
            let overwrite = input
                .get("Overwrite")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            let data_type = text("DataType").unwrap_or("text").to_owned();
            if data_type == "aws:ec2:image" && !r.images.contains_key(&value) {
                return Err(ApiError::bad(
                    "InvalidParameterValue",
                    format!("The parameter value {value} is not a valid image id"),
                ));
            }
            let version = match r.parameters.get_mut(&name) {
                Some(_) if !overwrite => {
                    return Err(ApiError::bad(
                        "ParameterAlreadyExists",
                        "The parameter already exists. To overwrite this value, set the overwrite option in the request to true.",
                    ));
                }
                Some(p) => {
                    p.values.push((value, cx.now));
                    p.values.len()
                }
                None => {
                    r.parameters.insert(
                        name.clone(),
                        SsmParameter {
                            name,
                            owner_id: cx.account.to_owned(),
                            kind: text("Type").unwrap_or("String").to_owned(),
                            data_type,
                            values: vec![(value, cx.now)],
                        },
                    );
                    1
                }
            };
            json!({"Version": version, "Tier": "Standard"})
        }
        "DeleteParameter" => {
            let name = text("Name").ok_or_else(|| validation("name"))?;
            match r.parameters.get(name) {
                Some(p) if p.owner_id == cx.account => {
                    r.parameters.remove(name);
                    json!({})
                }
                _ => return Err(ApiError::bad("ParameterNotFound", "")),
            }
        }
        other => {
            return Err(ApiError::bad(
                "InvalidAction",
                format!("The action {other} is not valid for this web service."),
            ));
        }
    };
    Ok(out.to_string())
}

fn validation(field: &str) -> ApiError {
    ApiError::bad(
        "ValidationException",
        format!(
            "1 validation error detected: Value null at '{field}' failed to satisfy constraint: Member must not be null"
        ),
    )
}

/// The parameter `NAME[:VERSION]` as SSM writes it.
fn lookup(cx: &Ctx<'_>, r: &RegionState, spec: &str) -> ApiResult<Value> {
    let (name, version) = match spec.rsplit_once(':') {
        Some((n, v)) if v.parse::<usize>().is_ok() => (n, v.parse::<usize>().ok()),
        _ => (spec, None),
    };
    let p = r
        .parameters
        .get(name)
        .filter(|p| p.owner_id == cx.account)
        .ok_or_else(|| ApiError::bad("ParameterNotFound", ""))?;
    let number = version.unwrap_or(p.values.len());
    let (value, when) = p
        .values
        .get(number.wrapping_sub(1))
        .ok_or_else(|| ApiError::bad("ParameterVersionNotFound", format!("Systems Manager could not find version {number} of {name}. Verify the version and try again.")))?;
    let arn_name = name.trim_start_matches('/');
    let mut out = json!({
        "Name": name,
        "Type": p.kind,
        "Value": value,
        "Version": number,
        "Selector": version.map(|v| format!(":{v}")),
        "LastModifiedDate": when.timestamp_millis() as f64 / 1000.0,
        "ARN": cx.arn("ssm", &format!("parameter/{arn_name}")),
        "DataType": p.data_type,
    });
    if version.is_none() {
        if let Some(map) = out.as_object_mut() {
            map.remove("Selector");
        }
    }
    Ok(out)
}
