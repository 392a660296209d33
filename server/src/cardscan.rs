//! Raw card numbers never enter the server: PCI scope stays with the payment gateway. Every
//! string (and object key, and integer) of every JSON request body, and the query string, is
//! scanned for 13–19 digits that pass the Luhn check, after Unicode NFKC normalisation, grouped
//! with any separators (`4242 4242 4242 4242`, `4242.4242.4242.4242`, tabs, no-break spaces,
//! full-width digits); so are the request's path and headers (all but `Authorization`). A hit
//! rejects the request with the path of the field (`header.x-note`); the value itself is never
//! echoed or logged.
//!
//! Two shapes are not card numbers, so that ordinary identifiers are not refused (about one
//! random UUID v4 in 350, and one 13-digit millisecond timestamp in ten, passed the scan before):
//! - a number whose first digit is 0, 1, 7 or 9. The first digit of a card number is its major
//!   industry identifier (ISO/IEC 7812-1); every card brand a gateway here takes starts with 2–6
//!   or 8 (Mastercard 2/5, Mir 2, Amex/Diners/JCB 3, Visa 4, Maestro 5/6, Discover/UnionPay/RuPay
//!   6, UnionPay/RuPay 8). Millisecond timestamps (`1732900000000`) start with 1.
//! - a canonical UUID (`550e8400-e29b-41d4-a716-446655440000`, RFC 9562 §4): 32 hex digits in
//!   groups of 8-4-4-4-12, a token of its own. Its digit groups are masked before the scan (a
//!   card number is 13–19 digits, never 32), so a card number next to a UUID is still found.

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
        let mut normalized: Vec<char> = if text.is_ascii() {
            text.chars().collect()
        } else {
            text.nfkc().collect()
        };
        mask_uuids(&mut normalized);
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
                if digits.len() >= 13 && issued_to_cards(digits[0]) && luhn(&digits) {
                    return true;
                }
            }
        }
        i = j.max(i + 1);
    }
    false
}

/// Whether a number starting with this ASCII digit can be a payment card's: major industry
/// identifiers 2–6 and 8 (ISO/IEC 7812-1; see the module's documentation).
fn issued_to_cards(first: u8) -> bool {
    matches!(first, b'2'..=b'6' | b'8')
}

/// The canonical UUID's groups: 8-4-4-4-12 hex digits joined by `-`.
const UUID_GROUPS: [usize; 5] = [8, 4, 4, 4, 12];

/// Replaces every canonical UUID that stands as a token of its own (no letter or digit right
/// before or after it) by `x`s, so that its digit groups are not read as a card number's.
fn mask_uuids(chars: &mut [char]) {
    const LEN: usize = 36;
    let mut start = 0;
    while start + LEN <= chars.len() {
        let before_ok = start == 0 || !chars[start - 1].is_alphanumeric();
        let after_ok = chars
            .get(start + LEN)
            .map_or(true, |c| !c.is_alphanumeric());
        if before_ok && after_ok && is_uuid(&chars[start..start + LEN]) {
            chars[start..start + LEN].fill('x');
            start += LEN;
        } else {
            start += 1;
        }
    }
}

fn is_uuid(chars: &[char]) -> bool {
    let mut at = 0;
    for (n, len) in UUID_GROUPS.iter().enumerate() {
        if n > 0 {
            if chars.get(at) != Some(&'-') {
                return false;
            }
            at += 1;
        }
        match chars.get(at..at + len) {
            Some(group) if group.iter().all(char::is_ascii_hexdigit) => at += len,
            _ => return false,
        }
    }
    at == chars.len()
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
            // UUIDs v4 that the scan refused before it masked UUIDs (one in about 350).
            "f31aeb00-4982-4407-8941-965096ee86ef",
            "313874cd-dfbc-423d-b246-548991270564",
            "a41244f0-8012-4771-8688-d2ceb98ebebb",
            "key F31AEB00-4982-4407-8941-965096EE86EF.",
            // Millisecond timestamps pass Luhn one time in ten; they start with 1.
            "1732900000008",
            "order_1732900000008",
            // Major industry identifiers 0, 7, 9 are not payment cards'.
            "7242424242424245",
            "9242424242424241",
            "0242424242424240",
        ] {
            assert!(!looks_like_card_number(s), "{s}");
        }
        assert!(luhn(b"1732900000008") && luhn(b"7242424242424245") && luhn(b"0242424242424240"));
    }

    #[test]
    fn card_numbers_next_to_or_inside_uuid_shapes() {
        for s in [
            // Test numbers of brands starting with 2, 3, 5, 6 and 8 (Stripe's, and a UnionPay 81).
            "2223003122003222",
            "3566002020360505",
            "5555555555554444",
            "6200000000000005",
            "8171999927660000",
            "4242 4242 4242 4242 550e8400-e29b-41d4-a716-446655440000",
            "550e8400-e29b-41d4-a716-446655440000 4242424242424242",
            // Not a token of its own (glued to letters or digits): no masking.
            "42424242-4242-4242-4242-424242424242x",
            "x42424242-4242-4242-4242-424242424242",
            // Not UUID-shaped (a 13-character last group).
            "42424242-4242-4242-4242-4242424242420",
        ] {
            assert!(looks_like_card_number(s), "{s}");
        }
        // A UUID-shaped value is an identifier, whatever its digits.
        assert!(!looks_like_card_number(
            "42424242-4242-4242-4242-424242424242"
        ));
    }

    #[test]
    fn random_uuids_are_never_card_numbers() {
        // xorshift64*, fixed seed: 100,000 UUIDs v4 (about 280 of them were refused before).
        let mut state = 0x9E37_79B9_7F4A_7C15_u64;
        let mut next = || {
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            state.wrapping_mul(0x2545_F491_4F6C_DD1D)
        };
        for _ in 0..100_000 {
            let (hi, lo) = (next(), next());
            let hex = format!("{hi:016x}{lo:016x}");
            let uuid = format!(
                "{}-{}-4{}-{:x}{}-{}",
                &hex[..8],
                &hex[8..12],
                &hex[13..16],
                8 + (lo >> 62),
                &hex[17..20],
                &hex[20..]
            );
            assert!(!looks_like_card_number(&uuid), "{uuid}");
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
