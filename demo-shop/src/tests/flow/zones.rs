//! The shopper's time zone: Asia/Tokyo until one is chosen in the footer, then every time the
//! shop shows (the order page, the orders list) in that zone and in the page's language; an
//! unknown zone is refused with a page that says what to choose.

use jiff::tz::TimeZone;
use jiff::Timestamp;

use super::*;
use crate::i18n::{Locale, Prefs, Tr};

/// The text of the order page's "Ordered" line.
fn ordered_at(page: &Answer, label: &str) -> String {
    let marker = format!("<dt>{label}</dt><dd>");
    let start = page
        .body
        .find(&marker)
        .unwrap_or_else(|| panic!("{}", page.body))
        + marker.len();
    page.body[start..].split('<').next().unwrap().to_owned()
}

/// What the shop may show for a moment between `before` and `after` (at most a minute apart),
/// in `zone` and `locale`.
fn shown(before: Timestamp, after: Timestamp, zone: &str, locale: Locale) -> [String; 2] {
    let code = locale.code();
    let tr = Tr::new(Prefs::from_request(Some(code), Some(zone), None));
    [tr.time(before), tr.time(after)]
}

#[tokio::test]
async fn times_are_in_tokyo_until_the_footer_chooses_a_zone_then_in_that_zone_in_both_languages() {
    let wallet = start_wallet().await;
    let shop = start_shop(&wallet).await;
    let mut browser = Browser::new(&shop);
    browser.add("mug").await;
    let before = Timestamp::now();
    let reference = ordered(&browser.checkout(&wallet).await);
    let after = Timestamp::now();
    let order = format!("/orders/{reference}");

    // No choice yet: Tokyo, and the chooser in the footer says so.
    let page = browser.get(&order).await;
    page.assert_page(
        200,
        &[
            r#"<label for="time-zone">Show times in</label>"#,
            r#"<option value="Asia/Tokyo" selected>Asia/Tokyo</option>"#,
            r#"<option value="Europe/London">Europe/London</option>"#,
            r#"data-device="{zone} (this device)""#,
            ">Save time zone</button>",
            &format!(r#"<input type="hidden" name="next" value="{order}">"#),
        ],
    );
    let tokyo = ordered_at(&page, "Ordered");
    assert!(
        shown(before, after, "Asia/Tokyo", Locale::En).contains(&tokyo),
        "{tokyo}"
    );
    assert!(tokyo.ends_with(" JST"), "{tokyo}");

    // London from the chooser: a cookie for the shop's path, then back to the order.
    let chosen = browser
        .post("/language", &[("zone", "Europe/London"), ("next", &order)])
        .await;
    chosen.assert_see_other(&order);
    let set = chosen.headers["set-cookie"].to_str().unwrap();
    // Percent-encoded, as the cookie crate writes (and reads back) values.
    assert!(set.starts_with("shop_tz=Europe%2FLondon;"), "{set}");
    for attribute in ["; Path=/", "; HttpOnly", "; SameSite=Lax", "; Max-Age="] {
        assert!(set.contains(attribute), "{set}");
    }
    assert_eq!(
        chosen.headers.get_all("set-cookie").iter().count(),
        1,
        "the language stays as it was"
    );
    let page = browser.get(&order).await;
    page.assert_page(
        200,
        &[r#"<option value="Europe/London" selected>Europe/London</option>"#],
    );
    assert!(!page.body.contains("<option value=\"Asia/Tokyo\" selected>"));
    let london = ordered_at(&page, "Ordered");
    assert!(
        shown(before, after, "Europe/London", Locale::En).contains(&london),
        "{london}"
    );
    assert!(!london.contains("JST"), "{london}");
    // The orders list too.
    let list = browser.get("/orders").await;
    list.assert_page(200, &[&format!(r#"<p class="placed">{london}</p>"#)]);

    // In Japanese, the same zone, written the Japanese way.
    browser
        .post("/language", &[("lang", "ja"), ("next", &order)])
        .await
        .assert_see_other(&order);
    let page = browser.get(&order).await;
    page.assert_page(
        200,
        &[
            r#"<label for="time-zone">表示するタイムゾーン</label>"#,
            r#"data-device="{zone}（この端末）""#,
        ],
    );
    let japanese = ordered_at(&page, "注文日時");
    assert!(
        shown(before, after, "Europe/London", Locale::Ja).contains(&japanese),
        "{japanese}"
    );
    assert!(japanese.contains('年'), "{japanese}");

    // A zone the list does not offer (the device's own, sent by the page's script) is kept,
    // and listed first while it is the shopper's.
    browser
        .post(
            "/language",
            &[("zone", "America/Sao_Paulo"), ("next", &order)],
        )
        .await
        .assert_see_other(&order);
    let page = browser.get(&order).await;
    let first = page.body.find("<option").unwrap();
    assert!(
        page.body[first..].starts_with(
            r#"<option value="America/Sao_Paulo" selected>America/Sao_Paulo</option>"#
        ),
        "{}",
        page.body
    );
    let sao_paulo = ordered_at(&page, "注文日時");
    assert!(
        shown(before, after, "America/Sao_Paulo", Locale::Ja).contains(&sao_paulo),
        "{sao_paulo}"
    );
}

#[tokio::test]
async fn an_unknown_time_zone_is_refused_with_a_page_that_says_what_to_choose() {
    let wallet = start_wallet().await;
    let shop = start_shop(&wallet).await;
    let mut browser = Browser::new(&shop);

    for zone in [
        "Mars/Olympus",
        "",
        "Asia/Tokyo; Path=/",
        &"Asia/".repeat(20),
    ] {
        let refused = browser
            .post("/language", &[("zone", zone), ("next", "/cart")])
            .await;
        refused.assert_page(
            400,
            &[
                "Time zone not available",
                "Choose a time zone by its name, such as Asia/Tokyo or Europe/London.",
                r#"<a href="/">"#,
            ],
        );
        assert!(refused.headers.get("set-cookie").is_none(), "{zone:?}");
    }
    // Nothing chosen at all.
    browser
        .post("/language", &[("next", "/cart")])
        .await
        .assert_page(400, &["Language not available"]);

    // In Japanese for a Japanese browser.
    let mut japanese = Browser::speaking(&shop, "ja");
    japanese
        .post("/language", &[("zone", "Mars/Olympus")])
        .await
        .assert_page(
            400,
            &[
                "このタイムゾーンには対応していません",
                "Asia/Tokyo や Europe/London のように、タイムゾーンを名前で選んでください。",
            ],
        );

    // A cookie naming no zone (set elsewhere, or tampered with) shows Tokyo time.
    browser
        .cookies
        .insert("shop_tz".into(), "Mars/Olympus".into());
    browser.get("/").await.assert_page(
        200,
        &[r#"<option value="Asia/Tokyo" selected>Asia/Tokyo</option>"#],
    );
    assert!(TimeZone::get("Mars/Olympus").is_err());
}
