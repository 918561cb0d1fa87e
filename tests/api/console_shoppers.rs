//! The console's Shoppers pages: support finds a shopper by email, reads their payments and
//! points, freezes them (audited as that admin) and unfreezes them; the roles without the
//! freeze permission are refused; cards appear by brand and last four only.

use reqwest::StatusCode;
use saifu::admin::Role;
use saifu::audit::Query;

use crate::helpers::{
    grant, jpy, merchant, problem_code, sdk, shopper, signed_in_admin, spawn_app, user_id_by_email,
    Browser, TestApp,
};

/// The page's HTML, which must answer 200.
async fn page(browser: &Browser, path: &str) -> String {
    let r = browser.get_html(path).await;
    assert_eq!(r.status(), StatusCode::OK, "{path}");
    r.text().await.unwrap()
}

/// The id of the app's only admin with `role`.
async fn admin_id(app: &TestApp, role: Role) -> String {
    let admins = app.state.admins.list().await.unwrap();
    let mut with_role = admins.into_iter().filter(|a| a.role == role);
    let admin = with_role.next().expect("an admin with the role");
    assert!(with_role.next().is_none());
    admin.id.to_string()
}

#[tokio::test]
async fn support_finds_a_shopper_sees_their_payment_and_freezes_and_unfreezes_them() {
    let app = spawn_app().await;
    let creds = merchant(&app, "Frame Shop", true).await;
    let client = sdk(&app, &creds).await;
    let mut s = shopper(&app, "Hana.Support@example.com").await;
    let g = grant(&client, &mut s).await;
    client.pay(&g, &jpy("12800"), true, None).await.unwrap();
    client
        .refund(
            &client.payment_by_order("A-1001").await.unwrap().id,
            &jpy("2800"),
            None,
        )
        .await
        .unwrap();
    let id = user_id_by_email(&app, "Hana.Support@example.com").await;
    let support = signed_in_admin(&app, Role::Support).await;

    // Found by address in any letter case, linked to the shopper page.
    let found = page(&support, "/admin/shoppers?email=hana.support%40EXAMPLE.com").await;
    assert!(
        found.contains(&format!("href=\"/admin/shoppers/{id}\"")),
        "{found}"
    );
    let nobody = page(&support, "/admin/shoppers?email=nobody%40example.com").await;
    assert!(nobody.contains("No shopper has this address."));
    let bad = page(&support, "/admin/shoppers?email=not-an-address").await;
    assert!(bad.contains("aria-invalid=\"true\""));

    let html = page(&support, &format!("/admin/shoppers/{id}")).await;
    for shown in [
        "Mika",
        "Hana.Support@example.com",
        "Frame Shop",
        "¥12,800",
        "Partly refunded",
        "¥2,800 refunded on",
        "Visa •••• 4242",
        "Active",
    ] {
        assert!(html.contains(shown), "{shown} missing: {html}");
    }
    assert!(!html.contains("4242424242424242"), "never the card number");
    assert!(
        html.contains("id=\"points-available\">"),
        "the points balance"
    );

    // Freezing: refused without a reason, then done, audited as this admin.
    let no_reason = support
        .admin_post_form(&format!("/admin/shoppers/{id}/freeze"), &[("reason", " ")])
        .await;
    assert_eq!(no_reason.status(), StatusCode::BAD_REQUEST);
    assert!(no_reason
        .text()
        .await
        .unwrap()
        .contains("invalid_freeze_reason"));
    let frozen = support
        .admin_post_form(
            &format!("/admin/shoppers/{id}/freeze"),
            &[("reason", "Card reported stolen by phone")],
        )
        .await;
    assert_eq!(frozen.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        frozen.headers()["location"].to_str().unwrap(),
        format!("/admin/shoppers/{id}")
    );
    let html = page(&support, &format!("/admin/shoppers/{id}")).await;
    assert!(html.contains("Frozen since"));
    assert!(html.contains("Card reported stolen by phone"));
    assert!(html.contains(&format!("/admin/shoppers/{id}/unfreeze")));
    let entries = app
        .state
        .audit
        .list(
            &Query {
                action: Some("shopper.frozen".into()),
                ..Query::default()
            },
            10,
        )
        .await
        .unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(
        entries[0].actor,
        format!("admin:{}", admin_id(&app, Role::Support).await)
    );
    assert_eq!(entries[0].target, format!("shopper:{id}"));
    assert!(entries[0].details.contains("Card reported stolen by phone"));

    // A second freeze is a conflict.
    let again = support
        .admin_post_form(
            &format!("/admin/shoppers/{id}/freeze"),
            &[("reason", "again")],
        )
        .await;
    assert_eq!(again.status(), StatusCode::CONFLICT);

    // The shopper is signed out, and their sign-in is refused.
    assert_eq!(s.browser.signed_in_as().await, None);
    let refused = s.browser.sign_in(&mut s.key, &app.origin()).await;
    assert_eq!(
        problem_code(refused).await,
        (StatusCode::FORBIDDEN, "account_frozen".into())
    );

    // Unfrozen (no reason needed), the shopper signs in again.
    let unfrozen = support
        .admin_post_form(&format!("/admin/shoppers/{id}/unfreeze"), &[("reason", "")])
        .await;
    assert_eq!(unfrozen.status(), StatusCode::SEE_OTHER);
    assert!(page(&support, &format!("/admin/shoppers/{id}"))
        .await
        .contains("Active"));
    assert_eq!(
        s.browser.sign_in(&mut s.key, &app.origin()).await.status(),
        StatusCode::OK
    );
    let unfrozen_entries = app
        .state
        .audit
        .list(
            &Query {
                action: Some("shopper.unfrozen".into()),
                target: Some(format!("shopper:{id}")),
                ..Query::default()
            },
            10,
        )
        .await
        .unwrap();
    assert_eq!(unfrozen_entries.len(), 1);
}

#[tokio::test]
async fn operators_and_auditors_cannot_freeze_and_an_auditor_can_read_a_shopper() {
    let app = spawn_app().await;
    shopper(&app, "roles@example.com").await;
    let id = user_id_by_email(&app, "roles@example.com").await;
    let operator = signed_in_admin(&app, Role::Operator).await;
    let auditor = signed_in_admin(&app, Role::Auditor).await;

    for admin in [&operator, &auditor] {
        for action in ["freeze", "unfreeze"] {
            let refused = admin
                .admin_post_form(
                    &format!("/admin/shoppers/{id}/{action}"),
                    &[("reason", "not mine to do")],
                )
                .await;
            assert_eq!(refused.status(), StatusCode::FORBIDDEN, "{action}");
            assert!(refused.text().await.unwrap().contains("role_forbidden"));
        }
    }
    assert!(app
        .state
        .accounts
        .user(id)
        .await
        .unwrap()
        .unwrap()
        .frozen
        .is_none());

    // The operator may not read shoppers; the auditor reads them, without the freeze form.
    assert_eq!(
        operator.get_html("/admin/shoppers").await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        operator
            .get_html(&format!("/admin/shoppers/{id}"))
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    let list = page(&auditor, "/admin/shoppers").await;
    assert!(list.contains("roles@example.com"), "the newest shoppers");
    let html = page(&auditor, &format!("/admin/shoppers/{id}")).await;
    assert!(html.contains("roles@example.com"));
    assert!(!html.contains("/freeze\""), "no freeze form for an auditor");

    // Unknown shoppers are not found.
    assert_eq!(
        auditor
            .get_html(&format!("/admin/shoppers/{}", uuid::Uuid::new_v4()))
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        auditor.get_html("/admin/shoppers/not-an-id").await.status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn without_a_console_session_the_shoppers_pages_send_to_sign_in() {
    let app = spawn_app().await;
    let r = app.browser().get_html("/admin/shoppers").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(r.headers()["location"]
        .to_str()
        .unwrap()
        .starts_with("/admin/signin"));
}
