//! French mentions (Code de commerce L441-9, CGI art. 242 nonies A, and the 2026 e-invoicing
//! reform): written as notes with their UNTDID 4451 subject codes, as the French Factur-X
//! guidance does, and the operation category as BT-23.

use super::from_engine::DocumentInfo;
use super::model::Note;
use crate::error::{Error, ErrorCode, Result};

/// The VAT-on-debits option (CGI art. 269-2-c), when the seller chose it.
pub const VAT_ON_DEBITS: &str = "Option pour le paiement de la TVA d'après les débits";

/// Late-payment penalties (L441-10): at least three times the legal interest rate.
pub const LATE_PAYMENT_PENALTY: &str =
    "Pénalités de retard : trois fois le taux d'intérêt légal, exigibles dès le lendemain de la date d'échéance.";

/// The fixed recovery indemnity owed by a business buyer paying late (L441-10, D441-5).
pub const RECOVERY_INDEMNITY: &str =
    "Indemnité forfaitaire pour frais de recouvrement en cas de retard de paiement : 40 €.";

/// Early-payment terms (L441-9): stated even when there is none.
pub const NO_EARLY_PAYMENT_DISCOUNT: &str = "Pas d'escompte pour paiement anticipé.";

/// The payment mentions every French B2B invoice carries: late penalties (`PMD`), the 40 €
/// recovery indemnity (`PMT`) and the early-payment terms (`AAB`).
pub fn payment_notes(info: &DocumentInfo, _categories: &[&str]) -> Vec<Note> {
    vec![
        Note {
            subject: Some("PMD".into()),
            text: info
                .late_payment_penalty
                .clone()
                .unwrap_or_else(|| LATE_PAYMENT_PENALTY.into()),
        },
        Note {
            subject: Some("PMT".into()),
            text: RECOVERY_INDEMNITY.into(),
        },
        Note {
            subject: Some("AAB".into()),
            text: info
                .early_payment_discount
                .clone()
                .unwrap_or_else(|| NO_EARLY_PAYMENT_DISCOUNT.into()),
        },
    ]
}

/// BT-23 for the category of the operation (2026 reform, « cadre de facturation »): `B1`
/// goods, `S1` services, `M1` both; `B2`/`S2`/`M2` for an invoice already paid.
pub fn operation_code(operation: &str, paid: bool) -> Result<String> {
    let letter = match operation {
        "goods" => "B",
        "services" => "S",
        "both" => "M",
        _ => {
            return Err(Error::new(
                ErrorCode::InvalidRequest,
                "operation",
                "the operation is goods, services or both",
            ))
        }
    };
    Ok(format!("{letter}{}", if paid { 2 } else { 1 }))
}
