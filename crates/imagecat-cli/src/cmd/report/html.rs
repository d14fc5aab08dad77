//! The report as one self-contained HTML page: inline CSS, CSS bars, no
//! script, no external asset (a Content-Security-Policy forbids them
//! besides), so it works offline and from a mail attachment.
//!
//! Every figure element carries `data-fig="PATH"` (the JSON path of the
//! figure in `report -o json`, e.g. `catalogs.0.usage.unknown.bytes`) and
//! `data-value` (its exact value), so a test or a scraper reads the page
//! as exactly as the JSON. Keys (status words, owners, image names) carry
//! `data-key="PATH"`. All server text goes through [`text`]: secrets
//! scrubbed, control characters shown escaped (`\x1b`), then HTML-escaped.

use std::fmt::Write as _;

use imagecat::report::{
    AgeTally, CatalogFigures, ImageBrief, Keyed, Report, RetentionFigures, Tally, UsageFigures,
};

use crate::cmd::golden::shown_catalog;
use crate::output::human_size;
use crate::sanitize::for_terminal;

/// The page's style: no external font or image.
const STYLE: &str = "
body{font:14px/1.4 system-ui,sans-serif;margin:2em auto;max-width:70em;color:#222;padding:0 1em}
h1{font-size:1.6em;margin-bottom:.2em}h2{border-bottom:2px solid #ccd;padding-bottom:.2em;margin-top:2em}
h3{margin:1.2em 0 .4em}.meta{color:#666}
table{border-collapse:collapse;margin:.4em 0}th,td{padding:.2em .7em;text-align:left;border-bottom:1px solid #eee;vertical-align:top}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.bar{display:inline-block;height:.9em;background:#4a7bd0;min-width:1px;vertical-align:middle}
.bar.in_use{background:#3a9a4a}.bar.not_in_use{background:#d08a2a}.bar.unknown{background:#999}
.error{color:#a00;font-weight:bold}.none{color:#888}
.cards{display:flex;flex-wrap:wrap;gap:1em}.card{border:1px solid #ccd;border-radius:6px;padding:.5em 1em;min-width:10em}
.card .big{font-size:1.5em;font-weight:bold}
pre{background:#f6f6f9;padding:.6em;white-space:pre-wrap;word-break:break-all}
td.barcell{width:16em}
.scroll{overflow-x:auto}table.golden td,table.golden th{border:1px solid #ddd}
.current{background:#e3f4e5}.stale{background:#fbe9d0}.missing{background:#f8d7d7}
.extra{background:#dde7f8}.unknown{background:#eee}.drift{background:#fbe9d0}.consistent{background:#e3f4e5}
td.cell .state{font-weight:bold}
";

/// `text` safe inside HTML: scrubbed and control characters escaped as
/// for the terminal, then `& < > " '` as entities (element text and
/// quoted attribute values alike).
pub(super) fn text(raw: &str) -> String {
    escape(&for_terminal(raw))
}

/// `& < > " '` as entities.
fn escape(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// One figure cell: the count or size shown, the exact value in
/// `data-value`.
fn fig(path: &str, value: u64, shown: &str) -> String {
    format!(
        "<td class=\"num\" data-fig=\"{}\" data-value=\"{value}\">{}</td>",
        escape(path),
        escape(shown)
    )
}

/// The three cells of a tally: images, bytes (human), size unknown.
fn tally_cells(path: &str, t: &Tally) -> String {
    format!(
        "{}{}{}",
        fig(&format!("{path}.images"), t.images, &t.images.to_string()),
        fig(&format!("{path}.bytes"), t.bytes, &human_size(t.bytes)),
        fig(
            &format!("{path}.size_unknown"),
            t.size_unknown,
            &t.size_unknown.to_string()
        ),
    )
}

/// A bar `part` of `whole` wide (CSS width in percent; numbers only).
fn bar(class: &str, part: u64, whole: u64) -> String {
    let pct = if whole == 0 {
        0.0
    } else {
        part as f64 * 100.0 / whole as f64
    };
    format!("<span class=\"bar {class}\" style=\"width:{pct:.1}%\"></span>")
}

/// The header of a tally table, after `first`.
fn tally_head(first: &str) -> String {
    format!(
        "<tr><th>{first}</th><th>images</th><th>size (known)</th><th>size unknown</th><th></th></tr>"
    )
}

/// The page.
pub(super) fn page(title: &str, report: &Report) -> String {
    let mut h = String::new();
    let title = text(title);
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>{title}</title><style>{STYLE}</style></head><body>\n<h1>{title}</h1>\n"
    );
    let _ = writeln!(
        h,
        "<p class=\"meta\">Generated <time data-generated=\"{at}\">{at}</time> over {n} catalog(s). \
Sizes count images whose size is known; the others are counted under \"size unknown\", never as zero. \
An image whose usage is unknown is never counted as unused. Nothing was deleted.</p>",
        at = report.generated_at.to_rfc3339(),
        n = report.catalogs.len()
    );
    policy(&mut h, report);
    totals(&mut h, report);
    golden(&mut h, report);
    for (i, c) in report.catalogs.iter().enumerate() {
        catalog(&mut h, i, c);
    }
    h.push_str("</body></html>\n");
    h
}

/// The policy planned, or that none was.
fn policy(h: &mut String, report: &Report) {
    match &report.policy {
        Some(p) => {
            let json = serde_json::to_string_pretty(p).unwrap_or_default();
            let _ = writeln!(
                h,
                "<details><summary>Retention policy (planned, dry run)</summary><pre data-policy>{}</pre></details>",
                text(&json).replace("\\n", "\n")
            );
        }
        None => h.push_str(
            "<p class=\"none\" data-policy=\"none\">No retention policy given (--policy FILE or the prune flags): no retention figures.</p>\n",
        ),
    }
}

/// The sums over every catalog.
fn totals(h: &mut String, report: &Report) {
    let t = &report.totals;
    h.push_str("<section id=\"totals\"><h2>All catalogs</h2>\n<div class=\"cards\">");
    card(h, "totals.total.images", "images", t.total.images, None);
    card(
        h,
        "totals.total.bytes",
        "size (known)",
        t.total.bytes,
        Some(human_size(t.total.bytes)),
    );
    card(
        h,
        "totals.total.size_unknown",
        "of unknown size",
        t.total.size_unknown,
        None,
    );
    h.push_str("</div>\n");
    usage(h, "totals.usage", &t.usage, t.total.images);
    if let Some(r) = &t.retention {
        retention(h, "totals.retention", r, false);
    }
    h.push_str("</section>\n");
}

/// A big figure.
fn card(h: &mut String, path: &str, label: &str, value: u64, shown: Option<String>) {
    let shown = shown.unwrap_or_else(|| value.to_string());
    let _ = write!(
        h,
        "<div class=\"card\"><div class=\"big\" data-fig=\"{}\" data-value=\"{value}\">{}</div>{}</div>",
        escape(path),
        escape(&shown),
        escape(label)
    );
}

/// The golden matrix: a family per row, a catalog per column, each cell
/// its state, newest image and build.
fn golden(h: &mut String, report: &Report) {
    let Some(m) = &report.golden else {
        h.push_str(
            "<section id=\"golden\" data-golden=\"absent\"><h2>Golden matrix</h2>\
<p class=\"none\">No golden matrix in this report.</p></section>\n",
        );
        return;
    };
    let c = m.counts();
    let _ = writeln!(
        h,
        "<section id=\"golden\" data-golden=\"{}\"><h2>Golden matrix</h2>\
<p class=\"meta\">Families by <code>{}</code>, builds by <code>{}</code>, over the active images of each catalog \
(as <code>imagecat golden</code> shows them). {} families: \
<span data-count=\"current\">{}</span> current, <span data-count=\"stale\">{}</span> stale, \
<span data-count=\"missing\">{}</span> missing, <span data-count=\"extra\">{}</span> extra, \
<span data-count=\"unknown\">{}</span> unknown cells.</p>",
        if m.is_consistent() {
            "consistent"
        } else {
            "drift"
        },
        text(&m.group.to_string()),
        text(&m.by.to_string()),
        m.families.len(),
        c.current,
        c.stale,
        c.missing,
        c.extra,
        c.unknown
    );
    if m.families.is_empty() {
        h.push_str("<p class=\"none\">No families.</p></section>\n");
        return;
    }
    h.push_str("<div class=\"scroll\"><table class=\"golden\"><tr><th>family</th><th>state</th>");
    for (j, cat) in m.catalogs.iter().enumerate() {
        let _ = write!(
            h,
            "<th><span title=\"{full}\" data-key=\"golden.catalogs.{j}.name\" data-value=\"{full}\">{}</span></th>",
            text(&shown_catalog(&cat.name)),
            full = text(&cat.name)
        );
    }
    h.push_str("</tr>\n");
    for (f, family) in m.families.iter().enumerate() {
        let p = format!("golden.families.{f}");
        let _ = write!(
            h,
            "<tr><th><span data-key=\"{p}.family\">{}</span></th>\
<td class=\"{state}\"><span data-key=\"{p}.state\">{state}</span></td>",
            text(&family.family),
            state = family.state.as_str()
        );
        for (j, cell) in family.cells.iter().enumerate() {
            let cp = format!("{p}.cells.{j}");
            let state = cell.state.as_str();
            let _ = write!(
                h,
                "<td class=\"cell {state}\"><span class=\"state\" data-key=\"{cp}.state\">{state}</span>"
            );
            if let Some(image) = &cell.image {
                if let Some(name) = &image.name {
                    let _ = write!(
                        h,
                        "<br><span data-key=\"{cp}.image.name\">{}</span>",
                        text(name)
                    );
                }
                if let Some(build) = &image.build {
                    let _ = write!(
                        h,
                        "<br><small>build <span data-key=\"{cp}.image.build\">{}</span></small>",
                        text(build)
                    );
                }
            }
            h.push_str("</td>");
        }
        h.push_str("</tr>\n");
    }
    h.push_str("</table></div></section>\n");
}

/// One catalog's section.
fn catalog(h: &mut String, i: usize, c: &CatalogFigures) {
    let p = format!("catalogs.{i}");
    let _ = writeln!(
        h,
        "<section class=\"catalog\" id=\"catalog-{i}\"><h2><span title=\"{full}\" data-key=\"{p}.catalog\" data-value=\"{full}\">{}</span> \
<small class=\"meta\" data-key=\"{p}.backend\">{}</small></h2>",
        text(&shown_catalog(&c.catalog)),
        text(c.backend.as_str()),
        full = text(&c.catalog),
    );
    if let Some(e) = &c.error {
        let _ = writeln!(
            h,
            "<p class=\"error\" data-key=\"{p}.error\">{}</p>",
            text(e)
        );
    }
    h.push_str("<div class=\"cards\">");
    card(
        h,
        &format!("{p}.total.images"),
        "images",
        c.total.images,
        None,
    );
    card(
        h,
        &format!("{p}.total.bytes"),
        "size (known)",
        c.total.bytes,
        Some(human_size(c.total.bytes)),
    );
    card(
        h,
        &format!("{p}.total.size_unknown"),
        "of unknown size",
        c.total.size_unknown,
        None,
    );
    h.push_str("</div>\n");
    usage(h, &format!("{p}.usage"), &c.usage, c.total.images);
    keyed(
        h,
        &format!("{p}.by_status"),
        "By status",
        "status",
        &c.by_status,
        c.total.images,
        "",
    );
    keyed(
        h,
        &format!("{p}.by_owner"),
        "By owner",
        "owner",
        &c.by_owner,
        c.total.images,
        "(no owner)",
    );
    age(h, &format!("{p}.age"), &c.age, c.total.images);
    match &c.retention {
        Some(r) => retention(h, &format!("{p}.retention"), r, true),
        None => h.push_str("<h3>Retention</h3><p class=\"none\">No retention figures.</p>\n"),
    }
    h.push_str("</section>\n");
}

/// In use / not in use / unknown, with bars.
fn usage(h: &mut String, path: &str, u: &UsageFigures, whole: u64) {
    h.push_str("<h3>Usage</h3><table class=\"usage\">");
    h.push_str(&tally_head("usage"));
    for (key, label, t) in [
        ("in_use", "in use", &u.in_use),
        ("not_in_use", "not in use", &u.not_in_use),
        ("unknown", "unknown (never counted as unused)", &u.unknown),
    ] {
        let _ = write!(
            h,
            "<tr><th>{label}</th>{}<td class=\"barcell\">{}</td></tr>",
            tally_cells(&format!("{path}.{key}"), t),
            bar(key, t.images, whole)
        );
    }
    h.push_str("</table>\n");
}

/// A table of keyed tallies (statuses, owners).
fn keyed(
    h: &mut String,
    path: &str,
    title: &str,
    what: &str,
    rows: &[Keyed],
    whole: u64,
    none: &str,
) {
    let _ = write!(
        h,
        "<h3>{title}</h3><table class=\"keyed\">{}",
        tally_head(what)
    );
    for (j, k) in rows.iter().enumerate() {
        let key = match &k.key {
            Some(key) => text(key),
            None => format!("<span class=\"none\">{}</span>", escape(none)),
        };
        let _ = write!(
            h,
            "<tr><td data-key=\"{path}.{j}.key\">{key}</td>{}<td class=\"barcell\">{}</td></tr>",
            tally_cells(&format!("{path}.{j}"), &k.tally),
            bar("", k.tally.images, whole)
        );
    }
    if rows.is_empty() {
        h.push_str("<tr><td colspan=\"5\" class=\"none\">no images</td></tr>");
    }
    h.push_str("</table>\n");
}

/// The age histogram, one bar per bucket.
fn age(h: &mut String, path: &str, rows: &[AgeTally], whole: u64) {
    let _ = write!(
        h,
        "<h3>Age (by created time)</h3><table class=\"hist\">{}",
        tally_head("age")
    );
    for (j, a) in rows.iter().enumerate() {
        let _ = write!(
            h,
            "<tr><td data-key=\"{path}.{j}.bucket\" data-value=\"{}\">{}</td>{}<td class=\"barcell\">{}</td></tr>",
            a.bucket.as_str(),
            escape(a.bucket.label()),
            tally_cells(&format!("{path}.{j}"), &a.tally),
            bar("", a.tally.images, whole)
        );
    }
    h.push_str("</table>\n");
}

/// What the policy would free.
fn retention(h: &mut String, path: &str, r: &RetentionFigures, name_images: bool) {
    h.push_str("<h3>Retention (dry run: nothing deleted)</h3><table class=\"retention\">");
    h.push_str(&tally_head(""));
    let whole = r.deletes.images + r.kept.images;
    for (key, label, t) in [
        ("deletes", "would delete (frees the known size)", &r.deletes),
        ("kept", "kept", &r.kept),
        (
            "kept_usage_unknown",
            "kept because usage is unknown",
            &r.kept_usage_unknown,
        ),
    ] {
        let _ = write!(
            h,
            "<tr><th>{label}</th>{}<td class=\"barcell\">{}</td></tr>",
            tally_cells(&format!("{path}.{key}"), t),
            bar("", t.images, whole)
        );
    }
    h.push_str("</table>\n");
    if name_images && !r.largest_deletes.is_empty() {
        h.push_str(
            "<h3>Largest planned deletes</h3><table class=\"deletes\"><tr><th>id</th><th>name</th><th>size</th></tr>",
        );
        for (j, b) in r.largest_deletes.iter().enumerate() {
            brief(h, &format!("{path}.largest_deletes.{j}"), b);
        }
        h.push_str("</table>\n");
    }
}

/// One named image.
fn brief(h: &mut String, path: &str, b: &ImageBrief) {
    let name = match &b.name {
        Some(n) => text(n),
        None => "<span class=\"none\">-</span>".to_owned(),
    };
    let size = match b.size_bytes {
        Some(s) => fig(&format!("{path}.size_bytes"), s, &human_size(s)),
        None => format!(
            "<td class=\"num none\" data-fig=\"{}.size_bytes\" data-value=\"\">unknown</td>",
            escape(path)
        ),
    };
    let _ = write!(
        h,
        "<tr><td data-key=\"{path}.id\">{}</td><td data-key=\"{path}.name\">{name}</td>{size}</tr>",
        text(b.id.as_str())
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_text_is_escaped_for_html_and_the_terminal() {
        let shown = text("\"><img src=x onerror=alert(1)><script>x</script>\u{1b}[31m&");
        assert_eq!(
            shown,
            "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;&lt;script&gt;x&lt;/script&gt;\\x1b[31m&amp;"
        );
    }
}
