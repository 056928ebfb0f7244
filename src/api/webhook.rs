//! Webhook signature verification: `Digital-Signature` is base64 DER ECDSA (secp256k1,
//! SHA-256) over the raw body bytes. Stark's server emits high-S signatures about half the
//! time, so signatures are normalized before verifying.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use super::ApiError;
use crate::keys::{PublicKey, SignatureError, decode_signature};

/// Why a delivery was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error(transparent)]
    Signature(#[from] SignatureError),
    /// The signing key could not be obtained; the sender should retry later.
    #[error("Stark Bank's public key is unavailable: {0}")]
    KeyUnavailable(KeyFetchError),
}

/// Why the signing key could not be obtained.
#[derive(Debug, thiserror::Error)]
pub enum KeyFetchError {
    /// The request for it failed.
    #[error(transparent)]
    Api(#[from] ApiError),
    /// The API answered, with no key.
    #[error("the API returned no public key")]
    NoKey,
    /// The API's key does not parse.
    #[error("{0}")]
    BadKey(String),
    /// No key is pinned or cached and there is no fetcher.
    #[error("no key configured and no way to fetch one")]
    NotConfigured,
}

/// Verify `body` against a `Digital-Signature` header value with a known key.
pub fn verify_signature(key: &PublicKey, body: &[u8], header: &str) -> Result<(), SignatureError> {
    key.verify_base64(body, header)
}

/// Fetches the current signing key (from `GET /v2/public-key`).
pub type KeyFetcher = Arc<
    dyn Fn() -> Pin<Box<dyn Future<Output = Result<PublicKey, KeyFetchError>> + Send>>
        + Send
        + Sync,
>;

/// Verifies deliveries with a cached key; on a mismatch it fetches the key once more (key
/// rotation) before rejecting, at most once per `refetch_interval` so that a flood of bad
/// signatures cannot turn into a flood of API calls.
pub struct WebhookVerifier {
    key: RwLock<Option<PublicKey>>,
    fetcher: Option<KeyFetcher>,
    last_fetch: Mutex<Option<Instant>>,
    refetch_interval: Duration,
    fetch_lock: tokio::sync::Mutex<()>,
}

impl WebhookVerifier {
    pub fn new(initial: Option<PublicKey>, fetcher: Option<KeyFetcher>) -> Self {
        WebhookVerifier {
            key: RwLock::new(initial),
            fetcher,
            last_fetch: Mutex::new(None),
            refetch_interval: Duration::from_secs(30),
            fetch_lock: tokio::sync::Mutex::new(()),
        }
    }

    /// The key currently cached.
    pub fn current_key(&self) -> Option<PublicKey> {
        self.key.read().expect("key lock").clone()
    }

    /// Verify a delivery. Returns the key that verified it when a new key had to be fetched
    /// (so the caller can persist it).
    pub async fn verify(
        &self,
        body: &[u8],
        header: Option<&str>,
    ) -> Result<Option<PublicKey>, VerifyError> {
        let header = header.ok_or(SignatureError::Missing)?;
        let sig = decode_signature(header)?;
        if let Some(key) = self.current_key() {
            match key.verify(body, &sig) {
                Ok(()) => return Ok(None),
                Err(e) if self.fetcher.is_none() => return Err(e.into()),
                Err(e) => {
                    if !self.may_refetch() {
                        return Err(e.into());
                    }
                }
            }
        }
        let fresh = self.refresh().await?;
        fresh.verify(body, &sig)?;
        Ok(Some(fresh))
    }

    fn may_refetch(&self) -> bool {
        match *self.last_fetch.lock().expect("fetch lock") {
            Some(at) => at.elapsed() >= self.refetch_interval,
            None => true,
        }
    }

    async fn refresh(&self) -> Result<PublicKey, VerifyError> {
        let Some(fetcher) = &self.fetcher else {
            return Err(VerifyError::KeyUnavailable(KeyFetchError::NotConfigured));
        };
        let _guard = self.fetch_lock.lock().await;
        // Another request may have refreshed it while we waited.
        if let (Some(key), false) = (self.current_key(), self.may_refetch()) {
            return Ok(key);
        }
        *self.last_fetch.lock().expect("fetch lock") = Some(Instant::now());
        let key = fetcher().await.map_err(VerifyError::KeyUnavailable)?;
        *self.key.write().expect("key lock") = Some(key.clone());
        Ok(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::PrivateKey;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn fetcher_of(key: PublicKey, calls: Arc<AtomicUsize>) -> KeyFetcher {
        Arc::new(move || {
            let key = key.clone();
            calls.fetch_add(1, Ordering::SeqCst);
            Box::pin(async move { Ok(key) })
        })
    }

    /// A verifier that starts with `cached`'s key and fetches `fetched`'s, counting the fetches.
    fn counting_verifier(
        cached: &PrivateKey,
        fetched: &PrivateKey,
    ) -> (WebhookVerifier, Arc<AtomicUsize>) {
        let calls = Arc::new(AtomicUsize::new(0));
        let v = WebhookVerifier::new(
            Some(cached.public_key()),
            Some(fetcher_of(fetched.public_key(), calls.clone())),
        );
        (v, calls)
    }

    #[tokio::test]
    async fn rotated_key_is_fetched_once_then_cached() {
        let old = PrivateKey::generate();
        let new = PrivateKey::generate();
        let (v, calls) = counting_verifier(&old, &new);
        let body = b"{\"event\":{}}";
        let sig = new.sign_base64(body);
        let fetched = v.verify(body, Some(&sig)).await.unwrap();
        assert_eq!(fetched, Some(new.public_key()));
        assert_eq!(v.verify(body, Some(&sig)).await.unwrap(), None);
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn bad_signatures_do_not_flood_the_api() {
        let key = PrivateKey::generate();
        let other = PrivateKey::generate();
        let (v, calls) = counting_verifier(&key, &key);
        for _ in 0..20 {
            let sig = other.sign_base64(b"x");
            assert!(matches!(
                v.verify(b"x", Some(&sig)).await,
                Err(VerifyError::Signature(SignatureError::Mismatch))
            ));
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn unavailable_key_is_distinct_from_bad_signature() {
        let failing: KeyFetcher = Arc::new(|| {
            Box::pin(async {
                Err(KeyFetchError::Api(ApiError::Connect {
                    url: "https://api.example".into(),
                    reason: "connection refused".into(),
                }))
            })
        });
        let v = WebhookVerifier::new(None, Some(failing));
        let key = PrivateKey::generate();
        let sig = key.sign_base64(b"x");
        assert!(matches!(
            v.verify(b"x", Some(&sig)).await,
            Err(VerifyError::KeyUnavailable(KeyFetchError::Api(
                ApiError::Connect { .. }
            )))
        ));
        assert!(matches!(
            v.verify(b"x", None).await,
            Err(VerifyError::Signature(SignatureError::Missing))
        ));
        assert!(matches!(
            v.verify(b"x", Some("!!!")).await,
            Err(VerifyError::Signature(SignatureError::Malformed(_)))
        ));
    }
}
