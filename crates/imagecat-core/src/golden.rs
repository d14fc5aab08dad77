//! The golden-image matrix: for N catalogs, every family × every catalog,
//! each catalog's newest image of the family and whether it is the newest
//! build anywhere.
//!
//! # How to call it
//!
//! Catalogs at hand (lists them concurrently, one image per family held):
//!
//! ```no_run
//! # async fn f(kr1: &dyn imagecat_core::ImageCatalog, jp1: &dyn imagecat_core::ImageCatalog) {
//! use imagecat_core::ListQuery;
//! use imagecat_core::family::GroupBy;
//! use imagecat_core::golden::{BuildKey, golden_catalogs};
//!
//! let group = GroupBy::regex(r"^(.+)-\d{8}$").unwrap();
//! let by: BuildKey = "property:build_version".parse().unwrap();
//! let (matrix, failures) =
//!     golden_catalogs(&[("kr1", kr1), ("jp1", jp1)], &ListQuery::new(), &group, &by).await;
//! for family in &matrix.families {
//!     println!("{} {:?}", family.family, family.state);
//! }
//! # }
//! ```
//!
//! Listings already held: [`CatalogFamilies::from_images`] for each
//! catalog, then [`golden_matrix`]. Everything here serialises with stable
//! field names (the CLI's `-o json` and the HTML report print it as is).
//!
//! # The rules
//!
//! - A catalog's image of a family is its newest one by `created_at`
//!   (an image without a creation time counts as the oldest).
//! - The family's **newest build** ([`GoldenFamily::newest`]) is the build
//!   of the newest of those images across all catalogs; on equal creation
//!   times the greater build value wins (so a tie of two builds shows as
//!   drift, never as two "current" builds).
//! - Each cell is then ([`CellState`]): `current` (its build equals the
//!   newest build), `stale` (another, older build), `missing` (the family
//!   is in some other catalog, not in this one), `extra` (the family is in
//!   this catalog only, of two or more: the others all miss it, as `diff`
//!   calls an image in B only `extra`), or `unknown` (the build cannot be
//!   told: no checksum, no such property, no matching tag, or the newest
//!   build itself is unknown). Unknown is never counted as equal.
//! - Images without a family (no name, no such property) are left out and
//!   counted in [`GoldenCatalog::ungrouped`].

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::catalog::ImageCatalog;
use crate::error::{Error, Result};
use crate::family::{GroupBy, family_key, family_of};
use crate::model::{Image, ImageId};
use crate::query::{ListQuery, NamePattern};

/// What identifies a build (`--by`): `name`, `checksum`, `property:KEY`
/// or `tag:GLOB`. Serialises as that text.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub enum BuildKey {
    /// The image name (`ubuntu-24.04-20260101`).
    #[default]
    Name,
    /// The checksum (lower case); unknown where the backend has none
    /// (TOAST v1.0, DCMGR 12.03): sizes are never taken for bits here.
    Checksum,
    /// The value of this property (`build_version`).
    Property(String),
    /// The image's tags matching this glob (`v*`), sorted and joined with
    /// `,`; unknown when none matches.
    Tag(NamePattern),
}

/// A `--by` that cannot be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid build key {text:?}: expected name, checksum, property:KEY or tag:GLOB")]
pub struct BuildKeyError {
    text: String,
}

impl BuildKey {
    /// The build of an image under this key, `None` when unknown.
    pub fn build_of(&self, image: &Image) -> Option<String> {
        match self {
            BuildKey::Name => image.name.clone(),
            BuildKey::Checksum => image.checksum.as_deref().map(str::to_ascii_lowercase),
            BuildKey::Property(key) => image.properties.get(key).map(str::to_owned),
            BuildKey::Tag(pattern) => {
                let mut tags: Vec<&str> = image
                    .tags
                    .iter()
                    .map(String::as_str)
                    .filter(|t| pattern.matches(t))
                    .collect();
                tags.sort_unstable();
                tags.dedup();
                (!tags.is_empty()).then(|| tags.join(","))
            }
        }
    }
}

impl fmt::Display for BuildKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BuildKey::Name => f.write_str("name"),
            BuildKey::Checksum => f.write_str("checksum"),
            BuildKey::Property(key) => write!(f, "property:{key}"),
            BuildKey::Tag(pattern) => write!(f, "tag:{}", pattern.as_str()),
        }
    }
}

impl FromStr for BuildKey {
    type Err = BuildKeyError;

    /// Parses `name`, `checksum`, `property:KEY` or `tag:GLOB` (a plain
    /// tag is an exact tag).
    fn from_str(text: &str) -> std::result::Result<Self, Self::Err> {
        let bad = || BuildKeyError {
            text: text.to_owned(),
        };
        match text {
            "name" => Ok(BuildKey::Name),
            "checksum" => Ok(BuildKey::Checksum),
            _ => match text.split_once(':') {
                Some(("property", key)) if !key.is_empty() => Ok(BuildKey::Property(key.into())),
                Some(("tag", glob)) if !glob.is_empty() => {
                    Ok(BuildKey::Tag(NamePattern::parse(glob)))
                }
                _ => Err(bad()),
            },
        }
    }
}

impl PartialEq for BuildKey {
    fn eq(&self, other: &Self) -> bool {
        self.to_string() == other.to_string()
    }
}

impl Serialize for BuildKey {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for BuildKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// What one cell of the matrix says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum CellState {
    /// Its newest image has the family's newest build.
    Current,
    /// Its newest image has another build, older than the newest anywhere.
    Stale,
    /// The family is in another catalog, not in this one.
    Missing,
    /// The family is in this catalog only (of two or more).
    Extra,
    /// Its build, or the family's newest build, cannot be told.
    Unknown,
}

impl CellState {
    /// The lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            CellState::Current => "current",
            CellState::Stale => "stale",
            CellState::Missing => "missing",
            CellState::Extra => "extra",
            CellState::Unknown => "unknown",
        }
    }
}

/// What a whole row (one family) says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum FamilyState {
    /// Every cell is `current`.
    Consistent,
    /// Some cell is `stale`, `missing` or `extra`.
    Drift,
    /// No drift seen, but some cell is `unknown`.
    Unknown,
}

impl FamilyState {
    /// The lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            FamilyState::Consistent => "consistent",
            FamilyState::Drift => "drift",
            FamilyState::Unknown => "unknown",
        }
    }
}

/// The image a cell (or the family's newest build) stands for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct GoldenImage {
    /// The image id.
    pub id: ImageId,
    /// The image name.
    pub name: Option<String>,
    /// When it was created.
    pub created_at: Option<DateTime<Utc>>,
    /// Its build under the key (`None`: unknown).
    pub build: Option<String>,
}

impl GoldenImage {
    fn of(image: &Image, by: &BuildKey) -> Self {
        GoldenImage {
            id: image.id.clone(),
            name: image.name.clone(),
            created_at: image.created_at,
            build: by.build_of(image),
        }
    }
}

/// One cell: a catalog's newest image of a family and its state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct GoldenCell {
    /// The catalog's name.
    pub catalog: String,
    /// Current, stale, missing, extra or unknown.
    pub state: CellState,
    /// The catalog's newest image of the family (`None` when missing).
    pub image: Option<GoldenImage>,
}

/// The family's newest build: where it was seen first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct NewestBuild {
    /// The catalog holding the newest image.
    pub catalog: String,
    /// That image (its `build` is the newest build; `None`: unknown).
    pub image: GoldenImage,
}

/// One row: a family across every catalog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct GoldenFamily {
    /// The family, as shown.
    pub family: String,
    /// Consistent, drift or unknown.
    pub state: FamilyState,
    /// The newest build anywhere.
    pub newest: NewestBuild,
    /// One cell per catalog, in the catalogs' order.
    pub cells: Vec<GoldenCell>,
}

/// One catalog of the matrix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct GoldenCatalog {
    /// Its name.
    pub name: String,
    /// How many images matched the query.
    pub images: u64,
    /// How many of them have no family (no name, no such property).
    pub ungrouped: u64,
}

/// How many cells are in each state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CellCounts {
    /// `current` cells.
    pub current: u64,
    /// `stale` cells.
    pub stale: u64,
    /// `missing` cells.
    pub missing: u64,
    /// `extra` cells.
    pub extra: u64,
    /// `unknown` cells.
    pub unknown: u64,
}

/// The matrix: families × catalogs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct GoldenMatrix {
    /// The family rule.
    pub group: GroupBy,
    /// The build key.
    pub by: BuildKey,
    /// The catalogs, in order (each family's `cells` follow it).
    pub catalogs: Vec<GoldenCatalog>,
    /// The families, by family name.
    pub families: Vec<GoldenFamily>,
}

impl GoldenMatrix {
    /// How many cells are in each state.
    pub fn counts(&self) -> CellCounts {
        let mut c = CellCounts::default();
        for cell in self.families.iter().flat_map(|f| &f.cells) {
            *match cell.state {
                CellState::Current => &mut c.current,
                CellState::Stale => &mut c.stale,
                CellState::Missing => &mut c.missing,
                CellState::Extra => &mut c.extra,
                CellState::Unknown => &mut c.unknown,
            } += 1;
        }
        c
    }

    /// Whether every cell is `current` (no drift, nothing unknown).
    pub fn is_consistent(&self) -> bool {
        self.families
            .iter()
            .all(|f| f.state == FamilyState::Consistent)
    }
}

/// One catalog's newest image of each family: what [`golden_matrix`]
/// needs of a catalog (one image per family is held).
#[derive(Debug, Clone, PartialEq)]
pub struct CatalogFamilies {
    name: String,
    images: u64,
    ungrouped: u64,
    /// By family key: (family as shown, newest image).
    newest: BTreeMap<String, (String, Image)>,
}

impl CatalogFamilies {
    /// An empty catalog called `name`; [`CatalogFamilies::add`] images.
    pub fn new(name: impl Into<String>) -> Self {
        CatalogFamilies {
            name: name.into(),
            images: 0,
            ungrouped: 0,
            newest: BTreeMap::new(),
        }
    }

    /// Takes one image into account (kept if it is its family's newest).
    pub fn add(&mut self, group: &GroupBy, image: Image) {
        self.images += 1;
        let Some((key, family)) = family_key(group, &image).zip(family_of(group, &image)) else {
            self.ungrouped += 1;
            return;
        };
        match self.newest.get_mut(&key) {
            Some((_, best)) if newer_than(&image, best) => *best = image,
            Some(_) => {}
            None => {
                self.newest.insert(key, (family, image));
            }
        }
    }

    /// A catalog's listing, grouped.
    pub fn from_images(
        name: impl Into<String>,
        group: &GroupBy,
        images: impl IntoIterator<Item = Image>,
    ) -> Self {
        let mut out = CatalogFamilies::new(name);
        for image in images {
            out.add(group, image);
        }
        out
    }

    /// Lists `catalog` with `query` and groups it (one image per family held).
    pub async fn from_catalog(
        name: impl Into<String>,
        catalog: &dyn ImageCatalog,
        query: &ListQuery,
        group: &GroupBy,
    ) -> Result<Self> {
        let mut out = CatalogFamilies::new(name);
        let mut stream = catalog.list(query.clone());
        while let Some(image) = stream.try_next().await? {
            out.add(group, image);
        }
        Ok(out)
    }

    /// The heads of these image families in `catalog`, one
    /// [`ImageCatalog::family_latest`] each (on GCE one `getFromFamily`
    /// request per family), grouped by the property `family`; a family the
    /// catalog has no usable image of is absent from it, a head that does
    /// not match `query` too; any other error is the catalog's.
    pub async fn from_family_heads(
        name: impl Into<String>,
        catalog: &dyn ImageCatalog,
        families: &[String],
        query: &ListQuery,
    ) -> Result<Self> {
        let group = GroupBy::Property(crate::family::FAMILY_PROPERTY.to_owned());
        let mut out = CatalogFamilies::new(name);
        for family in families {
            match catalog.family_latest(family).await {
                Ok(image) if query.matches(&image) => out.add(&group, image),
                Ok(_) => {}
                Err(e) if e.kind() == crate::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }
}

/// Whether `a` is newer than `b` by creation time (no time: oldest; equal
/// times: not newer, the first seen stays).
fn newer_than(a: &Image, b: &Image) -> bool {
    a.created_at > b.created_at
}

/// Builds the matrix of these catalogs (in this order) under `group`
/// (recorded in the result) and `by`.
pub fn golden_matrix(catalogs: &[CatalogFamilies], group: &GroupBy, by: &BuildKey) -> GoldenMatrix {
    // Every family key, with its shown name.
    let mut keys: BTreeMap<&str, &str> = BTreeMap::new();
    for c in catalogs {
        for (key, (family, _)) in &c.newest {
            keys.entry(key).or_insert(family);
        }
    }
    let mut families: Vec<GoldenFamily> = keys
        .into_iter()
        .map(|(key, family)| family_row(catalogs, key, family, by))
        .collect();
    families.sort_by(|x, y| x.family.cmp(&y.family));
    GoldenMatrix {
        group: group.clone(),
        by: by.clone(),
        catalogs: catalogs
            .iter()
            .map(|c| GoldenCatalog {
                name: c.name.clone(),
                images: c.images,
                ungrouped: c.ungrouped,
            })
            .collect(),
        families,
    }
}

fn family_row(
    catalogs: &[CatalogFamilies],
    key: &str,
    family: &str,
    by: &BuildKey,
) -> GoldenFamily {
    let present: Vec<Option<GoldenImage>> = catalogs
        .iter()
        .map(|c| c.newest.get(key).map(|(_, i)| GoldenImage::of(i, by)))
        .collect();
    // The newest by creation time; equal times: the greater build (a
    // known build over an unknown one), then the first catalog.
    let (at, newest) = present
        .iter()
        .enumerate()
        .filter_map(|(n, i)| i.as_ref().map(|i| (n, i)))
        .reduce(|best, next| {
            let order = (next.1.created_at, &next.1.build).cmp(&(best.1.created_at, &best.1.build));
            if order == Ordering::Greater {
                next
            } else {
                best
            }
        })
        .expect("a family is in at least one catalog");
    let holders = present.iter().filter(|i| i.is_some()).count();
    let cells: Vec<GoldenCell> = catalogs
        .iter()
        .zip(&present)
        .map(|(c, image)| {
            let state = match image {
                None => CellState::Missing,
                Some(_) if holders == 1 && catalogs.len() > 1 => CellState::Extra,
                Some(i) => match (&i.build, &newest.build) {
                    (Some(mine), Some(best)) if mine == best => CellState::Current,
                    (Some(_), Some(_)) => CellState::Stale,
                    _ => CellState::Unknown,
                },
            };
            GoldenCell {
                catalog: c.name.clone(),
                state,
                image: image.clone(),
            }
        })
        .collect();
    let state = if cells.iter().any(|c| {
        matches!(
            c.state,
            CellState::Stale | CellState::Missing | CellState::Extra
        )
    }) {
        FamilyState::Drift
    } else if cells.iter().any(|c| c.state == CellState::Unknown) {
        FamilyState::Unknown
    } else {
        FamilyState::Consistent
    };
    GoldenFamily {
        family: family.to_owned(),
        state,
        newest: NewestBuild {
            catalog: catalogs[at].name.clone(),
            image: newest.clone(),
        },
        cells,
    }
}

/// Lists every catalog concurrently with the same query and builds the
/// matrix of those that answered; the others come back as failures,
/// named (their column is left out, not shown as missing).
pub async fn golden_catalogs(
    catalogs: &[(&str, &dyn ImageCatalog)],
    query: &ListQuery,
    group: &GroupBy,
    by: &BuildKey,
) -> (GoldenMatrix, Vec<(String, Error)>) {
    let listings = futures::future::join_all(
        catalogs
            .iter()
            .map(|(name, catalog)| CatalogFamilies::from_catalog(*name, *catalog, query, group)),
    )
    .await;
    let mut answered = Vec::new();
    let mut failures = Vec::new();
    for ((name, _), listing) in catalogs.iter().zip(listings) {
        match listing {
            Ok(families) => answered.push(families),
            Err(e) => failures.push(((*name).to_owned(), e)),
        }
    }
    (golden_matrix(&answered, group, by), failures)
}

/// [`golden_catalogs`] over the image families the backends know: each
/// catalog's head of each family by [`CatalogFamilies::from_family_heads`]
/// (one request per family and catalog where the backend has the call),
/// rows by the property `family`.
pub async fn golden_image_families(
    catalogs: &[(&str, &dyn ImageCatalog)],
    families: &[String],
    query: &ListQuery,
    by: &BuildKey,
) -> (GoldenMatrix, Vec<(String, Error)>) {
    let heads = futures::future::join_all(catalogs.iter().map(|(name, catalog)| {
        CatalogFamilies::from_family_heads(*name, *catalog, families, query)
    }))
    .await;
    let mut answered = Vec::new();
    let mut failures = Vec::new();
    for ((name, _), heads) in catalogs.iter().zip(heads) {
        match heads {
            Ok(families) => answered.push(families),
            Err(e) => failures.push(((*name).to_owned(), e)),
        }
    }
    let group = GroupBy::Property(crate::family::FAMILY_PROPERTY.to_owned());
    (golden_matrix(&answered, &group, by), failures)
}

#[cfg(test)]
mod tests;
