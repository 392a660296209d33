//! OASIS UBL 2.1 `Invoice` (380) and `CreditNote` (381) with the EN 16931 customization
//! (`urn:cen.eu:en16931:2017`). Elements follow the order of the UBL 2.1 schemas.

use super::model::*;
use super::xml::{amount, number, Xml};

pub const INVOICE_NS: &str = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2";
pub const CREDIT_NOTE_NS: &str = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2";
const CAC: &str = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2";
const CBC: &str = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2";

struct W<'a> {
    x: Xml,
    currency: &'a str,
    exp: u32,
}

impl W<'_> {
    fn money(&mut self, tag: &str, value: rust_decimal::Decimal) {
        let text = amount(value, self.exp);
        self.x.leaf(tag, &[("currencyID", self.currency)], &text);
    }
}

fn address(x: &mut Xml, tag: &str, a: &Address) {
    x.open(tag, &[]);
    x.opt("cbc:StreetName", a.line1.as_deref());
    x.opt("cbc:AdditionalStreetName", a.line2.as_deref());
    x.opt("cbc:CityName", a.city.as_deref());
    x.opt("cbc:PostalZone", a.postal_code.as_deref());
    x.opt("cbc:CountrySubentity", a.subdivision.as_deref());
    x.open("cac:Country", &[]);
    x.text("cbc:IdentificationCode", &a.country);
    x.close("cac:Country");
    x.close(tag);
}

fn party(x: &mut Xml, tag: &str, p: &Party, seller: bool) {
    x.open(tag, &[]);
    x.open("cac:Party", &[]);
    if let Some(e) = &p.electronic_address {
        x.leaf(
            "cbc:EndpointID",
            &[("schemeID", e.scheme.as_deref().unwrap_or("EM"))],
            &e.id,
        );
    }
    for id in &p.ids {
        x.open("cac:PartyIdentification", &[]);
        match &id.scheme {
            Some(s) => x.leaf("cbc:ID", &[("schemeID", s)], &id.id),
            None => x.text("cbc:ID", &id.id),
        }
        x.close("cac:PartyIdentification");
    }
    if let Some(trading) = &p.trading_name {
        x.open("cac:PartyName", &[]);
        x.text("cbc:Name", trading);
        x.close("cac:PartyName");
    }
    address(x, "cac:PostalAddress", &p.address);
    if let Some(vat) = &p.vat_id {
        x.open("cac:PartyTaxScheme", &[]);
        x.text("cbc:CompanyID", vat);
        x.open("cac:TaxScheme", &[]);
        x.text("cbc:ID", "VAT");
        x.close("cac:TaxScheme");
        x.close("cac:PartyTaxScheme");
    }
    x.open("cac:PartyLegalEntity", &[]);
    x.text("cbc:RegistrationName", &p.name);
    if let Some(id) = &p.legal_id {
        match &id.scheme {
            Some(s) => x.leaf("cbc:CompanyID", &[("schemeID", s)], &id.id),
            None => x.text("cbc:CompanyID", &id.id),
        }
    }
    if seller {
        x.opt("cbc:CompanyLegalForm", p.legal_info.as_deref());
    }
    x.close("cac:PartyLegalEntity");
    if let Some(c) = &p.contact {
        x.open("cac:Contact", &[]);
        x.opt("cbc:Name", c.name.as_deref());
        x.opt("cbc:Telephone", c.phone.as_deref());
        x.opt("cbc:ElectronicMail", c.email.as_deref());
        x.close("cac:Contact");
    }
    x.close("cac:Party");
    x.close(tag);
}

fn tax_category(
    x: &mut Xml,
    tag: &str,
    vat: &VatRate,
    reason: Option<(&Option<String>, &Option<String>)>,
) {
    x.open(tag, &[]);
    x.text("cbc:ID", &vat.category);
    if let Some(rate) = vat.rate {
        x.text("cbc:Percent", &number(rate));
    }
    if let Some((text, code)) = reason {
        x.opt("cbc:TaxExemptionReasonCode", code.as_deref());
        x.opt("cbc:TaxExemptionReason", text.as_deref());
    }
    x.open("cac:TaxScheme", &[]);
    x.text("cbc:ID", "VAT");
    x.close("cac:TaxScheme");
    x.close(tag);
}

fn allowance_charge(w: &mut W, a: &AllowanceCharge) {
    w.x.open("cac:AllowanceCharge", &[]);
    w.x.text(
        "cbc:ChargeIndicator",
        if a.charge { "true" } else { "false" },
    );
    w.x.opt("cbc:AllowanceChargeReasonCode", a.reason_code.as_deref());
    w.x.opt("cbc:AllowanceChargeReason", a.reason.as_deref());
    if let Some(p) = a.percent {
        w.x.text("cbc:MultiplierFactorNumeric", &number(p));
    }
    w.money("cbc:Amount", a.amount);
    if let Some(b) = a.base_amount {
        w.money("cbc:BaseAmount", b);
    }
    if let Some(vat) = &a.vat {
        tax_category(&mut w.x, "cac:TaxCategory", vat, None);
    }
    w.x.close("cac:AllowanceCharge");
}

fn period(x: &mut Xml, p: Option<&Period>, code: Option<&str>) {
    if p.is_none() && code.is_none() {
        return;
    }
    x.open("cac:InvoicePeriod", &[]);
    if let Some(p) = p {
        x.text("cbc:StartDate", &p.start);
        x.text("cbc:EndDate", &p.end);
    }
    x.opt("cbc:DescriptionCode", code);
    x.close("cac:InvoicePeriod");
}

/// The document as UBL 2.1 XML: an `Invoice`, or a `CreditNote` for type 381.
pub fn write(d: &Document) -> String {
    let credit = d.is_credit_note();
    let root = if credit { "CreditNote" } else { "Invoice" };
    let mut w = W {
        x: Xml::new(),
        currency: &d.currency,
        exp: super::exponent_of(&d.currency),
    };
    w.x.open(
        root,
        &[
            ("xmlns", if credit { CREDIT_NOTE_NS } else { INVOICE_NS }),
            ("xmlns:cac", CAC),
            ("xmlns:cbc", CBC),
        ],
    );
    let x = &mut w.x;
    x.text("cbc:CustomizationID", super::cii::GUIDELINE);
    x.opt("cbc:ProfileID", d.business_process.as_deref());
    x.text("cbc:ID", &d.number);
    x.text("cbc:IssueDate", &d.issue_date);
    if !credit {
        x.opt("cbc:DueDate", d.due_date.as_deref());
    }
    x.text(
        if credit {
            "cbc:CreditNoteTypeCode"
        } else {
            "cbc:InvoiceTypeCode"
        },
        &d.type_code.to_string(),
    );
    for n in &d.notes {
        // UBL has no subject code: EN 16931's UBL binding prefixes it, `#AAB#text`.
        let text = match &n.subject {
            Some(s) => format!("#{s}#{}", n.text),
            None => n.text.clone(),
        };
        x.text("cbc:Note", &text);
    }
    x.text("cbc:DocumentCurrencyCode", &d.currency);
    x.opt("cbc:BuyerReference", d.buyer_reference.as_deref());
    period(
        x,
        d.invoice_period.as_ref(),
        d.vat_point_date_code.as_deref(),
    );
    if let Some(order) = &d.order_reference {
        x.open("cac:OrderReference", &[]);
        x.text("cbc:ID", order);
        x.close("cac:OrderReference");
    }
    for p in &d.preceding_invoices {
        x.open("cac:BillingReference", &[]);
        x.open("cac:InvoiceDocumentReference", &[]);
        x.text("cbc:ID", &p.number);
        x.opt("cbc:IssueDate", p.issue_date.as_deref());
        x.close("cac:InvoiceDocumentReference");
        x.close("cac:BillingReference");
    }
    if let Some(contract) = &d.contract_reference {
        x.open("cac:ContractDocumentReference", &[]);
        x.text("cbc:ID", contract);
        x.close("cac:ContractDocumentReference");
    }
    party(x, "cac:AccountingSupplierParty", &d.seller, true);
    party(x, "cac:AccountingCustomerParty", &d.buyer, false);
    if let Some(delivery) = &d.delivery {
        x.open("cac:Delivery", &[]);
        x.opt("cbc:ActualDeliveryDate", delivery.date.as_deref());
        if let Some(a) = &delivery.address {
            x.open("cac:DeliveryLocation", &[]);
            address(x, "cac:Address", a);
            x.close("cac:DeliveryLocation");
        }
        if let Some(name) = &delivery.name {
            x.open("cac:DeliveryParty", &[]);
            x.open("cac:PartyName", &[]);
            x.text("cbc:Name", name);
            x.close("cac:PartyName");
            x.close("cac:DeliveryParty");
        }
        x.close("cac:Delivery");
    }
    for (i, m) in d.payment_means.iter().enumerate() {
        x.open("cac:PaymentMeans", &[]);
        x.text("cbc:PaymentMeansCode", &m.code);
        if credit && i == 0 {
            x.opt("cbc:PaymentDueDate", d.due_date.as_deref());
        }
        x.opt("cbc:PaymentID", m.remittance.as_deref());
        if let Some(card) = &m.card_last4 {
            x.open("cac:CardAccount", &[]);
            x.text("cbc:PrimaryAccountNumberID", card);
            x.text("cbc:NetworkID", "card");
            x.opt("cbc:HolderName", m.card_holder.as_deref());
            x.close("cac:CardAccount");
        }
        if m.iban.is_some() {
            x.open("cac:PayeeFinancialAccount", &[]);
            x.opt("cbc:ID", m.iban.as_deref());
            x.opt("cbc:Name", m.account_name.as_deref());
            if let Some(bic) = &m.bic {
                x.open("cac:FinancialInstitutionBranch", &[]);
                x.text("cbc:ID", bic);
                x.close("cac:FinancialInstitutionBranch");
            }
            x.close("cac:PayeeFinancialAccount");
        }
        if m.mandate.is_some() || m.debited_iban.is_some() {
            x.open("cac:PaymentMandate", &[]);
            x.opt("cbc:ID", m.mandate.as_deref());
            if let Some(debited) = &m.debited_iban {
                x.open("cac:PayerFinancialAccount", &[]);
                x.text("cbc:ID", debited);
                x.close("cac:PayerFinancialAccount");
            }
            x.close("cac:PaymentMandate");
        }
        x.close("cac:PaymentMeans");
    }
    if let Some(terms) = &d.payment_terms {
        x.open("cac:PaymentTerms", &[]);
        x.text("cbc:Note", terms);
        x.close("cac:PaymentTerms");
    }
    for a in &d.allowances_charges {
        allowance_charge(&mut w, a);
    }
    w.x.open("cac:TaxTotal", &[]);
    w.money("cbc:TaxAmount", d.totals.tax_total);
    for b in &d.vat_breakdown {
        w.x.open("cac:TaxSubtotal", &[]);
        w.money("cbc:TaxableAmount", b.taxable_amount);
        w.money("cbc:TaxAmount", b.tax_amount);
        tax_category(
            &mut w.x,
            "cac:TaxCategory",
            &b.vat,
            Some((&b.exemption_reason, &b.exemption_code)),
        );
        w.x.close("cac:TaxSubtotal");
    }
    w.x.close("cac:TaxTotal");
    let t = &d.totals;
    w.x.open("cac:LegalMonetaryTotal", &[]);
    w.money("cbc:LineExtensionAmount", t.line_total);
    w.money("cbc:TaxExclusiveAmount", t.tax_exclusive);
    w.money("cbc:TaxInclusiveAmount", t.tax_inclusive);
    if let Some(a) = t.allowance_total {
        w.money("cbc:AllowanceTotalAmount", a);
    }
    if let Some(c) = t.charge_total {
        w.money("cbc:ChargeTotalAmount", c);
    }
    if let Some(p) = t.prepaid {
        w.money("cbc:PrepaidAmount", p);
    }
    if let Some(r) = t.rounding {
        w.money("cbc:PayableRoundingAmount", r);
    }
    w.money("cbc:PayableAmount", t.payable);
    w.x.close("cac:LegalMonetaryTotal");
    let (line_tag, quantity_tag) = if credit {
        ("cac:CreditNoteLine", "cbc:CreditedQuantity")
    } else {
        ("cac:InvoiceLine", "cbc:InvoicedQuantity")
    };
    for l in &d.lines {
        w.x.open(line_tag, &[]);
        w.x.text("cbc:ID", &l.id);
        w.x.opt("cbc:Note", l.note.as_deref());
        w.x.leaf(
            quantity_tag,
            &[("unitCode", &l.unit_code)],
            &number(l.quantity),
        );
        w.money("cbc:LineExtensionAmount", l.net_amount);
        period(&mut w.x, l.period.as_ref(), None);
        for a in &l.allowances_charges {
            allowance_charge(&mut w, a);
        }
        w.x.open("cac:Item", &[]);
        w.x.opt("cbc:Description", l.description.as_deref());
        w.x.text("cbc:Name", &l.name);
        if let Some(id) = &l.seller_item_id {
            w.x.open("cac:SellersItemIdentification", &[]);
            w.x.text("cbc:ID", id);
            w.x.close("cac:SellersItemIdentification");
        }
        tax_category(&mut w.x, "cac:ClassifiedTaxCategory", &l.vat, None);
        w.x.close("cac:Item");
        w.x.open("cac:Price", &[]);
        w.money("cbc:PriceAmount", l.net_price);
        if let Some(base) = l.base_quantity {
            w.x.leaf(
                "cbc:BaseQuantity",
                &[("unitCode", &l.unit_code)],
                &number(base),
            );
        }
        if let Some(gross) = l.gross_price {
            w.x.open("cac:AllowanceCharge", &[]);
            w.x.text("cbc:ChargeIndicator", "false");
            w.money("cbc:Amount", gross - l.net_price);
            w.money("cbc:BaseAmount", gross);
            w.x.close("cac:AllowanceCharge");
        }
        w.x.close("cac:Price");
        w.x.close(line_tag);
    }
    w.x.close(root);
    w.x.finish()
}
