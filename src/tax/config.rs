//! What merchants (in the catalog) and callers (in a quote) declare about tax.

use super::RoundingStage;
use crate::error::{join_path, Error, ErrorCode, Result};
use crate::percent::Percent;
use crate::price::TaxBehavior;
use crate::time::parse_date;
use std::collections::BTreeMap;

/// Tax settings. In the catalog they are the merchant's defaults; a quote's `tax` overrides the
/// settings it names and adds its rates and rules.
#[derive(Debug, Clone, Default)]
pub struct TaxConfig {
    /// Who sells. With a seller, automatic tax is on (rates by place, category and date).
    pub seller: Option<Seller>,
    pub rounding_stage: Option<RoundingStage>,
    pub shipping: Option<ShippingTax>,
    pub invalid_tax_id: Option<InvalidTaxId>,
    /// How prices with `tax_behavior: "unspecified"` are read. Default `exclusive`.
    pub default_tax_behavior: Option<TaxBehavior>,
    /// Explicit Stripe-shaped rates that lines and `default_tax_rates` refer to by id.
    pub rates: Vec<TaxRate>,
    /// Merchant rules that add to (or replace) the built-in rates for a place.
    pub rules: Vec<TaxRule>,
}

#[derive(Debug, Clone, Default)]
pub struct Seller {
    /// ISO 3166-1 alpha-2 home country.
    pub country: String,
    pub state: Option<String>,
    /// Places outside its home where the seller is registered and collects tax.
    pub registrations: Vec<Registration>,
    /// EU sellers: registered for the One-Stop Shop, so EU consumers are charged their own
    /// country's VAT. Default true; false charges home VAT (sellers under EUR 10,000).
    pub oss: Option<bool>,
}

#[derive(Debug, Clone, Default)]
pub struct Registration {
    pub country: String,
    pub state: Option<String>,
}

/// How shipping lines (`tax_category: "shipping"`) are taxed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ShippingTax {
    /// At the rates of the goods shipped, split in proportion to their amounts (EU practice).
    #[default]
    FollowsGoods,
    /// At the standard rate.
    Taxable,
    /// Not taxed.
    Exempt,
}

/// What a malformed customer VAT number does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum InvalidTaxId {
    /// A structured `invalid_tax_id` error.
    #[default]
    Error,
    /// The number is ignored (the customer is taxed as a consumer) and a note says so.
    TreatAsConsumer,
}

/// A Stripe-shaped tax rate. Read-only Stripe fields are accepted and ignored.
#[derive(Debug, Clone, Default)]
pub struct TaxRate {
    pub id: Option<String>,
    pub percentage: Percent,
    pub inclusive: bool,
    pub display_name: Option<String>,
    pub country: Option<String>,
    pub state: Option<String>,
    pub jurisdiction: Option<String>,
    pub tax_type: Option<String>,
    /// billcalc: applied to the net plus the other exclusive taxes of the line.
    pub compound: Option<bool>,
    pub description: Option<String>,
    pub active: Option<bool>,
    pub metadata: Option<BTreeMap<String, String>>,
    pub object: Option<String>,
    pub created: Option<i64>,
    pub livemode: Option<bool>,
    pub effective_percentage: Option<Percent>,
}

/// A line's (or the quote's default) tax rate: an id from the catalog or an inline rate.
pub type TaxRateRef = crate::reference::IdOr<TaxRate>;

/// A merchant's automatic rule: where it applies, to what, from when, at which rate. Several
/// matching rules stack (a US state, county and city rate each apply to the same base).
#[derive(Debug, Clone, Default)]
pub struct TaxRule {
    pub id: Option<String>,
    pub country: String,
    pub state: Option<String>,
    pub postal_code_prefix: Option<String>,
    /// The product category it applies to; all taxable categories when absent.
    pub tax_category: Option<String>,
    pub percentage: Percent,
    pub display_name: Option<String>,
    pub jurisdiction: Option<String>,
    pub tax_type: Option<String>,
    pub compound: Option<bool>,
    /// First day in force (YYYY-MM-DD), inclusive.
    pub valid_from: Option<String>,
    /// First day no longer in force (YYYY-MM-DD), exclusive.
    pub valid_until: Option<String>,
    /// Drop the built-in rates for the place and category this rule matches.
    pub replace_built_in: Option<bool>,
}

/// A checked explicit rate.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidRate {
    pub id: Option<String>,
    pub percentage: Percent,
    pub inclusive: bool,
    pub compound: bool,
    pub display_name: String,
    pub tax_type: String,
    pub jurisdiction: Option<String>,
    pub country: Option<String>,
    pub state: Option<String>,
    /// The rate's description as an explicit rate (what `taxes[]` shows), built once when the
    /// rate is checked, so a quote shares it instead of copying five strings (issue 12). `None`
    /// for the rates of rules and the built-in table, which are described with a taxability
    /// reason per decision.
    pub explicit: Option<super::SharedRate>,
}

/// A checked merchant rule.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidRule {
    pub country: String,
    pub state: Option<String>,
    pub postal_code_prefix: Option<String>,
    pub tax_category: Option<String>,
    pub rate: ValidRate,
    /// YYYYMMDD bounds, `from` inclusive, `until` exclusive (0 = open).
    pub from: u32,
    pub until: u32,
    pub replace_built_in: bool,
}

/// Validated seller.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidSeller {
    pub country: String,
    pub state: Option<String>,
    pub registrations: Vec<(String, Option<String>)>,
    pub oss: bool,
}

/// Everything the tax stage needs, checked once.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TaxSetup {
    pub seller: Option<ValidSeller>,
    pub rounding_stage: RoundingStage,
    pub shipping: ShippingTax,
    pub invalid_tax_id: InvalidTaxId,
    pub default_tax_behavior: Option<TaxBehavior>,
    pub rates: BTreeMap<String, ValidRate>,
    pub rules: Vec<ValidRule>,
}

pub fn upper(code: &str) -> String {
    code.trim().to_ascii_uppercase()
}

/// An ISO 3166-1 alpha-2 country code, upper-cased (`EL`, Greece's VAT prefix, and `UK` are
/// not country codes).
pub fn country(code: &str, path: &str) -> Result<String> {
    let code = upper(code);
    if super::territory::is_iso_country(&code) {
        Ok(code)
    } else {
        Err(Error::new(
            ErrorCode::InvalidRequest,
            path,
            "expected an ISO 3166-1 alpha-2 country code",
        ))
    }
}

fn yyyymmdd(text: Option<&str>, path: &str) -> Result<u32> {
    match text {
        None => Ok(0),
        Some(t) => {
            let d = parse_date(t, path)?;
            Ok(date_number(d))
        }
    }
}

pub fn date_number(date: chrono::NaiveDate) -> u32 {
    use chrono::Datelike;
    let year = u32::try_from(date.year()).unwrap_or(0);
    year * 10_000 + date.month() * 100 + date.day()
}

impl TaxRate {
    pub fn validate(&self, path: &str) -> Result<ValidRate> {
        check_percentage(self.percentage, &join_path(path, "percentage"))?;
        let compound = self.compound.unwrap_or(false);
        if compound && self.inclusive {
            return Err(Error::new(
                ErrorCode::InvalidTaxRate,
                join_path(path, "compound"),
                "a compound rate cannot be inclusive",
            ));
        }
        let country = self
            .country
            .as_deref()
            .map(|c| country(c, &join_path(path, "country")))
            .transpose()?;
        let mut rate = ValidRate {
            id: self.id.clone(),
            percentage: self.percentage,
            inclusive: self.inclusive,
            compound,
            display_name: self
                .display_name
                .clone()
                .unwrap_or_else(|| "Tax".to_string()),
            tax_type: self.tax_type.clone().unwrap_or_else(|| "tax".to_string()),
            jurisdiction: self.jurisdiction.clone(),
            country,
            state: self.state.as_deref().map(upper),
            explicit: None,
        };
        rate.explicit = Some(super::place::descriptor(&rate, rate.inclusive, None));
        Ok(rate)
    }
}

fn check_percentage(p: Percent, path: &str) -> Result<()> {
    if p.0.is_sign_negative() || p.0 > rust_decimal::Decimal::ONE_HUNDRED || p.decimal_places() > 4
    {
        return Err(Error::new(
            ErrorCode::InvalidTaxRate,
            path,
            "percentage must be between 0 and 100 with at most 4 decimals",
        ));
    }
    Ok(())
}

impl TaxRule {
    fn validate(&self, path: &str) -> Result<ValidRule> {
        check_percentage(self.percentage, &join_path(path, "percentage"))?;
        let country = country(&self.country, &join_path(path, "country"))?;
        let from = yyyymmdd(self.valid_from.as_deref(), &join_path(path, "valid_from"))?;
        let until = yyyymmdd(self.valid_until.as_deref(), &join_path(path, "valid_until"))?;
        if until != 0 && until <= from {
            return Err(Error::new(
                ErrorCode::InvalidDate,
                join_path(path, "valid_until"),
                "must be after valid_from",
            ));
        }
        let state = self.state.as_deref().map(upper);
        let tax_type = self
            .tax_type
            .clone()
            .unwrap_or_else(|| "sales_tax".to_string());
        let rate = ValidRate {
            id: self.id.clone(),
            percentage: self.percentage,
            inclusive: false,
            compound: self.compound.unwrap_or(false),
            display_name: self
                .display_name
                .clone()
                .unwrap_or_else(|| "Sales tax".to_string()),
            tax_type,
            jurisdiction: self
                .jurisdiction
                .clone()
                .or_else(|| Some(jurisdiction(&country, state.as_deref()))),
            country: Some(country.clone()),
            state: state.clone(),
            explicit: None,
        };
        Ok(ValidRule {
            country,
            state,
            postal_code_prefix: self.postal_code_prefix.as_deref().map(upper),
            tax_category: self.tax_category.clone(),
            rate,
            from,
            until,
            replace_built_in: self.replace_built_in.unwrap_or(false),
        })
    }
}

/// `DE`, or `CA-QC` for a region.
pub fn jurisdiction(country: &str, region: Option<&str>) -> String {
    match region {
        Some(r) if !r.is_empty() => format!("{country}-{r}"),
        _ => country.to_string(),
    }
}

impl TaxConfig {
    /// Checks the config; `base` is the catalog's setup a quote's config extends.
    pub fn validate(&self, base: &TaxSetup, path: &str) -> Result<TaxSetup> {
        use crate::limits::{check, MAX_TAX_RULES};
        check(
            self.rules.len(),
            MAX_TAX_RULES,
            &join_path(path, "rules"),
            "tax rules",
        )?;
        let mut setup = base.clone();
        if let Some(seller) = &self.seller {
            let p = join_path(path, "seller");
            let registrations = seller
                .registrations
                .iter()
                .enumerate()
                .map(|(i, r)| {
                    let rp = format!("{p}.registrations[{i}]");
                    Ok((
                        country(&r.country, &join_path(&rp, "country"))?,
                        r.state.as_deref().map(upper),
                    ))
                })
                .collect::<Result<Vec<_>>>()?;
            setup.seller = Some(ValidSeller {
                country: country(&seller.country, &join_path(&p, "country"))?,
                state: seller.state.as_deref().map(upper),
                registrations,
                oss: seller.oss.unwrap_or(true),
            });
        }
        setup.rounding_stage = self.rounding_stage.unwrap_or(setup.rounding_stage);
        setup.shipping = self.shipping.unwrap_or(setup.shipping);
        setup.invalid_tax_id = self.invalid_tax_id.unwrap_or(setup.invalid_tax_id);
        setup.default_tax_behavior = self.default_tax_behavior.or(setup.default_tax_behavior);
        for (i, rate) in self.rates.iter().enumerate() {
            let rp = join_path(path, &format!("rates[{i}]"));
            let valid = rate.validate(&rp)?;
            let id = valid.id.clone().ok_or_else(|| {
                Error::new(
                    ErrorCode::MissingField,
                    join_path(&rp, "id"),
                    "tax rates here need an id",
                )
            })?;
            if setup.rates.insert(id, valid).is_some() {
                return Err(Error::new(
                    ErrorCode::InvalidTaxRate,
                    join_path(&rp, "id"),
                    "another tax rate has this id",
                ));
            }
        }
        for (i, rule) in self.rules.iter().enumerate() {
            setup
                .rules
                .push(rule.validate(&join_path(path, &format!("rules[{i}]")))?);
        }
        Ok(setup)
    }
}

// Input reading (see `crate::json`).

impl crate::json::FromJson for TaxConfig {
    fn from_json_value(
        value: &crate::json::Value,
        path: &crate::json::Path,
    ) -> crate::error::Result<Self> {
        let o = crate::json::Obj::new(
            value,
            path,
            &[
                "seller",
                "rounding_stage",
                "shipping",
                "invalid_tax_id",
                "default_tax_behavior",
                "rates",
                "rules",
            ],
        )?;
        let seller = o.opt("seller");
        let rounding_stage = o.opt("rounding_stage");
        let shipping = o.opt("shipping");
        let invalid_tax_id = o.opt("invalid_tax_id");
        let default_tax_behavior = o.opt("default_tax_behavior");
        let rates = o.def("rates");
        let rules = o.def("rules");
        o.finish(TaxConfig {
            seller,
            rounding_stage,
            shipping,
            invalid_tax_id,
            default_tax_behavior,
            rates,
            rules,
        })
    }
}

impl crate::json::FromJson for Seller {
    fn from_json_value(
        value: &crate::json::Value,
        path: &crate::json::Path,
    ) -> crate::error::Result<Self> {
        let o = crate::json::Obj::new(value, path, &["country", "state", "registrations", "oss"])?;
        let country = o.req("country");
        let state = o.opt("state");
        let registrations = o.def("registrations");
        let oss = o.opt("oss");
        let Some(country) = country else {
            return Err(o.failed());
        };
        o.finish(Seller {
            country,
            state,
            registrations,
            oss,
        })
    }
}

impl crate::json::FromJson for Registration {
    fn from_json_value(
        value: &crate::json::Value,
        path: &crate::json::Path,
    ) -> crate::error::Result<Self> {
        let o = crate::json::Obj::new(value, path, &["country", "state"])?;
        let country = o.req("country");
        let state = o.opt("state");
        let Some(country) = country else {
            return Err(o.failed());
        };
        o.finish(Registration { country, state })
    }
}

crate::json::json_enum!(ShippingTax {
    "follows_goods" => ShippingTax::FollowsGoods,
    "taxable" => ShippingTax::Taxable,
    "exempt" => ShippingTax::Exempt,
});

crate::json::json_enum!(InvalidTaxId {
    "error" => InvalidTaxId::Error,
    "treat_as_consumer" => InvalidTaxId::TreatAsConsumer,
});

impl crate::json::FromJson for TaxRate {
    fn from_json_value(
        value: &crate::json::Value,
        path: &crate::json::Path,
    ) -> crate::error::Result<Self> {
        let o = crate::json::Obj::new(
            value,
            path,
            &[
                "id",
                "percentage",
                "inclusive",
                "display_name",
                "country",
                "state",
                "jurisdiction",
                "tax_type",
                "compound",
                "description",
                "active",
                "metadata",
                "object",
                "created",
                "livemode",
                "effective_percentage",
            ],
        )?;
        let id = o.opt("id");
        let percentage = o.req("percentage");
        let inclusive = o.req("inclusive");
        let display_name = o.opt("display_name");
        let country = o.opt("country");
        let state = o.opt("state");
        let jurisdiction = o.opt("jurisdiction");
        let tax_type = o.opt("tax_type");
        let compound = o.opt("compound");
        let description = o.opt("description");
        let active = o.opt("active");
        let metadata = o.opt("metadata");
        let object = o.opt("object");
        let created = o.instant("created");
        let livemode = o.opt("livemode");
        let effective_percentage = o.opt("effective_percentage");
        let (Some(percentage), Some(inclusive)) = (percentage, inclusive) else {
            return Err(o.failed());
        };
        o.finish(TaxRate {
            id,
            percentage,
            inclusive,
            display_name,
            country,
            state,
            jurisdiction,
            tax_type,
            compound,
            description,
            active,
            metadata,
            object,
            created,
            livemode,
            effective_percentage,
        })
    }
}

impl crate::json::FromJson for TaxRule {
    fn from_json_value(
        value: &crate::json::Value,
        path: &crate::json::Path,
    ) -> crate::error::Result<Self> {
        let o = crate::json::Obj::new(
            value,
            path,
            &[
                "id",
                "country",
                "state",
                "postal_code_prefix",
                "tax_category",
                "percentage",
                "display_name",
                "jurisdiction",
                "tax_type",
                "compound",
                "valid_from",
                "valid_until",
                "replace_built_in",
            ],
        )?;
        let id = o.opt("id");
        let country = o.req("country");
        let state = o.opt("state");
        let postal_code_prefix = o.opt("postal_code_prefix");
        let tax_category = o.opt("tax_category");
        let percentage = o.req("percentage");
        let display_name = o.opt("display_name");
        let jurisdiction = o.opt("jurisdiction");
        let tax_type = o.opt("tax_type");
        let compound = o.opt("compound");
        let valid_from = o.opt("valid_from");
        let valid_until = o.opt("valid_until");
        let replace_built_in = o.opt("replace_built_in");
        let (Some(country), Some(percentage)) = (country, percentage) else {
            return Err(o.failed());
        };
        o.finish(TaxRule {
            id,
            country,
            state,
            postal_code_prefix,
            tax_category,
            percentage,
            display_name,
            jurisdiction,
            tax_type,
            compound,
            valid_from,
            valid_until,
            replace_built_in,
        })
    }
}
