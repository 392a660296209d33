//! Reading subscription requests: create, change, confirmation (paths as the client sent them).

use super::*;
use crate::error::{ApiError, ApiResult};
use crate::pricing::only_fields;
use crate::state::Ctx;
use axum::http::StatusCode;
use serde_json::{json, Map, Value};

pub(super) fn string_at(
    o: &Map<String, Value>,
    key: &str,
    path: &str,
    max: usize,
) -> ApiResult<Option<String>> {
    let at = billcalc::error::join_path(path, key);
    match o.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if !s.is_empty() && s.len() <= max => Ok(Some(s.clone())),
        Some(Value::String(_)) => Err(ApiError::invalid(
            at,
            format!("expected 1 to {max} characters"),
        )),
        Some(_) => Err(ApiError::bad_request(
            "invalid_type",
            at,
            "expected a string",
        )),
    }
}

pub(super) fn bool_at(o: &Map<String, Value>, key: &str, path: &str) -> ApiResult<Option<bool>> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(ApiError::bad_request(
            "invalid_type",
            billcalc::error::join_path(path, key),
            "expected true or false",
        )),
    }
}

pub(super) fn int_at(o: &Map<String, Value>, key: &str, path: &str) -> ApiResult<Option<i64>> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v.as_i64().map(Some).ok_or_else(|| {
            ApiError::bad_request(
                "invalid_type",
                billcalc::error::join_path(path, key),
                "expected an integer",
            )
        }),
    }
}

/// An instant: Unix seconds or RFC 3339 / date text.
pub(super) fn instant_at(o: &Map<String, Value>, key: &str) -> ApiResult<Option<i64>> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => {
            let t: billcalc::time::Timestamp =
                billcalc::from_value(v).map_err(|e| ApiError::engine(e, key))?;
            t.resolve(key)
                .map(Some)
                .map_err(|e| ApiError::engine(e, ""))
        }
    }
}

pub(super) fn object_at<'a>(v: &'a Value, path: &str) -> ApiResult<&'a Map<String, Value>> {
    v.as_object()
        .ok_or_else(|| ApiError::bad_request("invalid_type", path, "expected an object"))
}

pub(super) fn body(ctx: &Ctx) -> ApiResult<&Map<String, Value>> {
    match &ctx.body {
        Some(Value::Object(o)) => Ok(o),
        Some(_) => Err(ApiError::bad_request(
            "invalid_type",
            "",
            "the body must be a JSON object",
        )),
        None => Err(ApiError::bad_request(
            "invalid_request",
            "",
            "a JSON body is required",
        )),
    }
}

pub(super) fn empty_body() -> Map<String, Value> {
    Map::new()
}

pub(super) struct CreateInput {
    pub(super) customer: CustomerDoc,
    pub(super) items: Vec<(String, i64)>,
    pub(super) trial_period_days: Option<i64>,
    pub(super) trial_end: Option<i64>,
    pub(super) billing_cycle_anchor: Option<i64>,
    /// Engine discount inputs as requested (`{promotion_code}` or `{coupon}`).
    pub(super) discounts: Vec<Value>,
    pub(super) payment_method: String,
    pub(super) expected_amount_due: Option<i64>,
}

pub(super) fn parse_create(o: &Map<String, Value>, access: Access) -> ApiResult<CreateInput> {
    only_fields(
        o,
        &[
            "customer",
            "items",
            "trial_period_days",
            "trial_end",
            "billing_cycle_anchor",
            "discounts",
            "payment_method",
            "expected_amount_due",
        ],
        "",
    )?;
    let c = o.get("customer").ok_or_else(|| {
        ApiError::bad_request(
            "missing_field",
            "customer",
            "customer (with an id) is required",
        )
    })?;
    let c = object_at(c, "customer")?;
    only_fields(
        c,
        &[
            "id",
            "name",
            "company",
            "email",
            "address",
            "tax_ids",
            "tax_exempt",
            "preferred_locales",
        ],
        "customer",
    )?;
    let id = string_at(c, "id", "customer", 255)?.ok_or_else(|| {
        ApiError::bad_request("missing_field", "customer.id", "customer.id is required")
    })?;
    if access == Access::Demo && !id.starts_with("cus_demo_") {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "customer.id",
            "demo subscriptions are for customers whose id starts with cus_demo_",
        ));
    }
    let tax_exempt = string_at(c, "tax_exempt", "customer", 16)?;
    if tax_exempt.is_some() && access == Access::Demo {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "customer.tax_exempt",
            "tax exemption is set by the merchant (secret key)",
        ));
    }
    let tax_ids = match c.get("tax_ids") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) if a.len() <= 5 => a.clone(),
        Some(_) => {
            return Err(ApiError::invalid(
                "customer.tax_ids",
                "expected an array of at most 5 tax ids",
            ))
        }
    };
    let address = match c.get("address") {
        None | Some(Value::Null) => None,
        Some(v @ Value::Object(_)) => Some(v.clone()),
        Some(_) => {
            return Err(ApiError::bad_request(
                "invalid_type",
                "customer.address",
                "expected an object",
            ))
        }
    };
    let preferred_locales = match c.get("preferred_locales") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) if a.len() <= 5 => a
            .iter()
            .map(|v| match v {
                Value::String(s) if !s.is_empty() && s.len() <= 35 => Ok(s.clone()),
                _ => Err(ApiError::invalid(
                    "customer.preferred_locales",
                    "expected language tags such as fr-FR",
                )),
            })
            .collect::<ApiResult<_>>()?,
        Some(_) => {
            return Err(ApiError::invalid(
                "customer.preferred_locales",
                "expected an array of at most 5 language tags",
            ))
        }
    };
    let customer = CustomerDoc {
        id,
        name: string_at(c, "name", "customer", 512)?,
        company: string_at(c, "company", "customer", 512)?,
        email: string_at(c, "email", "customer", 512)?,
        address,
        tax_ids,
        tax_exempt,
        preferred_locales,
    };
    let items = match o.get("items") {
        Some(Value::Array(a)) if !a.is_empty() && a.len() <= MAX_ITEMS => a,
        Some(_) => {
            return Err(ApiError::invalid(
                "items",
                format!("expected 1 to {MAX_ITEMS} items"),
            ))
        }
        None => {
            return Err(ApiError::bad_request(
                "missing_field",
                "items",
                "items ([{price, quantity}]) are required",
            ))
        }
    };
    let mut parsed = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let at = format!("items[{i}]");
        let item = object_at(item, &at)?;
        only_fields(item, &["price", "quantity"], &at)?;
        let price = string_at(item, "price", &at, 255)?.ok_or_else(|| {
            ApiError::bad_request(
                "missing_field",
                format!("{at}.price"),
                "a catalog price id is required",
            )
        })?;
        let quantity = int_at(item, "quantity", &at)?.unwrap_or(1);
        if !(1..=1_000_000).contains(&quantity) {
            return Err(ApiError::bad_request(
                "invalid_quantity",
                format!("{at}.quantity"),
                "quantity must be between 1 and 1000000",
            ));
        }
        if parsed.iter().any(|(p, _): &(String, i64)| *p == price) {
            return Err(ApiError::invalid(
                format!("{at}.price"),
                "another item has this price; change its quantity instead",
            ));
        }
        parsed.push((price, quantity));
    }
    let discounts = match o.get("discounts") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) if a.len() <= MAX_DISCOUNTS => {
            let mut out = Vec::new();
            for (i, d) in a.iter().enumerate() {
                let at = format!("discounts[{i}]");
                let d = object_at(d, &at)?;
                only_fields(d, &["promotion_code", "coupon"], &at)?;
                match (
                    string_at(d, "promotion_code", &at, 255)?,
                    string_at(d, "coupon", &at, 255)?,
                ) {
                    (Some(code), None) => out.push(json!({"promotion_code": code})),
                    (None, Some(_)) if access == Access::Demo => {
                        return Err(ApiError::new(
                            StatusCode::FORBIDDEN,
                            "forbidden",
                            format!("{at}.coupon"),
                            "coupons are applied by the merchant (secret key); shoppers redeem promotion codes",
                        ))
                    }
                    (None, Some(coupon)) => out.push(json!({"coupon": coupon})),
                    _ => {
                        return Err(ApiError::invalid(
                            at,
                            "give a promotion_code or a coupon (one of them)",
                        ))
                    }
                }
            }
            out
        }
        Some(_) => {
            return Err(ApiError::invalid(
                "discounts",
                format!("expected at most {MAX_DISCOUNTS} discounts"),
            ))
        }
    };
    let payment_method = string_at(o, "payment_method", "", 255)?.ok_or_else(|| {
        ApiError::bad_request(
            "missing_field",
            "payment_method",
            "payment_method (a gateway token such as pm_card_visa) is required: renewals charge it",
        )
    })?;
    Ok(CreateInput {
        customer,
        items: parsed,
        trial_period_days: int_at(o, "trial_period_days", "")?,
        trial_end: instant_at(o, "trial_end")?,
        billing_cycle_anchor: instant_at(o, "billing_cycle_anchor")?,
        discounts,
        payment_method,
        expected_amount_due: int_at(o, "expected_amount_due", "")?,
    })
}

/// A change as the client asks for it (Stripe's subscription update), checked.
#[derive(Debug, Clone, Default)]
pub(super) struct ChangeInput {
    /// `[{id?, price?, quantity?, deleted?}]`.
    pub(super) items: Vec<Value>,
    pub(super) proration_behavior: Option<String>,
    pub(super) billing_cycle_anchor: Option<String>,
    pub(super) cancel_at_period_end: Option<bool>,
    /// Cancel now (the final invoice at `proration_date`).
    pub(super) cancel: bool,
    pub(super) proration_date: Option<i64>,
}

impl ChangeInput {
    /// The engine's `change` at `proration_date`.
    pub(super) fn engine(&self, proration_date: i64) -> Value {
        let mut c = self.canonical();
        c["proration_date"] = json!(proration_date);
        c
    }

    /// What identifies the change (not its date): stored and compared as a digest.
    pub(super) fn canonical(&self) -> Value {
        let mut c = json!({"items": self.items});
        if let Some(b) = &self.proration_behavior {
            c["proration_behavior"] = json!(b);
        }
        if let Some(a) = &self.billing_cycle_anchor {
            c["billing_cycle_anchor"] = json!(a);
        }
        if let Some(x) = self.cancel_at_period_end {
            c["cancel_at_period_end"] = json!(x);
        }
        if self.cancel {
            c["cancel"] = json!(true);
        }
        c
    }
}

pub(super) const CHANGE_FIELDS: &[&str] = &[
    "items",
    "proration_behavior",
    "billing_cycle_anchor",
    "cancel_at_period_end",
    "proration_date",
];

pub(super) fn parse_change(o: &Map<String, Value>) -> ApiResult<ChangeInput> {
    let items = match o.get("items") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) if a.len() <= MAX_ITEMS => {
            let mut out = Vec::new();
            for (i, item) in a.iter().enumerate() {
                let at = format!("items[{i}]");
                let item = object_at(item, &at)?;
                only_fields(item, &["id", "price", "quantity", "deleted"], &at)?;
                let mut entry = Map::new();
                if let Some(id) = string_at(item, "id", &at, 255)? {
                    entry.insert("id".into(), json!(id));
                }
                if let Some(price) = string_at(item, "price", &at, 255)? {
                    entry.insert("price".into(), json!(price));
                }
                if let Some(q) = int_at(item, "quantity", &at)? {
                    if !(0..=1_000_000).contains(&q) {
                        return Err(ApiError::bad_request(
                            "invalid_quantity",
                            format!("{at}.quantity"),
                            "quantity must be between 0 and 1000000",
                        ));
                    }
                    entry.insert("quantity".into(), json!(q));
                }
                if bool_at(item, "deleted", &at)? == Some(true) {
                    entry.insert("deleted".into(), json!(true));
                }
                out.push(Value::Object(entry));
            }
            out
        }
        Some(_) => {
            return Err(ApiError::invalid(
                "items",
                format!("expected at most {MAX_ITEMS} items"),
            ))
        }
    };
    let proration_behavior = string_at(o, "proration_behavior", "", 32)?;
    if let Some(b) = &proration_behavior {
        if !["create_prorations", "always_invoice", "none"].contains(&b.as_str()) {
            return Err(ApiError::invalid(
                "proration_behavior",
                "expected create_prorations, always_invoice or none",
            ));
        }
    }
    let billing_cycle_anchor = string_at(o, "billing_cycle_anchor", "", 16)?;
    if let Some(a) = &billing_cycle_anchor {
        if !["now", "unchanged"].contains(&a.as_str()) {
            return Err(ApiError::invalid(
                "billing_cycle_anchor",
                "expected now or unchanged",
            ));
        }
    }
    Ok(ChangeInput {
        items,
        proration_behavior,
        billing_cycle_anchor,
        cancel_at_period_end: bool_at(o, "cancel_at_period_end", "")?,
        cancel: false,
        proration_date: instant_at(o, "proration_date")?,
    })
}

/// The client's confirmation of a change: the id of a server preview, or the invoice (or some
/// of its fields) it showed.
pub(super) enum Confirmation {
    Preview(String),
    Expected(Value),
}

pub(super) fn parse_confirmation(
    o: &Map<String, Value>,
    required: bool,
) -> ApiResult<Option<Confirmation>> {
    match (string_at(o, "preview", "", 64)?, o.get("expected_invoice")) {
        (Some(_), Some(_)) => Err(ApiError::invalid(
            "expected_invoice",
            "give preview or expected_invoice, not both",
        )),
        (Some(id), None) => Ok(Some(Confirmation::Preview(id))),
        (None, Some(v @ Value::Object(m))) if !m.is_empty() => {
            Ok(Some(Confirmation::Expected(v.clone())))
        }
        (None, Some(_)) => Err(ApiError::bad_request(
            "invalid_type",
            "expected_invoice",
            "expected_invoice must be a non-empty object: the invoice (or the totals) the customer was shown",
        )),
        (None, None) if required => Err(ApiError::bad_request(
            "missing_field",
            "expected_invoice",
            "confirm what the customer was shown: preview (the id of a server preview) or expected_invoice (the invoice the page computed)",
        )),
        (None, None) => Ok(None),
    }
}
