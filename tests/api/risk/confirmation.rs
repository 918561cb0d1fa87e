//! A limit set while the shopper's passkey is asked: the confirmation is refused as the consent
//! page and the start refuse it.

use reqwest::StatusCode;
use saifu::risk::Limits;

use super::{back_to_shop, checkout, set_jpy, yen};
use crate::helpers::{
    count_rows, merchant, offered_cards, open_consent, param, problem_code, sdk, shopper, spawn_app,
};

/// A limit set between the start of the approval and the passkey's answer refuses the
/// confirmation with the same refusal as the consent page and the start, before the card is
/// asked for anything: back to the consent page, which names it, and `access_denied` naming it
/// at the merchant. Each limit in turn, the daily total and the hourly count with the
/// shopper's counters of today (one payment of 4,000 yen in this hour).
#[tokio::test]
async fn a_limit_set_while_the_passkey_is_asked_refuses_the_confirmation_before_the_card_is_asked()
{
    let app = spawn_app().await;
    let client = sdk(&app, &merchant(&app, "Frame Shop", true).await).await;
    let mut s = shopper(&app, "asked@example.com").await;
    let callback = s.pay(&checkout(&client, "4000", "L-1").await).await;
    assert!(param(&callback, "code").is_some(), "{callback}");
    let asked = count_rows(&app, "approval_authorizations").await;

    type Set = fn(&mut Limits);
    let limits: [(Set, &str, &str); 3] = [
        (
            |l| l.per_payment = yen(3_000),
            "limit_per_payment",
            "limit of ¥3,000 per payment",
        ),
        (
            |l| l.daily_total = yen(7_000),
            "limit_daily_total",
            "You have paid ¥4,000 today.",
        ),
        (
            |l| l.hourly_count = Some(1),
            "limit_hourly_count",
            "limit of 1 payments per hour",
        ),
    ];
    for (i, (set, code, words)) in limits.into_iter().enumerate() {
        let url = checkout(&client, "3500", &format!("L-{}", i + 2)).await;
        let consent = open_consent(&s.browser, &url).await;
        let card = offered_cards(&s.browser, &consent).await.remove(0);
        let options = s.begin(&consent, &card).await;
        let signed = serde_json::to_value(s.key.assert(&s.origin, options).unwrap()).unwrap();
        set_jpy(&app, set).await;

        let html = s
            .approve_refused(&app, &consent, &card, &signed, (1, asked), code)
            .await;
        assert!(html.contains("id=\"limit-refusal\""), "{code}: {html}");
        assert!(html.contains(words), "{code}: {html}");
        let begin = s
            .browser
            .post_json(
                &format!("{consent}/begin"),
                &serde_json::json!({ "card_id": card }),
            )
            .await;
        assert_eq!(
            problem_code(begin).await,
            (StatusCode::FORBIDDEN, code.into())
        );
        let callback = back_to_shop(&s, &consent).await;
        let description = param(&callback, "error_description").unwrap();
        assert!(
            description.starts_with(&format!("{code}: ")),
            "{description}"
        );

        set_jpy(&app, |l| {
            l.per_payment = None;
            l.daily_total = None;
            l.hourly_count = None;
        })
        .await;
    }
}
