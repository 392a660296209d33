//! Signed quote tokens.
//!
//! A token proves that this server computed exactly this quote for exactly this cart, with this
//! engine version, and until when that holds. Format: `bq1.<claims>.<mac>`, both parts base64url
//! without padding. `claims` is the canonical JSON of `{as_of, expires_at, engine, currency,
//! total}`. `mac` is HMAC-SHA256 with the server's signing key over
//! `"billcalc-quote-v1\n" + canonical({"claims": claims, "input": cart, "quote": quote})`, where
//! `cart` is the engine input as the server priced it (with `as_of` filled in) and `quote` the
//! engine's output. A verifier recomputes the quote from the cart at the token's `as_of` and
//! checks the MAC, so a token can neither be moved to another cart nor outlive its expiry, and a
//! new engine version invalidates old tokens.

use crate::canonical::canonical;
use crate::error::ApiError;
use axum::http::StatusCode;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::Sha256;
use subtle::ConstantTimeEq;

const PREFIX: &str = "bq1";
const CONTEXT: &str = "billcalc-quote-v1\n";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Claims {
    pub as_of: String,
    pub expires_at: i64,
    pub engine: String,
    pub currency: String,
    pub total: i64,
}

fn mac(key: &[u8], claims: &Claims, input: &Value, quote: &Value) -> Vec<u8> {
    let message = json!({ "claims": claims, "input": input, "quote": quote });
    // HMAC accepts keys of any length; the error arm is unreachable but handled.
    match Hmac::<Sha256>::new_from_slice(key) {
        Ok(mut m) => {
            m.update(CONTEXT.as_bytes());
            m.update(canonical(&message).as_bytes());
            m.finalize().into_bytes().to_vec()
        }
        Err(_) => Vec::new(),
    }
}

pub fn sign(key: &[u8], claims: &Claims, input: &Value, quote: &Value) -> String {
    let claims_json = canonical(&json!(claims));
    format!(
        "{PREFIX}.{}.{}",
        URL_SAFE_NO_PAD.encode(claims_json.as_bytes()),
        URL_SAFE_NO_PAD.encode(mac(key, claims, input, quote))
    )
}

fn invalid(message: &str) -> ApiError {
    ApiError::bad_request("invalid_quote_token", "quote_token", message)
}

/// Reads a token's claims and MAC without trusting them yet.
pub fn decode(token: &str) -> Result<(Claims, Vec<u8>), ApiError> {
    let mut parts = token.split('.');
    let (Some(PREFIX), Some(claims), Some(tag), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(invalid("not a billcalc quote token"));
    };
    let claims = URL_SAFE_NO_PAD
        .decode(claims)
        .ok()
        .and_then(|bytes| serde_json::from_slice::<Claims>(&bytes).ok())
        .ok_or_else(|| invalid("the token's claims do not decode"))?;
    let tag = URL_SAFE_NO_PAD
        .decode(tag)
        .map_err(|_| invalid("the token's signature does not decode"))?;
    Ok((claims, tag))
}

/// Checks a decoded token against the cart and quote the server recomputed at `claims.as_of`.
pub fn check(
    key: &[u8],
    claims: &Claims,
    tag: &[u8],
    input: &Value,
    quote: &Value,
    now: i64,
) -> Result<(), ApiError> {
    if claims.engine != billcalc::VERSION {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "quote_token_stale",
            "quote_token",
            "the quote was computed by another engine version; quote again",
        ));
    }
    let expected = mac(key, claims, input, quote);
    if expected.is_empty() || !bool::from(expected.ct_eq(tag)) {
        return Err(invalid(
            "the token does not match this cart (or was not issued by this server)",
        ));
    }
    if now >= claims.expires_at {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "quote_token_expired",
            "quote_token",
            "the quote has expired; quote again",
        ));
    }
    Ok(())
}

/// The access token in a hosted invoice URL: HMAC-SHA256 of the invoice id, base64url.
pub fn invoice_access_token(key: &[u8], invoice_id: &str) -> String {
    match Hmac::<Sha256>::new_from_slice(key) {
        Ok(mut m) => {
            m.update(b"billcalc-invoice-v1\n");
            m.update(invoice_id.as_bytes());
            URL_SAFE_NO_PAD.encode(m.finalize().into_bytes())
        }
        Err(_) => String::new(),
    }
}

pub fn check_invoice_access(key: &[u8], invoice_id: &str, presented: &str) -> bool {
    let expected = invoice_access_token(key, invoice_id);
    !expected.is_empty() && bool::from(expected.as_bytes().ct_eq(presented.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims() -> Claims {
        Claims {
            as_of: "2026-01-01T00:00:00Z".into(),
            expires_at: 100,
            engine: billcalc::VERSION.into(),
            currency: "eur".into(),
            total: 1200,
        }
    }

    #[test]
    fn round_trip_and_tamper() {
        let key = b"0123456789abcdef0123456789abcdef";
        let input = json!({"currency": "eur", "lines": [{"price": "a"}]});
        let quote = json!({"total": 1200});
        let token = sign(key, &claims(), &input, &quote);
        let (c, tag) = decode(&token).unwrap();
        assert_eq!(c, claims());
        check(key, &c, &tag, &input, &quote, 99).unwrap();
        assert_eq!(
            check(key, &c, &tag, &input, &quote, 100).unwrap_err().code,
            "quote_token_expired"
        );
        let other = json!({"total": 1199});
        assert_eq!(
            check(key, &c, &tag, &input, &other, 1).unwrap_err().code,
            "invalid_quote_token"
        );
        assert!(check(b"another key", &c, &tag, &input, &quote, 1).is_err());
        assert!(decode("bq1.x").is_err());
    }
}
