//! Prints billcalc's built-in tax table (`src/tax/table.rs`) as JSON lines:
//! `{"country","region","category","percent","tax_type","from","until"}` with dates as
//! YYYYMMDD numbers (`until` exclusive, 0 = open). Used by `tests/tax/rates_crosscheck.py`.
use billcalc::tax::table::{Category, ROWS};

fn main() {
    for row in ROWS {
        let category = match row.category {
            Category::Standard => "standard",
            Category::Reduced => "reduced",
            Category::Reduced2 => "reduced_2",
            Category::SuperReduced => "super_reduced",
            Category::Parking => "parking",
        };
        let percent = rust_decimal::Decimal::new(row.ten_thousandths, 4).normalize();
        println!(
            "{{\"country\":\"{}\",\"region\":\"{}\",\"category\":\"{category}\",\"percent\":\"{percent}\",\"tax_type\":\"{}\",\"from\":{},\"until\":{}}}",
            row.country,
            row.region,
            row.tax_type.as_str(),
            row.from,
            row.until
        );
    }
}
