//! The shop-platform adapters (Shopify, WooCommerce, back to Shopify amounts), then the cart
//! they produce through `computeQuote`: an adapter's cart is either priced or refused with an
//! error, and a quote's Shopify amounts never panic.
#![no_main]
mod common;
use billcalc::adapters::{shopify, woocommerce};
use libfuzzer_sys::fuzz_target;

fn price(cart: &serde_json::Value) {
    match billcalc::from_value::<billcalc::QuoteInput>(cart).and_then(|i| billcalc::compute_quote(&i)) {
        Ok(quote) => {
            let out = common::to_json(&quote);
            common::check_quote(&out);
            if let Err(e) = shopify::to_shopify_amounts(&(&out).into()) {
                common::check_error(&e);
            }
        }
        Err(e) => common::check_error(&e),
    }
}

fuzz_target!(|data: &[u8]| {
    let Some(doc) = common::document(data) else { return };
    // The adapters read the engine's own JSON values.
    let input = &billcalc::json::Value::from(&doc["input"]);
    let options = doc.get("options").map(billcalc::json::Value::from);
    match shopify::from_shopify_cart(input) {
        Ok(cart) => price(&cart),
        Err(e) => common::check_error(&e),
    }
    match woocommerce::from_woocommerce_cart(input, options.as_ref()) {
        Ok(cart) => price(&cart),
        Err(e) => common::check_error(&e),
    }
    if let Err(e) = shopify::to_shopify_amounts(input) {
        common::check_error(&e);
    }
});
