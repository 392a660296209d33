//! Reads `type<TAB>value` lines (Stripe tax id types: `eu_vat`, `gb_vat`, `ch_vat`, `no_vat`)
//! and prints, per line, `ok<TAB>normalised<TAB>country` or `err<TAB>format|check_digits`.
//! Used by `tests/tax/vat_numbers.py` to compare billcalc's checks with python-stdnum's.
use billcalc::tax::vat_id::{check, Problem};
use std::io::{BufRead, Write};

fn main() {
    let stdin = std::io::stdin();
    let mut out = std::io::BufWriter::new(std::io::stdout());
    for line in stdin.lock().lines() {
        let line = line.expect("stdin");
        let (kind, value) = line.split_once('\t').unwrap_or(("eu_vat", line.as_str()));
        let verdict = match check(kind, value) {
            Ok(n) => format!("ok\t{}\t{}", n.normalised, n.country),
            Err(Problem::Format) => "err\tformat".to_string(),
            Err(Problem::CheckDigits) => "err\tcheck_digits".to_string(),
        };
        writeln!(out, "{verdict}").expect("stdout");
    }
}
