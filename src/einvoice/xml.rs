//! A small XML writer: indented elements, escaped text and attributes. The documents are
//! written element by element in the order the schemas require; escaping is the one thing a
//! hand-written writer must get right, and it is here only.

use rust_decimal::Decimal;

pub struct Xml {
    out: String,
    depth: usize,
}

/// Escapes text and attribute values (`&`, `<`, `>`, `"`, `'`); drops the characters XML 1.0
/// forbids (control characters other than tab, line feed and carriage return).
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

impl Xml {
    pub fn new() -> Xml {
        Xml {
            out: String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"),
            depth: 0,
        }
    }

    fn indent(&mut self) {
        for _ in 0..self.depth {
            self.out.push_str("  ");
        }
    }

    fn start(&mut self, tag: &str, attrs: &[(&str, &str)]) {
        self.indent();
        self.out.push('<');
        self.out.push_str(tag);
        for (name, value) in attrs {
            self.out.push(' ');
            self.out.push_str(name);
            self.out.push_str("=\"");
            self.out.push_str(&escape(value));
            self.out.push('"');
        }
    }

    pub fn open(&mut self, tag: &str, attrs: &[(&str, &str)]) {
        self.start(tag, attrs);
        self.out.push_str(">\n");
        self.depth += 1;
    }

    pub fn close(&mut self, tag: &str) {
        self.depth = self.depth.saturating_sub(1);
        self.indent();
        self.out.push_str("</");
        self.out.push_str(tag);
        self.out.push_str(">\n");
    }

    pub fn leaf(&mut self, tag: &str, attrs: &[(&str, &str)], text: &str) {
        self.start(tag, attrs);
        self.out.push('>');
        self.out.push_str(&escape(text));
        self.out.push_str("</");
        self.out.push_str(tag);
        self.out.push_str(">\n");
    }

    pub fn text(&mut self, tag: &str, text: &str) {
        self.leaf(tag, &[], text);
    }

    pub fn opt(&mut self, tag: &str, text: Option<&str>) {
        if let Some(text) = text {
            self.leaf(tag, &[], text);
        }
    }

    pub fn finish(self) -> String {
        self.out
    }
}

impl Default for Xml {
    fn default() -> Self {
        Xml::new()
    }
}

/// An amount with the currency's decimals (`12.50`, JPY `1250`); more precise values (from a
/// document read elsewhere) keep their digits.
pub fn amount(value: Decimal, exponent: u32) -> String {
    let mut v = value;
    if v.scale() < exponent {
        v.rescale(exponent);
    } else if v.scale() > exponent {
        let n = v.normalize();
        v = if n.scale() <= exponent {
            let mut r = n;
            r.rescale(exponent);
            r
        } else {
            n
        };
    }
    v.to_string()
}

/// A quantity, price or percentage without trailing zeros (`20`, `5.5`, `0.3333`).
pub fn number(value: Decimal) -> String {
    value.normalize().to_string()
}

/// `YYYY-MM-DD` → `YYYYMMDD` (CII format 102).
pub fn date102(date: &str) -> String {
    date.chars().filter(|c| *c != '-').collect()
}
