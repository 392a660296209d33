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
    /// The parking rate (Directive 2006/112/EC Art. 118), where a country keeps one.
    Parking,
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

const fn reg(
    country: &'static str,
    region: &'static str,
    category: Category,
    ten_thousandths: i64,
    from: u32,
    until: u32,
) -> Row {
    Row {
        region,
        ..dated(country, category, ten_thousandths, from, until)
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
    // EU-27 (VAT). Greece is GR here (its VAT numbers use EL). Every rate in force since
    // 2019-01-01 with its window; the source is the member state's VAT law as reported to the
    // European Commission (TEDB / "VAT rates applied in the Member States"), and the act named
    // on dated rows. Cross-checked day by day by tests/tax_rates_crosscheck.py.
    // AT: UStG 1994 §10 (Jungholz and Mittelberg, AT-JM here: standard 19 %, §10(4));
    // 5 % for hospitality, culture and publications 2020-07-01..2021-12-31
    // (COVID-19-Steuermaßnahmengesetz, BGBl. I 60/2020, extended by BGBl. I 3/2021); 4.9 % for
    // basic food from 2026-07-01 (Budgetbegleitgesetz 2026).
    r("AT", Standard, 20 * P, Vat),
    r("AT", Reduced, 10 * P, Vat),
    r("AT", Reduced2, 13 * P, Vat),
    dated("AT", SuperReduced, 5 * P, 20200701, 20220101),
    dated("AT", SuperReduced, 49_000, 20260701, 0),
    r("AT", Parking, 13 * P, Vat),
    reg("AT", "JM", Standard, 19 * P, 0, 0),
    // BE: Code TVA art. 37 and royal decree no. 20.
    r("BE", Standard, 21 * P, Vat),
    r("BE", Reduced, 6 * P, Vat),
    r("BE", Reduced2, 12 * P, Vat),
    r("BE", Parking, 12 * P, Vat),
    // BG: ЗДДС art. 66.
    r("BG", Standard, 20 * P, Vat),
    r("BG", Reduced, 9 * P, Vat),
    // CY: VAT Law 95(I)/2000, Schedules; 3 % from 2023-07-21 (Law 109(I)/2023).
    r("CY", Standard, 19 * P, Vat),
    r("CY", Reduced, 5 * P, Vat),
    r("CY", Reduced2, 9 * P, Vat),
    dated("CY", SuperReduced, 3 * P, 20230721, 0),
    // CZ: zákon 235/2004 §47; reduced rates 10 and 15 merged into 12 on 2024-01-01
    // (zákon 349/2023).
    r("CZ", Standard, 21 * P, Vat),
    dated("CZ", Reduced, 10 * P, 0, 20240101),
    dated("CZ", Reduced2, 15 * P, 0, 20240101),
    dated("CZ", Reduced, 12 * P, 20240101, 0),
    // DE: UStG §12; 16 % / 5 % from 2020-07-01 to 2020-12-31 (Zweites Corona-Steuerhilfegesetz,
    // BGBl. I 2020 S. 1512).
    dated("DE", Standard, 19 * P, 0, 20200701),
    dated("DE", Standard, 16 * P, 20200701, 20210101),
    dated("DE", Standard, 19 * P, 20210101, 0),
    dated("DE", Reduced, 7 * P, 0, 20200701),
    dated("DE", Reduced, 5 * P, 20200701, 20210101),
    dated("DE", Reduced, 7 * P, 20210101, 0),
    // DK: momsloven §33.
    r("DK", Standard, 25 * P, Vat),
    // EE: KMSS §15; 22 % from 2024-01-01 and 24 % from 2025-07-01 (RT I, 30.12.2022 and
    // RT I, 21.06.2025); 5 % for press publications 2022-01-01..2024-12-31 (back to 9 %);
    // 13 % for accommodation from 2025-01-01.
    dated("EE", Standard, 20 * P, 0, 20240101),
    dated("EE", Standard, 22 * P, 20240101, 20250701),
    dated("EE", Standard, 24 * P, 20250701, 0),
    r("EE", Reduced, 9 * P, Vat),
    dated("EE", SuperReduced, 5 * P, 20220101, 20250101),
    dated("EE", Reduced2, 13 * P, 20250101, 0),
    // ES: Ley 37/1992 art. 90, 91.
    r("ES", Standard, 21 * P, Vat),
    r("ES", Reduced, 10 * P, Vat),
    r("ES", SuperReduced, 4 * P, Vat),
    // FI: AVL §84, 85, 85a; 25.5 % from 2024-09-01 (L 417/2024); 13.5 % from 2026-01-01.
    dated("FI", Standard, 24 * P, 0, 20240901),
    dated("FI", Standard, 255_000, 20240901, 0),
    r("FI", Reduced, 10 * P, Vat),
    dated("FI", Reduced2, 14 * P, 0, 20260101),
    dated("FI", Reduced2, 135_000, 20260101, 0),
    // FR: CGI art. 278, 278-0 bis, 279, 281 quater.
    r("FR", Standard, 20 * P, Vat),
    r("FR", Reduced, 55_000, Vat),
    r("FR", Reduced2, 10 * P, Vat),
    r("FR", SuperReduced, 21_000, Vat),
    // GR: Κώδικας ΦΠΑ (ν. 2859/2000) art. 21.
    r("GR", Standard, 24 * P, Vat),
    r("GR", Reduced, 6 * P, Vat),
    r("GR", Reduced2, 13 * P, Vat),
    // HR: Zakon o PDV čl. 38.
    r("HR", Standard, 25 * P, Vat),
    r("HR", Reduced, 5 * P, Vat),
    r("HR", Reduced2, 13 * P, Vat),
    // HU: Áfa tv. 82. §.
    r("HU", Standard, 27 * P, Vat),
    r("HU", Reduced, 5 * P, Vat),
    r("HU", Reduced2, 18 * P, Vat),
    // IE: VATCA 2010 s. 46; 21 % from 2020-09-01 to 2021-02-28 (Finance (COVID-19) Act 2020).
    dated("IE", Standard, 23 * P, 0, 20200901),
    dated("IE", Standard, 21 * P, 20200901, 20210301),
    dated("IE", Standard, 23 * P, 20210301, 0),
    r("IE", Reduced, 9 * P, Vat),
    r("IE", Reduced2, 135_000, Vat),
    r("IE", SuperReduced, 48_000, Vat),
    r("IE", Parking, 135_000, Vat),
    // IT: DPR 633/1972 art. 16 and tables A.
    r("IT", Standard, 22 * P, Vat),
    r("IT", Reduced, 5 * P, Vat),
    r("IT", Reduced2, 10 * P, Vat),
    r("IT", SuperReduced, 4 * P, Vat),
    // LT: PVM įstatymas art. 19.
    r("LT", Standard, 21 * P, Vat),
    r("LT", Reduced, 5 * P, Vat),
    dated("LT", Reduced2, 9 * P, 0, 20250101),
    dated("LT", Reduced2, 12 * P, 20250101, 0),
    // LU: loi TVA art. 39-40; every rate but 3 % one point lower in 2023 (loi du 26 octobre
    // 2022).
    dated("LU", Standard, 17 * P, 0, 20230101),
    dated("LU", Standard, 16 * P, 20230101, 20240101),
    dated("LU", Standard, 17 * P, 20240101, 0),
    dated("LU", Reduced, 8 * P, 0, 20230101),
    dated("LU", Reduced, 7 * P, 20230101, 20240101),
    dated("LU", Reduced, 8 * P, 20240101, 0),
    dated("LU", Reduced2, 14 * P, 0, 20230101),
    dated("LU", Reduced2, 13 * P, 20230101, 20240101),
    dated("LU", Reduced2, 14 * P, 20240101, 0),
    r("LU", SuperReduced, 3 * P, Vat),
    dated("LU", Parking, 14 * P, 0, 20230101),
    dated("LU", Parking, 13 * P, 20230101, 20240101),
    dated("LU", Parking, 14 * P, 20240101, 0),
    // LV: PVN likums 41., 42. pants.
    r("LV", Standard, 21 * P, Vat),
    r("LV", Reduced, 5 * P, Vat),
    r("LV", Reduced2, 12 * P, Vat),
    // MT: VAT Act Cap. 406, Eighth Schedule.
    r("MT", Standard, 18 * P, Vat),
    r("MT", Reduced, 5 * P, Vat),
    r("MT", Reduced2, 7 * P, Vat),
    r("MT", Parking, 12 * P, Vat),
    // NL: Wet OB 1968 art. 9 (9 % since 2019-01-01).
    r("NL", Standard, 21 * P, Vat),
    r("NL", Reduced, 9 * P, Vat),
    // PL: ustawa o VAT art. 41, 146ef.
    r("PL", Standard, 23 * P, Vat),
    r("PL", Reduced, 5 * P, Vat),
    r("PL", Reduced2, 8 * P, Vat),
    // PT: CIVA art. 18; Madeira (PT-30) and the Azores (PT-20) at their regional rates
    // (CIVA art. 18(3); Azores 18/9/4 → 16/9/4 on 2021-07-01, DLR 1/2021/A; Madeira reduced
    // 5 → 4 on 2024-10-01, Orçamento da RAM 2024).
    r("PT", Standard, 23 * P, Vat),
    r("PT", Reduced, 6 * P, Vat),
    r("PT", Reduced2, 13 * P, Vat),
    r("PT", Parking, 13 * P, Vat),
    reg("PT", "30", Standard, 22 * P, 0, 0),
    reg("PT", "30", Reduced, 5 * P, 0, 20241001),
    reg("PT", "30", Reduced, 4 * P, 20241001, 0),
    reg("PT", "30", Reduced2, 12 * P, 0, 0),
    reg("PT", "20", Standard, 18 * P, 0, 20210701),
    reg("PT", "20", Standard, 16 * P, 20210701, 0),
    reg("PT", "20", Reduced, 4 * P, 0, 0),
    reg("PT", "20", Reduced2, 9 * P, 0, 0),
    // RO: Codul fiscal art. 291; 21 % and 11 % from 2025-08-01 (Legea 141/2025).
    dated("RO", Standard, 19 * P, 0, 20250801),
    dated("RO", Standard, 21 * P, 20250801, 0),
    dated("RO", Reduced, 5 * P, 0, 20250801),
    dated("RO", Reduced2, 9 * P, 0, 20250801),
    dated("RO", Reduced, 11 * P, 20250801, 0),
    // SE: ML 9 kap.
    r("SE", Standard, 25 * P, Vat),
    r("SE", Reduced, 6 * P, Vat),
    r("SE", Reduced2, 12 * P, Vat),
    // SI: ZDDV-1 41. člen; 5 % from 2020-01-01 (ZDDV-1J).
    r("SI", Standard, 22 * P, Vat),
    dated("SI", Reduced, 5 * P, 20200101, 0),
    r("SI", Reduced2, 95_000, Vat),
    // SK: zákon 222/2004 §27; 23 %, 19 % and 5 % from 2025-01-01 (zákon 278/2024).
    dated("SK", Standard, 20 * P, 0, 20250101),
    dated("SK", Standard, 23 * P, 20250101, 0),
    dated("SK", Reduced, 10 * P, 0, 20250101),
    dated("SK", Reduced, 5 * P, 20250101, 0),
    dated("SK", Reduced2, 19 * P, 20250101, 0),
    // Europe outside the EU.
    r("GB", Standard, 20 * P, Vat),
    r("GB", Reduced, 5 * P, Vat),
    // 12.5 % for hospitality and tourism 2021-10-01..2022-03-31 (Finance Act 2021 s. 97; the
    // 5 % of 2020-07-15..2021-09-30 for the same supplies is the reduced rate above).
    dated("GB", Reduced2, 125_000, 20211001, 20220401),
    r("NO", Standard, 25 * P, Vat),
    r("NO", Reduced, 15 * P, Vat),
    // NO: merverdiavgiftsloven §5-1, 5-2; the 12 % rate was 6 % from 2020-04-01 to
    // 2021-09-30 (Stortingets vedtak, Prop. 70 LS (2019–2020), extended by Prop. 195 LS).
    dated("NO", Reduced2, 12 * P, 0, 20200401),
    dated("NO", Reduced2, 6 * P, 20200401, 20211001),
    dated("NO", Reduced2, 12 * P, 20211001, 0),
    dated("CH", Standard, 77_000, 0, 20240101),
    dated("CH", Standard, 81_000, 20240101, 0),
    dated("CH", Reduced, 25_000, 0, 20240101),
    dated("CH", Reduced, 26_000, 20240101, 0),
    dated("CH", Reduced2, 37_000, 0, 20240101),
    dated("CH", Reduced2, 38_000, 20240101, 0),
    // Asia-Pacific.
    r("AU", Standard, 10 * P, Gst),
    r("NZ", Standard, 15 * P, Gst),
    // JP: Consumption Tax Act art. 29 (national + local): 8 % until 2019-09-30, then 10 % with
    // a reduced 8 % for food and newspapers (Act No. 68 of 2012, as amended in 2016).
    Row {
        tax_type: Jct,
        ..dated("JP", Standard, 8 * P, 0, 20191001)
    },
    Row {
        tax_type: Jct,
        ..dated("JP", Standard, 10 * P, 20191001, 0)
    },
    Row {
        tax_type: Jct,
        ..dated("JP", Reduced, 8 * P, 20191001, 0)
    },
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
    // Manitoba RST 8 % → 7 % on 2019-07-01 (Budget Implementation and Tax Statutes Amendment
    // Act 2019, Retail Sales Tax Act s. 2).
    prov("MB", 8 * P, Rst, 0, 20190701),
    prov("MB", 7 * P, Rst, 20190701, 0),
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

/// Rows in force on `date` (YYYYMMDD) for a place and category. A region with rows of its own
/// (a Canadian province, Madeira) uses only those; elsewhere the nationwide rows apply.
pub fn rows<'a>(
    country: &'a str,
    region: &'a str,
    category: Category,
    date: u32,
) -> impl Iterator<Item = &'static Row> + 'a {
    let in_force = move |row: &&Row| {
        row.country == country
            && row.category == category
            && row.from <= date
            && (row.until == 0 || date < row.until)
    };
    let regional = !region.is_empty() && ROWS.iter().filter(in_force).any(|r| r.region == region);
    ROWS.iter().filter(in_force).filter(move |row| {
        if regional {
            row.region == region
        } else {
            row.region.is_empty()
        }
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
        assert_eq!(rate("DE", "", Standard, 20200630), vec![190_000]);
        assert_eq!(rate("DE", "", Standard, 20200701), vec![160_000]);
        assert_eq!(rate("DE", "", Reduced, 20201231), vec![50_000]);
        assert_eq!(rate("DE", "", Standard, 20210101), vec![190_000]);
        assert_eq!(rate("JP", "", Standard, 20190930), vec![80_000]);
        assert_eq!(rate("JP", "", Standard, 20191001), vec![100_000]);
        assert_eq!(rate("CY", "", SuperReduced, 20230720), Vec::<i64>::new());
        assert_eq!(rate("CY", "", SuperReduced, 20230721), vec![30_000]);
        assert_eq!(rate("CA", "MB", Standard, 20190630), vec![50_000, 80_000]);
        assert_eq!(rate("CA", "MB", Standard, 20190701), vec![50_000, 70_000]);
        // A region with its own rows uses only those; any other region the national ones.
        assert_eq!(rate("PT", "30", Standard, 20250101), vec![220_000]);
        assert_eq!(rate("PT", "", Standard, 20250101), vec![230_000]);
        assert_eq!(rate("PT", "LISBOA", Standard, 20250101), vec![230_000]);
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
