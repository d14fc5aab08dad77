//! [`RefreshingProvider`]: any provider's credentials cached and fetched
//! again before they expire, on imagecat-http's shared token machinery
//! ([`TokenSource`] over a [`Grant`]: renewal once `expiry − margin` has
//! passed, single flight however many requests ask at once). No second
//! cache: the grant's "token" is the credentials themselves, carried as
//! the grant's extra data, since SigV4 signs each request instead of
//! sending one header.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use imagecat_core::{Error, Result};
use imagecat_http::{Grant, HttpClient, Issued, SecretString, TokenSource};

use super::{CredentialProvider, Credentials};
use crate::config::BACKEND;

/// How long before their expiry credentials are fetched again (botocore
/// refreshes 15 minutes early when it can and must by 10; STS's shortest
/// session is 15 minutes, so 5 keeps every session usable).
pub const RENEW_MARGIN: Duration = Duration::from_secs(5 * 60);

/// The grant: asks the wrapped provider.
struct ProviderGrant(Arc<dyn CredentialProvider>);

impl fmt::Debug for ProviderGrant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ProviderGrant").field(&self.0).finish()
    }
}

impl Grant for ProviderGrant {
    type Extra = Option<Credentials>;

    fn fetch(
        &self,
        _http: &HttpClient,
    ) -> impl std::future::Future<Output = Result<Issued<Self::Extra>>> + Send {
        let provider = Arc::clone(&self.0);
        async move {
            let credentials = provider.credentials().await?;
            Ok(Issued {
                // The token slot is never sent (SigV4 signs every request):
                // a placeholder, too short to be registered for scrubbing.
                id: SecretString::new("-"),
                expires: credentials.expiry(),
                extra: Some(credentials),
            })
        }
    }
}

/// A provider whose answers are cached until [`RENEW_MARGIN`] before their
/// expiry (for ever when they have none), fetched once however many
/// requests ask at the same moment. The catalog wraps every provider in
/// one (the chain's and the user's).
pub struct RefreshingProvider {
    tokens: TokenSource<ProviderGrant>,
    http: HttpClient,
}

impl fmt::Debug for RefreshingProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RefreshingProvider")
            .field("tokens", &self.tokens)
            .finish_non_exhaustive()
    }
}

impl RefreshingProvider {
    /// Wraps `provider`, renewing [`RENEW_MARGIN`] before expiry. `http`
    /// is the client the token machinery hands the grant (unused by it:
    /// the provider has its own).
    pub fn new(provider: Arc<dyn CredentialProvider>, http: HttpClient) -> Result<Self> {
        Self::with_margin(provider, http, RENEW_MARGIN)
    }

    /// Wraps `provider`, renewing `margin` before expiry.
    pub fn with_margin(
        provider: Arc<dyn CredentialProvider>,
        http: HttpClient,
        margin: Duration,
    ) -> Result<Self> {
        let tokens = TokenSource::new(
            BACKEND,
            "x-amz-security-token",
            None,
            Some(ProviderGrant(provider)),
            margin,
            "no credential provider",
        )?;
        Ok(RefreshingProvider { tokens, http })
    }
}

#[async_trait]
impl CredentialProvider for RefreshingProvider {
    async fn credentials(&self) -> Result<Credentials> {
        let token = self.tokens.current(&self.http).await?;
        token.extra().clone().ok_or_else(|| {
            Error::config(Some(BACKEND), "the credential cache holds no credentials")
        })
    }
}
