//! The demo shop's own logic, without a wallet: cart arithmetic, order references, the payment a
//! cart becomes, amounts, HTML escaping, the cart cookie and the cart forms. `flow` drives the
//! router against a fake wallet.

use std::time::{Duration, Instant};

use axum::extract::FromRequest;
use axum::http::{HeaderMap, HeaderValue};
use axum_extra::extract::cookie::CookieJar;
use saifu_sdk::payments::{CardSummary, Payment};
use saifu_sdk::webhooks::{Event, EventType};
use secrecy::SecretString;

use super::i18n::{Locale, Tr};
use super::pages::{self, Chrome, Next, Split, Status};
use super::shop::{self, Cart, CartError, Line, Product, Yen, CATALOG, MAX_QUANTITY};
use super::store::{OrderState, Store, WebhookOutcome};

mod flow;
mod i18n;

fn product(id: &str) -> &'static Product {
    shop::product(id).unwrap()
}

fn cart_of(items: &[(&str, u32)]) -> Cart {
    let mut cart = Cart::default();
    for &(id, quantity) in items {
        for _ in 0..quantity {
            cart.add(product(id)).unwrap();
        }
    }
    cart
}

#[test]
fn the_catalogue_sells_a_mug_a_tote_and_a_kettle_in_yen() {
    let listed: Vec<_> = CATALOG.iter().map(|p| (p.id, p.name, p.price)).collect();
    assert_eq!(
        listed,
        [
            ("mug", "Ceramic mug", Yen(1800)),
            ("tote", "Linen tote", Yen(3200)),
            ("kettle", "Pour-over kettle", Yen(6400)),
        ]
    );
    assert!(shop::product("teapot").is_none());
    assert!(shop::product("").is_none());
}

#[test]
fn adding_counts_quantities_and_totals_them() {
    let mut cart = Cart::default();
    assert!(cart.is_empty());
    assert_eq!((cart.count(), cart.total()), (0, Yen(0)));

    cart.add(product("mug")).unwrap();
    cart.add(product("kettle")).unwrap();
    cart.add(product("mug")).unwrap();
    assert_eq!(cart.count(), 3);
    assert_eq!(cart.total(), Yen(2 * 1800 + 6400));
    let lines: Vec<_> = cart
        .lines()
        .iter()
        .map(|l| (l.product.id, l.quantity, l.subtotal()))
        .collect();
    // In the order first added.
    assert_eq!(lines, [("mug", 2, Yen(3600)), ("kettle", 1, Yen(6400))]);
}

#[test]
fn a_cart_holds_at_most_ten_of_a_product_and_a_refused_add_changes_nothing() {
    let mut cart = cart_of(&[("tote", MAX_QUANTITY)]);
    assert_eq!(cart.add(product("tote")), Err(CartError::TooMany));
    assert_eq!(cart.count(), MAX_QUANTITY);
    assert_eq!(cart.total(), Yen(u64::from(MAX_QUANTITY) * 3200));
    // Other products are not affected by the cap.
    cart.add(product("mug")).unwrap();
    assert_eq!(cart.count(), MAX_QUANTITY + 1);
}

#[test]
fn removing_takes_the_whole_line_out_and_an_absent_product_is_a_no_op() {
    let mut cart = cart_of(&[("mug", 3), ("tote", 1), ("kettle", 2)]);
    cart.remove("mug");
    assert_eq!(cart.total(), Yen(3200 + 2 * 6400));
    cart.remove("mug");
    cart.remove("teapot");
    assert_eq!(cart.count(), 3);
    cart.remove("tote");
    cart.remove("kettle");
    assert!(cart.is_empty());
    assert_eq!(cart.total(), Yen(0));
}

#[test]
fn paying_an_order_leaves_what_was_added_during_the_checkout() {
    let ordered = cart_of(&[("mug", 2), ("tote", 1)]).lines().to_vec();
    // Meanwhile, another mug and a kettle were added in another tab.
    let mut cart = cart_of(&[("mug", 3), ("tote", 1), ("kettle", 1)]);
    cart.remove_ordered(&ordered);
    assert_eq!(cart, cart_of(&[("mug", 1), ("kettle", 1)]));

    let mut same = cart_of(&[("mug", 2), ("tote", 1)]);
    same.remove_ordered(&ordered);
    assert!(same.is_empty());
    // A product removed from the cart meanwhile does not underflow.
    let mut removed = cart_of(&[("mug", 1)]);
    removed.remove_ordered(&ordered);
    assert!(removed.is_empty());
}

#[test]
fn order_references_are_demo_and_12_crockford_characters_and_fresh() {
    let mut seen = std::collections::HashSet::new();
    for _ in 0..1000 {
        let reference = shop::order_reference();
        let random = reference.strip_prefix("DEMO-").unwrap();
        assert_eq!(random.len(), 12, "{reference}");
        assert!(
            random
                .bytes()
                .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase() && !b"ILOU".contains(&b)),
            "{reference}"
        );
        assert!(shop::is_order_reference(&reference));
        assert!(seen.insert(reference));
    }
}

#[test]
fn only_the_shape_of_an_order_reference_is_accepted_as_one() {
    for other in [
        "",
        "DEMO-",
        "DEMO-0123456789A",
        "DEMO-0123456789ABC",
        "demo-0123456789AB",
        "DEMO-0123456789aB",
        "DEMO-0123456789IL",
        "DEMO-0123456789A/",
        "X-1001",
        "DEMO-０123456789A",
    ] {
        assert!(!shop::is_order_reference(other), "{other:?}");
    }
    assert!(shop::is_order_reference("DEMO-0123456789AB"));
}

/// `unit_amount × quantity` over the line items, as the wallet checks it.
fn sum_of_line_items(details: &saifu_sdk::PaymentDetails) -> u64 {
    details
        .line_items
        .iter()
        .map(|item| Yen::parse(&item.unit_amount).unwrap().0 * u64::from(item.quantity))
        .sum()
}

#[test]
fn the_payment_of_a_cart_has_one_line_item_per_line_summing_to_the_total() {
    let carts = [
        cart_of(&[("mug", 1)]),
        cart_of(&[("mug", 2), ("kettle", 1)]),
        cart_of(&[("kettle", 10), ("tote", 10), ("mug", 10)]),
        cart_of(&[("tote", 3), ("mug", 7)]),
    ];
    for cart in carts {
        let details = shop::payment_details("DEMO-0123456789AB", cart.lines());
        assert_eq!(details.type_, "payment");
        assert_eq!(details.order_reference, "DEMO-0123456789AB");
        assert_eq!(details.instructed_amount.currency, "JPY");
        assert_eq!(
            details.instructed_amount.amount,
            cart.total().amount_string()
        );
        assert_eq!(
            sum_of_line_items(&details),
            Yen::parse(&details.instructed_amount.amount).unwrap().0
        );
        assert_eq!(details.line_items.len(), cart.lines().len());
        assert_eq!(details.points_redeemed, None);
    }
}

#[test]
fn the_payment_of_a_cart_is_the_documented_wire_shape() {
    let cart = cart_of(&[("mug", 2), ("kettle", 1)]);
    let details = shop::payment_details("DEMO-0123456789AB", cart.lines());
    assert_eq!(
        serde_json::to_value(&details).unwrap(),
        serde_json::json!({
            "type": "payment",
            "instructed_amount": {"currency": "JPY", "amount": "10000"},
            "order_reference": "DEMO-0123456789AB",
            "line_items": [
                {"name": "Ceramic mug", "quantity": 2, "unit_amount": "1800"},
                {"name": "Pour-over kettle", "quantity": 1, "unit_amount": "6400"},
            ],
        })
    );
}

#[test]
fn yen_shows_grouped_with_the_sign_and_travels_as_plain_digits() {
    for (yen, shown) in [
        (0, "¥0"),
        (7, "¥7"),
        (999, "¥999"),
        (1000, "¥1,000"),
        (12800, "¥12,800"),
        (123_456, "¥123,456"),
        (1_234_567, "¥1,234,567"),
    ] {
        assert_eq!(Yen(yen).to_string(), shown);
        assert_eq!(Yen(yen).amount_string(), yen.to_string());
        assert_eq!(Yen::parse(&yen.to_string()), Some(Yen(yen)));
    }
    for bad in [
        "",
        "12.50",
        "-5",
        "+5",
        " 5",
        "1,000",
        "¥1000",
        "99999999999999999999",
    ] {
        assert_eq!(Yen::parse(bad), None, "{bad:?}");
    }
}

/// How a message page shows `text`: the templates escape every value.
fn escaped(text: &str) -> String {
    let next = Next {
        href: "/".into(),
        label: "Go to the shop".into(),
    };
    let page = pages::message(&chrome(), "Title", text, &next);
    let shown = page
        .split_once(r#"<p class="notice" role="alert">"#)
        .unwrap()
        .1;
    shown.split_once("</p>").unwrap().0.to_owned()
}

#[test]
fn escaping_covers_the_five_html_special_characters() {
    assert_eq!(
        escaped(r#"<a href="x" onclick='y'>Tom & Jerry</a>"#),
        "&#60;a href=&#34;x&#34; onclick=&#39;y&#39;&#62;Tom &#38; Jerry&#60;/a&#62;"
    );
    assert_eq!(escaped("Ōmi linen, ¥3,200"), "Ōmi linen, ¥3,200");
    assert_eq!(escaped(""), "");
    assert_eq!(escaped("&amp;"), "&#38;amp;");
}

const EVIL: &[Product] = &[Product {
    id: "x\"><script>",
    name: "<script>alert('mug')</script> & \"co\"",
    description: "<img src=x onerror=alert(1)>",
    price: Yen(1800),
}];
/// askama writes the five special characters as numeric character references.
const EVIL_NAME: &str = "&#60;script&#62;alert(&#39;mug&#39;)&#60;/script&#62; &#38; &#34;co&#34;";

/// The pages' one script, the shop's own file.
const ZONE_SCRIPT: &str = r#"<script src="/zone.js" defer></script>"#;

fn assert_no_raw_markup(page: &str) {
    assert_eq!(page.matches("<script").count(), 1, "{page}");
    assert!(page.contains(ZONE_SCRIPT), "{page}");
    assert!(!page.contains("<img"), "{page}");
}

fn chrome() -> Chrome<'static> {
    chrome_in(Locale::En)
}

fn chrome_in(locale: Locale) -> Chrome<'static> {
    Chrome {
        base: "/",
        cart_count: 1,
        tr: Tr::of(locale),
        here: "/".into(),
    }
}

#[test]
fn product_names_are_escaped_on_the_products_page() {
    let page = pages::home(&chrome(), EVIL);
    assert!(page.contains(EVIL_NAME), "{page}");
    assert!(page.contains("&#60;img src=x onerror=alert(1)&#62;"));
    assert!(page.contains(r#"value="x&#34;&#62;&#60;script&#62;""#));
    assert_no_raw_markup(&page);
}

fn paid(amount: &str, refunded: &str) -> Payment {
    Payment {
        id: "pay_1".into(),
        status: "captured".into(),
        amount: amount.into(),
        captured_amount: amount.into(),
        refunded_amount: refunded.into(),
        currency: "JPY".into(),
        order_reference: "DEMO-0123456789AB".into(),
        card: CardSummary {
            brand: "<b>Visa</b>".into(),
            last4: "4242".into(),
        },
        points_earned: 18,
        points_redeemed: 0,
        created_at: "2025-01-01T00:00:00Z".into(),
    }
}

#[test]
fn product_names_and_payment_fields_are_escaped_in_the_cart_and_the_order() {
    let mut cart = Cart::default();
    cart.add(&EVIL[0]).unwrap();
    let mut store = Store::default();
    let now = Instant::now();
    let owner = store.new_session(now);
    store.insert_order(
        "DEMO-0123456789AB".into(),
        owner.clone(),
        cart.lines().to_vec(),
        SecretString::from("grant"),
        now,
    );
    let page = pages::cart(&chrome(), &cart, &store.orders_of(&owner));
    assert!(page.contains(EVIL_NAME), "{page}");
    assert_no_raw_markup(&page);

    for state in [
        OrderState::Paid(Box::new(paid("1800", "0"))),
        OrderState::Declined {
            decline_code: "<script>".into(),
        },
        OrderState::Failed {
            code: "<script>".into(),
            reason: Some("<script>".into()),
        },
    ] {
        let order = store.order("DEMO-0123456789AB", Some(&owner)).unwrap();
        order.state = state;
        let page = pages::order(&chrome(), order, false);
        assert!(page.contains(EVIL_NAME), "{page}");
        assert!(!page.contains("<b>"), "{page}");
        assert_no_raw_markup(&page);
    }
}

#[test]
fn pages_run_only_the_shops_zone_script_and_label_their_buttons_by_what_they_do() {
    let cart = cart_of(&[("mug", 2), ("kettle", 1)]);
    let page = pages::cart(&chrome(), &cart, &[]);
    assert!(page.contains("Pay with Saifu (¥10,000)"), "{page}");
    assert!(page.contains(r#"action="/checkout""#));
    assert!(page.contains(r#"<span class="visually-hidden"> Ceramic mug</span>"#));
    assert!(page.contains(r#"<html lang="en">"#));
    assert!(page.contains(r#"name="viewport""#));
    assert_eq!(page.matches("<script").count(), 1, "{page}");
    assert!(page.contains(ZONE_SCRIPT));
    assert!(!page.contains("style="));

    let home = pages::home(&chrome(), CATALOG);
    for p in CATALOG {
        assert!(home.contains(&format!(
            r#"<input type="hidden" name="product" value="{}">"#,
            p.id
        )));
        assert!(home.contains(&format!(
            r#"aria-label="Add to cart: {}">Add to cart</button>"#,
            p.name
        )));
    }
    assert_eq!(home.matches("<script").count(), 1, "{home}");
}

#[test]
fn the_order_page_shows_card_points_status_and_the_refund_button_until_refunded() {
    let lines: Vec<Line> = cart_of(&[("mug", 1)]).lines().to_vec();
    let mut store = Store::default();
    let now = Instant::now();
    let owner = store.new_session(now);
    store.insert_order(
        "DEMO-0123456789AB".into(),
        owner.clone(),
        lines,
        SecretString::from("grant"),
        now,
    );
    let mut payment = paid("1800", "0");
    payment.card.brand = "Visa".into();
    payment.points_redeemed = 50;
    store.paid("DEMO-0123456789AB", payment.clone());
    let order = store.order("DEMO-0123456789AB", Some(&owner)).unwrap();
    let page = pages::order(&chrome(), order, false);
    for shown in [
        "Thank you for your order",
        "DEMO-0123456789AB",
        "Ceramic mug",
        "¥1,800",
        "Visa ending in 4242",
        "<dt>Points earned</dt><dd>18 points</dd>",
        "<dt>Status</dt><dd>Paid</dd>",
        // Total − points = card.
        r#"<tr><th scope="row">Total</th><td class="num">¥1,800</td></tr>"#,
        r#"<tr><th scope="row">Points used (50 points)</th><td class="num">−¥50</td></tr>"#,
        r#"<tr><th scope="row">Charged to your card</th><td class="num total">¥1,750</td></tr>"#,
        // The refund is a link to its confirmation, not a bare button.
        r#"href="/orders/DEMO-0123456789AB/refund">Refund this order (¥1,800)</a>"#,
    ] {
        assert!(page.contains(shown), "{shown} in {page}");
    }

    payment.refunded_amount = "1800".into();
    order.state = OrderState::Paid(Box::new(payment));
    let page = pages::order(&chrome(), order, false);
    assert!(page.contains("<dt>Status</dt><dd>Refunded</dd>"), "{page}");
    // 50 of the ¥1,800 were paid with points: those go back to the wallet, the rest to the card.
    assert!(
        page.contains("We refunded ¥1,750 to your Visa ending in 4242 and returned 50 points to your Saifu wallet."),
        "{page}"
    );
    assert!(!page.contains("Refund this order"));
}

#[test]
fn refundable_is_what_is_captured_and_not_yet_refunded() {
    assert_eq!(pages::refundable(&paid("1800", "0")), Some(Yen(1800)));
    assert_eq!(pages::refundable(&paid("1800", "800")), Some(Yen(1000)));
    assert_eq!(pages::refundable(&paid("1800", "1800")), None);
    let mut authorized = paid("1800", "0");
    authorized.status = "authorized".into();
    assert_eq!(pages::refundable(&authorized), None);

    assert_eq!(pages::payment_status(&paid("1800", "0")), Status::Paid);
    assert_eq!(
        pages::payment_status(&paid("1800", "800")),
        Status::PartlyRefunded(Yen(800))
    );
    assert_eq!(
        pages::payment_status(&paid("1800", "1800")),
        Status::Refunded
    );
    assert_eq!(pages::payment_status(&authorized), Status::Pending);
    let en = Tr::of(Locale::En);
    let ja = Tr::of(Locale::Ja);
    let partly = Status::PartlyRefunded(Yen(500));
    assert_eq!(partly.words(&en, Yen(1800)), "Refunded ¥500 of ¥1,800");
    assert_eq!(
        partly.words(&ja, Yen(1800)),
        "¥1,800 のうち ¥500 を返金済み"
    );
    assert_eq!(Status::Paid.words(&en, Yen(1800)), "Paid");
    assert_eq!(Status::Paid.words(&ja, Yen(1800)), "支払い済み");
    assert_eq!(Status::Pending.words(&en, Yen(1800)), "Payment pending");
}

#[test]
fn a_decline_is_a_sentence_in_the_shoppers_words_and_language() {
    let en = Tr::of(Locale::En);
    let ja = Tr::of(Locale::Ja);
    assert_eq!(
        pages::decline_sentence(&en, "insufficient_funds"),
        "Your card was declined: the card does not have enough funds."
    );
    assert_eq!(
        pages::decline_sentence(&ja, "insufficient_funds"),
        "カードが承認されませんでした: カードの利用可能額が不足しています。"
    );
    // An unknown code gets the general sentence, without the raw code.
    let stolen = pages::decline_sentence(&en, "stolen_card");
    assert_eq!(
        stolen,
        "Your card was declined: the card issuer would not approve it."
    );
}

#[test]
fn a_payment_with_points_splits_into_points_and_card_and_a_refund_gives_points_back_first() {
    let mut payment = paid("1800", "0");
    payment.points_redeemed = 64;
    let split = Split::of(&payment).unwrap();
    assert_eq!(
        split,
        Split {
            total: Yen(1800),
            points: 64,
            points_value: Yen(64),
            card: Yen(1736),
        }
    );
    assert_eq!(split.total.0 - split.points_value.0, split.card.0);
    // The whole refund: 64 points back, ¥1,736 to the card.
    assert_eq!(split.refund(Yen(0), Yen(1800)), (Yen(1736), Yen(64)));
    // A part first gives the points back, then the card.
    assert_eq!(split.refund(Yen(0), Yen(50)), (Yen(0), Yen(50)));
    assert_eq!(split.refund(Yen(50), Yen(1750)), (Yen(1736), Yen(14)));
    // Without points, all goes to the card.
    let plain = Split::of(&paid("1800", "0")).unwrap();
    assert_eq!(plain.card, Yen(1800));
    assert_eq!(plain.refund(Yen(0), Yen(1800)), (Yen(1800), Yen(0)));
    // Points worth more than the total pay it all, never a negative card amount.
    payment.points_redeemed = 5000;
    assert_eq!(Split::of(&payment).unwrap().card, Yen(0));
    payment.currency = "USD".into();
    assert_eq!(Split::of(&payment), None);
}

#[test]
fn the_refund_confirmation_says_what_goes_back_where_and_posts_the_amount() {
    let now = Instant::now();
    let (mut store, owner) = store_with_paid_order(now);
    let order = store.order("DEMO-0123456789AB", Some(&owner)).unwrap();
    let mut payment = paid("1800", "0");
    payment.card.brand = "visa".into();
    payment.points_redeemed = 64;
    payment.points_earned = 17;
    let page = pages::refund_confirmation(&chrome(), order, &payment, Yen(1800));
    for shown in [
        "<h1>Refund this order?</h1>",
        "You are about to refund ¥1,800 for order DEMO-0123456789AB.",
        "<li>¥1,736 goes back to your Visa ending in 4242.</li>",
        "<li>64 points go back to your Saifu wallet.</li>",
        "<li>The 17 points this order earned are taken back from your Saifu wallet.</li>",
        r#"<form method="post" action="/orders/DEMO-0123456789AB/refund" class="refund">"#,
        r#"<input type="hidden" name="amount" value="1800">"#,
        "<button type=\"submit\">Refund ¥1,800</button>",
        r#"<a href="/orders/DEMO-0123456789AB">Keep the order</a>"#,
    ] {
        assert!(page.contains(shown), "{shown} in {page}");
    }
    let ja = pages::refund_confirmation(&chrome_in(Locale::Ja), order, &payment, Yen(1800));
    for shown in [
        r#"<html lang="ja">"#,
        "<h1>この注文を返金しますか?</h1>",
        "<li>¥1,736 をお使いのVisa（末尾 4242）に返金します。</li>",
        "<li>64ポイントを Saifu ウォレットに戻します。</li>",
        "¥1,800 を返金する</button>",
    ] {
        assert!(ja.contains(shown), "{shown} in {ja}");
    }
}

/// Words of the payments API and of webhooks that shoppers should not meet.
const MERCHANT_WORDS: &[&str] = &[
    "captured",
    "authorized",
    "webhook",
    "voided",
    "decline code",
    "grant",
];

fn assert_shopper_words(page: &str) {
    let text = page.to_lowercase();
    for word in MERCHANT_WORDS {
        assert!(!text.contains(word), "{word:?} on a shopper's page: {page}");
    }
}

#[test]
fn pages_use_shopper_words_in_both_languages() {
    let now = Instant::now();
    for locale in [Locale::En, Locale::Ja] {
        let chrome = chrome_in(locale);
        let (mut store, owner) = store_with_paid_order(now);
        store.webhook(&event("evt_1", "payment.captured", &paid("1800", "0")), now);
        let cart = cart_of(&[("mug", 1)]);
        assert_shopper_words(&pages::home(&chrome, CATALOG));
        assert_shopper_words(&pages::cart(&chrome, &cart, &store.orders_of(&owner)));
        assert_shopper_words(&pages::orders(&chrome, &store.orders_of(&owner)));
        for state in [
            OrderState::Paid(Box::new(paid("1800", "0"))),
            OrderState::Paid(Box::new(paid("1800", "500"))),
            OrderState::Paid(Box::new(paid("1800", "1800"))),
            OrderState::Declined {
                decline_code: "insufficient_funds".into(),
            },
            OrderState::Unpaid {
                grant: SecretString::from("grant"),
                problem: Some("shop-problem-unavailable".into()),
            },
        ] {
            let order = store.order("DEMO-0123456789AB", Some(&owner)).unwrap();
            order.state = state;
            for webhooks in [false, true] {
                let page = pages::order(&chrome, order, webhooks);
                assert_shopper_words(&page);
                assert!(!page.contains("shop-"), "a message id is shown: {page}");
            }
        }
    }
}

#[test]
fn the_orders_page_lists_orders_newest_first_with_status_amounts_and_links() {
    let mut store = Store::default();
    let start = Instant::now();
    let owner = store.new_session(start);
    for (i, reference) in [
        "DEMO-000000000001",
        "DEMO-000000000002",
        "DEMO-000000000003",
    ]
    .iter()
    .enumerate()
    {
        store.insert_order(
            (*reference).into(),
            owner.clone(),
            cart_of(&[("mug", 1)]).lines().to_vec(),
            SecretString::from("grant"),
            start + Duration::from_secs(i as u64),
        );
    }
    let mut with_points = paid("1800", "0");
    with_points.order_reference = "DEMO-000000000002".into();
    with_points.points_redeemed = 64;
    store.paid("DEMO-000000000002", with_points);
    store.paid("DEMO-000000000001", paid("1800", "1800"));
    let page = pages::orders(&chrome(), &store.orders_of(&owner));
    let at = |needle: &str| {
        page.find(needle)
            .unwrap_or_else(|| panic!("{needle} in {page}"))
    };
    assert!(at("DEMO-000000000003") < at("DEMO-000000000002"));
    assert!(at("DEMO-000000000002") < at("DEMO-000000000001"));
    for shown in [
        r#"<a href="/orders/DEMO-000000000003">Order DEMO-000000000003</a>"#,
        r#"<span class="badge bad">Not paid yet</span>"#,
        r#"<span class="badge ok">Paid</span>"#,
        r#"<span class="badge neutral">Refunded</span>"#,
        r#"<span class="figure">¥1,800</span> <span class="split">(¥1,736 by card + 64 points)</span>"#,
        " JST</p>",
    ] {
        assert!(page.contains(shown), "{shown} in {page}");
    }
    let ja = pages::orders(&chrome_in(Locale::Ja), &store.orders_of(&owner));
    for shown in [
        "<h1>注文履歴</h1>",
        "注文 DEMO-000000000003",
        "未払い",
        "支払い済み",
        "返金済み",
        "（カード ¥1,736 + 64ポイント）",
        "日 ",
    ] {
        assert!(ja.contains(shown), "{shown} in {ja}");
    }
    let empty = pages::orders(&chrome(), &[]);
    assert!(
        empty.contains("You have no orders in this shop yet."),
        "{empty}"
    );
}

#[test]
fn orders_exist_only_for_the_session_that_placed_them() {
    let mut store = Store::default();
    let now = Instant::now();
    let (owner, other) = (store.new_session(now), store.new_session(now));
    assert_ne!(owner, other);
    store.insert_order(
        "DEMO-0123456789AB".into(),
        owner.clone(),
        Vec::new(),
        SecretString::from("grant"),
        now,
    );
    assert!(store.order("DEMO-0123456789AB", Some(&owner)).is_some());
    assert!(store.order("DEMO-0123456789AB", Some(&other)).is_none());
    assert!(store.order("DEMO-0123456789AB", None).is_none());
    assert_eq!(store.orders_of(&owner).len(), 1);
    assert!(store.orders_of(&other).is_empty());
}

#[test]
fn idle_sessions_expire_and_the_maps_stay_bounded() {
    let mut store = Store::default();
    let start = Instant::now();
    let old = store.new_session(start);
    let later = start + Duration::from_secs(25 * 60 * 60);
    let fresh = store.new_session(later);
    assert!(store.session(&old, later).is_none());
    assert!(store.session(&fresh, later).is_some());

    let mut map: std::collections::HashMap<String, Instant> = (0..5u64)
        .map(|i| (i.to_string(), start + Duration::from_secs(i)))
        .collect();
    super::store::evict_oldest(&mut map, 2, |at| *at);
    let mut kept: Vec<_> = map.into_keys().collect();
    kept.sort();
    assert_eq!(kept, ["3", "4"]);
}

#[test]
fn the_shop_base_gets_a_trailing_slash_and_must_be_a_plain_http_url() {
    let base = |s: &str| super::shop_base(&url::Url::parse(s).unwrap());
    assert_eq!(
        base("http://localhost:3000").unwrap().as_str(),
        "http://localhost:3000/"
    );
    assert_eq!(
        base("https://shop.example/demo").unwrap().as_str(),
        "https://shop.example/demo/"
    );
    assert_eq!(
        base("https://shop.example/demo/")
            .unwrap()
            .join("callback")
            .unwrap()
            .as_str(),
        "https://shop.example/demo/callback"
    );
    for bad in [
        "ftp://shop.example/",
        "mailto:shop@example.com",
        "http://shop.example/?a=b",
        "http://shop.example/#top",
        "http://shop.example/a;b/",
    ] {
        assert!(base(bad).is_err(), "{bad}");
    }
}

/// The `product` field of a cart form's body, read as `POST /cart/add` reads it.
async fn product_field(body: &'static str) -> Option<String> {
    let request = axum::http::Request::post("/cart/add")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(axum::body::Body::from(body))
        .unwrap();
    axum::Form::<super::handlers::ProductForm>::from_request(request, &())
        .await
        .ok()
        .and_then(|axum::Form(form)| form.product)
}

#[tokio::test]
async fn the_cart_cookie_is_found_among_others_and_form_fields_are_decoded() {
    let mut headers = HeaderMap::new();
    let cart_cookie =
        |headers: &HeaderMap| super::handlers::cart_cookie(&CookieJar::from_headers(headers));
    assert_eq!(cart_cookie(&headers), None);
    headers.append(
        "cookie",
        HeaderValue::from_static("theme=dark; xdemo_cart=no"),
    );
    headers.append(
        "cookie",
        HeaderValue::from_static("demo_cart=abc-_1; lang=ja"),
    );
    assert_eq!(cart_cookie(&headers).as_deref(), Some("abc-_1"));

    assert_eq!(
        product_field("x=1&product=mug").await.as_deref(),
        Some("mug")
    );
    assert_eq!(
        product_field("product=pour%2Dover+kettle").await.as_deref(),
        Some("pour-over kettle")
    );
    assert_eq!(product_field("products=mug").await, None);
}

fn event(id: &str, kind: &str, payment: &Payment) -> Event {
    Event {
        id: id.into(),
        event_type: kind.into(),
        timestamp: "2025-06-15T15:06:40Z".into(),
        data: serde_json::to_value(payment).unwrap(),
    }
}

/// A store with one paid order, `DEMO-0123456789AB`, and its owner.
fn store_with_paid_order(now: Instant) -> (Store, String) {
    let mut store = Store::default();
    let owner = store.new_session(now);
    store.insert_order(
        "DEMO-0123456789AB".into(),
        owner.clone(),
        cart_of(&[("mug", 1)]).lines().to_vec(),
        SecretString::from("grant"),
        now,
    );
    store.paid("DEMO-0123456789AB", paid("1800", "0"));
    (store, owner)
}

#[test]
fn a_webhook_is_applied_once_per_event_id_and_refunds_only_grow() {
    let now = Instant::now();
    let (mut store, owner) = store_with_paid_order(now);
    let captured = event("evt_1", "payment.captured", &paid("1800", "0"));
    assert_eq!(store.webhook(&captured, now), WebhookOutcome::Applied);
    assert_eq!(store.webhook(&captured, now), WebhookOutcome::Duplicate);
    let order = store.order("DEMO-0123456789AB", Some(&owner)).unwrap();
    assert_eq!(order.wallet.captured_event.as_deref(), Some("evt_1"));

    let newer = event("evt_3", "payment.refunded", &paid("1800", "1800"));
    let older = event("evt_2", "payment.refunded", &paid("1800", "800"));
    assert_eq!(store.webhook(&newer, now), WebhookOutcome::Applied);
    assert_eq!(store.webhook(&older, now), WebhookOutcome::Applied);
    let order = store.order("DEMO-0123456789AB", Some(&owner)).unwrap();
    assert_eq!(order.wallet.refunded, Some(Yen(1800)));
    match &order.state {
        OrderState::Paid(payment) => assert_eq!(payment.refunded_amount, "1800"),
        _ => panic!("the order is paid"),
    }

    let mut other_payment = paid("1800", "0");
    other_payment.id = "pay_2".into();
    let about_another_payment = event("evt_4", "payment.voided", &other_payment);
    assert_eq!(
        store.webhook(&about_another_payment, now),
        WebhookOutcome::Ignored
    );
    let mut elsewhere = paid("1800", "0");
    elsewhere.order_reference = "DEMO-ZZZZZZZZZZZZ".into();
    assert_eq!(
        store.webhook(&event("evt_5", "payment.captured", &elsewhere), now),
        WebhookOutcome::UnknownOrder
    );
    let dispute = event(
        "evt_6",
        EventType::DisputeOpened.as_str(),
        &paid("1800", "0"),
    );
    assert_eq!(store.webhook(&dispute, now), WebhookOutcome::Ignored);
    let order = store.order("DEMO-0123456789AB", Some(&owner)).unwrap();
    assert_eq!(order.wallet.voided_event, None);
    assert_eq!(order.wallet.captured_event.as_deref(), Some("evt_1"));
}

#[test]
fn the_order_page_says_whether_the_wallet_confirmed_the_payment_when_the_shop_takes_webhooks() {
    let now = Instant::now();
    let (mut store, owner) = store_with_paid_order(now);
    let order = store.order("DEMO-0123456789AB", Some(&owner)).unwrap();
    let without_webhooks = pages::order(&chrome(), order, false);
    assert!(without_webhooks.contains("Thank you for your order"));
    assert!(!without_webhooks.contains("Waiting for your Saifu wallet"));
    assert!(!without_webhooks.contains("Payment confirmed by"));
    let awaiting = pages::order(&chrome(), order, true);
    assert!(
        awaiting.contains("Waiting for your Saifu wallet to confirm the payment."),
        "{awaiting}"
    );

    let captured = event("evt_1", "payment.captured", &paid("1800", "0"));
    store.webhook(&captured, now);
    let order = store.order("DEMO-0123456789AB", Some(&owner)).unwrap();
    let confirmed = pages::order(&chrome(), order, true);
    assert!(
        confirmed.contains("Payment confirmed by your Saifu wallet."),
        "{confirmed}"
    );
    assert!(!confirmed.contains("Waiting for your Saifu wallet"));
    assert!(confirmed.contains("<dt>Status</dt><dd>Paid</dd>"));
    let ja = pages::order(&chrome_in(Locale::Ja), order, true);
    assert!(
        ja.contains("Saifu ウォレットがお支払いを確認しました。"),
        "{ja}"
    );
}

#[test]
fn a_captured_webhook_and_the_payment_answer_empty_the_cart_once() {
    let now = Instant::now();
    let mut store = Store::default();
    let owner = store.new_session(now);
    let ordered = cart_of(&[("mug", 1)]).lines().to_vec();
    store.insert_order(
        "DEMO-0123456789AB".into(),
        owner.clone(),
        ordered,
        SecretString::from("grant"),
        now,
    );
    // One mug ordered, then two more added in another tab during the checkout.
    let session = store.session(&owner, now).unwrap();
    for _ in 0..3 {
        session.cart.add(product("mug")).unwrap();
    }
    let captured = event("evt_1", "payment.captured", &paid("1800", "0"));
    assert_eq!(store.webhook(&captured, now), WebhookOutcome::Applied);
    store.paid("DEMO-0123456789AB", paid("1800", "0"));
    assert_eq!(store.session(&owner, now).unwrap().cart.count(), 2);
}
