//! Words on invoices in French and English (the invoice's mentions, its HTML page, emails):
//! dates in words, month names, the engine's territory names in French.

/// French month names, for dates in words (invoices and emails).
pub const FR_MONTHS: [&str; 12] = [
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
];

/// English month names.
pub const EN_MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// `2026-03-02` as `2 mars 2026` / `2 March 2026`; anything else unchanged.
pub fn date_in_words(iso: &str, french: bool) -> String {
    let parts: Vec<&str> = iso.splitn(3, '-').collect();
    let parsed = match parts.as_slice() {
        [y, m, d] if y.len() == 4 => match (m.parse::<usize>(), d.parse::<u32>()) {
            (Ok(m @ 1..=12), Ok(d @ 1..=31)) => Some((y, m, d)),
            _ => None,
        },
        _ => None,
    };
    let Some((year, month, day)) = parsed else {
        return iso.to_string();
    };
    let month = if french { FR_MONTHS } else { EN_MONTHS }[month - 1];
    if french && day == 1 {
        format!("1er {month} {year}")
    } else {
        format!("{day} {month} {year}")
    }
}

/// The engine's territory names (src/tax/territory.rs) in French.
pub fn territory_fr(name: &str) -> String {
    match name {
        "Canary Islands" => "îles Canaries",
        "Åland Islands" => "îles Åland",
        "Mount Athos" => "mont Athos",
        "Campione d'Italia" => "Campione d'Italia",
        "French overseas departments and collectivities" => {
            "départements et collectivités d'outre-mer"
        }
        "French overseas countries and territories" => "pays et territoires d'outre-mer",
        "Isle of Man" => "île de Man",
        "Northern Ireland" => "Irlande du Nord",
        "Madeira" => "Madère",
        "Azores" => "Açores",
        other => other,
    }
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_in_words() {
        assert_eq!(date_in_words("2026-03-02", true), "2 mars 2026");
        assert_eq!(date_in_words("2026-11-01", true), "1er novembre 2026");
        assert_eq!(date_in_words("2026-03-02", false), "2 March 2026");
        assert_eq!(date_in_words("not a date", false), "not a date");
        assert_eq!(territory_fr("Canary Islands"), "îles Canaries");
        assert_eq!(territory_fr("Elsewhere"), "Elsewhere");
    }
}
