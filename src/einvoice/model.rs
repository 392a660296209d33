//! The EN 16931 document model: one invoice or credit note as the standard sees it, independent
//! of its syntax (CII, UBL). Field comments give the business term (BT) or group (BG) number of
//! EN 16931-1:2017.
//!
//! Amounts are exact decimals in the currency's major unit (`"12.50"` EUR, `"1250"` JPY), as
//! the documents carry them; the engine's integer minor units are converted once, exactly, by
//! [`super::from_engine`]. Dates are ISO 8601 calendar dates (`YYYY-MM-DD`).

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// BT-3: 380 commercial invoice, 381 credit note (the only two types billcalc writes; the
/// reader accepts any code and keeps it).
pub const INVOICE: u16 = 380;
pub const CREDIT_NOTE: u16 = 381;

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Document {
    /// BT-1.
    pub number: String,
    /// BT-3 (UNTDID 1001): 380 or 381.
    pub type_code: u16,
    /// BT-2.
    pub issue_date: String,
    /// BT-9.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_date: Option<String>,
    /// BT-5, ISO 4217 upper case.
    pub currency: String,
    /// BT-23, the business process. For French invoices the 2026 reform's « cadre de
    /// facturation »: `B1` goods, `S1` services, `M1` both (`B2`/`S2`/`M2` already paid).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub business_process: Option<String>,
    /// BT-8 as UNTDID 2005 (3 issue date, 35 delivery date, 432 paid to date); `3` is the
    /// French « option pour le paiement de la TVA d'après les débits ». CII writes it in
    /// UNTDID 2475 (5, 29, 72).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vat_point_date_code: Option<String>,
    /// BT-10.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buyer_reference: Option<String>,
    /// BT-12.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contract_reference: Option<String>,
    /// BT-13.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_reference: Option<String>,
    /// BG-1: notes with their UNTDID 4451 subject code (`AAB`, `PMD`, `PMT`, `REG`, …).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<Note>,
    /// BG-3: the invoice a credit note corrects.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub preceding_invoices: Vec<PrecedingInvoice>,
    /// BG-4.
    pub seller: Party,
    /// BG-7.
    pub buyer: Party,
    /// BG-13.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery: Option<Delivery>,
    /// BG-14.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invoice_period: Option<Period>,
    /// BG-16.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub payment_means: Vec<PaymentMeans>,
    /// BT-20.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_terms: Option<String>,
    /// BG-20 (allowances) and BG-21 (charges) at document level.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowances_charges: Vec<AllowanceCharge>,
    /// BG-25.
    pub lines: Vec<Line>,
    /// BG-23, one entry per VAT category and rate.
    pub vat_breakdown: Vec<VatBreakdown>,
    /// BG-22.
    pub totals: Totals,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Note {
    /// BT-21.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// BT-22.
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrecedingInvoice {
    /// BT-25.
    pub number: String,
    /// BT-26.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issue_date: Option<String>,
}

/// An identifier with its scheme (ISO 6523 ICD: `0002` SIREN, `0009` SIRET, `0088` GLN; for
/// electronic addresses the EAS code list: `EM` e-mail, `0225` French SIREN routing, `9957`
/// French VAT).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Identifier {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheme: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Party {
    /// BT-27 / BT-44.
    pub name: String,
    /// BT-28 / BT-45.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trading_name: Option<String>,
    /// BT-29 / BT-46: other identifiers (a SIRET next to the SIREN).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ids: Vec<Identifier>,
    /// BT-30 / BT-47: legal registration (SIREN `0002`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legal_id: Option<Identifier>,
    /// BT-31 / BT-48.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vat_id: Option<String>,
    /// BT-33 (seller only): legal form, share capital, RCS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legal_info: Option<String>,
    /// BT-34 / BT-49.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub electronic_address: Option<Identifier>,
    /// BG-5 / BG-8.
    pub address: Address,
    /// BG-6 / BG-9.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact: Option<Contact>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Address {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line1: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line2: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subdivision: Option<String>,
    /// ISO 3166-1 alpha-2 (BT-40 / BT-55 / BT-80).
    pub country: String,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Contact {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Delivery {
    /// BT-70.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// BT-72.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
    /// BG-15.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<Address>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Period {
    pub start: String,
    pub end: String,
}

/// BG-16. `code` is UNTDID 4461: `48` bank card, `58` SEPA credit transfer, `59` SEPA direct
/// debit, `30` credit transfer, `10` cash.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaymentMeans {
    /// BT-81.
    pub code: String,
    /// BT-83: the remittance reference the payer quotes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remittance: Option<String>,
    /// BT-84: the payee's IBAN (credit transfer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iban: Option<String>,
    /// BT-85.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_name: Option<String>,
    /// BT-86.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bic: Option<String>,
    /// BT-87: the card's last digits only (never the number).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card_last4: Option<String>,
    /// BT-88.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card_holder: Option<String>,
    /// BT-89: the direct-debit mandate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mandate: Option<String>,
    /// BT-90: the creditor identifier (SEPA).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creditor_id: Option<String>,
    /// BT-91: the debited account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub debited_iban: Option<String>,
}

/// A VAT category (BT-95/102/118/151, UNCL 5305: S, Z, E, AE, K, G, O, L, M) and rate.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VatRate {
    pub category: String,
    /// Percent; absent for category O.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<Decimal>,
}

impl VatRate {
    /// The same category and numerically equal rate (`20` and `20.00` are one rate).
    pub fn same(&self, other: &VatRate) -> bool {
        self.category == other.category
            && self.rate.map(|r| r.normalize()) == other.rate.map(|r| r.normalize())
    }
}

/// BG-20 / BG-21 (document level, with `vat`) and BG-27 / BG-28 (line level, without).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AllowanceCharge {
    /// `false`: an allowance (a discount); `true`: a charge.
    pub charge: bool,
    /// BT-92 / BT-99 / BT-136 / BT-141.
    pub amount: Decimal,
    /// BT-93 / BT-100 / BT-137 / BT-142.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_amount: Option<Decimal>,
    /// BT-94 / BT-101 / BT-138 / BT-143.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub percent: Option<Decimal>,
    /// BT-97 / BT-104 / BT-139 / BT-144.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// BT-98 / BT-105 / BT-140 / BT-145 (UNTDID 5189 allowances, 7161 charges).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason_code: Option<String>,
    /// BT-95 / BT-102: document level only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vat: Option<VatRate>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Line {
    /// BT-126.
    pub id: String,
    /// BT-127.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// BT-153.
    pub name: String,
    /// BT-154.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// BT-155.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seller_item_id: Option<String>,
    /// BT-129.
    pub quantity: Decimal,
    /// BT-130 (UN/ECE Rec 20: `C62` one, `HUR` hour, `MON` month, …).
    pub unit_code: String,
    /// BT-146, per `base_quantity` units, never negative.
    pub net_price: Decimal,
    /// BT-149; 1 when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_quantity: Option<Decimal>,
    /// BT-148.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gross_price: Option<Decimal>,
    /// BG-27 / BG-28.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowances_charges: Vec<AllowanceCharge>,
    /// BT-131: quantity × price − allowances + charges.
    pub net_amount: Decimal,
    /// BG-30.
    pub vat: VatRate,
    /// BG-26.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period: Option<Period>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VatBreakdown {
    #[serde(flatten)]
    pub vat: VatRate,
    /// BT-116.
    pub taxable_amount: Decimal,
    /// BT-117.
    pub tax_amount: Decimal,
    /// BT-120.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exemption_reason: Option<String>,
    /// BT-121 (VATEX: `VATEX-EU-AE`, `VATEX-EU-IC`, `VATEX-EU-G`, `VATEX-EU-O`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exemption_code: Option<String>,
}

/// BG-22.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Totals {
    /// BT-106: sum of line net amounts.
    pub line_total: Decimal,
    /// BT-107.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowance_total: Option<Decimal>,
    /// BT-108.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub charge_total: Option<Decimal>,
    /// BT-109.
    pub tax_exclusive: Decimal,
    /// BT-110.
    pub tax_total: Decimal,
    /// BT-112.
    pub tax_inclusive: Decimal,
    /// BT-113.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prepaid: Option<Decimal>,
    /// BT-114.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rounding: Option<Decimal>,
    /// BT-115.
    pub payable: Decimal,
}

impl Document {
    pub fn is_credit_note(&self) -> bool {
        self.type_code == CREDIT_NOTE
    }
}
