//! Comparing two catalogs' golden images: what is missing from the second,
//! extra in it, or the same name with other bits.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use futures::TryStreamExt;
use serde::{Deserialize, Serialize};

use crate::catalog::ImageCatalog;
use crate::error::Result;
use crate::model::{Image, ImageId};
use crate::query::ListQuery;

/// How images of the two catalogs are matched.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum DiffBy {
    /// By name; a name on both sides whose bits differ is `changed`.
    #[default]
    Name,
    /// By the bits alone ([`fingerprint`]): only `missing` and `extra`.
    Checksum,
    /// By name and bits: pairs missing on one side; a name missing with
    /// some bits and extra with others is `changed`.
    NameChecksum,
}

impl fmt::Display for DiffBy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DiffBy::Name => "name",
            DiffBy::Checksum => "checksum",
            DiffBy::NameChecksum => "name+checksum",
        })
    }
}

impl FromStr for DiffBy {
    type Err = String;

    /// Parses `name`, `checksum` or `name+checksum`.
    fn from_str(text: &str) -> std::result::Result<Self, String> {
        match text {
            "name" => Ok(DiffBy::Name),
            "checksum" => Ok(DiffBy::Checksum),
            "name+checksum" => Ok(DiffBy::NameChecksum),
            _ => Err(format!(
                "invalid --by {text:?}: expected name, checksum or name+checksum"
            )),
        }
    }
}

/// What kind of difference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum DiffKind {
    /// In A, not in B.
    Missing,
    /// In B, not in A.
    Extra,
    /// Same name on both sides, other bits.
    Changed,
}

impl DiffKind {
    /// The lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            DiffKind::Missing => "missing",
            DiffKind::Extra => "extra",
            DiffKind::Changed => "changed",
        }
    }
}

/// One image of one side, as a difference shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DiffSide {
    /// The image id.
    pub id: ImageId,
    /// Its checksum, if the backend has one.
    pub checksum: Option<String>,
    /// Glance's multihash algorithm, if any.
    pub os_hash_algo: Option<String>,
    /// Glance's multihash, if any.
    pub os_hash_value: Option<String>,
    /// Its size in bytes, if known.
    pub size_bytes: Option<u64>,
}

impl DiffSide {
    fn of(image: &Image) -> Self {
        DiffSide {
            id: image.id.clone(),
            checksum: image.checksum.clone(),
            os_hash_algo: image.os_hash_algo.clone(),
            os_hash_value: image.os_hash_value.clone(),
            size_bytes: image.size_bytes,
        }
    }
}

/// One difference between catalog A and catalog B.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Difference {
    /// Missing from B, extra in B, or changed.
    pub kind: DiffKind,
    /// The image name (`None` for nameless images).
    pub name: Option<String>,
    /// The images on A's side (empty for `extra`).
    pub a: Vec<DiffSide>,
    /// The images on B's side (empty for `missing`).
    pub b: Vec<DiffSide>,
}

/// What identifies an image's bits: its checksum, else its size (TOAST
/// v1.0 and DCMGR 12.03 have no checksum), else nothing.
pub fn fingerprint(image: &Image) -> Option<String> {
    match (&image.checksum, image.size_bytes) {
        (Some(sum), _) => Some(format!("checksum:{}", sum.to_ascii_lowercase())),
        (None, Some(size)) => Some(format!("size:{size}")),
        (None, None) => None,
    }
}

/// Whether two images hold the same bits as far as both sides can tell:
/// checksums when both have one, else the multihash when both have one of
/// the same algorithm, else sizes when both have one. With nothing to
/// compare, they count as the same (never reported as changed on a guess).
pub fn same_bits(a: &Image, b: &Image) -> bool {
    let eq = |x: &str, y: &str| x.eq_ignore_ascii_case(y);
    if let (Some(x), Some(y)) = (&a.checksum, &b.checksum) {
        return eq(x, y);
    }
    if let (Some(xa), Some(x), Some(ya), Some(y)) = (
        &a.os_hash_algo,
        &a.os_hash_value,
        &b.os_hash_algo,
        &b.os_hash_value,
    ) {
        if xa == ya {
            return eq(x, y);
        }
    }
    match (a.size_bytes, b.size_bytes) {
        (Some(x), Some(y)) => x == y,
        _ => true,
    }
}

/// Compares two listings. Differences come sorted by name, then kind.
/// Memory: both listings are held.
pub fn diff_images(a: &[Image], b: &[Image], by: DiffBy) -> Vec<Difference> {
    let mut out = match by {
        DiffBy::Name => by_name(a, b),
        DiffBy::Checksum => by_key(a, b, |i| fingerprint(i).unwrap_or_else(|| no_bits(i))),
        DiffBy::NameChecksum => pair_changed(by_key(a, b, |i| {
            let name = i.name.as_deref().unwrap_or_default();
            let bits = fingerprint(i).unwrap_or_default();
            format!("{name}\u{0}{bits}")
        })),
    };
    out.sort_by(|x, y| (&x.name, x.kind).cmp(&(&y.name, y.kind)));
    out
}

/// The key of an image with neither checksum nor size: never equal to
/// another's, so it is reported rather than matched on a guess.
fn no_bits(image: &Image) -> String {
    format!("id:{}:{}", image.backend, image.id)
}

fn group<K: Ord>(images: &[Image], key: impl Fn(&Image) -> K) -> BTreeMap<K, Vec<&Image>> {
    let mut map: BTreeMap<K, Vec<&Image>> = BTreeMap::new();
    for i in images {
        map.entry(key(i)).or_default().push(i);
    }
    map
}

fn sides(images: &[&Image]) -> Vec<DiffSide> {
    images.iter().map(|i| DiffSide::of(i)).collect()
}

fn name_of(images: &[&Image]) -> Option<String> {
    images.first().and_then(|i| i.name.clone())
}

fn by_name(a: &[Image], b: &[Image]) -> Vec<Difference> {
    let ga = group(a, |i| i.name.clone());
    let gb = group(b, |i| i.name.clone());
    let mut out = Vec::new();
    for (name, xs) in &ga {
        let kind = match gb.get(name) {
            None => DiffKind::Missing,
            // Every image of A must have a twin in B and the other way round.
            Some(ys)
                if xs.iter().all(|x| ys.iter().any(|y| same_bits(x, y)))
                    && ys.iter().all(|y| xs.iter().any(|x| same_bits(x, y))) =>
            {
                continue;
            }
            Some(_) => DiffKind::Changed,
        };
        out.push(Difference {
            kind,
            name: name.clone(),
            a: sides(xs),
            b: gb.get(name).map(|ys| sides(ys)).unwrap_or_default(),
        });
    }
    for (name, ys) in gb.iter().filter(|(n, _)| !ga.contains_key(*n)) {
        out.push(Difference {
            kind: DiffKind::Extra,
            name: name.clone(),
            a: Vec::new(),
            b: sides(ys),
        });
    }
    out
}

fn by_key(a: &[Image], b: &[Image], key: impl Fn(&Image) -> String) -> Vec<Difference> {
    let ga = group(a, &key);
    let gb = group(b, &key);
    let mut out = Vec::new();
    for (_, xs) in ga.iter().filter(|(k, _)| !gb.contains_key(*k)) {
        out.push(Difference {
            kind: DiffKind::Missing,
            name: name_of(xs),
            a: sides(xs),
            b: Vec::new(),
        });
    }
    for (_, ys) in gb.iter().filter(|(k, _)| !ga.contains_key(*k)) {
        out.push(Difference {
            kind: DiffKind::Extra,
            name: name_of(ys),
            a: Vec::new(),
            b: sides(ys),
        });
    }
    out
}

/// Merges a `missing` and an `extra` of the same name into one `changed`.
fn pair_changed(diffs: Vec<Difference>) -> Vec<Difference> {
    let mut by_name: BTreeMap<Option<String>, (Vec<DiffSide>, Vec<DiffSide>)> = BTreeMap::new();
    for d in diffs {
        let entry = by_name.entry(d.name).or_default();
        entry.0.extend(d.a);
        entry.1.extend(d.b);
    }
    by_name
        .into_iter()
        .map(|(name, (a, b))| Difference {
            kind: match (a.is_empty(), b.is_empty()) {
                (false, true) => DiffKind::Missing,
                (true, false) => DiffKind::Extra,
                _ => DiffKind::Changed,
            },
            name,
            a,
            b,
        })
        .collect()
}

/// Lists both catalogs with the same query (one after the other) and
/// compares them with [`diff_images`]. Memory: both listings are held.
pub async fn diff_catalogs(
    a: &dyn ImageCatalog,
    b: &dyn ImageCatalog,
    query: &ListQuery,
    by: DiffBy,
) -> Result<Vec<Difference>> {
    let left: Vec<Image> = a.list(query.clone()).try_collect().await?;
    let right: Vec<Image> = b.list(query.clone()).try_collect().await?;
    Ok(diff_images(&left, &right, by))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::InMemoryCatalog;
    use crate::model::{BackendKind, ImageStatus};

    fn img(id: &str, name: &str, sum: Option<&str>, size: Option<u64>) -> Image {
        let mut i =
            Image::new(id, BackendKind::Memory, ImageStatus::Active, "active").with_name(name);
        i.checksum = sum.map(str::to_owned);
        i.size_bytes = size;
        i
    }

    fn kinds(diffs: &[Difference]) -> Vec<(DiffKind, Option<&str>)> {
        diffs.iter().map(|d| (d.kind, d.name.as_deref())).collect()
    }

    fn seeded() -> (Vec<Image>, Vec<Image>) {
        let a = vec![
            img("a1", "same", Some("AA"), Some(1)),
            img("a2", "gone", Some("bb"), Some(2)),
            img("a3", "moved", Some("cc"), Some(3)),
        ];
        let b = vec![
            img("b1", "same", Some("aa"), Some(1)),
            img("b3", "moved", Some("dd"), Some(3)),
            img("b4", "new", Some("ee"), Some(4)),
        ];
        (a, b)
    }

    #[test]
    fn by_name_reports_missing_extra_and_changed_exactly() {
        let (a, b) = seeded();
        let d = diff_images(&a, &b, DiffBy::Name);
        assert_eq!(
            kinds(&d),
            [
                (DiffKind::Missing, Some("gone")),
                (DiffKind::Changed, Some("moved")),
                (DiffKind::Extra, Some("new")),
            ]
        );
        let changed = &d[1];
        assert_eq!(changed.a[0].id, ImageId::new("a3"));
        assert_eq!(changed.b[0].checksum.as_deref(), Some("dd"));
        assert!(diff_images(&a, &a, DiffBy::Name).is_empty());
    }

    #[test]
    fn name_checksum_pairs_changed_and_checksum_ignores_names() {
        let (a, b) = seeded();
        assert_eq!(
            kinds(&diff_images(&a, &b, DiffBy::NameChecksum)),
            [
                (DiffKind::Missing, Some("gone")),
                (DiffKind::Changed, Some("moved")),
                (DiffKind::Extra, Some("new")),
            ]
        );
        let renamed = vec![img("r", "other-name", Some("bb"), None)];
        let d = diff_images(&a[1..2], &renamed, DiffBy::Checksum);
        assert!(d.is_empty(), "{d:?}");
    }

    #[test]
    fn without_checksums_sizes_decide_and_nothing_known_is_no_change() {
        let a = vec![img("a", "x", None, Some(10)), img("c", "z", None, None)];
        let b = vec![
            img("b", "x", Some("ff"), Some(11)),
            img("d", "z", None, None),
        ];
        assert_eq!(
            kinds(&diff_images(&a, &b, DiffBy::Name)),
            [(DiffKind::Changed, Some("x"))]
        );
        // By checksum, images with no bits at all are never matched on a guess.
        let d = diff_images(&a[1..], &b[1..], DiffBy::Checksum);
        assert_eq!(
            kinds(&d),
            [(DiffKind::Missing, Some("z")), (DiffKind::Extra, Some("z"))]
        );
    }

    #[test]
    fn json_has_kind_name_ids_and_checksums() {
        let (a, b) = seeded();
        let d = diff_images(&a, &b, DiffBy::Name);
        let v = serde_json::to_value(&d[1]).unwrap();
        assert_eq!(v["kind"], "changed");
        assert_eq!(v["name"], "moved");
        assert_eq!(v["a"][0]["id"], "a3");
        assert_eq!(v["b"][0]["checksum"], "dd");
    }

    #[tokio::test]
    async fn catalogs_are_compared_with_the_query_applied() {
        let (a, b) = seeded();
        let (ca, cb) = (
            InMemoryCatalog::from_images(a),
            InMemoryCatalog::from_images(b),
        );
        let all = diff_catalogs(&ca, &cb, &ListQuery::new(), DiffBy::Name)
            .await
            .unwrap();
        assert_eq!(all.len(), 3);
        let only = diff_catalogs(&ca, &cb, &ListQuery::new().name("mo*"), DiffBy::Name)
            .await
            .unwrap();
        assert_eq!(kinds(&only), [(DiffKind::Changed, Some("moved"))]);
    }
}
