//! Bot Framework's OpenID issuer (`login.botframework.com`), which publishes the keys that
//! sign the channel tokens the Bot Connector sends to a bot:
//!
//! - `GET /v1/.well-known/openidconfiguration`: the metadata document, shaped like the
//!   fixture `openid-configuration-botframework.json`, with `jwks_uri` pointing at this server;
//! - `GET /v1/.well-known/keys`: a JWKS whose RSA keys carry `kid`, `kty`, `use`, `n`, `e` and
//!   Bot Framework's extra `endorsements` (the channel ids a key may sign for).
//!
//! The simulator holds real RSA key pairs (generated with aws-lc-rs, the backend jsonwebtoken
//! already uses), so tests mint tokens it signs: [`BotLoginSim::channel_token`] gives a valid
//! Connector → bot token for an app id and serviceUrl, and [`BotLoginSim::broken_token`] each
//! deliberately invalid variant in [`Broken`]. Published from the start: one signing key
//! endorsed for `msteams` and one endorsed only for `webchat`.
//!
//! State and faults: counts of metadata and JWKS fetches, adding and rotating keys, and
//! failing the next requests with a chosen status.

use crate::Running;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{AlgorithmParameters, Jwk};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex, OnceLock};

/// The issuer of public-cloud channel tokens (`BOT_TOKEN_ISSUER`).
pub const ISSUER: &str = "https://api.botframework.com";

/// Path of the metadata document under the simulator's base URL.
pub const METADATA_PATH: &str = "/v1/.well-known/openidconfiguration";

const KEYS_PATH: &str = "/v1/.well-known/keys";

/// One RSA key pair in the forms the simulator needs.
struct KeyMaterial {
    encoding: EncodingKey,
    /// Base64url modulus and exponent, as published in the JWKS.
    n: String,
    e: String,
    /// DER of the public key: the "secret" of the HS256 key-confusion attack.
    public_der: Vec<u8>,
}

/// RSA key generation takes a noticeable moment, so every simulator in a test process draws
/// from one growing pool instead of generating its own keys. Kids stay unique per simulator.
fn key_material(index: usize) -> Arc<KeyMaterial> {
    static POOL: OnceLock<Mutex<Vec<Arc<KeyMaterial>>>> = OnceLock::new();
    let mut pool = POOL.get_or_init(Default::default).lock().unwrap();
    while pool.len() <= index {
        pool.push(Arc::new(generate_key()));
    }
    pool[index].clone()
}

fn generate_key() -> KeyMaterial {
    use aws_lc_rs::encoding::AsDer;
    use aws_lc_rs::signature::KeyPair as _;
    let pair = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).expect("generate an RSA key");
    let pkcs8 = pair.as_der().expect("PKCS#8 of the generated key");
    let pem = pem_encode("PRIVATE KEY", pkcs8.as_ref());
    let encoding = EncodingKey::from_rsa_pem(pem.as_bytes()).expect("jsonwebtoken reads the generated key");
    let jwk = Jwk::from_encoding_key(&encoding, Algorithm::RS256).expect("public components of the generated key");
    let AlgorithmParameters::RSA(rsa) = jwk.algorithm else { unreachable!("an RSA key has RSA parameters") };
    let public_der = pair.public_key().as_der().expect("DER of the public key").as_ref().to_vec();
    KeyMaterial { encoding, n: rsa.n, e: rsa.e, public_der }
}

fn pem_encode(label: &str, der: &[u8]) -> String {
    let body = base64::engine::general_purpose::STANDARD.encode(der);
    let lines: Vec<&str> = body.as_bytes().chunks(64).map(|c| std::str::from_utf8(c).unwrap()).collect();
    format!("-----BEGIN {label}-----\n{}\n-----END {label}-----\n", lines.join("\n"))
}

struct SimKey {
    kid: String,
    material: Arc<KeyMaterial>,
    endorsements: Vec<String>,
    /// Published as the JWK's `alg` when set.
    alg: Option<&'static str>,
}

struct Inner {
    keys: Vec<SimKey>,
    /// Kid of the key [`BotLoginSim::channel_token`] signs with.
    signing_kid: String,
    /// Pool index of the next key to hand out.
    next_key: usize,
    /// Never published: signs the unknown-kid and bad-signature tokens.
    impostor: Arc<KeyMaterial>,
    metadata_fetches: usize,
    key_fetches: usize,
    fail_next: Vec<u16>,
}

impl Inner {
    fn take_material(&mut self) -> Arc<KeyMaterial> {
        self.next_key += 1;
        key_material(self.next_key - 1)
    }

    fn publish(&mut self, kid: &str, endorsements: &[&str], alg: Option<&'static str>) {
        let material = self.take_material();
        self.keys.retain(|k| k.kid != kid);
        let endorsements = endorsements.iter().map(|e| (*e).to_owned()).collect();
        self.keys.push(SimKey { kid: kid.into(), material, endorsements, alg });
    }

    fn key(&self, kid: &str) -> Option<&SimKey> {
        self.keys.iter().find(|k| k.kid == kid)
    }

    fn failure(&mut self) -> Option<Response> {
        if self.fail_next.is_empty() {
            return None;
        }
        let status = StatusCode::from_u16(self.fail_next.remove(0)).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
        Some((status, "simulated failure").into_response())
    }
}

/// How a token from [`BotLoginSim::broken_token`] is wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Broken {
    /// Header `alg: none` and an empty signature.
    AlgNone,
    /// HS256, keyed with the published RSA public key (the key-confusion attack).
    Hs256WithPublicKey,
    /// Signed by a key whose kid is not published.
    UnknownKid,
    /// The signing key's kid, but signed by another private key.
    BadSignature,
    /// `iss` is not Bot Framework.
    WrongIssuer,
    /// `aud` is another app.
    WrongAudience,
    /// Expired ten minutes ago (beyond the five-minute skew).
    ExpiredBeyondSkew,
    /// Valid only from ten minutes from now.
    NotYetValidBeyondSkew,
    /// No `serviceurl` claim.
    MissingServiceUrl,
    /// Signed by a published key endorsed only for `webchat`.
    NotEndorsedForTeams,
    /// RS256 in the header, but the published key says `alg: RS512`.
    KeyAlgorithmMismatch,
}

/// A running Bot Framework OpenID simulator. Cheap to clone; all clones share state.
#[derive(Clone)]
pub struct BotLoginSim {
    inner: Arc<Mutex<Inner>>,
    server: Arc<Running>,
}

type Shared = Arc<Mutex<Inner>>;

/// The base URL is only known once the server is bound, so it travels in the router state.
#[derive(Clone)]
struct AppState {
    shared: Shared,
    base: Arc<OnceLock<String>>,
}

async fn metadata(State(state): State<AppState>) -> Response {
    let mut inner = state.shared.lock().unwrap();
    inner.metadata_fetches += 1;
    if let Some(failure) = inner.failure() {
        return failure;
    }
    let base = state.base.get().cloned().unwrap_or_default();
    Json(json!({
        "issuer": ISSUER,
        "authorization_endpoint": "https://invalid.botframework.com",
        "jwks_uri": format!("{base}{KEYS_PATH}"),
        "id_token_signing_alg_values_supported": ["RS256"],
        "token_endpoint_auth_methods_supported": ["private_key_jwt"],
    }))
    .into_response()
}

async fn keys(State(state): State<AppState>) -> Response {
    let mut inner = state.shared.lock().unwrap();
    inner.key_fetches += 1;
    if let Some(failure) = inner.failure() {
        return failure;
    }
    let keys: Vec<Value> = inner
        .keys
        .iter()
        .map(|k| {
            let mut jwk = json!({
                "kty": "RSA",
                "use": "sig",
                "kid": k.kid,
                "x5t": k.kid,
                "n": k.material.n,
                "e": k.material.e,
                "endorsements": k.endorsements,
            });
            if let Some(alg) = k.alg {
                jwk["alg"] = json!(alg);
            }
            jwk
        })
        .collect();
    Json(json!({ "keys": keys })).into_response()
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

impl BotLoginSim {
    /// Starts with three published keys: `sim-key-1` (endorsed for `msteams`, signs
    /// [`channel_token`](Self::channel_token)), `sim-key-webchat` (endorsed for `webchat` only)
    /// and `sim-key-rs512` (endorsed for `msteams`, published with `alg: RS512`).
    pub async fn start() -> BotLoginSim {
        let mut inner = Inner {
            keys: Vec::new(),
            signing_kid: "sim-key-1".into(),
            next_key: 1,
            impostor: key_material(0),
            metadata_fetches: 0,
            key_fetches: 0,
            fail_next: Vec::new(),
        };
        inner.publish("sim-key-1", &["msteams", "skype"], None);
        inner.publish("sim-key-webchat", &["webchat"], None);
        inner.publish("sim-key-rs512", &["msteams"], Some("RS512"));
        let shared: Shared = Arc::new(Mutex::new(inner));
        let base = Arc::new(OnceLock::new());
        let router = Router::new()
            .route(METADATA_PATH, get(metadata))
            .route(KEYS_PATH, get(keys))
            .with_state(AppState { shared: shared.clone(), base: base.clone() });
        let server = Arc::new(Running::serve(router).await);
        let _ = base.set(server.url());
        BotLoginSim { inner: shared, server }
    }

    /// Base URL of the server.
    pub fn url(&self) -> String {
        self.server.url()
    }

    /// The metadata document's URL, to use as `BOT_OPENID_METADATA_URL`.
    pub fn metadata_url(&self) -> String {
        format!("{}{METADATA_PATH}", self.server.url())
    }

    /// Metadata documents served (or failed) so far.
    pub fn metadata_fetches(&self) -> usize {
        self.inner.lock().unwrap().metadata_fetches
    }

    /// JWKS documents served (or failed) so far.
    pub fn key_fetches(&self) -> usize {
        self.inner.lock().unwrap().key_fetches
    }

    /// The next `count` requests (metadata or keys) fail with `status`.
    pub fn fail_next(&self, count: usize, status: u16) {
        self.inner.lock().unwrap().fail_next.extend(std::iter::repeat_n(status, count));
    }

    /// Publishes a new key pair under `kid` (replacing any key of that kid) with these
    /// endorsements; an empty list means the key may sign for any channel.
    pub fn add_key(&self, kid: &str, endorsements: &[&str]) {
        self.inner.lock().unwrap().publish(kid, endorsements, None);
    }

    /// Stops publishing a key.
    pub fn remove_key(&self, kid: &str) {
        self.inner.lock().unwrap().keys.retain(|k| k.kid != kid);
    }

    /// Publishes a new `msteams`-endorsed key, makes it the one valid tokens are signed with and
    /// stops publishing the previous signing key. Returns the new kid.
    pub fn rotate(&self) -> String {
        let kid = format!("sim-key-{}", uuid::Uuid::new_v4().simple());
        let old = self.signing_kid();
        self.add_key(&kid, &["msteams", "skype"]);
        let mut inner = self.inner.lock().unwrap();
        inner.keys.retain(|k| k.kid != old);
        inner.signing_kid = kid.clone();
        kid
    }

    /// Kid of the key valid tokens are signed with.
    pub fn signing_kid(&self) -> String {
        self.inner.lock().unwrap().signing_kid.clone()
    }

    /// Claims of a valid channel token: Bot Framework issuer, `aud` = the app id, the
    /// `serviceurl` claim, valid from now for an hour.
    pub fn claims(app_id: &str, service_url: &str) -> Value {
        let now = now();
        json!({
            "serviceurl": service_url,
            "nbf": now,
            "exp": now + 3600,
            "iss": ISSUER,
            "aud": app_id,
        })
    }

    /// A valid channel token for `app_id` and `service_url`, signed by the current signing key.
    pub fn channel_token(&self, app_id: &str, service_url: &str) -> String {
        self.sign(&Self::claims(app_id, service_url), &self.signing_kid(), Algorithm::RS256)
    }

    /// Signs `claims` with the published key `kid` (panics if there is none).
    pub fn sign(&self, claims: &Value, kid: &str, alg: Algorithm) -> String {
        let material = self.inner.lock().unwrap().key(kid).map(|k| k.material.clone()).expect("a published kid");
        sign_with(&material.encoding, kid, alg, claims)
    }

    /// A token that is wrong in exactly the way `how` says; everything else is valid.
    pub fn broken_token(&self, app_id: &str, service_url: &str, how: Broken) -> String {
        let mut claims = Self::claims(app_id, service_url);
        let kid = self.signing_kid();
        let now = now();
        match how {
            Broken::AlgNone => {
                let header = json!({ "alg": "none", "typ": "JWT", "kid": kid });
                format!("{}.{}.", b64_json(&header), b64_json(&claims))
            }
            Broken::Hs256WithPublicKey => {
                let public = self.inner.lock().unwrap().key(&kid).map(|k| k.material.public_der.clone());
                let secret = EncodingKey::from_secret(&public.expect("the signing key is published"))
                    .expect("a non-empty secret");
                sign_with(&secret, &kid, Algorithm::HS256, &claims)
            }
            Broken::UnknownKid => {
                let impostor = self.inner.lock().unwrap().impostor.clone();
                let kid = format!("unknown-{}", uuid::Uuid::new_v4().simple());
                sign_with(&impostor.encoding, &kid, Algorithm::RS256, &claims)
            }
            Broken::BadSignature => {
                let impostor = self.inner.lock().unwrap().impostor.clone();
                sign_with(&impostor.encoding, &kid, Algorithm::RS256, &claims)
            }
            Broken::WrongIssuer => {
                claims["iss"] = json!("https://sts.windows.net/d6d49420-f39b-4df7-a1dc-d59a935871db/");
                self.sign(&claims, &kid, Algorithm::RS256)
            }
            Broken::WrongAudience => {
                claims["aud"] = json!("00000000-0000-0000-0000-000000000000");
                self.sign(&claims, &kid, Algorithm::RS256)
            }
            Broken::ExpiredBeyondSkew => {
                claims["nbf"] = json!(now - 3600);
                claims["exp"] = json!(now - 600);
                self.sign(&claims, &kid, Algorithm::RS256)
            }
            Broken::NotYetValidBeyondSkew => {
                claims["nbf"] = json!(now + 600);
                claims["exp"] = json!(now + 3600);
                self.sign(&claims, &kid, Algorithm::RS256)
            }
            Broken::MissingServiceUrl => {
                claims.as_object_mut().map(|c| c.remove("serviceurl"));
                self.sign(&claims, &kid, Algorithm::RS256)
            }
            Broken::NotEndorsedForTeams => self.sign(&claims, "sim-key-webchat", Algorithm::RS256),
            Broken::KeyAlgorithmMismatch => self.sign(&claims, "sim-key-rs512", Algorithm::RS256),
        }
    }
}

fn b64_json(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(value.to_string())
}

fn sign_with(key: &EncodingKey, kid: &str, alg: Algorithm, claims: &Value) -> String {
    let mut header = Header::new(alg);
    header.kid = Some(kid.to_owned());
    header.x5t = Some(kid.to_owned());
    jsonwebtoken::encode(&header, claims, key).expect("sign a test token")
}
