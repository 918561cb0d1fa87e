//! The wallet's language and time zone: chosen from `Accept-Language`, switched with the
//! footer's form, kept in a cookie.

use reqwest::StatusCode;

use crate::helpers::{problem_code, spawn_app};

#[tokio::test]
async fn pages_follow_the_browsers_language_and_the_switcher_overrides_it() {
    let app = spawn_app().await;
    let browser = app.browser();

    // No preference: English.
    let page = browser.get_html("/signin").await;
    assert_eq!(page.headers()["content-language"], "en");
    let html = page.text().await.unwrap();
    assert!(html.contains(r#"<html lang="en">"#), "{html}");
    assert!(html.contains(">Create account<"), "{html}");

    // A Japanese browser gets Japanese.
    let page = browser
        .http
        .get(browser.url("/signin"))
        .header("accept-language", "ja-JP,ja;q=0.9,en;q=0.8")
        .send()
        .await
        .unwrap();
    assert_eq!(page.headers()["content-language"], "ja");
    let html = page.text().await.unwrap();
    assert!(html.contains(r#"<html lang="ja">"#), "{html}");
    assert!(html.contains(">アカウント作成<"), "{html}");
    assert!(
        html.contains(r#"name="next" value="/signin""#),
        "the switcher comes back to this page: {html}"
    );

    // The switcher's choice wins over the browser's, and it goes back to the page.
    let chosen = browser
        .post_form("/language", &[("lang", "ja"), ("next", "/signin?x=1")])
        .await;
    assert_eq!(chosen.status(), StatusCode::SEE_OTHER);
    assert_eq!(chosen.headers()["location"], "/signin?x=1");
    let cookie = chosen.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(cookie.starts_with("saifu_lang=ja;"), "{cookie}");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    let html = browser
        .http
        .get(browser.url("/signin"))
        .header("accept-language", "en-US")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains(r#"<html lang="ja">"#),
        "the cookie wins: {html}"
    );

    // Somewhere else than the wallet is never a return address.
    let away = browser
        .post_form("/language", &[("lang", "en"), ("next", "//evil.example/")])
        .await;
    assert_eq!(away.headers()["location"], "/");
}

#[tokio::test]
async fn unknown_languages_and_zones_are_refused_with_a_code() {
    let app = spawn_app().await;
    let browser = app.browser();
    let (status, code) =
        problem_code(browser.post_form("/language", &[("lang", "fr")]).await).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::BAD_REQUEST, "unsupported_language")
    );
    let (status, code) = problem_code(
        browser
            .post_form("/language", &[("zone", "Mars/Olympus")])
            .await,
    )
    .await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::BAD_REQUEST, "unknown_time_zone")
    );
    let chosen = browser
        .post_form("/language", &[("zone", "Europe/London")])
        .await;
    assert_eq!(chosen.status(), StatusCode::SEE_OTHER);
    assert!(chosen.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .starts_with("saifu_tz=Europe/London;"));
}
