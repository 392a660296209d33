//! Raw card numbers never enter the server: PCI scope stays with the payment gateway. Every
//! string (and object key, and integer) of every JSON request body, and the query string, is
//! scanned for 13–19 digits that pass the Luhn check, optionally grouped with single spaces or
//! dashes (`4242 4242 4242 4242`, `4242-4242-4242-4242`). A hit rejects the request with the
//! path of the field; the value itself is never echoed or logged.

use serde_json::Value;

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
            let child = if path.is_empty() {
                key.clone()
            } else {
                format!("{path}.{key}")
            };
            if looks_like_card_number(key) {
                return Some(child);
            }
            scan(item, child)
        }),
        Value::Null | Value::Bool(_) => None,
    }
}

/// Whether the text holds a run of digit groups (separated by one space or dash) of which some
/// consecutive groups make 13–19 digits passing Luhn.
pub fn looks_like_card_number(text: &str) -> bool {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if !bytes[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        // Collect the groups of this run.
        let mut groups: Vec<&[u8]> = Vec::new();
        let mut j = i;
        loop {
            let start = j;
            while j < bytes.len() && bytes[j].is_ascii_digit() {
                j += 1;
            }
            groups.push(&bytes[start..j]);
            let separator = j + 1 < bytes.len()
                && matches!(bytes[j], b' ' | b'-')
                && bytes[j + 1].is_ascii_digit();
            if separator && groups.len() < 64 {
                j += 1;
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
            "4242  4242 4242 4242",
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
    }
}
