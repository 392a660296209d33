//! API keys. A publishable key (`pk_…`, safe in a browser) may load the catalog, quote and
//! verify; a secret key (`sk_…`, server to server) may also charge, read invoices and manage
//! subscriptions. Keys arrive as `Authorization: Bearer <key>` and are compared in constant
//! time: the SHA-256 digest of what was presented against the digest of each configured key,
//! both comparisons always made, so neither the length nor the matching prefix of a key leaks.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyKind {
    Publishable,
    Secret,
}

impl KeyKind {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyKind::Publishable => "publishable",
            KeyKind::Secret => "secret",
        }
    }
}

/// The configured keys, held only as digests.
#[derive(Clone)]
pub struct Keys {
    publishable: [u8; 32],
    secret: [u8; 32],
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keys { <redacted> }")
    }
}

fn digest(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

impl Keys {
    pub fn new(publishable: &str, secret: &str) -> Self {
        Keys {
            publishable: digest(publishable),
            secret: digest(secret),
        }
    }

    /// Which key an `Authorization` header value carries, if any.
    pub fn identify(&self, authorization: Option<&str>) -> Option<KeyKind> {
        let presented = authorization?.strip_prefix("Bearer ")?.trim();
        let d = digest(presented);
        let is_secret: bool = d.ct_eq(&self.secret).into();
        let is_publishable: bool = d.ct_eq(&self.publishable).into();
        if is_secret {
            Some(KeyKind::Secret)
        } else if is_publishable {
            Some(KeyKind::Publishable)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifies() {
        let keys = Keys::new("pk_test_a", "sk_test_b");
        assert_eq!(
            keys.identify(Some("Bearer pk_test_a")),
            Some(KeyKind::Publishable)
        );
        assert_eq!(
            keys.identify(Some("Bearer sk_test_b")),
            Some(KeyKind::Secret)
        );
        assert_eq!(keys.identify(Some("Bearer sk_test_")), None);
        assert_eq!(keys.identify(Some("sk_test_b")), None);
        assert_eq!(keys.identify(None), None);
    }
}
