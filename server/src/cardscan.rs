//! Raw card numbers never enter the server: PCI scope stays with the payment gateway. Every
//! string (and object key, and integer) of every JSON request body, and the query string, is
//! scanned for 13–19 digits that pass the Luhn check, after Unicode NFKC normalisation, grouped
//! with any separators (`4242 4242 4242 4242`, `4242.4242.4242.4242`, tabs, no-break spaces,
//! full-width digits); so are the request's path and headers (all but `Authorization`). A hit
//! rejects the request with the path of the field (`header.x-note`); the value itself is never
//! echoed or logged.

use serde_json::Value;
use unicode_normalization::UnicodeNormalization;

/// The path of the first field holding something that looks like a card number.
pub fn find_in_json(value: &Value) -> Option<String> {
    scan(value, String::new())
}

fn scan(value: &Value, path: String) -> Option<String> {
    match value {
        Value::String(s) => looks_like_card_number(s).then_some(path),
        Value::Number(n) => looks_like_card_number(&n.to_string()).then_some(path),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, item)| scan(item, format!("{path}[{i}]"))),
        Value::Object(map) => map.iter().find_map(|(key, item)| {
            if looks_like_card_number(key) {
                // The key itself: name the object that holds it (the path is sent back to the
                // client and logged; the number never is).
                return Some(path.clone());
            }
            let child = if path.is_empty() {
                key.clone()
            } else {
                format!("{path}.{key}")
            };
            scan(item, child)
        }),
        Value::Null | Value::Bool(_) => None,
    }
}

/// Most separator characters allowed between two digit groups (`4242 \t 4242`).
const MAX_SEPARATOR_RUN: usize = 3;

/// Whether the text holds a run of digit groups of which some consecutive groups make 13–19
/// digits passing Luhn. The text is first normalised (Unicode NFKC: full-width `４２４２`,
/// no-break and other spaces become their plain forms; digits of other scripts, such as
/// Arabic-Indic `٤٢٤٢`, count as digits); groups may be separated by up to three separator
/// characters — whitespace of any kind, or any other character that is neither a letter nor a
/// digit (`4242.4242.4242.4242`, `4242  4242`, `4242\t4242`, `4242/4242`).
pub fn looks_like_card_number(text: &str) -> bool {
    if text.bytes().filter(u8::is_ascii_digit).count() >= 13 || !text.is_ascii() {
        let normalized: Vec<char> = if text.is_ascii() {
            text.chars().collect()
        } else {
            text.nfkc().collect()
        };
        scan_chars(&normalized)
    } else {
        false
    }
}

fn scan_chars(chars: &[char]) -> bool {
    let mut i = 0;
    while i < chars.len() {
        if digit(chars[i]).is_none() {
            i += 1;
            continue;
        }
        // Collect the groups of this run.
        let mut groups: Vec<Vec<u8>> = Vec::new();
        let mut j = i;
        loop {
            let mut group = Vec::new();
            while let Some(d) = chars.get(j).copied().and_then(digit) {
                group.push(d);
                j += 1;
            }
            groups.push(group);
            let mut k = j;
            while k < chars.len() && k - j < MAX_SEPARATOR_RUN && separator(chars[k]) {
                k += 1;
            }
            let continues = k > j && chars.get(k).copied().and_then(digit).is_some();
            if continues && groups.len() < 64 {
                j = k;
            } else {
                break;
            }
        }
        for first in 0..groups.len() {
            let mut digits: Vec<u8> = Vec::with_capacity(19);
            for group in &groups[first..] {
                digits.extend_from_slice(group);
                if digits.len() > 19 {
                    break;
                }
                if digits.len() >= 13 && luhn(&digits) {
                    return true;
                }
            }
        }
        i = j.max(i + 1);
    }
    false
}

/// Zero of each script whose ten decimal digits are contiguous (after NFKC, which already
/// maps full-width and mathematical digits to ASCII).
const DIGIT_ZEROS: [u32; 19] = [
    0x30, 0x660, 0x6F0, 0x7C0, 0x966, 0x9E6, 0xA66, 0xAE6, 0xB66, 0xBE6, 0xC66, 0xCE6, 0xD66,
    0xE50, 0xED0, 0xF20, 0x1040, 0x17E0, 0x1810,
];

/// The ASCII digit (`b'0'..=b'9'`) a decimal digit of any of these scripts stands for.
fn digit(c: char) -> Option<u8> {
    let code = u32::from(c);
    DIGIT_ZEROS
        .iter()
        .find(|&&zero| (zero..zero + 10).contains(&code))
        .and_then(|zero| u8::try_from(code - zero).ok())
        .map(|d| b'0' + d)
}

/// Whitespace of any kind, or a character that is neither a letter nor a digit (punctuation,
/// symbols); control characters other than whitespace are not.
fn separator(c: char) -> bool {
    c.is_whitespace() || (!c.is_alphanumeric() && !c.is_control())
}

fn luhn(digits: &[u8]) -> bool {
    let mut sum = 0u32;
    for (k, d) in digits.iter().rev().enumerate() {
        let mut v = u32::from(d - b'0');
        if k % 2 == 1 {
            v *= 2;
            if v > 9 {
                v -= 9;
            }
        }
        sum += v;
    }
    sum % 10 == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn card_numbers_in_every_shape() {
        for s in [
            "4242424242424242",
            "4242 4242 4242 4242",
            "4242-4242-4242-4242",
            "card: 4000 0566 5566 5556 please",
            "378282246310005",
            "Order 12 4242424242424242",
            "4242.4242.4242.4242",
            "4242  4242 4242 4242",
            "4242\t4242\t4242\t4242",
            "4242\u{a0}4242\u{a0}4242\u{a0}4242",
            "4242\u{202f}4242\u{2009}4242\u{3000}4242",
            "\u{ff14}\u{ff12}\u{ff14}\u{ff12}\u{ff14}\u{ff12}\u{ff14}\u{ff12}\u{ff14}\u{ff12}\u{ff14}\u{ff12}\u{ff14}\u{ff12}\u{ff14}\u{ff12}",
            "\u{664}\u{662}\u{664}\u{662}\u{664}\u{662}\u{664}\u{662}\u{664}\u{662}\u{664}\u{662}\u{664}\u{662}\u{664}\u{662}",
            "4242/4242/4242/4242",
            "4242 - 4242 - 4242 - 4242",
            "3782_822463_10005",
        ] {
            assert!(looks_like_card_number(s), "{s}");
        }
        for s in [
            "4242424242424241",
            "pm_card_visa",
            "2026-11-21T17:28:00Z",
            "1700000000",
            "F2026-000123",
            "+33 1 23 45 67 89",
            "4242 x 4242 4242 4242",
            "4242    4242 4242 4242",
            "FR7630006000011234567890189",
        ] {
            assert!(!looks_like_card_number(s), "{s}");
        }
    }

    #[test]
    fn paths() {
        let v = json!({"cart": {"lines": [{"price": "p"}, {"metadata": {"note": "4242424242424242"}}]}});
        assert_eq!(
            find_in_json(&v).as_deref(),
            Some("cart.lines[1].metadata.note")
        );
        assert_eq!(
            find_in_json(&json!({"n": 4242424242424242_u64})).as_deref(),
            Some("n")
        );
        assert_eq!(find_in_json(&json!({"cart": {"currency": "eur"}})), None);
        // A key that is a card number: the path names its object, never the number.
        assert_eq!(
            find_in_json(&json!({"cart": {"metadata": {"4242 4242 4242 4242": "x"}}})).as_deref(),
            Some("cart.metadata")
        );
    }
}
