//! VAT numbers: normalisation of what people type, then the format and check digits of each
//! country's number. No VIES look-up (that needs a network); a number that passes here is
//! well formed with correct check digits, not necessarily registered.
//!
//! Covered: the EU-27 (Greece as `EL`), Northern Ireland (`XI`, the UK algorithm), the UK
//! (`GB`), Switzerland (`CHE…` + `MWST`/`TVA`/`IVA`/`TPV`) and Norway (`…MVA`). The algorithms
//! follow the national specifications as collected by python-stdnum 2.2
//! (`stdnum/<cc>/vat.py` and the modules they call), cited per country below; the test
//! `tests/vat_numbers.sh` checks every real number python-stdnum lists and every check-digit
//! mutant against it.

/// A VAT number that passed the format and check-digit test.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VatNumber {
    /// Prefix, then the number as the tax authority writes it, without separators
    /// (`DE136695976`, `NL004495445B01`, `CHE116281710MWST`, `NO974760673MVA`).
    pub normalised: String,
    /// The ISO 3166-1 country whose VAT area issued it (`GR` for `EL`, `GB` for `XI`).
    pub country: &'static str,
    /// The VAT prefix (`EL`, `XI`, `CHE`, …).
    pub prefix: &'static str,
}

/// Why a number was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Problem {
    /// Not the shape of any number of its prefix (length, characters, unknown prefix).
    Format,
    /// The shape is right but the check digits are wrong (a typo).
    CheckDigits,
}

impl Problem {
    pub fn message(self) -> &'static str {
        match self {
            Problem::Format => "not a well-formed VAT number for its country prefix",
            Problem::CheckDigits => "the VAT number's check digits are wrong (a typing error?)",
        }
    }
}

/// Stripe tax id types whose numbers are checked here.
pub fn is_checked_type(kind: &str) -> bool {
    matches!(kind, "eu_vat" | "gb_vat" | "ch_vat" | "no_vat")
}

/// Uppercase, without the separators people type: spaces, dots, dashes, commas, colons,
/// slashes, underscores and parentheses (`BE (0)468.561.072` → `BE0468561072`).
pub fn normalise(value: &str) -> String {
    value
        .chars()
        .filter(|c| {
            !c.is_whitespace() && !matches!(c, '.' | '-' | ',' | ':' | '/' | '_' | '(' | ')')
        })
        .collect::<String>()
        .to_ascii_uppercase()
}

const EU_PREFIXES: &[(&str, &str)] = &[
    ("AT", "AT"),
    ("BE", "BE"),
    ("BG", "BG"),
    ("CY", "CY"),
    ("CZ", "CZ"),
    ("DE", "DE"),
    ("DK", "DK"),
    ("EE", "EE"),
    ("EL", "GR"),
    ("ES", "ES"),
    ("FI", "FI"),
    ("FR", "FR"),
    ("HR", "HR"),
    ("HU", "HU"),
    ("IE", "IE"),
    ("IT", "IT"),
    ("LT", "LT"),
    ("LU", "LU"),
    ("LV", "LV"),
    ("MT", "MT"),
    ("NL", "NL"),
    ("PL", "PL"),
    ("PT", "PT"),
    ("RO", "RO"),
    ("SE", "SE"),
    ("SI", "SI"),
    ("SK", "SK"),
    ("XI", "GB"),
];

/// Checks a Stripe-typed tax id (`eu_vat`, `gb_vat`, `ch_vat`, `no_vat`). `eu_vat` needs its
/// prefix (`XI` included; `GR` is read as `EL`); the others may omit it.
pub fn check(kind: &str, value: &str) -> Result<VatNumber, Problem> {
    let n = normalise(value);
    // Every format is ASCII letters and digits; the national checks work by byte position, which
    // on a character of several bytes (`ESé1234567`) would not be a character boundary. (Their
    // text slices are `get`s too: no slicing panic path is linked into the wasm.)
    if !n.is_ascii() {
        return Err(Problem::Format);
    }
    match kind {
        "eu_vat" => {
            let head = n.get(..2).ok_or(Problem::Format)?;
            let head = if head == "GR" { "EL" } else { head };
            let (prefix, country) = EU_PREFIXES
                .iter()
                .find(|(p, _)| *p == head)
                .copied()
                .ok_or(Problem::Format)?;
            let body = n.get(2..).ok_or(Problem::Format)?;
            let body = national(prefix, body)?;
            Ok(VatNumber {
                normalised: format!("{prefix}{body}"),
                country,
                prefix,
            })
        }
        "gb_vat" => {
            let body = n.strip_prefix("GB").unwrap_or(&n);
            let body = gb(body)?;
            Ok(VatNumber {
                normalised: format!("GB{body}"),
                country: "GB",
                prefix: "GB",
            })
        }
        "ch_vat" => {
            let body = ch(&n)?;
            Ok(VatNumber {
                normalised: body,
                country: "CH",
                prefix: "CHE",
            })
        }
        "no_vat" => {
            let body = n.strip_prefix("NO").unwrap_or(&n);
            let body = no(body)?;
            Ok(VatNumber {
                normalised: format!("NO{body}"),
                country: "NO",
                prefix: "NO",
            })
        }
        _ => Err(Problem::Format),
    }
}

/// The ISO country of an EU VAT number that passes its check (`EL…` is `GR`, `XI…` is `GB`).
pub fn country_of(value: &str) -> Option<&'static str> {
    check("eu_vat", value).ok().map(|v| v.country)
}

fn digits(s: &str) -> Option<Vec<u32>> {
    if s.is_empty() {
        return None;
    }
    s.chars().map(|c| c.to_digit(10)).collect()
}

fn weighted(d: &[u32], weights: &[u32]) -> u32 {
    d.iter().zip(weights).map(|(a, b)| a * b).sum()
}

/// Luhn checksum (ISO/IEC 7812-1 annex B): 0 for a valid number.
fn luhn(d: &[u32]) -> u32 {
    d.iter()
        .rev()
        .enumerate()
        .map(|(i, &x)| {
            if i % 2 == 1 {
                (x * 2) / 10 + (x * 2) % 10
            } else {
                x
            }
        })
        .sum::<u32>()
        % 10
}

/// ISO 7064 MOD 11,10: 1 for a valid number.
fn mod_11_10(d: &[u32]) -> u32 {
    d.iter().fold(5, |check, &n| {
        ((if check == 0 { 10 } else { check }) * 2 % 11 + n) % 10
    })
}

/// ISO 7064 MOD 97-10 over letters (A = 10 … Z = 35) and digits: 1 for a valid number.
fn mod_97_10(s: &str) -> Option<u32> {
    let mut r: u64 = 0;
    for c in s.chars() {
        let v = c.to_digit(36)? as u64;
        r = if v >= 10 { r * 100 + v } else { r * 10 + v } % 97;
    }
    Some(r as u32)
}

fn leap(y: u32) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn valid_date(y: u32, m: u32, d: u32) -> bool {
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap(y) => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&d)
}

fn num(d: &[u32]) -> u64 {
    d.iter().fold(0, |a, &x| a * 10 + u64::from(x))
}

/// Checks the national part; returns it as written after normalisation (leading zeros the
/// country drops are restored).
fn national(prefix: &str, body: &str) -> Result<String, Problem> {
    use Problem::*;
    let ok = |b: bool| {
        if b {
            Ok(body.to_string())
        } else {
            Err(CheckDigits)
        }
    };
    match prefix {
        // Austria (UID, BMF): U + 8 digits; Luhn-based: check = (6 − luhn(d1..d7)) mod 10.
        "AT" => {
            let d = body.strip_prefix('U').and_then(digits).ok_or(Format)?;
            if d.len() != 8 {
                return Err(Format);
            }
            ok((6 + 10 - luhn(&d[..7])) % 10 == d[7])
        }
        // Belgium (numéro d'entreprise): 10 digits from 0 or 1 (9-digit old numbers get a
        // leading 0); the last two are 97 − (first eight mod 97).
        "BE" => {
            let b = if body.len() == 9 {
                format!("0{body}")
            } else {
                body.to_string()
            };
            let d = digits(&b).ok_or(Format)?;
            if d.len() != 10 || d[0] > 1 || num(&d) == 0 {
                return Err(Format);
            }
            if (num(&d[..8]) + num(&d[8..])) % 97 == 0 {
                Ok(b)
            } else {
                Err(CheckDigits)
            }
        }
        // Bulgaria (ЕИК / ЕГН / ЛНЧ): 9 digits for companies, 10 for persons and others.
        "BG" => {
            let d = digits(body).ok_or(Format)?;
            match d.len() {
                9 => {
                    let mut c = (0..8).map(|i| (i as u32 + 1) * d[i]).sum::<u32>() % 11;
                    if c == 10 {
                        c = (0..8).map(|i| (i as u32 + 3) * d[i]).sum::<u32>() % 11;
                    }
                    ok(c % 10 == d[8])
                }
                10 => ok(bg_egn(&d) || bg_pnf(&d) || bg_other(&d)),
                _ => Err(Format),
            }
        }
        // Cyprus: 8 digits + check letter; never starting 12.
        "CY" => {
            let (head, last) = body
                .split_at_checked(body.len().saturating_sub(1))
                .ok_or(Format)?;
            let d = digits(head).ok_or(Format)?;
            if d.len() != 8
                || !last.chars().all(|c| c.is_ascii_uppercase())
                || head.starts_with("12")
            {
                return Err(Format);
            }
            const T: [u32; 10] = [1, 0, 5, 7, 9, 13, 15, 17, 19, 21];
            let s: u32 = d
                .iter()
                .enumerate()
                .map(|(i, &x)| if i % 2 == 0 { T[x as usize] } else { x })
                .sum();
            ok(last.as_bytes()[0] == b'A' + (s % 26) as u8)
        }
        // Czechia (DIČ): 8 digits for companies, 9 from 6 for special cases, 9–10 for persons
        // (rodné číslo with its birth date).
        "CZ" => {
            let d = digits(body).ok_or(Format)?;
            match d.len() {
                8 => {
                    if d[0] == 9 {
                        return Err(Format);
                    }
                    let s: u32 = (0..7).map(|i| (8 - i as u32) * d[i]).sum();
                    let c = (11 - s % 11) % 11;
                    ok((if c == 0 { 1 } else { c }) % 10 == d[7])
                }
                9 if d[0] == 6 => {
                    let s: u32 = (0..7).map(|i| (8 - i as u32) * d[i + 1]).sum::<u32>() % 11;
                    ok((s + 8) % 10 == d[8])
                }
                9 | 10 => ok(cz_rc(&d)),
                _ => Err(Format),
            }
        }
        // Germany (USt-IdNr.): 9 digits, not from 0, ISO 7064 MOD 11,10.
        "DE" => {
            let d = digits(body).ok_or(Format)?;
            if d.len() != 9 || d[0] == 0 {
                return Err(Format);
            }
            ok(mod_11_10(&d) == 1)
        }
        // Denmark (CVR): 8 digits, not from 0, weights 2 7 6 5 4 3 2 1, mod 11 = 0.
        "DK" => {
            let d = digits(body).ok_or(Format)?;
            if d.len() != 8 || d[0] == 0 {
                return Err(Format);
            }
            ok(weighted(&d, &[2, 7, 6, 5, 4, 3, 2, 1]) % 11 == 0)
        }
        // Estonia (KMKR): 9 digits, weights 3 7 1 …, mod 10 = 0.
        "EE" => {
            let d = digits(body).ok_or(Format)?;
            if d.len() != 9 {
                return Err(Format);
            }
            ok(weighted(&d, &[3, 7, 1, 3, 7, 1, 3, 7, 1]) % 10 == 0)
        }
        // Greece (ΑΦΜ): 9 digits (8-digit old numbers get a leading 0); doubling sum mod 11.
        "EL" => {
            let b = if body.len() == 8 {
                format!("0{body}")
            } else {
                body.to_string()
            };
            let d = digits(&b).ok_or(Format)?;
            if d.len() != 9 {
                return Err(Format);
            }
            let s = d[..8].iter().fold(0u32, |a, &x| a * 2 + x);
            if s * 2 % 11 % 10 == d[8] {
                Ok(b)
            } else {
                Err(CheckDigits)
            }
        }
        // Spain (NIF): DNI (8 digits + letter), NIE (X/Y/Z), K/L/M, or CIF (organisation
        // letter, 7 digits, digit or letter check).
        "ES" => es(body).map(|()| body.to_string()),
        // Finland (ALV): 8 digits, weights 7 9 10 5 8 4 2 1, mod 11 = 0.
        "FI" => {
            let d = digits(body).ok_or(Format)?;
            if d.len() != 8 {
                return Err(Format);
            }
            ok(weighted(&d, &[7, 9, 10, 5, 8, 4, 2, 1]) % 11 == 0)
        }
        // France (TVA intracommunautaire): 2 key characters + SIREN (9 digits, Luhn);
        // numeric key = (SIREN × 100 + 12) mod 97 (CGI annexe, BOI-TVA-DECLA-30-20-30).
        "FR" => fr(body).map(|()| body.to_string()),
        // Croatia (OIB): 11 digits, ISO 7064 MOD 11,10.
        "HR" => {
            let d = digits(body).ok_or(Format)?;
            if d.len() != 11 {
                return Err(Format);
            }
            ok(mod_11_10(&d) == 1)
        }
        // Hungary (ANUM): 8 digits, weights 9 7 3 1 …, mod 10 = 0.
        "HU" => {
            let d = digits(body).ok_or(Format)?;
            if d.len() != 8 {
                return Err(Format);
            }
            ok(weighted(&d, &[9, 7, 3, 1, 9, 7, 3, 1]) % 10 == 0)
        }
        // Ireland: 7 digits + check letter (+ optional letter), or the old form with a letter
        // second; weights 8…2, mod 23.
        "IE" => ie(body).map(|()| body.to_string()),
        // Italy (partita IVA): 11 digits, office code 001–100, 120, 121, 888 or 999, Luhn.
        "IT" => {
            let d = digits(body).ok_or(Format)?;
            if d.len() != 11 || num(&d[..7]) == 0 {
                return Err(Format);
            }
            let office = num(&d[7..10]);
            if !((1..=100).contains(&office) || [120, 121, 888, 999].contains(&office)) {
                return Err(Format);
            }
            ok(luhn(&d) == 0)
        }
        // Lithuania (PVM): 9 digits (8th is 1) or 12 (11th is 1), weights 1…9 then 3…, mod 11.
        "LT" => {
            let d = digits(body).ok_or(Format)?;
            let marker = match d.len() {
                9 => d[7],
                12 => d[10],
                _ => return Err(Format),
            };
            if marker != 1 {
                return Err(Format);
            }
            let n = d.len() - 1;
            let mut c: u32 = (0..n).map(|i| (1 + i as u32 % 9) * d[i]).sum::<u32>() % 11;
            if c == 10 {
                c = (0..n).map(|i| (1 + (i as u32 + 2) % 9) * d[i]).sum::<u32>();
            }
            ok(c % 11 % 10 == d[n])
        }
        // Luxembourg: 8 digits, the last two = first six mod 89.
        "LU" => {
            let d = digits(body).ok_or(Format)?;
            if d.len() != 8 {
                return Err(Format);
            }
            ok(num(&d[..6]) % 89 == num(&d[6..]))
        }
        // Latvia (PVN): 11 digits; companies (first digit above 3) weights mod 11 = 3; persons
        // (birth date, or 32… since 2017) their own check digit.
        "LV" => {
            let d = digits(body).ok_or(Format)?;
            if d.len() != 11 {
                return Err(Format);
            }
            if d[0] > 3 {
                return ok(weighted(&d, &[9, 1, 4, 8, 3, 10, 2, 5, 7, 6, 1]) % 11 == 3);
            }
            if !(d[0] == 3 && d[1] == 2) {
                let day = d[0] * 10 + d[1];
                let month = d[2] * 10 + d[3];
                let year = 1800 + d[6] * 100 + d[4] * 10 + d[5];
                if !valid_date(year, month, day) {
                    return Err(Format);
                }
            }
            let c = 1 + weighted(&d[..10], &[10, 5, 8, 4, 2, 1, 6, 3, 7, 9]);
            ok(c % 11 % 10 == d[10])
        }
        // Malta: 8 digits, not from 0, weights 3 4 6 7 8 9 10 1, mod 37 = 0.
        "MT" => {
            let d = digits(body).ok_or(Format)?;
            if d.len() != 8 || d[0] == 0 {
                return Err(Format);
            }
            ok(weighted(&d, &[3, 4, 6, 7, 8, 9, 10, 1]) % 37 == 0)
        }
        // Netherlands (btw-id): 9 digits (leading zeros restored), B, 2 digits; the 9 digits
        // pass the BSN eleven-test, or (numbers since 2020) NL + number passes MOD 97-10.
        "NL" => {
            let b = body.find('B').ok_or(Format)?;
            let (head, tail) = body.split_at_checked(b).ok_or(Format)?;
            if head.is_empty() || head.len() > 9 || tail.len() != 3 {
                return Err(Format);
            }
            let padded = format!("{head:0>9}{tail}");
            let d = padded.get(..9).and_then(digits).ok_or(Format)?;
            let suffix = padded.get(10..).and_then(digits).ok_or(Format)?;
            if num(&d) == 0 || num(&suffix) == 0 {
                return Err(Format);
            }
            let bsn = (weighted(&d[..8], &[9, 8, 7, 6, 5, 4, 3, 2]) + 11 - d[8]) % 11 == 0;
            let mod97 = mod_97_10(&format!("NL{padded}")) == Some(1);
            if bsn || mod97 {
                Ok(padded)
            } else {
                Err(CheckDigits)
            }
        }
        // Poland (NIP): 10 digits, weights 6 5 7 2 3 4 5 6 7, mod 11 = the last digit.
        "PL" => {
            let d = digits(body).ok_or(Format)?;
            if d.len() != 10 {
                return Err(Format);
            }
            ok(weighted(&d[..9], &[6, 5, 7, 2, 3, 4, 5, 6, 7]) % 11 == d[9])
        }
        // Portugal (NIF): 9 digits, not from 0, weights 9…2, (11 − s mod 11) mod 11 mod 10.
        "PT" => {
            let d = digits(body).ok_or(Format)?;
            if d.len() != 9 || d[0] == 0 {
                return Err(Format);
            }
            let s: u32 = (0..8).map(|i| (9 - i as u32) * d[i]).sum();
            ok((11 - s % 11) % 11 % 10 == d[8])
        }
        // Romania: CUI/CIF of 2–10 digits (weights 7 5 3 2 1 7 5 3 2 right-aligned, × 10 mod
        // 11 mod 10), or a 13-digit CNP.
        "RO" => {
            let d = digits(body).ok_or(Format)?;
            match d.len() {
                13 => ok(ro_cnp(&d)),
                2..=10 if d[0] != 0 => {
                    let n = d.len() - 1;
                    let mut padded = vec![0; 9 - n];
                    padded.extend_from_slice(&d[..n]);
                    let s = weighted(&padded, &[7, 5, 3, 2, 1, 7, 5, 3, 2]);
                    ok(s * 10 % 11 % 10 == d[n])
                }
                _ => Err(Format),
            }
        }
        // Sweden (momsregistreringsnummer): organisation number (10 digits, Luhn) + 01.
        "SE" => {
            let d = digits(body).ok_or(Format)?;
            if d.len() != 12 || d[10] != 0 || d[11] != 1 {
                return Err(Format);
            }
            ok(luhn(&d[..10]) == 0)
        }
        // Slovenia (ID za DDV): 8 digits, not from 0, weights 8…2, 11 − s mod 11 (10 → 0).
        "SI" => {
            let d = digits(body).ok_or(Format)?;
            if d.len() != 8 || d[0] == 0 {
                return Err(Format);
            }
            let c = 11 - (0..7).map(|i| (8 - i as u32) * d[i]).sum::<u32>() % 11;
            ok((if c == 10 { 0 } else { c }) == d[7])
        }
        // Slovakia (IČ DPH): 10 digits divisible by 11, not from 0, third digit 2,3,4,7,8,9
        // (a birth number is also accepted).
        "SK" => {
            let d = digits(body).ok_or(Format)?;
            if d.len() != 10 {
                return Err(Format);
            }
            if cz_rc(&d) {
                return Ok(body.to_string());
            }
            if d[0] == 0 || ![2, 3, 4, 7, 8, 9].contains(&d[2]) {
                return Err(Format);
            }
            ok(num(&d) % 11 == 0)
        }
        "XI" => gb(body),
        _ => Err(Format),
    }
}

fn bg_egn(d: &[u32]) -> bool {
    let year = d[0] * 10 + d[1] + 1900;
    let month = d[2] * 10 + d[3];
    let day = d[4] * 10 + d[5];
    let (year, month) = match month {
        41..=52 => (year + 100, month - 40),
        21..=32 => (year - 100, month - 20),
        m => (year, m),
    };
    valid_date(year, month, day)
        && weighted(&d[..9], &[2, 4, 8, 5, 10, 9, 7, 3, 6]) % 11 % 10 == d[9]
}

fn bg_pnf(d: &[u32]) -> bool {
    weighted(&d[..9], &[21, 19, 17, 13, 11, 9, 7, 3, 1]) % 10 == d[9]
}

fn bg_other(d: &[u32]) -> bool {
    let c = (11 - weighted(&d[..9], &[4, 3, 2, 7, 6, 5, 4, 3, 2]) % 11) % 11;
    c == d[9]
}

/// Czech / Slovak birth number (rodné číslo): a valid date, and for 10 digits the number
/// mod 11 (mod 10) as its last digit.
fn cz_rc(d: &[u32]) -> bool {
    let mut year = 1900 + d[0] * 10 + d[1];
    let month = (d[2] * 10 + d[3]) % 50 % 20;
    let day = d[4] * 10 + d[5];
    if d.len() == 9 {
        if year >= 1980 {
            year -= 100;
        }
        if year > 1953 {
            return false;
        }
    } else if year < 1954 {
        year += 100;
    }
    if !valid_date(year, month, day) {
        return false;
    }
    d.len() == 9 || (num(&d[..9]) % 11 % 10) as u32 == d[9]
}

fn ro_cnp(d: &[u32]) -> bool {
    if d[0] == 0 {
        return false;
    }
    let century = match d[0] {
        3 | 4 => 1800,
        5 | 6 => 2000,
        _ => 1900,
    };
    let year = century + d[1] * 10 + d[2];
    if !valid_date(year, d[3] * 10 + d[4], d[5] * 10 + d[6]) {
        return false;
    }
    let county = d[7] * 10 + d[8];
    if !((1..=48).contains(&county) || [51, 52, 70, 80, 81, 82, 83].contains(&county)) {
        return false;
    }
    let c = weighted(&d[..12], &[2, 7, 9, 1, 4, 6, 3, 5, 8, 2, 7, 9]) % 11;
    (if c == 10 { 1 } else { c }) == d[12]
}

const DNI_LETTERS: &[u8; 23] = b"TRWAGMYFPDXBNJZSQVHLCKE";

fn es(body: &str) -> Result<(), Problem> {
    use Problem::*;
    let b = body.as_bytes();
    if b.len() != 9 {
        return Err(Format);
    }
    let middle = body.get(1..8).and_then(digits).ok_or(Format)?;
    let (first, last) = (b[0], b[8]);
    let dni = |n: u64| DNI_LETTERS[(n % 23) as usize];
    let ok = |v: bool| if v { Ok(()) } else { Err(CheckDigits) };
    match first {
        b'K' | b'L' | b'M' => ok(last == dni(num(&middle))),
        b'0'..=b'9' => ok(last == dni(u64::from(first - b'0') * 10_000_000 + num(&middle))),
        b'X' | b'Y' | b'Z' => ok(last == dni(u64::from(first - b'X') * 10_000_000 + num(&middle))),
        b'A' | b'B' | b'C' | b'D' | b'E' | b'F' | b'G' | b'H' | b'J' | b'N' | b'P' | b'Q'
        | b'R' | b'S' | b'U' | b'V' | b'W' => {
            // CIF: the Luhn check digit of the 7 digits, or its letter J A B … I.
            let mut with_zero = middle.clone();
            with_zero.push(0);
            let check = (10 - luhn(&with_zero)) % 10;
            ok(last == b'0' + check as u8 || last == b"JABCDEFGHI"[check as usize])
        }
        _ => Err(Format),
    }
}

const FR_ALPHABET: &[u8] = b"0123456789ABCDEFGHJKLMNPQRSTUVWXYZ";

fn fr(body: &str) -> Result<(), Problem> {
    use Problem::*;
    let b = body.as_bytes();
    if b.len() != 11 {
        return Err(Format);
    }
    let pos = |c: u8| FR_ALPHABET.iter().position(|&a| a == c).map(|p| p as u64);
    let (k0, k1) = (pos(b[0]).ok_or(Format)?, pos(b[1]).ok_or(Format)?);
    let siren = body.get(2..).and_then(digits).ok_or(Format)?;
    // Monaco's numbers (FR..000……) are valid VAT numbers but not SIRENs.
    if body.get(2..5) != Some("000") && luhn(&siren) != 0 {
        return Err(CheckDigits);
    }
    let n = num(&siren);
    let valid = if k0 < 10 && k1 < 10 {
        k0 * 10 + k1 == (n * 100 + 12) % 97
    } else {
        let check = if k0 < 10 {
            k0 * 24 + k1 - 10
        } else {
            k0 * 34 + k1 - 100
        };
        (n + 1 + check / 11) % 11 == check % 11
    };
    if valid {
        Ok(())
    } else {
        Err(CheckDigits)
    }
}

const IE_ALPHABET: &[u8] = b"WABCDEFGHIJKLMNOPQRSTUV";

fn ie(body: &str) -> Result<(), Problem> {
    use Problem::*;
    let b = body.as_bytes();
    if !(b.len() == 8 || b.len() == 9) || !b[0].is_ascii_digit() {
        return Err(Format);
    }
    if !b[2..7].iter().all(u8::is_ascii_digit) || !b[7..].iter().all(|c| IE_ALPHABET.contains(c)) {
        return Err(Format);
    }
    let calc = |seven: &[u8], extra: Option<u8>| -> u8 {
        let s: usize = seven
            .iter()
            .enumerate()
            .map(|(i, c)| (8 - i) * usize::from(c - b'0'))
            .sum();
        let e = extra.map_or(0, |x| IE_ALPHABET.iter().position(|&a| a == x).unwrap_or(0));
        IE_ALPHABET[(s + 9 * e) % 23]
    };
    if b[..7].iter().all(u8::is_ascii_digit) {
        if b[7] == calc(&b[..7], b.get(8).copied()) {
            Ok(())
        } else {
            Err(CheckDigits)
        }
    } else if b[1].is_ascii_uppercase() || b[1] == b'+' || b[1] == b'*' {
        // Old form: digit, letter, 5 digits, check letter → 0 + 5 digits + first digit.
        let mut seven = vec![b'0'];
        seven.extend_from_slice(&b[2..7]);
        seven.push(b[0]);
        if b[7] == calc(&seven, None) {
            Ok(())
        } else {
            Err(CheckDigits)
        }
    } else {
        Err(Format)
    }
}

/// United Kingdom and Northern Ireland (HMRC VAT Notice 700/1 and the published mod-97 /
/// 9755 algorithm): 9 digits (12 for branch traders), weights 8 7 6 5 4 3 2 10 1 mod 97 = 0,
/// or 42 / 55 for numbers from 100 000 000; GD/HA government and health numbers.
fn gb(body: &str) -> Result<String, Problem> {
    use Problem::*;
    let b = body.as_bytes();
    let ok = |v: bool| {
        if v {
            Ok(body.to_string())
        } else {
            Err(CheckDigits)
        }
    };
    match b.len() {
        5 => {
            let n: u32 = body
                .get(2..)
                .unwrap_or_default()
                .parse()
                .map_err(|_| Format)?;
            if !b[2..].iter().all(u8::is_ascii_digit) {
                return Err(Format);
            }
            match body.get(..2).unwrap_or_default() {
                "GD" if n < 500 => Ok(body.to_string()),
                "HA" if n >= 500 => Ok(body.to_string()),
                _ => Err(Format),
            }
        }
        11 if matches!(body.get(..6), Some("GD8888" | "HA8888")) => {
            let d = body.get(6..).and_then(digits).ok_or(Format)?;
            let n = num(&d[..3]);
            let fine = match body.get(..2).unwrap_or_default() {
                "GD" => n < 500,
                _ => n >= 500,
            };
            if !fine {
                return Err(Format);
            }
            ok(n % 97 == num(&d[3..]))
        }
        9 | 12 => {
            let d = digits(body).ok_or(Format)?;
            let s = weighted(&d[..9], &[8, 7, 6, 5, 4, 3, 2, 10, 1]) % 97;
            if num(&d[..3]) >= 100 {
                ok(matches!(s, 0 | 42 | 55))
            } else {
                ok(s == 0)
            }
        }
        _ => Err(Format),
    }
}

/// Switzerland (UID, Federal Statistical Office): CHE + 9 digits, weights 5 4 3 2 7 6 5 4,
/// (11 − s mod 11) mod 11 (10 is never issued), + MWST / TVA / IVA / TPV.
fn ch(n: &str) -> Result<String, Problem> {
    use Problem::*;
    let n = n.strip_prefix("CH").unwrap_or(n);
    let n = n.strip_prefix('E').unwrap_or(n);
    if n.len() < 9 {
        return Err(Format);
    }
    let (num_part, suffix) = n.split_at_checked(9).ok_or(Format)?;
    if !matches!(suffix, "MWST" | "TVA" | "IVA" | "TPV") {
        return Err(Format);
    }
    let d = digits(num_part).ok_or(Format)?;
    let c = (11 - weighted(&d[..8], &[5, 4, 3, 2, 7, 6, 5, 4]) % 11) % 11;
    if c == d[8] {
        Ok(format!("CHE{num_part}{suffix}"))
    } else {
        Err(CheckDigits)
    }
}

/// Norway (organisasjonsnummer, Brønnøysund): 9 digits, weights 3 2 7 6 5 4 3 2 1, mod 11 = 0,
/// + MVA.
fn no(body: &str) -> Result<String, Problem> {
    use Problem::*;
    let n = body.strip_suffix("MVA").ok_or(Format)?;
    let d = digits(n).ok_or(Format)?;
    if d.len() != 9 {
        return Err(Format);
    }
    if weighted(&d, &[3, 2, 7, 6, 5, 4, 3, 2, 1]) % 11 == 0 {
        Ok(body.to_string())
    } else {
        Err(CheckDigits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bodies are sliced by position after a length check in bytes: a character of several
    /// bytes anywhere (normalise keeps `é`, `ß`, `€`) must give `Format`, never a panic (a
    /// panic traps the wasm instance). Every prefix and kind, every length up to 16, the
    /// character at every position, among digits and among the letters the formats use.
    #[test]
    fn characters_of_several_bytes_never_panic() {
        let mut kinds: Vec<(&str, String)> = EU_PREFIXES
            .iter()
            .map(|(p, _)| ("eu_vat", p.to_string()))
            .collect();
        for (kind, prefix) in [
            ("gb_vat", "GB"),
            ("gb_vat", "GBGD"),
            ("gb_vat", "GBHA"),
            ("gb_vat", "GBGD8888"),
            ("gb_vat", ""),
            ("ch_vat", "CHE"),
            ("ch_vat", ""),
            ("no_vat", "NO"),
            ("no_vat", ""),
        ] {
            kinds.push((kind, prefix.to_string()));
        }
        let mut checked = 0;
        for (kind, prefix) in &kinds {
            for filler in [
                "1234567890123456",
                "ABCDEFGHJKLMNPQR",
                "U1234567B0123456",
                "000MWST00B000000",
            ] {
                for len in 0..=16 {
                    for at in 0..=len {
                        for wide in ["é", "€", "𝟘"] {
                            let body = [&filler[..at], wide, &filler[at..len]].concat();
                            let value = [prefix.as_str(), &body].concat();
                            assert_eq!(check(kind, &value).err(), Some(Problem::Format), "{value}");
                            checked += 1;
                        }
                    }
                }
            }
        }
        assert!(checked > 10_000);
    }

    fn eu(v: &str) -> Result<String, Problem> {
        check("eu_vat", v).map(|n| n.normalised)
    }

    #[test]
    fn issue_examples() {
        assert_eq!(eu("DE136695976"), Ok("DE136695976".into()));
        for last in 0..10 {
            if last != 6 {
                assert_eq!(
                    eu(&format!("DE13669597{last}")),
                    Err(Problem::CheckDigits),
                    "{last}"
                );
            }
        }
        assert_eq!(eu("DE 136,695 976"), Ok("DE136695976".into()));
        assert_eq!(eu("DK: 21599336"), Ok("DK21599336".into()));
        assert_eq!(eu("BE (0)468.561.072"), Ok("BE0468561072".into()));
        assert_eq!(eu("NL4495445B01"), Ok("NL004495445B01".into()));
        assert_eq!(eu("el 094259216"), Ok("EL094259216".into()));
        assert_eq!(check("eu_vat", "GR094259216").map(|v| v.country), Ok("GR"));
        assert_eq!(
            check("eu_vat", "XI 980 7806 84").map(|v| v.country),
            Ok("GB")
        );
        assert_eq!(
            check("ch_vat", "CHE-116.281.710 MWST").map(|v| v.normalised),
            Ok("CHE116281710MWST".into())
        );
        assert_eq!(
            check("no_vat", "974 760 673 MVA").map(|v| v.normalised),
            Ok("NO974760673MVA".into())
        );
        assert_eq!(eu("US123456789"), Err(Problem::Format));
        assert_eq!(eu(""), Err(Problem::Format));
        assert_eq!(eu("D"), Err(Problem::Format));
    }
}
