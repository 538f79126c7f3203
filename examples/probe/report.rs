//! The probe's findings: one row each, printed as a table or as one JSON document.

use std::fmt::Write as _;

/// One finding: what was tried, the verdict, what happened, and what it means.
#[derive(Clone, Debug)]
pub struct Row {
    /// A stable name, e.g. `tls13.psk_ke`.
    pub check: &'static str,
    /// A short machine-readable verdict, e.g. `accepted`, `refused`, `single-use`.
    pub verdict: String,
    /// What was tried and what happened.
    pub detail: String,
    /// What it means for forward secrecy (empty when nothing to add).
    pub meaning: String,
}

impl Row {
    pub fn new(check: &'static str, verdict: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            check,
            verdict: verdict.into(),
            detail: detail.into(),
            meaning: String::new(),
        }
    }

    pub fn meaning(mut self, meaning: impl Into<String>) -> Self {
        self.meaning = meaning.into();
        self
    }
}

/// The rows as an aligned table.
pub fn text(target: &str, rows: &[Row]) -> String {
    let mut out = format!("probe of {target}\n");
    for row in rows {
        let _ = writeln!(out, "{:<24} {:<14} {}", row.check, row.verdict, row.detail);
        if !row.meaning.is_empty() {
            let _ = writeln!(out, "{:<24} {:<14} -> {}", "", "", row.meaning);
        }
    }
    out
}

/// The rows as one JSON document.
pub fn json(target: &str, rows: &[Row]) -> String {
    let mut out = format!("{{\"target\":{},\"rows\":[", quote(target));
    for (i, row) in rows.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let _ = write!(
            out,
            "{{\"check\":{},\"verdict\":{},\"detail\":{},\"meaning\":{}}}",
            quote(row.check),
            quote(&row.verdict),
            quote(&row.detail),
            quote(&row.meaning)
        );
    }
    out.push_str("]}\n");
    out
}

/// A JSON string literal (RFC 8259 §7).
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}
