//! Clean-up on the Glance emulator with Nova: an in-use image is kept, a
//! saved plan applied after an image came into use skips it, and the
//! DELETE requests are exactly the other planned ids; images of other
//! projects and public ones are never deleted.

use std::collections::{HashMap, HashSet};

use imagecat_core::retention::{
    self, Action, ApplyOptions, Outcome, PlanTarget, Reason, RetentionPolicy,
};
use imagecat_core::{DynImageCatalog, ImageCatalog, ImageId};
use imagecat_emulators::glance::{
    GlanceEmulator, GlanceEmulatorConfig, KeystoneUser, NovaServer, seeded_id,
};
use imagecat_emulators::server::ServeOptions;

fn server(n: u64, image: &str) -> NovaServer {
    NovaServer::new(
        format!("5e7e0000-0000-4000-8000-{n:012x}"),
        image.to_owned(),
    )
}

#[tokio::test]
async fn in_use_images_are_kept_and_a_saved_plan_skips_one_that_came_into_use() {
    let config = GlanceEmulatorConfig::default().keystone(KeystoneUser::default());
    let emu = GlanceEmulator::start(config, ServeOptions::default())
        .await
        .unwrap();
    emu.clear_servers();
    let catalog = crate::support::keystone_v3(&emu, KeystoneUser::default())
        .http_options(imagecat_testkit::listing::test_http(2))
        .build()
        .unwrap();
    // Seeded image 1 is private: its owner is the caller.
    let mine = catalog.get(&ImageId::new(seeded_id(1))).await.unwrap();
    let me = mine.owner.clone().expect("Glance images name their owner");
    emu.insert_server(server(1, mine.id.as_str()));
    let dynamic: DynImageCatalog = std::sync::Arc::new(catalog);
    let policy = RetentionPolicy::default()
        .group_by("regex:^()".parse().unwrap())
        .keep(0)
        .older_than("0s");
    let target = PlanTarget::new("glance", dynamic.clone()).caller(me.clone());
    let plan = retention::plan(&policy, &[target], imagecat_core::chrono::Utc::now())
        .await
        .unwrap();
    let entry = |id: &str| plan.entries.iter().find(|e| e.id.as_str() == id).unwrap();
    assert_eq!(entry(mine.id.as_str()).reasons, [Reason::InUse]);
    let planned: Vec<ImageId> = plan.deletes().map(|e| e.id.clone()).collect();
    assert!(planned.len() >= 2, "{:?}", plan.entries);
    for e in plan.entries.iter().filter(|e| e.action == Action::Keep) {
        assert!(
            !e.reasons.is_empty() && !e.reasons.contains(&Reason::Selected),
            "{e:?}"
        );
    }
    // Every delete is the caller's, private (an own-project Nova listing
    // cannot vouch for others' use of a public image).
    let listed: Vec<_> = plan.deletes().collect();
    for e in &listed {
        let image = dynamic.get(&e.id).await.unwrap();
        assert_eq!(image.owner.as_deref(), Some(me.as_str()));
    }
    // An instance boots the first planned image after the plan was saved.
    let saved: retention::Plan =
        serde_json::from_str(&serde_json::to_string(&plan).unwrap()).unwrap();
    let late = planned[0].clone();
    emu.insert_server(server(2, late.as_str()));
    let catalogs = HashMap::from([("glance".to_owned(), dynamic)]);
    let (done, summary) =
        retention::apply(saved, &catalogs, &ApplyOptions::default(), &|_| {}).await;
    assert!(summary.ok(), "{:?}", done.entries);
    let late_entry = done.entries.iter().find(|e| e.id == late).unwrap();
    assert_eq!(
        (late_entry.result, late_entry.skip_reasons.clone()),
        (Some(Outcome::Skipped), vec![Reason::InUse])
    );
    let deleted = emu.server().deleted_image_ids();
    let expected: HashSet<String> = planned[1..].iter().map(|i| i.to_string()).collect();
    assert_eq!(
        deleted, expected,
        "DELETEs are not the plan minus the image that came into use"
    );
}

/// The caller is the project of the Keystone token (v3 and v2.0), the
/// owner of the project's images; a static token says nothing.
#[tokio::test]
async fn the_caller_is_the_project_of_the_keystone_token() {
    let user = KeystoneUser::default();
    let config = GlanceEmulatorConfig::default().keystone(user.clone());
    let emu = GlanceEmulator::start(config, ServeOptions::default())
        .await
        .unwrap();
    let v3 = crate::support::keystone_v3(&emu, user.clone())
        .build()
        .unwrap();
    assert_eq!(v3.caller().await.unwrap(), Some(user.project_id.clone()));
    // The project owns some of the images it lists.
    let listed: Vec<imagecat_core::Image> =
        futures::TryStreamExt::try_collect(v3.list(imagecat_core::ListQuery::new()))
            .await
            .unwrap();
    assert!(
        listed
            .iter()
            .any(|i| i.owner.as_deref() == Some(user.project_id.as_str())),
        "no image of the caller's project"
    );
    let v2 = imagecat_glance::GlanceCatalog::builder()
        .keystone_v2(
            emu.identity_v2_url(),
            user.project_id.clone(),
            user.username.clone(),
            imagecat_http::SecretString::new(user.password.clone()),
        )
        .region("RegionOne")
        .build()
        .unwrap();
    assert_eq!(v2.caller().await.unwrap(), Some(user.project_id.clone()));
    let fixed = imagecat_glance::GlanceCatalog::builder()
        .endpoint(emu.endpoint())
        .token(imagecat_http::SecretString::new(crate::support::TOKEN))
        .build()
        .unwrap();
    assert_eq!(fixed.caller().await.unwrap(), None);
    // The identity a plan records is the project's.
    let dynamic: DynImageCatalog = std::sync::Arc::new(v3);
    let identity = retention::identify(&dynamic).await.unwrap();
    assert_eq!(identity.account, Some(user.project_id));
}
