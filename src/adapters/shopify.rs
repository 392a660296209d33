//! Shopify's AJAX cart (`GET /cart.js`) → a billcalc cart, and a quote back into Shopify's units.
//!
//! Shopify money is an integer of "subunits" that is always ×100, whatever the currency:
//! ¥1,000 arrives as 100000 and 12.500 KWD as 1250. billcalc works in ISO minor units (yen, fils),
//! so every amount is rescaled by the currency's exponent on the way in and out.

use super::{cart, fixed_coupon, line, price_fields, rescale, to_platform, Obj};
use crate::currency::Currency;
use crate::error::Result;
use crate::money;
use rust_decimal::Decimal;
use serde::Serialize;
use serde_json::{json, Map, Value};

/// Shopify's money always has two decimal places.
const SHOPIFY_DECIMALS: u32 = 2;

/// The billcalc cart for a Shopify cart. Lines keep Shopify's ids in `metadata`; items that are
/// not `taxable` get `tax_category: "exempt"`; Shopify's discounts become fixed-amount coupons
/// (line-level allocations on their line, cart-level applications on the cart).
pub fn from_shopify_cart(value: &crate::json::Value) -> Result<Value> {
    let shop = Obj::new(value, "")?;
    let currency = Currency::parse(shop.required_str("currency")?, "currency")?;
    let subunits = |amount: i64, path: &str| {
        rescale(
            Decimal::from(amount),
            SHOPIFY_DECIMALS,
            currency.exponent(),
            path,
        )
    };
    let mut lines = Vec::new();
    for (path, item) in shop.list("items")? {
        let item = Obj::new(item, &path)?;
        let variant = item
            .id("variant_id")?
            .ok_or_else(|| missing(&path, "variant_id"))?;
        let original = item.required_int("original_price")?;
        let mut price = price_fields(
            Decimal::from(original),
            SHOPIFY_DECIMALS,
            currency,
            &item.at("original_price"),
        )?;
        if let Some(product) = item.id("product_id")? {
            price.insert(
                "product".into(),
                json!(["shopify_product_", &product].concat()),
            );
        }
        let mut out = line(price, item.required_int("quantity")?, item.str("title")?);
        let mut metadata = Map::new();
        metadata.insert("variant_id".into(), json!(variant));
        for key in ["key", "sku"] {
            if let Some(v) = item.str(key)? {
                metadata.insert(key.into(), json!(v));
            }
        }
        out.insert("metadata".into(), Value::Object(metadata));
        if item.bool("taxable")? == Some(false) {
            out.insert("tax_category".into(), json!("exempt"));
        }
        let mut discounts = Vec::new();
        for (apath, allocation) in item.list("line_level_discount_allocations")? {
            let allocation = Obj::new(allocation, &apath)?;
            let title = match allocation.get("discount_application") {
                Some(app) => Obj::new(app, &apath)?.str("title")?,
                None => None,
            };
            let amount = subunits(allocation.required_int("amount")?, &allocation.at("amount"))?;
            discounts.push(fixed_coupon(
                title.unwrap_or("Shopify discount"),
                amount,
                currency,
                &apath,
            )?);
        }
        if !discounts.is_empty() {
            out.insert("discounts".into(), Value::Array(discounts));
        }
        lines.push(Value::Object(out));
    }
    let mut discounts = Vec::new();
    for (path, application) in shop.list("cart_level_discount_applications")? {
        let application = Obj::new(application, &path)?;
        let amount = subunits(
            application.int("total_allocated_amount")?.unwrap_or(0),
            &path,
        )?;
        let title = application.str("title")?.unwrap_or("Shopify discount");
        discounts.push(fixed_coupon(title, amount, currency, &path)?);
    }
    Ok(cart(currency, lines, discounts))
}

fn missing(path: &str, key: &str) -> crate::error::Error {
    crate::error::Error::new(
        crate::error::ErrorCode::MissingField,
        crate::error::join_path(path, key),
        "missing field",
    )
}

/// A quote's amounts in Shopify's ×100 subunits, for themes that display Shopify money.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ShopifyAmounts {
    pub currency: String,
    pub items: Vec<ShopifyLineAmounts>,
    pub items_subtotal_price: i64,
    pub total_discount: i64,
    pub total_tax: i64,
    pub total_price: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ShopifyLineAmounts {
    pub line_price: i64,
    pub total_discount: i64,
    pub final_line_price: i64,
}

/// Σ of the `amount` fields of a list (`discount_amounts`, `total_taxes`, …).
fn sum_amounts(obj: &Obj, key: &str) -> Result<i64> {
    let amounts = obj
        .list(key)?
        .into_iter()
        .map(|(path, v)| Obj::new(v, &path)?.required_int("amount"))
        .collect::<Result<Vec<_>>>()?;
    money::sum(amounts, &obj.at(key))
}

/// The quote's amounts in Shopify subunits (an ISO 3-decimal currency loses its last digit,
/// rounded half up: Shopify cannot show it). Reads the quote's JSON, so JS passes the quote it has.
pub fn to_shopify_amounts(quote: &crate::json::Value) -> Result<ShopifyAmounts> {
    let q = Obj::new(quote, "")?;
    let c = Currency::parse(q.required_str("currency")?, "currency")?;
    let s = |minor: i64, path: &str| to_platform(minor, c, SHOPIFY_DECIMALS, path);
    let mut items = Vec::new();
    let mut subtotal = 0i64;
    for (path, l) in q.list("lines")? {
        let l = Obj::new(l, &path)?;
        let amount = l.required_int("amount")?;
        let discount = sum_amounts(&l, "discount_amounts")?;
        subtotal = money::sum([subtotal, amount], "lines")?;
        items.push(ShopifyLineAmounts {
            line_price: s(amount, &path)?,
            total_discount: s(discount, &path)?,
            final_line_price: s(amount - discount, &path)?,
        });
    }
    Ok(ShopifyAmounts {
        currency: c.code().to_ascii_uppercase(),
        items,
        items_subtotal_price: s(subtotal, "lines")?,
        total_discount: s(
            sum_amounts(&q, "total_discount_amounts")?,
            "total_discount_amounts",
        )?,
        total_tax: s(sum_amounts(&q, "total_taxes")?, "total_taxes")?,
        total_price: s(q.required_int("total")?, "total")?,
    })
}
