//! EU VAT number format checks (the format only; no VIES look-up, which needs a network).

/// Pattern characters: `#` a digit, `@` a letter A–Z, `*` a letter or digit, `f` a French key
/// character (digits and letters except I and O), `b` 0 or 1, anything else itself.
const FORMATS: &[(&str, &[&str])] = &[
    ("AT", &["U########"]),
    ("BE", &["b#########"]),
    ("BG", &["#########", "##########"]),
    ("CY", &["########@"]),
    ("CZ", &["########", "#########", "##########"]),
    ("DE", &["#########"]),
    ("DK", &["########"]),
    ("EE", &["#########"]),
    ("EL", &["#########"]),
    ("ES", &["*#######*"]),
    ("FI", &["########"]),
    ("FR", &["ff#########"]),
    ("HR", &["###########"]),
    ("HU", &["########"]),
    ("IE", &["#######@", "#######@@", "#*#####@"]),
    ("IT", &["###########"]),
    ("LT", &["#########", "############"]),
    ("LU", &["########"]),
    ("LV", &["###########"]),
    ("MT", &["########"]),
    ("NL", &["#########B##"]),
    ("PL", &["##########"]),
    ("PT", &["#########"]),
    (
        "RO",
        &[
            "##",
            "###",
            "####",
            "#####",
            "######",
            "#######",
            "########",
            "#########",
            "##########",
        ],
    ),
    ("SE", &["##########01"]),
    ("SI", &["########"]),
    ("SK", &["##########"]),
];

fn matches(pattern: &str, value: &str) -> bool {
    pattern.len() == value.len()
        && pattern.bytes().zip(value.bytes()).all(|(p, c)| match p {
            b'#' => c.is_ascii_digit(),
            b'@' => c.is_ascii_uppercase(),
            b'*' => c.is_ascii_uppercase() || c.is_ascii_digit(),
            b'f' => (c.is_ascii_uppercase() && c != b'I' && c != b'O') || c.is_ascii_digit(),
            b'b' => c == b'0' || c == b'1',
            other => other == c,
        })
}

/// Normalises a VAT number (uppercase, without spaces, dots and dashes).
pub fn normalise(value: &str) -> String {
    value
        .chars()
        .filter(|c| !matches!(c, ' ' | '.' | '-'))
        .collect::<String>()
        .to_ascii_uppercase()
}

/// The ISO country of a well-formed EU VAT number (`EL…` is Greece, `GR`), or `None`.
pub fn country_of(normalised: &str) -> Option<&'static str> {
    let (prefix, rest) = (normalised.get(..2)?, normalised.get(2..)?);
    let (code, patterns) = FORMATS.iter().find(|(code, _)| *code == prefix)?;
    if patterns.iter().any(|p| matches(p, rest)) {
        Some(if *code == "EL" { "GR" } else { code })
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        let ok = [
            "DE123456789",
            "FRXX123456789",
            "FR12345678901",
            "ATU12345678",
            "NL123456789B01",
            "IT12345678901",
            "ESX1234567X",
            "ES12345678A",
            "BE0123456789",
            "PL1234567890",
            "SE123456789001",
            "EL123456789",
            "IE1234567WA",
        ];
        for v in ok {
            assert!(country_of(v).is_some(), "{v}");
        }
        let bad = [
            "DE12345678",
            "DE1234567890",
            "FRIO123456789",
            "ATU1234567",
            "NL123456789A01",
            "BE2123456789",
            "SE123456789002",
            "GR123456789",
            "US123456789",
            "DE",
            "",
            "D",
        ];
        for v in bad {
            assert!(country_of(v).is_none(), "{v}");
        }
        assert_eq!(country_of(&normalise("el 123.456-789")), Some("GR"));
    }
}
