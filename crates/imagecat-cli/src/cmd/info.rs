//! `imagecat info`: each catalog's backend, endpoint (no secrets),
//! caller (the account or project the credentials act as, when the backend
//! says: EC2's STS `GetCallerIdentity`, a Keystone token's project, …) and
//! capabilities.

use std::io;

use clap::Args;
use imagecat::{CatalogInfo, ImageCatalog};
use serde::Serialize;

use crate::exit::CliError;
use crate::output::{Column, EmptyTable, Style, Tabular, emit};
use crate::sanitize::{SHOW_VALUE_WIDTH, for_terminal};
use crate::session::Session;

/// Arguments of `info` (none).
#[derive(Debug, Args)]
pub(crate) struct InfoArgs {}

/// One catalog's description as printed.
#[derive(Debug, Serialize)]
struct InfoRow {
    catalog: String,
    /// Who the credentials act as; `None` when the backend does not say or
    /// could not be asked (then stderr says why).
    caller: Option<String>,
    #[serde(flatten)]
    info: CatalogInfo,
}

/// A serde enum's word (`marker`, `native`).
fn word(value: impl Serialize) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

impl Tabular for InfoRow {
    type Line = InfoRow;
    const COLUMNS: &'static [Column<InfoRow>] = &[
        Column::new("catalog", "CATALOG", |r| r.catalog.clone()),
        Column::new("backend", "BACKEND", |r| r.info.backend.to_string()),
        Column::new("endpoint", "ENDPOINT", |r| r.info.endpoint.clone()),
        Column::new("caller", "CALLER", |r| r.caller.clone().unwrap_or_default()),
        Column::new("capabilities", "CAPABILITIES", |r| {
            let c = &r.info.capabilities;
            format!(
                "paging={} page_size={}..{} total={} get={} delete={} soft_delete={} retire={}",
                word(c.paging),
                c.default_page_size,
                c.max_page_size,
                c.reports_total,
                word(c.get),
                c.delete,
                c.soft_delete,
                c.retire
                    .and_then(|r| r.methods.first())
                    .map_or("no", |m| m.name)
            )
        }),
    ];
    const STYLE: Style = Style {
        cell_width: SHOW_VALUE_WIDTH,
        empty_table: EmptyTable::Header,
        ..Style::of("info")
    };
    fn each_line(&self, each: &mut dyn FnMut(&InfoRow)) {
        each(self);
    }
}

/// `info`.
pub(crate) async fn run(session: &Session, _args: InfoArgs) -> Result<(), CliError> {
    session.check::<InfoRow>()?;
    let ctx = session.open().await?;
    let mut rows = Vec::new();
    for n in &ctx.catalogs {
        // Asking may need the network (STS, a token): a failure is said on
        // stderr and leaves the cell empty, the rest of the row stands.
        let caller = match n.catalog.caller().await {
            Ok(caller) => caller,
            Err(e) => {
                eprintln!(
                    "{}: cannot tell who you are: {}",
                    for_terminal(&n.name),
                    for_terminal(&e.to_string())
                );
                None
            }
        };
        rows.push(InfoRow {
            catalog: n.name.clone(),
            caller,
            info: n.catalog.info(),
        });
    }
    emit(&mut io::stdout().lock(), &ctx.view, rows)
}
