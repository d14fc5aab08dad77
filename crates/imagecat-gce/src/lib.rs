//! Google Compute Engine images backend of imagecat: groundwork for
//! issue 25, not wired into the facade or the CLI yet.
//!
//! The API: `GET {base}/projects/{project}/global/images?maxResults={n}&pageToken={t}`
//! (`compute#imageList`, paged by the opaque `nextPageToken`), `images.get`,
//! `getFromFamily` and `images.delete` (an Operation), with an OAuth2 bearer
//! token. What exists so far, laid out as the request flows:
//!
//! - `config`: [`BACKEND`], [`SCHEMES`], the page sizes, the environment
//!   names and [`GceTarget`] (the `gce://PROJECT` and
//!   `gce+http://HOST:PORT?project=P` URLs);
//! - `auth`: the credentials files ([`CredentialsFile`]: a service-account
//!   key, whose RS256-signed JWT assertion is exchanged, or an authorized
//!   user's refresh token), the metadata server and the token answer
//!   ([`TokenAnswer`]), as grants of the shared `TokenSource`;
//! - `wire`: the image list and image documents into the model
//!   ([`decode_page_body`], [`unified_status`]);
//! - `error`: Google's JSON error document to imagecat errors
//!   ([`decode_error`]);
//! - `config` also holds [`GceBuilder`] (project, endpoint, credentials:
//!   a static access token, a service-account key file or the metadata
//!   server) and `source` [`GceSource`] / [`GceCatalog`] (list, get,
//!   delete through the Operation);
//! - `retire`: retire by `deprecate` (`OBSOLETE` or `DEPRECATED`, the
//!   family's newest as replacement) with the retired-at time in the label
//!   [`RETIRED_AT_LABEL`]; restore by `deprecate` `ACTIVE`;
//! - image references: [`imagecat_core::IdRule::GcePath`] in the core, and
//!   [`qualify_reference`] for the project-relative forms.

mod auth;
mod config;
mod error;
mod identity;
mod instances;
mod query;
mod retire;
mod source;
mod wire;

pub use auth::{
    AccessToken, AuthorizedUser, AuthorizedUserGrant, COMPUTE_READONLY_SCOPE, COMPUTE_SCOPE,
    CredentialsFile, GOOGLE_TOKEN_URL, GceGrant, JWT_BEARER_GRANT, METADATA_FLAVOR,
    METADATA_TOKEN_URL, MetadataGrant, ServiceAccountGrant, ServiceAccountKey, TOKEN_HEADER,
    TokenAnswer, token_request_body,
};
pub use config::{
    ADC_FILE_NAME, BACKEND, DEFAULT_ENDPOINT, DEFAULT_OPERATION_POLLS, DEFAULT_PAGE_SIZE,
    DEFAULT_RENEW_MARGIN, ENV_ACCESS_TOKEN, ENV_APPLICATION_CREDENTIALS, ENV_CLOUDSDK_CONFIG,
    ENV_METADATA_HOST, GceBuilder, GceTarget, MAX_PAGE_SIZE, PUBLIC_IMAGE_PROJECTS, SCHEMES,
};
pub use error::decode_error;
pub use identity::{ImageReference, qualify_reference};
pub use retire::RETIRED_AT_LABEL;
pub use source::{GceCatalog, GceSource, is_resource_name};
pub use wire::{MAX_BODY_BYTES, unified_status};

/// Decodes the body of a list answer (`compute#imageList`) into the page
/// exactly as the catalog will make it: the images in the server's order
/// and the next page's token ([`imagecat_core::raw::PageToken::Link`]
/// holding `nextPageToken`), errors included. The same entry point in every
/// adapter; GCE's pages do not depend on the token asked for, but an offset
/// or marker token is refused (GCE pages by its own token only).
pub fn decode_page_body(
    body: &[u8],
    token: Option<imagecat_core::raw::PageToken>,
) -> imagecat_core::Result<imagecat_core::raw::Page> {
    use imagecat_core::raw::PageToken;
    if let Some(other @ (PageToken::Offset(_) | PageToken::Marker(_))) = token {
        return Err(imagecat_core::Error::invalid_input(
            BACKEND,
            format!("unsupported page token {other}: GCE pages by nextPageToken"),
        ));
    }
    let response = imagecat_http::HttpResponse::from_body(BACKEND, 200, body.to_vec());
    wire::decode_list(&response, None)
}

/// Decodes the body of an `images.get` answer into the model.
pub fn decode_image_body(body: &[u8]) -> imagecat_core::Result<imagecat_core::Image> {
    let response = imagecat_http::HttpResponse::from_body(BACKEND, 200, body.to_vec());
    wire::decode_show(&response, None)
}
