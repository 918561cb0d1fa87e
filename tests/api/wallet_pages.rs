//! The wallet's own pages: the card form's JSON answers (an error per field, nothing typed
//! written back, the new card handed back to the consent), the home's balance, cards, recent
//! activity and first-card prompt, Activity's total − points = card and the points a refund
//! could not take back, the shopper's time zone, and every page in Japanese.

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{merchant, sdk, shopper, spawn_app, Browser, TestApp, TestPasskey};
use crate::points::{grant_with_points, jpy};

async fn new_shopper(app: &TestApp, email: &str) -> Browser {
    let browser = app.browser();
    let mut key = TestPasskey::new();
    let r = browser
        .sign_up(&mut key, &app.origin(), "Hanako", email)
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    browser
}

/// Posts the card form as its script does (`Accept: application/json`), in `lang`.
async fn post_card_json(
    browser: &Browser,
    lang: &str,
    fields: &[(&str, &str)],
) -> (StatusCode, String, Value) {
    let token = browser.csrf().await;
    let mut form: Vec<(&str, &str)> = vec![("csrf", token.as_str())];
    form.extend_from_slice(fields);
    let r = browser
        .http
        .post(browser.url("/cards"))
        .header("accept", "application/json")
        .header("accept-language", lang)
        .form(&form)
        .send()
        .await
        .unwrap();
    let status = r.status();
    let content_type = r.headers()["content-type"].to_str().unwrap().to_string();
    let text = r.text().await.unwrap();
    let body: Value = serde_json::from_str(&text).unwrap_or_else(|_| panic!("JSON: {text}"));
    (status, content_type, body)
}

fn errors_of(body: &Value) -> Vec<(String, String)> {
    body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["field"].as_str().unwrap().to_string(),
                e["code"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

async fn html_in(browser: &Browser, path: &str, lang: &str) -> String {
    let r = browser
        .http
        .get(browser.url(path))
        .header("accept", "text/html")
        .header("accept-language", lang)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{path}");
    r.text().await.unwrap()
}

#[tokio::test]
async fn the_card_form_answers_its_script_with_an_error_per_field_and_echoes_nothing_typed() {
    let app = spawn_app().await;
    let browser = new_shopper(&app, "json-card@example.com").await;

    // Every wrong field at once: each gets its own error, the number is never in the answer.
    let (status, content_type, body) = post_card_json(
        &browser,
        "en",
        &[
            ("number", "4242 4242 4242 4241"),
            ("expiry", "13/30"),
            ("cvc", "739"),
            ("holder", " "),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(content_type, "application/problem+json");
    assert_eq!(
        errors_of(&body),
        vec![
            ("number".into(), "invalid_card_number".into()),
            ("expiry".into(), "invalid_expiry".into()),
            ("holder".into(), "invalid_holder_name".into()),
        ]
    );
    assert_eq!(body["code"], "invalid_card_number");
    assert_eq!(body["field"], "number");
    let text = body.to_string();
    assert!(!text.contains("4241") && !text.contains("4242"), "{text}");

    // A number that fails its check digit is called invalid, not an unaccepted network.
    let (_, _, body) = post_card_json(
        &browser,
        "en",
        &[
            ("number", "1234 5678 9012 3456"),
            ("expiry", "12/39"),
            ("cvc", "739"),
            ("holder", "Hanako Yamada"),
        ],
    )
    .await;
    assert_eq!(
        errors_of(&body),
        vec![("number".into(), "invalid_card_number".into())]
    );
    assert_eq!(
        body["errors"][0]["message"],
        "This card number is not valid. Check it and try again."
    );

    // Only the expiry is wrong: only the expiry has an error (the script keeps the number).
    let (status, _, body) = post_card_json(
        &browser,
        "ja",
        &[
            ("number", "4242 4242 4242 4242"),
            ("expiry", "01/20"),
            ("cvc", "739"),
            ("holder", "Hanako Yamada"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        errors_of(&body),
        vec![("expiry".into(), "card_expired".into())]
    );
    assert_eq!(
        body["errors"][0]["message"], "このカードは有効期限が切れています。",
        "in the shopper's language"
    );

    // A card added from a consent goes back to it, with the new card in the query.
    let (status, _, body) = post_card_json(
        &browser,
        "en",
        &[
            ("number", "4242 4242 4242 4242"),
            ("expiry", "12/39"),
            ("cvc", "739"),
            ("holder", "Hanako Yamada"),
            ("return_to", "/checkout/abc?step=card#pay"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let card_id = body["card_id"].as_str().unwrap();
    assert_eq!(
        body["redirect"],
        format!("/checkout/abc?step=card&card={card_id}#pay")
    );
    // A declined card's error sits under the field it concerns.
    let (status, _, body) = post_card_json(
        &browser,
        "en",
        &[
            ("number", "4000 0000 0000 0127"),
            ("expiry", "12/39"),
            ("cvc", "739"),
            ("holder", "Hanako Yamada"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        errors_of(&body),
        vec![("cvc".into(), "incorrect_cvc".into())]
    );

    // The plain form still works without the script, and also returns with the card.
    let plain = browser
        .post_form(
            "/cards",
            &[
                ("number", "5555 5555 5555 4444"),
                ("expiry", "12/39"),
                ("cvc", "739"),
                ("holder", "Hanako Yamada"),
                ("return_to", "/checkout/xyz"),
            ],
        )
        .await;
    assert_eq!(plain.status(), StatusCode::SEE_OTHER);
    let to = plain.headers()["location"].to_str().unwrap();
    assert!(to.starts_with("/checkout/xyz?card="), "{to}");
    let back_to_cards = browser
        .post_form(
            "/cards",
            &[
                ("number", "3530 1113 3330 0000"),
                ("expiry", "12/39"),
                ("cvc", "739"),
                ("holder", "Hanako Yamada"),
            ],
        )
        .await;
    assert_eq!(back_to_cards.headers()["location"], "/cards");
}

#[tokio::test]
async fn the_card_form_page_loads_its_own_script_with_its_integrity_and_translated_texts() {
    let app = spawn_app().await;
    let browser = new_shopper(&app, "form-page@example.com").await;
    let html = html_in(&browser, "/cards/new", "ja").await;
    assert!(html.contains("<html lang=\"ja\">"));
    assert!(html.contains(">カードを追加</button>"), "{html}");
    assert!(
        html.contains("data-msg-number-luhn=\"カード番号が正しくありません。"),
        "the script's texts come from the page"
    );
    let start = html
        .find("/static/card-form.js?v=")
        .expect("the form's script");
    let tag = &html[start..];
    let integrity = &tag[tag.find("integrity=\"").unwrap() + 11..];
    let integrity = &integrity[..integrity.find('"').unwrap()];
    let href = &tag[..tag.find('"').unwrap()];
    let body = browser
        .http
        .get(browser.url(href))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let digest = ring::digest::digest(&ring::digest::SHA384, &body);
    use base64::Engine;
    assert_eq!(
        integrity,
        format!(
            "sha384-{}",
            base64::engine::general_purpose::STANDARD.encode(digest.as_ref())
        )
    );
    let js = String::from_utf8(body.to_vec()).unwrap();
    assert!(js.contains("luhnValid"), "the card form's script");
}

#[tokio::test]
async fn home_shows_points_cards_recent_activity_and_the_first_card_prompt() {
    let app = spawn_app().await;
    let fresh = new_shopper(&app, "home-fresh@example.com").await;
    let html = fresh.html("/").await;
    assert!(html.contains("id=\"first-card\""), "{html}");
    assert!(html.contains("Add your first card"), "{html}");
    assert!(html.contains("No payments yet."), "{html}");
    assert!(
        html.contains("Add a second passkey"),
        "the passkey nudge stays"
    );
    let ja = html_in(&fresh, "/", "ja").await;
    assert!(ja.contains("最初のカードを追加しましょう"), "{ja}");

    let shop = merchant(&app, "Kissa Shop", true).await;
    let client = sdk(&app, &shop).await;
    let mut s = shopper(&app, "home@example.com").await;
    let g = grant_with_points(&client, &mut s, 1_800, 0).await;
    client.pay(&g, &jpy(1_800), true, None).await.unwrap();
    let html = s.browser.html("/").await;
    assert!(!html.contains("id=\"first-card\""), "{html}");
    assert!(html.contains("Visa •••• 4242"), "{html}");
    assert!(html.contains("Mastercard •••• 4444"), "{html}");
    assert!(html.contains("Kissa Shop"), "{html}");
    assert!(html.contains("¥1,800"), "{html}");
    assert!(
        html.contains("<p class=\"points-figure\" data-points-available>18</p>"),
        "{html}"
    );
    assert!(
        html.contains("JST"),
        "times in Tokyo time by default: {html}"
    );

    // The shopper chooses another time zone on the home; times follow it.
    let chosen = s
        .browser
        .post_form(
            "/language",
            &[("zone", "Europe/London"), ("next", "/#time-zone")],
        )
        .await;
    assert_eq!(chosen.status(), StatusCode::SEE_OTHER);
    let html = s.browser.html("/").await;
    assert!(
        html.contains("<option value=\"Europe/London\" selected>"),
        "{html}"
    );
    assert!(html.contains(" GMT<") || html.contains(" BST<"), "{html}");
    let activity = s.browser.html("/activity").await;
    assert!(!activity.contains("JST"), "{activity}");
}

#[tokio::test]
async fn activity_splits_the_total_into_points_and_card_and_tells_of_points_kept() {
    let app = spawn_app().await;
    let first = merchant(&app, "First Shop", true).await;
    let first_client = sdk(&app, &first).await;
    let mut s = shopper(&app, "split@example.com").await;
    let g = grant_with_points(&first_client, &mut s, 1_000, 0).await;
    let p1 = first_client.pay(&g, &jpy(1_000), true, None).await.unwrap();
    assert_eq!(p1.points_earned, 10);

    // 6 of the 10 points pay part of an order at another shop.
    let second = merchant(&app, "Second Shop", true).await;
    let second_client = sdk(&app, &second).await;
    let g = grant_with_points(&second_client, &mut s, 1_000, 6).await;
    second_client
        .pay(&g, &jpy(1_000), true, None)
        .await
        .unwrap();

    // The first payment is refunded: 6 of its points were spent and can't be taken back.
    first_client
        .refund(&p1.id, &jpy(1_000), None)
        .await
        .unwrap();

    let html = s.browser.html("/activity").await;
    let second_card = &html[html.find("Second Shop").unwrap()..];
    let second_card = &second_card[..second_card.find("</li>").unwrap()];
    for part in [
        "<dt>Total</dt><dd>¥1,000</dd>",
        "<dt>Points (6)</dt><dd>−¥6</dd>",
        "<dt>Card Visa •••• 4242</dt><dd>¥994</dd>",
    ] {
        assert!(second_card.contains(part), "{part}: {second_card}");
    }
    let first_card = &html[html.find("First Shop").unwrap()..];
    let first_card = &first_card[..first_card.find("</li>").unwrap()];
    assert!(first_card.contains("¥1,000 refunded on"), "{first_card}");
    assert!(
        first_card.contains("The refund could not take back 6 earned points"),
        "{first_card}"
    );
    assert!(
        !first_card.contains("data-breakdown"),
        "no points used there"
    );

    let ja = html_in(&s.browser, "/activity", "ja").await;
    assert!(
        ja.contains("<dt>ポイント利用（6 ポイント）</dt><dd>−¥6</dd>"),
        "{ja}"
    );
    assert!(ja.contains("獲得した 6 ポイントはすでにご利用済み"), "{ja}");
    assert!(ja.contains("返金済み"), "{ja}");
}

#[tokio::test]
async fn the_wallet_pages_speak_japanese() {
    let app = spawn_app().await;
    let mut s = shopper(&app, "nihongo@example.com").await;
    let shop = merchant(&app, "Nihon Shop", true).await;
    let client = sdk(&app, &shop).await;
    let g = grant_with_points(&client, &mut s, 1_000, 0).await;
    client.pay(&g, &jpy(1_000), true, None).await.unwrap();
    for (path, words) in [
        ("/", "マイウォレット"),
        ("/cards", "登録済みのカード"),
        ("/cards/new", "カード番号"),
        ("/activity", "支払い済み"),
        ("/points", "利用可能"),
        ("/passkeys", "登録済みのパスキー"),
        ("/addresses", "お届け先"),
        ("/addresses/new", "郵便番号"),
        ("/shops", "連携ショップ"),
        ("/disputes", "申し立て一覧"),
        ("/receipts/verify", "レシートを確認"),
        ("/recovery-codes", "未使用のコードが"),
    ] {
        let html = html_in(&s.browser, path, "ja").await;
        assert!(html.contains("<html lang=\"ja\">"), "{path}");
        assert!(html.contains(words), "{path}: {words}: {html}");
        let english = html_in(&s.browser, path, "en").await;
        assert!(!english.contains(words), "{path}: English has no {words}");
    }
}
