//! What one shopper does over HTTP, as a browser would: sign up with a soft passkey, add a
//! test card, sign in, and each step of a checkout. The merchant's side is the Rust SDK.

use std::time::Instant;

use anyhow::Context;
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use reqwest::{Client, Response, StatusCode};
use saifu_sdk::checkout::PaymentDetails;
use saifu_sdk::SaifuClient;
use serde_json::{json, Value};
use url::Url;
use webauthn_rs_proto::{CreationChallengeResponse, RequestChallengeResponse};

use crate::pages::{meta_csrf, offered_card_ids};
use crate::passkey::TestPasskey;
use crate::stats::Step;

const SESSION_COOKIE: &str = "saifu_session";

/// A failed step: which one, and a short kind for the error table.
#[derive(Debug)]
pub struct Failure {
    pub step: Step,
    pub kind: String,
    pub detail: String,
}

fn fail(step: Step, kind: impl Into<String>, detail: impl Into<String>) -> Failure {
    Failure {
        step,
        kind: kind.into(),
        detail: detail.into(),
    }
}

async fn http_failure(step: Step, r: Response) -> Failure {
    let status = r.status();
    let body = r.text().await.unwrap_or_default();
    let code = serde_json::from_str::<Value>(&body)
        .ok()
        .and_then(|v| {
            v.get("code")
                .or_else(|| v.get("error"))
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .unwrap_or_default();
    let kind = if code.is_empty() {
        format!("HTTP {}", status.as_u16())
    } else {
        format!("HTTP {} {code}", status.as_u16())
    };
    fail(step, kind, body.chars().take(300).collect::<String>())
}

fn transport(step: Step, err: reqwest::Error) -> Failure {
    let kind = if err.is_timeout() {
        "timeout"
    } else if err.is_connect() {
        "connect"
    } else {
        "transport"
    };
    fail(step, kind, err.to_string())
}

/// A shopper: a browser session (one cookie), a passkey and a card.
pub struct Shopper {
    pub email: String,
    session: Option<String>,
    csrf: Option<String>,
    card_id: Option<String>,
    key: TestPasskey,
}

/// The wallet as the shoppers' browsers see it: one HTTP client (no redirects followed); each
/// shopper carries its own session cookie.
#[derive(Clone)]
pub struct Browser {
    pub http: Client,
    pub origin: Url,
}

impl Browser {
    pub fn new(origin: Url) -> anyhow::Result<Self> {
        let http = Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(std::time::Duration::from_secs(30))
            .build()?;
        Ok(Self { http, origin })
    }

    fn url(&self, path: &str) -> Url {
        self.origin.join(path).expect("a path joins the origin")
    }

    fn with_cookie(
        &self,
        shopper: &Shopper,
        request: reqwest::RequestBuilder,
    ) -> reqwest::RequestBuilder {
        match &shopper.session {
            Some(id) => request.header(COOKIE, format!("{SESSION_COOKIE}={id}")),
            None => request,
        }
    }

    async fn send(
        &self,
        shopper: &mut Shopper,
        step: Step,
        request: reqwest::RequestBuilder,
    ) -> Result<Response, Failure> {
        let r = self
            .with_cookie(shopper, request)
            .send()
            .await
            .map_err(|e| transport(step, e))?;
        for value in r.headers().get_all(SET_COOKIE) {
            let Ok(value) = value.to_str() else { continue };
            let Some(rest) = value.strip_prefix(&format!("{SESSION_COOKIE}=")) else {
                continue;
            };
            let id = rest.split(';').next().unwrap_or_default();
            let removed = id.is_empty() || value.to_ascii_lowercase().contains("max-age=0");
            shopper.session = (!removed).then(|| id.to_string());
        }
        Ok(r)
    }

    async fn page(&self, shopper: &mut Shopper, step: Step, path: &str) -> Result<String, Failure> {
        let request = self.http.get(self.url(path)).header("accept", "text/html");
        let r = self.send(shopper, step, request).await?;
        if r.status() != StatusCode::OK {
            return Err(http_failure(step, r).await);
        }
        let html = r.text().await.map_err(|e| transport(step, e))?;
        shopper.csrf = meta_csrf(&html);
        Ok(html)
    }

    async fn post_json(
        &self,
        shopper: &mut Shopper,
        step: Step,
        path: &str,
        body: &Value,
    ) -> Result<Response, Failure> {
        let token = shopper.csrf.clone().unwrap_or_default();
        let request = self
            .http
            .post(self.url(path))
            .header("x-csrf-token", token)
            .json(body);
        self.send(shopper, step, request).await
    }

    async fn post_form(
        &self,
        shopper: &mut Shopper,
        step: Step,
        path: &str,
        fields: &[(&str, &str)],
    ) -> Result<Response, Failure> {
        let token = shopper.csrf.clone().unwrap_or_default();
        let mut form: Vec<(&str, &str)> = vec![("csrf", token.as_str())];
        form.extend_from_slice(fields);
        let request = self.http.post(self.url(path)).form(&form);
        self.send(shopper, step, request).await
    }

    /// Creates a shopper through the wallet's pages: sign-up with a new passkey, then a test
    /// card (checked once with its CVC by the simulated processor).
    pub async fn sign_up(&self, n: usize, run: &str) -> anyhow::Result<Shopper> {
        let mut shopper = Shopper {
            email: format!("shopper{n}.{run}@bench.example"),
            session: None,
            csrf: None,
            card_id: None,
            key: TestPasskey::new(),
        };
        let ctx = |f: Failure| anyhow::anyhow!("sign-up: {} {}: {}", f.step, f.kind, f.detail);
        self.page(&mut shopper, Step::Setup, "/signup")
            .await
            .map_err(ctx)?;
        let body = json!({ "display_name": format!("Shopper {n}"), "email": shopper.email });
        let r = self
            .post_json(&mut shopper, Step::Setup, "/signup/begin", &body)
            .await
            .map_err(ctx)?;
        if r.status() != StatusCode::OK {
            return Err(ctx(http_failure(Step::Setup, r).await));
        }
        let options: CreationChallengeResponse = r.json().await?;
        let credential = shopper
            .key
            .register(&self.origin, options)
            .map_err(|e| anyhow::anyhow!("soft passkey registration: {e}"))?;
        let credential = serde_json::to_value(&credential)?;
        let r = self
            .post_json(&mut shopper, Step::Setup, "/signup/finish", &credential)
            .await
            .map_err(ctx)?;
        if r.status() != StatusCode::OK {
            return Err(ctx(http_failure(Step::Setup, r).await));
        }
        // Signing in gives the session a new CSRF token: read it from a page.
        self.page(&mut shopper, Step::Setup, "/cards/new")
            .await
            .map_err(ctx)?;
        let r = self
            .post_form(
                &mut shopper,
                Step::Setup,
                "/cards",
                &[
                    ("number", "4242424242424242"),
                    ("expiry", "12/39"),
                    ("cvc", "123"),
                    ("holder", "Bench Shopper"),
                ],
            )
            .await
            .map_err(ctx)?;
        if r.status() != StatusCode::SEE_OTHER {
            return Err(ctx(http_failure(Step::Setup, r).await));
        }
        Ok(shopper)
    }

    /// A passkey sign-in from a fresh browser: the sign-in page, then the ceremony.
    pub async fn sign_in(
        &self,
        shopper: &mut Shopper,
        timings: &mut Vec<(Step, u64)>,
    ) -> Result<(), Failure> {
        shopper.session = None;
        let t = Instant::now();
        self.page(shopper, Step::SigninPage, "/signin").await?;
        timings.push((Step::SigninPage, micros(t)));

        let t = Instant::now();
        let r = self
            .post_json(shopper, Step::SigninBegin, "/signin/begin", &json!({}))
            .await?;
        if r.status() != StatusCode::OK {
            return Err(http_failure(Step::SigninBegin, r).await);
        }
        let options: RequestChallengeResponse = r
            .json()
            .await
            .map_err(|e| transport(Step::SigninBegin, e))?;
        timings.push((Step::SigninBegin, micros(t)));

        let credential = sign(&mut shopper.key, &self.origin, options)
            .map_err(|e| fail(Step::SigninFinish, "passkey", e))?;
        let t = Instant::now();
        let r = self
            .post_json(shopper, Step::SigninFinish, "/signin/finish", &credential)
            .await?;
        if r.status() != StatusCode::OK {
            return Err(http_failure(Step::SigninFinish, r).await);
        }
        timings.push((Step::SigninFinish, micros(t)));
        // The new session has a new CSRF token; the next consent page brings it.
        shopper.csrf = None;
        Ok(())
    }
}

fn micros(t: Instant) -> u64 {
    t.elapsed().as_micros() as u64
}

/// The passkey's answer to `options`, as the JSON the wallet's script posts.
fn sign(
    key: &mut TestPasskey,
    origin: &Url,
    options: RequestChallengeResponse,
) -> Result<Value, String> {
    let credential = key.assert(origin, options)?;
    serde_json::to_value(&credential).map_err(|e| e.to_string())
}

pub fn payment() -> PaymentDetails {
    PaymentDetails::new("JPY", "1280", "bench").with_item("Tea", 1, "1280")
}

/// The shopper's half of a checkout, up to the redirect back: the authorize redirect, the
/// consent page, and the passkey confirmation (begin, approve). Returns the callback URL.
pub async fn shopper_steps(
    browser: &Browser,
    shopper: &mut Shopper,
    authorization_url: &Url,
    timings: &mut Vec<(Step, u64)>,
) -> Result<Url, Failure> {
    let t = Instant::now();
    let request = browser
        .http
        .get(authorization_url.clone())
        .header("accept", "text/html");
    let r = browser.send(shopper, Step::Authorize, request).await?;
    if r.status() != StatusCode::SEE_OTHER {
        return Err(http_failure(Step::Authorize, r).await);
    }
    let consent = r
        .headers()
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .ok_or_else(|| fail(Step::Authorize, "no Location", ""))?;
    timings.push((Step::Authorize, micros(t)));

    let t = Instant::now();
    let html = browser.page(shopper, Step::ConsentPage, &consent).await?;
    let card = offered_card_ids(&html)
        .into_iter()
        .next()
        .or_else(|| shopper.card_id.clone())
        .ok_or_else(|| fail(Step::ConsentPage, "no card offered", ""))?;
    shopper.card_id = Some(card.clone());
    timings.push((Step::ConsentPage, micros(t)));

    let t = Instant::now();
    let r = browser
        .post_json(
            shopper,
            Step::Begin,
            &format!("{consent}/begin"),
            &json!({ "card_id": card, "points": 0 }),
        )
        .await?;
    if r.status() != StatusCode::OK {
        return Err(http_failure(Step::Begin, r).await);
    }
    let options: RequestChallengeResponse =
        r.json().await.map_err(|e| transport(Step::Begin, e))?;
    timings.push((Step::Begin, micros(t)));

    let t = Instant::now();
    let assertion = sign(&mut shopper.key, &browser.origin, options)
        .map_err(|e| fail(Step::Approve, "passkey", e))?;
    timings.push((Step::Passkey, micros(t)));

    let t = Instant::now();
    let assertion = assertion.to_string();
    let r = browser
        .post_form(
            shopper,
            Step::Approve,
            &format!("{consent}/approve"),
            &[
                ("card_id", card.as_str()),
                ("points", "0"),
                ("credential", assertion.as_str()),
            ],
        )
        .await?;
    if r.status() != StatusCode::SEE_OTHER {
        return Err(http_failure(Step::Approve, r).await);
    }
    let callback = r
        .headers()
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| Url::parse(v).ok())
        .ok_or_else(|| fail(Step::Approve, "no callback", ""))?;
    timings.push((Step::Approve, micros(t)));
    Ok(callback)
}

/// One whole checkout: PAR, the shopper's steps, the token exchange (the SDK also checks the
/// grant against the JWKS) and the payment with capture.
pub async fn checkout(
    merchant: &SaifuClient,
    browser: &Browser,
    shopper: &mut Shopper,
    timings: &mut Vec<(Step, u64)>,
) -> Result<(), Failure> {
    let details = payment();
    let t = Instant::now();
    let (url, pending) = merchant
        .start_checkout(&details)
        .await
        .map_err(|e| sdk_failure(Step::Par, e))?;
    timings.push((Step::Par, micros(t)));

    let callback = shopper_steps(browser, shopper, &url, timings).await?;

    let t = Instant::now();
    let grant = merchant
        .complete_checkout(&callback, &pending)
        .await
        .map_err(|e| sdk_failure(Step::Token, e))?;
    timings.push((Step::Token, micros(t)));

    let t = Instant::now();
    let paid = merchant
        .pay(&grant.token, &details.instructed_amount, true, None)
        .await
        .map_err(|e| sdk_failure(Step::Pay, e))?;
    if paid.status != "captured" {
        return Err(fail(Step::Pay, format!("status {}", paid.status), ""));
    }
    timings.push((Step::Pay, micros(t)));
    Ok(())
}

fn sdk_failure(step: Step, err: saifu_sdk::Error) -> Failure {
    let text = err.to_string();
    let kind: String = text.chars().take(60).collect();
    fail(step, kind, text)
}

/// A code ready for the token endpoint, made by a full consent.
pub struct ReadyCode {
    pub code: String,
    pub verifier: String,
}

pub async fn code_for_token(
    merchant: &SaifuClient,
    browser: &Browser,
    shopper: &mut Shopper,
) -> Result<ReadyCode, Failure> {
    let (url, pending) = merchant
        .start_checkout(&payment())
        .await
        .map_err(|e| sdk_failure(Step::Par, e))?;
    let mut ignored = Vec::new();
    let callback = shopper_steps(browser, shopper, &url, &mut ignored).await?;
    let code = callback
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .ok_or_else(|| fail(Step::Approve, "no code", callback.to_string()))?;
    Ok(ReadyCode {
        code,
        verifier: pending.code_verifier().to_string(),
    })
}

/// The merchant's server at the token endpoint: `client_secret_basic`, form body.
#[derive(Clone)]
pub struct TokenClient {
    pub http: Client,
    pub url: Url,
    pub client_id: String,
    pub client_secret: String,
}

impl TokenClient {
    pub async fn exchange(&self, ready: &ReadyCode) -> Result<(), Failure> {
        let r = self
            .http
            .post(self.url.clone())
            .basic_auth(&self.client_id, Some(&self.client_secret))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", ready.code.as_str()),
                ("redirect_uri", crate::wallet::CALLBACK),
                ("code_verifier", ready.verifier.as_str()),
            ])
            .send()
            .await
            .map_err(|e| transport(Step::Token, e))?;
        if r.status() != StatusCode::OK {
            return Err(http_failure(Step::Token, r).await);
        }
        let body: Value = r.json().await.map_err(|e| transport(Step::Token, e))?;
        body.get("access_token")
            .and_then(Value::as_str)
            .map(|_| ())
            .context("no access_token")
            .map_err(|e| fail(Step::Token, "no access_token", e.to_string()))
    }
}
