//! `clouds.yaml` and `secure.yaml`, read as openstacksdk reads them
//! (`openstack/config/loader.py`): the first file found in the search list
//! is used, `secure.yaml` (first found) is merged into it key by key, and
//! one cloud is selected by name (`OS_CLOUD`, `--os-cloud`,
//! `glance://?cloud=NAME`), or, when none is named and nothing else is
//! configured, the only cloud of the file.
//!
//! The result, [`CloudSettings`], fills what the builder does not already
//! have: explicit builder calls and `OS_*` variables win over the file, as
//! with the `openstack` CLI. Vendor profiles (`profile:`) are not supported.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use imagecat_core::{Error, Result};
use imagecat_http::SecretString;
use serde_norway::Value;

use crate::config::BACKEND;

/// The largest clouds file read (they are a few KiB).
const MAX_FILE_BYTES: u64 = 1024 * 1024;

/// Where `clouds.yaml` and `secure.yaml` are looked for; the first file
/// that exists wins (`.yaml`, `.yml`, `.json` in each directory).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CloudsFiles {
    config: Vec<PathBuf>,
    secure: Vec<PathBuf>,
}

impl CloudsFiles {
    /// openstacksdk's search list: `OS_CLIENT_CONFIG_FILE` (and
    /// `OS_CLIENT_SECURE_FILE`) first, then `./`, `$XDG_CONFIG_HOME/openstack/`,
    /// `~/.config/openstack/`, `/etc/openstack/`.
    pub fn standard() -> Self {
        Self::search(&|name| std::env::var(name).ok().filter(|v| !v.is_empty()))
    }

    /// Exactly these files, in this order (tools and tests).
    pub fn new(
        config: impl IntoIterator<Item = PathBuf>,
        secure: impl IntoIterator<Item = PathBuf>,
    ) -> Self {
        CloudsFiles {
            config: config.into_iter().collect(),
            secure: secure.into_iter().collect(),
        }
    }

    /// The standard list over any source of variables.
    pub(crate) fn search(lookup: &dyn Fn(&str) -> Option<String>) -> Self {
        let mut dirs = Vec::new();
        if let Ok(cwd) = std::env::current_dir() {
            dirs.push(cwd);
        }
        if let Some(xdg) = lookup("XDG_CONFIG_HOME") {
            dirs.push(Path::new(&xdg).join("openstack"));
        }
        if let Some(home) = lookup("HOME") {
            dirs.push(Path::new(&home).join(".config/openstack"));
        }
        dirs.push(PathBuf::from("/etc/openstack"));
        dirs.dedup();
        let files = |stem: &str, first: Option<String>| -> Vec<PathBuf> {
            first
                .map(PathBuf::from)
                .into_iter()
                .chain(dirs.iter().flat_map(|d| {
                    ["yaml", "yml", "json"].map(|ext| d.join(format!("{stem}.{ext}")))
                }))
                .collect()
        };
        CloudsFiles {
            config: files("clouds", lookup("OS_CLIENT_CONFIG_FILE")),
            secure: files("secure", lookup("OS_CLIENT_SECURE_FILE")),
        }
    }
}

/// One cloud's settings (keys as openstacksdk normalises them).
#[derive(Clone, Default)]
pub(crate) struct CloudSettings {
    pub(crate) auth_type: Option<String>,
    pub(crate) auth_url: Option<String>,
    pub(crate) username: Option<String>,
    pub(crate) user_id: Option<String>,
    pub(crate) password: Option<SecretString>,
    pub(crate) project_id: Option<String>,
    pub(crate) project_name: Option<String>,
    pub(crate) user_domain_name: Option<String>,
    pub(crate) user_domain_id: Option<String>,
    pub(crate) project_domain_name: Option<String>,
    pub(crate) project_domain_id: Option<String>,
    pub(crate) token: Option<SecretString>,
    pub(crate) app_credential_id: Option<String>,
    pub(crate) app_credential_name: Option<String>,
    pub(crate) app_credential_secret: Option<SecretString>,
    /// `auth.endpoint` (`auth_type: none`) or `image_endpoint_override`.
    pub(crate) endpoint: Option<String>,
    /// `compute_endpoint_override` (usage).
    pub(crate) compute: Option<String>,
    /// `block_storage_endpoint_override` or `volumev3_endpoint_override`.
    pub(crate) volume: Option<String>,
    pub(crate) region_name: Option<String>,
    pub(crate) interface: Option<String>,
    pub(crate) cacert: Option<String>,
    /// `verify: false` or `insecure: true`.
    pub(crate) insecure: Option<bool>,
    pub(crate) identity_api_version: Option<String>,
}

impl std::fmt::Debug for CloudSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CloudSettings")
            .field("auth_type", &self.auth_type)
            .field("auth_url", &self.auth_url)
            .field("username", &self.username)
            .field("project_name", &self.project_name)
            .field("region_name", &self.region_name)
            .finish_non_exhaustive()
    }
}

/// A `Config` error about one file (and cloud); never holds a value.
fn file_error(path: &Path, cloud: Option<&str>, what: impl std::fmt::Display) -> Error {
    let cloud = cloud.map(|c| format!(", cloud {c:?}")).unwrap_or_default();
    Error::config(Some(BACKEND), format!("{}{cloud}: {what}", path.display()))
}

/// Reads and parses the first existing file of `list`.
fn read_first(list: &[PathBuf]) -> Result<Option<(PathBuf, Value)>> {
    let Some(path) = list.iter().find(|p| p.is_file()) else {
        return Ok(None);
    };
    let len = std::fs::metadata(path)
        .map_err(|e| file_error(path, None, format!("cannot read: {e}")))?
        .len();
    if len > MAX_FILE_BYTES {
        return Err(file_error(
            path,
            None,
            format!("is {len} bytes, more than the {MAX_FILE_BYTES} a clouds file may have"),
        ));
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| file_error(path, None, format!("cannot read: {e}")))?;
    // The parser's message may quote the text (a password): only its place.
    let value: Value = serde_norway::from_str(&text).map_err(|e| {
        let at = e
            .location()
            .map(|l| format!(" at line {}, column {}", l.line(), l.column()))
            .unwrap_or_default();
        file_error(path, None, format!("not valid YAML or JSON{at}"))
    })?;
    if !value.is_mapping() {
        return Err(file_error(path, None, "is empty or not a mapping"));
    }
    Ok(Some((path.clone(), value)))
}

/// Like openstacksdk's `merge_clouds`: mappings merged key by key, other
/// values replaced.
fn merge(base: &mut Value, over: Value) {
    match (base, over) {
        (Value::Mapping(base), Value::Mapping(over)) => {
            for (k, v) in over {
                match base.get_mut(&k) {
                    Some(slot) if slot.is_mapping() && v.is_mapping() => merge(slot, v),
                    _ => {
                        base.insert(k, v);
                    }
                }
            }
        }
        (base, over) => *base = over,
    }
}

/// A mapping's entries with `-` in keys read as `_`.
fn normalised(
    value: Option<&Value>,
    path: &Path,
    cloud: &str,
    what: &str,
) -> Result<HashMap<String, Value>> {
    match value {
        None | Some(Value::Null) => Ok(HashMap::new()),
        Some(Value::Mapping(map)) => Ok(map
            .iter()
            .filter_map(|(k, v)| Some((k.as_str()?.replace('-', "_"), v.clone())))
            .collect()),
        Some(_) => Err(file_error(
            path,
            Some(cloud),
            format!("{what} is not a mapping"),
        )),
    }
}

/// Loads the cloud `name` (or, with `None`, the only cloud of the file).
/// `Ok(None)`: no clouds file, or no name and not exactly one cloud.
pub(crate) fn load(files: &CloudsFiles, name: Option<&str>) -> Result<Option<CloudSettings>> {
    let Some((path, mut doc)) = read_first(&files.config)? else {
        return match name {
            None => Ok(None),
            Some(name) => Err(Error::config(
                Some(BACKEND),
                format!(
                    "cloud {name:?} is selected (OS_CLOUD, --os-cloud or ?cloud=) but no clouds.yaml was found (searched: {})",
                    files
                        .config
                        .iter()
                        .map(|p| p.display().to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )),
        };
    };
    if let Some((_, secure)) = read_first(&files.secure)? {
        merge(&mut doc, secure);
    }
    let clouds = match doc.get("clouds") {
        Some(Value::Mapping(m)) => m,
        None | Some(Value::Null) if name.is_none() => return Ok(None),
        _ => return Err(file_error(&path, None, "has no `clouds:` mapping")),
    };
    let names: Vec<&str> = clouds.keys().filter_map(Value::as_str).collect();
    let (name, cloud) = match name {
        Some(name) => match clouds.get(name) {
            Some(cloud) => (name.to_owned(), cloud),
            None => {
                return Err(file_error(
                    &path,
                    Some(name),
                    format!("no such cloud (the file has: {})", names.join(", ")),
                ));
            }
        },
        None => match names.as_slice() {
            [one] => ((*one).to_owned(), &clouds[*one]),
            _ => return Ok(None),
        },
    };
    settings(&path, &name, cloud).map(Some)
}

/// The settings of one cloud entry.
fn settings(path: &Path, name: &str, cloud: &Value) -> Result<CloudSettings> {
    let top = normalised(Some(cloud), path, name, "the cloud")?;
    let auth = normalised(top.get("auth"), path, name, "`auth`")?;
    let text = |map: &HashMap<String, Value>, key: &str| -> Result<Option<String>> {
        match map.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(Value::Bool(b)) => Ok(Some(b.to_string())),
            Some(_) => Err(file_error(
                path,
                Some(name),
                format!("`{key}` must be a text value"),
            )),
        }
    };
    // openstacksdk prefers a key beside `auth` over the same key inside it
    // (CLI and environment overrides land there).
    let pick = |keys: &[&str]| -> Result<Option<String>> {
        for key in keys {
            if let Some(v) = text(&top, key)? {
                return Ok(Some(v));
            }
            if let Some(v) = text(&auth, key)? {
                return Ok(Some(v));
            }
        }
        Ok(None)
    };
    let secret = |keys: &[&str]| pick(keys).map(|v| v.map(SecretString::new));
    if top.contains_key("profile") || top.contains_key("cloud") {
        return Err(file_error(
            path,
            Some(name),
            "vendor profiles (`profile:`) are not supported by imagecat; write the cloud's auth_url and region in clouds.yaml",
        ));
    }
    let flag = |key: &str| -> Result<Option<bool>> {
        Ok(text(&top, key)?.map(|v| v.eq_ignore_ascii_case("true")))
    };
    let insecure = match (flag("verify")?, flag("insecure")?) {
        (Some(verify), _) => Some(!verify),
        (None, insecure) => insecure,
    };
    let region_name = match text(&top, "region_name")? {
        Some(r) => Some(r),
        None => first_region(top.get("regions")),
    };
    let mut s = CloudSettings {
        auth_type: pick(&["auth_type", "auth_plugin"])?,
        auth_url: pick(&["auth_url"])?,
        username: pick(&["username", "user_name"])?,
        user_id: pick(&["user_id"])?,
        password: secret(&["password"])?,
        project_id: pick(&["project_id", "tenant_id"])?,
        project_name: pick(&["project_name", "tenant_name"])?,
        user_domain_name: pick(&["user_domain_name"])?,
        user_domain_id: pick(&["user_domain_id"])?,
        project_domain_name: pick(&["project_domain_name"])?,
        project_domain_id: pick(&["project_domain_id"])?,
        token: secret(&["token", "auth_token"])?,
        app_credential_id: pick(&["application_credential_id"])?,
        app_credential_name: pick(&["application_credential_name"])?,
        app_credential_secret: secret(&["application_credential_secret"])?,
        endpoint: match text(&auth, "endpoint")? {
            Some(e) => Some(e),
            None => text(&top, "image_endpoint_override")?,
        },
        compute: text(&top, "compute_endpoint_override")?,
        volume: match text(&top, "block_storage_endpoint_override")? {
            Some(v) => Some(v),
            None => text(&top, "volumev3_endpoint_override")?,
        },
        region_name,
        interface: text(&top, "interface")?,
        cacert: text(&top, "cacert")?,
        insecure,
        identity_api_version: text(&top, "identity_api_version")?,
    };
    // `domain_name` / `domain_id` stand for both domains of a project scope.
    if s.project_id.is_some() || s.project_name.is_some() {
        let domain_name = pick(&["domain_name"])?;
        let domain_id = pick(&["domain_id"])?;
        s.user_domain_name = s.user_domain_name.or(domain_name.clone());
        s.project_domain_name = s.project_domain_name.or(domain_name);
        s.user_domain_id = s.user_domain_id.or(domain_id.clone());
        s.project_domain_id = s.project_domain_id.or(domain_id);
    }
    Ok(s)
}

/// The first entry of `regions:` (a name, or a mapping with `name`).
fn first_region(regions: Option<&Value>) -> Option<String> {
    match regions?.as_sequence()?.first()? {
        Value::String(s) => Some(s.clone()),
        Value::Mapping(m) => m.get("name")?.as_str().map(str::to_owned),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use imagecat_core::ErrorKind;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    fn temp_dir(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "imagecat-clouds-{tag}-{}-{}",
            std::process::id(),
            uuid::Uuid::new_v4()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    const CLOUDS: &str = r#"
clouds:
  devstack:
    auth:
      auth_url: http://127.0.0.1:5000/v3
      username: demo
      project-name: demo
      user_domain_name: Default
      domain_id: default
    region_name: RegionOne
    identity_api_version: 3
    verify: false
    compute_endpoint_override: http://127.0.0.1:8774/v2.1
    block_storage_endpoint_override: http://127.0.0.1:8776/v3/demo
  appcred:
    auth_type: v3applicationcredential
    auth:
      auth_url: https://keystone.example/v3
      application_credential_id: "21dced0fd20347869b93710d2b98aae0"
    regions: [RegionTwo, RegionThree]
"#;

    #[test]
    fn search_list_is_openstacksdks() {
        let files = CloudsFiles::search(&|name| match name {
            "HOME" => Some("/home/u".into()),
            "OS_CLIENT_CONFIG_FILE" => Some("/x/my.yaml".into()),
            _ => None,
        });
        assert_eq!(files.config[0], PathBuf::from("/x/my.yaml"));
        assert_eq!(
            files.config[1],
            std::env::current_dir().unwrap().join("clouds.yaml")
        );
        assert!(
            files
                .config
                .contains(&PathBuf::from("/home/u/.config/openstack/clouds.yaml"))
        );
        assert_eq!(
            files.config.last(),
            Some(&PathBuf::from("/etc/openstack/clouds.json"))
        );
        assert!(
            files
                .secure
                .contains(&PathBuf::from("/etc/openstack/secure.yaml"))
        );
    }

    #[test]
    fn a_cloud_with_its_secure_file_merged() {
        let dir = temp_dir("merge");
        let config = write(&dir, "clouds.yaml", CLOUDS);
        let secure = write(
            &dir,
            "secure.yaml",
            "clouds:\n  devstack:\n    auth:\n      password: s3cret-pw\n  appcred:\n    auth:\n      application_credential_secret: s3cret-ac\n",
        );
        let files = CloudsFiles::new([dir.join("missing.yaml"), config], [secure]);
        let s = load(&files, Some("devstack")).unwrap().unwrap();
        assert_eq!(s.auth_url.as_deref(), Some("http://127.0.0.1:5000/v3"));
        assert_eq!(s.username.as_deref(), Some("demo"));
        assert_eq!(s.project_name.as_deref(), Some("demo"));
        assert_eq!(
            s.password.as_ref().map(|p| p.expose_secret()),
            Some("s3cret-pw")
        );
        assert_eq!(s.user_domain_name.as_deref(), Some("Default"));
        assert_eq!(s.project_domain_id.as_deref(), Some("default"));
        assert_eq!(s.region_name.as_deref(), Some("RegionOne"));
        assert_eq!(s.identity_api_version.as_deref(), Some("3"));
        assert_eq!(s.insecure, Some(true));
        assert_eq!(s.compute.as_deref(), Some("http://127.0.0.1:8774/v2.1"));
        assert_eq!(s.volume.as_deref(), Some("http://127.0.0.1:8776/v3/demo"));
        let s = load(&files, Some("appcred")).unwrap().unwrap();
        assert_eq!(s.auth_type.as_deref(), Some("v3applicationcredential"));
        assert_eq!(
            s.app_credential_id.as_deref(),
            Some("21dced0fd20347869b93710d2b98aae0")
        );
        assert_eq!(
            s.app_credential_secret.as_ref().map(|p| p.expose_secret()),
            Some("s3cret-ac")
        );
        assert_eq!(s.region_name.as_deref(), Some("RegionTwo"));
        assert!(!format!("{s:?}").contains("s3cret"));
        // Two clouds and no name: none is chosen.
        assert!(load(&files, None).unwrap().is_none());
    }

    #[test]
    fn bad_files_and_names_are_config_errors_without_secrets() {
        let dir = temp_dir("bad");
        let config = write(&dir, "clouds.yaml", CLOUDS);
        let files = CloudsFiles::new([config.clone()], []);
        let e = load(&files, Some("nope")).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Config);
        let text = e.to_string();
        for want in [
            config.display().to_string().as_str(),
            "\"nope\"",
            "devstack, appcred",
        ] {
            assert!(text.contains(want), "{text}");
        }
        for (body, want) in [
            (
                "clouds:\n  c:\n    auth:\n      password: \"s3cret-pw\n",
                "not valid YAML",
            ),
            (
                "clouds:\n  c:\n    auth:\n      password: [s3cret-pw]\n",
                "`password` must be a text value",
            ),
            (
                "clouds:\n  c:\n    auth: s3cret-pw\n",
                "`auth` is not a mapping",
            ),
            ("clouds:\n  c:\n    profile: vexxhost\n", "not supported"),
            ("- s3cret-pw\n", "not a mapping"),
            ("other: {}\n", "no `clouds:`"),
        ] {
            let bad = write(&dir, "bad.yaml", body);
            let e = load(&CloudsFiles::new([bad.clone()], []), Some("c")).unwrap_err();
            let text = e.to_string();
            assert_eq!(e.kind(), ErrorKind::Config, "{text}");
            assert!(
                text.contains(want) && text.contains(&*bad.to_string_lossy()),
                "{text}"
            );
            assert!(!text.contains("s3cret"), "{text}");
        }
        let e = load(&CloudsFiles::new([dir.join("none.yaml")], []), Some("c")).unwrap_err();
        assert!(e.to_string().contains("no clouds.yaml was found"), "{e}");
        assert!(load(&CloudsFiles::new([], []), None).unwrap().is_none());
    }
}
