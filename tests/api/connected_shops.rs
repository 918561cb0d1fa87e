//! Connected shops: the list of shops a shopper has paid (first and last payment, this UTC
//! month's total); a monthly cap that passes a payment exactly at it and refuses one yen over,
//! with the plain words on the consent page and `access_denied` at the merchant; concurrent
//! approvals on two nodes that never pass the cap together; blocking a shop, which revokes its
//! outstanding grant and expires its unexchanged code and refuses its new checkouts, and
//! unblocking; another shopper unaffected.

use reqwest::StatusCode;
use saifu::clock::unix_now;
use saifu::money::{Currency, Money};
use saifu::shops::month_start;
use saifu_sdk::checkout::{MerchantCredentials, PaymentDetails};
use saifu_sdk::{Error as SdkError, PendingCheckout, SaifuClient};
use url::Url;

use crate::helpers::{
    add_passkey, count_rows, jpy, merchant, offered_cards, open_consent, param, problem_code, sdk,
    shopper, spawn_app, spawn_node, user_id_by_email, Browser, Shopper, TestApp,
};

/// A checkout of `amount` yen started by `client`: the authorization URL and what the merchant
/// keeps.
async fn checkout(client: &SaifuClient, amount: &str, order: &str) -> (Url, PendingCheckout) {
    let details = PaymentDetails::new("JPY", amount, order).with_item("Frames", 1, amount);
    client.start_checkout(&details).await.unwrap()
}

/// The shopper pays `amount` yen and the merchant takes it (captured).
async fn paid(client: &SaifuClient, s: &mut Shopper, amount: &str, order: &str) {
    let (url, pending) = checkout(client, amount, order).await;
    let callback = s.pay(&url).await;
    let grant = client
        .complete_checkout(&callback, &pending)
        .await
        .unwrap()
        .token;
    let payment = client.pay(&grant, &jpy(amount), true, None).await.unwrap();
    assert_eq!(payment.amount, amount);
}

/// The shopper approves a checkout of `amount` yen; the merchant's callback.
async fn approved(client: &SaifuClient, s: &mut Shopper, amount: &str, order: &str) -> Url {
    let (url, _) = checkout(client, amount, order).await;
    s.pay(&url).await
}

/// Sets the shopper's JPY limit at the shop through the Connected shops form.
async fn set_cap(s: &Shopper, shop: &MerchantCredentials, cap: &str) -> reqwest::Response {
    s.browser
        .post_form(
            &format!("/shops/{}/cap", shop.client_id),
            &[("currency", "JPY"), ("cap", cap)],
        )
        .await
}

/// Opens the checkout over HTTP: the consent page's text and the begin step's refusal.
async fn refused_on_consent(s: &Shopper, url: &Url) -> (String, String, (StatusCode, String)) {
    let consent = open_consent(&s.browser, url).await;
    let html = s.browser.html(&consent).await;
    let begin = s
        .browser
        .post_json(
            &format!("{consent}/begin"),
            &serde_json::json!({ "card_id": "00000000-0000-4000-8000-000000000000" }),
        )
        .await;
    (consent, html, problem_code(begin).await)
}

/// The shopper goes back to the shop from a refused consent: the merchant's callback.
async fn back_to_shop(s: &Shopper, consent: &str) -> Url {
    let r = s.browser.post_form(&format!("{consent}/cancel"), &[]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    Url::parse(r.headers()["location"].to_str().unwrap()).unwrap()
}

fn sdk_problem(err: SdkError) -> (u16, String) {
    match err {
        SdkError::Problem { status, code, .. } => (status, code),
        other => panic!("expected a problem, got {other:?}"),
    }
}

#[tokio::test]
async fn the_list_shows_each_shop_paid_with_its_first_and_last_payment_and_this_month_s_total() {
    let app = spawn_app().await;
    let frames = merchant(&app, "Frame Shop", true).await;
    let tea = merchant(&app, "Tea House", false).await;
    let (frames_client, tea_client) = (sdk(&app, &frames).await, sdk(&app, &tea).await);
    let mut s = shopper(&app, "list@example.com").await;

    let empty = s.browser.html("/shops").await;
    assert!(empty.contains("No shops yet"), "{empty}");

    paid(&frames_client, &mut s, "12800", "F-1").await;
    paid(&tea_client, &mut s, "1500", "T-1").await;
    paid(&frames_client, &mut s, "2000", "F-2").await;
    // Approved and not yet taken by the shop: counts toward the month, not as a payment.
    approved(&frames_client, &mut s, "700", "F-3").await;

    // The first payment was made last month: it stays the first, and is not this month's.
    let now = unix_now();
    let last_month = month_start(now) - 86_400;
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&app.database_url).await.unwrap();
    sqlx::query("UPDATE payments SET created_at = $1 WHERE order_reference = 'F-1'")
        .bind(last_month)
        .execute(&pool)
        .await
        .unwrap();
    // The Tea House payment was made at the start of this month, before F-2.
    sqlx::query("UPDATE payments SET created_at = $1 WHERE order_reference = 'T-1'")
        .bind(month_start(now))
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;

    let user_id = user_id_by_email(&app, "list@example.com").await;
    let list = app
        .state
        .checkout
        .shops
        .list(&user_id.to_string(), now)
        .await
        .unwrap();
    let names: Vec<_> = list.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["Frame Shop", "Tea House"], "the last paid first");
    let frame_shop = &list[0];
    assert_eq!(frame_shop.first_paid_at, last_month);
    assert!(
        frame_shop.last_paid_at >= month_start(now),
        "F-2, this month"
    );
    assert_eq!(frame_shop.months.len(), 1);
    assert_eq!(
        frame_shop.months[0].total,
        Money::new(Currency::Jpy, 2_000 + 700),
        "this month: F-2 and the approval not yet taken"
    );
    assert_eq!(frame_shop.months[0].cap, None);
    assert!(!frame_shop.blocked);
    assert_eq!(list[1].first_paid_at, month_start(now));
    assert_eq!(list[1].last_paid_at, month_start(now));
    assert_eq!(list[1].months[0].total, Money::new(Currency::Jpy, 1_500));

    let html = s.browser.html("/shops").await;
    assert!(html.contains("Connected shops"), "{html}");
    assert!(
        html.contains("This month: <strong>¥2,700</strong>"),
        "{html}"
    );
    assert!(
        html.contains("This month: <strong>¥1,500</strong>"),
        "{html}"
    );
    let first = time::OffsetDateTime::from_unix_timestamp(last_month)
        .unwrap()
        .date();
    assert!(html.contains(&format!("First payment {first}")), "{html}");
    assert!(html.contains("tea-house.example"), "{html}");
    assert!(html.contains("calendar months in UTC"), "{html}");
    assert!(
        html.contains("href=\"/shops\""),
        "in the wallet's navigation"
    );

    // Another shopper sees only their own shops.
    let other = shopper(&app, "list-other@example.com").await;
    let theirs = other.browser.html("/shops").await;
    assert!(!theirs.contains("Frame Shop"), "{theirs}");
}

#[tokio::test]
async fn a_cap_passes_a_payment_exactly_at_it_and_refuses_one_yen_over_for_that_shopper_only() {
    let app = spawn_app().await;
    let shop = merchant(&app, "Frame Shop", true).await;
    let client = sdk(&app, &shop).await;
    let mut s = shopper(&app, "cap@example.com").await;
    paid(&client, &mut s, "10000", "A-1").await;

    // A limit that is not an amount of yen is refused next to its field.
    let r = set_cap(&s, &shop, "300.5").await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let html = r.text().await.unwrap();
    assert!(html.contains("data-code=\"invalid_shop_cap\""), "{html}");
    assert!(html.contains("aria-invalid=\"true\""), "{html}");
    assert!(html.contains("value=\"300.5\""), "{html}");
    let r = set_cap(&s, &shop, "30000").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let html = s.browser.html("/shops").await;
    assert!(html.contains("of your ¥30,000 limit"), "{html}");

    // 10,000 paid + 20,000 approved: exactly at the limit.
    let callback = approved(&client, &mut s, "20000", "A-2").await;
    assert!(param(&callback, "code").is_some(), "{callback}");

    // One yen more is refused, in plain words, before the passkey is asked.
    let (url, _) = checkout(&client, "1", "A-3").await;
    let (consent, html, refused) = refused_on_consent(&s, &url).await;
    assert_eq!(refused, (StatusCode::FORBIDDEN, "shop_cap_exceeded".into()));
    assert!(
        html.contains("This payment would take your spending at Frame Shop this month to ¥30,001, over the ¥30,000 limit you set. You can change the limit in Connected shops."),
        "{html}"
    );
    assert!(!html.contains("id=\"pay-form\""), "no pay button");
    let callback = back_to_shop(&s, &consent).await;
    assert_eq!(param(&callback, "error").as_deref(), Some("access_denied"));
    let description = param(&callback, "error_description").unwrap();
    assert!(
        description.starts_with("shop_cap_exceeded: "),
        "{description}"
    );
    assert!(!description.contains("30"), "no amounts: {description}");
    assert_eq!(count_rows(&app, "auth_codes").await, 2);

    // Another shopper at the same shop is not limited by it.
    let mut other = shopper(&app, "cap-other@example.com").await;
    let callback = approved(&client, &mut other, "40000", "B-1").await;
    assert!(param(&callback, "code").is_some(), "{callback}");

    // Raising the limit (or removing it) lets the payment through.
    assert_eq!(set_cap(&s, &shop, "").await.status(), StatusCode::SEE_OTHER);
    let callback = approved(&client, &mut s, "1", "A-4").await;
    assert!(param(&callback, "code").is_some(), "{callback}");
    let html = s.browser.html("/shops").await;
    assert!(html.contains("(no limit)"), "{html}");
}

/// A cap, then a block, set between the start of the approval and the passkey's answer refuse
/// the confirmation as they refuse the consent page and the start (see above), before the card
/// is asked for anything: back to the consent page, which names it.
#[tokio::test]
async fn a_cap_or_a_block_set_while_the_passkey_is_asked_refuses_the_confirmation_before_the_card_is_asked(
) {
    let app = spawn_app().await;
    let shop = merchant(&app, "Frame Shop", true).await;
    let client = sdk(&app, &shop).await;
    let mut s = shopper(&app, "asked@example.com").await;
    paid(&client, &mut s, "10000", "A-1").await;
    let asked = count_rows(&app, "approval_authorizations").await;

    let cap = "This payment would take your spending at Frame Shop this month to ¥15,000, over the ¥12,000 limit you set.";
    let refusals = [
        ("shop_cap_exceeded", cap),
        ("shop_blocked", "You have blocked Frame Shop"),
    ];
    let block = format!("/shops/{}/block", shop.client_id);
    for (i, (code, words)) in refusals.into_iter().enumerate() {
        let (url, _) = checkout(&client, "5000", &format!("A-{}", i + 2)).await;
        let consent = open_consent(&s.browser, &url).await;
        let card = offered_cards(&s.browser, &consent).await.remove(0);
        let options = s.begin(&consent, &card).await;
        let signed = serde_json::to_value(s.key.assert(&s.origin, options).unwrap()).unwrap();
        let r = match i {
            0 => set_cap(&s, &shop, "12000").await,
            _ => s.browser.post_form(&block, &[]).await,
        };
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let html = s
            .approve_refused(&app, &consent, &card, &signed, (1, asked), code)
            .await;
        assert!(html.contains(words), "{code}: {html}");
        assert!(!html.contains("id=\"pay-form\""), "{code}: no pay button");
        let callback = back_to_shop(&s, &consent).await;
        let description = param(&callback, "error_description").unwrap();
        assert!(description.starts_with(code), "{description}");
        assert_eq!(set_cap(&s, &shop, "").await.status(), StatusCode::SEE_OTHER);
    }
}

/// `n` checkouts of `amount` yen, each opened in its own browser session of the shopper
/// (alternately on each node) and confirmed with the passkey, ready to be approved.
async fn confirmed(
    app: &TestApp,
    node: &TestApp,
    client: &SaifuClient,
    s: &mut Shopper,
    n: usize,
    amount: &str,
) -> Vec<(Browser, String, String, serde_json::Value)> {
    let mut ready = Vec::new();
    for i in 0..n {
        // A passkey of its own for each approval: their signature counters stay apart.
        let mut key = add_passkey(app, &s.browser, &format!("Key {i}")).await;
        let browser = if i % 2 == 0 {
            app.browser()
        } else {
            app.browser().on(node)
        };
        let r = browser.sign_in(&mut key, &s.origin).await;
        assert!(r.status().is_success() || r.status().is_redirection());
        let (url, _) = checkout(client, amount, &format!("C-{i}")).await;
        let consent = open_consent(&browser, &url).await;
        let card = offered_cards(&browser, &consent).await.remove(0);
        let r = browser
            .post_json(
                &format!("{consent}/begin"),
                &serde_json::json!({ "card_id": card, "points": 0 }),
            )
            .await;
        assert_eq!(r.status(), StatusCode::OK);
        let options = r.json().await.unwrap();
        let assertion = serde_json::to_value(key.assert(&s.origin, options).unwrap()).unwrap();
        ready.push((browser, consent, card, assertion));
    }
    ready
}

#[tokio::test]
async fn concurrent_approvals_on_two_nodes_never_pass_the_cap_together() {
    let app = spawn_app().await;
    let issuer = app.base.clone();
    let node = spawn_node(&app, move |c| c.issuer = issuer).await;
    let shop = merchant(&app, "Frame Shop", true).await;
    let client = sdk(&app, &shop).await;
    let mut s = shopper(&app, "concurrent-cap@example.com").await;
    paid(&client, &mut s, "1000", "A-1").await;
    assert_eq!(
        set_cap(&s, &shop, "31000").await.status(),
        StatusCode::SEE_OTHER
    );

    // Six approvals of 10,000 yen at once: three fit under the limit with the 1,000 paid.
    let ready = confirmed(&app, &node, &client, &mut s, 6, "10000").await;
    let mut approvals = tokio::task::JoinSet::new();
    for (browser, consent, card, assertion) in ready {
        approvals.spawn(async move {
            let r = browser
                .post_form(
                    &format!("{consent}/approve"),
                    &[
                        ("card_id", card.as_str()),
                        ("points", "0"),
                        ("credential", &assertion.to_string()),
                    ],
                )
                .await;
            assert_eq!(r.status(), StatusCode::SEE_OTHER);
            let location = r.headers()["location"].to_str().unwrap().to_string();
            let page = match location == consent {
                true => browser.html(&consent).await,
                false => String::new(),
            };
            (consent, location, page)
        });
    }
    let outcomes = approvals.join_all().await;
    let approved = outcomes
        .iter()
        .filter(|(_, to, _)| to.contains("code="))
        .count();
    let refused: Vec<_> = outcomes
        .iter()
        .filter(|(consent, to, _)| to == consent)
        .collect();
    assert_eq!(approved, 3, "{outcomes:?}");
    assert_eq!(refused.len(), 3, "{outcomes:?}");
    // The first payment's code, and three approvals.
    assert_eq!(count_rows(&app, "auth_codes").await, 4);
    for (_, _, page) in refused {
        assert!(
            page.contains("this month to ¥41,000, over the ¥31,000 limit you set"),
            "{page}"
        );
    }
}

#[tokio::test]
async fn blocking_a_shop_revokes_its_outstanding_grant_and_refuses_its_checkouts_until_unblocked() {
    let app = spawn_app().await;
    let shop = merchant(&app, "Frame Shop", true).await;
    let client = sdk(&app, &shop).await;
    let mut s = shopper(&app, "block@example.com").await;
    let mut other = shopper(&app, "block-other@example.com").await;
    paid(&client, &mut s, "1000", "A-1").await;

    // Outstanding at the block: a grant not redeemed, and a code not exchanged.
    let (url, pending) = checkout(&client, "2000", "A-2").await;
    let callback = s.pay(&url).await;
    let grant = client
        .complete_checkout(&callback, &pending)
        .await
        .unwrap()
        .token;
    let (url, pending_code) = checkout(&client, "3000", "A-3").await;
    let code_callback = s.pay(&url).await;
    // The other shopper's grant at the same shop.
    let (url, their_pending) = checkout(&client, "4000", "B-1").await;
    let their_callback = other.pay(&url).await;
    let their_grant = client
        .complete_checkout(&their_callback, &their_pending)
        .await
        .unwrap()
        .token;

    // Only a shop the shopper has paid can be blocked by them.
    let r = other
        .browser
        .post_form(&format!("/shops/{}/block", shop.client_id), &[])
        .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);

    let r = s
        .browser
        .post_form(&format!("/shops/{}/block", shop.client_id), &[])
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let html = s.browser.html("/shops").await;
    assert!(
        html.contains("<span class=\"badge\">Blocked</span>"),
        "{html}"
    );
    // The block is the shopper's own, audited change; the refused attempt recorded nothing.
    let shopper_id = user_id_by_email(&app, "block@example.com").await;
    let audited = |action: &str| {
        format!(
            "audit_log WHERE action = '{action}' AND actor = 'shopper:{shopper_id}' AND target = '{}'",
            shop.client_id
        )
    };
    assert_eq!(count_rows(&app, &audited("shopper.shop_blocked")).await, 1);
    assert_eq!(
        count_rows(&app, "audit_log WHERE action = 'shopper.shop_blocked'").await,
        1
    );
    assert!(html.contains("Unblock Frame Shop"), "{html}");

    let err = client
        .pay(&grant, &jpy("2000"), true, None)
        .await
        .unwrap_err();
    assert_eq!(sdk_problem(err), (409, "grant_revoked".into()));
    assert!(client
        .complete_checkout(&code_callback, &pending_code)
        .await
        .is_err());
    // The other shopper's grant is untouched.
    let payment = client
        .pay(&their_grant, &jpy("4000"), true, None)
        .await
        .unwrap();
    assert_eq!(payment.amount, "4000");

    // A new checkout is refused once the shopper is known, with the way back to the shop.
    let (url, _) = checkout(&client, "500", "A-4").await;
    let (consent, html, refused) = refused_on_consent(&s, &url).await;
    assert_eq!(refused, (StatusCode::FORBIDDEN, "shop_blocked".into()));
    assert!(html.contains("You have blocked Frame Shop"), "{html}");
    assert!(html.contains("Return to Frame Shop"), "{html}");
    assert!(!html.contains("id=\"pay-form\""), "no pay button");
    let callback = back_to_shop(&s, &consent).await;
    assert_eq!(param(&callback, "error").as_deref(), Some("access_denied"));
    let description = param(&callback, "error_description").unwrap();
    assert!(description.starts_with("shop_blocked: "), "{description}");

    // The other shopper still pays the shop.
    let callback = approved(&client, &mut other, "500", "B-2").await;
    assert!(param(&callback, "code").is_some(), "{callback}");

    // Unblocked: new checkouts pass again; the revoked grant stays revoked.
    let r = s
        .browser
        .post_form(&format!("/shops/{}/unblock", shop.client_id), &[])
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        count_rows(&app, &audited("shopper.shop_unblocked")).await,
        1
    );
    // Lifting a block that is no longer there changes nothing and records nothing.
    let r = s
        .browser
        .post_form(&format!("/shops/{}/unblock", shop.client_id), &[])
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        count_rows(&app, &audited("shopper.shop_unblocked")).await,
        1
    );
    let html = s.browser.html("/shops").await;
    assert!(html.contains("Block Frame Shop"), "{html}");
    let callback = approved(&client, &mut s, "500", "A-5").await;
    assert!(param(&callback, "code").is_some(), "{callback}");
    let err = client
        .pay(&grant, &jpy("2000"), true, None)
        .await
        .unwrap_err();
    assert_eq!(sdk_problem(err), (409, "grant_revoked".into()));
}
