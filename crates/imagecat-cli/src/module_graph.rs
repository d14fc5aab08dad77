//! The CLI's modules form a tree, not a knot: the `use crate::…` (and
//! `super::…`, `self::…`) references between its files make a graph with
//! no cycle. Test modules (`tests.rs`, inline `mod tests`) are left out.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Every module of `src` (by file) and the modules its code refers to.
type Graph = BTreeMap<String, BTreeSet<String>>;

/// The module path of a file under `src`: `main.rs` is `crate`,
/// `cmd/mod.rs` is `cmd`, `cmd/list.rs` is `cmd::list`.
fn module_of(relative: &Path) -> String {
    let mut parts: Vec<String> = relative
        .iter()
        .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_owned())
        .collect();
    if parts.last().is_some_and(|p| p == "mod" || p == "main") {
        parts.pop();
    }
    if parts.is_empty() {
        "crate".to_owned()
    } else {
        parts.join("::")
    }
}

fn parent(module: &str) -> String {
    match module.rsplit_once("::") {
        Some((up, _)) => up.to_owned(),
        None => "crate".to_owned(),
    }
}

fn join(base: &str, name: &str) -> String {
    if base == "crate" {
        name.to_owned()
    } else {
        format!("{base}::{name}")
    }
}

/// Reads a path from `text` (after `crate::`, `super::`, `self::`): its
/// segments, and a `{…}` group's paths expanded; every path found is
/// pushed whole onto `out`, prefixed by `base`.
fn read_paths(text: &[u8], mut at: usize, base: &str, out: &mut Vec<String>) -> usize {
    let mut path = base.to_owned();
    loop {
        let start = at;
        while at < text.len() && (text[at].is_ascii_alphanumeric() || text[at] == b'_') {
            at += 1;
        }
        if at > start {
            let word = String::from_utf8_lossy(&text[start..at]);
            if word == "super" {
                path = parent(&path);
            } else if word != "self" {
                path = join(&path, &word);
            }
        } else if at < text.len() && text[at] == b'{' {
            at += 1;
            loop {
                while at < text.len() && (text[at].is_ascii_whitespace() || text[at] == b',') {
                    at += 1;
                }
                if at >= text.len() || text[at] == b'}' {
                    return at + 1;
                }
                at = read_paths(text, at, &path, out);
            }
        }
        if text[at..].starts_with(b"::") {
            at += 2;
        } else {
            out.push(path);
            return at;
        }
    }
}

/// The modules `module`'s code (`source`) refers to, as full paths.
fn references(module: &str, source: &str) -> Vec<String> {
    // Test modules are not part of the product's graph.
    let code = source.split("mod tests {").next().unwrap_or(source);
    let text = code.as_bytes();
    let mut out = Vec::new();
    for (keyword, base) in [
        ("crate::", "crate".to_owned()),
        ("super::", parent(module)),
        ("self::", module.to_owned()),
    ] {
        let mut from = 0;
        while let Some(found) = code[from..].find(keyword) {
            let at = from + found;
            let glued = at > 0 && (text[at - 1].is_ascii_alphanumeric() || text[at - 1] == b'_');
            from = at + keyword.len();
            if !glued {
                read_paths(text, from, &base, &mut out);
            }
        }
    }
    out
}

/// The graph of the files under `src`.
fn graph(src: &Path) -> Graph {
    let mut files = Vec::new();
    let mut dirs = vec![src.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    let modules: BTreeMap<String, String> = files
        .iter()
        .map(|f| {
            let relative = f.strip_prefix(src).unwrap();
            (module_of(relative), std::fs::read_to_string(f).unwrap())
        })
        .filter(|(m, _)| m != "module_graph" && !m.ends_with("tests"))
        .collect();
    let known: BTreeSet<String> = modules.keys().cloned().collect();
    modules
        .iter()
        .map(|(module, source)| (module.clone(), edges(&known, module, source)))
        .collect()
}

/// The modules of `known` that `module`'s code refers to: each path cut
/// to the longest known module it starts with (the root for the rest).
fn edges(known: &BTreeSet<String>, module: &str, source: &str) -> BTreeSet<String> {
    references(module, source)
        .into_iter()
        .map(|path| {
            let mut candidate = path.as_str();
            loop {
                if known.contains(candidate) {
                    return candidate.to_owned();
                }
                match candidate.rsplit_once("::") {
                    Some((up, _)) => candidate = up,
                    None => return "crate".to_owned(),
                }
            }
        })
        .filter(|to| to != module)
        .collect()
}

/// A cycle of `graph`, if it has one.
fn cycle(graph: &Graph) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &Graph,
        done: &mut BTreeSet<String>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = stack.iter().position(|n| n == node) {
            let mut found = stack[at..].to_vec();
            found.push(node.to_owned());
            return Some(found);
        }
        if done.contains(node) {
            return None;
        }
        stack.push(node.to_owned());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(found) = visit(next, graph, done, stack) {
                return Some(found);
            }
        }
        stack.pop();
        done.insert(node.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|node| visit(node, graph, &mut done, &mut Vec::new()))
}

#[test]
fn the_cli_modules_form_no_cycle() {
    let graph = graph(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"));
    let shown: Vec<String> = graph
        .iter()
        .map(|(m, to)| {
            format!(
                "{m} -> {}",
                to.iter().cloned().collect::<Vec<_>>().join(", ")
            )
        })
        .collect();
    let shown = shown.join("\n");
    // The reader sees the edges it must: a command uses the session and
    // the output; the arguments use only the output.
    assert!(graph["cmd::list"].contains("session"), "{shown}");
    assert!(graph["cmd::list"].contains("cmd::usage"), "{shown}");
    assert!(graph["output"].contains("output::tabular"), "{shown}");
    assert_eq!(
        graph["args"].iter().collect::<Vec<_>>(),
        ["output"],
        "{shown}"
    );
    assert_eq!(cycle(&graph), None, "{shown}");
}

#[test]
fn a_cycle_is_found_through_use_groups_and_super() {
    assert_eq!(
        references("a", "use crate::{b::{self, X}, c};"),
        ["b", "b::X", "c"]
    );
    let known: BTreeSet<String> = ["crate", "a", "b", "c"].map(str::to_owned).into();
    let mut graph = Graph::new();
    let mut add = |module: &str, source: &str| {
        graph.insert(module.to_owned(), edges(&known, module, source));
    };
    add("a", "use crate::{b::{self, X}, c};");
    add("b", "fn f() { super::a::g() }");
    add("c", "fn h() { crate::main_helper() }");
    assert_eq!(graph["a"], ["b", "c"].map(str::to_owned).into());
    assert_eq!(graph["c"], ["crate"].map(str::to_owned).into());
    assert_eq!(
        cycle(&graph),
        Some(["a", "b", "a"].map(str::to_owned).to_vec())
    );
    graph.insert("b".to_owned(), BTreeSet::new());
    assert_eq!(cycle(&graph), None);
}
