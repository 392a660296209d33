//! Adapters from the carts shop platforms already have to billcalc carts, and back.
//!
//! Platform payloads carry many fields billcalc does not need, so they are read leniently:
//! unknown fields are ignored, the ones used are checked, with paths. They are read straight
//! from the JSON value rather than through serde-derived types: each derived type costs ~5 KB of
//! wasm, and the adapters would need twenty of them. The result is a billcalc cart (JSON) to pass
//! to `Calculator.quote` or `computeQuote`.

pub mod shopify;
pub mod woocommerce;

use crate::currency::Currency;
use crate::error::{join_path, Error, ErrorCode, Result};
use crate::money;
use rust_decimal::Decimal;
// Platform payloads are read as the engine's own JSON values (`In`, from its scanner); the carts
// written are serde_json values (`Value`), serialised for JS.
use crate::json::{Map as InMap, Number, Value as In};
use serde_json::{json, Map, Value};

/// A JSON object being read, with its path for errors.
#[derive(Clone, Copy)]
pub(crate) struct Obj<'a> {
    map: &'a InMap<'a>,
    path: &'a str,
}

impl<'a> Obj<'a> {
    pub(crate) fn new(value: &'a In<'a>, path: &'a str) -> Result<Obj<'a>> {
        match value {
            In::Object(map) => Ok(Obj { map, path }),
            _ => Err(Error::new(
                ErrorCode::InvalidType,
                path,
                "expected an object",
            )),
        }
    }

    fn at(&self, key: &str) -> String {
        join_path(self.path, key)
    }

    fn wrong(&self, key: &str, expected: &str) -> Error {
        Error::new(
            ErrorCode::InvalidType,
            self.at(key),
            ["expected ", expected].concat(),
        )
    }

    /// The field, `None` when absent or null.
    fn get(&self, key: &str) -> Option<&'a In<'a>> {
        self.map.get(key).filter(|v| !matches!(v, In::Null))
    }

    fn required(&self, key: &str) -> Result<&'a In<'a>> {
        self.get(key)
            .ok_or_else(|| Error::new(ErrorCode::MissingField, self.at(key), "missing field"))
    }

    pub(crate) fn str(&self, key: &str) -> Result<Option<&'a str>> {
        self.get(key)
            .map(|v| v.as_str().ok_or_else(|| self.wrong(key, "a string")))
            .transpose()
    }

    pub(crate) fn required_str(&self, key: &str) -> Result<&'a str> {
        self.required(key)?
            .as_str()
            .ok_or_else(|| self.wrong(key, "a string"))
    }

    pub(crate) fn int(&self, key: &str) -> Result<Option<i64>> {
        self.get(key)
            .map(|v| v.as_i64().ok_or_else(|| self.wrong(key, "an integer")))
            .transpose()
    }

    pub(crate) fn required_int(&self, key: &str) -> Result<i64> {
        self.required(key)?
            .as_i64()
            .ok_or_else(|| self.wrong(key, "an integer"))
    }

    pub(crate) fn bool(&self, key: &str) -> Result<Option<bool>> {
        self.get(key)
            .map(|v| v.as_bool().ok_or_else(|| self.wrong(key, "a boolean")))
            .transpose()
    }

    /// An id sent as a number or a string, as text.
    pub(crate) fn id(&self, key: &str) -> Result<Option<String>> {
        self.get(key)
            .map(|v| match v {
                In::String(s) => Ok(s.to_string()),
                In::Number(Number::PosInt(u)) => Ok(u.to_string()),
                In::Number(Number::NegInt(i)) => Ok(i.to_string()),
                _ => Err(self.wrong(key, "an id (number or string)")),
            })
            .transpose()
    }

    /// An array of objects (empty when absent), each with its path.
    pub(crate) fn list(&self, key: &str) -> Result<Vec<(String, &'a In<'a>)>> {
        match self.get(key) {
            None => Ok(Vec::new()),
            Some(In::Array(items)) => {
                let base = self.at(key);
                Ok(items
                    .iter()
                    .enumerate()
                    .map(|(i, v)| (format!("{base}[{i}]"), v))
                    .collect())
            }
            Some(_) => Err(self.wrong(key, "an array")),
        }
    }

    /// An amount sent as a string of digits (WooCommerce's minor units, "1999").
    pub(crate) fn digits(&self, key: &str) -> Result<Decimal> {
        let text = self.required_str(key)?;
        if text.is_empty() || text.len() > 18 || !text.bytes().all(|b| b.is_ascii_digit()) {
            return Err(self.wrong(key, "an amount as a string of digits"));
        }
        Decimal::from_str_exact(text)
            .map_err(|_| self.wrong(key, "an amount as a string of digits"))
    }
}

/// An amount written in `decimals` decimal places (a platform's units) as the price fields of a
/// billcalc price in `currency`'s minor units: `unit_amount` when whole, else the exact
/// `unit_amount_decimal`.
fn price_fields(
    amount: Decimal,
    decimals: u32,
    currency: Currency,
    path: &str,
) -> Result<Map<String, Value>> {
    let minor = rescale(amount, decimals, currency.exponent(), path)?;
    let mut fields = Map::new();
    fields.insert("currency".into(), json!(currency.code()));
    if minor.fract().is_zero() {
        fields.insert("unit_amount".into(), json!(money::to_minor(minor, path)?));
    } else {
        fields.insert(
            "unit_amount_decimal".into(),
            json!(minor.normalize().to_string()),
        );
    }
    Ok(fields)
}

/// `amount` in units of 10^-from as units of 10^-to, exactly.
fn rescale(amount: Decimal, from: u32, to: u32, path: &str) -> Result<Decimal> {
    if amount.is_sign_negative() {
        return Err(Error::new(
            ErrorCode::InvalidAmount,
            path,
            "amount must not be negative",
        ));
    }
    let power = |n: u32| 10i64.checked_pow(n).map(Decimal::from);
    power(to)
        .zip(power(from))
        .and_then(|(up, down)| amount.checked_mul(up)?.checked_div(down))
        .filter(|d| *d <= Decimal::from(money::MAX_AMOUNT))
        .ok_or_else(|| Error::new(ErrorCode::AmountOverflow, path, "amount out of range"))
}

/// A whole amount in minor units as a whole amount in `decimals` places, rounded (half up, the
/// one rounding function) where the platform has fewer places than the currency.
fn to_platform(minor: i64, currency: Currency, decimals: u32, path: &str) -> Result<i64> {
    let value = rescale(
        Decimal::from(minor.abs()),
        currency.exponent(),
        decimals,
        path,
    )?;
    let rounded = crate::rounding::RoundingPolicy::default().round(value, path)?;
    Ok(if minor < 0 { -rounded } else { rounded })
}

/// A billcalc cart line.
fn line(price: Map<String, Value>, quantity: i64, description: Option<&str>) -> Map<String, Value> {
    let mut line = Map::new();
    line.insert("price".into(), Value::Object(price));
    line.insert("quantity".into(), json!(quantity));
    if let Some(d) = description {
        line.insert("description".into(), json!(d));
    }
    line
}

/// A fixed-amount inline coupon for what a platform already took off.
fn fixed_coupon(id: &str, minor: Decimal, currency: Currency, path: &str) -> Result<Value> {
    let amount = crate::rounding::RoundingPolicy::default().round(minor, path)?;
    Ok(json!({ "coupon": { "id": id, "amount_off": amount, "currency": currency.code() } }))
}

fn cart(currency: Currency, lines: Vec<Value>, discounts: Vec<Value>) -> Value {
    let mut out = Map::new();
    out.insert("currency".into(), json!(currency.code()));
    out.insert("lines".into(), Value::Array(lines));
    if !discounts.is_empty() {
        out.insert("discounts".into(), Value::Array(discounts));
    }
    Value::Object(out)
}
