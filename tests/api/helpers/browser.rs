//! The browser of the tests: a client with its own cookie jar that follows no redirect, and
//! speaks to the wallet as its pages do (CSRF token, JSON and form posts, passkey sign-up and
//! sign-in), to any of its nodes; the reader of problem+json answers; and the UV flag of an
//! assertion.

use std::sync::Arc;

use reqwest::cookie::{CookieStore, Jar};
use reqwest::{Client, Response, StatusCode};
use serde_json::{json, Value};
use url::Url;
use webauthn_rs_proto::{CreationChallengeResponse, PublicKeyCredential, RequestChallengeResponse};

use super::{meta_csrf, TestApp, TestPasskey};

/// A browser: its own cookie jar, no automatic redirects.
pub struct Browser {
    pub http: Client,
    pub jar: Arc<Jar>,
    pub base: Url,
}

impl TestApp {
    pub fn browser(&self) -> Browser {
        let jar = Arc::new(Jar::default());
        let http = Client::builder()
            .cookie_provider(jar.clone())
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Browser {
            http,
            jar,
            base: self.base.clone(),
        }
    }
}

impl Browser {
    /// The same browser, cookies and all, with its requests for the wallet reaching `node`,
    /// as when a load balancer sends each request to another node of one wallet.
    pub fn on(&self, node: &TestApp) -> Browser {
        self.via(&node.socket().to_string())
    }

    /// The same browser, cookies and all, with its requests for the wallet reaching the
    /// server listening at `socket` (another process on the same database, say).
    pub fn via(&self, socket: &str) -> Browser {
        let http = reqwest::Client::builder()
            .proxy(reqwest::Proxy::http(format!("http://{socket}")).expect("a proxy URL"))
            .cookie_provider(self.jar.clone())
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Browser {
            http,
            jar: self.jar.clone(),
            base: self.base.clone(),
        }
    }

    pub fn url(&self, path: &str) -> Url {
        self.base.join(path).unwrap()
    }

    pub async fn get_html(&self, path: &str) -> Response {
        self.http
            .get(self.url(path))
            .header("accept", "text/html")
            .send()
            .await
            .unwrap()
    }

    /// A page's HTML, fetched as a browser does.
    /// The page at `path` asked for in `lang` (`Accept-Language`); it must answer 200.
    pub async fn html_in(&self, path: &str, lang: &str) -> String {
        let r = self
            .http
            .get(self.url(path))
            .header("accept", "text/html")
            .header("accept-language", lang)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{path}");
        r.text().await.unwrap()
    }

    pub async fn html(&self, path: &str) -> String {
        self.get_html(path).await.text().await.unwrap()
    }

    /// The session's CSRF token, read from a page as the wallet's script does.
    pub async fn csrf(&self) -> String {
        let page = self.get_html("/signin?probe=1").await;
        let page = if page.status() == StatusCode::SEE_OTHER {
            self.get_html("/").await
        } else {
            page
        };
        let html = page.text().await.unwrap();
        meta_csrf(&html).expect("page carries a csrf-token meta tag")
    }

    /// POSTs JSON the way the wallet's pages do, with the CSRF header.
    pub async fn post_json(&self, path: &str, body: &Value) -> Response {
        let token = self.csrf().await;
        self.http
            .post(self.url(path))
            .header("x-csrf-token", token)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> Response {
        let token = self.csrf().await;
        let mut form: Vec<(&str, &str)> = vec![("csrf", token.as_str())];
        form.extend_from_slice(fields);
        self.http
            .post(self.url(path))
            .form(&form)
            .send()
            .await
            .unwrap()
    }

    /// Like [`Browser::post_form`], with extra request headers (`accept-language`, `accept`).
    pub async fn post_form_with(
        &self,
        path: &str,
        fields: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> Response {
        let token = self.csrf().await;
        let mut form: Vec<(&str, &str)> = vec![("csrf", token.as_str())];
        form.extend_from_slice(fields);
        let mut request = self.http.post(self.url(path)).form(&form);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.send().await.unwrap()
    }

    pub fn session_cookie(&self) -> Option<String> {
        let header = self.jar.cookies(&self.base)?;
        header
            .to_str()
            .ok()?
            .split("; ")
            .find_map(|c| c.strip_prefix("saifu_session=").map(str::to_string))
    }

    /// Display name shown on the home page when signed in.
    pub async fn signed_in_as(&self) -> Option<String> {
        let html = self.html("/").await;
        let start = html.find("Welcome, ")? + "Welcome, ".len();
        let end = html[start..].find('<')? + start;
        Some(
            html[start..end]
                .trim()
                .trim_end_matches(['.', '!'])
                .to_string(),
        )
    }

    pub async fn sign_up(
        &self,
        key: &mut TestPasskey,
        origin: &Url,
        name: &str,
        email: &str,
    ) -> Response {
        let begin = self
            .post_json(
                "/signup/begin",
                &json!({ "display_name": name, "email": email }),
            )
            .await;
        assert_eq!(
            begin.status(),
            StatusCode::OK,
            "sign-up begin: {}",
            begin.text().await.unwrap()
        );
        let options: CreationChallengeResponse = begin.json().await.unwrap();
        let credential = key
            .register(origin, options)
            .expect("soft passkey registers");
        self.post_json(
            "/signup/finish",
            &serde_json::to_value(&credential).unwrap(),
        )
        .await
    }

    pub async fn begin_sign_in(&self) -> RequestChallengeResponse {
        let begin = self.post_json("/signin/begin", &json!({})).await;
        assert_eq!(begin.status(), StatusCode::OK);
        begin.json().await.unwrap()
    }

    pub async fn finish_sign_in(&self, credential: &PublicKeyCredential) -> Response {
        self.post_json("/signin/finish", &serde_json::to_value(credential).unwrap())
            .await
    }

    pub async fn sign_in(&self, key: &mut TestPasskey, origin: &Url) -> Response {
        let options = self.begin_sign_in().await;
        let credential = key.assert(origin, options).expect("soft passkey signs");
        self.finish_sign_in(&credential).await
    }
}

/// Reads a problem+json body and returns its code, checking the media type.
pub async fn problem_code(response: Response) -> (StatusCode, String) {
    let status = response.status();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string());
    assert_eq!(
        content_type.as_deref(),
        Some("application/problem+json"),
        "status {status}"
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], status.as_u16(), "{body}");
    assert!(
        body["detail"].as_str().is_some_and(|d| !d.is_empty()),
        "{body}"
    );
    (
        status,
        body["code"]
            .as_str()
            .expect("problem has a code")
            .to_string(),
    )
}

/// Whether an assertion's authenticator data says the user was verified (the UV flag, bit 2
/// of the flags byte that follows the 32-byte RP ID hash).
pub fn user_verified(credential: &PublicKeyCredential) -> bool {
    let data: &[u8] = credential.response.authenticator_data.as_ref();
    data[32] & 0x04 != 0
}

/// Adds a passkey to the signed-in shopper of `browser` (on the passkeys page); the new key.
pub async fn add_passkey(app: &TestApp, browser: &Browser, name: &str) -> TestPasskey {
    let begin = browser
        .post_json(
            "/passkeys/register/begin",
            &serde_json::json!({ "name": name }),
        )
        .await;
    assert_eq!(begin.status(), StatusCode::OK);
    let options: webauthn_rs_proto::CreationChallengeResponse = begin.json().await.unwrap();
    assert!(
        !options
            .public_key
            .exclude_credentials
            .as_ref()
            .unwrap()
            .is_empty(),
        "existing passkeys are excluded"
    );
    let mut key = TestPasskey::new();
    let credential = key.register(&app.origin(), options).unwrap();
    let finish = browser
        .post_json(
            "/passkeys/register/finish",
            &serde_json::to_value(&credential).unwrap(),
        )
        .await;
    assert_eq!(finish.status(), StatusCode::OK);
    key
}
