//! UN/CEFACT Cross Industry Invoice D16B in the Factur-X / ZUGFeRD EN 16931 profile
//! (guideline `urn:cen.eu:en16931:2017`). Elements follow the order of the D16B schema, which
//! the Factur-X XSD checks.

use super::model::*;
use super::xml::{amount, date102, number, Xml};

/// The guideline identifier (BT-24) of the EN 16931 profile (Factur-X "EN 16931 (Comfort)").
pub const GUIDELINE: &str = "urn:cen.eu:en16931:2017";

const NS: &[(&str, &str)] = &[
    (
        "xmlns:rsm",
        "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
    ),
    (
        "xmlns:qdt",
        "urn:un:unece:uncefact:data:standard:QualifiedDataType:100",
    ),
    (
        "xmlns:ram",
        "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
    ),
    (
        "xmlns:udt",
        "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100",
    ),
];

/// BT-8: UNTDID 2005 (the model's) → UNTDID 2475 (CII's).
pub fn vat_date_code_2475(code: &str) -> &str {
    match code {
        "3" => "5",
        "35" => "29",
        "432" => "72",
        other => other,
    }
}

fn date(x: &mut Xml, tag: &str, value: &str) {
    x.open(tag, &[]);
    x.leaf("udt:DateTimeString", &[("format", "102")], &date102(value));
    x.close(tag);
}

fn party(x: &mut Xml, tag: &str, p: &Party, seller: bool) {
    x.open(tag, &[]);
    for id in &p.ids {
        match &id.scheme {
            Some(scheme) => x.leaf("ram:GlobalID", &[("schemeID", scheme)], &id.id),
            None => x.text("ram:ID", &id.id),
        }
    }
    x.text("ram:Name", &p.name);
    if seller {
        x.opt("ram:Description", p.legal_info.as_deref());
    }
    if p.legal_id.is_some() || p.trading_name.is_some() {
        x.open("ram:SpecifiedLegalOrganization", &[]);
        if let Some(id) = &p.legal_id {
            match &id.scheme {
                Some(s) => x.leaf("ram:ID", &[("schemeID", s)], &id.id),
                None => x.text("ram:ID", &id.id),
            }
        }
        x.opt("ram:TradingBusinessName", p.trading_name.as_deref());
        x.close("ram:SpecifiedLegalOrganization");
    }
    if let Some(c) = &p.contact {
        x.open("ram:DefinedTradeContact", &[]);
        x.opt("ram:PersonName", c.name.as_deref());
        if let Some(phone) = &c.phone {
            x.open("ram:TelephoneUniversalCommunication", &[]);
            x.text("ram:CompleteNumber", phone);
            x.close("ram:TelephoneUniversalCommunication");
        }
        if let Some(email) = &c.email {
            x.open("ram:EmailURIUniversalCommunication", &[]);
            x.text("ram:URIID", email);
            x.close("ram:EmailURIUniversalCommunication");
        }
        x.close("ram:DefinedTradeContact");
    }
    address(x, &p.address);
    if let Some(e) = &p.electronic_address {
        x.open("ram:URIUniversalCommunication", &[]);
        x.leaf(
            "ram:URIID",
            &[("schemeID", e.scheme.as_deref().unwrap_or("EM"))],
            &e.id,
        );
        x.close("ram:URIUniversalCommunication");
    }
    if let Some(vat) = &p.vat_id {
        x.open("ram:SpecifiedTaxRegistration", &[]);
        x.leaf("ram:ID", &[("schemeID", "VA")], vat);
        x.close("ram:SpecifiedTaxRegistration");
    }
    x.close(tag);
}

fn address(x: &mut Xml, a: &Address) {
    x.open("ram:PostalTradeAddress", &[]);
    x.opt("ram:PostcodeCode", a.postal_code.as_deref());
    x.opt("ram:LineOne", a.line1.as_deref());
    x.opt("ram:LineTwo", a.line2.as_deref());
    x.opt("ram:CityName", a.city.as_deref());
    x.text("ram:CountryID", &a.country);
    x.opt("ram:CountrySubDivisionName", a.subdivision.as_deref());
    x.close("ram:PostalTradeAddress");
}

fn trade_tax(x: &mut Xml, vat: &VatRate) {
    x.text("ram:TypeCode", "VAT");
    x.text("ram:CategoryCode", &vat.category);
    if let Some(rate) = vat.rate {
        x.text("ram:RateApplicablePercent", &number(rate));
    }
}

fn allowance_charge(x: &mut Xml, a: &AllowanceCharge, exp: u32) {
    x.open("ram:SpecifiedTradeAllowanceCharge", &[]);
    x.open("ram:ChargeIndicator", &[]);
    x.text("udt:Indicator", if a.charge { "true" } else { "false" });
    x.close("ram:ChargeIndicator");
    if let Some(p) = a.percent {
        x.text("ram:CalculationPercent", &number(p));
    }
    if let Some(b) = a.base_amount {
        x.text("ram:BasisAmount", &amount(b, exp));
    }
    x.text("ram:ActualAmount", &amount(a.amount, exp));
    x.opt("ram:ReasonCode", a.reason_code.as_deref());
    x.opt("ram:Reason", a.reason.as_deref());
    if let Some(vat) = &a.vat {
        x.open("ram:CategoryTradeTax", &[]);
        trade_tax(x, vat);
        x.close("ram:CategoryTradeTax");
    }
    x.close("ram:SpecifiedTradeAllowanceCharge");
}

fn period(x: &mut Xml, p: &Period) {
    x.open("ram:BillingSpecifiedPeriod", &[]);
    date(x, "ram:StartDateTime", &p.start);
    date(x, "ram:EndDateTime", &p.end);
    x.close("ram:BillingSpecifiedPeriod");
}

fn line(x: &mut Xml, l: &Line, exp: u32) {
    x.open("ram:IncludedSupplyChainTradeLineItem", &[]);
    x.open("ram:AssociatedDocumentLineDocument", &[]);
    x.text("ram:LineID", &l.id);
    if let Some(note) = &l.note {
        x.open("ram:IncludedNote", &[]);
        x.text("ram:Content", note);
        x.close("ram:IncludedNote");
    }
    x.close("ram:AssociatedDocumentLineDocument");
    x.open("ram:SpecifiedTradeProduct", &[]);
    x.opt("ram:SellerAssignedID", l.seller_item_id.as_deref());
    x.text("ram:Name", &l.name);
    x.opt("ram:Description", l.description.as_deref());
    x.close("ram:SpecifiedTradeProduct");
    x.open("ram:SpecifiedLineTradeAgreement", &[]);
    if let Some(gross) = l.gross_price {
        x.open("ram:GrossPriceProductTradePrice", &[]);
        x.text("ram:ChargeAmount", &number(gross));
        x.close("ram:GrossPriceProductTradePrice");
    }
    x.open("ram:NetPriceProductTradePrice", &[]);
    x.text("ram:ChargeAmount", &number(l.net_price));
    if let Some(base) = l.base_quantity {
        x.leaf(
            "ram:BasisQuantity",
            &[("unitCode", &l.unit_code)],
            &number(base),
        );
    }
    x.close("ram:NetPriceProductTradePrice");
    x.close("ram:SpecifiedLineTradeAgreement");
    x.open("ram:SpecifiedLineTradeDelivery", &[]);
    x.leaf(
        "ram:BilledQuantity",
        &[("unitCode", &l.unit_code)],
        &number(l.quantity),
    );
    x.close("ram:SpecifiedLineTradeDelivery");
    x.open("ram:SpecifiedLineTradeSettlement", &[]);
    x.open("ram:ApplicableTradeTax", &[]);
    trade_tax(x, &l.vat);
    x.close("ram:ApplicableTradeTax");
    if let Some(p) = &l.period {
        period(x, p);
    }
    for a in &l.allowances_charges {
        allowance_charge(x, a, exp);
    }
    x.open("ram:SpecifiedTradeSettlementLineMonetarySummation", &[]);
    x.text("ram:LineTotalAmount", &amount(l.net_amount, exp));
    x.close("ram:SpecifiedTradeSettlementLineMonetarySummation");
    x.close("ram:SpecifiedLineTradeSettlement");
    x.close("ram:IncludedSupplyChainTradeLineItem");
}

/// The document as CII XML (UTF-8).
pub fn write(d: &Document) -> String {
    let exp = super::exponent_of(&d.currency);
    let mut x = Xml::new();
    x.open("rsm:CrossIndustryInvoice", NS);
    x.open("rsm:ExchangedDocumentContext", &[]);
    if let Some(bp) = &d.business_process {
        x.open("ram:BusinessProcessSpecifiedDocumentContextParameter", &[]);
        x.text("ram:ID", bp);
        x.close("ram:BusinessProcessSpecifiedDocumentContextParameter");
    }
    x.open("ram:GuidelineSpecifiedDocumentContextParameter", &[]);
    x.text("ram:ID", GUIDELINE);
    x.close("ram:GuidelineSpecifiedDocumentContextParameter");
    x.close("rsm:ExchangedDocumentContext");

    x.open("rsm:ExchangedDocument", &[]);
    x.text("ram:ID", &d.number);
    x.text("ram:TypeCode", &d.type_code.to_string());
    date(&mut x, "ram:IssueDateTime", &d.issue_date);
    for n in &d.notes {
        x.open("ram:IncludedNote", &[]);
        x.text("ram:Content", &n.text);
        x.opt("ram:SubjectCode", n.subject.as_deref());
        x.close("ram:IncludedNote");
    }
    x.close("rsm:ExchangedDocument");

    x.open("rsm:SupplyChainTradeTransaction", &[]);
    for l in &d.lines {
        line(&mut x, l, exp);
    }
    x.open("ram:ApplicableHeaderTradeAgreement", &[]);
    x.opt("ram:BuyerReference", d.buyer_reference.as_deref());
    party(&mut x, "ram:SellerTradeParty", &d.seller, true);
    party(&mut x, "ram:BuyerTradeParty", &d.buyer, false);
    if let Some(order) = &d.order_reference {
        x.open("ram:BuyerOrderReferencedDocument", &[]);
        x.text("ram:IssuerAssignedID", order);
        x.close("ram:BuyerOrderReferencedDocument");
    }
    if let Some(contract) = &d.contract_reference {
        x.open("ram:ContractReferencedDocument", &[]);
        x.text("ram:IssuerAssignedID", contract);
        x.close("ram:ContractReferencedDocument");
    }
    x.close("ram:ApplicableHeaderTradeAgreement");

    x.open("ram:ApplicableHeaderTradeDelivery", &[]);
    if let Some(delivery) = &d.delivery {
        if delivery.name.is_some() || delivery.address.is_some() {
            x.open("ram:ShipToTradeParty", &[]);
            x.opt("ram:Name", delivery.name.as_deref());
            if let Some(a) = &delivery.address {
                address(&mut x, a);
            }
            x.close("ram:ShipToTradeParty");
        }
        if let Some(date_) = &delivery.date {
            x.open("ram:ActualDeliverySupplyChainEvent", &[]);
            date(&mut x, "ram:OccurrenceDateTime", date_);
            x.close("ram:ActualDeliverySupplyChainEvent");
        }
    }
    x.close("ram:ApplicableHeaderTradeDelivery");

    x.open("ram:ApplicableHeaderTradeSettlement", &[]);
    x.opt(
        "ram:CreditorReferenceID",
        d.payment_means
            .iter()
            .find_map(|m| m.creditor_id.as_deref()),
    );
    x.opt(
        "ram:PaymentReference",
        d.payment_means.iter().find_map(|m| m.remittance.as_deref()),
    );
    x.text("ram:InvoiceCurrencyCode", &d.currency);
    for m in &d.payment_means {
        x.open("ram:SpecifiedTradeSettlementPaymentMeans", &[]);
        x.text("ram:TypeCode", &m.code);
        if let Some(card) = &m.card_last4 {
            x.open("ram:ApplicableTradeSettlementFinancialCard", &[]);
            x.text("ram:ID", card);
            x.opt("ram:CardholderName", m.card_holder.as_deref());
            x.close("ram:ApplicableTradeSettlementFinancialCard");
        }
        if let Some(debited) = &m.debited_iban {
            x.open("ram:PayerPartyDebtorFinancialAccount", &[]);
            x.text("ram:IBANID", debited);
            x.close("ram:PayerPartyDebtorFinancialAccount");
        }
        if m.iban.is_some() || m.account_name.is_some() {
            x.open("ram:PayeePartyCreditorFinancialAccount", &[]);
            x.opt("ram:IBANID", m.iban.as_deref());
            x.opt("ram:AccountName", m.account_name.as_deref());
            x.close("ram:PayeePartyCreditorFinancialAccount");
        }
        if let Some(bic) = &m.bic {
            x.open("ram:PayeeSpecifiedCreditorFinancialInstitution", &[]);
            x.text("ram:BICID", bic);
            x.close("ram:PayeeSpecifiedCreditorFinancialInstitution");
        }
        x.close("ram:SpecifiedTradeSettlementPaymentMeans");
    }
    for b in &d.vat_breakdown {
        x.open("ram:ApplicableTradeTax", &[]);
        x.text("ram:CalculatedAmount", &amount(b.tax_amount, exp));
        x.text("ram:TypeCode", "VAT");
        x.opt("ram:ExemptionReason", b.exemption_reason.as_deref());
        x.text("ram:BasisAmount", &amount(b.taxable_amount, exp));
        x.text("ram:CategoryCode", &b.vat.category);
        x.opt("ram:ExemptionReasonCode", b.exemption_code.as_deref());
        x.opt(
            "ram:DueDateTypeCode",
            d.vat_point_date_code.as_deref().map(vat_date_code_2475),
        );
        if let Some(rate) = b.vat.rate {
            x.text("ram:RateApplicablePercent", &number(rate));
        }
        x.close("ram:ApplicableTradeTax");
    }
    if let Some(p) = &d.invoice_period {
        period(&mut x, p);
    }
    for a in &d.allowances_charges {
        allowance_charge(&mut x, a, exp);
    }
    let mandate = d.payment_means.iter().find_map(|m| m.mandate.as_deref());
    if d.payment_terms.is_some() || d.due_date.is_some() || mandate.is_some() {
        x.open("ram:SpecifiedTradePaymentTerms", &[]);
        x.opt("ram:Description", d.payment_terms.as_deref());
        if let Some(due) = &d.due_date {
            date(&mut x, "ram:DueDateDateTime", due);
        }
        x.opt("ram:DirectDebitMandateID", mandate);
        x.close("ram:SpecifiedTradePaymentTerms");
    }
    let t = &d.totals;
    x.open("ram:SpecifiedTradeSettlementHeaderMonetarySummation", &[]);
    x.text("ram:LineTotalAmount", &amount(t.line_total, exp));
    if let Some(c) = t.charge_total {
        x.text("ram:ChargeTotalAmount", &amount(c, exp));
    }
    if let Some(a) = t.allowance_total {
        x.text("ram:AllowanceTotalAmount", &amount(a, exp));
    }
    x.text("ram:TaxBasisTotalAmount", &amount(t.tax_exclusive, exp));
    x.leaf(
        "ram:TaxTotalAmount",
        &[("currencyID", &d.currency)],
        &amount(t.tax_total, exp),
    );
    if let Some(r) = t.rounding {
        x.text("ram:RoundingAmount", &amount(r, exp));
    }
    x.text("ram:GrandTotalAmount", &amount(t.tax_inclusive, exp));
    if let Some(p) = t.prepaid {
        x.text("ram:TotalPrepaidAmount", &amount(p, exp));
    }
    x.text("ram:DuePayableAmount", &amount(t.payable, exp));
    x.close("ram:SpecifiedTradeSettlementHeaderMonetarySummation");
    for p in &d.preceding_invoices {
        x.open("ram:InvoiceReferencedDocument", &[]);
        x.text("ram:IssuerAssignedID", &p.number);
        if let Some(issued) = &p.issue_date {
            x.open("ram:FormattedIssueDateTime", &[]);
            x.leaf("qdt:DateTimeString", &[("format", "102")], &date102(issued));
            x.close("ram:FormattedIssueDateTime");
        }
        x.close("ram:InvoiceReferencedDocument");
    }
    x.close("ram:ApplicableHeaderTradeSettlement");
    x.close("rsm:SupplyChainTradeTransaction");
    x.close("rsm:CrossIndustryInvoice");
    x.finish()
}
