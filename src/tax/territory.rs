//! Places whose VAT status differs from the rest of their country, decided from the address's
//! country and postal code.
//!
//! Sources: Directive 2006/112/EC Article 6 (territories of member states outside the EU VAT
//! area) and Article 7 (Monaco, the Isle of Man and the UK Sovereign Base Areas treated as
//! part of France, the UK and Cyprus); the Windsor Framework / Northern Ireland Protocol
//! Article 8 (EU VAT rules for goods in Northern Ireland); the Swiss VAT Act (MWSTG) Art. 3
//! (Liechtenstein and Büsingen in the Swiss VAT area); Portuguese VAT Code Art. 18(3) with
//! the regional laws (Madeira and the Azores charge their own rates).

/// What a territory's special status means for VAT.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Part of an EU member state but outside the EU VAT area (Directive 2006/112/EC Art. 6):
    /// sales there are exports for an EU seller.
    OutsideEuVat,
    /// Taxed as part of another state's VAT area (Monaco → France).
    InsideOf(&'static str),
    /// Inside its state's VAT area with its own rates: the table's rows for `region`.
    OwnRates { region: &'static str },
    /// Northern Ireland: UK VAT, but EU VAT rules for goods (prefix XI).
    NorthernIreland,
}

#[derive(Debug)]
pub struct Territory {
    /// The country of the address (ISO 3166-1).
    pub country: &'static str,
    /// Postal code prefixes (after removing spaces); empty = the whole country code.
    pub postal_prefixes: &'static [&'static str],
    pub name: &'static str,
    pub status: Status,
    /// The statement a quote carries when the rule applies.
    pub note: &'static str,
}

const fn t(
    country: &'static str,
    postal_prefixes: &'static [&'static str],
    name: &'static str,
    status: Status,
    note: &'static str,
) -> Territory {
    Territory {
        country,
        postal_prefixes,
        name,
        status,
        note,
    }
}

use Status::*;

pub const TERRITORIES: &[Territory] = &[
    t("ES", &["35", "38"], "Canary Islands", OutsideEuVat,
      "Canary Islands: outside the EU VAT area (Directive 2006/112/EC Art. 6); IGIC, not VAT, applies there"),
    t("ES", &["51"], "Ceuta", OutsideEuVat,
      "Ceuta: outside the EU VAT area (Directive 2006/112/EC Art. 6); IPSI, not VAT, applies there"),
    t("ES", &["52"], "Melilla", OutsideEuVat,
      "Melilla: outside the EU VAT area (Directive 2006/112/EC Art. 6); IPSI, not VAT, applies there"),
    t("FI", &["22"], "Åland Islands", OutsideEuVat,
      "Åland Islands: outside the EU VAT area (Directive 2006/112/EC Art. 6)"),
    t("AX", &[], "Åland Islands", OutsideEuVat,
      "Åland Islands: outside the EU VAT area (Directive 2006/112/EC Art. 6)"),
    t("DE", &["78266"], "Büsingen am Hochrhein", OutsideEuVat,
      "Büsingen: outside the EU VAT area (Directive 2006/112/EC Art. 6), in the Swiss VAT area (MWSTG Art. 3)"),
    t("DE", &["27498"], "Heligoland", OutsideEuVat,
      "Heligoland: outside the EU VAT area (Directive 2006/112/EC Art. 6)"),
    t("IT", &["23041"], "Livigno", OutsideEuVat,
      "Livigno: outside the EU VAT area (Directive 2006/112/EC Art. 6)"),
    t("IT", &["22061"], "Campione d'Italia", OutsideEuVat,
      "Campione d'Italia: outside the EU VAT area (Directive 2006/112/EC Art. 6)"),
    t("GR", &["63086", "63087"], "Mount Athos", OutsideEuVat,
      "Mount Athos: outside the EU VAT area (Directive 2006/112/EC Art. 6)"),
    t("FR", &["971", "972", "973", "974", "975", "976", "977", "978"], "French overseas departments and collectivities", OutsideEuVat,
      "French overseas departments and collectivities: outside the EU VAT area (Directive 2006/112/EC Art. 6; TFEU Art. 349, 355)"),
    t("FR", &["984", "986", "987", "988"], "French overseas countries and territories", OutsideEuVat,
      "French overseas countries and territories: outside the EU VAT area (TFEU Art. 355 and Annex II)"),
    t("FR", &["980"], "Monaco", InsideOf("FR"),
      "Monaco: part of the French VAT territory (Directive 2006/112/EC Art. 7; Franco-Monegasque convention of 18 May 1963)"),
    t("MC", &[], "Monaco", InsideOf("FR"),
      "Monaco: part of the French VAT territory (Directive 2006/112/EC Art. 7; Franco-Monegasque convention of 18 May 1963)"),
    t("IM", &[], "Isle of Man", InsideOf("GB"),
      "Isle of Man: part of the UK VAT area (Directive 2006/112/EC Art. 7; Customs and Excise Agreement 1979)"),
    t("LI", &[], "Liechtenstein", InsideOf("CH"),
      "Liechtenstein: part of the Swiss VAT area (MWSTG Art. 3; treaty of 28 November 1994)"),
    t("GB", &["BT"], "Northern Ireland", NorthernIreland,
      "Northern Ireland: EU VAT rules apply to goods (Windsor Framework Art. 8); VAT numbers with the prefix XI"),
    t("AT", &["6691", "6991", "6992", "6993"], "Jungholz and Mittelberg", OwnRates { region: "JM" },
      "Jungholz and Mittelberg: Austrian VAT at 19 % standard (UStG 1994 §10(4))"),
    t("PT", &["90", "91", "92", "93"], "Madeira", OwnRates { region: "30" },
      "Madeira: Portuguese VAT at the rates of the Autonomous Region (CIVA Art. 18(3))"),
    t("PT", &["95", "96", "97", "98", "99"], "Azores", OwnRates { region: "20" },
      "Azores: Portuguese VAT at the rates of the Autonomous Region (CIVA Art. 18(3))"),
];

/// The special territory an address is in, if any. `postal_code` is compared without spaces,
/// upper-cased (`bt1 1aa` → `BT11AA`).
pub fn locate(country: &str, postal_code: Option<&str>) -> Option<&'static Territory> {
    let code: String = postal_code
        .unwrap_or("")
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_uppercase();
    TERRITORIES.iter().find(|t| {
        t.country == country
            && (t.postal_prefixes.is_empty()
                || t.postal_prefixes.iter().any(|p| code.starts_with(p)))
    })
}

/// ISO 3166-1 alpha-2 codes (officially assigned, 249), sorted, for address validation: `EL`
/// (Greece's VAT prefix), `UK` and `XI` are not countries.
const ISO_3166: &str = "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW";

/// Whether `code` (upper case) is an ISO 3166-1 alpha-2 country code.
pub fn is_iso_country(code: &str) -> bool {
    code.len() == 2 && ISO_3166.split(' ').any(|c| c == code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_list_is_sorted_and_complete() {
        let codes: Vec<&str> = ISO_3166.split(' ').collect();
        assert_eq!(codes.len(), 249);
        assert!(codes.windows(2).all(|w| w[0] < w[1]));
        assert!(!is_iso_country("EL") && !is_iso_country("UK") && !is_iso_country("XI"));
        assert!(is_iso_country("GR") && is_iso_country("MC"));
    }

    #[test]
    fn places() {
        assert_eq!(
            locate("ES", Some("35001")).map(|t| t.name),
            Some("Canary Islands")
        );
        assert_eq!(locate("ES", Some("28001")).map(|t| t.name), None);
        assert_eq!(
            locate("GB", Some("bt1 1aa")).map(|t| t.status),
            Some(NorthernIreland)
        );
        assert_eq!(locate("GB", Some("SW1A 1AA")).map(|t| t.name), None);
        assert_eq!(locate("MC", None).map(|t| t.status), Some(InsideOf("FR")));
        assert_eq!(
            locate("FI", Some("22100")).map(|t| t.name),
            Some("Åland Islands")
        );
        assert_eq!(
            locate("PT", Some("9000-018")).map(|t| t.name),
            Some("Madeira")
        );
        assert_eq!(
            locate("PT", Some("9500-150")).map(|t| t.name),
            Some("Azores")
        );
        assert_eq!(locate("PT", Some("1000-001")).map(|t| t.name), None);
    }
}
