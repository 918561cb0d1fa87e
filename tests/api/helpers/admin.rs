//! Console admins in the tests: invitations made through the service (as `saifu admin invite`
//! does), a soft passkey made from the link, passkey sign-in, and requests with the console's
//! own CSRF token.

use reqwest::{Response, StatusCode};
use saifu::admin::Role;
use saifu::audit::Actor;
use serde_json::{json, Value};
use url::Url;
use webauthn_rs_proto::{CreationChallengeResponse, RequestChallengeResponse};

use super::{meta_csrf, Browser, TestApp, TestPasskey};

/// A new invitation's token, made by the CLI actor.
pub async fn invite_token(app: &TestApp, email: &str, role: Role) -> String {
    let email = saifu::accounts::account::Email::parse(email).unwrap();
    app.state
        .admins
        .invite(&email, role, &Actor::Cli, saifu::clock::unix_now())
        .await
        .expect("invitation")
        .token
}

/// A browser signed in to the console as a new admin with `role`, and that admin's passkey.
pub async fn admin_with_key(app: &TestApp, role: Role) -> (Browser, TestPasskey) {
    let email = format!(
        "{}-{}@issuer.example",
        role.as_str(),
        uuid::Uuid::new_v4().simple()
    );
    let token = invite_token(app, &email, role).await;
    let browser = app.browser();
    let mut key = TestPasskey::new();
    let joined = browser.join_console(&mut key, &app.origin(), &token).await;
    assert_eq!(
        joined.status(),
        StatusCode::OK,
        "join: {}",
        joined.text().await.unwrap()
    );
    (browser, key)
}

/// A browser signed in to the console as a new admin with `role`.
pub async fn signed_in_admin(app: &TestApp, role: Role) -> Browser {
    admin_with_key(app, role).await.0
}

impl Browser {
    /// The console session's CSRF token, read from a console page as its script does.
    pub async fn admin_csrf(&self) -> String {
        let page = self.get_html("/admin/signin?probe=1").await;
        let page = if page.status() == StatusCode::SEE_OTHER {
            self.get_html("/admin/passkeys").await
        } else {
            page
        };
        let html = page.text().await.unwrap();
        meta_csrf(&html).expect("console page carries a csrf-token meta tag")
    }

    pub async fn admin_post_json(&self, path: &str, body: &Value) -> Response {
        let token = self.admin_csrf().await;
        self.http
            .post(self.url(path))
            .header("x-csrf-token", token)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    /// A console form post, as a browser sends it (HTML accepted), with the CSRF field.
    pub async fn admin_post_form(&self, path: &str, fields: &[(&str, &str)]) -> Response {
        let token = self.admin_csrf().await;
        let mut form: Vec<(&str, &str)> = vec![("csrf", token.as_str())];
        form.extend_from_slice(fields);
        self.http
            .post(self.url(path))
            .header("accept", "text/html")
            .form(&form)
            .send()
            .await
            .unwrap()
    }

    /// Makes the admin passkey from an invitation link's token.
    pub async fn join_console(&self, key: &mut TestPasskey, origin: &Url, token: &str) -> Response {
        let begin = self
            .admin_post_json("/admin/invite/begin", &json!({ "token": token }))
            .await;
        if begin.status() != StatusCode::OK {
            return begin;
        }
        let options: CreationChallengeResponse = begin.json().await.unwrap();
        let credential = key
            .register(origin, options)
            .expect("soft passkey registers");
        self.admin_post_json(
            "/admin/invite/finish",
            &serde_json::to_value(&credential).unwrap(),
        )
        .await
    }

    pub async fn admin_sign_in(&self, key: &mut TestPasskey, origin: &Url) -> Response {
        let begin = self
            .admin_post_json("/admin/signin/begin", &json!({}))
            .await;
        assert_eq!(begin.status(), StatusCode::OK);
        let options: RequestChallengeResponse = begin.json().await.unwrap();
        let credential = key.assert(origin, options).expect("soft passkey signs");
        self.admin_post_json(
            "/admin/signin/finish",
            &serde_json::to_value(&credential).unwrap(),
        )
        .await
    }
}
