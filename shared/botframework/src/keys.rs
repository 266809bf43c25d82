//! The signing keys of channel tokens: the OpenID metadata document, then its `jwks_uri`.
//!
//! One cache per metadata URL for the whole process, so every validator (and every warm
//! Lambda invocation) shares it. Keys are refreshed when a day old, and re-fetched when a
//! token names an unknown `kid`, but such a re-fetch happens at most once per
//! [`UNKNOWN_KID_REFETCH_INTERVAL`]: tokens with made-up kids cost nothing after the first.

use jsonwebtoken::DecodingKey;
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::{Duration, Instant};
use url::Url;

/// Keys older than this are fetched again (Microsoft: refresh at least every 24 h).
pub const KEY_REFRESH_INTERVAL: Duration = Duration::from_secs(24 * 3600);

/// At most one re-fetch for an unknown `kid` within this interval.
pub const UNKNOWN_KID_REFETCH_INTERVAL: Duration = Duration::from_secs(5 * 60);

/// A stale key set whose refresh failed is used this long before the refresh is tried again.
const FAILED_REFRESH_RETRY: Duration = Duration::from_secs(60);

const FETCH_TIMEOUT: Duration = Duration::from_secs(10);

/// A published RSA signing key.
pub(crate) struct SigningKey {
    pub key: DecodingKey,
    /// The JWK's `alg`, when it names one.
    pub alg: Option<String>,
    /// Channel ids the key may sign for; empty means any.
    pub endorsements: Vec<String>,
}

struct KeySet {
    keys: HashMap<String, Arc<SigningKey>>,
    refresh_at: Instant,
}

/// Why no key could be had. The message names only our own URLs' roles and statuses.
#[derive(Debug)]
pub(crate) struct FetchError(pub String);

pub(crate) enum Lookup {
    Found(Arc<SigningKey>),
    Unknown,
}

#[derive(Default)]
struct RefreshState {
    last_unknown_kid_refetch: Option<Instant>,
}

pub(crate) struct KeyCache {
    metadata_url: Url,
    keys: RwLock<Option<Arc<KeySet>>>,
    /// Held while fetching: one fetch at a time per metadata URL.
    refresh: tokio::sync::Mutex<RefreshState>,
    /// Increases with every completed fetch, so callers queued behind one reuse its result.
    generation: AtomicU64,
}

/// The process-wide cache for `metadata_url`.
pub(crate) fn cache_for(metadata_url: &Url) -> Arc<KeyCache> {
    static CACHES: OnceLock<Mutex<HashMap<String, Arc<KeyCache>>>> = OnceLock::new();
    let mut caches = CACHES.get_or_init(Default::default).lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    caches
        .entry(metadata_url.as_str().to_owned())
        .or_insert_with(|| {
            Arc::new(KeyCache {
                metadata_url: metadata_url.clone(),
                keys: RwLock::new(None),
                refresh: tokio::sync::Mutex::new(RefreshState::default()),
                generation: Default::default(),
            })
        })
        .clone()
}

#[derive(Deserialize)]
struct Metadata {
    jwks_uri: String,
}

#[derive(Deserialize)]
struct Jwks {
    keys: Vec<Jwk>,
}

#[derive(Deserialize)]
struct Jwk {
    kid: Option<String>,
    kty: Option<String>,
    #[serde(rename = "use")]
    usage: Option<String>,
    alg: Option<String>,
    n: Option<String>,
    e: Option<String>,
    #[serde(default)]
    endorsements: Vec<String>,
}

impl KeyCache {
    fn current(&self) -> Option<Arc<KeySet>> {
        self.keys.read().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
    }

    /// The key `kid`, fetching keys when there are none, they are due, or `kid` is unknown
    /// and the re-fetch budget allows.
    pub(crate) async fn lookup(&self, http: &reqwest::Client, kid: &str) -> Result<Lookup, FetchError> {
        let seen_generation = self.generation.load(Ordering::Acquire);
        let set = match self.current() {
            Some(set) if set.refresh_at > Instant::now() => set,
            stale => self.refresh_due(http, stale, seen_generation).await?,
        };
        if let Some(key) = set.keys.get(kid) {
            return Ok(Lookup::Found(key.clone()));
        }

        let mut state = self.refresh.lock().await;
        // Someone fetched while we waited: their result is as fresh as ours would be.
        let fetched_meanwhile = self.generation.load(Ordering::Acquire) != seen_generation;
        if !fetched_meanwhile {
            let allowed = state.last_unknown_kid_refetch.is_none_or(|at| at.elapsed() >= UNKNOWN_KID_REFETCH_INTERVAL);
            if !allowed {
                return Ok(Lookup::Unknown);
            }
            state.last_unknown_kid_refetch = Some(Instant::now());
            tracing::info!(metadata_url = %self.metadata_url, "token signed by an unknown key: fetching signing keys");
            let fetched = self.fetch(http).await;
            self.store(&mut state, fetched.as_ref().ok().cloned());
            fetched?;
        }
        let found = self.current().and_then(|set| set.keys.get(kid).cloned());
        Ok(found.map_or(Lookup::Unknown, Lookup::Found))
    }

    async fn refresh_due(
        &self,
        http: &reqwest::Client,
        stale: Option<Arc<KeySet>>,
        seen_generation: u64,
    ) -> Result<Arc<KeySet>, FetchError> {
        let mut state = self.refresh.lock().await;
        if self.generation.load(Ordering::Acquire) != seen_generation {
            // Queued behind another fetch: use what it left (success or failure alike).
            return self.current().ok_or_else(|| FetchError("signing keys could not be fetched".into()));
        }
        match self.fetch(http).await {
            Ok(set) => {
                self.store(&mut state, Some(set.clone()));
                Ok(set)
            }
            Err(e) => match stale {
                Some(stale) => {
                    // Yesterday's keys still verify today's tokens in practice; refusing every
                    // request because Microsoft's key endpoint hiccups would be worse.
                    tracing::warn!(metadata_url = %self.metadata_url, error = %e.0, "signing key refresh failed, keeping the previous keys");
                    let kept = Arc::new(KeySet {
                        keys: stale.keys.clone(),
                        refresh_at: Instant::now() + FAILED_REFRESH_RETRY,
                    });
                    self.store(&mut state, Some(kept.clone()));
                    Ok(kept)
                }
                None => {
                    self.store(&mut state, None);
                    Err(e)
                }
            },
        }
    }

    /// Ends a fetch: keeps `set` if there is one. Takes the refresh guard to show it runs
    /// under it.
    fn store(&self, _guard: &mut RefreshState, set: Option<Arc<KeySet>>) {
        if let Some(set) = set {
            *self.keys.write().unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(set);
        }
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    async fn fetch(&self, http: &reqwest::Client) -> Result<Arc<KeySet>, FetchError> {
        let metadata: Metadata = get_json(http, self.metadata_url.clone(), "OpenID metadata").await?;
        let jwks_uri = config::parse_remote_url(&metadata.jwks_uri)
            .map_err(|expected| FetchError(format!("OpenID metadata jwks_uri is not {expected}")))?;
        let jwks: Jwks = get_json(http, jwks_uri, "signing keys").await?;
        let mut keys = HashMap::new();
        for jwk in jwks.keys {
            let (Some(kid), Some(n), Some(e)) = (jwk.kid, jwk.n, jwk.e) else { continue };
            if jwk.kty.as_deref().is_some_and(|k| k != "RSA") || jwk.usage.as_deref().is_some_and(|u| u != "sig") {
                continue;
            }
            match DecodingKey::from_rsa_components(&n, &e) {
                Ok(key) => {
                    keys.insert(kid, Arc::new(SigningKey { key, alg: jwk.alg, endorsements: jwk.endorsements }));
                }
                Err(_) => tracing::debug!(kid, "skipping a signing key with unreadable RSA components"),
            }
        }
        tracing::info!(metadata_url = %self.metadata_url, keys = keys.len(), "fetched Bot Framework signing keys");
        Ok(Arc::new(KeySet { keys, refresh_at: Instant::now() + KEY_REFRESH_INTERVAL }))
    }
}

async fn get_json<T: serde::de::DeserializeOwned>(
    http: &reqwest::Client,
    url: Url,
    what: &str,
) -> Result<T, FetchError> {
    let response = http
        .get(url)
        .timeout(FETCH_TIMEOUT)
        .send()
        .await
        .map_err(|e| FetchError(format!("{what} request failed: {}", e.without_url())))?;
    let status = response.status();
    if !status.is_success() {
        return Err(FetchError(format!("{what} answered {status}")));
    }
    response.json().await.map_err(|e| FetchError(format!("{what} unreadable: {}", e.without_url())))
}
