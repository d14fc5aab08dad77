//! What the EC2 emulator's protocol tests share: a Query call with a SigV4
//! header (signature not checked: those emulators hold no keys), and
//! element look-ups in the XML answers.
#![cfg(feature = "ec2")]

use imagecat_emulators::ec2::{Ec2Emulator, Ec2EmulatorConfig};
use imagecat_emulators::server::ServeOptions;
use imagecat_http::reqwest;

/// Query parameters.
pub(crate) type Params<'a> = Vec<(&'a str, &'a str)>;

/// A SigV4 header for `region` and `service` (signature not checked).
pub(crate) fn authorization(region: &str, service: &str) -> String {
    format!(
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261207/{region}/{service}/aws4_request, SignedHeaders=host;x-amz-date, Signature=00"
    )
}

/// One Query call: status and body.
pub(crate) async fn call(
    emu: &Ec2Emulator,
    region: &str,
    params: &[(&str, &str)],
) -> (u16, String) {
    call_service(emu, region, "ec2", params).await
}

pub(crate) async fn call_service(
    emu: &Ec2Emulator,
    region: &str,
    service: &str,
    params: &[(&str, &str)],
) -> (u16, String) {
    let version = match service {
        "autoscaling" => "2011-01-01",
        "sts" => "2011-06-15",
        _ => "2016-11-15",
    };
    let mut form: Vec<(&str, &str)> = vec![("Version", version)];
    form.extend_from_slice(params);
    let response = reqwest::Client::new()
        .post(format!("{}/", emu.endpoint()))
        .header("authorization", authorization(region, service))
        .header("x-amz-date", "20261207T000000Z")
        .form(&form)
        .send()
        .await
        .expect("request");
    let status = response.status().as_u16();
    (status, response.text().await.expect("body"))
}

/// The texts of every `<name>` element.
pub(crate) fn all(body: &str, name: &str) -> Vec<String> {
    let open = format!("<{name}>");
    let close = format!("</{name}>");
    body.split(&open)
        .skip(1)
        .filter_map(|s| s.split(&close).next().map(str::to_owned))
        .collect()
}

pub(crate) fn one(body: &str, name: &str) -> Option<String> {
    all(body, name).into_iter().next()
}

pub(crate) fn error_code(body: &str) -> String {
    one(body, "Code").unwrap_or_else(|| panic!("no error code in {body}"))
}

pub(crate) async fn start() -> Ec2Emulator {
    Ec2Emulator::start(Ec2EmulatorConfig::default(), ServeOptions::default())
        .await
        .expect("start")
}
