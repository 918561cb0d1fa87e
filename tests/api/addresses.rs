//! Shipping addresses: kept on the wallet's addresses page (added, edited, made the default,
//! removed; every field checked and named when refused); asked for by a merchant with
//! `"shipping": {"required": true}`, chosen on the consent page, signed by the passkey, and
//! received by the merchant as a copy made at approval, for that order only.

use reqwest::{Response, StatusCode};
use saifu_sdk::checkout::{PaymentDetails, ShippingAddress};
use serde_json::{json, Value};
use url::Url;

use crate::helpers::{
    count_rows, frames, merchant, offered_cards, open_consent, param, problem_code, sdk, shopper,
    spawn_app, Browser, Shopper, TestApp, CALLBACK,
};

fn tokyo() -> Vec<(&'static str, &'static str)> {
    vec![
        ("name", "Mika Sato"),
        ("postal_code", "1000001"),
        ("prefecture", "Tokyo"),
        ("city", "Chiyoda-ku"),
        ("line1", "1-1 Chiyoda"),
        ("line2", ""),
        ("phone", "090-1234-5678"),
        ("country", "JP"),
    ]
}

fn osaka() -> Vec<(&'static str, &'static str)> {
    vec![
        ("name", "Ken Sato"),
        ("postal_code", "530-0001"),
        ("prefecture", "Osaka"),
        ("city", "Kita-ku, Osaka"),
        ("line1", "2-2 Umeda"),
        ("line2", "Umeda Tower 12F"),
        ("phone", "+81 6 1234 5678"),
        ("country", "JP"),
    ]
}

async fn add(browser: &Browser, fields: &[(&str, &str)]) -> Response {
    browser.post_form("/addresses", fields).await
}

/// The address ids on the addresses page, in order (the default first).
async fn address_ids(browser: &Browser) -> Vec<String> {
    ids_after(
        &browser.html("/addresses").await,
        "href=\"/addresses/",
        "/edit\"",
    )
}

/// The 36-character ids that follow `prefix` (and precede `suffix`) in `html`.
fn ids_after(html: &str, prefix: &str, suffix: &str) -> Vec<String> {
    html.match_indices(prefix)
        .filter_map(|(i, m)| html.get(i + m.len()..i + m.len() + 36 + suffix.len()))
        .filter(|s| s.ends_with(suffix))
        .map(|s| s[..36].to_string())
        .collect()
}

/// The address ids the consent page offers, and the one checked.
fn offered_addresses(html: &str) -> (Vec<String>, Option<String>) {
    let ids = ids_after(html, "name=\"address_id\" id=\"address-", "\"");
    let checked = html
        .match_indices("name=\"address_id\" id=\"address-")
        .find(|(i, _)| html[*i..].split('>').next().unwrap().contains(" checked"))
        .map(|(i, m)| html[i + m.len()..i + m.len() + 36].to_string());
    (ids, checked)
}

async fn begin(s: &Shopper, consent: &str, card: &str, address: Option<&str>) -> Response {
    let mut body = json!({ "card_id": card, "points": 0 });
    if let Some(a) = address {
        body["address_id"] = a.into();
    }
    s.browser
        .post_json(&format!("{consent}/begin"), &body)
        .await
}

/// Begins with `signed_for`, signs, and approves with `sent`.
async fn sign_and_approve(
    s: &mut Shopper,
    consent: &str,
    card: &str,
    signed_for: Option<&str>,
    sent: Option<&str>,
) -> Response {
    let r = begin(s, consent, card, signed_for).await;
    assert_eq!(r.status(), StatusCode::OK);
    let options = r.json().await.unwrap();
    let assertion = serde_json::to_value(s.key.assert(&s.origin, options).unwrap()).unwrap();
    approve(s, consent, card, sent, &assertion).await
}

async fn approve(
    s: &Shopper,
    consent: &str,
    card: &str,
    address: Option<&str>,
    assertion: &Value,
) -> Response {
    let credential = assertion.to_string();
    let mut form = vec![
        ("card_id", card),
        ("points", "0"),
        ("credential", credential.as_str()),
    ];
    if let Some(a) = address {
        form.push(("address_id", a));
    }
    s.browser
        .post_form(&format!("{consent}/approve"), &form)
        .await
}

fn shipped() -> PaymentDetails {
    frames().require_shipping()
}

/// A shopper with the Tokyo address (the default) and the Osaka one; their ids in that order.
async fn shopper_with_addresses(app: &TestApp, email: &str) -> (Shopper, String, String) {
    let s = shopper(app, email).await;
    for fields in [tokyo(), osaka()] {
        let r = add(&s.browser, &fields).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert_eq!(r.headers()["location"], "/addresses");
    }
    let ids = address_ids(&s.browser).await;
    assert_eq!(ids.len(), 2);
    (s, ids[0].clone(), ids[1].clone())
}

#[tokio::test]
async fn addresses_are_added_edited_made_default_and_removed() {
    let app = spawn_app().await;
    let empty = shopper(&app, "addr@example.com").await;
    assert!(empty
        .browser
        .html("/")
        .await
        .contains("href=\"/addresses\""));
    assert!(empty
        .browser
        .html("/addresses")
        .await
        .contains("You have no addresses yet."));

    let (s, tokyo_id, osaka_id) = shopper_with_addresses(&app, "addr2@example.com").await;
    let page = s.browser.html("/addresses").await;
    assert!(
        page.contains("〒100-0001 Tokyo, Chiyoda-ku, 1-1 Chiyoda"),
        "{page}"
    );
    assert!(page.contains("〒530-0001 Osaka, Kita-ku, Osaka, 2-2 Umeda, Umeda Tower 12F"));
    assert!(page.contains("+81612345678"), "the phone is kept as digits");
    assert_eq!(page.matches(">Default</span>").count(), 1);
    assert_eq!(
        address_ids(&s.browser).await,
        [tokyo_id.clone(), osaka_id.clone()],
        "the first is the default"
    );

    // Another shopper sees none of them, and cannot change them.
    let other = shopper(&app, "other@example.com").await;
    assert!(address_ids(&other.browser).await.is_empty());
    for path in [
        format!("/addresses/{osaka_id}/default"),
        format!("/addresses/{osaka_id}/delete"),
    ] {
        let r = other.browser.post_form(&path, &[]).await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{path}");
    }
    let r = other
        .browser
        .post_form(&format!("/addresses/{osaka_id}"), &tokyo())
        .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        other
            .browser
            .get_html(&format!("/addresses/{osaka_id}/edit"))
            .await
            .status(),
        StatusCode::NOT_FOUND
    );

    // The default moves.
    let r = s
        .browser
        .post_form(&format!("/addresses/{osaka_id}/default"), &[])
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        address_ids(&s.browser).await,
        [osaka_id.clone(), tokyo_id.clone()]
    );
    assert_eq!(count_rows(&app, "addresses WHERE is_default = 1").await, 1);

    // Edited: the form shows what is stored, and saves the change.
    let edit = s.browser.html(&format!("/addresses/{tokyo_id}/edit")).await;
    assert!(
        edit.contains("value=\"100-0001\"") && edit.contains("value=\"Tokyo\" selected"),
        "{edit}"
    );
    let mut changed = tokyo();
    changed[4] = ("line1", "9-9 Marunouchi");
    let r = s
        .browser
        .post_form(&format!("/addresses/{tokyo_id}"), &changed)
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let page = s.browser.html("/addresses").await;
    assert!(page.contains("9-9 Marunouchi") && !page.contains("1-1 Chiyoda"));

    // A new address asked to be the default becomes it.
    let mut kyoto = tokyo();
    kyoto[2] = ("prefecture", "Kyoto");
    kyoto.push(("make_default", "1"));
    add(&s.browser, &kyoto).await;
    let ids = address_ids(&s.browser).await;
    assert_eq!(ids.len(), 3);
    assert!(!ids[..1].contains(&osaka_id) && !ids[..1].contains(&tokyo_id));

    // Removing the default makes the oldest remaining one the default.
    let r = s
        .browser
        .post_form(&format!("/addresses/{}/delete", ids[0]), &[])
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        address_ids(&s.browser).await,
        [tokyo_id.clone(), osaka_id.clone()]
    );
    s.browser
        .post_form(&format!("/addresses/{tokyo_id}/delete"), &[])
        .await;
    s.browser
        .post_form(&format!("/addresses/{osaka_id}/delete"), &[])
        .await;
    assert!(address_ids(&s.browser).await.is_empty());
    assert_eq!(count_rows(&app, "addresses").await, 0);
}

/// The field's error under it on the re-rendered form, if any.
fn field_error(html: &str, field: &str) -> Option<String> {
    let marker = format!("id=\"{field}-error\" role=\"alert\" data-code=\"invalid_address\">");
    let start = html.find(&marker)? + marker.len();
    Some(html[start..].split('<').next().unwrap().to_string())
}

#[tokio::test]
async fn each_refused_field_is_named_next_to_it_and_nothing_is_kept() {
    let app = spawn_app().await;
    let s = shopper(&app, "fields@example.com").await;
    let bad = [
        ("name", ""),
        ("postal_code", "100-001"),
        ("prefecture", "Atlantis"),
        ("city", "Chiyoda\u{202E}ku"),
        ("line1", "1-1 Chiyoda"),
        ("line2", ""),
        ("phone", "12345"),
        ("country", "US"),
    ];
    let r = add(&s.browser, &bad).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let html = r.text().await.unwrap();
    for (field, says) in [
        ("name", "Enter the name."),
        ("postal_code", "7 digits"),
        ("prefecture", "not one of the 47 prefectures of Japan"),
        ("city", "U+202E"),
        ("phone", "10 or 11 digits"),
        ("country", "Japan only"),
    ] {
        let shown = field_error(&html, field).unwrap_or_else(|| panic!("{field}: {html}"));
        assert!(shown.contains(says), "{field}: {shown}");
        assert!(
            html.contains(&format!("aria-describedby=\"{field}-hint {field}-error\""))
                || html.contains(&format!("aria-describedby=\"{field}-error\""))
        );
    }
    assert_eq!(field_error(&html, "line1"), None);
    assert!(
        html.contains("value=\"1-1 Chiyoda\""),
        "what was typed is kept"
    );
    assert_eq!(count_rows(&app, "addresses").await, 0);

    // An edit is checked the same way, and changes nothing when refused.
    add(&s.browser, &tokyo()).await;
    let id = address_ids(&s.browser).await.remove(0);
    let mut wrong = tokyo();
    wrong[1] = ("postal_code", "1000");
    let r = s
        .browser
        .post_form(&format!("/addresses/{id}"), &wrong)
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(field_error(&r.text().await.unwrap(), "postal_code").is_some());
    assert!(s.browser.html("/addresses").await.contains("〒100-0001"));
}

#[tokio::test]
async fn refused_fields_are_named_in_japanese_with_the_same_cause_as_in_english() {
    let app = spawn_app().await;
    let s = shopper(&app, "fields-ja@example.com").await;
    let long_city = "x".repeat(101);
    let bad = [
        ("name", ""),
        ("postal_code", ""),
        ("prefecture", "Atlantis"),
        ("city", long_city.as_str()),
        ("line1", "1-1 Chiyoda"),
        ("line2", "Room\u{200B}3"),
        ("phone", "12345"),
        ("country", "US"),
    ];
    let japanese = [
        ("name", "お受け取りになる方の氏名を入力してください。"),
        ("postal_code", "郵便番号を入力してください（例：100-0001）。"),
        (
            "prefecture",
            "日本の47都道府県のいずれでもありません。一覧から選択してください。",
        ),
        ("city", "市区町村は100文字以内で入力してください。"),
        (
            "line2",
            "建物名・部屋番号から見えない文字（U+200B）を削除してください。",
        ),
        (
            "phone",
            "電話番号は10桁または11桁で入力してください（例：090-1234-5678）。日本国外の番号は + から始めてください。",
        ),
        ("country", "現在、Saifu に登録できるのは日本国内の住所のみです。"),
    ];
    let r = s
        .browser
        .post_form_with("/addresses", &bad, &[("accept-language", "ja-JP,ja;q=0.9")])
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(r.headers()["content-language"], "ja");
    let html = r.text().await.unwrap();
    for (field, says) in japanese {
        assert_eq!(field_error(&html, field).as_deref(), Some(says), "{field}");
    }
    assert_eq!(field_error(&html, "line1"), None);

    // The same form in English: the same fields, each with its own cause.
    let r = add(&s.browser, &bad).await;
    let html = r.text().await.unwrap();
    for (field, says) in [
        ("name", "Enter the name."),
        ("postal_code", "Enter the postal code, like 100-0001."),
        (
            "prefecture",
            "This is not one of the 47 prefectures of Japan. Choose one from the list.",
        ),
        ("city", "Use at most 100 characters for the city."),
        (
            "line2",
            "Remove the invisible character (U+200B) from the second line.",
        ),
    ] {
        assert_eq!(field_error(&html, field).as_deref(), Some(says), "{field}");
    }
    assert_eq!(count_rows(&app, "addresses").await, 0);
}

#[tokio::test]
async fn a_merchant_refuses_unknown_shipping_members_and_an_address_of_its_own() {
    let app = spawn_app().await;
    let creds = merchant(&app, "Parcel Shop", true).await;
    let par = |shipping: Value| {
        let mut details = serde_json::to_value([frames()]).unwrap();
        details[0]["shipping"] = shipping;
        let creds = creds.clone();
        let url = app.base.join("/oauth/par").unwrap();
        async move {
            let form = [
                ("response_type", "code"),
                ("client_id", creds.client_id.as_str()),
                ("redirect_uri", CALLBACK),
                ("state", "s-1"),
                (
                    "code_challenge",
                    "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
                ),
                ("code_challenge_method", "S256"),
                ("authorization_details", &details.to_string()),
            ];
            let r = reqwest::Client::new()
                .post(url)
                .basic_auth(&creds.client_id, Some(&creds.client_secret))
                .form(&form)
                .send()
                .await
                .unwrap();
            (r.status(), r.json::<Value>().await.unwrap())
        }
    };
    let (status, body) = par(json!({"required": true, "gift_wrap": true})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_authorization_details");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("gift_wrap"),
        "{body}"
    );
    let (status, body) = par(json!({"required": true, "address": {"name": "x"}})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"], "invalid_authorization_details");
    let (status, _) = par(json!({"required": true})).await;
    assert_eq!(status, StatusCode::CREATED);
}

#[tokio::test]
async fn the_consent_offers_the_addresses_and_refuses_approval_without_one() {
    let app = spawn_app().await;
    let creds = merchant(&app, "Parcel Shop", true).await;
    let shop = sdk(&app, &creds).await;
    let (mut s, tokyo_id, osaka_id) = shopper_with_addresses(&app, "ship@example.com").await;

    let (url, _) = shop.start_checkout(&shipped()).await.unwrap();
    let consent = open_consent(&s.browser, &url).await;
    let page = s.browser.html(&consent).await;
    assert!(page.contains("Ship to"), "{page}");
    assert!(page.contains("Parcel Shop receives this address for this order only."));
    let (offered, checked) = offered_addresses(&page);
    assert_eq!(offered, [tokyo_id.clone(), osaka_id.clone()]);
    assert_eq!(
        checked.as_deref(),
        Some(tokyo_id.as_str()),
        "the default is preselected"
    );
    let back = url::form_urlencoded::byte_serialize(consent.as_bytes()).collect::<String>();
    assert!(
        page.contains(&format!("href=\"/addresses/new?return_to={back}\"")),
        "{page}"
    );

    // "Add an address" from the consent returns to it.
    let form = s
        .browser
        .html(&format!("/addresses/new?return_to={back}"))
        .await;
    assert!(
        form.contains(&format!("name=\"return_to\" value=\"{consent}\"")),
        "{form}"
    );
    let mut kobe = osaka();
    kobe[2] = ("prefecture", "Hyogo");
    kobe.push(("return_to", consent.as_str()));
    let r = add(&s.browser, &kobe).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], consent.as_str());
    assert_eq!(
        offered_addresses(&s.browser.html(&consent).await).0.len(),
        3
    );

    // Without an address: refused at the start, and at the approval.
    let card = offered_cards(&s.browser, &consent).await.remove(0);
    let (status, code) = problem_code(begin(&s, &consent, &card, None).await).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::BAD_REQUEST, "address_required")
    );
    let r = begin(&s, &consent, &card, Some("")).await;
    assert_eq!(problem_code(r).await.1, "address_required");
    let r = sign_and_approve(&mut s, &consent, &card, Some(&tokyo_id), None).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.headers().get("location").is_none());
    assert!(r.text().await.unwrap().contains("address_required"));
    assert_eq!(count_rows(&app, "auth_codes").await, 0);

    // Another shopper's address is not one of this shopper's.
    let (other, other_tokyo, _) = shopper_with_addresses(&app, "other-ship@example.com").await;
    drop(other);
    let (status, code) = problem_code(begin(&s, &consent, &card, Some(&other_tokyo)).await).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::BAD_REQUEST, "unknown_address")
    );

    // With one, it is paid.
    let r = sign_and_approve(&mut s, &consent, &card, Some(&osaka_id), Some(&osaka_id)).await;
    assert_eq!(
        r.status(),
        StatusCode::SEE_OTHER,
        "{}",
        r.text().await.unwrap()
    );
}

fn osaka_snapshot() -> ShippingAddress {
    ShippingAddress {
        name: "Ken Sato".into(),
        postal_code: "530-0001".into(),
        prefecture: "Osaka".into(),
        city: "Kita-ku, Osaka".into(),
        line1: "2-2 Umeda".into(),
        line2: Some("Umeda Tower 12F".into()),
        phone: "+81612345678".into(),
        country: "JP".into(),
    }
}

#[tokio::test]
async fn the_merchant_receives_the_chosen_address_as_it_was_at_approval() {
    let app = spawn_app().await;
    let creds = merchant(&app, "Parcel Shop", true).await;
    let shop = sdk(&app, &creds).await;
    let (mut s, tokyo_id, osaka_id) = shopper_with_addresses(&app, "copy@example.com").await;

    let (url, pending) = shop.start_checkout(&shipped()).await.unwrap();
    let consent = open_consent(&s.browser, &url).await;
    let card = offered_cards(&s.browser, &consent).await.remove(0);
    let r = sign_and_approve(&mut s, &consent, &card, Some(&osaka_id), Some(&osaka_id)).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let callback = Url::parse(r.headers()["location"].to_str().unwrap()).unwrap();
    assert!(param(&callback, "code").is_some());

    // After approval, before the merchant's exchange: the address is edited, then removed.
    let mut moved = osaka();
    moved[4] = ("line1", "7-7 Namba");
    let r = s
        .browser
        .post_form(&format!("/addresses/{osaka_id}"), &moved)
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    s.browser
        .post_form(&format!("/addresses/{osaka_id}/delete"), &[])
        .await;

    let grant = shop.complete_checkout(&callback, &pending).await.unwrap();
    let granted = &grant.authorization_details[0];
    assert_eq!(granted.shipping_address(), Some(&osaka_snapshot()));
    assert!(granted.shipping.as_ref().unwrap().required);
    assert_eq!(
        grant.claims.authorization_details[0].shipping_address(),
        Some(&osaka_snapshot()),
        "the signed details carry the same copy"
    );
    assert_eq!(
        count_rows(&app, "consents WHERE shipping_address LIKE '%2-2 Umeda%'").await,
        1
    );
    let json = serde_json::to_string(&grant.authorization_details).unwrap();
    assert!(
        !json.contains("Chiyoda") && !json.contains(&tokyo_id),
        "only the chosen address"
    );

    // The next order gets the address as it is now, and only its own.
    let (url, pending) = shop.start_checkout(&shipped()).await.unwrap();
    let consent = open_consent(&s.browser, &url).await;
    let (offered, checked) = offered_addresses(&s.browser.html(&consent).await);
    assert_eq!(
        (offered.len(), checked.as_deref()),
        (1, Some(tokyo_id.as_str()))
    );
    let r = sign_and_approve(&mut s, &consent, &card, Some(&tokyo_id), Some(&tokyo_id)).await;
    let callback = Url::parse(r.headers()["location"].to_str().unwrap()).unwrap();
    let grant = shop.complete_checkout(&callback, &pending).await.unwrap();
    let address = grant.authorization_details[0].shipping_address().unwrap();
    assert_eq!(
        (address.postal_code.as_str(), address.line2.as_deref()),
        ("100-0001", None)
    );
}

#[tokio::test]
async fn a_checkout_without_shipping_never_carries_an_address() {
    let app = spawn_app().await;
    let creds = merchant(&app, "Tea Shop", true).await;
    let shop = sdk(&app, &creds).await;
    let (mut s, tokyo_id, _) = shopper_with_addresses(&app, "noship@example.com").await;
    let (url, pending) = shop.start_checkout(&frames()).await.unwrap();
    let consent = open_consent(&s.browser, &url).await;
    let page = s.browser.html(&consent).await;
    assert!(!page.contains("Ship to") && offered_addresses(&page).0.is_empty());
    // An address sent anyway is not used.
    let card = offered_cards(&s.browser, &consent).await.remove(0);
    let r = sign_and_approve(&mut s, &consent, &card, Some(&tokyo_id), Some(&tokyo_id)).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let callback = Url::parse(r.headers()["location"].to_str().unwrap()).unwrap();
    let grant = shop.complete_checkout(&callback, &pending).await.unwrap();
    assert_eq!(grant.authorization_details[0].shipping, None);
    let json = serde_json::to_string(&grant.claims).unwrap();
    assert!(
        !json.contains("shipping") && !json.contains("Chiyoda"),
        "{json}"
    );
    assert_eq!(
        count_rows(&app, "consents WHERE shipping_address IS NOT NULL").await,
        0
    );
}

#[tokio::test]
async fn the_passkey_signs_the_address_chosen() {
    let app = spawn_app().await;
    let creds = merchant(&app, "Parcel Shop", true).await;
    let shop = sdk(&app, &creds).await;
    let (mut s, tokyo_id, osaka_id) = shopper_with_addresses(&app, "bind@example.com").await;
    let (url, _) = shop.start_checkout(&shipped()).await.unwrap();
    let consent = open_consent(&s.browser, &url).await;
    let card = offered_cards(&s.browser, &consent).await.remove(0);

    // Signed for Tokyo, sent with Osaka.
    let r = sign_and_approve(&mut s, &consent, &card, Some(&tokyo_id), Some(&osaka_id)).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.headers().get("location").is_none());
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("webauthn_challenge_mismatch"));

    // Signed for Tokyo, which is then edited: the address signed is not the one there now.
    let r = begin(&s, &consent, &card, Some(&tokyo_id)).await;
    let options = r.json().await.unwrap();
    let assertion = serde_json::to_value(s.key.assert(&s.origin, options).unwrap()).unwrap();
    let mut changed = tokyo();
    changed[0] = ("name", "Someone Else");
    s.browser
        .post_form(&format!("/addresses/{tokyo_id}"), &changed)
        .await;
    let r = approve(&s, &consent, &card, Some(&tokyo_id), &assertion).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("webauthn_challenge_mismatch"));
    assert_eq!(count_rows(&app, "auth_codes").await, 0);

    // Signed for and sent with the same address: approved.
    let r = sign_and_approve(&mut s, &consent, &card, Some(&osaka_id), Some(&osaka_id)).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
}
