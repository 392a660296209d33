//! The customer portal's session token (`bps1.{claims}.{HMAC-SHA256}`, URL-safe base64): signed
//! with the server's signing key, checked (signature, then expiry) on every `/v1/portal/…`
//! request, and put in the links emails carry. Its own module so that `email` does not import
//! the portal's flows.

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use axum::http::StatusCode;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use subtle::ConstantTimeEq;

const PREFIX: &str = "bps1";
const CONTEXT: &str = "billcalc-portal-v1\n";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionClaims {
    pub sid: String,
    pub customer: String,
    pub exp: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_url: Option<String>,
}

fn mac(key: &[u8], claims_b64: &str) -> Vec<u8> {
    match Hmac::<Sha256>::new_from_slice(key) {
        Ok(mut m) => {
            m.update(CONTEXT.as_bytes());
            m.update(claims_b64.as_bytes());
            m.finalize().into_bytes().to_vec()
        }
        Err(_) => Vec::new(),
    }
}

pub fn sign_session(key: &[u8], claims: &SessionClaims) -> String {
    let text = serde_json::to_string(claims).unwrap_or_default();
    let c = URL_SAFE_NO_PAD.encode(text.as_bytes());
    format!("{PREFIX}.{c}.{}", URL_SAFE_NO_PAD.encode(mac(key, &c)))
}

pub(crate) fn unauthorized(message: &str) -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "invalid_portal_session",
        "",
        message,
    )
}

/// Checks a session token: signature, then expiry.
pub fn check_session(key: &[u8], token: &str, now: i64) -> ApiResult<SessionClaims> {
    let mut parts = token.split('.');
    let (Some(PREFIX), Some(c), Some(tag), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(unauthorized("not a portal session"));
    };
    let tag = URL_SAFE_NO_PAD
        .decode(tag)
        .map_err(|_| unauthorized("not a portal session"))?;
    let expected = mac(key, c);
    if expected.is_empty() || !bool::from(expected.ct_eq(&tag)) {
        return Err(unauthorized(
            "this portal link was not issued by this server",
        ));
    }
    let claims: SessionClaims = URL_SAFE_NO_PAD
        .decode(c)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or_else(|| unauthorized("not a portal session"))?;
    if now >= claims.exp {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "portal_session_expired",
            "",
            "this portal link has expired; ask for a new one",
        ));
    }
    Ok(claims)
}

pub(crate) fn session_url(state: &AppState, claims: &SessionClaims) -> String {
    format!(
        "{}#session={}",
        state.portal.page_url,
        sign_session(&state.signing_key, claims)
    )
}

/// A portal link for an email (valid `portal.email_link_ttl_seconds`).
pub fn email_link(state: &AppState, customer: &str, locale: &str, now: i64) -> String {
    session_url(
        state,
        &SessionClaims {
            sid: crate::ledger::new_id("bps", customer, now),
            customer: customer.to_string(),
            exp: now + state.portal.email_link_ttl_seconds,
            locale: Some(locale.to_string()),
            return_url: None,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_are_signed_and_expire() {
        let key = b"0123456789abcdef0123456789abcdef";
        let claims = SessionClaims {
            sid: "bps_1".into(),
            customer: "cus_1".into(),
            exp: 1_000,
            locale: Some("fr".into()),
            return_url: None,
        };
        let t = sign_session(key, &claims);
        assert_eq!(check_session(key, &t, 999).unwrap(), claims);
        assert_eq!(
            check_session(key, &t, 1_000).unwrap_err().code,
            "portal_session_expired"
        );
        assert_eq!(
            check_session(b"another key, 32 bytes long......", &t, 999)
                .unwrap_err()
                .code,
            "invalid_portal_session"
        );
        // Another customer's claims under this signature.
        let forged = {
            let mut p: Vec<&str> = t.split('.').collect();
            let other = URL_SAFE_NO_PAD.encode(
                serde_json::to_string(&SessionClaims {
                    customer: "cus_2".into(),
                    ..claims.clone()
                })
                .unwrap()
                .as_bytes(),
            );
            p[1] = &other;
            p.join(".")
        };
        assert_eq!(
            check_session(key, &forged, 999).unwrap_err().code,
            "invalid_portal_session"
        );
    }
}
