//! ISO 4217 currencies and their minor-unit exponents.

use crate::error::{Error, ErrorCode, Result};
use serde::{Serialize, Serializer};

/// An active ISO 4217 currency. Compared and printed as its lowercase code (Stripe's convention).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Currency {
    code: &'static str,
    exponent: u8,
}

impl Currency {
    /// Looks a code up in any case (`"EUR"`, `"eur"`). Unknown codes are an error.
    pub fn parse(code: &str, path: &str) -> Result<Currency> {
        // Every code is three ASCII letters: lowercased on the stack (no String per quote).
        let lower = match code.as_bytes() {
            &[a, b, c] => [a, b, c].map(|x| x.to_ascii_lowercase()),
            _ => [0; 3],
        };
        CURRENCIES
            .binary_search_by(|(c, _)| c.as_bytes().cmp(&lower[..]))
            .ok()
            .and_then(|i| CURRENCIES.get(i))
            .map(|&(code, exponent)| Currency { code, exponent })
            .ok_or_else(|| {
                Error::new(
                    ErrorCode::UnknownCurrency,
                    path,
                    "not an active ISO 4217 currency code",
                )
            })
    }

    /// Lowercase ISO code, e.g. `"usd"`.
    pub fn code(self) -> &'static str {
        self.code
    }

    /// Number of decimal digits in the minor unit: 2 for USD, 0 for JPY, 3 for KWD, 4 for CLF.
    pub fn exponent(self) -> u32 {
        u32::from(self.exponent)
    }

    /// The smallest amount a card processor charges in this currency, in minor units (Stripe's
    /// published minimums); `None` where billcalc knows none. An invoice whose amount due is
    /// positive but below it is not charged: the amount is carried to the customer's balance.
    pub fn minimum_charge(self) -> Option<i64> {
        MINIMUM_CHARGES
            .binary_search_by(|(c, _)| (*c).cmp(self.code))
            .ok()
            .and_then(|i| MINIMUM_CHARGES.get(i))
            .map(|&(_, amount)| amount)
    }
}

/// Minimum charge amounts in minor units, sorted by code: Stripe's published table of minimum
/// charge amounts (USD/EUR 0.50, GBP 0.30, JPY 50, …; checked against a 2023 copy of that table,
/// HRK left out as withdrawn). Callers may override it per invoice (`minimum_charge_amount`).
const MINIMUM_CHARGES: &[(&str, i64)] = &[
    ("aed", 200),
    ("aud", 50),
    ("bgn", 100),
    ("brl", 50),
    ("cad", 50),
    ("chf", 50),
    ("czk", 1500),
    ("dkk", 250),
    ("eur", 50),
    ("gbp", 30),
    ("hkd", 400),
    ("huf", 17500),
    ("inr", 50),
    ("jpy", 50),
    ("mxn", 1000),
    ("myr", 200),
    ("nok", 300),
    ("nzd", 50),
    ("pln", 200),
    ("ron", 200),
    ("sek", 300),
    ("sgd", 50),
    ("thb", 1000),
    ("usd", 50),
];

impl Serialize for Currency {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.code)
    }
}

/// Every active ISO 4217 code with its exponent, sorted for binary search.
/// Exponents follow ISO 4217 as listed in shared/REFERENCE.md §2 (ISK, UGX: 0; IDR: 2; CLF: 4).
/// Precious metals, testing and fund codes without a minor unit (XAU, XDR, XTS, …) are not money
/// a shop can charge and are left out; withdrawn codes (HRK, SLL, CUC) too.
const CURRENCIES: &[(&str, u8)] = &[
    ("aed", 2),
    ("afn", 2),
    ("all", 2),
    ("amd", 2),
    ("ang", 2),
    ("aoa", 2),
    ("ars", 2),
    ("aud", 2),
    ("awg", 2),
    ("azn", 2),
    ("bam", 2),
    ("bbd", 2),
    ("bdt", 2),
    ("bgn", 2),
    ("bhd", 3),
    ("bif", 0),
    ("bmd", 2),
    ("bnd", 2),
    ("bob", 2),
    ("bov", 2),
    ("brl", 2),
    ("bsd", 2),
    ("btn", 2),
    ("bwp", 2),
    ("byn", 2),
    ("bzd", 2),
    ("cad", 2),
    ("cdf", 2),
    ("che", 2),
    ("chf", 2),
    ("chw", 2),
    ("clf", 4),
    ("clp", 0),
    ("cny", 2),
    ("cop", 2),
    ("cou", 2),
    ("crc", 2),
    ("cup", 2),
    ("cve", 2),
    ("czk", 2),
    ("djf", 0),
    ("dkk", 2),
    ("dop", 2),
    ("dzd", 2),
    ("egp", 2),
    ("ern", 2),
    ("etb", 2),
    ("eur", 2),
    ("fjd", 2),
    ("fkp", 2),
    ("gbp", 2),
    ("gel", 2),
    ("ghs", 2),
    ("gip", 2),
    ("gmd", 2),
    ("gnf", 0),
    ("gtq", 2),
    ("gyd", 2),
    ("hkd", 2),
    ("hnl", 2),
    ("htg", 2),
    ("huf", 2),
    ("idr", 2),
    ("ils", 2),
    ("inr", 2),
    ("iqd", 3),
    ("irr", 2),
    ("isk", 0),
    ("jmd", 2),
    ("jod", 3),
    ("jpy", 0),
    ("kes", 2),
    ("kgs", 2),
    ("khr", 2),
    ("kmf", 0),
    ("kpw", 2),
    ("krw", 0),
    ("kwd", 3),
    ("kyd", 2),
    ("kzt", 2),
    ("lak", 2),
    ("lbp", 2),
    ("lkr", 2),
    ("lrd", 2),
    ("lsl", 2),
    ("lyd", 3),
    ("mad", 2),
    ("mdl", 2),
    ("mga", 2),
    ("mkd", 2),
    ("mmk", 2),
    ("mnt", 2),
    ("mop", 2),
    ("mru", 2),
    ("mur", 2),
    ("mvr", 2),
    ("mwk", 2),
    ("mxn", 2),
    ("mxv", 2),
    ("myr", 2),
    ("mzn", 2),
    ("nad", 2),
    ("ngn", 2),
    ("nio", 2),
    ("nok", 2),
    ("npr", 2),
    ("nzd", 2),
    ("omr", 3),
    ("pab", 2),
    ("pen", 2),
    ("pgk", 2),
    ("php", 2),
    ("pkr", 2),
    ("pln", 2),
    ("pyg", 0),
    ("qar", 2),
    ("ron", 2),
    ("rsd", 2),
    ("rub", 2),
    ("rwf", 0),
    ("sar", 2),
    ("sbd", 2),
    ("scr", 2),
    ("sdg", 2),
    ("sek", 2),
    ("sgd", 2),
    ("shp", 2),
    ("sle", 2),
    ("sos", 2),
    ("srd", 2),
    ("ssp", 2),
    ("stn", 2),
    ("svc", 2),
    ("syp", 2),
    ("szl", 2),
    ("thb", 2),
    ("tjs", 2),
    ("tmt", 2),
    ("tnd", 3),
    ("top", 2),
    ("try", 2),
    ("ttd", 2),
    ("twd", 2),
    ("tzs", 2),
    ("uah", 2),
    ("ugx", 0),
    ("usd", 2),
    ("usn", 2),
    ("uyi", 0),
    ("uyu", 2),
    ("uyw", 4),
    ("uzs", 2),
    ("ved", 2),
    ("ves", 2),
    ("vnd", 0),
    ("vuv", 0),
    ("wst", 2),
    ("xaf", 0),
    ("xcd", 2),
    ("xcg", 2),
    ("xof", 0),
    ("xpf", 0),
    ("yer", 2),
    ("zar", 2),
    ("zmw", 2),
    ("zwg", 2),
    ("zwl", 2),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_in_any_case() {
        for code in ["eur", "EUR", "Eur", "eUr"] {
            assert_eq!(Currency::parse(code, "c").map(|c| c.code()), Ok("eur"));
        }
        assert_eq!(Currency::parse("JPY", "c").map(|c| c.exponent()), Ok(0));
        for bad in [
            "",
            "eu",
            "euro",
            "xyz",
            "eu\u{0}",
            "éu",
            " eur",
            "e\u{212a}",
        ] {
            assert_eq!(
                Currency::parse(bad, "c").map_err(|e| (e.code, e.path)),
                Err((ErrorCode::UnknownCurrency, "c".to_string())),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn table_is_sorted_and_unique() {
        assert!(CURRENCIES.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(MINIMUM_CHARGES.windows(2).all(|w| w[0].0 < w[1].0));
        for (code, _) in MINIMUM_CHARGES {
            assert!(Currency::parse(code, "").is_ok(), "{code}");
        }
    }

    #[test]
    fn minimum_charges() {
        let min = |c: &str| Currency::parse(c, "").unwrap().minimum_charge();
        assert_eq!(min("usd"), Some(50));
        assert_eq!(min("EUR"), Some(50));
        assert_eq!(min("gbp"), Some(30));
        assert_eq!(min("jpy"), Some(50));
        assert_eq!(min("kwd"), None);
    }

    #[test]
    fn exponents_match_reference() {
        let exp = |c: &str| Currency::parse(c, "").map(Currency::exponent);
        for c in [
            "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI",
            "VND", "VUV", "XAF", "XOF", "XPF",
        ] {
            assert_eq!(exp(c), Ok(0), "{c}");
        }
        for c in ["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"] {
            assert_eq!(exp(c), Ok(3), "{c}");
        }
        for c in ["CLF", "UYW"] {
            assert_eq!(exp(c), Ok(4), "{c}");
        }
        for c in ["usd", "Eur", "gbp", "chf", "cad", "aud", "idr"] {
            assert_eq!(exp(c), Ok(2), "{c}");
        }
        assert_eq!(
            exp("xyz").map_err(|e| e.code),
            Err(ErrorCode::UnknownCurrency)
        );
        assert_eq!(exp("").map_err(|e| e.code), Err(ErrorCode::UnknownCurrency));
    }
}
