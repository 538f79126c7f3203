//! Keeps the layering of `src/` true: reads every source file and fails when a module imports
//! a module of a higher layer, when a lower layer reaches a name through the crate root's
//! re-exports, or when the two halves of a handshake side import each other. The layers here
//! are the ones the crate's `architecture` docs describe; change both together.
//!
//! Every path starting with `crate::`, `super::` or `self::` is read, in `use` items and in
//! code alike, with its `{…}` groups expanded and `super`/`self` resolved from the file's own
//! module path, so `use super::{psk, tls12::State}` counts as naming `tls12`.
//!
//! Unit tests may import anything: they are not part of the library, so an inline
//! `#[cfg(test)] mod name { … }` block (brace-matched) and a file declared by
//! `#[cfg(test)] mod name;` are not checked. Everything else in a file is, including what
//! follows a test module.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

/// The top-level modules, bottom layer first. A module may import its own layer and any
/// layer below it.
const LAYERS: &[(&str, &[&str])] = &[
    (
        "primitives",
        &["alert", "time", "keylog", "codec", "crypto", "suites"],
    ),
    ("protocol data", &["kdf", "msgs", "record"]),
    (
        "resumption state",
        &["session", "store", "ticket", "antireplay", "verify"],
    ),
    ("handshake support", &["config", "conn"]),
    ("handshake", &["client", "server"]),
    ("integrations", &["rustls_adapter", "fleet", "fuzzing"]),
];

/// `error` holds the one error type: every layer may import it, so it sits beside the
/// layers rather than in one. It names the errors of the layers up to this one, and no
/// higher: the handshake's own failures are its variants, not imported types.
const BESIDE_THE_LAYERS: &str = "error";
const ERROR_REACHES_UP_TO: &str = "resumption state";

/// Pairs in the same layer that must still not import each other (either way).
const SEPARATE: &[(&str, &str)] = &[("client", "server")];

/// Inside each side, the version halves stay apart, and the version-neutral hello below
/// both imports neither: (side, importer, module it must not name).
const HALVES: &[(&str, &str, &str)] = &[
    ("client", "tls12", "tls13"),
    ("client", "tls13", "tls12"),
    ("client", "hello", "tls12"),
    ("client", "hello", "tls13"),
    ("server", "tls12", "tls13"),
    ("server", "tls13", "tls12"),
    ("server", "hello", "tls12"),
    ("server", "hello", "tls13"),
    ("server", "psk", "tls12"),
    ("server", "psk", "tls13"),
    ("server", "retry", "tls12"),
    ("server", "retry", "tls13"),
];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|(_, ms)| ms.contains(&module))
}

fn layer_named(name: &str) -> usize {
    LAYERS.iter().position(|(n, _)| *n == name).unwrap()
}

fn source_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            source_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `text` with comments removed and the contents of string and character literals blanked,
/// so neither a `//` inside a string nor a path inside a comment or string is misread.
fn strip_comments_and_literals(text: &str) -> String {
    let c: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < c.len() {
        let at = |j: usize| c.get(j).copied();
        if c[i] == '/' && at(i + 1) == Some('/') {
            while i < c.len() && c[i] != '\n' {
                i += 1;
            }
        } else if c[i] == '/' && at(i + 1) == Some('*') {
            let mut depth = 0;
            while i < c.len() {
                if c[i] == '/' && at(i + 1) == Some('*') {
                    depth += 1;
                    i += 2;
                } else if c[i] == '*' && at(i + 1) == Some('/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
            out.push(' ');
        } else if c[i] == 'r'
            && (i == 0
                || !is_ident_char(c[i - 1])
                || c[i - 1] == 'b' && (i == 1 || !is_ident_char(c[i - 2])))
            && (at(i + 1) == Some('"') || at(i + 1) == Some('#') && at(i + 2) != Some('['))
        {
            // A raw string r"…" or r#"…"#.
            let mut j = i + 1;
            while c.get(j) == Some(&'#') {
                j += 1;
            }
            if c.get(j) != Some(&'"') {
                out.push(c[i]);
                i += 1;
                continue;
            }
            let hashes = j - i - 1;
            j += 1;
            while j < c.len() && !(c[j] == '"' && (1..=hashes).all(|h| c.get(j + h) == Some(&'#')))
            {
                j += 1;
            }
            out.push_str("\"\"");
            i = j + 1 + hashes;
        } else if c[i] == '"' {
            i += 1;
            while i < c.len() && c[i] != '"' {
                i += if c[i] == '\\' { 2 } else { 1 };
            }
            out.push_str("\"\"");
            i += 1;
        } else if c[i] == '\'' && (at(i + 1) == Some('\\') || at(i + 2) == Some('\'')) {
            // A character literal ('x', '\n', '\u{..}'), not a lifetime.
            i += 2;
            while i < c.len() && c[i] != '\'' {
                i += 1;
            }
            out.push_str("' '");
            i += 1;
        } else {
            out.push(c[i]);
            i += 1;
        }
    }
    out
}

/// What a file holds once its test modules are taken out: the code to check, and the
/// names of the child modules it declares test-only (`#[cfg(test)] mod name;`).
struct Code {
    text: String,
    test_children: Vec<String>,
}

/// The code of a file without comments and without its test modules. Each `#[cfg(test)]`
/// is looked at where it stands: followed by `mod name { … }` the brace-matched block is
/// dropped, followed by `mod name;` the declaration is dropped and `name` recorded; any
/// other `#[cfg(test)]` item stays and is checked.
fn code_of(text: &str) -> Code {
    let text = strip_comments_and_literals(text);
    let mut code = String::new();
    let mut test_children = Vec::new();
    let mut rest = text.as_str();
    while let Some(at) = rest.find("#[cfg(test)]") {
        let after = &rest[at + "#[cfg(test)]".len()..];
        match test_module(after) {
            Some((name, len)) => {
                code.push_str(&rest[..at]);
                if after[..len].trim_end().ends_with(';') {
                    test_children.push(name);
                }
                rest = &after[len..];
            }
            None => {
                code.push_str(&rest[..at + "#[cfg(test)]".len()]);
                rest = after;
            }
        }
    }
    code.push_str(rest);
    Code {
        text: code,
        test_children,
    }
}

/// If `after` (the text following a `#[cfg(test)]`) starts with a module, its name and the
/// length of the module item in bytes: through its matching `}` or its `;`.
fn test_module(after: &str) -> Option<(String, usize)> {
    let mut s = after.trim_start();
    while s.starts_with("#[") {
        s = s[s.find(']')? + 1..].trim_start();
    }
    for vis in ["pub(crate)", "pub(super)", "pub"] {
        if let Some(r) = s.strip_prefix(vis) {
            s = r.trim_start();
            break;
        }
    }
    let s = s.strip_prefix("mod")?;
    if !s.starts_with(char::is_whitespace) {
        return None;
    }
    let s = s.trim_start();
    let name: String = s
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    let s = s[name.len()..].trim_start();
    let start = after.len() - s.len();
    if s.starts_with(';') {
        return Some((name, start + 1));
    }
    if !s.starts_with('{') {
        return None;
    }
    let mut depth = 0usize;
    for (i, ch) in s.char_indices() {
        match ch {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return Some((name, start + i + 1));
                }
            }
            _ => {}
        }
    }
    Some((name, after.len()))
}

fn is_ident_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// The tokens that matter for paths: identifiers, `::`, and single punctuation characters.
fn tokens(code: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut i = 0;
    let b = code.as_bytes();
    while i < b.len() {
        let ch = b[i];
        if ch.is_ascii_whitespace() {
            i += 1;
        } else if ch.is_ascii_alphanumeric() || ch == b'_' {
            let start = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
            out.push(&code[start..i]);
        } else if code[i..].starts_with("::") {
            out.push("::");
            i += 2;
        } else {
            let len = code[i..].chars().next().unwrap().len_utf8();
            out.push(&code[i..i + len]);
            i += len;
        }
    }
    out
}

fn is_ident(t: &str) -> bool {
    t.starts_with(|c: char| c.is_alphanumeric() || c == '_')
}

/// Reads one use-tree (or the path of an expression) at `t[p..]` below `prefix`, pushing
/// every path it names into `out` with its groups expanded; returns where it ended.
fn use_tree(
    t: &[&str],
    mut p: usize,
    prefix: &mut Vec<String>,
    out: &mut Vec<Vec<String>>,
) -> usize {
    match t.get(p) {
        Some(&"{") => {
            p += 1;
            while p < t.len() && t[p] != "}" {
                let before = p;
                p = use_tree(t, p, &mut prefix.clone(), out);
                // Past the comma, or past a token no tree starts with.
                if t.get(p) == Some(&",") || p == before {
                    p += 1;
                }
            }
            p + 1
        }
        Some(&"*") => {
            prefix.push("*".to_owned());
            out.push(prefix.clone());
            p + 1
        }
        Some(id) if is_ident(id) => {
            prefix.push((*id).to_owned());
            p += 1;
            if t.get(p) == Some(&"as") {
                p += 2;
            }
            if t.get(p) == Some(&"::") {
                return use_tree(t, p + 1, prefix, out);
            }
            out.push(prefix.clone());
            p
        }
        _ => {
            out.push(prefix.clone());
            p
        }
    }
}

/// Every path in `code` that starts with `crate`, `super` or `self`, groups expanded,
/// resolved to a path from the crate root as seen from the module at `module_path`.
/// A path climbing above the crate root is returned as `Err`.
fn resolved_paths(code: &str, module_path: &[String]) -> Vec<Result<Vec<String>, String>> {
    let t = tokens(code);
    let mut out = Vec::new();
    let mut p = 0;
    while p < t.len() {
        let starts = matches!(t[p], "crate" | "super" | "self")
            && t.get(p + 1) == Some(&"::")
            && (p == 0 || t[p - 1] != "::");
        if !starts {
            p += 1;
            continue;
        }
        let mut raw = Vec::new();
        p = use_tree(&t, p, &mut Vec::new(), &mut raw);
        out.extend(raw.into_iter().map(|path| resolve(&path, module_path)));
    }
    out
}

fn resolve(path: &[String], module_path: &[String]) -> Result<Vec<String>, String> {
    let mut base: Vec<String> = match path[0].as_str() {
        "crate" => Vec::new(),
        _ => module_path.to_vec(),
    };
    let mut rest = path;
    if rest[0] == "crate" || rest[0] == "self" {
        rest = &rest[1..];
    }
    while rest.first().is_some_and(|s| s == "super") {
        if base.pop().is_none() {
            return Err(path.join("::"));
        }
        rest = &rest[1..];
    }
    base.extend(rest.iter().filter(|s| *s != "self").cloned());
    Ok(base)
}

/// The module path of a file below `src`: `a.rs` and `a/mod.rs` are `a`, `a/b.rs` is `a::b`.
fn module_path_of(src: &Path, path: &Path) -> Vec<String> {
    let rel = path.strip_prefix(src).unwrap().with_extension("");
    let mut parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_str().unwrap().to_owned())
        .collect();
    if parts.last().is_some_and(|p| p == "mod" || p == "lib") {
        parts.pop();
    }
    parts
}

/// What is wrong with the code of the module at `module_path` (`["server", "tls13"]`).
fn violations(module_path: &[String], code: &str) -> Vec<String> {
    let module = module_path[0].as_str();
    let own = layer_of(module);
    if own.is_none() && module != BESIDE_THE_LAYERS {
        return vec![format!("module `{module}` is in no layer")];
    }
    let mut broken = Vec::new();
    for path in resolved_paths(code, module_path) {
        let path = match path {
            Ok(path) => path,
            Err(path) => {
                broken.push(format!("`{path}` climbs above the crate root"));
                continue;
            }
        };
        let shown = format!("crate::{}", path.join("::"));
        let target = path.first().map_or("", String::as_str);
        if target == module || target == BESIDE_THE_LAYERS {
            check_halves(module_path, &path, &shown, &mut broken);
            continue;
        }
        if target.is_empty() || target == "*" || target.starts_with(char::is_uppercase) {
            // A name re-exported at the crate root: only the integrations use those.
            if own.is_none_or(|l| LAYERS[l].0 != "integrations") {
                broken.push(format!("`{shown}` through the crate root"));
            }
            continue;
        }
        let Some(theirs) = layer_of(target) else {
            broken.push(format!("`{shown}` is in no layer"));
            continue;
        };
        let (own, own_name) = match own {
            Some(l) => (l, LAYERS[l].0),
            None => (layer_named(ERROR_REACHES_UP_TO), "beside the layers"),
        };
        if theirs > own {
            broken.push(format!(
                "`{module}` ({own_name}) imports `{target}` ({}): `{shown}`",
                LAYERS[theirs].0
            ));
        }
        if SEPARATE
            .iter()
            .any(|&(a, b)| (a, b) == (module, target) || (b, a) == (module, target))
        {
            broken.push(format!("`{module}` imports `{target}` (`{shown}`)"));
        }
    }
    broken
}

/// A path inside the importer's own side: it must not name the half the importer stays
/// away from.
fn check_halves(module_path: &[String], path: &[String], shown: &str, broken: &mut Vec<String>) {
    let (Some(importer), Some(named)) = (module_path.get(1), path.get(1)) else {
        return;
    };
    let side = module_path[0].as_str();
    if HALVES
        .iter()
        .any(|&(s, i, f)| (s, i, f) == (side, importer.as_str(), named.as_str()))
    {
        broken.push(format!("`{side}::{importer}` names `{named}` (`{shown}`)"));
    }
}

#[test]
fn no_module_imports_a_layer_above_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    source_files(&src, &mut files);
    files.sort();
    let codes: Vec<(Vec<String>, Code)> = files
        .iter()
        .map(|path| {
            let text = fs::read_to_string(path).unwrap();
            (module_path_of(&src, path), code_of(&text))
        })
        .collect();
    let test_only: BTreeSet<Vec<String>> = codes
        .iter()
        .flat_map(|(module_path, code)| {
            code.test_children.iter().map(move |child| {
                let mut path = module_path.clone();
                path.push(child.clone());
                path
            })
        })
        .collect();
    let mut broken = Vec::new();
    let mut checked = 0;
    for (path, (module_path, code)) in files.iter().zip(&codes) {
        let skip = module_path.is_empty()
            || ["readme", "architecture"].contains(&module_path[0].as_str())
            || test_only.iter().any(|t| module_path.starts_with(t));
        if skip {
            continue;
        }
        checked += 1;
        let rel = path.strip_prefix(&src).unwrap().display();
        for v in violations(module_path, &code.text) {
            broken.push(format!("{rel}: {v}"));
        }
    }
    assert!(checked > 50, "only {checked} files checked");
    assert!(broken.is_empty(), "layering broken:\n{}", broken.join("\n"));
}

fn module(path: &str) -> Vec<String> {
    path.split("::").map(String::from).collect()
}

fn check(path: &str, source: &str) -> Vec<String> {
    violations(&module(path), &code_of(source).text)
}

/// The checker itself: it must see the paths it is meant to catch.
#[test]
fn the_checker_finds_grouped_and_plain_paths() {
    let found: BTreeSet<String> = resolved_paths(
        "use crate::{alert::X, conn::{a, b}, Error};\nlet x = crate::kdf::y;",
        &module("server::tls13"),
    )
    .into_iter()
    .map(|p| p.unwrap()[0].clone())
    .collect();
    let expected: BTreeSet<String> = ["alert", "conn", "Error", "kdf"]
        .into_iter()
        .map(String::from)
        .collect();
    assert_eq!(found, expected);
    assert_eq!(layer_of("client"), Some(4));
    assert!(layer_of("kdf") < layer_of("session"));
    assert!(check("kdf", "use crate::conn::X;")[0].contains("imports `conn`"));
    assert!(check("conn", "use crate::Error;")[0].contains("through the crate root"));
    assert!(check("fleet", "use crate::Error;").is_empty());
    assert!(check("conn::core", "use crate::{kdf, msgs::Codec, error::Error};").is_empty());
    let in_comment = "// use crate::conn::X;\n/* crate::conn::Y */ let s = \"crate::conn\";\n\
                      let r = br#\"crate::conn\"#; let c = '\"'; let u = \"// \"; use crate::conn::Z;";
    let found = check("kdf", in_comment);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].contains("crate::conn::Z"), "{found:?}");
}

/// A `#[cfg(test)] mod name;` declaration used to end the scan of its file, leaving
/// everything after it unchecked.
#[test]
fn code_after_a_test_module_declaration_is_checked() {
    let source = "pub mod enums;\n#[cfg(test)]\nmod proptests;\n#[cfg(test)]\nmod tests;\n\
                  use crate::server::Hello;\n";
    let found = check("msgs", source);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].contains("imports `server`"));
    assert_eq!(code_of(source).test_children, ["proptests", "tests"]);
}

/// Only the brace-matched test module is skipped, and the `#[cfg(test)]` looked at is the
/// one at hand, not the first identical line of the file.
#[test]
fn only_the_test_module_block_is_skipped() {
    let source = "#[cfg(test)]\nfn helper() {}\n\
                  #[cfg(test)]\nmod tests {\n    use crate::server::Anything;\n    fn f() { if x { } }\n}\n\
                  use crate::client::Hello;\n";
    let found = check("msgs", source);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].contains("imports `client`"));
    let cfg_item = "#[cfg(test)]\nuse crate::conn::Helper;\n";
    assert!(check("msgs", cfg_item)[0].contains("imports `conn`"));
}

/// Groups after `super::` and `crate::<side>::` used to hide the half they name.
#[test]
fn grouped_paths_to_the_other_half_are_found() {
    let found = check("server::tls13", "use super::{psk, tls12::State};");
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].contains("names `tls12`"));
    let found = check("server::hello", "use crate::server::{tls12::X};");
    assert!(found[0].contains("names `tls12`"), "{found:?}");
    let found = check("client::hello", "use crate::client::{self, tls13::{Y, Z}};");
    assert_eq!(found.len(), 2, "{found:?}");
    let found = check("client::tls12", "use crate::{server::{hello::Hello}};");
    assert!(
        found
            .iter()
            .any(|f| f.contains("`client` imports `server`")),
        "{found:?}"
    );
    assert!(check(
        "server::tls13",
        "use super::{psk::{self, Accepted}, Context};"
    )
    .is_empty());
}

/// `super` and `self` used to be read as the module itself: `super::x` in a top-level
/// file is `crate::x`, `super::super::x` two levels down is too.
#[test]
fn super_and_self_resolve_from_the_module_path() {
    let found = check("alert", "use super::session::Ticket;");
    assert!(found[0].contains("imports `session`"), "{found:?}");
    let found = check("kdf::tls13", "fn f() { super::super::store::get() }");
    assert!(found[0].contains("imports `store`"), "{found:?}");
    let found = check("server::tls12::resume", "use super::super::tls13::State;");
    assert!(found[0].contains("names `tls13`"), "{found:?}");
    let found = check("client", "use super::server::Hello;");
    assert!(found[0].contains("`client` imports `server`"), "{found:?}");
    let found = check("codec", "use super::super::x;");
    assert!(
        found[0].contains("climbs above the crate root"),
        "{found:?}"
    );
    assert!(check(
        "kdf::tls13::schedule",
        "use super::super::Side; use self::x::Y;"
    )
    .is_empty());
}

/// `error` stands beside the layers but reaches only as far as the resumption state.
#[test]
fn error_imports_no_layer_above_the_resumption_state() {
    let found = check("error", "pub use crate::conn::Tls12Error;");
    assert!(found[0].contains("imports `conn`"), "{found:?}");
    let found = check("error", "use crate::{session::SessionError, client::Oops};");
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(check(
        "error",
        "pub use crate::ticket::{KeyFileError, TicketError};"
    )
    .is_empty());
}
