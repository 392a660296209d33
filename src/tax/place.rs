//! Where a sale is taxed and how: the rates that apply to one line, or the reason none do.

use super::config::{jurisdiction, TaxSetup, ValidRate, ValidSeller};
use super::table::{self, Category};
use super::territory::{Status, Territory};
use super::{RateDescriptor, SharedRate, VatCategory};
use crate::customer::TaxExempt;
use crate::error::{Error, ErrorCode, Result};
use crate::percent::Percent;
use rust_decimal::Decimal;

/// The customer as the tax rules see them.
#[derive(Debug, Clone, Default)]
pub struct Buyer {
    pub country: String,
    pub state: Option<String>,
    pub postal_code: Option<String>,
    /// A valid EU VAT number (check digits included) of the customer's own VAT area: a
    /// business customer.
    pub vat_id: Option<String>,
    pub exempt: TaxExempt,
    /// The special VAT territory the address is in (Canary Islands, Monaco, Northern Ireland…).
    pub territory: Option<&'static Territory>,
}

/// What a line supplies: goods or services (EU place-of-supply rules differ). Stripe's product
/// `type` (`good` / `service`) decides; without it, `digital_services` is a service and every
/// other category goods. Shipping follows the goods it ships.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Supply {
    #[default]
    Goods,
    Services,
}

/// A rate applied to a line, with what the arithmetic needs beyond its description.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Applied {
    pub rate: SharedRate,
    pub compound: bool,
}

/// How one line (or one portion of a shipping line) is taxed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Decision {
    /// Rates charged.
    pub collected: Vec<Applied>,
    /// A zero-amount entry explaining why nothing is charged (categories Z, E, AE, G, O).
    pub zero: Option<SharedRate>,
    /// Inclusive tax removed from the price but not charged: an exempt or reverse-charge
    /// customer buying at a tax-inclusive price pays the net.
    pub back_out: Vec<Percent>,
}

/// A product's tax category as declared on the line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineCategory<'a> {
    Rated {
        table: Category,
        digital: bool,
        name: &'a str,
    },
    Zero,
    Exempt,
    /// A merchant-defined code: only merchant rules price it.
    Custom(&'a str),
}

impl<'a> LineCategory<'a> {
    pub fn parse(name: &'a str) -> LineCategory<'a> {
        let rated = |table| LineCategory::Rated {
            table,
            digital: false,
            name,
        };
        match name {
            "standard" => rated(Category::Standard),
            "reduced" => rated(Category::Reduced),
            "reduced_2" => rated(Category::Reduced2),
            "super_reduced" => rated(Category::SuperReduced),
            "parking" => rated(Category::Parking),
            "digital_services" => LineCategory::Rated {
                table: Category::Standard,
                digital: true,
                name,
            },
            "zero" => LineCategory::Zero,
            "exempt" => LineCategory::Exempt,
            other => LineCategory::Custom(other),
        }
    }

    fn name(self) -> &'a str {
        match self {
            LineCategory::Rated { name, .. } | LineCategory::Custom(name) => name,
            LineCategory::Zero => "zero",
            LineCategory::Exempt => "exempt",
        }
    }

    fn digital(self) -> bool {
        matches!(self, LineCategory::Rated { digital: true, .. })
    }
}

/// Where tax is due.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Place {
    Taxed {
        country: String,
        region: Option<String>,
    },
    CustomerExempt,
    ReverseCharge,
    /// Goods to a business in another EU member state: exempt intra-Community supply (K).
    IntraCommunity,
    /// Out of the seller's tax: an EU export, or a place the seller does not collect in.
    Outside {
        not_collecting: bool,
        /// A territory of a member state outside the EU VAT area.
        excluded: bool,
    },
}

fn registered(seller: &ValidSeller, country: &str, region: Option<&str>) -> bool {
    seller.country == country
        || seller
            .registrations
            .iter()
            .any(|(c, r)| c == country && (r.is_none() || r.as_deref() == region))
}

/// The buyer's VAT area for this supply: the ISO country whose rates apply, the region for
/// regional rates, whether EU rules treat it as a member state, and whether it is a territory
/// excluded from the EU VAT area.
struct Area {
    country: String,
    region: Option<String>,
    eu: bool,
    excluded: bool,
}

fn area(buyer: &Buyer, supply: Supply) -> Area {
    let plain = |country: &str| Area {
        country: country.to_string(),
        region: buyer.state.clone(),
        eu: table::in_eu(country),
        excluded: false,
    };
    match buyer.territory.map(|t| t.status) {
        Some(Status::InsideOf(country)) => Area {
            region: None,
            ..plain(country)
        },
        Some(Status::OutsideEuVat) => Area {
            eu: false,
            excluded: true,
            ..plain(&buyer.country)
        },
        Some(Status::OwnRates { region }) => Area {
            region: Some(region.to_string()),
            ..plain(&buyer.country)
        },
        // Goods to Northern Ireland follow EU rules at UK rates (Windsor Framework Art. 8).
        Some(Status::NorthernIreland) if supply == Supply::Goods => Area {
            eu: true,
            ..plain(&buyer.country)
        },
        _ => plain(&buyer.country),
    }
}

fn place(
    setup: &TaxSetup,
    seller: &ValidSeller,
    buyer: &Buyer,
    supply: Supply,
    digital: bool,
    date: u32,
) -> Place {
    match buyer.exempt {
        TaxExempt::Exempt => return Place::CustomerExempt,
        TaxExempt::Reverse => return Place::ReverseCharge,
        TaxExempt::None => {}
    }
    let area = area(buyer, supply);
    let c = area.country.as_str();
    let taxed = |country: &str| Place::Taxed {
        country: country.to_string(),
        region: area.region.clone(),
    };
    let home = || Place::Taxed {
        country: seller.country.clone(),
        region: seller.state.clone(),
    };
    if table::in_eu(&seller.country) {
        if c == seller.country && !area.excluded {
            taxed(c)
        } else if area.eu {
            match (&buyer.vat_id, supply) {
                (Some(_), Supply::Goods) => Place::IntraCommunity,
                (Some(_), Supply::Services) => Place::ReverseCharge,
                // Distance sales of goods and electronic services: the customer's country
                // (OSS) unless the seller stays under the EUR 10,000 threshold.
                (None, _) if supply == Supply::Goods || digital => {
                    if seller.oss {
                        taxed(c)
                    } else {
                        home()
                    }
                }
                // Other services to consumers: where the supplier is (Directive 2006/112/EC
                // Art. 45).
                (None, _) => home(),
            }
        } else if registered(seller, c, buyer.state.as_deref()) && !area.excluded {
            taxed(c)
        } else {
            Place::Outside {
                not_collecting: false,
                excluded: area.excluded,
            }
        }
    } else if !area.excluded
        && (registered(seller, c, buyer.state.as_deref())
            || (!table::has_table(c)
                && setup
                    .rules
                    .iter()
                    .any(|r| rule_matches_place(r, buyer, date))))
    {
        taxed(c)
    } else {
        Place::Outside {
            not_collecting: true,
            excluded: area.excluded,
        }
    }
}

fn rule_matches_place(rule: &super::config::ValidRule, buyer: &Buyer, date: u32) -> bool {
    rule.country == buyer.country
        && rule
            .state
            .as_ref()
            .map_or(true, |s| buyer.state.as_ref() == Some(s))
        && rule.postal_code_prefix.as_ref().map_or(true, |p| {
            buyer
                .postal_code
                .as_ref()
                .is_some_and(|code| code.starts_with(p.as_str()))
        })
        && rule.from <= date
        && (rule.until == 0 || date < rule.until)
}

pub(super) fn descriptor(
    rate: &ValidRate,
    inclusive: bool,
    reason: Option<&'static str>,
) -> SharedRate {
    SharedRate::new(RateDescriptor {
        tax_rate: rate.id.clone(),
        percentage: rate.percentage,
        display_name: rate.display_name.clone(),
        tax_type: rate.tax_type.clone(),
        jurisdiction: rate.jurisdiction.clone(),
        country: rate.country.clone(),
        state: rate.state.clone(),
        inclusive,
        category: if rate.percentage.0.is_zero() {
            VatCategory::Z
        } else {
            VatCategory::S
        },
        taxability_reason: reason,
        exemption_reason: None,
        exemption_reason_code: None,
    })
}

fn zero_entry(
    category: VatCategory,
    reason: &'static str,
    exemption: Option<&'static str>,
    country: Option<&str>,
    inclusive: bool,
) -> SharedRate {
    // BT-121: the CEF VATEX code of the exemption, where one category has one reason.
    let code = match category {
        _ if reason == "not_collecting" => None,
        VatCategory::K => Some("VATEX-EU-IC"),
        VatCategory::AE => Some("VATEX-EU-AE"),
        VatCategory::G => Some("VATEX-EU-G"),
        VatCategory::O => Some("VATEX-EU-O"),
        _ => None,
    };
    SharedRate::new(RateDescriptor {
        tax_rate: None,
        percentage: Percent(Decimal::ZERO),
        display_name: match category {
            VatCategory::AE => "Reverse charge".to_string(),
            VatCategory::K => "Intra-Community supply".to_string(),
            _ => "Tax".to_string(),
        },
        tax_type: country.map_or("sales_tax", table::tax_type_of).to_string(),
        jurisdiction: country.map(str::to_string),
        country: country.map(str::to_string),
        state: None,
        inclusive,
        category,
        taxability_reason: Some(reason),
        exemption_reason: exemption,
        exemption_reason_code: code,
    })
}

pub const REVERSE_CHARGE: &str = "Reverse charge";
pub const INTRA_COMMUNITY: &str =
    "Exempt intra-Community supply of goods (Article 138 of Directive 2006/112/EC)";

/// Rates for a taxed place and category: built-in rows in force, plus matching merchant rules
/// (which replace the built-ins when they say so). `None` when nothing prices the category.
fn rates_at(
    setup: &TaxSetup,
    seller: &ValidSeller,
    buyer: &Buyer,
    country: &str,
    region: Option<&str>,
    category: LineCategory,
    date: u32,
) -> Vec<ValidRate> {
    let located = Buyer {
        country: country.to_string(),
        state: region.map(str::to_string),
        ..buyer.clone()
    };
    let rules: Vec<&super::config::ValidRule> = setup
        .rules
        .iter()
        .filter(|r| rule_matches_place(r, &located, date))
        .filter(|r| match (&r.tax_category, category) {
            (Some(c), cat) => c == cat.name(),
            (None, LineCategory::Rated { .. }) => true,
            (None, _) => false,
        })
        .collect();
    let mut rates = Vec::new();
    if let (false, LineCategory::Rated { table: cat, .. }) =
        (rules.iter().any(|r| r.replace_built_in), category)
    {
        for row in table::rows(country, region.unwrap_or(""), cat, date) {
            // Canadian provincial taxes are due only where the seller is registered for them.
            let provincial = matches!(
                row.tax_type,
                super::TaxType::Pst | super::TaxType::Qst | super::TaxType::Rst
            );
            if provincial && !registered_in_region(seller, country, row.region) {
                continue;
            }
            let region = (!row.region.is_empty()).then_some(row.region);
            let jurisdiction = if provincial || row.tax_type == super::TaxType::Hst {
                jurisdiction(country, region)
            } else {
                country.to_string()
            };
            rates.push(ValidRate {
                id: None,
                percentage: Percent(Decimal::new(row.ten_thousandths, 4).normalize()),
                inclusive: false,
                compound: false,
                display_name: row.tax_type.display_name().to_string(),
                tax_type: row.tax_type.as_str().to_string(),
                jurisdiction: Some(jurisdiction),
                country: Some(country.to_string()),
                state: if provincial || row.tax_type == super::TaxType::Hst {
                    region.map(str::to_string)
                } else {
                    None
                },
                explicit: None,
            });
        }
    }
    // Matching rules stack, but a rule repeating a rate already in force here (two rules with
    // the same details, e.g. postal prefixes `941` and `9410` both naming one city tax) is the
    // same tax: it is charged once (found by the quote fuzz target: it was charged twice and
    // merged into one `taxes[]` entry on twice the line's amount).
    for rule in rules {
        if !rates.contains(&rule.rate) {
            rates.push(rule.rate.clone());
        }
    }
    rates
}

fn registered_in_region(seller: &ValidSeller, country: &str, region: &str) -> bool {
    (seller.country == country && seller.state.as_deref() == Some(region))
        || seller
            .registrations
            .iter()
            .any(|(c, r)| c == country && r.as_deref() == Some(region))
}

fn reason_for(category: LineCategory) -> &'static str {
    match category {
        LineCategory::Rated {
            table: Category::Standard,
            ..
        }
        | LineCategory::Custom(_) => "standard_rated",
        _ => "reduced_rated",
    }
}

/// Decides how a line is taxed by automatic tax (a seller is declared).
#[allow(clippy::too_many_arguments)]
pub fn decide_automatic(
    setup: &TaxSetup,
    seller: &ValidSeller,
    buyer: &Buyer,
    category: LineCategory,
    supply: Supply,
    inclusive: bool,
    date: u32,
    category_path: &dyn Fn() -> String,
) -> Result<Decision> {
    // Electronically supplied services are services whatever the product says.
    let supply = if category.digital() {
        Supply::Services
    } else {
        supply
    };
    let digital = category.digital();
    let where_ = place(setup, seller, buyer, supply, digital, date);
    let would_be = || -> Vec<Percent> {
        if !inclusive {
            return Vec::new();
        }
        let consumer = Buyer {
            exempt: TaxExempt::None,
            vat_id: None,
            ..buyer.clone()
        };
        match place(setup, seller, &consumer, supply, digital, date) {
            Place::Taxed { country, region } => rates_at(
                setup,
                seller,
                buyer,
                &country,
                region.as_deref(),
                category,
                date,
            )
            .into_iter()
            .map(|r| r.percentage)
            .collect(),
            _ => Vec::new(),
        }
    };
    let country = Some(buyer.country.as_str());
    let zero = |category, reason, exemption| Decision {
        zero: Some(zero_entry(category, reason, exemption, country, inclusive)),
        ..Decision::default()
    };
    match where_ {
        Place::CustomerExempt => Ok(Decision {
            back_out: would_be(),
            ..zero(VatCategory::E, "customer_exempt", Some("Exempt customer"))
        }),
        Place::ReverseCharge => Ok(Decision {
            back_out: would_be(),
            ..zero(VatCategory::AE, "reverse_charge", Some(REVERSE_CHARGE))
        }),
        // The buyer accounts for the intra-Community acquisition: Stripe's `reverse_charge`
        // reason, EN 16931 category K.
        Place::IntraCommunity => Ok(Decision {
            back_out: would_be(),
            zero: Some(zero_entry(
                VatCategory::K,
                "reverse_charge",
                Some(INTRA_COMMUNITY),
                Some(&seller.country),
                inclusive,
            )),
            ..Decision::default()
        }),
        Place::Outside {
            not_collecting: true,
            excluded,
        } => Ok(zero(
            VatCategory::O,
            if excluded {
                "excluded_territory"
            } else {
                "not_collecting"
            },
            Some("Not subject to tax"),
        )),
        // An EU export (goods, G) or services supplied outside the EU (O): the VAT not
        // charged is the seller's.
        Place::Outside {
            not_collecting: false,
            excluded,
        } => {
            let (category, exemption) = match supply {
                Supply::Services => (VatCategory::O, "Services outside the scope of EU VAT"),
                Supply::Goods => (VatCategory::G, "Export outside the EU"),
            };
            let entry = zero_entry(
                category,
                if excluded {
                    "excluded_territory"
                } else {
                    "not_subject_to_tax"
                },
                Some(exemption),
                Some(&seller.country),
                inclusive,
            );
            Ok(Decision {
                zero: Some(entry),
                ..Decision::default()
            })
        }
        Place::Taxed { country, region } => {
            let place_zero = |category, reason, exemption| Decision {
                zero: Some(zero_entry(
                    category,
                    reason,
                    exemption,
                    Some(&country),
                    inclusive,
                )),
                ..Decision::default()
            };
            match category {
                LineCategory::Zero => return Ok(place_zero(VatCategory::Z, "zero_rated", None)),
                LineCategory::Exempt => {
                    return Ok(place_zero(
                        VatCategory::E,
                        "product_exempt",
                        Some("Exempt from tax"),
                    ))
                }
                _ => {}
            }
            if country == "CA" && region.is_none() {
                return Err(Error::new(
                    ErrorCode::MissingField,
                    "customer.address.state",
                    "a Canadian address needs its province",
                ));
            }
            let rates = rates_at(
                setup,
                seller,
                buyer,
                &country,
                region.as_deref(),
                category,
                date,
            );
            if rates.is_empty() {
                if table::has_table(&country) || matches!(category, LineCategory::Custom(_)) {
                    return Err(Error::new(
                        ErrorCode::UnknownTaxCategory,
                        category_path(),
                        "no tax rate for this category at the place of taxation",
                    ));
                }
                return Ok(place_zero(
                    VatCategory::O,
                    "not_collecting",
                    Some("Not subject to tax"),
                ));
            }
            let reason = reason_for(category);
            Ok(Decision {
                collected: rates
                    .iter()
                    .map(|r| Applied {
                        rate: descriptor(r, inclusive, Some(reason)),
                        compound: r.compound,
                    })
                    .collect(),
                ..Decision::default()
            })
        }
    }
}

/// Decides how a line with explicit rates is taxed: the rates apply as given, unless the
/// customer is exempt or reverse-charged.
pub fn decide_explicit<R: std::borrow::Borrow<ValidRate>>(
    rates: &[R],
    exempt: TaxExempt,
    country: Option<&str>,
) -> Decision {
    let rates = || rates.iter().map(|r| r.borrow());
    let back_out = || {
        rates()
            .filter(|r| r.inclusive)
            .map(|r| r.percentage)
            .collect()
    };
    let inclusive = rates().any(|r| r.inclusive);
    match exempt {
        TaxExempt::Exempt => Decision {
            zero: Some(zero_entry(
                VatCategory::E,
                "customer_exempt",
                Some("Exempt customer"),
                country,
                inclusive,
            )),
            back_out: back_out(),
            ..Decision::default()
        },
        TaxExempt::Reverse => Decision {
            zero: Some(zero_entry(
                VatCategory::AE,
                "reverse_charge",
                Some(REVERSE_CHARGE),
                country,
                inclusive,
            )),
            back_out: back_out(),
            ..Decision::default()
        },
        TaxExempt::None => Decision {
            collected: rates()
                .map(|r| Applied {
                    // Built when the rate was checked: shared, not copied (issue 12).
                    rate: r
                        .explicit
                        .clone()
                        .unwrap_or_else(|| descriptor(r, r.inclusive, None)),
                    compound: r.compound,
                })
                .collect(),
            ..Decision::default()
        },
    }
}
