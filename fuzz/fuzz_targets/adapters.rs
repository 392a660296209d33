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
            if let Err(e) = shopify::to_shopify_amounts(&out) {
                common::check_error(&e);
            }
        }
        Err(e) => common::check_error(&e),
    }
}

fuzz_target!(|data: &[u8]| {
    let Some(doc) = common::document(data) else { return };
    let input = &doc["input"];
    match shopify::from_shopify_cart(input) {
        Ok(cart) => price(&cart),
        Err(e) => common::check_error(&e),
    }
    match woocommerce::from_woocommerce_cart(input, doc.get("options")) {
        Ok(cart) => price(&cart),
        Err(e) => common::check_error(&e),
    }
    if let Err(e) = shopify::to_shopify_amounts(input) {
        common::check_error(&e);
    }
});
