//! Issue 24: the EC2 emulator under the shared fault modes: the DELETE
//! faults on DeregisterImage and DeleteSnapshot (sent by POST), the request
//! log's deleted image ids, and the hostile mode's texts and echoes.
#![cfg(feature = "ec2")]

use std::collections::HashSet;

use imagecat_emulators::ec2::{Ec2Emulator, Ec2EmulatorConfig};
use imagecat_emulators::server::ServeOptions;
use imagecat_http::reqwest;

use crate::ec2_support::*;

#[tokio::test]
async fn the_delete_faults_hit_deregister_and_delete_snapshot_sent_by_post() {
    use imagecat_emulators::delete_faults::DeleteFault;
    let emu = start().await;
    let region = "us-east-1";
    let ids = emu.own_image_ids(region);
    let unprotected: Vec<&String> = ids
        .iter()
        .filter(|id| !emu.image(region, id).unwrap().protected())
        .collect();
    emu.server().delete_faults().set(Some(DeleteFault::Bare404));
    let (status, body) = call(
        &emu,
        region,
        &[("Action", "DeregisterImage"), ("ImageId", unprotected[0])],
    )
    .await;
    assert_eq!(status, 404);
    assert!(body.contains("nginx"), "{body}");
    assert!(
        emu.image(region, unprotected[0]).is_some(),
        "a bare 404 is not performed"
    );
    // A listing is no delete.
    let (status, _) = call(
        &emu,
        region,
        &[("Action", "DescribeImages"), ("Owner.1", "self")],
    )
    .await;
    assert_eq!(status, 200);
    emu.server()
        .delete_faults()
        .set(Some(DeleteFault::PerformThenDrop));
    let response = reqwest::Client::new()
        .post(format!("{}/", emu.endpoint()))
        .header("authorization", authorization(region, "ec2"))
        .form(&[
            ("Action", "DeregisterImage"),
            ("Version", "2016-11-15"),
            ("ImageId", unprotected[1]),
        ])
        .send()
        .await;
    let broken = match response {
        Err(_) => true,
        Ok(r) => r.text().await.is_err(),
    };
    assert!(broken, "the answer was not lost");
    assert!(
        emu.image(region, unprotected[1]).is_none(),
        "performed before the break"
    );
    emu.server().delete_faults().set(None);
    let (status, _) = call(
        &emu,
        region,
        &[("Action", "DeregisterImage"), ("ImageId", unprotected[2])],
    )
    .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn the_request_log_names_the_images_deregistered_by_post() {
    let emu = start().await;
    let region = "us-east-1";
    let id = emu
        .own_image_ids(region)
        .into_iter()
        .find(|id| !emu.image(region, id).unwrap().protected())
        .unwrap();
    call(
        &emu,
        region,
        &[("Action", "DescribeImages"), ("Owner.1", "self")],
    )
    .await;
    call(
        &emu,
        region,
        &[("Action", "DeregisterImage"), ("ImageId", &id)],
    )
    .await;
    call(
        &emu,
        region,
        &[
            ("Action", "DeleteSnapshot"),
            ("SnapshotId", "snap-00000000"),
        ],
    )
    .await;
    assert_eq!(emu.server().deleted_image_ids(), HashSet::from([id]));
}

#[tokio::test]
async fn hostile_texts_arrive_as_data_in_well_formed_xml() {
    use imagecat_emulators::hostile::Hostile;
    let options = ServeOptions {
        hostile: Some(Hostile::default()),
        ..ServeOptions::default()
    };
    let emu = Ec2Emulator::start(Ec2EmulatorConfig::default(), options)
        .await
        .unwrap();
    let (status, body) = call(
        &emu,
        "us-east-1",
        &[
            ("Action", "DescribeImages"),
            ("Owner.1", "self"),
            ("Filter.1.Name", "tag-key"),
            ("Filter.1.Value.1", "hostile"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(all(&body, "imageId").len(), 1);
    let name = one(&body, "name").unwrap();
    assert!(
        name.contains("PWNED") && name.contains("\u{202e}desrever"),
        "{name:?}"
    );
    // XML 1.0 cannot carry C0 controls, not even as references.
    assert!(!body.contains('\u{1b}') && !body.contains('\u{7}') && !body.contains('\u{8}'));
    assert!(name.contains("&#xFFFD;"));
}

#[tokio::test]
async fn hostile_echoes_quote_the_request_inside_ec2_s_error_message() {
    use imagecat_emulators::hostile::Hostile;
    let options = ServeOptions {
        hostile: Some(Hostile::echo_only()),
        ..ServeOptions::default()
    };
    let emu = Ec2Emulator::start(Ec2EmulatorConfig::default(), options)
        .await
        .unwrap();
    let response = reqwest::Client::new()
        .post(format!("{}/", emu.endpoint()))
        .header("authorization", authorization("us-east-1", "ec2"))
        .header("x-amz-security-token", "session-token-secret")
        .form(&[
            ("Action", "DescribeImages"),
            ("Version", "2016-11-15"),
            ("ImageId.1", "bogus"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 400);
    let body = response.text().await.unwrap();
    let message = one(&body, "Message").unwrap();
    assert!(
        message.contains("session-token-secret") && message.contains("PWNED"),
        "{message}"
    );
    assert!(
        body.ends_with("</Response>"),
        "the document still ends where it did: {body}"
    );
    assert_eq!(error_code(&body), "InvalidAMIID.Malformed");
    assert!(!body.contains('\u{1b}'));
}
