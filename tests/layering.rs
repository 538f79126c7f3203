//! Keeps the layering of `src/` true: reads every source file and fails when a module imports
//! a module of a higher layer, when a lower layer reaches a name through the crate root's
//! re-exports, or when the two halves of a handshake side import each other. The layers here
//! are the ones the crate's `architecture` docs describe; change both together.

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

/// `error` holds the one error type: it names the error of every layer, and every layer
/// returns it, so it sits beside the layers rather than in one.
const BESIDE_THE_LAYERS: &str = "error";

/// Pairs in the same layer that must still not import each other (either way).
const SEPARATE: &[(&str, &str)] = &[("client", "server")];

/// Inside each side, the version halves stay apart, and the version-neutral hello below
/// both imports neither: (directory, importer, module it must not name).
const HALVES: &[(&str, &str, &str)] = &[
    ("client", "tls12", "tls13"),
    ("client", "tls13", "tls12"),
    ("client", "hello", "tls12"),
    ("client", "hello", "tls13"),
    ("server", "tls12", "tls13"),
    ("server", "tls13", "tls12"),
    ("server", "hello", "tls12"),
    ("server", "hello", "tls13"),
    ("server", "psk", "tls13"),
    ("server", "retry", "tls13"),
];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|(_, ms)| ms.contains(&module))
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

/// The code of a file without comments and without its unit tests (which may use anything):
/// test-only files are skipped, an inline `#[cfg(test)] mod` is last in its file.
fn code_of(path: &Path) -> Option<String> {
    let name = path.file_name()?.to_str()?;
    if name == "tests.rs" || name == "proptests.rs" {
        return None;
    }
    let text = fs::read_to_string(path).unwrap();
    let mut code = String::new();
    for line in text.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("#[cfg(test)]") && code_after_is_test_mod(&text, line) {
            break;
        }
        let line = match line.find("//") {
            Some(i) => &line[..i],
            None => line,
        };
        code.push_str(line);
        code.push('\n');
    }
    Some(code)
}

fn code_after_is_test_mod(text: &str, cfg_line: &str) -> bool {
    let at = text.find(cfg_line).unwrap() + cfg_line.len();
    text[at..].trim_start().starts_with("mod ")
}

/// Every `crate::x` path in `code`, also inside `use crate::{x, y::z}` groups: the first
/// segment after `crate::`.
fn crate_paths(code: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = code;
    while let Some(i) = rest.find("crate::") {
        let after = &rest[i + "crate::".len()..];
        if let Some(group) = after.strip_prefix('{') {
            let mut depth = 0;
            let mut item = String::new();
            for c in group.chars() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        push_first_segment(&item, &mut out);
                        item.clear();
                    }
                    _ => item.push(c),
                }
            }
            push_first_segment(&item, &mut out);
        } else {
            push_first_segment(after, &mut out);
        }
        rest = after;
    }
    out
}

fn push_first_segment(path: &str, out: &mut BTreeSet<String>) {
    let segment: String = path
        .trim()
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    if !segment.is_empty() && segment != "self" {
        out.insert(segment);
    }
}

/// The top-level module a file belongs to, and its path inside it.
fn module_of(src: &Path, path: &Path) -> (String, Vec<String>) {
    let rel = path.strip_prefix(src).unwrap();
    let parts: Vec<String> = rel
        .components()
        .map(|c| {
            c.as_os_str()
                .to_str()
                .unwrap()
                .trim_end_matches(".rs")
                .to_owned()
        })
        .collect();
    (parts[0].clone(), parts)
}

#[test]
fn no_module_imports_a_layer_above_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    source_files(&src, &mut files);
    files.sort();
    let mut broken = Vec::new();
    for path in &files {
        let (module, _) = module_of(&src, path);
        if module == "lib" || module == "readme" || module == "architecture" {
            continue;
        }
        let Some(code) = code_of(path) else { continue };
        let rel = path.strip_prefix(&src).unwrap().display();
        let own = layer_of(&module);
        if own.is_none() && module != BESIDE_THE_LAYERS {
            broken.push(format!("{rel}: module `{module}` is in no layer"));
            continue;
        }
        for target in crate_paths(&code) {
            if target == module || target == BESIDE_THE_LAYERS {
                continue;
            }
            if target.starts_with(char::is_uppercase) {
                // A name re-exported at the crate root: only the integrations use those.
                if own.is_some_and(|l| LAYERS[l].0 != "integrations") {
                    broken.push(format!("{rel}: `crate::{target}` through the crate root"));
                }
                continue;
            }
            if module == BESIDE_THE_LAYERS {
                continue;
            }
            let (Some(own), Some(theirs)) = (own, layer_of(&target)) else {
                broken.push(format!("{rel}: `crate::{target}` is in no layer"));
                continue;
            };
            if theirs > own {
                broken.push(format!(
                    "{rel}: `{module}` ({}) imports `{target}` ({})",
                    LAYERS[own].0, LAYERS[theirs].0
                ));
            }
            if SEPARATE
                .iter()
                .any(|&(a, b)| (a, b) == (&module, &target) || (b, a) == (&module, &target))
            {
                broken.push(format!("{rel}: `{module}` imports `{target}`"));
            }
        }
    }
    assert!(broken.is_empty(), "layering broken:\n{}", broken.join("\n"));
}

#[test]
fn the_version_halves_of_each_side_stay_apart() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut broken = Vec::new();
    for &(side, importer, forbidden) in HALVES {
        let mut files = Vec::new();
        let dir = src.join(side).join(importer);
        if dir.is_dir() {
            source_files(&dir, &mut files);
        }
        files.push(src.join(side).join(format!("{importer}.rs")));
        for path in files {
            let Some(code) = code_of(&path) else { continue };
            let named = [
                format!("super::{forbidden}"),
                format!("crate::{side}::{forbidden}"),
                format!("super::super::{forbidden}"),
            ];
            if named.iter().any(|n| code.contains(n.as_str())) {
                broken.push(format!(
                    "{}: names `{forbidden}`",
                    path.strip_prefix(&src).unwrap().display()
                ));
            }
        }
    }
    assert!(
        broken.is_empty(),
        "halves entangled:\n{}",
        broken.join("\n")
    );
}

/// The checker itself: it must see the paths it is meant to catch.
#[test]
fn the_checker_finds_grouped_and_plain_paths() {
    let found = crate_paths("use crate::{alert::X, conn::{a, b}, Error};\nlet x = crate::kdf::y;");
    let expected: BTreeSet<String> = ["alert", "conn", "Error", "kdf"]
        .into_iter()
        .map(String::from)
        .collect();
    assert_eq!(found, expected);
    assert_eq!(layer_of("client"), Some(4));
    assert!(layer_of("kdf") < layer_of("session"));
}
