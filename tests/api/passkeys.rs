//! The passkeys page: list, add, rename, remove, and the last passkey stays.

use reqwest::StatusCode;

use crate::helpers::{add_passkey, problem_code, spawn_app, Browser, TestApp, TestPasskey};

async fn signed_up(app: &TestApp) -> (Browser, TestPasskey) {
    let browser = app.browser();
    let mut key = TestPasskey::new();
    let r = browser
        .sign_up(&mut key, &app.origin(), "Kaito", "kaito@example.com")
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    (browser, key)
}

/// The id of the passkey shown with `name`, read from its rename form.
async fn passkey_id_named(browser: &Browser, name: &str) -> String {
    let html = browser.html("/passkeys").await;
    let label = html
        .find(&format!("New name for {name}<"))
        .expect("passkey is listed");
    let marker = "action=\"/passkeys/";
    let start = html[..label].rfind(marker).unwrap() + marker.len();
    html[start..start + 36].to_string()
}

/// The passkey ids on the page, in order, read from the remove forms.
async fn passkey_ids(browser: &Browser) -> Vec<String> {
    let html = browser.html("/passkeys").await;
    html.match_indices("action=\"/passkeys/")
        .filter_map(|(i, m)| {
            let rest = &html[i + m.len()..];
            let id = &rest[..rest.find('/')?];
            rest[id.len()..]
                .starts_with("/delete")
                .then(|| id.to_string())
        })
        .collect()
}

#[tokio::test]
async fn passkeys_page_lists_adds_renames_and_removes() {
    let app = spawn_app().await;
    let (browser, first_key) = signed_up(&app).await;

    let page = browser.html("/passkeys").await;
    assert!(page.contains("Passkey 1"));
    assert!(
        page.to_lowercase().contains("second passkey"),
        "one passkey: the page suggests a second"
    );

    let mut phone = add_passkey(&app, &browser, "Phone").await;
    let page = browser.html("/passkeys").await;
    assert!(page.contains("Phone") && page.contains("Passkey 1"));
    assert!(
        !page.to_lowercase().contains("add a second passkey"),
        "two passkeys: no suggestion"
    );
    assert_eq!(passkey_ids(&browser).await.len(), 2);
    let first = passkey_id_named(&browser, "Passkey 1").await;
    let second = passkey_id_named(&browser, "Phone").await;

    let renamed = browser
        .post_form(&format!("/passkeys/{first}/rename"), &[("name", "Laptop")])
        .await;
    assert_eq!(renamed.status(), StatusCode::SEE_OTHER);
    let page = browser.html("/passkeys").await;
    assert!(page.contains("Laptop") && !page.contains("Passkey 1"));

    let bad_name = browser
        .post_form(&format!("/passkeys/{first}/rename"), &[("name", "   ")])
        .await;
    assert_eq!(
        problem_code(bad_name).await,
        (StatusCode::BAD_REQUEST, "invalid_passkey_name".into())
    );

    // The new passkey signs in; then the first one is removed.
    browser.post_form("/signout", &[]).await;
    assert_eq!(
        browser.sign_in(&mut phone, &app.origin()).await.status(),
        StatusCode::OK
    );
    let removed = browser
        .post_form(&format!("/passkeys/{first}/delete"), &[])
        .await;
    assert_eq!(removed.status(), StatusCode::SEE_OTHER);
    assert_eq!(passkey_ids(&browser).await, vec![second]);

    // A removed passkey no longer signs in.
    browser.post_form("/signout", &[]).await;
    let mut first_key = first_key;
    let refused = browser.sign_in(&mut first_key, &app.origin()).await;
    assert_eq!(
        problem_code(refused).await,
        (StatusCode::UNAUTHORIZED, "unknown_passkey".into())
    );
}

#[tokio::test]
async fn removing_the_last_passkey_is_refused() {
    let app = spawn_app().await;
    let (browser, _key) = signed_up(&app).await;
    let ids = passkey_ids(&browser).await;
    assert_eq!(ids.len(), 1);

    let refused = browser
        .post_form(&format!("/passkeys/{}/delete", ids[0]), &[])
        .await;
    let (status, code) = problem_code(refused).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::CONFLICT, "last_passkey")
    );
    assert_eq!(passkey_ids(&browser).await.len(), 1);

    // A browser gets a page that says why.
    let token = browser.csrf().await;
    let page = browser
        .http
        .post(browser.url(&format!("/passkeys/{}/delete", ids[0])))
        .header("accept", "text/html")
        .form(&[("csrf", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::CONFLICT);
    assert!(page.text().await.unwrap().contains("only passkey"));
}

#[tokio::test]
async fn concurrent_removals_never_remove_the_last_passkey() {
    let app = spawn_app().await;
    let (browser, _key) = signed_up(&app).await;
    add_passkey(&app, &browser, "Second").await;
    let ids = passkey_ids(&browser).await;
    let token = browser.csrf().await;
    let remove = |id: &String| {
        browser
            .http
            .post(browser.url(&format!("/passkeys/{id}/delete")))
            .form(&[("csrf", token.as_str())])
            .send()
    };
    let (a, b) = tokio::join!(remove(&ids[0]), remove(&ids[1]));
    let mut statuses = vec![a.unwrap().status(), b.unwrap().status()];
    statuses.sort();
    assert_eq!(statuses, vec![StatusCode::SEE_OTHER, StatusCode::CONFLICT]);
    assert_eq!(passkey_ids(&browser).await.len(), 1);
}

#[tokio::test]
async fn another_shoppers_passkey_cannot_be_touched() {
    let app = spawn_app().await;
    let (owner, _key) = signed_up(&app).await;
    add_passkey(&app, &owner, "Spare").await;
    let ids = passkey_ids(&owner).await;

    let stranger = app.browser();
    let mut key = TestPasskey::new();
    stranger
        .sign_up(&mut key, &app.origin(), "Stranger", "stranger@example.com")
        .await;
    let rename = stranger
        .post_form(&format!("/passkeys/{}/rename", ids[0]), &[("name", "Mine")])
        .await;
    assert_eq!(problem_code(rename).await.0, StatusCode::NOT_FOUND);
    let delete = stranger
        .post_form(&format!("/passkeys/{}/delete", ids[0]), &[])
        .await;
    assert_eq!(problem_code(delete).await.0, StatusCode::NOT_FOUND);
    assert_eq!(passkey_ids(&owner).await.len(), 2);
}

#[tokio::test]
async fn passkeys_page_needs_sign_in() {
    let app = spawn_app().await;
    let browser = app.browser();
    let page = browser.get_html("/passkeys").await;
    assert_eq!(page.status(), StatusCode::SEE_OTHER);
    assert_eq!(page.headers()["location"], "/signin?next=%2Fpasskeys");

    let api = browser
        .http
        .get(browser.url("/passkeys"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        problem_code(api).await,
        (StatusCode::UNAUTHORIZED, "unauthenticated".into())
    );
}
