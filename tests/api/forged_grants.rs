//! Payment grants forged from a real one: no signature, an HMAC keyed with the wallet's public
//! key, another key's signature under the wallet's `kid`, unknown and swapped `kid`s, claims
//! changed under the original signature. Each is refused at `/v1/payments` with
//! `invalid_grant`, makes no payment and spends nothing: the real grant still pays, once.
//! And grants the wallet did sign are still refused for another issuer, audience or merchant.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use reqwest::StatusCode;
use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use saifu::clock::unix_now;
use saifu_sdk::checkout::{GrantClaims, MerchantCredentials};
use saifu_sdk::SaifuClient;
use serde_json::{json, Value};

use crate::helpers::{count_rows, merchant, paid, problem_code, sdk, shopper, spawn_app, TestApp};

/// A compact JWS in its three encoded parts, so that a forgery changes one and keeps the
/// others byte for byte.
#[derive(Clone)]
struct Jws {
    header: String,
    claims: String,
    signature: String,
}

fn encode(json: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(json).unwrap())
}

fn decode(part: &str) -> Value {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

impl Jws {
    fn parse(jwt: &str) -> Self {
        let parts: Vec<&str> = jwt.split('.').collect();
        assert_eq!(parts.len(), 3, "a compact JWS");
        Self {
            header: parts[0].into(),
            claims: parts[1].into(),
            signature: parts[2].into(),
        }
    }

    fn header_json(&self) -> Value {
        decode(&self.header)
    }

    fn claims_json(&self) -> Value {
        decode(&self.claims)
    }

    fn compact(&self) -> String {
        format!("{}.{}.{}", self.header, self.claims, self.signature)
    }

    /// The header changed, the claims and the signature kept.
    fn with_header(&self, change: impl FnOnce(&mut Value)) -> Self {
        let mut header = self.header_json();
        change(&mut header);
        Self {
            header: encode(&header),
            ..self.clone()
        }
    }

    /// The claims changed, the header and the signature kept.
    fn with_claims(&self, change: impl FnOnce(&mut Value)) -> Self {
        let mut claims = self.claims_json();
        change(&mut claims);
        Self {
            claims: encode(&claims),
            ..self.clone()
        }
    }

    /// Signed anew over the (possibly changed) header and claims.
    fn signed_by(&self, sign: impl FnOnce(&[u8]) -> Vec<u8>) -> Self {
        let input = format!("{}.{}", self.header, self.claims);
        Self {
            signature: URL_SAFE_NO_PAD.encode(sign(input.as_bytes())),
            ..self.clone()
        }
    }
}

/// An ES256 key of the forger's own.
struct ForeignKey {
    pair: EcdsaKeyPair,
    rng: SystemRandom,
}

impl ForeignKey {
    fn new() -> Self {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
            .unwrap();
        Self { pair, rng }
    }

    fn sign(&self, input: &[u8]) -> Vec<u8> {
        self.pair.sign(&self.rng, input).unwrap().as_ref().to_vec()
    }

    fn jwk(&self) -> Value {
        let point = self.pair.public_key().as_ref();
        json!({
            "kty": "EC",
            "crv": "P-256",
            "x": URL_SAFE_NO_PAD.encode(&point[1..33]),
            "y": URL_SAFE_NO_PAD.encode(&point[33..65]),
        })
    }
}

fn hs256(secret: &[u8], input: &[u8]) -> Vec<u8> {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret);
    ring::hmac::sign(&key, input).as_ref().to_vec()
}

/// The forms a confused verifier might take as an HMAC secret: the wallet's public key as a
/// PEM, as DER, as the JWK it publishes, and as the bare point.
fn public_key_forms(jwk: &Value) -> Vec<(&'static str, Vec<u8>)> {
    let half = |name: &str| URL_SAFE_NO_PAD.decode(jwk[name].as_str().unwrap()).unwrap();
    let mut point = vec![4u8];
    point.extend(half("x"));
    point.extend(half("y"));
    // SubjectPublicKeyInfo for an id-ecPublicKey on P-256, then the uncompressed point.
    let mut der = hex("3059301306072a8648ce3d020106082a8648ce3d030107034200");
    der.extend(&point);
    let body = STANDARD.encode(&der);
    let lines: Vec<&str> = body
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    let pem = format!(
        "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
        lines.join("\n")
    );
    vec![
        ("PEM", pem.into_bytes()),
        ("DER", der),
        ("JWK", serde_json::to_vec(jwk).unwrap()),
        ("point", point),
    ]
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// `n − s` for a P-256 signature `r ‖ s`: the other signature ECDSA accepts for the same
/// message and key.
fn malleated(signature: &[u8]) -> Vec<u8> {
    let n = hex("ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551");
    let s = &signature[32..];
    let mut out = signature[..32].to_vec();
    let mut diff = [0u8; 32];
    let mut borrow = 0i16;
    for i in (0..32).rev() {
        let mut d = i16::from(n[i]) - i16::from(s[i]) - borrow;
        borrow = i16::from(d < 0);
        if d < 0 {
            d += 256;
        }
        diff[i] = d as u8;
    }
    out.extend_from_slice(&diff);
    out
}

struct Setup {
    app: TestApp,
    creds: MerchantCredentials,
    client: SaifuClient,
    other: MerchantCredentials,
}

async fn setup() -> Setup {
    let app = spawn_app().await;
    let creds = merchant(&app, "Frame Shop", true).await;
    let other = merchant(&app, "Tea House", true).await;
    let client = sdk(&app, &creds).await;
    Setup {
        app,
        creds,
        client,
        other,
    }
}

/// A real grant from a real checkout.
async fn real_grant(s: &Setup, email: &str) -> String {
    let mut shopper = shopper(&s.app, email).await;
    let (callback, pending) = paid(&s.client, &mut shopper).await;
    s.client
        .complete_checkout(&callback, &pending)
        .await
        .unwrap()
        .token
}

/// `POST /v1/payments` as `creds`, capturing `amount` yen at once.
async fn pay(
    app: &TestApp,
    creds: &MerchantCredentials,
    grant: &str,
    amount: &str,
) -> reqwest::Response {
    reqwest::Client::new()
        .post(app.base.join("/v1/payments").unwrap())
        .basic_auth(&creds.client_id, Some(&creds.client_secret))
        .header("Idempotency-Key", uuid::Uuid::new_v4().to_string())
        .json(&json!({
            "grant": grant,
            "amount": { "currency": "JPY", "amount": amount },
            "capture": true,
        }))
        .send()
        .await
        .unwrap()
}

async fn jwks(app: &TestApp) -> Vec<Value> {
    let set: Value = reqwest::get(app.base.join("/oauth/jwks").unwrap())
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    set["keys"].as_array().unwrap().clone()
}

#[tokio::test]
async fn forged_grants_are_refused_and_the_real_one_still_pays_once() {
    let s = setup().await;
    // A rotation first, so that the wallet has a retired key still published.
    let retired = jwks(&s.app).await[0]["kid"].as_str().unwrap().to_string();
    let active = s
        .app
        .state
        .checkout
        .signer
        .rotate(unix_now(), 720, &saifu::audit::Actor::Cli)
        .await
        .unwrap();
    let grant = real_grant(&s, "forged@example.com").await;
    let real = Jws::parse(&grant);
    assert_eq!(real.header_json()["kid"], active.as_str());
    let published = jwks(&s.app).await;
    let kids: Vec<&str> = published
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert_eq!(kids.len(), 2, "the retired key is still published");
    assert!(kids.contains(&retired.as_str()) && kids.contains(&active.as_str()));
    let wallet_jwk = published
        .iter()
        .find(|k| k["kid"] == active.as_str())
        .unwrap()
        .clone();
    let signature = URL_SAFE_NO_PAD.decode(&real.signature).unwrap();
    assert_eq!(signature.len(), 64, "ES256: r ‖ s");
    let foreign = ForeignKey::new();

    // (what was forged, the grant, who presents it, the amount asked)
    let mut forgeries: Vec<(String, String, &MerchantCredentials, &str)> = Vec::new();
    let by_the_merchant =
        |what: &str, jws: Jws| (what.to_string(), jws.compact(), &s.creds, "12800");

    // No signature at all.
    let unsigned = real.with_header(|h| h["alg"] = json!("none"));
    forgeries.push(by_the_merchant(
        "alg none, no signature",
        Jws {
            signature: String::new(),
            ..unsigned.clone()
        },
    ));
    forgeries.push(by_the_merchant(
        "alg none, the original signature",
        unsigned,
    ));
    forgeries.push(by_the_merchant(
        "alg none, no kid, no signature",
        Jws {
            signature: String::new(),
            ..real.with_header(|h| {
                *h = json!({ "alg": "none", "typ": "at+jwt" });
            })
        },
    ));
    forgeries.push(by_the_merchant(
        "ES256 with no signature",
        Jws {
            signature: String::new(),
            ..real.clone()
        },
    ));
    forgeries.push(by_the_merchant(
        "ES256 with a truncated signature",
        Jws {
            signature: URL_SAFE_NO_PAD.encode(&signature[..63]),
            ..real.clone()
        },
    ));

    // HS256, keyed with the wallet's public key in every form a verifier might take.
    for (form, secret) in public_key_forms(&wallet_jwk) {
        let hs = real.with_header(|h| h["alg"] = json!("HS256"));
        forgeries.push(by_the_merchant(
            &format!("HS256 keyed with the public key as {form}"),
            hs.signed_by(|input| hs256(&secret, input)),
        ));
    }

    // A valid signature by another key.
    forgeries.push(by_the_merchant(
        "another key's signature under the wallet's kid",
        real.signed_by(|input| foreign.sign(input)),
    ));
    forgeries.push(by_the_merchant(
        "another key's signature, that key embedded in the header",
        real.with_header(|h| h["jwk"] = foreign.jwk())
            .signed_by(|input| foreign.sign(input)),
    ));
    forgeries.push(by_the_merchant(
        "another key's signature under an unknown kid",
        real.with_header(|h| h["kid"] = json!("forger-key-1"))
            .signed_by(|input| foreign.sign(input)),
    ));

    // The original signature under another kid, or none.
    forgeries.push(by_the_merchant(
        "an unknown kid",
        real.with_header(|h| h["kid"] = json!("no-such-key")),
    ));
    forgeries.push(by_the_merchant(
        "no kid",
        real.with_header(|h| {
            h.as_object_mut().unwrap().remove("kid");
        }),
    ));
    forgeries.push(by_the_merchant(
        "the kid of the retired wallet key",
        real.with_header(|h| h["kid"] = json!(retired)),
    ));
    forgeries.push(by_the_merchant(
        "typ JWT",
        real.with_header(|h| h["typ"] = json!("JWT")),
    ));
    forgeries.push(by_the_merchant(
        "no typ",
        real.with_header(|h| {
            h.as_object_mut().unwrap().remove("typ");
        }),
    ));

    // Claims changed under the original signature.
    forgeries.push((
        "the amount raised".into(),
        real.with_claims(|c| {
            c["authorization_details"][0]["instructed_amount"]["amount"] = json!("99000");
            c["authorization_details"][0]["line_items"][0]["unit_amount"] = json!("99000");
        })
        .compact(),
        &s.creds,
        "99000",
    ));
    forgeries.push(by_the_merchant(
        "another audience",
        real.with_claims(|c| c["aud"] = json!("https://elsewhere.example/v1/payments")),
    ));
    forgeries.push(by_the_merchant(
        "another issuer",
        real.with_claims(|c| c["iss"] = json!("https://elsewhere.example")),
    ));
    forgeries.push(by_the_merchant(
        "the expiry extended",
        real.with_claims(|c| c["exp"] = json!(c["exp"].as_i64().unwrap() + 3600)),
    ));
    forgeries.push(by_the_merchant(
        "another jti",
        real.with_claims(|c| c["jti"] = json!(uuid::Uuid::new_v4().to_string())),
    ));
    forgeries.push(by_the_merchant(
        "another subject",
        real.with_claims(|c| c["sub"] = json!("someone-else")),
    ));
    forgeries.push((
        "another merchant's client_id, presented by that merchant".into(),
        real.with_claims(|c| c["client_id"] = json!(s.other.client_id))
            .compact(),
        &s.other,
        "12800",
    ));
    forgeries.push((
        "the real grant, presented by another merchant".into(),
        real.compact(),
        &s.other,
        "12800",
    ));

    assert!(forgeries.len() >= 25, "{} forgeries", forgeries.len());
    let effects = s.app.state.simulator.effects().await.unwrap();
    for (what, token, presenter, amount) in &forgeries {
        let r = pay(&s.app, presenter, token, amount).await;
        assert_eq!(
            problem_code(r).await,
            (StatusCode::BAD_REQUEST, "invalid_grant".to_string()),
            "{what}"
        );
    }
    assert_eq!(count_rows(&s.app, "payments").await, 0, "no payment");
    assert_eq!(
        count_rows(&s.app, "grants WHERE consumed_at IS NOT NULL").await,
        0,
        "no grant spent"
    );
    assert_eq!(
        s.app.state.simulator.effects().await.unwrap(),
        effects,
        "nothing at the processor"
    );

    // The real grant pays, once.
    let r = pay(&s.app, &s.creds, &grant, "12800").await;
    assert_eq!(
        r.status(),
        StatusCode::CREATED,
        "{}",
        r.text().await.unwrap()
    );
    let r = pay(&s.app, &s.creds, &grant, "12800").await;
    assert_eq!(
        problem_code(r).await,
        (StatusCode::CONFLICT, "grant_already_used".to_string())
    );
    // ECDSA's other valid signature for the same claims is the same grant, spent already.
    let twin = Jws {
        signature: URL_SAFE_NO_PAD.encode(malleated(&signature)),
        ..real.clone()
    };
    assert_ne!(twin.compact(), grant);
    let r = pay(&s.app, &s.creds, &twin.compact(), "12800").await;
    let refused = problem_code(r).await;
    assert!(
        refused == (StatusCode::CONFLICT, "grant_already_used".to_string())
            || refused == (StatusCode::BAD_REQUEST, "invalid_grant".to_string()),
        "{refused:?}"
    );
    assert_eq!(count_rows(&s.app, "payments").await, 1, "one payment");
}

/// The claims checks stand on their own, behind the signature: a grant the wallet itself
/// signed is refused for another issuer, another audience or another merchant, and once
/// expired.
#[tokio::test]
async fn grants_the_wallet_signed_are_refused_for_another_issuer_audience_or_merchant() {
    let s = setup().await;
    let grant = real_grant(&s, "claims@example.com").await;
    let real: GrantClaims = serde_json::from_value(Jws::parse(&grant).claims_json()).unwrap();
    let signer = &s.app.state.checkout.signer;
    let resigned = |change: &dyn Fn(&mut GrantClaims)| {
        let mut claims = real.clone();
        change(&mut claims);
        let signer = signer.clone();
        async move { signer.sign(&claims).await.unwrap() }
    };

    let cases: Vec<(&str, String, &MerchantCredentials, (StatusCode, &str))> = vec![
        (
            "another issuer",
            resigned(&|c| c.iss = "https://elsewhere.example/".into()).await,
            &s.creds,
            (StatusCode::BAD_REQUEST, "invalid_grant"),
        ),
        (
            "another audience",
            resigned(&|c| c.aud = "https://elsewhere.example/v1/payments".into()).await,
            &s.creds,
            (StatusCode::BAD_REQUEST, "invalid_grant"),
        ),
        (
            "issued to another merchant",
            resigned(&|c| c.client_id = s.other.client_id.clone()).await,
            &s.creds,
            (StatusCode::BAD_REQUEST, "invalid_grant"),
        ),
        (
            // The store binds the grant to its merchant too.
            "another merchant's claims on this merchant's grant",
            resigned(&|c| c.client_id = s.other.client_id.clone()).await,
            &s.other,
            (StatusCode::BAD_REQUEST, "invalid_grant"),
        ),
        (
            "expired",
            resigned(&|c| c.exp = unix_now() - 1).await,
            &s.creds,
            (StatusCode::BAD_REQUEST, "grant_expired"),
        ),
        (
            "for a grant the wallet never issued",
            resigned(&|c| c.jti = uuid::Uuid::new_v4().to_string()).await,
            &s.creds,
            (StatusCode::BAD_REQUEST, "invalid_grant"),
        ),
    ];
    for (what, token, presenter, expected) in cases {
        let r = pay(&s.app, presenter, &token, "12800").await;
        assert_eq!(
            problem_code(r).await,
            (expected.0, expected.1.to_string()),
            "{what}"
        );
    }
    assert_eq!(count_rows(&s.app, "payments").await, 0);
    let r = pay(&s.app, &s.creds, &grant, "12800").await;
    assert_eq!(
        r.status(),
        StatusCode::CREATED,
        "{}",
        r.text().await.unwrap()
    );
}
