//! Payments go through a [`PaymentGateway`]. The server never sees card numbers, only the
//! gateway's payment-method tokens; it passes the charge's idempotency key to the gateway so a
//! retried charge (after a crash between the gateway's answer and the database commit) is
//! answered with the original charge, never a second one.
//!
//! Built in: [`TestGateway`], deterministic and driven by Stripe's test payment-method tokens.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

#[derive(Debug, Clone)]
pub struct ChargeRequest {
    /// The merchant's idempotency key for this charge; the gateway answers a repeated key with
    /// its first answer.
    pub idempotency_key: String,
    pub amount: i64,
    pub currency: String,
    /// A gateway token (`pm_card_visa`), never a card number.
    pub payment_method: String,
    pub description: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayCharge {
    pub id: String,
    pub amount: i64,
    pub currency: String,
    pub brand: String,
    pub last4: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GatewayError {
    /// The card was declined. `code` is Stripe's error code (`card_declined`, `expired_card`,
    /// `incorrect_cvc`, `processing_error`), `decline_code` the reason; `hard` declines
    /// (`lost_card`, `stolen_card`, `fraudulent`) must never be retried.
    Declined {
        code: &'static str,
        decline_code: &'static str,
        message: &'static str,
        hard: bool,
    },
    /// The token is not one this gateway knows.
    UnknownPaymentMethod,
    /// The gateway could not be reached or failed; nothing is known to be charged.
    Unavailable(String),
}

/// A refund of (part of) a charge (Stripe's `POST /v1/refunds {charge, amount}`).
#[derive(Debug, Clone)]
pub struct RefundRequest {
    /// The merchant's idempotency key for this refund; a repeated key gets the first answer.
    pub idempotency_key: String,
    /// The gateway's charge id (`GatewayCharge::id`).
    pub charge: String,
    /// Minor units, at most what is left of the charge after earlier refunds.
    pub amount: i64,
    pub currency: String,
    /// Stripe's `reason`: `duplicate`, `fraudulent`, `requested_by_customer`.
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayRefund {
    pub id: String,
    pub charge: String,
    pub amount: i64,
    pub currency: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefundError {
    /// The gateway refused: Stripe's codes `resource_missing` (no such charge),
    /// `charge_already_refunded`, `amount_too_large` (more than is left of the charge).
    Refused { code: &'static str, message: String },
    /// The gateway could not be reached or failed; nothing is known to be refunded.
    Unavailable(String),
}

pub trait PaymentGateway: Send + Sync {
    fn name(&self) -> &'static str;
    fn charge(&self, request: ChargeRequest) -> BoxFuture<'_, Result<GatewayCharge, GatewayError>>;
    /// Gives back part or all of a charge, at most what is left of it.
    fn refund(&self, request: RefundRequest) -> BoxFuture<'_, Result<GatewayRefund, RefundError>>;
}

/// Deterministic test gateway. Tokens (Stripe's names):
///
/// | token | result |
/// | --- | --- |
/// | `pm_card_visa`, `pm_card_visa_debit`, `pm_card_mastercard`, `pm_card_amex`, `pm_card_fr` | succeeds |
/// | `pm_card_chargeDeclined` | `card_declined` / `generic_decline` |
/// | `pm_card_insufficient_funds`, `pm_card_chargeDeclinedInsufficientFunds` | `card_declined` / `insufficient_funds` |
/// | `pm_card_lost`, `pm_card_chargeDeclinedLostCard` | `card_declined` / `lost_card` (hard) |
/// | `pm_card_stolen`, `pm_card_chargeDeclinedStolenCard` | `card_declined` / `stolen_card` (hard) |
/// | `pm_card_chargeDeclinedFraudulent` | `card_declined` / `fraudulent` (hard) |
/// | `pm_card_expired`, `pm_card_chargeDeclinedExpiredCard` | `expired_card` |
/// | `pm_card_chargeDeclinedIncorrectCvc` | `incorrect_cvc` |
/// | `pm_card_chargeDeclinedProcessingError` | `processing_error` (may be retried) |
///
/// Charge ids are derived from the idempotency key, and a repeated key returns the first
/// answer. It keeps its ledger in memory (it stands in for an external service).
#[derive(Debug, Default)]
pub struct TestGateway {
    ledger: Mutex<HashMap<String, Result<GatewayCharge, GatewayError>>>,
    /// Refunds by idempotency key.
    refunds: Mutex<HashMap<String, Result<GatewayRefund, RefundError>>>,
    charges: AtomicU64,
    attempts: AtomicU64,
}

impl TestGateway {
    pub fn new() -> Self {
        Self::default()
    }

    /// Successful charges made (each idempotency key counted once).
    pub fn charges_made(&self) -> u64 {
        self.charges.load(Ordering::SeqCst)
    }

    /// Calls to `charge`, replays included.
    pub fn attempts(&self) -> u64 {
        self.attempts.load(Ordering::SeqCst)
    }

    /// What was refunded of a charge (each refund idempotency key counted once).
    pub fn refunded(&self, charge: &str) -> i64 {
        lock(&self.refunds)
            .values()
            .filter_map(|r| r.as_ref().ok())
            .filter(|r| r.charge == charge)
            .map(|r| r.amount)
            .sum()
    }

    fn outcome(token: &str) -> Result<(&'static str, &'static str), GatewayError> {
        let declined = |decline_code, message, hard| GatewayError::Declined {
            code: "card_declined",
            decline_code,
            message,
            hard,
        };
        match token {
            "pm_card_visa" => Ok(("visa", "4242")),
            "pm_card_visa_debit" => Ok(("visa", "5556")),
            "pm_card_mastercard" => Ok(("mastercard", "4444")),
            "pm_card_amex" => Ok(("amex", "8431")),
            "pm_card_fr" => Ok(("visa", "0002")),
            "pm_card_chargeDeclined" => Err(declined(
                "generic_decline",
                "Your card was declined.",
                false,
            )),
            "pm_card_insufficient_funds" | "pm_card_chargeDeclinedInsufficientFunds" => {
                Err(declined(
                    "insufficient_funds",
                    "Your card has insufficient funds.",
                    false,
                ))
            }
            "pm_card_lost" | "pm_card_chargeDeclinedLostCard" => {
                Err(declined("lost_card", "Your card was declined.", true))
            }
            "pm_card_stolen" | "pm_card_chargeDeclinedStolenCard" => {
                Err(declined("stolen_card", "Your card was declined.", true))
            }
            "pm_card_chargeDeclinedFraudulent" => {
                Err(declined("fraudulent", "Your card was declined.", true))
            }
            "pm_card_expired" | "pm_card_chargeDeclinedExpiredCard" => {
                Err(GatewayError::Declined {
                    code: "expired_card",
                    decline_code: "expired_card",
                    message: "Your card has expired.",
                    hard: false,
                })
            }
            "pm_card_chargeDeclinedIncorrectCvc" => Err(GatewayError::Declined {
                code: "incorrect_cvc",
                decline_code: "incorrect_cvc",
                message: "Your card's security code is incorrect.",
                hard: false,
            }),
            "pm_card_chargeDeclinedProcessingError" => Err(GatewayError::Declined {
                code: "processing_error",
                decline_code: "processing_error",
                message: "An error occurred while processing your card. Try again.",
                hard: false,
            }),
            _ => Err(GatewayError::UnknownPaymentMethod),
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    match m.lock() {
        Ok(guard) => guard,
        Err(poisoned) => poisoned.into_inner(),
    }
}

impl PaymentGateway for TestGateway {
    fn name(&self) -> &'static str {
        "test"
    }

    fn refund(&self, request: RefundRequest) -> BoxFuture<'_, Result<GatewayRefund, RefundError>> {
        Box::pin(async move {
            let charge = lock(&self.ledger)
                .values()
                .filter_map(|c| c.as_ref().ok())
                .find(|c| c.id == request.charge)
                .cloned();
            let mut refunds = lock(&self.refunds);
            if let Some(previous) = refunds.get(&request.idempotency_key) {
                return previous.clone();
            }
            let refused = |code, message: String| Err(RefundError::Refused { code, message });
            let result = match charge {
                None => refused(
                    "resource_missing",
                    format!("No such charge: '{}'", request.charge),
                ),
                Some(c) => {
                    let refunded: i64 = refunds
                        .values()
                        .filter_map(|r| r.as_ref().ok())
                        .filter(|r| r.charge == c.id)
                        .map(|r| r.amount)
                        .sum();
                    if refunded >= c.amount {
                        refused(
                            "charge_already_refunded",
                            format!("Charge {} has already been refunded.", c.id),
                        )
                    } else if request.amount <= 0 || request.amount > c.amount - refunded {
                        refused(
                            "amount_too_large",
                            format!(
                                "Refund amount ({}) is greater than unrefunded amount on charge ({})",
                                request.amount,
                                c.amount - refunded
                            ),
                        )
                    } else {
                        let digest = crate::canonical::hex(&sha2::Digest::finalize(
                            <sha2::Sha256 as sha2::Digest>::new_with_prefix(
                                request.idempotency_key.as_bytes(),
                            ),
                        ));
                        Ok(GatewayRefund {
                            id: format!("re_test_{}", &digest[..24]),
                            charge: c.id.clone(),
                            amount: request.amount,
                            currency: c.currency.clone(),
                        })
                    }
                }
            };
            refunds.insert(request.idempotency_key, result.clone());
            result
        })
    }

    fn charge(&self, request: ChargeRequest) -> BoxFuture<'_, Result<GatewayCharge, GatewayError>> {
        Box::pin(async move {
            self.attempts.fetch_add(1, Ordering::SeqCst);
            let mut ledger = match self.ledger.lock() {
                Ok(guard) => guard,
                Err(poisoned) => poisoned.into_inner(),
            };
            if let Some(previous) = ledger.get(&request.idempotency_key) {
                return previous.clone();
            }
            let result = Self::outcome(&request.payment_method).map(|(brand, last4)| {
                let digest = crate::canonical::hex(&sha2::Digest::finalize(
                    <sha2::Sha256 as sha2::Digest>::new_with_prefix(
                        request.idempotency_key.as_bytes(),
                    ),
                ));
                GatewayCharge {
                    id: format!("ch_test_{}", &digest[..24]),
                    amount: request.amount,
                    currency: request.currency.clone(),
                    brand: brand.to_string(),
                    last4: last4.to_string(),
                }
            });
            if matches!(result, Err(GatewayError::UnknownPaymentMethod)) {
                // Not a charge attempt the gateway records.
                return result;
            }
            if result.is_ok() {
                self.charges.fetch_add(1, Ordering::SeqCst);
            }
            ledger.insert(request.idempotency_key, result.clone());
            result
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(key: &str, pm: &str) -> ChargeRequest {
        ChargeRequest {
            idempotency_key: key.into(),
            amount: 1000,
            currency: "eur".into(),
            payment_method: pm.into(),
            description: String::new(),
        }
    }

    #[tokio::test]
    async fn refunds_never_exceed_the_charge() {
        let g = TestGateway::new();
        let c = g.charge(request("k1", "pm_card_visa")).await.unwrap();
        let refund = |key: &str, amount| RefundRequest {
            idempotency_key: key.into(),
            charge: c.id.clone(),
            amount,
            currency: "eur".into(),
            reason: None,
        };
        let a = g.refund(refund("r1", 600)).await.unwrap();
        assert_eq!(g.refund(refund("r1", 600)).await.unwrap(), a, "replayed");
        assert_eq!(g.refunded(&c.id), 600);
        assert!(matches!(
            g.refund(refund("r2", 401)).await,
            Err(RefundError::Refused {
                code: "amount_too_large",
                ..
            })
        ));
        g.refund(refund("r3", 400)).await.unwrap();
        assert!(matches!(
            g.refund(refund("r4", 1)).await,
            Err(RefundError::Refused {
                code: "charge_already_refunded",
                ..
            })
        ));
        let mut unknown = refund("r5", 1);
        unknown.charge = "ch_nope".into();
        assert!(matches!(
            g.refund(unknown).await,
            Err(RefundError::Refused {
                code: "resource_missing",
                ..
            })
        ));
    }

    #[tokio::test]
    async fn idempotent_and_deterministic() {
        let g = TestGateway::new();
        let a = g.charge(request("k1", "pm_card_visa")).await.unwrap();
        let b = g.charge(request("k1", "pm_card_visa")).await.unwrap();
        assert_eq!(a, b);
        assert_eq!(g.charges_made(), 1);
        assert!(matches!(
            g.charge(request("k2", "pm_card_lost")).await,
            Err(GatewayError::Declined {
                hard: true,
                decline_code: "lost_card",
                ..
            })
        ));
        assert_eq!(
            g.charge(request("k3", "pm_nope")).await,
            Err(GatewayError::UnknownPaymentMethod)
        );
    }
}
