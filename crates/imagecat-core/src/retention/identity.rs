//! Which catalog a plan was made on: its backend, endpoint and the account
//! the caller acts as ([`ImageCatalog::caller`](crate::ImageCatalog::caller)).
//! A plan records it per catalog; an apply refuses a catalog of the same
//! name but another identity.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::catalog::DynImageCatalog;
use crate::error::Result;
use crate::model::BackendKind;

/// The identity of a catalog: backend, endpoint (without credentials) and
/// the caller's account or project when the backend says. Never a secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CatalogIdentity {
    /// The backend.
    pub backend: BackendKind,
    /// The endpoint, as [`CatalogInfo::endpoint`](crate::CatalogInfo).
    pub endpoint: String,
    /// The caller's account or project (`None`: the backend does not say).
    #[serde(default)]
    pub account: Option<String>,
}

impl CatalogIdentity {
    /// An identity.
    pub fn new(backend: BackendKind, endpoint: impl Into<String>, account: Option<String>) -> Self {
        CatalogIdentity {
            backend,
            endpoint: endpoint.into(),
            account,
        }
    }
}

impl fmt::Display for CatalogIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {:?}", self.backend, self.endpoint)?;
        match &self.account {
            Some(account) => write!(f, " as account {account:?}"),
            None => f.write_str(" (no account known)"),
        }
    }
}

/// The identity of a catalog now: its info and its caller.
pub async fn identify(catalog: &DynImageCatalog) -> Result<CatalogIdentity> {
    // The caller first: it may fetch a token, which may fix the endpoint
    // shown (an image endpoint from a service catalog).
    let account = catalog.caller().await?;
    let info = catalog.info();
    Ok(CatalogIdentity::new(info.backend, info.endpoint, account))
}
