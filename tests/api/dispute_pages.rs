//! The dispute pages: a shopper reports a problem from Activity and follows it on their own
//! dispute pages (another shopper gets 404); support decides in the console, for the shopper
//! (the refund shows in the shopper's pages) or for the merchant (with a reason the shopper
//! reads); the form's refusals are shown next to the field with what was typed kept; the
//! guarantee's payout and the part over its cap; the guarantee fund's page.

use reqwest::StatusCode;
use saifu::admin::Role;
use saifu::merchants::MerchantStatus;
use serde_json::json;

use crate::helpers::{
    count_rows, open_dispute, paid_order, report_problem, respond, set_merchant_status, shopper,
    signed_in_admin, spawn_app, spawn_app_with, Browser,
};

/// The page's HTML, which must answer `status`.
async fn page_with(browser: &Browser, path: &str, status: StatusCode) -> String {
    let r = browser.get_html(path).await;
    let got = r.status();
    let html = r.text().await.unwrap();
    assert_eq!(got, status, "{path}: {html}");
    html
}

async fn page(browser: &Browser, path: &str) -> String {
    page_with(browser, path, StatusCode::OK).await
}

fn assert_shows(html: &str, shown: &[&str]) {
    for s in shown {
        assert!(html.contains(s), "{s:?} missing: {html}");
    }
}

#[tokio::test]
async fn a_shopper_reports_a_problem_from_activity_and_only_they_see_the_dispute() {
    let app = spawn_app().await;
    let order = paid_order(&app, "report@example.com").await;
    let me = &order.shopper.browser;
    let form_path = format!("/activity/{}/dispute", order.payment_id);

    let activity = page(me, "/activity").await;
    assert_shows(
        &activity,
        &[&format!("href=\"{form_path}\""), "Report a problem"],
    );

    // The form: plain reasons, the amount prefilled with all that can be disputed.
    let form = page(me, &form_path).await;
    assert_shows(
        &form,
        &[
            "I didn&#39;t receive it",
            "It isn&#39;t as described",
            "I didn&#39;t authorise this payment",
            "I was charged twice",
            "name=\"amount\"",
            "value=\"12800\"",
            "Up to ¥12,800",
            "name=\"csrf\"",
        ],
    );
    assert_eq!(form.matches("<h1").count(), 1);

    let id = open_dispute(&order.shopper, &order.payment_id, "12800").await;
    assert!(id.starts_with("dsp_"), "{id}");

    let mine = page(me, "/disputes").await;
    assert_shows(
        &mine,
        &[&format!("href=\"/disputes/{id}\""), "Frame Shop", "¥12,800"],
    );
    let dispute = page(me, &format!("/disputes/{id}")).await;
    assert_shows(
        &dispute,
        &[
            "Waiting for the shop",
            "I didn&#39;t receive it",
            "The frames never arrived.",
            "¥12,800",
            "No answer yet.",
            "Not decided yet.",
        ],
    );

    // Activity links the payment to its dispute, and offers no second report while it is open.
    let activity = page(me, "/activity").await;
    assert_shows(
        &activity,
        &[
            &format!("href=\"/disputes/{id}\""),
            "Dispute: Waiting for the shop",
        ],
    );
    assert!(
        !activity.contains(&format!("href=\"{form_path}\"")),
        "{activity}"
    );
    let again = report_problem(
        &order.shopper,
        &order.payment_id,
        "duplicate",
        "Twice",
        "100",
    )
    .await;
    assert_eq!(again.status(), StatusCode::CONFLICT);
    assert_eq!(count_rows(&app, "disputes").await, 1);

    // Another shopper: neither the dispute nor the payment's form, and bad ids are 404 too.
    let other = shopper(&app, "other@example.com").await;
    page_with(
        &other.browser,
        &format!("/disputes/{id}"),
        StatusCode::NOT_FOUND,
    )
    .await;
    page_with(&other.browser, &form_path, StatusCode::NOT_FOUND).await;
    let theirs = page(&other.browser, "/disputes").await;
    assert!(!theirs.contains(&id), "{theirs}");
    page_with(me, "/disputes/dsp_nothing", StatusCode::NOT_FOUND).await;
    page_with(me, "/activity/pay_nothing/dispute", StatusCode::NOT_FOUND).await;
}

#[tokio::test]
async fn support_decides_for_the_shopper_and_the_shopper_sees_the_refund() {
    let app = spawn_app().await;
    let order = paid_order(&app, "refund-me@example.com").await;
    let id = open_dispute(&order.shopper, &order.payment_id, "12800").await;
    let answered = respond(
        &app,
        &order.creds,
        &id,
        &json!({"evidence": {"text": "Handed to the carrier on 1 December.", "carrier": "Yamato", "tracking_number": "4455-6677"}}),
    )
    .await;
    assert_eq!(
        answered.status(),
        StatusCode::OK,
        "{}",
        answered.text().await.unwrap()
    );

    let shopper_view = page(&order.shopper.browser, &format!("/disputes/{id}")).await;
    assert_shows(
        &shopper_view,
        &[
            "Under review",
            "Handed to the carrier on 1 December.",
            "Sent with Yamato, tracking number 4455-6677.",
        ],
    );

    let support = signed_in_admin(&app, Role::Support).await;
    let list = page(&support, "/admin/disputes").await;
    assert_shows(
        &list,
        &[
            "href=\"/admin/disputes\"",
            "id=\"dispute-queue\"",
            &id,
            "Evidence received",
        ],
    );
    let console = page(&support, &format!("/admin/disputes/{id}")).await;
    assert_shows(
        &console,
        &[
            "Handed to the carrier on 1 December.",
            "4455-6677",
            "Decide for the shopper",
            "Decide for the merchant",
            "name=\"csrf\"",
        ],
    );

    let decided = support
        .admin_post_form(
            &format!("/admin/disputes/{id}/decide"),
            &[("decision", "for_shopper")],
        )
        .await;
    assert_eq!(
        decided.status(),
        StatusCode::SEE_OTHER,
        "{}",
        decided.text().await.unwrap()
    );

    let console = page(&support, &format!("/admin/disputes/{id}")).await;
    assert_shows(&console, &["For the shopper", "Refunded ¥12,800"]);
    assert!(
        !console.contains("Decide for the shopper"),
        "no second decision"
    );
    let queue = page(&support, "/admin/disputes").await;
    assert_shows(&queue, &["No dispute needs a decision."]);

    let me = &order.shopper.browser;
    let resolved = page(me, &format!("/disputes/{id}")).await;
    assert_shows(
        &resolved,
        &[
            "Resolved",
            "Saifu decided in your favour.",
            "¥12,800 was refunded to your card.",
        ],
    );
    let activity = page(me, "/activity").await;
    assert_shows(
        &activity,
        &["Refunded", "¥12,800 refunded on", "Dispute: Resolved"],
    );
    // Nothing is left to dispute on a payment refunded in full.
    assert!(!activity.contains(&format!("/activity/{}/dispute", order.payment_id)));
}

#[tokio::test]
async fn support_decides_for_the_merchant_with_a_reason_the_shopper_reads() {
    let app = spawn_app().await;
    let order = paid_order(&app, "not-refunded@example.com").await;
    let id = open_dispute(&order.shopper, &order.payment_id, "5000").await;
    let answered = respond(
        &app,
        &order.creds,
        &id,
        &json!({"evidence": {"text": "Delivered and signed for."}}),
    )
    .await;
    assert_eq!(answered.status(), StatusCode::OK);

    // An auditor reads the dispute but gets no decision form.
    let auditor = signed_in_admin(&app, Role::Auditor).await;
    let read_only = page(&auditor, &format!("/admin/disputes/{id}")).await;
    assert_shows(&read_only, &["Delivered and signed for.", "¥5,000"]);
    assert!(
        !read_only.contains("Decide for the merchant"),
        "{read_only}"
    );

    // For the merchant needs a reason: refused and shown on the page, nothing decided.
    let support = signed_in_admin(&app, Role::Support).await;
    let path = format!("/admin/disputes/{id}/decide");
    let no_reason = support
        .admin_post_form(&path, &[("decision", "for_merchant"), ("reason", "  ")])
        .await;
    assert!(
        no_reason.status().is_client_error(),
        "{}",
        no_reason.status()
    );
    assert_shows(&no_reason.text().await.unwrap(), &["id=\"decide-error\""]);
    let unknown = support
        .admin_post_form(&path, &[("decision", "split_it")])
        .await;
    assert_eq!(unknown.status(), StatusCode::BAD_REQUEST);

    let reason = "The carrier's record shows it delivered and signed for on 2 December.";
    let decided = support
        .admin_post_form(&path, &[("decision", "for_merchant"), ("reason", reason)])
        .await;
    assert_eq!(
        decided.status(),
        StatusCode::SEE_OTHER,
        "{}",
        decided.text().await.unwrap()
    );

    let shown = page(&order.shopper.browser, &format!("/disputes/{id}")).await;
    assert_shows(
        &shown,
        &[
            "Resolved",
            "Saifu decided in the shop&#39;s favour.",
            "The carrier&#39;s record shows it delivered and signed for on 2 December.",
            "No money is refunded.",
        ],
    );
    let activity = page(&order.shopper.browser, "/activity").await;
    assert_shows(&activity, &["Paid", "Dispute: Resolved"]);

    // A second decision is refused: the dispute is closed.
    let twice = support
        .admin_post_form(&path, &[("decision", "for_shopper")])
        .await;
    assert_eq!(twice.status(), StatusCode::CONFLICT);
}

#[tokio::test]
async fn the_forms_refusals_are_shown_next_to_the_field_and_keep_what_was_typed() {
    let app = spawn_app().await;
    let order = paid_order(&app, "typo@example.com").await;
    let s = &order.shopper;

    // More than was paid: the amount is refused, the description and the reason are kept.
    let over = report_problem(
        s,
        &order.payment_id,
        "not_as_described",
        "Wrong colour, scratched lens.",
        "99999",
    )
    .await;
    assert!(over.status().is_client_error(), "{}", over.status());
    let html = over.text().await.unwrap();
    assert_shows(
        &html,
        &[
            "id=\"amount-error\" role=\"alert\"",
            "value=\"99999\"",
            "Wrong colour, scratched lens.</textarea>",
            "value=\"not_as_described\" checked",
        ],
    );
    assert!(
        !html.contains("id=\"description-error\" role=\"alert\""),
        "{html}"
    );

    // No description.
    let empty = report_problem(s, &order.payment_id, "not_received", "   ", "3000").await;
    assert!(empty.status().is_client_error(), "{}", empty.status());
    let html = empty.text().await.unwrap();
    assert_shows(
        &html,
        &[
            "id=\"description-error\" role=\"alert\"",
            "value=\"3000\"",
            "value=\"not_received\" checked",
        ],
    );

    // No reason chosen.
    let none = report_problem(s, &order.payment_id, "", "It broke.", "3000").await;
    assert_eq!(none.status(), StatusCode::BAD_REQUEST);
    let html = none.text().await.unwrap();
    assert_shows(
        &html,
        &["id=\"reason-error\" role=\"alert\"", "It broke.</textarea>"],
    );

    assert_eq!(count_rows(&app, "disputes").await, 0, "nothing was opened");
}

#[tokio::test]
async fn an_owner_adds_to_the_guarantee_fund_and_every_role_reads_it() {
    let app = spawn_app().await;
    let owner = signed_in_admin(&app, Role::Owner).await;
    let empty = page(&owner, "/admin/guarantee").await;
    assert_shows(&empty, &["Nothing paid in or out yet.", "Add to the fund"]);
    let bad = owner
        .admin_post_form(
            "/admin/guarantee/fund",
            &[("currency", "JPY"), ("amount", "-5")],
        )
        .await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    let added = owner
        .admin_post_form(
            "/admin/guarantee/fund",
            &[("currency", "JPY"), ("amount", "100000")],
        )
        .await;
    assert_eq!(
        added.status(),
        StatusCode::SEE_OTHER,
        "{}",
        added.text().await.unwrap()
    );

    let operator = signed_in_admin(&app, Role::Operator).await;
    let html = page(&operator, "/admin/guarantee").await;
    assert_shows(&html, &["¥100,000", "contribution"]);
    assert!(
        !html.contains("Add to the fund"),
        "only an owner adds money"
    );
}

#[tokio::test]
async fn a_suspended_merchants_dispute_is_paid_by_the_guarantee_and_the_part_over_the_cap_is_stated(
) {
    let app = spawn_app_with(|c| {
        c.guarantee_cap = saifu::money::GuaranteeCap::parse("JPY=5000").unwrap();
    })
    .await;
    let order = paid_order(&app, "guaranteed@example.com").await;
    let id = open_dispute(&order.shopper, &order.payment_id, "12800").await;
    set_merchant_status(&app, &order.creds.client_id, MerchantStatus::Suspended).await;

    let support = signed_in_admin(&app, Role::Support).await;
    let decided = support
        .admin_post_form(
            &format!("/admin/disputes/{id}/decide"),
            &[("decision", "for_shopper")],
        )
        .await;
    assert_eq!(decided.status(), StatusCode::SEE_OTHER);

    let console = page(&support, &format!("/admin/disputes/{id}")).await;
    assert_shows(
        &console,
        &[
            "the guarantee fund paid ¥5,000",
            "¥7,800 over the guarantee&#39;s cap, not paid.",
        ],
    );
    let shown = page(&order.shopper.browser, &format!("/disputes/{id}")).await;
    assert_shows(
        &shown,
        &[
            "Saifu decided in your favour.",
            "the Saifu guarantee paid you ¥5,000.",
            "¥7,800 is over the guarantee&#39;s limit for one dispute and was not paid.",
        ],
    );

    // The fund went below zero: the console says the issuer owes it, and the payout names the
    // dispute.
    let fund = page(&support, "/admin/guarantee").await;
    assert_shows(
        &fund,
        &[
            "-¥5,000",
            "The issuer owes the fund ¥5,000",
            &format!("href=\"/admin/disputes/{id}\""),
        ],
    );
}
