//! JSON text (RFC 8259) into a [`Value`]: the engine's own reader, so the wasm carries no
//! serde_json deserialiser (issue 12: about 15 KB of the checkout build went to serde_json's
//! parser and the serde visitor that built its values).
//!
//! Strict where RFC 8259 leaves a choice to the reader:
//! - an object with the same key twice (`{"quantity":1,"quantity":5}`) is `duplicate_field` at
//!   that key's path (`lines[0].quantity`), and it is the error reported even when the text is
//!   malformed further on, as if the reader had stopped at the repeated key (RFC 8259 §4 leaves
//!   duplicates to the reader; a billing engine must not pick one silently);
//! - at most 127 nested arrays and objects (serde_json's limit, which the readers had before);
//! - numbers follow the JSON grammar; a non-integer keeps its text (see [`Number`]), so no
//!   binary float is ever made while reading.
//!
//! Any other malformed text is `invalid_type` at the root, with a message naming the line and
//! column. The scanner never panics: every byte access is checked.

use crate::error::{Error, ErrorCode, Result};
use crate::json::Path;
use crate::json_value::{Map, Number, Value};
use std::borrow::Cow;

/// Nested arrays and objects allowed (serde_json's default recursion limit).
pub const MAX_DEPTH: usize = 127;

/// Reads one JSON value, with nothing but whitespace around it. Its strings borrow from `text`
/// unless they hold an escape.
pub fn scan(text: &str) -> Result<Value<'_>> {
    let mut scanner = Scanner {
        text,
        pos: 0,
        depth: 0,
    };
    let value = scanner.value(&Path::Root)?;
    scanner.skip_whitespace();
    if scanner.peek().is_some() {
        return Err(scanner.syntax("trailing characters"));
    }
    Ok(value)
}

struct Scanner<'t> {
    text: &'t str,
    /// Byte offset of the next byte to read.
    pos: usize,
    /// Arrays and objects open around `pos`.
    depth: usize,
}

impl<'t> Scanner<'t> {
    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    /// Consumes `byte` if it is next.
    fn eat(&mut self, byte: u8) -> bool {
        let found = self.peek() == Some(byte);
        self.pos += found as usize;
        found
    }

    fn skip_whitespace(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.pos += 1;
        }
    }

    /// `invalid_type` at the root: the text is not JSON. Built only on error.
    #[cold]
    fn syntax(&self, what: &str) -> Error {
        let what = if self.peek().is_none() {
            "EOF while parsing"
        } else {
            what
        };
        let before = self.text.as_bytes().get(..self.pos).unwrap_or_default();
        let line = 1 + before.iter().filter(|&&b| b == b'\n').count();
        let column = before.iter().rev().take_while(|&&b| b != b'\n').count() + 1;
        Error::new(
            ErrorCode::InvalidType,
            "",
            format!("{what} at line {line} column {column}"),
        )
    }

    fn value(&mut self, path: &Path) -> Result<Value<'t>> {
        self.skip_whitespace();
        match self.peek() {
            Some(b'n') => self.literal("null", Value::Null),
            Some(b't') => self.literal("true", Value::Bool(true)),
            Some(b'f') => self.literal("false", Value::Bool(false)),
            Some(b'"') => {
                self.pos += 1;
                self.string().map(Value::String)
            }
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(b'[') => self.array(path),
            Some(b'{') => self.object(path),
            _ => Err(self.syntax("expected a value")),
        }
    }

    fn literal(&mut self, word: &str, value: Value<'t>) -> Result<Value<'t>> {
        let rest = self.text.as_bytes().get(self.pos..).unwrap_or_default();
        if !rest.starts_with(word.as_bytes()) {
            return Err(self.syntax("expected a value"));
        }
        self.pos += word.len();
        Ok(value)
    }

    /// Enters an array or object (at its opening bracket).
    fn open(&mut self) -> Result<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.syntax("recursion limit exceeded"));
        }
        self.pos += 1;
        self.skip_whitespace();
        Ok(())
    }

    fn array(&mut self, path: &Path) -> Result<Value<'t>> {
        self.open()?;
        let mut items = Vec::new();
        if !self.eat(b']') {
            loop {
                items.push(self.value(&Path::Index(path, items.len()))?);
                self.skip_whitespace();
                if self.eat(b']') {
                    break;
                }
                if !self.eat(b',') {
                    return Err(self.syntax("expected `,` or `]`"));
                }
            }
        }
        self.depth -= 1;
        Ok(Value::Array(items))
    }

    fn object(&mut self, path: &Path) -> Result<Value<'t>> {
        self.open()?;
        let mut entries = Vec::new();
        let members = self.members(path, &mut entries);
        // A repeated key comes before any error met after it.
        let map = sorted(entries, path)?;
        members?;
        self.depth -= 1;
        Ok(Value::Object(map))
    }

    /// The members of an object, up to its closing brace, in text order. On error, `entries`
    /// holds every key read so far (the last one with a `null` value).
    fn members(&mut self, path: &Path, entries: &mut Vec<(Cow<'t, str>, Value<'t>)>) -> Result<()> {
        if self.eat(b'}') {
            return Ok(());
        }
        loop {
            self.skip_whitespace();
            if !self.eat(b'"') {
                return Err(self.syntax("expected a key (a string)"));
            }
            let key = self.string()?;
            self.skip_whitespace();
            let value = if self.eat(b':') {
                self.value(&Path::Key(path, &key))
            } else {
                Err(self.syntax("expected `:`"))
            };
            match value {
                Ok(value) => entries.push((key, value)),
                Err(e) => {
                    entries.push((key, Value::Null));
                    return Err(e);
                }
            }
            self.skip_whitespace();
            if self.eat(b'}') {
                return Ok(());
            }
            if !self.eat(b',') {
                return Err(self.syntax("expected `,` or `}`"));
            }
        }
    }

    /// A string's contents, after its opening quote, up to and past its closing quote.
    fn string(&mut self) -> Result<Cow<'t, str>> {
        // Most strings (keys, ids) have no escape: borrowed from the text.
        let text = self.text;
        let rest = self.text.as_bytes().get(self.pos..).unwrap_or_default();
        if let Some(len) = rest
            .iter()
            .position(|&b| b == b'"' || b == b'\\' || b < 0x20)
        {
            if rest.get(len) == Some(&b'"') {
                let text = text
                    .get(self.pos..self.pos + len)
                    .ok_or_else(|| self.syntax("invalid string"))?;
                self.pos += len + 1;
                return Ok(Cow::Borrowed(text));
            }
        }
        let mut out = String::new();
        let mut run = self.pos;
        loop {
            match self.peek() {
                Some(b'"') => {
                    self.push_run(&mut out, run)?;
                    self.pos += 1;
                    return Ok(Cow::Owned(out));
                }
                Some(b'\\') => {
                    self.push_run(&mut out, run)?;
                    self.pos += 1;
                    let c = self.escape()?;
                    out.push(c);
                    run = self.pos;
                }
                Some(0..=0x1f) => return Err(self.syntax("control character in a string")),
                Some(_) => self.pos += 1,
                None => return Err(self.syntax("EOF while parsing a string")),
            }
        }
    }

    /// Appends the text from `start` to the current position (both at ASCII bytes, so at
    /// character boundaries).
    fn push_run(&self, out: &mut String, start: usize) -> Result<()> {
        let run = self
            .text
            .get(start..self.pos)
            .ok_or_else(|| self.syntax("invalid string"))?;
        out.push_str(run);
        Ok(())
    }

    /// The character of an escape, after its backslash.
    fn escape(&mut self) -> Result<char> {
        let c = match self.peek() {
            Some(b'"') => '"',
            Some(b'\\') => '\\',
            Some(b'/') => '/',
            Some(b'b') => '\u{8}',
            Some(b'f') => '\u{c}',
            Some(b'n') => '\n',
            Some(b'r') => '\r',
            Some(b't') => '\t',
            Some(b'u') => {
                self.pos += 1;
                let unit = self.hex4()?;
                let code = match unit {
                    0xD800..=0xDBFF => {
                        // A leading surrogate: its trailing half must follow as `\uDC00`-`\uDFFF`.
                        let low = if self.eat(b'\\') && self.eat(b'u') {
                            self.hex4()?
                        } else {
                            0
                        };
                        if !(0xDC00..=0xDFFF).contains(&low) {
                            return Err(self.syntax("lone leading surrogate in hex escape"));
                        }
                        0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00)
                    }
                    _ => unit,
                };
                return char::from_u32(code)
                    .ok_or_else(|| self.syntax("lone trailing surrogate in hex escape"));
            }
            _ => return Err(self.syntax("invalid escape")),
        };
        self.pos += 1;
        Ok(c)
    }

    fn hex4(&mut self) -> Result<u32> {
        let mut unit = 0;
        for _ in 0..4 {
            let digit = self
                .peek()
                .and_then(|b| (b as char).to_digit(16))
                .ok_or_else(|| self.syntax("invalid escape"))?;
            unit = unit * 16 + digit;
            self.pos += 1;
        }
        Ok(unit)
    }

    /// A number, by the JSON grammar: `-?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?`.
    fn number(&mut self) -> Result<Value<'t>> {
        let start = self.pos;
        let negative = self.eat(b'-');
        // The integer part's value while it fits a u64.
        let mut int = Some(0u64);
        match self.peek() {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => {
                while let Some(d @ b'0'..=b'9') = self.peek() {
                    int = int
                        .and_then(|v| v.checked_mul(10))
                        .and_then(|v| v.checked_add(u64::from(d - b'0')));
                    self.pos += 1;
                }
            }
            _ => return Err(self.syntax("invalid number")),
        }
        let mut integer = true;
        if self.eat(b'.') {
            integer = false;
            self.digits()?;
        }
        if let Some(b'e' | b'E') = self.peek() {
            integer = false;
            self.pos += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.pos += 1;
            }
            self.digits()?;
        }
        // serde_json's classes: -0 and integers beyond 64 bits are not integers.
        let number = match (integer, negative, int) {
            (true, false, Some(u)) => Number::PosInt(u),
            (true, true, Some(u)) if u != 0 && u <= 1 << 63 => {
                Number::NegInt((u as i64).wrapping_neg())
            }
            _ => {
                let text = self.text;
                let text = text
                    .get(start..self.pos)
                    .ok_or_else(|| self.syntax("invalid number"))?;
                Number::Other(Cow::Borrowed(text))
            }
        };
        Ok(Value::Number(number))
    }

    /// One or more decimal digits.
    fn digits(&mut self) -> Result<()> {
        if !matches!(self.peek(), Some(b'0'..=b'9')) {
            return Err(self.syntax("invalid number"));
        }
        while let Some(b'0'..=b'9') = self.peek() {
            self.pos += 1;
        }
        Ok(())
    }
}

/// An object's entries in key order, or `duplicate_field` at the first key that repeats an
/// earlier one in text order.
fn sorted<'t>(mut entries: Vec<(Cow<'t, str>, Value<'t>)>, path: &Path) -> Result<Map<'t>> {
    if entries.windows(2).all(|w| w[0].0 < w[1].0) {
        return Ok(Map::from_sorted(entries));
    }
    // Positions ordered by (key, position): a repeated key's later occurrences follow its first.
    let mut order: Vec<usize> = (0..entries.len()).collect();
    order.sort_unstable_by(|&a, &b| entries[a].0.cmp(&entries[b].0).then(a.cmp(&b)));
    let repeat = order
        .windows(2)
        .filter(|w| entries[w[0]].0 == entries[w[1]].0)
        .map(|w| w[1])
        .min();
    if let Some(at) = repeat {
        return Err(Error::new(
            ErrorCode::DuplicateField,
            Path::Key(path, &entries[at].0).to_string(),
            "the same key appears twice in this object",
        ));
    }
    let in_order = order
        .iter()
        .map(|&i| std::mem::take(&mut entries[i]))
        .collect();
    Ok(Map::from_sorted(in_order))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> (ErrorCode, String) {
        let e = scan(text).unwrap_err();
        (e.code, e.path)
    }

    #[test]
    fn values() {
        let v = scan(r#" {"b":[null,true,false,"x\u00e9\n\"",-3,0,18446744073709551615],"a":{}} "#)
            .unwrap();
        let Value::Object(map) = &v else {
            panic!("{v:?}")
        };
        assert_eq!(map.keys().collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(
            map.get("b"),
            Some(&Value::Array(vec![
                Value::Null,
                Value::Bool(true),
                Value::Bool(false),
                Value::String("xé\n\"".into()),
                Value::Number(Number::NegInt(-3)),
                Value::Number(Number::PosInt(0)),
                Value::Number(Number::PosInt(u64::MAX)),
            ]))
        );
        assert_eq!(
            scan(r#""\ud83d\ude00/\/\t""#).unwrap(),
            Value::String("😀//\t".into())
        );
    }

    #[test]
    fn numbers_keep_serde_json_classes_and_their_text() {
        let n = |t: &'static str| match scan(t).unwrap() {
            Value::Number(n) => n,
            v => panic!("{v:?}"),
        };
        assert_eq!(n("-9223372036854775808"), Number::NegInt(i64::MIN));
        assert_eq!(
            n("-9223372036854775809"),
            Number::Other("-9223372036854775809".into())
        );
        assert_eq!(
            n("18446744073709551616"),
            Number::Other("18446744073709551616".into())
        );
        assert_eq!(n("-0"), Number::Other("-0".into()));
        assert_eq!(n("9.975"), Number::Other("9.975".into()));
        assert_eq!(n("1E-7"), Number::Other("1E-7".into()));
        assert_eq!(n("2e+3"), Number::Other("2e+3".into()));
        for bad in [
            "01", "1.", "-", ".5", "1e", "+1", "1.e3", "0x10", "NaN", "Infinity",
        ] {
            assert_eq!(err(bad), (ErrorCode::InvalidType, String::new()), "{bad}");
        }
    }

    #[test]
    fn malformed_text_is_invalid_type_at_the_root() {
        for bad in [
            "",
            " ",
            "{",
            "[",
            "[1,]",
            "{\"a\":1,}",
            "{\"a\" 1}",
            "{a:1}",
            "\"abc",
            "\"\\x\"",
            "\"\\ud800\"",
            "\"\\udc00\"",
            "\"a\u{1}\"",
            "nul",
            "truex",
            "{} x",
            "[1 2]",
        ] {
            assert_eq!(err(bad), (ErrorCode::InvalidType, String::new()), "{bad:?}");
        }
        let e = scan("{\n  \"a\": x}").unwrap_err();
        assert_eq!(e.message, "expected a value at line 2 column 8");
    }

    #[test]
    fn depth_limit_is_127() {
        let ok = "[".repeat(MAX_DEPTH) + &"]".repeat(MAX_DEPTH);
        assert!(scan(&ok).is_ok());
        let deep = "[".repeat(MAX_DEPTH + 1) + &"]".repeat(MAX_DEPTH + 1);
        assert_eq!(err(&deep), (ErrorCode::InvalidType, String::new()));
        let deep = "{\"a\":".repeat(100_000);
        assert_eq!(err(&deep), (ErrorCode::InvalidType, String::new()));
    }

    #[test]
    fn a_repeated_key_is_reported_where_it_repeats() {
        let dup = (ErrorCode::DuplicateField, "a".to_string());
        assert_eq!(err(r#"{"a":1,"b":2,"a":3}"#), dup);
        // Before anything wrong after it, as a reader stopping at the key would report.
        assert_eq!(err(r#"{"a":1,"a":{"b":1,"b":2}}"#), dup);
        assert_eq!(err(r#"{"a":1,"a":"#), dup);
        assert_eq!(err(r#"{"a":1,"a" x"#), dup);
        assert_eq!(err(r#"{"a":1,"a":1,"c":[}"#), dup);
        // The first repeat in text order, even when another key sorts first.
        assert_eq!(
            err(r#"{"z":1,"b":1,"z":2,"b":2}"#),
            (ErrorCode::DuplicateField, "z".to_string())
        );
        // An error inside a value before the repeat wins.
        assert_eq!(
            err(r#"{"a":{"b":1,"b":2},"a":1}"#),
            (ErrorCode::DuplicateField, "a.b".to_string())
        );
        assert_eq!(
            err(r#"[{"x":[{"k":1,"k":2}]}]"#),
            (ErrorCode::DuplicateField, "[0].x[0].k".to_string())
        );
        // Many keys, unsorted: no quadratic work, order restored.
        let keys: Vec<String> = (0..50_000).rev().map(|i| format!("\"k{i}\":{i}")).collect();
        let text = format!("{{{}}}", keys.join(","));
        let Value::Object(map) = scan(&text).unwrap() else {
            panic!()
        };
        assert_eq!(map.len(), 50_000);
        assert_eq!(map.get("k123").and_then(Value::as_u64), Some(123));
        assert!(map.keys().zip(map.keys().skip(1)).all(|(a, b)| a < b));
    }
}
