//! WooCommerce Store API cart (`GET /wp-json/wc/store/v1/cart`) → a billcalc cart.
//!
//! Amounts are strings of minor units in the store's own `currency_minor_unit` (a store setting,
//! not necessarily ISO 4217: a JPY store may keep 2 decimals, a USD store 0 or 3). They are
//! rescaled exactly to the ISO exponent; a price finer than the currency's minor unit becomes an
//! exact `unit_amount_decimal` and is rounded once, by the quote's policy, like any other.

use super::{cart, fixed_coupon, line, price_fields, rescale, Obj};
use crate::currency::Currency;
use crate::error::{Error, ErrorCode, Result};
use serde_json::{json, Map, Value};

/// Options: `coupons` is `"amounts"` (default: WooCommerce's coupon totals become fixed-amount
/// coupons; its totals are the truth) or `"codes"` (the codes become promotion codes for billcalc's
/// own catalog; billcalc is the truth). `tax_behavior` is `"inclusive"` for stores that enter
/// prices with tax.
pub fn from_woocommerce_cart(
    value: &crate::json::Value,
    options: Option<&crate::json::Value>,
) -> Result<Value> {
    let (as_codes, behavior) = read_options(options)?;
    let woo = Obj::new(value, "")?;
    let totals = Obj::new(woo.required("totals")?, "totals")?;
    let currency = Currency::parse(
        totals.required_str("currency_code")?,
        "totals.currency_code",
    )?;
    decimals(&totals)?;
    let with_behavior = |mut price: Map<String, Value>| {
        if let Some(b) = behavior {
            price.insert("tax_behavior".into(), json!(b));
        }
        price
    };
    let mut lines = Vec::new();
    for (path, item) in woo.list("items")? {
        let item = Obj::new(item, &path)?;
        let id = item
            .id("id")?
            .ok_or_else(|| Error::new(ErrorCode::MissingField, item.at("id"), "missing field"))?;
        let prices_path = item.at("prices");
        let prices = Obj::new(item.required("prices")?, &prices_path)?;
        let mut price = price_fields(
            prices.digits("price")?,
            decimals(&prices)?,
            currency,
            &prices.at("price"),
        )?;
        price.insert(
            "product".into(),
            json!(["woocommerce_product_", &id].concat()),
        );
        let mut out = line(
            with_behavior(price),
            item.required_int("quantity")?,
            item.str("name")?,
        );
        let mut metadata = Map::new();
        metadata.insert("product_id".into(), json!(id));
        for key in ["key", "sku"] {
            if let Some(v) = item.str(key)? {
                metadata.insert(key.into(), json!(v));
            }
        }
        out.insert("metadata".into(), Value::Object(metadata));
        lines.push(Value::Object(out));
    }
    // The selected rate of each package becomes a shipping line.
    for (path, package) in woo.list("shipping_rates")? {
        for (rate_path, rate) in Obj::new(package, &path)?.list("shipping_rates")? {
            let rate = Obj::new(rate, &rate_path)?;
            if rate.bool("selected")? != Some(true) {
                continue;
            }
            let price = price_fields(
                rate.digits("price")?,
                decimals(&rate)?,
                currency,
                &rate.at("price"),
            )?;
            let mut out = line(with_behavior(price), 1, rate.str("name")?);
            out.insert("tax_category".into(), json!("shipping"));
            if let Some(id) = rate.str("rate_id")? {
                out.insert("metadata".into(), json!({ "rate_id": id }));
            }
            lines.push(Value::Object(out));
        }
    }
    let mut discounts = Vec::new();
    for (path, coupon) in woo.list("coupons")? {
        let coupon = Obj::new(coupon, &path)?;
        let code = coupon.required_str("code")?;
        if as_codes {
            discounts.push(json!({ "promotion_code": code }));
            continue;
        }
        let totals_path = coupon.at("totals");
        let totals = Obj::new(coupon.required("totals")?, &totals_path)?;
        let amount = rescale(
            totals.digits("total_discount")?,
            decimals(&totals)?,
            currency.exponent(),
            &totals_path,
        )?;
        discounts.push(fixed_coupon(
            code,
            amount,
            currency,
            &totals.at("total_discount"),
        )?);
    }
    Ok(cart(currency, lines, discounts))
}

/// A `currency_minor_unit` (at most 12 places).
fn decimals(obj: &Obj) -> Result<u32> {
    let d = obj.required_int("currency_minor_unit")?;
    u32::try_from(d).ok().filter(|d| *d <= 12).ok_or_else(|| {
        Error::new(
            ErrorCode::InvalidAmount,
            obj.at("currency_minor_unit"),
            "currency_minor_unit is 0 to 12",
        )
    })
}

fn read_options<'a>(
    options: Option<&'a crate::json::Value<'a>>,
) -> Result<(bool, Option<&'a str>)> {
    let Some(options) = options.filter(|o| !matches!(o, crate::json::Value::Null)) else {
        return Ok((false, None));
    };
    let o = Obj::new(options, "")?;
    if let Some(unknown) = o
        .map
        .keys()
        .find(|k| !matches!(*k, "coupons" | "tax_behavior"))
    {
        return Err(Error::new(
            ErrorCode::UnknownField,
            unknown,
            "unknown option",
        ));
    }
    let as_codes = match o.str("coupons")? {
        None | Some("amounts") => false,
        Some("codes") => true,
        Some(_) => return Err(o.wrong("coupons", "\"amounts\" or \"codes\"")),
    };
    let behavior = match o.str("tax_behavior")? {
        None => None,
        Some(b @ ("inclusive" | "exclusive" | "unspecified")) => Some(b),
        Some(_) => {
            return Err(o.wrong(
                "tax_behavior",
                "\"inclusive\", \"exclusive\" or \"unspecified\"",
            ))
        }
    };
    Ok((as_codes, behavior))
}
