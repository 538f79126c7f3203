//! The exposure timeline a watch finds, and its picture as a small SVG: one bar per ticket
//! key name (first to last seen), a bar for the oldest ticket still accepted and one for the
//! advertised lifetime. Only `std`: the tests include this file as it is.

use std::fmt::Write as _;

/// One ticket key name: when it was first and last seen, in seconds from the start.
#[derive(Clone, Debug, PartialEq)]
pub struct Seen {
    pub name: String,
    pub first: f64,
    pub last: f64,
}

/// What a watch found.
#[derive(Debug, Default)]
pub struct Timeline {
    /// Key names in order of first sighting.
    pub keys: Vec<Seen>,
    /// The age (s) of the oldest TLS 1.3 / TLS 1.2 ticket the server still accepted.
    pub oldest13: Option<f64>,
    pub oldest12: Option<f64>,
    /// The youngest age (s) at which a kept ticket was refused.
    pub first_refused: Option<f64>,
    /// The lifetime the server advertised (TLS 1.3 `ticket_lifetime`, else the TLS 1.2 hint).
    pub advertised: Option<u32>,
    /// How long the watch lasted, and its interval (s).
    pub span: f64,
    pub every: f64,
}

impl Timeline {
    /// Notes key `name` seen at `at`.
    pub fn saw(&mut self, name: String, at: f64) {
        match self.keys.iter_mut().find(|k| k.name == name) {
            Some(k) => k.last = at,
            None => self.keys.push(Seen {
                name,
                first: at,
                last: at,
            }),
        }
    }

    /// The oldest accepted ticket of either version.
    pub fn oldest(&self) -> Option<f64> {
        match (self.oldest13, self.oldest12) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        }
    }
}

const WIDTH: f64 = 800.0;
const LEFT: f64 = 260.0;
const ROW: f64 = 22.0;

/// Text escaped for SVG/XML content and attributes.
pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The picture of `tl`, titled `title`.
pub fn svg(title: &str, tl: &Timeline) -> String {
    let oldest = tl.oldest().unwrap_or(0.0);
    let advertised = tl.advertised.map_or(0.0, f64::from);
    // The axis spans the watch, or the longest bar when that is longer.
    let scale_max = tl.span.max(oldest).max(advertised).max(1e-3);
    let x = |secs: f64| LEFT + (secs / scale_max).clamp(0.0, 1.0) * (WIDTH - LEFT - 20.0);
    let rows = tl.keys.len() + 2;
    let height = 60.0 + ROW * rows as f64 + 30.0;
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{height}\" font-family=\"sans-serif\" font-size=\"12\">\n"
    );
    let _ = writeln!(
        out,
        "<text x=\"10\" y=\"20\" font-size=\"14\">{}</text>",
        escape(title)
    );
    let mut y = 40.0;
    let mut bar = |out: &mut String, label: &str, from: f64, to: f64, colour: &str| {
        let _ = writeln!(
            out,
            "<text x=\"10\" y=\"{:.1}\">{}</text>",
            y + 14.0,
            escape(label)
        );
        let (a, b) = (x(from), x(to).max(x(from) + 2.0));
        let _ = writeln!(
            out,
            "<rect x=\"{a:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{colour}\"/>",
            b - a,
            ROW - 6.0
        );
        y += ROW;
    };
    for k in &tl.keys {
        let label = format!("key {}", &k.name[..k.name.len().min(16)]);
        bar(&mut out, &label, k.first, k.last, "#4878a8");
    }
    bar(
        &mut out,
        &format!("oldest accepted ticket: {oldest:.1} s"),
        0.0,
        oldest,
        "#c8553d",
    );
    bar(
        &mut out,
        &format!("advertised lifetime: {advertised:.0} s"),
        0.0,
        advertised,
        "#999999",
    );
    let axis = y + 10.0;
    let _ = writeln!(
        out,
        "<line x1=\"{LEFT}\" y1=\"{axis:.1}\" x2=\"{:.1}\" y2=\"{axis:.1}\" stroke=\"black\"/>",
        x(scale_max)
    );
    let _ = writeln!(
        out,
        "<text x=\"{LEFT}\" y=\"{:.1}\">0 s</text>",
        axis + 15.0
    );
    let _ = writeln!(
        out,
        "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{scale_max:.1} s</text>",
        x(scale_max),
        axis + 15.0
    );
    out.push_str("</svg>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Timeline {
        Timeline {
            keys: vec![
                Seen {
                    name: "00112233445566778899aabbccddeeff".into(),
                    first: 0.0,
                    last: 2.0,
                },
                Seen {
                    name: "ffeeddccbbaa99887766554433221100".into(),
                    first: 2.0,
                    last: 4.0,
                },
            ],
            oldest13: Some(3.0),
            oldest12: None,
            first_refused: Some(3.5),
            advertised: Some(2),
            span: 4.0,
            every: 0.5,
        }
    }

    #[test]
    fn one_bar_per_key_plus_oldest_and_lifetime_and_balanced_tags() {
        let svg = svg("probe <a&b>", &sample());
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(svg.trim_end().ends_with("</svg>"));
        assert_eq!(svg.matches("<rect ").count(), 4, "{svg}");
        assert_eq!(svg.matches("<text").count(), svg.matches("</text>").count());
        assert!(svg.contains("probe &lt;a&amp;b&gt;"), "{svg}");
        assert!(!svg.contains("<a&b>"));
        assert!(svg.contains("oldest accepted ticket: 3.0 s"));
    }

    #[test]
    fn bars_scale_to_the_axis_and_stay_inside_the_picture() {
        let svg = svg("t", &sample());
        for rect in svg.lines().filter(|l| l.starts_with("<rect")) {
            let num = |attr: &str| -> f64 {
                let from = rect.find(&format!("{attr}=\"")).unwrap() + attr.len() + 2;
                rect[from..].split('"').next().unwrap().parse().unwrap()
            };
            assert!(
                num("x") >= LEFT && num("x") + num("width") <= WIDTH,
                "{rect}"
            );
        }
        // The second key starts where the first ends: halfway along a 4 s axis.
        let second = svg
            .lines()
            .filter(|l| l.starts_with("<rect"))
            .nth(1)
            .unwrap();
        let half = LEFT + 0.5 * (WIDTH - LEFT - 20.0);
        assert!(second.contains(&format!("x=\"{half:.1}\"")), "{second}");
    }

    #[test]
    fn an_empty_watch_still_draws_a_valid_picture() {
        let svg = svg("t", &Timeline::default());
        assert_eq!(svg.matches("<rect ").count(), 2);
        assert!(!svg.contains("NaN") && !svg.contains("inf"), "{svg}");
    }
}
