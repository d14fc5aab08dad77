//! The facade against the emulators: catalogs opened from URLs and config
//! files, held as `Arc<dyn ImageCatalog>`, listed together.
#![cfg(all(feature = "toast", feature = "dcmgr", feature = "glance"))]

use futures::StreamExt;
use imagecat::{
    BackendKind, Config, Credentials, ErrorKind, ImageCatalogExt, ListQuery, NamedCatalog,
    OpenOptions, SecretString, list_all,
};
use imagecat_testkit::start::{dcmgr, toast};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn urls_open_every_backend_behind_one_trait() {
    let d = dcmgr(30).await;
    let t = toast(30).await;
    let token = Credentials::token(SecretString::new(t.config().token.clone()));
    let toast_cat =
        imagecat::open_with(&t.catalog_url(), &OpenOptions::new().credentials(token)).unwrap();
    let dcmgr_cat = imagecat::open(&d.catalog_url(Some(d.own_account()))).unwrap();
    assert_eq!(toast_cat.info().backend, BackendKind::Toast);
    assert_eq!(dcmgr_cat.info().backend, BackendKind::Dcmgr);
    assert!(toast_cat.info().endpoint.starts_with("http://127.0.0.1:"));

    let from_dcmgr = dcmgr_cat.collect(ListQuery::new()).await.unwrap();
    let ids: Vec<String> = from_dcmgr.iter().map(|i| i.id.to_string()).collect();
    assert_eq!(ids, d.default_listing(Some(d.own_account())));

    let from_toast = toast_cat
        .collect(ListQuery::new().include_deleted(true))
        .await
        .unwrap();
    let ids: Vec<String> = from_toast.iter().map(|i| i.id.to_string()).collect();
    assert_eq!(ids, t.listed_ids());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn glance_urls_open_the_openstack_backend() {
    use imagecat_emulators::glance::{GlanceEmulator, GlanceEmulatorConfig};
    use imagecat_emulators::server::ServeOptions;
    let g = GlanceEmulator::start(
        GlanceEmulatorConfig::default().images(45),
        ServeOptions::default(),
    )
    .await
    .unwrap();
    let token = g.config().token.clone().unwrap();
    let options = OpenOptions::new().credentials(Credentials::token(SecretString::new(token)));
    let catalog = imagecat::open_with(&g.catalog_url(), &options).unwrap();
    assert_eq!(catalog.info().backend, BackendKind::Glance);
    let ids: Vec<String> = catalog
        .collect(ListQuery::new().page_size(10))
        .await
        .unwrap()
        .iter()
        .map(|i| i.id.to_string())
        .collect();
    assert_eq!(ids, g.listed_ids());
    let e = imagecat::open(&format!("{}?regoin=KR1", g.catalog_url())).unwrap_err();
    assert!(e.to_string().contains("valid keys: region"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fan_out_tags_images_and_reports_the_failing_catalog() {
    let d = dcmgr(25).await;
    let t = toast(10).await;
    let wrong = Credentials::token(SecretString::new("wrong-token"));
    let catalogs = vec![
        NamedCatalog::new("lab", imagecat::open(&d.catalog_url(None)).unwrap()),
        NamedCatalog::new(
            "kr1",
            imagecat::open_with(&t.catalog_url(), &OpenOptions::new().credentials(wrong)).unwrap(),
        ),
    ];
    let items: Vec<_> = list_all(&catalogs, &ListQuery::new()).collect().await;
    let images = items
        .iter()
        .filter_map(|i| i.as_ref().ok())
        .collect::<Vec<_>>();
    let errors = items
        .iter()
        .filter_map(|i| i.as_ref().err())
        .collect::<Vec<_>>();
    assert_eq!(images.len(), d.default_listing(None).len());
    assert!(images.iter().all(|i| i.catalog == "lab"));
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].catalog, "kr1");
    assert_eq!(errors[0].error.kind(), ErrorKind::Unauthenticated);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_files_name_catalogs_and_hold_their_secrets() {
    let t = toast(10).await;
    let config = Config::from_toml(&format!(
        "[catalogs.kr1]\nurl = \"{}\"\ntoken = \"{}\"\n",
        t.catalog_url(),
        t.config().token
    ))
    .unwrap();
    assert!(!format!("{config:?}").contains(&t.config().token));
    let catalog = config.open("kr1").unwrap();
    assert!(!format!("{catalog:?}").contains(&t.config().token));
    assert!(!catalog.collect(ListQuery::new()).await.unwrap().is_empty());
    let missing = config.open("kr2").unwrap_err();
    assert_eq!(missing.kind(), ErrorKind::Config);
    assert!(missing.to_string().contains("kr1"), "{missing}");
}

#[test]
fn urls_refuse_credentials_and_unknown_keys() {
    let e = imagecat::open("dcmgr+http://user:pass@127.0.0.1:1/api").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Config);
    assert!(!e.to_string().contains("pass@"), "{e}");
    let e = imagecat::open("dcmgr+http://127.0.0.1:1/api?acount=a-x").unwrap_err();
    assert!(e.to_string().contains("valid keys: account"), "{e}");
    let e = imagecat::open("toast://127.0.0.1:1/compute?appkey=k&token=t").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Config);
}
