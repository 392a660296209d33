//! Built-in, effective-dated tax rates (data, versioned with the crate).
//!
//! One row per (place, category, rate, validity). Percentages are in ten-thousandths of a
//! percent (`255_000` = 25.5 %) so the table is plain integers; dates are `YYYYMMDD`, `from`
//! inclusive and `until` exclusive (0 = open). Sources: shared/REFERENCE.md §3 and the tax
//! authorities it cites. The US has no built-in table: merchants supply rules (see `TaxRule`).

use super::TaxType::{self, *};

/// Rate categories a product can declare.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Category {
    Standard,
    /// The first reduced rate listed for a country.
    Reduced,
    /// The second reduced rate, where a country has one.
    Reduced2,
    SuperReduced,
}

use Category::*;

pub struct Row {
    pub country: &'static str,
    /// Province or state ("" for nationwide).
    pub region: &'static str,
    pub category: Category,
    pub ten_thousandths: i64,
    pub tax_type: TaxType,
    pub from: u32,
    pub until: u32,
}

const fn r(
    country: &'static str,
    category: Category,
    ten_thousandths: i64,
    tax_type: TaxType,
) -> Row {
    Row {
        country,
        region: "",
        category,
        ten_thousandths,
        tax_type,
        from: 0,
        until: 0,
    }
}

const fn dated(
    country: &'static str,
    category: Category,
    ten_thousandths: i64,
    from: u32,
    until: u32,
) -> Row {
    Row {
        country,
        region: "",
        category,
        ten_thousandths,
        tax_type: Vat,
        from,
        until,
    }
}

const fn prov(
    region: &'static str,
    ten_thousandths: i64,
    tax_type: TaxType,
    from: u32,
    until: u32,
) -> Row {
    Row {
        country: "CA",
        region,
        category: Standard,
        ten_thousandths,
        tax_type,
        from,
        until,
    }
}

const P: i64 = 10_000; // one percent

pub const ROWS: &[Row] = &[
    // EU-27 (VAT). Greece is GR here (its VAT numbers use EL).
    r("AT", Standard, 20 * P, Vat),
    r("AT", Reduced, 10 * P, Vat),
    r("AT", Reduced2, 13 * P, Vat),
    r("BE", Standard, 21 * P, Vat),
    r("BE", Reduced, 6 * P, Vat),
    r("BE", Reduced2, 12 * P, Vat),
    r("BG", Standard, 20 * P, Vat),
    r("BG", Reduced, 9 * P, Vat),
    r("CY", Standard, 19 * P, Vat),
    r("CY", Reduced, 5 * P, Vat),
    r("CY", Reduced2, 9 * P, Vat),
    r("CZ", Standard, 21 * P, Vat),
    dated("CZ", Reduced, 10 * P, 0, 20240101),
    dated("CZ", Reduced2, 15 * P, 0, 20240101),
    dated("CZ", Reduced, 12 * P, 20240101, 0),
    r("DE", Standard, 19 * P, Vat),
    r("DE", Reduced, 7 * P, Vat),
    r("DK", Standard, 25 * P, Vat),
    dated("EE", Standard, 20 * P, 0, 20240101),
    dated("EE", Standard, 22 * P, 20240101, 20250701),
    dated("EE", Standard, 24 * P, 20250701, 0),
    r("EE", Reduced, 9 * P, Vat),
    dated("EE", Reduced2, 13 * P, 20250101, 0),
    r("ES", Standard, 21 * P, Vat),
    r("ES", Reduced, 10 * P, Vat),
    r("ES", SuperReduced, 4 * P, Vat),
    dated("FI", Standard, 24 * P, 0, 20240901),
    dated("FI", Standard, 255_000, 20240901, 0),
    r("FI", Reduced, 10 * P, Vat),
    dated("FI", Reduced2, 14 * P, 0, 20260101),
    dated("FI", Reduced2, 135_000, 20260101, 0),
    r("FR", Standard, 20 * P, Vat),
    r("FR", Reduced, 55_000, Vat),
    r("FR", Reduced2, 10 * P, Vat),
    r("FR", SuperReduced, 21_000, Vat),
    r("GR", Standard, 24 * P, Vat),
    r("GR", Reduced, 6 * P, Vat),
    r("GR", Reduced2, 13 * P, Vat),
    r("HR", Standard, 25 * P, Vat),
    r("HR", Reduced, 5 * P, Vat),
    r("HR", Reduced2, 13 * P, Vat),
    r("HU", Standard, 27 * P, Vat),
    r("HU", Reduced, 5 * P, Vat),
    r("HU", Reduced2, 18 * P, Vat),
    r("IE", Standard, 23 * P, Vat),
    r("IE", Reduced, 9 * P, Vat),
    r("IE", Reduced2, 135_000, Vat),
    r("IE", SuperReduced, 48_000, Vat),
    r("IT", Standard, 22 * P, Vat),
    r("IT", Reduced, 5 * P, Vat),
    r("IT", Reduced2, 10 * P, Vat),
    r("IT", SuperReduced, 4 * P, Vat),
    r("LT", Standard, 21 * P, Vat),
    r("LT", Reduced, 5 * P, Vat),
    r("LT", Reduced2, 12 * P, Vat),
    dated("LU", Standard, 16 * P, 0, 20240101),
    dated("LU", Standard, 17 * P, 20240101, 0),
    r("LU", Reduced, 8 * P, Vat),
    r("LU", Reduced2, 14 * P, Vat),
    r("LU", SuperReduced, 3 * P, Vat),
    r("LV", Standard, 21 * P, Vat),
    r("LV", Reduced, 5 * P, Vat),
    r("LV", Reduced2, 12 * P, Vat),
    r("MT", Standard, 18 * P, Vat),
    r("MT", Reduced, 5 * P, Vat),
    r("MT", Reduced2, 7 * P, Vat),
    r("NL", Standard, 21 * P, Vat),
    r("NL", Reduced, 9 * P, Vat),
    r("PL", Standard, 23 * P, Vat),
    r("PL", Reduced, 5 * P, Vat),
    r("PL", Reduced2, 8 * P, Vat),
    r("PT", Standard, 23 * P, Vat),
    r("PT", Reduced, 6 * P, Vat),
    r("PT", Reduced2, 13 * P, Vat),
    dated("RO", Standard, 19 * P, 0, 20250801),
    dated("RO", Standard, 21 * P, 20250801, 0),
    dated("RO", Reduced, 5 * P, 0, 20250801),
    dated("RO", Reduced2, 9 * P, 0, 20250801),
    dated("RO", Reduced, 11 * P, 20250801, 0),
    r("SE", Standard, 25 * P, Vat),
    r("SE", Reduced, 6 * P, Vat),
    r("SE", Reduced2, 12 * P, Vat),
    r("SI", Standard, 22 * P, Vat),
    r("SI", Reduced, 5 * P, Vat),
    r("SI", Reduced2, 95_000, Vat),
    dated("SK", Standard, 20 * P, 0, 20250101),
    dated("SK", Standard, 23 * P, 20250101, 0),
    dated("SK", Reduced, 10 * P, 0, 20250101),
    dated("SK", Reduced, 5 * P, 20250101, 0),
    dated("SK", Reduced2, 19 * P, 20250101, 0),
    // Europe outside the EU.
    r("GB", Standard, 20 * P, Vat),
    r("GB", Reduced, 5 * P, Vat),
    r("NO", Standard, 25 * P, Vat),
    r("NO", Reduced, 15 * P, Vat),
    r("NO", Reduced2, 12 * P, Vat),
    dated("CH", Standard, 77_000, 0, 20240101),
    dated("CH", Standard, 81_000, 20240101, 0),
    dated("CH", Reduced, 25_000, 0, 20240101),
    dated("CH", Reduced, 26_000, 20240101, 0),
    dated("CH", Reduced2, 37_000, 0, 20240101),
    dated("CH", Reduced2, 38_000, 20240101, 0),
    // Asia-Pacific.
    r("AU", Standard, 10 * P, Gst),
    r("NZ", Standard, 15 * P, Gst),
    r("JP", Standard, 10 * P, Jct),
    r("JP", Reduced, 8 * P, Jct),
    Row {
        country: "SG",
        region: "",
        category: Standard,
        ten_thousandths: 7 * P,
        tax_type: Gst,
        from: 0,
        until: 20230101,
    },
    Row {
        country: "SG",
        region: "",
        category: Standard,
        ten_thousandths: 8 * P,
        tax_type: Gst,
        from: 20230101,
        until: 20240101,
    },
    Row {
        country: "SG",
        region: "",
        category: Standard,
        ten_thousandths: 9 * P,
        tax_type: Gst,
        from: 20240101,
        until: 0,
    },
    // Canada: federal GST everywhere except the HST provinces, plus provincial taxes. QST is on
    // the price excluding GST (not compounded since 2013): every rate applies to the same base.
    prov("AB", 5 * P, Gst, 0, 0),
    prov("YT", 5 * P, Gst, 0, 0),
    prov("NT", 5 * P, Gst, 0, 0),
    prov("NU", 5 * P, Gst, 0, 0),
    prov("BC", 5 * P, Gst, 0, 0),
    prov("BC", 7 * P, Pst, 0, 0),
    prov("MB", 5 * P, Gst, 0, 0),
    prov("MB", 7 * P, Rst, 0, 0),
    prov("SK", 5 * P, Gst, 0, 0),
    prov("SK", 6 * P, Pst, 0, 0),
    prov("QC", 5 * P, Gst, 0, 0),
    prov("QC", 99_750, Qst, 0, 0),
    prov("ON", 13 * P, Hst, 0, 0),
    prov("NS", 15 * P, Hst, 0, 20250401),
    prov("NS", 14 * P, Hst, 20250401, 0),
    prov("NB", 15 * P, Hst, 0, 0),
    prov("NL", 15 * P, Hst, 0, 0),
    prov("PE", 15 * P, Hst, 0, 0),
];

/// The tax a country levies (`vat`, `gst`, …), for entries that charge none; `sales_tax` for
/// places without a built-in table.
pub fn tax_type_of(country: &str) -> &'static str {
    ROWS.iter()
        .find(|row| row.country == country)
        .map_or("sales_tax", |row| row.tax_type.as_str())
}

/// Countries with a built-in table. Elsewhere (e.g. the US) only merchant rules apply.
pub fn has_table(country: &str) -> bool {
    ROWS.iter().any(|row| row.country == country)
}

/// Rows in force on `date` (YYYYMMDD) for a place and category.
pub fn rows<'a>(
    country: &'a str,
    region: &'a str,
    category: Category,
    date: u32,
) -> impl Iterator<Item = &'static Row> + 'a {
    ROWS.iter().filter(move |row| {
        row.country == country
            && (row.region.is_empty() || row.region == region)
            && row.category == category
            && row.from <= date
            && (row.until == 0 || date < row.until)
    })
}

pub const EU: &[&str] = &[
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE", "IT",
    "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK",
];

pub fn in_eu(country: &str) -> bool {
    EU.contains(&country)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rate(country: &str, region: &str, category: Category, date: u32) -> Vec<i64> {
        rows(country, region, category, date)
            .map(|r| r.ten_thousandths)
            .collect()
    }

    #[test]
    fn dated_changes() {
        assert_eq!(rate("FI", "", Standard, 20240831), vec![240_000]);
        assert_eq!(rate("FI", "", Standard, 20240901), vec![255_000]);
        assert_eq!(rate("EE", "", Standard, 20250630), vec![220_000]);
        assert_eq!(rate("EE", "", Standard, 20250701), vec![240_000]);
        assert_eq!(rate("SK", "", Standard, 20241231), vec![200_000]);
        assert_eq!(rate("SK", "", Standard, 20250101), vec![230_000]);
        assert_eq!(rate("RO", "", Standard, 20250801), vec![210_000]);
        assert_eq!(rate("RO", "", Reduced2, 20250801), Vec::<i64>::new());
        assert_eq!(rate("CZ", "", Reduced, 20231231), vec![100_000]);
        assert_eq!(rate("CZ", "", Reduced, 20240101), vec![120_000]);
        assert_eq!(rate("LU", "", Standard, 20240101), vec![170_000]);
        assert_eq!(rate("FI", "", Reduced2, 20260101), vec![135_000]);
        assert_eq!(rate("CA", "QC", Standard, 20250101), vec![50_000, 99_750]);
        assert_eq!(rate("CA", "NS", Standard, 20250331), vec![150_000]);
        assert_eq!(rate("CA", "NS", Standard, 20250401), vec![140_000]);
    }

    #[test]
    fn every_eu_country_has_one_standard_rate_at_any_date() {
        for date in [20230101, 20240901, 20250701, 20250801, 20260101] {
            for c in EU
                .iter()
                .chain(["GB", "NO", "CH", "AU", "NZ", "JP", "SG"].iter())
            {
                assert_eq!(rate(c, "", Standard, date).len(), 1, "{c} {date}");
            }
        }
        assert_eq!(EU.len(), 27);
    }

    #[test]
    fn no_overlapping_rows() {
        for (i, a) in ROWS.iter().enumerate() {
            for b in &ROWS[i + 1..] {
                let same = a.country == b.country
                    && a.region == b.region
                    && a.category == b.category
                    && a.tax_type == b.tax_type;
                let overlap =
                    (b.until == 0 || a.from < b.until) && (a.until == 0 || b.from < a.until);
                assert!(!(same && overlap), "{} {} overlaps", a.country, a.region);
            }
        }
    }
}
