//! [`BuilderSettings`]: what every adapter's builder sets the same way (the
//! HTTP options and the pagination engine's options), and
//! [`builder_setters!`](crate::builder_setters), their setters written once.

use imagecat_core::PagingOptions;

use crate::HttpOptions;

/// The settings an adapter's builder shares with the others: embedded as a
/// field named `settings`, with its setters from
/// [`builder_setters!`](crate::builder_setters).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct BuilderSettings {
    /// Timeouts, retries, the body cap, `allow_http`.
    pub http: HttpOptions,
    /// Read-ahead depth and page ceiling of the pagination engine.
    pub paging: PagingOptions,
}

/// Writes the by-value setters every adapter's builder has over its
/// `settings: BuilderSettings` field: `http_options`, `paging_options` and
/// `open_options` (both from an [`OpenOptions`](crate::OpenOptions))
/// (the literal adds to the `http_options` doc what that backend does with
/// `allow_http`); with `, renew_margin` also `token_renew_margin` over its
/// `renew_margin: Duration` field. The builder's crate depends on
/// `imagecat_core`, as every adapter does.
///
/// ```ignore
/// imagecat_http::builder_setters!(DcmgrBuilder, "`allow_http` is ignored: the endpoint's scheme decides.");
/// ```
#[macro_export]
macro_rules! builder_setters {
    ($builder:ty, $http_doc:literal) => {
        impl $builder {
            /// HTTP options (timeouts, retries, body cap).
            #[doc = $http_doc]
            pub fn http_options(mut self, options: $crate::HttpOptions) -> Self {
                self.settings.http = options;
                self
            }

            /// Options of the pagination engine (read-ahead depth, page ceiling).
            pub fn paging_options(mut self, options: ::imagecat_core::PagingOptions) -> Self {
                self.settings.paging = options;
                self
            }

            /// The HTTP and paging options of an [`OpenOptions`]($crate::OpenOptions),
            /// where it sets them (the adapter's `from_url` applies its
            /// credentials itself).
            pub fn open_options(mut self, options: &$crate::OpenOptions) -> Self {
                if let Some(http) = &options.http {
                    self.settings.http = http.clone();
                }
                if let Some(paging) = options.paging {
                    self.settings.paging = paging;
                }
                self
            }
        }
    };
    ($builder:ty, $http_doc:literal, renew_margin) => {
        $crate::builder_setters!($builder, $http_doc);

        impl $builder {
            /// How long before its expiry an issued token is renewed (default 60 s).
            pub fn token_renew_margin(mut self, margin: ::std::time::Duration) -> Self {
                self.renew_margin = margin;
                self
            }
        }
    };
}
