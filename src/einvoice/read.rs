//! Reading CII (Factur-X / ZUGFeRD / XRechnung CII) and UBL 2.1 Invoice / CreditNote XML into
//! the model. Elements are found by local name under the expected parents, so namespace
//! prefixes do not matter; what the model does not hold is ignored. A missing mandatory element
//! or a value that does not parse is an `invalid_document` error whose path is the element's.

use super::model::*;
use crate::error::{Error, ErrorCode, Result};
use roxmltree::Node;
use rust_decimal::Decimal;
use std::str::FromStr;

fn invalid(path: &str, message: impl Into<String>) -> Error {
    Error::new(ErrorCode::InvalidDocument, path, message)
}

/// Reads a CII or UBL document (detected from its root element), or, with the `facturx`
/// feature, a Factur-X / ZUGFeRD PDF (its embedded XML).
pub fn read(xml: &[u8]) -> Result<Document> {
    if xml.starts_with(b"%PDF-") {
        #[cfg(all(feature = "facturx", not(target_arch = "wasm32")))]
        return read(&super::facturx::extract_xml(xml)?);
        #[cfg(not(all(feature = "facturx", not(target_arch = "wasm32"))))]
        return Err(invalid("", "reading a PDF needs the facturx feature"));
    }
    let text = std::str::from_utf8(xml).map_err(|_| invalid("", "the document is not UTF-8"))?;
    let text = text.trim_start_matches('\u{feff}');
    let doc = roxmltree::Document::parse(text)
        .map_err(|e| invalid("", format!("not well-formed XML: {e}")))?;
    let root = doc.root_element();
    match root.tag_name().name() {
        "CrossIndustryInvoice" => cii(root),
        "Invoice" | "CreditNote" => ubl(root),
        other => Err(invalid(
            "",
            format!(
                "neither a CII CrossIndustryInvoice nor a UBL Invoice or CreditNote: <{other}>"
            ),
        )),
    }
}

fn child<'a, 'i>(n: Node<'a, 'i>, name: &str) -> Option<Node<'a, 'i>> {
    n.children()
        .find(|c| c.is_element() && c.tag_name().name() == name)
}

fn children<'a, 'i: 'a>(n: Node<'a, 'i>, name: &'a str) -> impl Iterator<Item = Node<'a, 'i>> + 'a {
    n.children()
        .filter(move |c| c.is_element() && c.tag_name().name() == name)
}

/// The node at a `/`-separated path of local names.
fn at<'a, 'i>(n: Node<'a, 'i>, path: &str) -> Option<Node<'a, 'i>> {
    path.split('/').try_fold(n, |node, name| child(node, name))
}

fn text(n: Node, path: &str) -> Option<String> {
    at(n, path)
        .and_then(|t| t.text())
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
}

fn attr(n: Node, path: &str, name: &str) -> Option<String> {
    at(n, path)
        .and_then(|t| t.attribute(name))
        .map(str::to_string)
}

fn required(n: Node, path: &str) -> Result<String> {
    text(n, path).ok_or_else(|| invalid(path, "missing"))
}

fn decimal(n: Node, path: &str) -> Result<Option<Decimal>> {
    text(n, path)
        .map(|t| {
            Decimal::from_str(&t).map_err(|_| invalid(path, format!("not a decimal number: {t}")))
        })
        .transpose()
}

fn required_decimal(n: Node, path: &str) -> Result<Decimal> {
    decimal(n, path)?.ok_or_else(|| invalid(path, "missing"))
}

/// CII dates are `YYYYMMDD` (format 102).
fn date102(n: Node, path: &str) -> Result<Option<String>> {
    let Some(t) = text(n, path) else {
        return Ok(None);
    };
    let d = chrono::NaiveDate::parse_from_str(&t, "%Y%m%d")
        .map_err(|_| invalid(path, format!("not a format-102 date: {t}")))?;
    Ok(Some(d.format("%Y-%m-%d").to_string()))
}

fn iso_date(n: Node, path: &str) -> Result<Option<String>> {
    let Some(t) = text(n, path) else {
        return Ok(None);
    };
    chrono::NaiveDate::parse_from_str(&t, "%Y-%m-%d")
        .map_err(|_| invalid(path, format!("not a YYYY-MM-DD date: {t}")))?;
    Ok(Some(t))
}

fn identifier(n: Node, scheme_attr: &str) -> Option<Identifier> {
    let id = n.text()?.trim().to_string();
    (!id.is_empty()).then(|| Identifier {
        id,
        scheme: n.attribute(scheme_attr).map(str::to_string),
    })
}

// ---------------------------------------------------------------------------------------- CII

fn cii_address(n: Node) -> Address {
    Address {
        line1: text(n, "LineOne"),
        line2: text(n, "LineTwo"),
        city: text(n, "CityName"),
        postal_code: text(n, "PostcodeCode"),
        subdivision: text(n, "CountrySubDivisionName"),
        country: text(n, "CountryID").unwrap_or_default(),
    }
}

fn cii_party(n: Node) -> Party {
    let mut ids = Vec::new();
    for c in n.children().filter(|c| c.is_element()) {
        match c.tag_name().name() {
            "ID" | "GlobalID" => ids.extend(identifier(c, "schemeID")),
            _ => {}
        }
    }
    let contact = child(n, "DefinedTradeContact").map(|c| Contact {
        name: text(c, "PersonName"),
        phone: text(c, "TelephoneUniversalCommunication/CompleteNumber"),
        email: text(c, "EmailURIUniversalCommunication/URIID"),
    });
    Party {
        name: text(n, "Name").unwrap_or_default(),
        trading_name: text(n, "SpecifiedLegalOrganization/TradingBusinessName"),
        ids,
        legal_id: at(n, "SpecifiedLegalOrganization/ID").and_then(|i| identifier(i, "schemeID")),
        vat_id: children(n, "SpecifiedTaxRegistration")
            .filter_map(|r| child(r, "ID"))
            .find(|id| id.attribute("schemeID") == Some("VA"))
            .and_then(|id| id.text())
            .map(|t| t.trim().to_string()),
        legal_info: text(n, "Description"),
        electronic_address: at(n, "URIUniversalCommunication/URIID")
            .and_then(|i| identifier(i, "schemeID")),
        address: child(n, "PostalTradeAddress")
            .map(cii_address)
            .unwrap_or_default(),
        contact,
    }
}

fn cii_vat(n: Node) -> Result<VatRate> {
    Ok(VatRate {
        category: text(n, "CategoryCode").unwrap_or_default(),
        rate: decimal(n, "RateApplicablePercent")?,
    })
}

fn cii_allowance(n: Node) -> Result<AllowanceCharge> {
    Ok(AllowanceCharge {
        charge: text(n, "ChargeIndicator/Indicator").as_deref() == Some("true"),
        amount: required_decimal(n, "ActualAmount")?,
        base_amount: decimal(n, "BasisAmount")?,
        percent: decimal(n, "CalculationPercent")?,
        reason: text(n, "Reason"),
        reason_code: text(n, "ReasonCode"),
        vat: child(n, "CategoryTradeTax").map(cii_vat).transpose()?,
    })
}

fn cii_period(n: Option<Node>) -> Result<Option<Period>> {
    let Some(n) = n else { return Ok(None) };
    let start = date102(n, "StartDateTime/DateTimeString")?;
    let end = date102(n, "EndDateTime/DateTimeString")?;
    Ok(match (start, end) {
        (None, None) => None,
        (s, e) => Some(Period {
            start: s.unwrap_or_default(),
            end: e.unwrap_or_default(),
        }),
    })
}

fn cii_line(n: Node) -> Result<Line> {
    let settlement = child(n, "SpecifiedLineTradeSettlement")
        .ok_or_else(|| invalid("SpecifiedLineTradeSettlement", "missing"))?;
    let agreement = child(n, "SpecifiedLineTradeAgreement");
    let net_price = agreement.and_then(|a| child(a, "NetPriceProductTradePrice"));
    let quantity = at(n, "SpecifiedLineTradeDelivery/BilledQuantity");
    Ok(Line {
        id: required(n, "AssociatedDocumentLineDocument/LineID")?,
        note: text(n, "AssociatedDocumentLineDocument/IncludedNote/Content"),
        name: text(n, "SpecifiedTradeProduct/Name").unwrap_or_default(),
        description: text(n, "SpecifiedTradeProduct/Description"),
        seller_item_id: text(n, "SpecifiedTradeProduct/SellerAssignedID"),
        quantity: required_decimal(n, "SpecifiedLineTradeDelivery/BilledQuantity")?,
        unit_code: quantity
            .and_then(|q| q.attribute("unitCode"))
            .unwrap_or("C62")
            .to_string(),
        net_price: match net_price {
            Some(p) => required_decimal(p, "ChargeAmount")?,
            None => return Err(invalid("NetPriceProductTradePrice", "missing")),
        },
        base_quantity: net_price
            .map(|p| decimal(p, "BasisQuantity"))
            .transpose()?
            .flatten(),
        gross_price: agreement
            .map(|a| decimal(a, "GrossPriceProductTradePrice/ChargeAmount"))
            .transpose()?
            .flatten(),
        allowances_charges: children(settlement, "SpecifiedTradeAllowanceCharge")
            .map(cii_allowance)
            .collect::<Result<_>>()?,
        net_amount: required_decimal(
            settlement,
            "SpecifiedTradeSettlementLineMonetarySummation/LineTotalAmount",
        )?,
        vat: child(settlement, "ApplicableTradeTax")
            .map(cii_vat)
            .transpose()?
            .unwrap_or_default(),
        period: cii_period(child(settlement, "BillingSpecifiedPeriod"))?,
    })
}

fn cii(root: Node) -> Result<Document> {
    let exchanged =
        child(root, "ExchangedDocument").ok_or_else(|| invalid("ExchangedDocument", "missing"))?;
    let tx = child(root, "SupplyChainTradeTransaction")
        .ok_or_else(|| invalid("SupplyChainTradeTransaction", "missing"))?;
    let agreement = child(tx, "ApplicableHeaderTradeAgreement")
        .ok_or_else(|| invalid("ApplicableHeaderTradeAgreement", "missing"))?;
    let delivery = child(tx, "ApplicableHeaderTradeDelivery");
    let settlement = child(tx, "ApplicableHeaderTradeSettlement")
        .ok_or_else(|| invalid("ApplicableHeaderTradeSettlement", "missing"))?;
    let sums = child(
        settlement,
        "SpecifiedTradeSettlementHeaderMonetarySummation",
    )
    .ok_or_else(|| invalid("SpecifiedTradeSettlementHeaderMonetarySummation", "missing"))?;
    let terms = child(settlement, "SpecifiedTradePaymentTerms");

    let mut payment_means = Vec::new();
    for m in children(settlement, "SpecifiedTradeSettlementPaymentMeans") {
        payment_means.push(PaymentMeans {
            code: text(m, "TypeCode").unwrap_or_default(),
            iban: text(m, "PayeePartyCreditorFinancialAccount/IBANID")
                .or_else(|| text(m, "PayeePartyCreditorFinancialAccount/ProprietaryID")),
            account_name: text(m, "PayeePartyCreditorFinancialAccount/AccountName"),
            bic: text(m, "PayeeSpecifiedCreditorFinancialInstitution/BICID"),
            card_last4: text(m, "ApplicableTradeSettlementFinancialCard/ID"),
            card_holder: text(m, "ApplicableTradeSettlementFinancialCard/CardholderName"),
            debited_iban: text(m, "PayerPartyDebtorFinancialAccount/IBANID"),
            ..PaymentMeans::default()
        });
    }
    // CII holds the remittance, creditor and mandate once for the document.
    if let Some(first) = payment_means.first_mut() {
        first.remittance = text(settlement, "PaymentReference");
        first.creditor_id = text(settlement, "CreditorReferenceID");
        first.mandate = terms.and_then(|t| text(t, "DirectDebitMandateID"));
    }
    let taxes: Vec<Node> = children(settlement, "ApplicableTradeTax").collect();
    let mut vat_breakdown = Vec::new();
    for t in &taxes {
        vat_breakdown.push(VatBreakdown {
            vat: cii_vat(*t)?,
            taxable_amount: required_decimal(*t, "BasisAmount")?,
            tax_amount: required_decimal(*t, "CalculatedAmount")?,
            exemption_reason: text(*t, "ExemptionReason"),
            exemption_code: text(*t, "ExemptionReasonCode"),
        });
    }
    let vat_point_date_code = taxes
        .iter()
        .find_map(|t| text(*t, "DueDateTypeCode"))
        .map(|c| {
            match c.as_str() {
                "5" => "3",
                "29" => "35",
                "72" => "432",
                other => other,
            }
            .to_string()
        });
    let ship_to = delivery.and_then(|d| child(d, "ShipToTradeParty"));
    let delivery_date = delivery
        .map(|d| {
            date102(
                d,
                "ActualDeliverySupplyChainEvent/OccurrenceDateTime/DateTimeString",
            )
        })
        .transpose()?
        .flatten();
    let delivery = (ship_to.is_some() || delivery_date.is_some()).then(|| Delivery {
        name: ship_to.and_then(|s| text(s, "Name")),
        date: delivery_date,
        address: ship_to
            .and_then(|s| child(s, "PostalTradeAddress"))
            .map(cii_address),
    });
    let currency = required(settlement, "InvoiceCurrencyCode")?;
    let tax_total = children(sums, "TaxTotalAmount")
        .find(|t| t.attribute("currencyID").map_or(true, |c| c == currency))
        .and_then(|t| t.text())
        .map(|t| {
            Decimal::from_str(t.trim())
                .map_err(|_| invalid("TaxTotalAmount", "not a decimal number"))
        })
        .transpose()?
        .unwrap_or_default();
    let mut preceding_invoices = Vec::new();
    for p in children(settlement, "InvoiceReferencedDocument") {
        preceding_invoices.push(PrecedingInvoice {
            number: required(p, "IssuerAssignedID")?,
            issue_date: date102(p, "FormattedIssueDateTime/DateTimeString")?,
        });
    }
    Ok(Document {
        number: required(exchanged, "ID")?,
        type_code: required(exchanged, "TypeCode")?
            .parse()
            .map_err(|_| invalid("ExchangedDocument/TypeCode", "not a number"))?,
        issue_date: date102(exchanged, "IssueDateTime/DateTimeString")?
            .ok_or_else(|| invalid("IssueDateTime", "missing"))?,
        due_date: terms
            .map(|t| date102(t, "DueDateDateTime/DateTimeString"))
            .transpose()?
            .flatten(),
        currency,
        business_process: text(
            root,
            "ExchangedDocumentContext/BusinessProcessSpecifiedDocumentContextParameter/ID",
        ),
        vat_point_date_code,
        buyer_reference: text(agreement, "BuyerReference"),
        contract_reference: text(agreement, "ContractReferencedDocument/IssuerAssignedID"),
        order_reference: text(agreement, "BuyerOrderReferencedDocument/IssuerAssignedID"),
        notes: children(exchanged, "IncludedNote")
            .map(|n| Note {
                subject: text(n, "SubjectCode"),
                text: text(n, "Content").unwrap_or_default(),
            })
            .collect(),
        preceding_invoices,
        seller: child(agreement, "SellerTradeParty")
            .map(cii_party)
            .ok_or_else(|| invalid("SellerTradeParty", "missing"))?,
        buyer: child(agreement, "BuyerTradeParty")
            .map(cii_party)
            .ok_or_else(|| invalid("BuyerTradeParty", "missing"))?,
        delivery,
        invoice_period: cii_period(child(settlement, "BillingSpecifiedPeriod"))?,
        payment_means,
        payment_terms: terms.and_then(|t| text(t, "Description")),
        allowances_charges: children(settlement, "SpecifiedTradeAllowanceCharge")
            .map(cii_allowance)
            .collect::<Result<_>>()?,
        lines: children(tx, "IncludedSupplyChainTradeLineItem")
            .enumerate()
            .map(|(i, l)| cii_line(l).map_err(|e| e.within(&format!("lines[{i}]"))))
            .collect::<Result<_>>()?,
        vat_breakdown,
        totals: Totals {
            line_total: required_decimal(sums, "LineTotalAmount")?,
            allowance_total: decimal(sums, "AllowanceTotalAmount")?,
            charge_total: decimal(sums, "ChargeTotalAmount")?,
            tax_exclusive: required_decimal(sums, "TaxBasisTotalAmount")?,
            tax_total,
            tax_inclusive: required_decimal(sums, "GrandTotalAmount")?,
            prepaid: decimal(sums, "TotalPrepaidAmount")?,
            rounding: decimal(sums, "RoundingAmount")?,
            payable: required_decimal(sums, "DuePayableAmount")?,
        },
    })
}

// ---------------------------------------------------------------------------------------- UBL

fn ubl_address(n: Node) -> Address {
    Address {
        line1: text(n, "StreetName"),
        line2: text(n, "AdditionalStreetName"),
        city: text(n, "CityName"),
        postal_code: text(n, "PostalZone"),
        subdivision: text(n, "CountrySubentity"),
        country: text(n, "Country/IdentificationCode").unwrap_or_default(),
    }
}

fn ubl_party(n: Node) -> Party {
    let contact = child(n, "Contact").map(|c| Contact {
        name: text(c, "Name"),
        phone: text(c, "Telephone"),
        email: text(c, "ElectronicMail"),
    });
    Party {
        name: text(n, "PartyLegalEntity/RegistrationName")
            .or_else(|| text(n, "PartyName/Name"))
            .unwrap_or_default(),
        trading_name: text(n, "PartyName/Name")
            .filter(|_| text(n, "PartyLegalEntity/RegistrationName").is_some()),
        ids: children(n, "PartyIdentification")
            .filter_map(|p| child(p, "ID"))
            .filter_map(|i| identifier(i, "schemeID"))
            .collect(),
        legal_id: at(n, "PartyLegalEntity/CompanyID").and_then(|i| identifier(i, "schemeID")),
        vat_id: children(n, "PartyTaxScheme")
            .find(|s| text(*s, "TaxScheme/ID").as_deref() == Some("VAT"))
            .and_then(|s| text(s, "CompanyID")),
        legal_info: text(n, "PartyLegalEntity/CompanyLegalForm"),
        electronic_address: child(n, "EndpointID").and_then(|i| identifier(i, "schemeID")),
        address: child(n, "PostalAddress")
            .map(ubl_address)
            .unwrap_or_default(),
        contact,
    }
}

fn ubl_vat(n: Node) -> Result<VatRate> {
    Ok(VatRate {
        category: text(n, "ID").unwrap_or_default(),
        rate: decimal(n, "Percent")?,
    })
}

fn ubl_allowance(n: Node) -> Result<AllowanceCharge> {
    Ok(AllowanceCharge {
        charge: text(n, "ChargeIndicator").as_deref() == Some("true"),
        amount: required_decimal(n, "Amount")?,
        base_amount: decimal(n, "BaseAmount")?,
        percent: decimal(n, "MultiplierFactorNumeric")?,
        reason: text(n, "AllowanceChargeReason"),
        reason_code: text(n, "AllowanceChargeReasonCode"),
        vat: child(n, "TaxCategory").map(ubl_vat).transpose()?,
    })
}

fn ubl_period(n: Option<Node>) -> Result<Option<Period>> {
    let Some(n) = n else { return Ok(None) };
    let start = iso_date(n, "StartDate")?;
    let end = iso_date(n, "EndDate")?;
    Ok(match (start, end) {
        (None, None) => None,
        (s, e) => Some(Period {
            start: s.unwrap_or_default(),
            end: e.unwrap_or_default(),
        }),
    })
}

fn ubl_line(n: Node, quantity_tag: &str) -> Result<Line> {
    let quantity = child(n, quantity_tag);
    let price = child(n, "Price").ok_or_else(|| invalid("Price", "missing"))?;
    let net_price = required_decimal(price, "PriceAmount")?;
    let gross_price = child(price, "AllowanceCharge")
        .map(|a| decimal(a, "BaseAmount"))
        .transpose()?
        .flatten();
    Ok(Line {
        id: required(n, "ID")?,
        note: text(n, "Note"),
        name: text(n, "Item/Name").unwrap_or_default(),
        description: text(n, "Item/Description"),
        seller_item_id: text(n, "Item/SellersItemIdentification/ID"),
        quantity: required_decimal(n, quantity_tag)?,
        unit_code: quantity
            .and_then(|q| q.attribute("unitCode"))
            .unwrap_or("C62")
            .to_string(),
        net_price,
        base_quantity: decimal(price, "BaseQuantity")?,
        gross_price,
        allowances_charges: children(n, "AllowanceCharge")
            .map(ubl_allowance)
            .collect::<Result<_>>()?,
        net_amount: required_decimal(n, "LineExtensionAmount")?,
        vat: at(n, "Item/ClassifiedTaxCategory")
            .map(ubl_vat)
            .transpose()?
            .unwrap_or_default(),
        period: ubl_period(child(n, "InvoicePeriod"))?,
    })
}

fn ubl(root: Node) -> Result<Document> {
    let credit = root.tag_name().name() == "CreditNote";
    let (type_tag, line_tag, quantity_tag) = if credit {
        ("CreditNoteTypeCode", "CreditNoteLine", "CreditedQuantity")
    } else {
        ("InvoiceTypeCode", "InvoiceLine", "InvoicedQuantity")
    };
    let currency = required(root, "DocumentCurrencyCode")?;
    let tax_totals: Vec<Node> = children(root, "TaxTotal").collect();
    // The TaxTotal in the document currency holds the breakdown; another (BT-111) only a sum.
    let tax_total = tax_totals
        .iter()
        .find(|t| attr(**t, "TaxAmount", "currencyID").map_or(true, |c| c == currency));
    let mut vat_breakdown = Vec::new();
    if let Some(t) = tax_total {
        for s in children(*t, "TaxSubtotal") {
            let category =
                child(s, "TaxCategory").ok_or_else(|| invalid("TaxCategory", "missing"))?;
            vat_breakdown.push(VatBreakdown {
                vat: ubl_vat(category)?,
                taxable_amount: required_decimal(s, "TaxableAmount")?,
                tax_amount: required_decimal(s, "TaxAmount")?,
                exemption_reason: text(category, "TaxExemptionReason"),
                exemption_code: text(category, "TaxExemptionReasonCode"),
            });
        }
    }
    let sums = child(root, "LegalMonetaryTotal")
        .ok_or_else(|| invalid("LegalMonetaryTotal", "missing"))?;
    let mut due_date = iso_date(root, "DueDate")?;
    let mut payment_means = Vec::new();
    for m in children(root, "PaymentMeans") {
        if due_date.is_none() {
            due_date = iso_date(m, "PaymentDueDate")?;
        }
        payment_means.push(PaymentMeans {
            code: text(m, "PaymentMeansCode").unwrap_or_default(),
            remittance: text(m, "PaymentID"),
            iban: text(m, "PayeeFinancialAccount/ID"),
            account_name: text(m, "PayeeFinancialAccount/Name"),
            bic: text(m, "PayeeFinancialAccount/FinancialInstitutionBranch/ID"),
            card_last4: text(m, "CardAccount/PrimaryAccountNumberID"),
            card_holder: text(m, "CardAccount/HolderName"),
            mandate: text(m, "PaymentMandate/ID"),
            creditor_id: None,
            debited_iban: text(m, "PaymentMandate/PayerFinancialAccount/ID"),
        });
    }
    let period_node = child(root, "InvoicePeriod");
    let delivery = child(root, "Delivery").map(|d| -> Result<Delivery> {
        Ok(Delivery {
            name: text(d, "DeliveryParty/PartyName/Name"),
            date: iso_date(d, "ActualDeliveryDate")?,
            address: at(d, "DeliveryLocation/Address").map(ubl_address),
        })
    });
    let notes = children(root, "Note")
        .filter_map(|n| n.text())
        .map(|t| {
            let t = t.trim();
            // EN 16931's UBL binding: `#SUBJECT#text`.
            match t.strip_prefix('#').and_then(|r| r.split_once('#')) {
                Some((subject, rest)) if !subject.is_empty() && subject.len() <= 3 => Note {
                    subject: Some(subject.to_string()),
                    text: rest.to_string(),
                },
                _ => Note {
                    subject: None,
                    text: t.to_string(),
                },
            }
        })
        .collect();
    let mut preceding_invoices = Vec::new();
    for b in children(root, "BillingReference") {
        if let Some(r) = child(b, "InvoiceDocumentReference") {
            preceding_invoices.push(PrecedingInvoice {
                number: required(r, "ID")?,
                issue_date: iso_date(r, "IssueDate")?,
            });
        }
    }
    Ok(Document {
        number: required(root, "ID")?,
        type_code: required(root, type_tag)?
            .parse()
            .map_err(|_| invalid(type_tag, "not a number"))?,
        issue_date: iso_date(root, "IssueDate")?.ok_or_else(|| invalid("IssueDate", "missing"))?,
        due_date,
        currency,
        business_process: text(root, "ProfileID"),
        vat_point_date_code: period_node.and_then(|p| text(p, "DescriptionCode")),
        buyer_reference: text(root, "BuyerReference"),
        contract_reference: text(root, "ContractDocumentReference/ID"),
        order_reference: text(root, "OrderReference/ID"),
        notes,
        preceding_invoices,
        seller: at(root, "AccountingSupplierParty/Party")
            .map(ubl_party)
            .ok_or_else(|| invalid("AccountingSupplierParty", "missing"))?,
        buyer: at(root, "AccountingCustomerParty/Party")
            .map(ubl_party)
            .ok_or_else(|| invalid("AccountingCustomerParty", "missing"))?,
        delivery: delivery.transpose()?,
        invoice_period: ubl_period(period_node)?,
        payment_means,
        payment_terms: text(root, "PaymentTerms/Note"),
        allowances_charges: children(root, "AllowanceCharge")
            .map(ubl_allowance)
            .collect::<Result<_>>()?,
        lines: children(root, line_tag)
            .enumerate()
            .map(|(i, l)| ubl_line(l, quantity_tag).map_err(|e| e.within(&format!("lines[{i}]"))))
            .collect::<Result<_>>()?,
        vat_breakdown,
        totals: Totals {
            line_total: required_decimal(sums, "LineExtensionAmount")?,
            allowance_total: decimal(sums, "AllowanceTotalAmount")?,
            charge_total: decimal(sums, "ChargeTotalAmount")?,
            tax_exclusive: required_decimal(sums, "TaxExclusiveAmount")?,
            tax_total: tax_total
                .map(|t| decimal(*t, "TaxAmount"))
                .transpose()?
                .flatten()
                .unwrap_or_default(),
            tax_inclusive: required_decimal(sums, "TaxInclusiveAmount")?,
            prepaid: decimal(sums, "PrepaidAmount")?,
            rounding: decimal(sums, "PayableRoundingAmount")?,
            payable: required_decimal(sums, "PayableAmount")?,
        },
    })
}
