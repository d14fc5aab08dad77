//! What uses images: disks, instances, instance templates and instance
//! group managers, listed per zone or region and aggregated over every
//! scope (`aggregated/{kind}`: a map from `zones/Z`, `regions/R` or
//! `global` to the scope's items, or a warning `NO_RESULTS_ON_PAGE` for a
//! scope without items on this page, or `UNREACHABLE` for a scope the
//! emulator was told cannot be reached, also named in `unreachables[]`;
//! paged across scopes in scope then name order); and `zones`, `regions`.

use std::collections::HashMap;

use serde_json::{Map, Value, json};

use super::GceScope;
use super::data::{Disk, Links, State};
use super::handlers::{Call, Refusal, filter, max_results, page_token, query_hash, token_key};

/// A resource's document, written when a page takes it.
type Lazy<'a> = Box<dyn Fn() -> Value + 'a>;
/// Resources as `(scope key, name, document)`, the document still to write.
type Listed<'a> = Vec<(String, String, Lazy<'a>)>;
/// A page's resources, written.
type Written = Vec<(String, String, Value)>;
use super::wire::{self, not_found, timestamp};
use crate::server::json_response;

/// The resource kinds that use images.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Disks,
    Instances,
    Templates,
    Groups,
}

impl Kind {
    fn of(word: &str) -> Option<Self> {
        Some(match word {
            "disks" => Kind::Disks,
            "instances" => Kind::Instances,
            "instanceTemplates" => Kind::Templates,
            "instanceGroupManagers" => Kind::Groups,
            _ => return None,
        })
    }

    /// The path word and the items' key in a scope entry.
    fn word(self) -> &'static str {
        match self {
            Kind::Disks => "disks",
            Kind::Instances => "instances",
            Kind::Templates => "instanceTemplates",
            Kind::Groups => "instanceGroupManagers",
        }
    }

    /// The `kind` of the item, without `compute#`.
    fn item(self) -> &'static str {
        match self {
            Kind::Disks => "disk",
            Kind::Instances => "instance",
            Kind::Templates => "instanceTemplate",
            Kind::Groups => "instanceGroupManager",
        }
    }
}

/// A recognised read of usage resources (the path after `projects/P/`).
#[derive(Debug)]
pub(crate) enum UsageRoute<'a> {
    Aggregated(Kind),
    Scoped(Kind, String),
    GetDisk(String, &'a str),
    Zones,
    Regions,
}

impl<'a> UsageRoute<'a> {
    pub(crate) fn of(segs: &[&'a str]) -> Option<Self> {
        let scope = |kind: &str, name: &str| match kind {
            "zones" => Some(GceScope::Zone(name.to_owned()).key()),
            "regions" => Some(GceScope::Region(name.to_owned()).key()),
            _ => None,
        };
        Some(match segs {
            ["aggregated", kind] => UsageRoute::Aggregated(Kind::of(kind)?),
            ["zones"] => UsageRoute::Zones,
            ["regions"] => UsageRoute::Regions,
            ["global", "instanceTemplates"] => UsageRoute::Scoped(Kind::Templates, "global".into()),
            [s, name, "disks", disk] => UsageRoute::GetDisk(scope(s, name)?, disk),
            [s, name, kind] => {
                let kind = Kind::of(kind)?;
                if kind == Kind::Instances && *s != "zones" {
                    return None;
                }
                if kind == Kind::Templates && *s != "regions" {
                    return None;
                }
                UsageRoute::Scoped(kind, scope(s, name)?)
            }
            _ => return None,
        })
    }

    pub(crate) fn answer(&self, state: &State, project: &str, call: &Call) -> Response {
        match self {
            UsageRoute::Aggregated(kind) => aggregated(state, project, *kind, call),
            UsageRoute::Scoped(kind, scope) => scoped(state, project, *kind, scope, call),
            UsageRoute::GetDisk(scope, name) => {
                let found = resources(state, project, Kind::Disks)
                    .into_iter()
                    .find(|(s, n, _)| s == scope && n == name);
                match found {
                    Some((_, _, doc)) => json_response(200, &doc()),
                    None => not_found(&format!("projects/{project}/{scope}/disks/{name}")),
                }
            }
            UsageRoute::Zones => locations(state, project, true),
            UsageRoute::Regions => locations(state, project, false),
        }
    }
}

use axum::response::Response;

fn scope_fields(doc: &mut Map<String, Value>, links: &Links, project: &str, scope: &GceScope) {
    match scope {
        GceScope::Zone(z) => {
            doc.insert(
                "zone".into(),
                json!(links.project(project, &format!("zones/{z}"))),
            );
        }
        GceScope::Region(r) => {
            doc.insert(
                "region".into(),
                json!(links.project(project, &format!("regions/{r}"))),
            );
        }
    }
}

fn disk_doc(state: &State, project: &str, disk: &Disk, users: Vec<String>) -> Value {
    let links = &state.links;
    let spec = &disk.spec;
    let mut doc = Map::new();
    doc.insert("kind".into(), json!("compute#disk"));
    doc.insert("id".into(), json!(disk.id.to_string()));
    doc.insert(
        "creationTimestamp".into(),
        json!(timestamp(
            chrono::DateTime::UNIX_EPOCH + chrono::Duration::days(19_800)
        )),
    );
    doc.insert("name".into(), json!(spec.name));
    doc.insert("sizeGb".into(), json!(spec.size_gb.to_string()));
    scope_fields(&mut doc, links, project, &spec.scope);
    if let GceScope::Region(r) = &spec.scope {
        doc.insert(
            "replicaZones".into(),
            json!([
                links.project(project, &format!("zones/{r}-a")),
                links.project(project, &format!("zones/{r}-b"))
            ]),
        );
    }
    doc.insert("status".into(), json!("READY"));
    if let Some((p, n)) = &spec.source_image {
        // GCE stops writing sourceImage once the image is deleted.
        if state.image_exists(p, n, spec.source_image_id) {
            doc.insert("sourceImage".into(), json!(links.image(p, n)));
        }
    }
    if let Some(id) = spec.source_image_id {
        doc.insert("sourceImageId".into(), json!(id.to_string()));
    }
    doc.insert(
        "type".into(),
        json!(links.project(
            project,
            &format!("{}/diskTypes/pd-balanced", spec.scope.key())
        )),
    );
    if !users.is_empty() {
        doc.insert("users".into(), json!(users));
    }
    doc.insert(
        "labelFingerprint".into(),
        json!(super::EMPTY_LABEL_FINGERPRINT),
    );
    doc.insert(
        "selfLink".into(),
        json!(links.scoped(project, &spec.scope, "disks", &spec.name)),
    );
    Value::Object(doc)
}

/// Every resource of a kind in the project: `(scope key, name, document)`.
fn resources<'a>(state: &'a State, project: &'a str, kind: Kind) -> Listed<'a> {
    let Some(p) = state.projects.get(project) else {
        return Vec::new();
    };
    let links = &state.links;
    let id = move |name: &str| {
        let h = crate::seed::splitmix64(name.bytes().fold(kind as u64, |h, b| {
            crate::seed::splitmix64(h ^ u64::from(b))
        }));
        (1_000_000_000_000_000_000 + h % 8_000_000_000_000_000_000).to_string()
    };
    match kind {
        Kind::Disks => {
            // The instances booting from each disk, indexed once.
            let mut users: HashMap<(&str, &str), Vec<String>> = HashMap::new();
            for i in &p.instances {
                let scope = GceScope::Zone(i.zone.clone());
                users
                    .entry((i.zone.as_str(), i.boot_disk.as_str()))
                    .or_default()
                    .push(links.scoped(project, &scope, "instances", &i.name));
            }
            let users = std::rc::Rc::new(users);
            p.disks
                .iter()
                .map(|d| {
                    let users = std::rc::Rc::clone(&users);
                    let doc: Lazy<'a> = Box::new(move || {
                        let of = match &d.spec.scope {
                            GceScope::Zone(z) => users
                                .get(&(z.as_str(), d.spec.name.as_str()))
                                .cloned()
                                .unwrap_or_default(),
                            GceScope::Region(_) => Vec::new(),
                        };
                        disk_doc(state, project, d, of)
                    });
                    (d.spec.scope.key(), d.spec.name.clone(), doc)
                })
                .collect()
        }
        Kind::Instances => p
            .instances
            .iter()
            .map(|i| {
                let scope = GceScope::Zone(i.zone.clone());
                let key = scope.key();
                let doc: Lazy<'a> = Box::new(move || json!({
                    "kind": "compute#instance",
                    "id": id(&i.name),
                    "name": i.name,
                    "zone": links.project(project, &format!("zones/{}", i.zone)),
                    "status": i.status,
                    "machineType": links.project(project, &format!("zones/{}/machineTypes/e2-small", i.zone)),
                    "disks": [{
                        "kind": "compute#attachedDisk",
                        "type": "PERSISTENT",
                        "mode": "READ_WRITE",
                        "source": links.scoped(project, &scope, "disks", &i.boot_disk),
                        "deviceName": "persistent-disk-0",
                        "index": 0,
                        "boot": true,
                        "autoDelete": true,
                        "interface": "SCSI",
                    }],
                    "selfLink": links.scoped(project, &scope, "instances", &i.name),
                }));
                (key, i.name.clone(), doc)
            })
            .collect(),
        Kind::Templates => p
            .templates
            .iter()
            .map(|t| {
                let (scope, link) = match &t.region {
                    Some(r) => {
                        let s = GceScope::Region(r.clone());
                        let link = links.scoped(project, &s, "instanceTemplates", &t.name);
                        (s.key(), link)
                    }
                    None => (
                        "global".to_owned(),
                        links.project(project, &format!("global/instanceTemplates/{}", t.name)),
                    ),
                };
                let doc: Lazy<'a> = Box::new(move || {
                let mut doc = json!({
                    "kind": "compute#instanceTemplate",
                    "id": id(&t.name),
                    "name": t.name,
                    "properties": {
                        "machineType": "e2-small",
                        "disks": [{
                            "kind": "compute#attachedDisk",
                            "type": "PERSISTENT",
                            "mode": "READ_WRITE",
                            "boot": true,
                            "autoDelete": true,
                            "initializeParams": {"sourceImage": t.source_image},
                        }],
                    },
                    "selfLink": link,
                });
                if let Some(r) = &t.region {
                    doc["region"] = json!(links.project(project, &format!("regions/{r}")));
                }
                doc
                });
                (scope, t.name.clone(), doc)
            })
            .collect(),
        Kind::Groups => p
            .groups
            .iter()
            .map(|g| {
                let doc: Lazy<'a> = Box::new(move || {
                let mut doc = Map::new();
                doc.insert("kind".into(), json!("compute#instanceGroupManager"));
                doc.insert("id".into(), json!(id(&g.name)));
                doc.insert("name".into(), json!(g.name));
                scope_fields(&mut doc, links, project, &g.scope);
                doc.insert("instanceTemplate".into(), json!(g.template));
                doc.insert(
                    "versions".into(),
                    json!([{"instanceTemplate": g.template, "targetSize": {"calculated": g.target_size}}]),
                );
                doc.insert("baseInstanceName".into(), json!(g.name));
                doc.insert("targetSize".into(), json!(g.target_size));
                doc.insert(
                    "selfLink".into(),
                    json!(links.scoped(project, &g.scope, "instanceGroupManagers", &g.name)),
                );
                Value::Object(doc)
                });
                (g.scope.key(), g.name.clone(), doc)
            })
            .collect(),
    }
}

/// Every scope an aggregated list of `kind` names, in order.
fn scopes(state: &State, kind: Kind) -> Vec<String> {
    let mut all: Vec<String> = Vec::new();
    if kind == Kind::Templates {
        all.push("global".into());
    }
    if kind != Kind::Templates {
        all.extend(state.zones.iter().map(|z| format!("zones/{z}")));
    }
    if kind != Kind::Instances {
        all.extend(state.regions.iter().map(|r| format!("regions/{r}")));
    }
    all.sort();
    all
}

/// One page of `items` (sorted by key here), after the token's key,
/// passing the filter; only what the page looks at is written.
fn page(call: &Call, mut items: Listed<'_>) -> Result<(Written, Option<String>), Refusal> {
    let max = max_results(call)?;
    let filter_text = call.param("filter").unwrap_or("");
    let filter = filter(call)?;
    let hash = query_hash(&[filter_text, "aggregated"]);
    let after = token_key(call, hash)?;
    items.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    let key = |s: &str, n: &str| format!("{s}\u{1}{n}");
    let mut out: Written = Vec::new();
    let mut next = None;
    for (scope, name, doc) in items {
        if after
            .as_deref()
            .is_some_and(|a| key(&scope, &name).as_str() <= a)
        {
            continue;
        }
        let doc = doc();
        if filter.as_ref().is_some_and(|f| !f.matches(&doc)) {
            continue;
        }
        if out.len() == max {
            if let Some((s, n, _)) = out.last() {
                next = Some(page_token(hash, &key(s, n)));
            }
            break;
        }
        out.push((scope, name, doc));
    }
    Ok((out, next))
}

fn aggregated(state: &State, project: &str, kind: Kind, call: &Call) -> Response {
    let unreachable = &state.unreachable;
    let items: Vec<_> = resources(state, project, kind)
        .into_iter()
        .filter(|(s, _, _)| !unreachable.contains(s))
        .collect();
    let (page, next) = match page(call, items) {
        Ok(p) => p,
        Err(r) => return *r,
    };
    let mut map = Map::new();
    for scope in scopes(state, kind) {
        let here: Vec<Value> = page
            .iter()
            .filter(|(s, _, _)| *s == scope)
            .map(|(_, _, d)| d.clone())
            .collect();
        let entry = if unreachable.contains(&scope) {
            warning(
                "UNREACHABLE",
                &format!("Scope '{scope}' is unreachable."),
                &scope,
            )
        } else if here.is_empty() {
            warning(
                "NO_RESULTS_ON_PAGE",
                &format!("There are no results for scope '{scope}' on this page."),
                &scope,
            )
        } else {
            json!({ kind.word(): here })
        };
        map.insert(scope, entry);
    }
    let mut doc = Map::new();
    doc.insert(
        "kind".into(),
        json!(format!("compute#{}AggregatedList", kind.item())),
    );
    doc.insert(
        "id".into(),
        json!(format!("projects/{project}/aggregated/{}", kind.word())),
    );
    doc.insert("items".into(), Value::Object(map));
    if let Some(next) = next {
        doc.insert("nextPageToken".into(), json!(next));
    }
    doc.insert(
        "selfLink".into(),
        json!(
            state
                .links
                .project(project, &format!("aggregated/{}", kind.word()))
        ),
    );
    let unreachables: Vec<&String> = unreachable
        .iter()
        .filter(|s| scopes(state, kind).contains(s))
        .collect();
    if !unreachables.is_empty() {
        doc.insert("unreachables".into(), json!(unreachables));
    }
    json_response(200, &Value::Object(doc))
}

fn warning(code: &str, message: &str, scope: &str) -> Value {
    json!({"warning": {"code": code, "message": message, "data": [{"key": "scope", "value": scope}]}})
}

fn scoped(state: &State, project: &str, kind: Kind, scope: &str, call: &Call) -> Response {
    let items: Vec<_> = resources(state, project, kind)
        .into_iter()
        .filter(|(s, _, _)| s == scope)
        .collect();
    let (page, next) = match page(call, items) {
        Ok(p) => p,
        Err(r) => return *r,
    };
    let path = if scope == "global" {
        format!("global/{}", kind.word())
    } else {
        format!("{scope}/{}", kind.word())
    };
    let doc = wire::list(
        &format!("compute#{}List", kind.item()),
        &format!("projects/{project}/{path}"),
        state.links.project(project, &path),
        page.into_iter().map(|(_, _, d)| d).collect(),
        next,
    );
    json_response(200, &doc)
}

fn locations(state: &State, project: &str, zones: bool) -> Response {
    let links = &state.links;
    let region_of = |z: &str| z.rsplit_once('-').map_or(z, |(r, _)| r).to_owned();
    let items: Vec<Value> = if zones {
        state
            .zones
            .iter()
            .enumerate()
            .map(|(n, z)| {
                json!({
                    "kind": "compute#zone",
                    "id": (2000 + n).to_string(),
                    "creationTimestamp": "1969-12-31T16:00:00.000-08:00",
                    "name": z,
                    "description": z,
                    "status": "UP",
                    "region": links.project(project, &format!("regions/{}", region_of(z))),
                    "selfLink": links.project(project, &format!("zones/{z}")),
                    "supportsPzs": false,
                })
            })
            .collect()
    } else {
        state
            .regions
            .iter()
            .enumerate()
            .map(|(n, r)| {
                let zones: Vec<String> = state
                    .zones
                    .iter()
                    .filter(|z| region_of(z) == *r)
                    .map(|z| links.project(project, &format!("zones/{z}")))
                    .collect();
                json!({
                    "kind": "compute#region",
                    "id": (1000 + n).to_string(),
                    "creationTimestamp": "1969-12-31T16:00:00.000-08:00",
                    "name": r,
                    "description": r,
                    "status": "UP",
                    "zones": zones,
                    "selfLink": links.project(project, &format!("regions/{r}")),
                    "supportsPzs": false,
                })
            })
            .collect()
    };
    let word = if zones { "zones" } else { "regions" };
    let doc = wire::list(
        &format!("compute#{}List", if zones { "zone" } else { "region" }),
        &format!("projects/{project}/{word}"),
        links.project(project, word),
        items,
        None,
    );
    json_response(200, &doc)
}
