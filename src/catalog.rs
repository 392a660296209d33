//! The catalog a [`Calculator`] holds: prices, products, coupons, promotion codes and cart
//! promotion rules, validated once and looked up on every quote.

use crate::discount::promotion_code::normalize_code;
use crate::discount::{
    Coupon, Promotion, PromotionCode, ValidCoupon, ValidPromotion, ValidPromotionCode,
};
use crate::error::{join_path, Error, ErrorCode, Result};
use crate::price::{Price, ProductLink, ValidPrice};
use crate::product::Product;
use crate::quote::WorkLine;
use crate::rounding::RoundingPolicy;
use crate::tax::{TaxConfig, TaxSetup};
use std::collections::BTreeMap;
use std::sync::Arc;

/// What a merchant's catalog holds. Tax rules join here in later versions.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    pub prices: Vec<Price>,
    /// Products the prices refer to (for categories and tax categories); optional.
    pub products: Vec<Product>,
    pub coupons: Vec<Coupon>,
    pub promotion_codes: Vec<PromotionCode>,
    /// Cart promotion rules, applied automatically when their conditions hold.
    pub promotions: Vec<Promotion>,
    /// The merchant's default rounding policy; a quote may override it.
    pub rounding: Option<RoundingPolicy>,
    /// The merchant's tax settings: seller, explicit rates, rules.
    pub tax: Option<TaxConfig>,
}

/// A validated catalog, ready to price carts. Build it once; quote many times.
#[derive(Debug, Clone, Default)]
pub struct Calculator {
    /// In id order; found through `price_slots` (every quote line looks its price up).
    prices: Vec<ValidPrice>,
    /// An open-addressing table of the prices by the hash of their id: `1 + index` in
    /// `prices`, 0 for an empty slot; a power of two at least twice the prices, probed
    /// linearly from `hash & (len − 1)`. A lookup hashes the id once and compares one id,
    /// usually in the first slot (a sorted hash index took a binary search per line, a
    /// `BTreeMap<String, _>` compared ~8 ids: issue 12's profiles).
    price_slots: Vec<usize>,
    // Entries in catalog order, found through id → index maps (one map type for all keeps the
    // wasm small).
    products: Vec<Product>,
    product_ids: BTreeMap<String, usize>,
    coupons: Vec<ValidCoupon>,
    coupon_ids: BTreeMap<String, usize>,
    promotion_codes: Vec<ValidPromotionCode>,
    /// Normalized code → index in `promotion_codes`.
    codes: BTreeMap<String, usize>,
    promotions: Vec<ValidPromotion>,
    rounding: RoundingPolicy,
    tax: TaxSetup,
    /// The tax categories a quote line can get from this catalog (`standard`, `shipping`, the
    /// products'), sorted: the output lines share them rather than copy them.
    categories: Vec<Arc<str>>,
    /// This calculator's identity, for the product links of its prices (0: the empty one).
    identity: u64,
}

/// FNV-1a, 64 bits: a price id's hash for `price_slots` (deterministic; ids that collide are
/// told apart by comparing them).
fn id_hash(id: &str) -> u64 {
    id.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn item(prefix: &str, i: usize) -> String {
    [prefix, "[", &i.to_string(), "]"].concat()
}

fn indexed(prefix: &str, i: usize, field: &str) -> String {
    join_path(&item(prefix, i), field)
}

fn duplicate(code: ErrorCode, path: String, what: &'static str) -> Error {
    Error::new(code, path, what)
}

/// The open-addressing table of `Calculator::price_slots` for these prices.
fn price_slots(prices: &[ValidPrice]) -> Vec<usize> {
    if prices.is_empty() {
        return Vec::new();
    }
    let mut slots = vec![0usize; (prices.len() * 2).next_power_of_two()];
    let mask = slots.len() - 1;
    for (i, price) in prices.iter().enumerate() {
        let mut at = id_hash(price.id.as_deref().unwrap_or_default()) as usize & mask;
        // Some slot is free: there are twice as many as prices.
        while let Some(slot) = slots.get_mut(at) {
            if *slot == 0 {
                *slot = i + 1;
                break;
            }
            at = (at + 1) & mask;
        }
    }
    slots
}

impl Calculator {
    /// Validates the whole catalog. Paths in errors are relative to the catalog.
    pub fn new(catalog: &Catalog) -> Result<Calculator> {
        use crate::limits::{check, MAX_PROMOTIONS};
        check(
            catalog.promotions.len(),
            MAX_PROMOTIONS,
            "promotions",
            "promotions",
        )?;
        let mut prices = BTreeMap::new();
        for (i, price) in catalog.prices.iter().enumerate() {
            let path = format!("prices[{i}]");
            let valid = price.validate(&path)?;
            let id = valid.id.as_deref().map(String::from).ok_or_else(|| {
                Error::new(
                    ErrorCode::MissingField,
                    format!("{path}.id"),
                    "catalog prices need an id",
                )
            })?;
            if prices.insert(id, valid).is_some() {
                return Err(Error::new(
                    ErrorCode::DuplicatePrice,
                    format!("{path}.id"),
                    "another price has this id",
                ));
            }
        }

        let mut product_ids = BTreeMap::new();
        for (i, product) in catalog.products.iter().enumerate() {
            if product.id.is_empty() {
                return Err(Error::new(
                    ErrorCode::InvalidRequest,
                    indexed("products", i, "id"),
                    "id must not be empty",
                ));
            }
            if product_ids.insert(product.id.clone(), i).is_some() {
                return Err(duplicate(
                    ErrorCode::DuplicateProduct,
                    indexed("products", i, "id"),
                    "another product has this id",
                ));
            }
        }

        let mut coupons = Vec::with_capacity(catalog.coupons.len());
        let mut coupon_ids = BTreeMap::new();
        for (i, coupon) in catalog.coupons.iter().enumerate() {
            let valid = coupon.validate(&item("coupons", i))?;
            let id = valid.id.clone().ok_or_else(|| {
                Error::new(
                    ErrorCode::MissingField,
                    indexed("coupons", i, "id"),
                    "catalog coupons need an id",
                )
            })?;
            coupons.push(valid);
            if coupon_ids.insert(id, i).is_some() {
                return Err(duplicate(
                    ErrorCode::DuplicateCoupon,
                    indexed("coupons", i, "id"),
                    "another coupon has this id",
                ));
            }
        }

        let mut promotion_codes = Vec::with_capacity(catalog.promotion_codes.len());
        let mut codes = BTreeMap::new();
        let mut code_ids = BTreeMap::new();
        for (i, code) in catalog.promotion_codes.iter().enumerate() {
            let valid = code.validate(&item("promotion_codes", i))?;
            if !coupon_ids.contains_key(&valid.coupon) {
                return Err(Error::new(
                    ErrorCode::UnknownCoupon,
                    indexed("promotion_codes", i, "coupon"),
                    "no coupon with this id in the catalog",
                ));
            }
            if codes.insert(normalize_code(&valid.code), i).is_some() {
                return Err(duplicate(
                    ErrorCode::DuplicatePromotionCode,
                    indexed("promotion_codes", i, "code"),
                    "another promotion code has this code (codes compare case-insensitively)",
                ));
            }
            let id_taken = valid
                .id
                .as_ref()
                .is_some_and(|id| code_ids.insert(id.clone(), i).is_some());
            if id_taken {
                return Err(duplicate(
                    ErrorCode::DuplicatePromotionCode,
                    indexed("promotion_codes", i, "id"),
                    "another promotion code has this id",
                ));
            }
            promotion_codes.push(valid);
        }

        let mut promotions: Vec<ValidPromotion> = Vec::with_capacity(catalog.promotions.len());
        let mut promotion_ids = BTreeMap::new();
        for (i, rule) in catalog.promotions.iter().enumerate() {
            let valid = rule.validate(&item("promotions", i))?;
            if promotion_ids.insert(valid.id.clone(), i).is_some() {
                return Err(duplicate(
                    ErrorCode::DuplicatePromotion,
                    indexed("promotions", i, "id"),
                    "another promotion has this id",
                ));
            }
            promotions.push(valid);
        }

        let rounding = catalog.rounding.unwrap_or_default();
        rounding.validate("rounding")?;
        let tax = match &catalog.tax {
            Some(config) => config.validate(&TaxSetup::default(), "tax")?,
            None => TaxSetup::default(),
        };
        // Each price's product found once, here, instead of by id for every quote line.
        static IDENTITIES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        let identity = IDENTITIES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut prices: Vec<ValidPrice> = prices.into_values().collect();
        let price_slots = price_slots(&prices);
        for price in prices.iter_mut() {
            price.catalog_product = ProductLink {
                catalog: identity,
                index: price
                    .product
                    .as_deref()
                    .and_then(|id| product_ids.get(id).copied()),
            };
        }
        let names: Vec<&str> = ["standard", "shipping"]
            .into_iter()
            .chain(
                catalog
                    .products
                    .iter()
                    .filter_map(|p| p.tax_category.as_deref()),
            )
            .collect();
        let name = |i: usize| names.get(i).copied().unwrap_or_default();
        let mut categories: Vec<Arc<str>> = Vec::new();
        for i in crate::sort::sorted_indices(names.len(), &|a, b| name(a).cmp(name(b))) {
            if categories.last().map(|c| &**c) != Some(name(i)) {
                categories.push(Arc::from(name(i)));
            }
        }
        Ok(Calculator {
            prices,
            price_slots,
            products: catalog.products.clone(),
            product_ids,
            coupons,
            coupon_ids,
            promotion_codes,
            codes,
            promotions,
            rounding,
            tax,
            categories,
            identity,
        })
    }

    /// A tax category as the output lines hold it: shared with the catalog when it is one of
    /// its categories (no copy per line), else a new string.
    pub(crate) fn shared_category(&self, category: &str) -> Arc<str> {
        match self
            .categories
            .binary_search_by(|c| c.as_ref().cmp(category))
        {
            Ok(i) => self
                .categories
                .get(i)
                .cloned()
                .unwrap_or_else(|| Arc::from(category)),
            Err(_) => Arc::from(category),
        }
    }

    pub fn price(&self, id: &str) -> Option<&ValidPrice> {
        let mask = self.price_slots.len().checked_sub(1)?;
        let mut at = id_hash(id) as usize & mask;
        // At most every slot once (the table is never full: it has twice the prices).
        for _ in 0..self.price_slots.len() {
            // An empty slot (0) ends the probe: no such id.
            let index = self.price_slots.get(at)?.checked_sub(1)?;
            let price = self.prices.get(index)?;
            if price.id.as_deref() == Some(id) {
                return Some(price);
            }
            at = (at + 1) & mask;
        }
        None
    }

    pub fn product(&self, id: &str) -> Option<&Product> {
        self.product_ids.get(id).and_then(|&i| self.products.get(i))
    }

    /// A line's product, when the catalog declares it.
    pub fn product_of(&self, line: &WorkLine) -> Option<&Product> {
        let link = line.price.catalog_product;
        if link.catalog == self.identity && self.identity != 0 {
            return link.index.and_then(|i| self.products.get(i));
        }
        // An inline price (or one from another calculator): by id.
        line.price
            .product
            .as_deref()
            .and_then(|id| self.product(id))
    }

    /// A line's tax category: its own `tax_category`, else its product's. `"shipping"` marks a
    /// shipping line (free-shipping rules discount it; order-level discounts leave it alone).
    pub fn tax_category<'a>(&'a self, line: &WorkLine<'a>) -> Option<&'a str> {
        Calculator::category_with(line, self.product_of(line))
    }

    /// `tax_category` with the line's product already found (`product_of`).
    pub(crate) fn category_with<'a>(
        line: &WorkLine<'a>,
        product: Option<&'a Product>,
    ) -> Option<&'a str> {
        line.input
            .tax_category
            .as_deref()
            .or_else(|| product.and_then(|p| p.tax_category.as_deref()))
    }

    /// Whether a line supplies goods or services: its product's `type`, else its tax category
    /// (`digital_services` is a service; shipping and every other category are goods).
    pub fn supply(&self, line: &WorkLine) -> crate::tax::place::Supply {
        Calculator::supply_with(line, self.product_of(line))
    }

    /// `supply` with the line's product already found (`product_of`).
    pub(crate) fn supply_with(
        line: &WorkLine,
        product: Option<&Product>,
    ) -> crate::tax::place::Supply {
        use crate::product::ProductType;
        use crate::tax::place::Supply;
        match product.and_then(|p| p.kind) {
            Some(ProductType::Good) => Supply::Goods,
            Some(ProductType::Service) => Supply::Services,
            None if Calculator::category_with(line, product) == Some("digital_services") => {
                Supply::Services
            }
            None => Supply::Goods,
        }
    }

    pub fn coupon(&self, id: &str) -> Option<&ValidCoupon> {
        self.coupon_ids.get(id).and_then(|&i| self.coupons.get(i))
    }

    /// The promotion code matching what a customer typed (trimmed, ASCII case-insensitive).
    pub fn promotion_code(&self, typed: &str) -> Option<&ValidPromotionCode> {
        self.codes
            .get(&normalize_code(typed))
            .and_then(|&i| self.promotion_codes.get(i))
    }

    /// The cart promotion rules, in catalog order.
    pub fn promotions(&self) -> &[ValidPromotion] {
        &self.promotions
    }

    pub fn rounding(&self) -> RoundingPolicy {
        self.rounding
    }

    pub fn tax(&self) -> &TaxSetup {
        &self.tax
    }
}

// Input reading (see `crate::json`).

impl crate::json::FromJson for Catalog {
    fn from_json_value(
        value: &crate::json::Value,
        path: &crate::json::Path,
    ) -> crate::error::Result<Self> {
        let o = crate::json::Obj::new(
            value,
            path,
            &[
                "prices",
                "products",
                "coupons",
                "promotion_codes",
                "promotions",
                "rounding",
                "tax",
            ],
        )?;
        let prices = o.def("prices");
        let products = o.def("products");
        let coupons = o.def("coupons");
        let promotion_codes = o.def("promotion_codes");
        let promotions = o.def("promotions");
        let rounding = o.opt("rounding");
        let tax = o.opt("tax");
        o.finish(Catalog {
            prices,
            products,
            coupons,
            promotion_codes,
            promotions,
            rounding,
            tax,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The error `Calculator::new` gives for a catalog (code and path).
    fn error(catalog: &str) -> (String, String) {
        let catalog: Catalog = crate::parse::from_json(catalog).unwrap();
        let e = Calculator::new(&catalog).unwrap_err();
        (e.code.as_str().to_string(), e.path.to_string())
    }

    fn is(code: &str, path: &str) -> (String, String) {
        (code.to_string(), path.to_string())
    }

    /// The first error in catalog order, as one map insertion after the other found it: a
    /// repeated id before an invalid entry, an invalid entry before a later repeat.
    #[test]
    fn errors_come_in_catalog_order() {
        let p = |id: &str, amount: i64| {
            format!(r#"{{"id":"{id}","currency":"eur","unit_amount":{amount}}}"#)
        };
        let prices = |list: &[String]| format!(r#"{{"prices":[{}]}}"#, list.join(","));
        let dup = prices(&[p("a", 1), p("b", 1), p("a", 2), p("c", -1)]);
        assert_eq!(error(&dup), is("duplicate_price", "prices[2].id"));
        let bad_first = prices(&[p("a", 1), p("c", -1), p("a", 2)]);
        assert_eq!(error(&bad_first).1, "prices[1].unit_amount");
        let no_id = r#"{"prices":[{"id":"a","currency":"eur","unit_amount":1},
            {"currency":"eur","unit_amount":1},{"id":"a","currency":"eur","unit_amount":1}]}"#;
        assert_eq!(error(no_id), is("missing_field", "prices[1].id"));
        let three = prices(&[p("x", 1), p("y", 1), p("y", 1), p("x", 1)]);
        assert_eq!(error(&three), is("duplicate_price", "prices[2].id"));

        let products = r#"{"products":[{"id":"p"},{"id":"q"},{"id":"p"},{"id":""}]}"#;
        assert_eq!(error(products), is("duplicate_product", "products[2].id"));
        let products = r#"{"products":[{"id":"p"},{"id":""},{"id":"p"}]}"#;
        assert_eq!(error(products), is("invalid_request", "products[1].id"));

        let coupons = r#"{"coupons":[{"id":"c","percent_off":10},{"id":"d","percent_off":5},
            {"id":"c","percent_off":5}]}"#;
        assert_eq!(error(coupons), is("duplicate_coupon", "coupons[2].id"));

        let codes = |list: &str| {
            format!(r#"{{"coupons":[{{"id":"c","percent_off":10}}],"promotion_codes":[{list}]}}"#)
        };
        // Per code: a known coupon, then a new code (case-insensitive), then a new id.
        let same_code = codes(
            r#"{"code":"SAVE","coupon":"c","id":"1"},{"code":" save ","coupon":"c","id":"1"}"#,
        );
        assert_eq!(
            error(&same_code),
            is("duplicate_promotion_code", "promotion_codes[1].code")
        );
        let same_id =
            codes(r#"{"code":"A","coupon":"c","id":"1"},{"code":"B","coupon":"c","id":"1"}"#);
        assert_eq!(
            error(&same_id),
            is("duplicate_promotion_code", "promotion_codes[1].id")
        );
        let unknown = codes(r#"{"code":"A","coupon":"c"},{"code":"A","coupon":"zz"}"#);
        assert_eq!(
            error(&unknown),
            is("unknown_coupon", "promotion_codes[1].coupon")
        );
        let invalid_later = codes(
            r#"{"code":"A","coupon":"c"},{"code":"A","coupon":"c"},{"code":"","coupon":"c"}"#,
        );
        assert_eq!(
            error(&invalid_later),
            is("duplicate_promotion_code", "promotion_codes[1].code")
        );
        let invalid_first = codes(
            r#"{"code":"A","coupon":"c"},{"code":" ","coupon":"c"},{"code":"A","coupon":"c"}"#,
        );
        assert_eq!(error(&invalid_first).1, "promotion_codes[1].code");
        assert_eq!(error(&invalid_first).0, "invalid_promotion_code");
    }

    /// Every id is found at its entry, whatever the catalog's order; others are not found.
    #[test]
    fn lookups_find_every_entry() {
        let ids: Vec<String> = (0..300)
            .map(|i| format!("id_{}", (i * 7919) % 1000))
            .collect();
        let prices: Vec<String> = ids
            .iter()
            .enumerate()
            .map(|(i, id)| format!(r#"{{"id":"{id}","currency":"eur","unit_amount":{i}}}"#))
            .collect();
        let products: Vec<String> = ids.iter().map(|id| format!(r#"{{"id":"{id}"}}"#)).collect();
        let text = format!(
            r#"{{"prices":[{}],"products":[{}]}}"#,
            prices.join(","),
            products.join(",")
        );
        let catalog: Catalog = crate::parse::from_json(&text).unwrap();
        let calculator = Calculator::new(&catalog).unwrap();
        for (i, id) in ids.iter().enumerate() {
            let price = calculator.price(id).unwrap();
            assert_eq!(price.id.as_deref(), Some(id.as_str()));
            assert_eq!(catalog.prices[i].id.as_deref(), Some(id.as_str()));
            assert_eq!(calculator.product(id).unwrap().id, *id);
        }
        for missing in ["", "id_", "id_1000", "ID_0", "id_0 "] {
            assert!(calculator.price(missing).is_none(), "{missing}");
            assert!(calculator.product(missing).is_none(), "{missing}");
        }
    }
}
