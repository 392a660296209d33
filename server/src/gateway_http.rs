//! A payment gateway over HTTP in the shape of Stripe's PaymentIntents API
//! (`POST /v1/payment_intents` with `confirm=true` and an `Idempotency-Key`, form-encoded,
//! amounts in minor units). Used with the simulator (`src/bin/gateway-sim.rs`) and selected by
//! `BILLCALC_GATEWAY_URL`; `BILLCALC_GATEWAY_SECRET` is sent as the bearer key,
//! `BILLCALC_GATEWAY_TIMEOUT_MS` bounds a call (default 10 000).
//!
//! Outcomes: `status: succeeded` → the charge; HTTP 402 `card_error` → a decline (Stripe's
//! `code` / `decline_code`); 400 `resource_missing` on `payment_method` → an unknown token;
//! anything else (409 `idempotency_key_in_use`, 429, 5xx, a timeout, a closed connection, a
//! status other than `succeeded`) → `Unavailable`: the outcome is unknown, the intent stays
//! `processing` and is asked again with the same idempotency key (crate::intent).

use crate::gateway::{
    BoxFuture, ChargeRequest, GatewayCharge, GatewayError, GatewayRefund, PaymentGateway,
    RefundError, RefundRequest,
};
use serde_json::Value;
use std::time::Duration;

pub struct HttpGateway {
    base: String,
    secret: String,
    agent: ureq::Agent,
}

impl HttpGateway {
    pub fn new(base: &str, secret: &str, timeout: Duration) -> HttpGateway {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .http_status_as_error(false)
            .max_redirects(0)
            .build()
            .into();
        HttpGateway {
            base: base.trim_end_matches('/').to_string(),
            secret: secret.to_string(),
            agent,
        }
    }

    /// From `BILLCALC_GATEWAY_URL` (none: `None`), `BILLCALC_GATEWAY_SECRET`,
    /// `BILLCALC_GATEWAY_TIMEOUT_MS`.
    pub fn from_env() -> Result<Option<HttpGateway>, String> {
        let Some(url) = std::env::var("BILLCALC_GATEWAY_URL")
            .ok()
            .filter(|u| !u.is_empty())
        else {
            return Ok(None);
        };
        if !url.starts_with("http://") && !url.starts_with("https://") {
            return Err(format!(
                "BILLCALC_GATEWAY_URL={url}: expected an http(s) URL"
            ));
        }
        let timeout = match std::env::var("BILLCALC_GATEWAY_TIMEOUT_MS") {
            Ok(v) => v
                .parse::<u64>()
                .map_err(|_| format!("BILLCALC_GATEWAY_TIMEOUT_MS={v}: expected milliseconds"))?,
            Err(_) => 10_000,
        };
        let secret = std::env::var("BILLCALC_GATEWAY_SECRET").unwrap_or_default();
        Ok(Some(HttpGateway::new(
            &url,
            &secret,
            Duration::from_millis(timeout.max(1)),
        )))
    }
}

/// `application/x-www-form-urlencoded` value encoding.
pub fn form_encode(pairs: &[(&str, &str)]) -> String {
    let mut out = String::new();
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        encode_into(&mut out, k);
        out.push('=');
        encode_into(&mut out, v);
    }
    out
}

fn encode_into(out: &mut String, s: &str) {
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
}

/// Stripe's decline codes that must never be retried.
fn hard_decline(decline_code: &str) -> bool {
    matches!(
        decline_code,
        "lost_card" | "stolen_card" | "fraudulent" | "pickup_card" | "restricted_card"
    )
}

/// The gateway's strings as the `'static` values `GatewayError::Declined` carries (unknown
/// ones fold into Stripe's generic values).
fn known(s: &str, list: &[&'static str], fallback: &'static str) -> &'static str {
    list.iter().copied().find(|k| *k == s).unwrap_or(fallback)
}

const CODES: &[&str] = &[
    "card_declined",
    "expired_card",
    "incorrect_cvc",
    "processing_error",
    "incorrect_number",
    "authentication_required",
];
const DECLINE_CODES: &[&str] = &[
    "generic_decline",
    "insufficient_funds",
    "lost_card",
    "stolen_card",
    "fraudulent",
    "expired_card",
    "incorrect_cvc",
    "processing_error",
    "pickup_card",
    "restricted_card",
    "do_not_honor",
];
const MESSAGES: &[&str] = &[
    "Your card was declined.",
    "Your card has insufficient funds.",
    "Your card has expired.",
    "Your card's security code is incorrect.",
    "An error occurred while processing your card. Try again.",
];

/// Reads a PaymentIntents answer (HTTP status and JSON body) as the trait's outcome.
pub fn outcome(status: u16, body: &str) -> Result<GatewayCharge, GatewayError> {
    let v: Value = serde_json::from_str(body)
        .map_err(|_| GatewayError::Unavailable(format!("HTTP {status}: not JSON")))?;
    match status {
        200 => {
            let state = v["status"].as_str().unwrap_or("");
            if state != "succeeded" {
                return Err(GatewayError::Unavailable(format!(
                    "payment intent {} is {state}",
                    v["id"].as_str().unwrap_or("?")
                )));
            }
            let charge = &v["latest_charge"];
            let card = &charge["payment_method_details"]["card"];
            Ok(GatewayCharge {
                id: charge["id"]
                    .as_str()
                    .or_else(|| v["id"].as_str())
                    .unwrap_or("")
                    .to_string(),
                amount: v["amount_received"]
                    .as_i64()
                    .or_else(|| v["amount"].as_i64())
                    .unwrap_or(0),
                currency: v["currency"].as_str().unwrap_or("").to_string(),
                brand: card["brand"].as_str().unwrap_or("card").to_string(),
                last4: card["last4"].as_str().unwrap_or("").to_string(),
            })
        }
        402 if v["error"]["type"] == "card_error" => {
            let e = &v["error"];
            let code = known(e["code"].as_str().unwrap_or(""), CODES, "card_declined");
            let decline = known(
                e["decline_code"].as_str().unwrap_or(code),
                DECLINE_CODES,
                "generic_decline",
            );
            Err(GatewayError::Declined {
                code,
                decline_code: decline,
                message: known(
                    e["message"].as_str().unwrap_or(""),
                    MESSAGES,
                    "Your card was declined.",
                ),
                hard: hard_decline(decline),
            })
        }
        400 if v["error"]["code"] == "resource_missing"
            && v["error"]["param"] == "payment_method" =>
        {
            Err(GatewayError::UnknownPaymentMethod)
        }
        _ => Err(GatewayError::Unavailable(format!(
            "HTTP {status}: {}",
            v["error"]["message"].as_str().unwrap_or("")
        ))),
    }
}

/// Reads a Refunds answer: 200 `succeeded` → the refund; 400/404 with Stripe's codes
/// (`resource_missing`, `charge_already_refunded`, `amount_too_large`) → refused; anything else
/// → unknown (retry with the same key).
pub fn refund_outcome(status: u16, body: &str) -> Result<GatewayRefund, RefundError> {
    let v: Value = serde_json::from_str(body)
        .map_err(|_| RefundError::Unavailable(format!("HTTP {status}: not JSON")))?;
    match status {
        200 if v["status"] == "succeeded" => Ok(GatewayRefund {
            id: v["id"].as_str().unwrap_or("").to_string(),
            charge: v["charge"].as_str().unwrap_or("").to_string(),
            amount: v["amount"].as_i64().unwrap_or(0),
            currency: v["currency"].as_str().unwrap_or("").to_string(),
        }),
        400 | 404 => {
            let code = known(
                v["error"]["code"].as_str().unwrap_or(""),
                &[
                    "resource_missing",
                    "charge_already_refunded",
                    "amount_too_large",
                ],
                "",
            );
            if code.is_empty() {
                return Err(RefundError::Unavailable(format!("HTTP {status}: {v}")));
            }
            Err(RefundError::Refused {
                code,
                message: v["error"]["message"].as_str().unwrap_or("").to_string(),
            })
        }
        _ => Err(RefundError::Unavailable(format!(
            "HTTP {status}: {}",
            v["error"]["message"].as_str().unwrap_or("")
        ))),
    }
}

impl HttpGateway {
    /// One form-encoded POST with an idempotency key, on the blocking pool: (status, body).
    async fn post(&self, path: &str, key: &str, body: String) -> Result<(u16, String), String> {
        let agent = self.agent.clone();
        let url = format!("{}{path}", self.base);
        let auth = format!("Bearer {}", self.secret);
        let key = key.to_string();
        tokio::task::spawn_blocking(move || {
            let mut response = agent
                .post(&url)
                .header("Authorization", &auth)
                .header("Idempotency-Key", &key)
                .header("Content-Type", "application/x-www-form-urlencoded")
                .send(body.as_bytes())
                .map_err(|e| e.to_string())?;
            let status = response.status().as_u16();
            let text = response
                .body_mut()
                .read_to_string()
                .map_err(|e| e.to_string())?;
            Ok((status, text))
        })
        .await
        .map_err(|e| format!("gateway task: {e}"))?
    }
}

impl PaymentGateway for HttpGateway {
    fn name(&self) -> &'static str {
        "stripe-http"
    }

    fn charge(&self, request: ChargeRequest) -> BoxFuture<'_, Result<GatewayCharge, GatewayError>> {
        Box::pin(async move {
            let amount = request.amount.to_string();
            let currency = request.currency.to_ascii_lowercase();
            let body = form_encode(&[
                ("amount", &amount),
                ("currency", &currency),
                ("payment_method", &request.payment_method),
                ("confirm", "true"),
                ("description", &request.description),
                ("metadata[billcalc_intent]", &request.idempotency_key),
                ("expand[]", "latest_charge"),
            ]);
            match self
                .post("/v1/payment_intents", &request.idempotency_key, body)
                .await
            {
                Ok((status, text)) => outcome(status, &text),
                Err(why) => Err(GatewayError::Unavailable(why)),
            }
        })
    }

    fn refund(&self, request: RefundRequest) -> BoxFuture<'_, Result<GatewayRefund, RefundError>> {
        Box::pin(async move {
            let amount = request.amount.to_string();
            let mut pairs = vec![("charge", request.charge.as_str()), ("amount", &amount)];
            if let Some(reason) = &request.reason {
                pairs.push(("reason", reason));
            }
            match self
                .post("/v1/refunds", &request.idempotency_key, form_encode(&pairs))
                .await
            {
                Ok((status, text)) => refund_outcome(status, &text),
                Err(why) => Err(RefundError::Unavailable(why)),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_stripe_shaped_answers() {
        let ok = r#"{"id":"pi_1","object":"payment_intent","amount":1999,"amount_received":1999,"currency":"eur","status":"succeeded","latest_charge":{"id":"ch_1","payment_method_details":{"card":{"brand":"visa","last4":"4242"}}}}"#;
        assert_eq!(
            outcome(200, ok),
            Ok(GatewayCharge {
                id: "ch_1".into(),
                amount: 1999,
                currency: "eur".into(),
                brand: "visa".into(),
                last4: "4242".into()
            })
        );
        let declined = r#"{"error":{"type":"card_error","code":"card_declined","decline_code":"stolen_card","message":"Your card was declined."}}"#;
        assert_eq!(
            outcome(402, declined),
            Err(GatewayError::Declined {
                code: "card_declined",
                decline_code: "stolen_card",
                message: "Your card was declined.",
                hard: true
            })
        );
        let missing = r#"{"error":{"type":"invalid_request_error","code":"resource_missing","param":"payment_method","message":"No such PaymentMethod"}}"#;
        assert_eq!(
            outcome(400, missing),
            Err(GatewayError::UnknownPaymentMethod)
        );
        assert!(matches!(
            outcome(
                409,
                r#"{"error":{"type":"idempotency_error","code":"idempotency_key_in_use"}}"#
            ),
            Err(GatewayError::Unavailable(_))
        ));
        assert!(matches!(
            outcome(500, "<html>"),
            Err(GatewayError::Unavailable(_))
        ));
        assert!(matches!(
            outcome(200, r#"{"id":"pi_2","status":"processing"}"#),
            Err(GatewayError::Unavailable(_))
        ));
        assert_eq!(
            form_encode(&[("metadata[a]", "x y&z"), ("amount", "5")]),
            "metadata%5Ba%5D=x%20y%26z&amount=5"
        );
    }
}
