//! The output layer: images in every format, and a second kind of row
//! (with a line per element and a column shown only when some line has
//! it) through the same emitter.

use imagecat::{BackendKind, ImageStatus};
use serde::Serialize;

use super::*;

fn row(id: &str, catalog: Option<&str>) -> Row {
    let image = imagecat::Image::new(id, BackendKind::Memory, ImageStatus::Active, "active")
        .with_name("이미지-1")
        .with_size_bytes(1536);
    Row::new(image, catalog.map(str::to_owned), false)
}

fn render<T: Tabular>(view: &View, rows: Vec<T>) -> Result<String, CliError> {
    let mut out = Vec::new();
    emit(&mut out, view, rows)?;
    Ok(String::from_utf8(out).unwrap())
}

fn images(format: Format, rows: Vec<Row>, several: bool) -> String {
    render(&View::new(format, several), rows).unwrap()
}

#[test]
fn json_is_one_array_with_nulls() {
    let text = images(Format::Json, vec![row("a", None), row("b", None)], false);
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 2);
    assert!(v[0]["owner"].is_null());
    assert!(v[0].get("catalog").is_none());
    assert!(v[0].get("native").is_none());
    let empty: serde_json::Value =
        serde_json::from_str(&images(Format::Json, vec![], false)).unwrap();
    assert_eq!(empty, serde_json::json!([]));
}

#[test]
fn csv_has_a_header_and_catalog_column() {
    let text = images(Format::Csv, vec![row("a", Some("lab"))], true);
    let mut lines = text.lines();
    assert!(lines.next().unwrap().starts_with("id,name,status"));
    assert!(lines.next().unwrap().ends_with(",lab"));
}

#[test]
fn table_aligns_wide_names() {
    let mut ascii = row("b", None);
    ascii.image.name = Some("plain".into());
    let text = images(Format::Table, vec![row("a", None), ascii], false);
    assert!(text.starts_with("ID"));
    assert!(text.contains("1.5 KiB"));
    // The STATUS column starts at the same terminal column on every
    // line, counting the Korean name two columns a character.
    let starts: Vec<usize> = text
        .lines()
        .map(|line| {
            let at = line.find("STATUS").or_else(|| line.find("active")).unwrap();
            unicode_width::UnicodeWidthStr::width(&line[..at])
        })
        .collect();
    assert_eq!(starts.len(), 3);
    assert!(starts.iter().all(|&s| s == starts[0]), "{text}");
}

#[test]
fn value_and_safe_csv() {
    let mut r = row("a", None);
    r.image.name = Some("=HYPERLINK(\"x\")\nsecond".into());
    let asked = ["id".to_owned(), "name".to_owned()];
    let view = View::new(Format::Value, false).with_columns(&asked);
    let mut out = Vec::new();
    emit_one(&mut out, &view, r).unwrap();
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "a =HYPERLINK(\"x\")\\nsecond\n"
    );
    let mut r = row("a", None);
    r.image.name = Some("=1+1".into());
    let view = View::new(Format::Csv, false)
        .with_columns(&asked)
        .csv_safe(true);
    let mut out = Vec::new();
    emit_one(&mut out, &view, r).unwrap();
    assert_eq!(String::from_utf8(out).unwrap(), "id,name\na,'=1+1\n");
}

/// A second kind of row: a shelf of books, a table line per book.
#[derive(Debug, Serialize)]
struct Shelf {
    shelf: String,
    books: Vec<Book>,
}

#[derive(Debug, Clone, Serialize)]
struct Book {
    shelf: String,
    title: String,
    lent: Option<String>,
}

impl Tabular for Shelf {
    type Line = Book;
    const COLUMNS: &'static [Column<Book>] = &[
        Column::new("shelf", "SHELF", |b| b.shelf.clone()),
        Column::new("title", "TITLE", |b| b.title.clone()),
        Column {
            shown: Shown::IfAny(|b| b.lent.is_some()),
            ..Column::new("lent", "LENT TO", |b| b.lent.clone().unwrap_or_default())
        },
    ];
    const STYLE: Style = Style {
        empty_table: EmptyTable::Say("no books"),
        ..Style::of("shelves")
    };
    fn each_line(&self, each: &mut dyn FnMut(&Book)) {
        self.books.iter().for_each(each);
    }
}

fn shelf(name: &str, titles: &[(&str, Option<&str>)]) -> Shelf {
    Shelf {
        shelf: name.to_owned(),
        books: titles
            .iter()
            .map(|(t, lent)| Book {
                shelf: name.to_owned(),
                title: (*t).to_owned(),
                lent: lent.map(str::to_owned),
            })
            .collect(),
    }
}

#[test]
fn json_of_other_rows_is_serde_json_s_pretty_array() {
    let rows = || vec![shelf("a", &[("x", None)]), shelf("b", &[])];
    let text = render(&View::new(Format::Json, false), rows()).unwrap();
    assert_eq!(
        text,
        serde_json::to_string_pretty(&rows()).unwrap() + "\n",
        "the streamed array is byte for byte serde_json's"
    );
    let none: Vec<Shelf> = Vec::new();
    assert_eq!(
        render(&View::new(Format::Json, false), none).unwrap(),
        "[]\n"
    );
}

#[test]
fn lines_columns_and_empty_tables_of_other_rows() {
    let view = View::new(Format::Table, false);
    let quiet = render(&view, vec![shelf("a", &[("x", None), ("y\x1b", None)])]).unwrap();
    assert_eq!(quiet, "SHELF  TITLE\na      x\na      y\\x1b\n");
    let lent = render(
        &view,
        vec![
            shelf("a", &[("x", None)]),
            shelf("b", &[("z", Some("kim"))]),
        ],
    )
    .unwrap();
    assert_eq!(
        lent.lines().next(),
        Some("SHELF  TITLE  LENT TO"),
        "a column shown when some line has it:\n{lent}"
    );
    assert_eq!(render(&view, vec![shelf("a", &[])]).unwrap(), "no books\n");
    let csv = View::new(Format::Csv, false)
        .with_columns(&["title".to_owned(), "LENT_TO".to_owned()])
        .csv_safe(true);
    assert_eq!(
        render(&csv, vec![shelf("a", &[("=x", Some("-k"))])]).unwrap(),
        "TITLE,LENT TO\n'=x,'-k\n"
    );
    let bad = View::new(Format::Value, false).with_columns(&["name".to_owned()]);
    let error = render(&bad, vec![shelf("a", &[])]).unwrap_err();
    assert_eq!(error.code(), crate::exit::ExitCode::Usage);
    assert!(
        format!("{error:?}").contains("shelf, title, lent"),
        "{error:?}"
    );
}
