//! The wallet's own pages: the card form's JSON answers (an error per field, nothing typed
//! written back, the new card handed back to the consent), the home's balance, cards, recent
//! activity and first-card prompt, Activity's total − points = card and the points a refund
//! could not take back, the shopper's time zone, and every page in Japanese: the signed-out
//! recovery pages, the dispute pages at each step, and a declined payment in shopper words.

use reqwest::StatusCode;
use serde_json::Value;

use saifu::admin::Role;
use serde_json::json;

use crate::helpers::{
    grant, merchant, open_dispute, paid_order, respond, sdk, shopper, signed_in_admin, spawn_app,
    user_id_by_email, Browser, TestApp, TestPasskey,
};
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
    let html = browser.html_in("/cards/new", "ja").await;
    assert!(html.contains("<html lang=\"ja\">"));
    assert!(html.contains(">カードを追加</button>"), "{html}");
    assert!(
        html.contains("data-msg-number-check-digit=\"カード番号が正しくありません。"),
        "the script's texts come from the page, worded as the wallet's own refusals"
    );
    assert!(
        html.contains(
            "data-msg-number-length=\"{brand} のカード番号としては桁数が正しくありません。"
        ),
        "the script fills in the network: {html}"
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
    let ja = fresh.html_in("/", "ja").await;
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

    let ja = s.browser.html_in("/activity", "ja").await;
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
        let html = s.browser.html_in(path, "ja").await;
        assert!(html.contains("<html lang=\"ja\">"), "{path}");
        assert!(html.contains(words), "{path}: {words}: {html}");
        let english = s.browser.html_in(path, "en").await;
        assert!(!english.contains(words), "{path}: English has no {words}");
    }
}

/// A form posted in `lang`, as the browser of a shopper who reads it sends it.
async fn post_in(
    browser: &Browser,
    path: &str,
    lang: &str,
    fields: &[(&str, &str)],
) -> (StatusCode, String) {
    let token = browser.csrf().await;
    let mut form: Vec<(&str, &str)> = vec![("csrf", token.as_str())];
    form.extend_from_slice(fields);
    let r = browser
        .http
        .post(browser.url(path))
        .header("accept", "text/html")
        .header("accept-language", lang)
        .form(&form)
        .send()
        .await
        .unwrap();
    let status = r.status();
    (status, r.text().await.unwrap())
}

/// The page holds every one of `japanese` and none of `english`.
fn assert_japanese(path: &str, html: &str, japanese: &[&str], english: &[&str]) {
    assert!(html.contains("<html lang=\"ja\">"), "{path}");
    for words in japanese {
        assert!(html.contains(words), "{path}: {words} missing: {html}");
    }
    for words in english {
        assert!(
            !html.contains(words),
            "{path}: English left: {words}: {html}"
        );
    }
}

#[tokio::test]
async fn the_recovery_pages_speak_japanese_from_the_code_to_the_new_passkey() {
    let app = spawn_app().await;
    let owner = new_shopper(&app, "kaifuku@example.com").await;
    let home = owner.html("/").await;
    let start = home
        .find("id=\"recovery-codes\"")
        .expect("first codes shown");
    let code = &home[start..];
    let code = &code[code.find("<code>").unwrap() + 6..];
    let code = code[..code.find("</code>").unwrap()].to_string();

    let lost = app.browser();
    let page = lost.html_in("/recover", "ja").await;
    assert_japanese(
        "/recover",
        &page,
        &[
            "パスキーをなくしましたか？",
            "リカバリーコード",
            "コードでサインイン",
            "サインイン画面に戻る",
        ],
        &[
            "Lost your passkey?",
            "Sign in with one of the recovery codes",
            "Ten letters and digits",
            "Sign in with the code",
            "No codes left?",
            "Back to sign in",
            ">Email<",
        ],
    );
    let english = lost.html_in("/recover", "en").await;
    assert!(english.contains("Lost your passkey?"), "{english}");

    let (status, refused) = post_in(
        &lost,
        "/recover",
        "ja",
        &[("email", "kaifuku@example.com"), ("code", "nope")],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_japanese(
        "/recover refused",
        &refused,
        &["data-code=\"invalid_recovery_code\"", "英数字10文字です"],
        &["A recovery code has ten", "do not match"],
    );

    // Support's link, while it waits, and one that no longer works.
    let support = signed_in_admin(&app, Role::Support).await;
    let user = user_id_by_email(&app, "kaifuku@example.com").await;
    let r = support
        .admin_post_form(&format!("/admin/shoppers/{user}/recovery"), &[])
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let html = r.text().await.unwrap();
    let rest = &html[html.find("/recover/link?token=").expect("link shown") + 20..];
    let token = rest[..rest.find('"').unwrap()].to_string();
    let path = format!("/recover/link?token={token}");
    let waiting = lost.html_in(&path, "ja").await;
    assert_japanese(
        &path,
        &waiting,
        &[
            "アカウントの復旧",
            "から使えるようになります",
            "お心当たりがない場合",
            "パスキーでサインイン",
            "リカバリーコードを使う",
        ],
        &[
            "Saifu support started",
            "Come back then",
            "Did you not ask",
            "Recover your account",
            "Use a recovery code",
        ],
    );
    let (status, early) = post_in(&lost, "/recover/link", "ja", &[("token", &token)]).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_japanese(
        "/recover/link early",
        &early,
        &["data-code=\"recovery_not_ready\"", "まだ使えません"],
        &["does not work yet", "for your safety"],
    );
    let r = lost
        .http
        .get(lost.url("/recover/link?token=nope"))
        .header("accept", "text/html")
        .header("accept-language", "ja")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::GONE);
    let gone = r.text().await.unwrap();
    assert_japanese(
        "/recover/link gone",
        &gone,
        &["この復旧用のリンクは使えません"],
        &["no longer works"],
    );

    // A right code leads to the new passkey, still in Japanese.
    let (status, _) = post_in(
        &lost,
        "/recover",
        "ja",
        &[("email", "kaifuku@example.com"), ("code", &code)],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let passkey = lost.html_in("/recover/passkey", "ja").await;
    assert_japanese(
        "/recover/passkey",
        &passkey,
        &[
            "新しいパスキーの作成",
            "新しいパスキーを作成",
            "JavaScript が必要です",
        ],
        &[
            "Make a new passkey",
            "You are signed in to recover",
            "Create a new passkey",
            "After that, remove",
            "needs JavaScript",
        ],
    );
}

#[tokio::test]
async fn the_dispute_pages_and_a_declined_payment_speak_japanese_at_every_step() {
    let app = spawn_app().await;
    let mut order = paid_order(&app, "moushitate@example.com").await;
    let form_path = format!("/activity/{}/dispute", order.payment_id);

    let form = order.shopper.browser.html_in(&form_path, "ja").await;
    assert_japanese(
        &form_path,
        &form,
        &[
            "Frame Shop でのお支払い",
            "商品が届かない",
            "説明と異なる商品が届いた",
            "身に覚えのないお支払い",
            "二重に請求された",
            "上限は ¥12,800 です。",
            "Frame Shop に送信",
        ],
        &[
            "I didn&#39;t",
            "It isn&#39;t",
            "I was charged twice",
            "We tell the shop",
            "With your payment",
            "Report a problem",
        ],
    );
    let (status, refused) = post_in(
        &order.shopper.browser,
        &form_path,
        "ja",
        &[
            ("reason", "not_received"),
            ("description", " "),
            ("amount", "0"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{refused}");
    assert_japanese(
        "refused report",
        &refused,
        &["data-code=\"invalid_dispute_"],
        &["Describe the problem", "The amount must be"],
    );
    assert!(
        refused.contains("問題の内容を") || refused.contains("上限以内の金額"),
        "{refused}"
    );

    let id = open_dispute(&order.shopper, &order.payment_id, "12800").await;
    let path = format!("/disputes/{id}");
    let open = order.shopper.browser.html_in(&path, "ja").await;
    assert_japanese(
        &path,
        &open,
        &[
            "<title>Frame Shop への申し立て",
            "ショップの回答待ち",
            "Frame Shop にお知らせしました。ショップは ",
            "まだ回答はありません。ショップの回答期限は ",
            "商品が届かない",
            "¥12,800",
        ],
        &[
            "Dispute with",
            "Your dispute with",
            "Waiting for the shop",
            "We told",
            "No answer yet",
            "to answer",
            "I didn&#39;t",
        ],
    );

    let answered = respond(
        &app,
        &order.creds,
        &id,
        &json!({"evidence": {"text": "Handed to the carrier.", "carrier": "Yamato", "tracking_number": "4455-6677"}}),
    )
    .await;
    assert_eq!(answered.status(), StatusCode::OK);
    let review = order.shopper.browser.html_in(&path, "ja").await;
    assert_japanese(
        &path,
        &review,
        &[
            "審査中",
            "ショップから回答がありました。",
            "Frame Shop は申し立てに同意せず",
            "Yamato で発送済み（お問い合わせ番号 4455-6677）。",
        ],
        &[
            "Under review",
            "The shop answered",
            "disagrees",
            "Sent with",
            "Tracking number",
        ],
    );

    let support = signed_in_admin(&app, Role::Support).await;
    let decided = support
        .admin_post_form(
            &format!("/admin/disputes/{id}/decide"),
            &[("decision", "for_shopper")],
        )
        .await;
    assert_eq!(decided.status(), StatusCode::SEE_OTHER);
    let resolved = order.shopper.browser.html_in(&path, "ja").await;
    assert_japanese(
        &path,
        &resolved,
        &[
            "解決済み",
            "この申し立ては完了しました。",
            "Saifu はお客様の申し立てを認めました。",
            "¥12,800 をカードに返金しました。",
        ],
        &[
            "Resolved",
            "This dispute is closed",
            "Saifu decided",
            "was refunded",
        ],
    );
    let english = order.shopper.browser.html_in(&path, "en").await;
    assert!(
        english.contains("¥12,800 was refunded to your card."),
        "{english}"
    );
    let console = support.html(&format!("/admin/disputes/{id}")).await;
    assert!(
        console.contains("For the shopper"),
        "the console stays English"
    );

    // A payment refused at the network (its approval's authorization was released before the
    // shop took it): Activity says why in shopper words, not the code.
    let client = sdk(&app, &order.creds).await;
    let g = grant(&client, &mut order.shopper).await;
    let later = saifu::clock::unix_now() + 3_600;
    assert_eq!(
        app.state
            .payments
            .reconcile(later)
            .await
            .unwrap()
            .authorizations,
        1
    );
    assert!(client.pay(&g, &jpy(500), true, None).await.is_err());
    let activity = order.shopper.browser.html_in("/activity", "ja").await;
    assert_japanese(
        "/activity",
        &activity,
        &[
            "決済不可：ショップがお支払いを受け取る前に承認の期限が切れました。",
            "申し立て：解決済み",
        ],
        &["authorization_expired", "Declined", "Dispute: Resolved"],
    );
    let english = order.shopper.browser.html_in("/activity", "en").await;
    assert!(
        english.contains("Declined: the approval lapsed before the shop took the payment."),
        "{english}"
    );
    assert!(!english.contains("generic_decline"), "{english}");
}
