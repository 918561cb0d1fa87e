//! The card vault through the wallet's pages: adding every test card, the decline messages,
//! removing and choosing the default, other shoppers' cards, nothing sensitive at rest or in
//! the logs, and key rotation while the server runs.

use reqwest::StatusCode;
use serde::Deserialize;
use uuid::Uuid;

use crate::helpers::{
    assert_success, captured_logs, only_user_id, spawn_app, user_id_by_email, Browser, TestApp,
    TestPasskey,
};
use saifu::money::{Currency, Money};
use saifu::processor::{CardDetails, IdempotencyKey, Outcome};

#[derive(Deserialize)]
struct TestCards {
    cards: Vec<TestCard>,
}

#[derive(Deserialize, Clone)]
struct TestCard {
    number: String,
    brand: String,
    outcome: String,
    decline_code: Option<String>,
    when: Option<String>,
}

fn test_cards() -> Vec<TestCard> {
    let table: TestCards =
        serde_json::from_str(include_str!("../../src/processor/test-cards.json")).unwrap();
    table.cards
}

fn cvc_for(brand: &str) -> &'static str {
    if brand == "amex" {
        "7391"
    } else {
        "739"
    }
}

fn future_expiry() -> String {
    let year = time::OffsetDateTime::now_utc().year() + 3;
    format!("12/{:02}", year % 100)
}

async fn shopper(app: &TestApp, email: &str) -> Browser {
    let browser = app.browser();
    let mut key = TestPasskey::new();
    let r = browser
        .sign_up(&mut key, &app.origin(), "Card Holder", email)
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    browser
}

async fn add_card(browser: &Browser, number: &str, cvc: &str) -> reqwest::Response {
    browser
        .post_form(
            "/cards",
            &[
                ("number", number),
                ("expiry", &future_expiry()),
                ("cvc", cvc),
                ("holder", "Hanako Yamada"),
            ],
        )
        .await
}

/// The `data-code` and message of the error shown under `field`, if any.
fn field_error(html: &str, field: &str) -> Option<(String, String)> {
    let marker = format!("id=\"{field}-error\" role=\"alert\" data-code=\"");
    let start = html.find(&marker)? + marker.len();
    let code_end = html[start..].find('"')? + start;
    let text_start = html[code_end..].find('>')? + code_end + 1;
    let text_end = html[text_start..].find('<')? + text_start;
    Some((
        html[start..code_end].to_string(),
        html[text_start..text_end].to_string(),
    ))
}

async fn card_ids(browser: &Browser) -> Vec<String> {
    let html = browser.html("/cards").await;
    html.match_indices("action=\"/cards/")
        .filter_map(|(i, m)| {
            let rest = &html[i + m.len()..];
            rest[36..]
                .starts_with("/delete")
                .then(|| rest[..36].to_string())
        })
        .collect()
}

#[tokio::test]
async fn every_test_card_is_added_or_declined_as_the_table_says() {
    let app = spawn_app().await;
    let browser = shopper(&app, "cards@example.com").await;
    let mut added = Vec::new();
    for card in test_cards() {
        let response = add_card(&browser, &card.number, cvc_for(&card.brand)).await;
        let status = response.status();
        let declined_at_verification = card.outcome == "declined"
            && !card.when.as_deref().unwrap_or("").starts_with("authorize");
        if card.outcome == "approved" || !declined_at_verification && card.outcome != "error" {
            assert_eq!(
                status,
                StatusCode::SEE_OTHER,
                "{} should be added",
                card.brand
            );
            assert_eq!(response.headers()["location"], "/cards");
            added.push(card);
            continue;
        }
        let html = response.text().await.unwrap();
        assert!(
            !html.contains(&card.number),
            "the number is never echoed back"
        );
        if card.outcome == "error" {
            assert_eq!(status, StatusCode::BAD_GATEWAY, "{}", card.number);
            assert!(
                html.contains("could not check this card right now"),
                "{html}"
            );
            continue;
        }
        let code = card.decline_code.clone().unwrap();
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{code}");
        let field = match code.as_str() {
            "incorrect_cvc" => "cvc",
            "expired_card" => "expiry",
            _ => "number",
        };
        let (shown_code, message) =
            field_error(&html, field).unwrap_or_else(|| panic!("{code}: no error under {field}"));
        assert_eq!(shown_code, code);
        assert!(message.len() > 20, "a clear message: {message}");
        assert!(html.contains(&format!(
            "ending in {}",
            &card.number[card.number.len() - 4..]
        )));
    }

    let page = browser.html("/cards").await;
    for card in &added {
        let brand = match card.brand.as_str() {
            "visa" => "Visa",
            "mastercard" => "Mastercard",
            "amex" => "American Express",
            "jcb" => "JCB",
            "diners" => "Diners Club",
            "discover" => "Discover",
            other => panic!("unexpected brand {other}"),
        };
        let masked = format!(
            "{brand} <span class=\"card-number\">•••• {}</span>",
            &card.number[card.number.len() - 4..]
        );
        assert!(page.contains(&masked), "{masked} listed");
        assert!(!page.contains(&card.number));
    }
    assert_eq!(
        page.matches("badge\">Default").count(),
        1,
        "exactly one default card"
    );

    // Authorization honours the table too, with the number decrypted from the vault.
    let user_id = only_user_id(&app).await;
    let processor = app.state.vault.processor().clone();
    for stored in app.state.vault.cards(user_id).await.unwrap() {
        let (_, number) = app
            .state
            .vault
            .card_number(user_id, stored.id)
            .await
            .unwrap();
        let card = added
            .iter()
            .find(|c| c.number == number.expose())
            .expect("a card we added");
        let expiry =
            saifu::card::Expiry::new(stored.exp_month as u8, stored.exp_year as u16).unwrap();
        let outcome = processor
            .authorize(
                &IdempotencyKey::random(),
                CardDetails {
                    number: &number,
                    expiry,
                    holder: &stored.holder,
                },
                Money {
                    currency: Currency::Jpy,
                    minor: 1200,
                },
            )
            .await;
        match (card.outcome.as_str(), card.when.as_deref()) {
            ("declined", Some(when)) if when.starts_with("authorize") => assert_eq!(
                outcome,
                Ok(Outcome::Declined {
                    decline_code: card.decline_code.clone().unwrap()
                })
            ),
            _ => assert!(
                matches!(outcome, Ok(Outcome::Approved { .. })),
                "{}: {outcome:?}",
                card.number
            ),
        }
    }
}

#[tokio::test]
async fn malformed_cards_get_clear_field_errors_and_the_number_is_not_refilled() {
    let app = spawn_app().await;
    let browser = shopper(&app, "typos@example.com").await;
    let cases = [
        (
            "4242424242424241",
            "739",
            "12/30",
            "number",
            "invalid_card_number",
        ),
        ("42424242", "739", "12/30", "number", "invalid_card_number"),
        (
            "9999 9999 9999 9995",
            "739",
            "12/30",
            "number",
            "unsupported_brand",
        ),
        ("4242424242424242", "739", "01/20", "expiry", "card_expired"),
        (
            "4242424242424242",
            "739",
            "13/30",
            "expiry",
            "invalid_expiry",
        ),
        ("4242424242424242", "73", "12/30", "cvc", "invalid_cvc"),
        ("378282246310005", "739", "12/30", "cvc", "invalid_cvc"),
    ];
    for (number, cvc, expiry, field, code) in cases {
        let response = browser
            .post_form(
                "/cards",
                &[
                    ("number", number),
                    ("expiry", expiry),
                    ("cvc", cvc),
                    ("holder", "Hanako Yamada"),
                ],
            )
            .await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{code}");
        let html = response.text().await.unwrap();
        assert_eq!(
            field_error(&html, field).map(|(c, _)| c).as_deref(),
            Some(code),
            "{number} {expiry} {cvc}"
        );
        assert!(
            !html.contains(number.replace(' ', "").as_str()),
            "number not refilled"
        );
        assert!(html.contains("Hanako Yamada"), "the name is kept");
    }
    let spaced = add_card(&browser, "4242 4242 4242 4242", "739").await;
    assert_eq!(
        spaced.status(),
        StatusCode::SEE_OTHER,
        "spaces are accepted"
    );
    let dup = add_card(&browser, "4242-4242-4242-4242", "123").await;
    assert_eq!(dup.status(), StatusCode::CONFLICT);
    assert_eq!(
        field_error(&dup.text().await.unwrap(), "number").unwrap().0,
        "duplicate_card"
    );
    let no_name = browser
        .post_form(
            "/cards",
            &[
                ("number", "5555555555554444"),
                ("expiry", "12/30"),
                ("cvc", "739"),
                ("holder", "  "),
            ],
        )
        .await;
    assert_eq!(
        field_error(&no_name.text().await.unwrap(), "holder")
            .unwrap()
            .0,
        "invalid_holder_name"
    );
    assert_eq!(card_ids(&browser).await.len(), 1);
}

#[tokio::test]
async fn the_add_card_form_returns_only_to_same_origin_paths() {
    let app = spawn_app().await;
    let browser = shopper(&app, "return@example.com").await;
    let page = browser.html("/cards/new?return_to=%2Fpasskeys").await;
    assert!(page.contains("name=\"return_to\" value=\"/passkeys\""));
    for label in [
        "Card number",
        "Expiry (MM/YY)",
        "Security code",
        "Name on card",
        ">Add card<",
    ] {
        assert!(page.contains(label), "{label}");
    }
    let to = |number: &'static str, return_to: &'static str| {
        let b = &browser;
        async move {
            b.post_form(
                "/cards",
                &[
                    ("number", number),
                    ("expiry", "12/30"),
                    ("cvc", "739"),
                    ("holder", "H Y"),
                    ("return_to", return_to),
                ],
            )
            .await
        }
    };
    assert_eq!(
        to("4242424242424242", "/passkeys").await.headers()["location"],
        "/passkeys"
    );
    assert_eq!(
        to("5555555555554444", "https://evil.example/")
            .await
            .headers()["location"],
        "/"
    );
    assert_eq!(
        to("3566002020360505", "").await.headers()["location"],
        "/cards"
    );
}

#[tokio::test]
async fn cards_can_be_removed_and_the_default_chosen_but_never_by_another_shopper() {
    let app = spawn_app().await;
    let owner = shopper(&app, "owner@example.com").await;
    add_card(&owner, "4242424242424242", "739").await;
    add_card(&owner, "5555555555554444", "739").await;
    let ids = card_ids(&owner).await;
    assert_eq!(ids.len(), 2);
    let page = owner.html("/cards").await;
    let default_first = page.find("badge\">Default").unwrap() < page.find("•••• 4444").unwrap();
    assert!(
        default_first && page.find("•••• 4242").unwrap() < page.find("•••• 4444").unwrap(),
        "the first card is the default"
    );

    let stranger = shopper(&app, "stranger@example.com").await;
    for action in ["delete", "default"] {
        let r = stranger
            .post_form(&format!("/cards/{}/{action}", ids[0]), &[])
            .await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{action}");
    }
    // Nor can the stranger's id decrypt the owner's card for a payment.
    let stranger_id = user_id_by_email(&app, "stranger@example.com").await;
    let owners_card = Uuid::parse_str(&ids[0]).unwrap();
    let used = app.state.vault.card_number(stranger_id, owners_card).await;
    assert_eq!(used.err().map(|e| e.code()), Some("not_found"));
    assert!(!stranger.html("/cards").await.contains("•••• 4242"));

    let mastercard = ids
        .iter()
        .find(|id| page.contains(&format!("/cards/{id}/default")))
        .unwrap()
        .clone();
    assert_eq!(
        owner
            .post_form(&format!("/cards/{mastercard}/default"), &[])
            .await
            .status(),
        StatusCode::SEE_OTHER
    );
    let page = owner.html("/cards").await;
    assert!(
        page.find("•••• 4444").unwrap() < page.find("•••• 4242").unwrap(),
        "the default is listed first"
    );
    assert_eq!(page.matches("badge\">Default").count(), 1);

    // Removing the default promotes the remaining card.
    assert_eq!(
        owner
            .post_form(&format!("/cards/{mastercard}/delete"), &[])
            .await
            .status(),
        StatusCode::SEE_OTHER
    );
    let page = owner.html("/cards").await;
    assert!(!page.contains("•••• 4444") && page.contains("•••• 4242"));
    assert_eq!(page.matches("badge\">Default").count(), 1);
}

/// True when `needle` occurs in `haystack` with no hex digit or decimal point right before or
/// after it, so a short code is not "found" inside an id, a hex dump or a decimal number.
fn occurs_alone(haystack: &str, needle: &str) -> bool {
    haystack.match_indices(needle).any(|(i, _)| {
        let before = haystack[..i].chars().next_back();
        let after = haystack[i + needle.len()..].chars().next();
        let joined = |c: char| c.is_ascii_hexdigit() || c == '.';
        !before.is_some_and(joined) && !after.is_some_and(joined)
    })
}

#[tokio::test]
async fn card_numbers_and_security_codes_are_nowhere_at_rest_or_in_logs() {
    let app = spawn_app().await;
    let browser = shopper(&app, "leaks@example.com").await;
    let cards = test_cards();
    for card in &cards {
        add_card(&browser, &card.number, cvc_for(&card.brand)).await;
    }
    assert!(card_ids(&browser).await.len() >= 6);

    let dump = if app.database_url.starts_with("sqlite:") {
        let path = app.database_url.trim_start_matches("sqlite://");
        let mut bytes = std::fs::read(path).unwrap();
        if let Ok(wal) = std::fs::read(format!("{path}-wal")) {
            bytes.extend(wal);
        }
        String::from_utf8_lossy(&bytes).into_owned()
    } else {
        let out = std::process::Command::new("pg_dump")
            .args(["--data-only", &app.database_url])
            .output()
            .expect("pg_dump");
        assert_success(&out);
        String::from_utf8(out.stdout).unwrap()
    };
    assert!(
        dump.contains("4242"),
        "the dump holds the display fields, so the scan reads real data"
    );
    for card in &cards {
        assert!(!dump.contains(&card.number), "{} at rest", card.brand);
    }
    // Ids and (in the PostgreSQL dump) ciphertexts are hexadecimal, where four given digits
    // occur by chance; a stored code would stand on its own.
    assert!(
        !occurs_alone(&dump, "7391"),
        "the Amex security code is not stored"
    );
    if !app.database_url.starts_with("sqlite:") {
        assert!(
            !occurs_alone(&dump, "739"),
            "no security code in the table dump"
        );
    }

    let logs = captured_logs();
    assert!(logs.contains("card added"), "the logs were captured");
    for card in &cards {
        assert!(!logs.contains(&card.number), "{} in the logs", card.brand);
    }
    // A short code can't be told from a latency or a count on its own; a leak would put it
    // next to its field name or in a form body.
    for line in logs
        .lines()
        .filter(|l| occurs_alone(l, "739") || occurs_alone(l, "7391"))
    {
        let lower = line.to_lowercase();
        assert!(
            !["cvc", "csc", "security", "number="]
                .iter()
                .any(|w| lower.contains(w)),
            "security code in the logs: {line}"
        );
    }
}

#[tokio::test]
async fn keys_rotate_while_the_server_runs_and_old_versions_can_then_be_retired() {
    let app = spawn_app().await;
    let browser = shopper(&app, "rotate@example.com").await;
    let numbers = [
        "4242424242424242",
        "5555555555554444",
        "378282246310005",
        "3566002020360505",
    ];
    for n in &numbers[..2] {
        assert_eq!(
            add_card(&browser, n, "739").await.status(),
            StatusCode::SEE_OTHER
        );
    }
    // Off the runtime's thread: the in-process wallet keeps serving (and committing) meanwhile.
    let saifu = |args: &[&str]| {
        let mut cmd = app.cli();
        cmd.args(args)
            .env("PATH", std::env::var("PATH").unwrap_or_default());
        tokio::task::spawn_blocking(move || cmd.output().unwrap())
    };
    let refused = saifu(&["keys", "retire", "--version", "1"]).await.unwrap();
    assert!(
        !refused.status.success(),
        "the active version can't be retired"
    );

    // Rotate in another process while the shopper keeps adding cards.
    let rotation = std::thread::spawn({
        let saifu_bin = env!("CARGO_BIN_EXE_saifu");
        let dir = app.data_dir().to_path_buf();
        let url = app.database_url.clone();
        move || {
            std::process::Command::new(saifu_bin)
                .args(["keys", "rotate", "--batch", "1"])
                .env("SAIFU_DATA_DIR", dir)
                .env("SAIFU_DATABASE_URL", url)
                .output()
                .unwrap()
        }
    });
    assert_eq!(
        add_card(&browser, numbers[2], "7391").await.status(),
        StatusCode::SEE_OTHER
    );
    let rotated = rotation.join().unwrap();
    assert!(
        rotated.status.success(),
        "{}",
        String::from_utf8_lossy(&rotated.stderr)
    );
    assert!(String::from_utf8_lossy(&rotated.stdout).contains("added key version v2"));
    assert_eq!(
        add_card(&browser, numbers[3], "739").await.status(),
        StatusCode::SEE_OTHER
    );

    let rewrap = saifu(&["keys", "rewrap"]).await.unwrap();
    assert!(
        rewrap.status.success(),
        "{}",
        String::from_utf8_lossy(&rewrap.stderr)
    );
    let retire = saifu(&["keys", "retire", "--version", "1"]).await.unwrap();
    assert!(
        retire.status.success(),
        "{}",
        String::from_utf8_lossy(&retire.stderr)
    );
    let status = String::from_utf8(saifu(&["keys", "status"]).await.unwrap().stdout).unwrap();
    assert!(
        status.contains("v1\tretired\t0 wrapped keys")
            && status.contains("v2\tactive\t5 wrapped keys"),
        "{status}"
    );

    // Four card data keys and the grant-signing key now sit under v2. The running server
    // picked up the new keyring: every card still decrypts.
    let user_id = only_user_id(&app).await;
    let mut seen = Vec::new();
    for card in app.state.vault.cards(user_id).await.unwrap() {
        let (_, number) = app.state.vault.card_number(user_id, card.id).await.unwrap();
        seen.push(number.expose().to_string());
    }
    seen.sort();
    let mut expected: Vec<String> = numbers.iter().map(|s| s.to_string()).collect();
    expected.sort();
    assert_eq!(seen, expected);
}

#[tokio::test]
async fn holder_names_with_bidi_or_invisible_characters_get_a_clear_form_error() {
    let app = spawn_app().await;
    let browser = shopper(&app, "bidi@example.com").await;
    for (holder, shown) in [
        ("Hanako \u{202E}adamaY", "U+202E"),
        ("Hana\u{200B}ko Yamada", "U+200B"),
        ("\u{2066}Hanako Yamada\u{2069}", "U+2066"),
        ("\u{FEFF}Hanako Yamada", "U+FEFF"),
        ("Hanako\u{7}Yamada", "U+0007"),
    ] {
        let response = browser
            .post_form(
                "/cards",
                &[
                    ("number", "4242424242424242"),
                    ("expiry", &future_expiry()),
                    ("cvc", "739"),
                    ("holder", holder),
                ],
            )
            .await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{holder:?}");
        let (code, message) = field_error(&response.text().await.unwrap(), "holder")
            .expect("an error under the name field");
        assert_eq!(code, "invalid_holder_name");
        assert!(message.contains(shown), "{holder:?}: {message}");
    }
    assert!(card_ids(&browser).await.is_empty(), "no card was added");
}

/// The field errors of a problem answer to the form's script: (field, code, message).
async fn json_field_errors(response: reqwest::Response) -> Vec<(String, String, String)> {
    let body: serde_json::Value = response.json().await.unwrap();
    body["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"))
        .iter()
        .map(|e| {
            let text = |k: &str| e[k].as_str().unwrap().to_string();
            (text("field"), text("code"), text("message"))
        })
        .collect()
}

#[tokio::test]
async fn card_form_errors_in_japanese_name_the_field_and_the_cause_as_the_english_do() {
    let app = spawn_app().await;
    let browser = shopper(&app, "japanese-card@example.com").await;
    let japanese = [("accept-language", "ja-JP,ja;q=0.9,en;q=0.5")];
    let form = |number, expiry, cvc, holder| {
        [
            ("number", number),
            ("expiry", expiry),
            ("cvc", cvc),
            ("holder", holder),
        ]
    };

    // The page: a bad check digit, a month 13, and an invisible character in the name.
    let fields = form("4242424242424241", "13/30", "739", "Aiko\u{202E}Tanaka");
    let page = browser.post_form_with("/cards", &fields, &japanese).await;
    assert_eq!(page.status(), StatusCode::BAD_REQUEST);
    assert_eq!(page.headers()["content-language"], "ja");
    let html = page.text().await.unwrap();
    let expected = [
        (
            "number",
            "invalid_card_number",
            "カード番号が正しくありません。ご確認のうえ、もう一度入力してください。",
        ),
        (
            "expiry",
            "invalid_expiry",
            "有効期限の月は01～12の数字で入力してください。",
        ),
        (
            "holder",
            "invalid_holder_name",
            "カード名義に見えない文字または制御文字（U+202E）が含まれています。その文字を除いて入力し直してください。",
        ),
    ];
    for (field, code, message) in expected {
        assert_eq!(
            field_error(&html, field),
            Some((code.to_string(), message.to_string())),
            "{field}"
        );
    }
    assert!(!html.contains("4242424242424241"), "number not refilled");
    // The same form in English says the same causes.
    let html = browser
        .post_form("/cards", &fields)
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(
        field_error(&html, "expiry").unwrap().1,
        "The expiry month must be between 01 and 12."
    );

    // The form's script (JSON): the network's length, an expired card, then the security code
    // and an empty name, and the issuer's own refusal of the code.
    let script = [japanese[0], ("accept", "application/json")];
    // The form's fields, and each field's (field, code, message) in the answer.
    type Case<'a> = ([(&'a str, &'a str); 4], Vec<(&'a str, &'a str, &'a str)>);
    let cases: [Case; 3] = [
        (
            form("3714496353984314", "01/20", "7391", "Aiko Tanaka"),
            vec![
                (
                    "number",
                    "invalid_card_number",
                    "American Express のカード番号としては桁数が正しくありません。ご確認のうえ、もう一度入力してください。",
                ),
                ("expiry", "card_expired", "このカードは有効期限が切れています。"),
            ],
        ),
        (
            form("4242424242424242", "12/30", "73", " "),
            vec![
                (
                    "cvc",
                    "invalid_cvc",
                    "カード裏面に記載の3桁のセキュリティコードを入力してください。",
                ),
                ("holder", "invalid_holder_name", "カード名義を入力してください。"),
            ],
        ),
        (
            form("4000000000000127", "12/30", "739", "Aiko Tanaka"),
            vec![(
                "cvc",
                "incorrect_cvc",
                "セキュリティコードが正しくありません。カードに記載の3桁または4桁の数字をご確認ください。",
            )],
        ),
    ];
    for (fields, expected) in cases {
        let answer = browser.post_form_with("/cards", &fields, &script).await;
        assert!(answer.status().is_client_error(), "{}", answer.status());
        let errors = json_field_errors(answer).await;
        let expected: Vec<(String, String, String)> = expected
            .iter()
            .map(|(f, c, m)| (f.to_string(), c.to_string(), m.to_string()))
            .collect();
        assert_eq!(errors, expected);
    }
    assert!(card_ids(&browser).await.is_empty());
}
