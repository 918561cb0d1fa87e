//! Page templates (askama, from `web/templates`) and the layout every page shares.

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

use super::assets::asset;
use super::error::ErrorInfo;
use crate::accounts::user::User;
use crate::addresses::SavedAddress;
use crate::card::{Brand, Expiry};
use crate::error::Error;
use crate::i18n::Tr;
use crate::vault::StoredCard;

pub struct UserView {
    pub display_name: String,
    pub email: String,
}

pub struct Layout {
    pub title: String,
    pub csrf: String,
    pub user: Option<UserView>,
    pub css_href: String,
    pub css_integrity: String,
    pub js_href: String,
    pub js_integrity: String,
    /// The request's language and time zone (see `crate::i18n`).
    pub tr: Tr,
    /// This page's path and query, where the language switcher comes back to.
    pub here: String,
    /// The header's "Sign in" and "Create account" links' query: `?next=` this page, so that
    /// signing in from a consent (or any wallet page) comes back to it; empty on the home and
    /// the sign-in pages themselves.
    pub entry_query: String,
}

impl Layout {
    pub fn new(title: impl Into<String>, csrf: String, user: Option<&User>) -> Self {
        let css = asset("saifu.css");
        let js = asset("saifu.js");
        Self {
            title: title.into(),
            csrf,
            user: user.map(|u| UserView {
                display_name: u.display_name.clone(),
                email: u.email.clone(),
            }),
            css_href: css.href.clone(),
            css_integrity: css.integrity.clone(),
            js_href: js.href.clone(),
            js_integrity: js.integrity.clone(),
            tr: Tr::current(),
            entry_query: entry_query(&crate::i18n::current_path()),
            here: crate::i18n::current_path(),
        }
    }
}

#[derive(Template)]
#[template(path = "index.html")]
pub struct IndexPage {
    pub layout: Layout,
    pub passkey_count: usize,
    pub recovery: super::recovery_views::HomeRecovery,
    /// The signed-in shopper's wallet at a glance.
    pub dashboard: Option<HomeDashboard>,
    /// The time zones the chooser offers, and the one in force.
    pub zones: Vec<String>,
    pub current_zone: String,
}

pub struct HomeDashboard {
    pub points_available: i64,
    /// Points that expire within 30 days.
    pub points_expiring: i64,
    pub cards: Vec<CardView>,
    /// The newest few payments.
    pub recent: Vec<HomeActivity>,
}

/// A payment in the home's "Recent activity".
pub struct HomeActivity {
    pub id: String,
    pub merchant: String,
    pub amount: String,
    pub status: String,
    pub when: String,
}

#[derive(Template)]
#[template(path = "signup.html")]
pub struct SignUpPage {
    pub layout: Layout,
    pub next: String,
}

#[derive(Template)]
#[template(path = "signin.html")]
pub struct SignInPage {
    pub layout: Layout,
    pub next: String,
}

pub struct PasskeyView {
    pub id: String,
    pub name: String,
    pub created: String,
    pub last_used: Option<String>,
}

#[derive(Template)]
#[template(path = "passkeys.html")]
pub struct PasskeysPage {
    pub layout: Layout,
    pub passkeys: Vec<PasskeyView>,
    pub suggest_second: bool,
}

pub struct CardView {
    pub id: String,
    /// Display name: "Visa", "American Express", …
    pub brand: String,
    pub last4: String,
    /// "MM/YY"
    pub expiry: String,
    pub expired: bool,
    pub holder: String,
    pub is_default: bool,
}

impl CardView {
    /// A stored card for display. A card whose expiry can't be read counts as expired.
    pub fn of(card: &StoredCard, today: time::Date) -> Self {
        let expiry = u8::try_from(card.exp_month)
            .ok()
            .zip(u16::try_from(card.exp_year).ok())
            .and_then(|(m, y)| Expiry::new(m, y));
        CardView {
            id: card.id.to_string(),
            brand: Brand::parse(&card.brand)
                .map_or_else(|| card.brand.clone(), |b| b.display_name().to_string()),
            last4: card.last4.clone(),
            expiry: expiry.map(|e| e.to_string()).unwrap_or_default(),
            expired: expiry.is_none_or(|e| e.is_expired(today)),
            holder: card.holder.clone(),
            is_default: card.is_default,
        }
    }
}

#[derive(Template)]
#[template(path = "cards.html")]
pub struct CardsPage {
    pub layout: Layout,
    pub cards: Vec<CardView>,
    pub test_mode: bool,
}

/// A message under a form field; `code` is the stable error or decline code.
pub struct FieldError {
    pub message: String,
    pub code: String,
}

#[derive(Default)]
pub struct FieldErrors {
    pub number: Option<FieldError>,
    pub expiry: Option<FieldError>,
    pub cvc: Option<FieldError>,
    pub holder: Option<FieldError>,
}

#[derive(Template)]
#[template(path = "card_new.html")]
pub struct AddCardPage {
    pub layout: Layout,
    pub return_to: String,
    /// Re-filled after an error. The card number and security code never are.
    pub expiry: String,
    pub holder: String,
    /// Last four digits of the number typed, shown as a reminder after an error.
    pub last4: Option<String>,
    pub errors: FieldErrors,
    pub form_error: Option<String>,
    pub test_mode: bool,
    /// The form's own script (formatting, brand, checks before submit).
    pub form_js_href: String,
    pub form_js_integrity: String,
}

/// A shipping address for display: on the addresses page and in the consent's chooser.
pub struct AddressView {
    pub id: String,
    pub name: String,
    /// "〒100-0001 Tokyo, Chiyoda-ku, 1-1 Chiyoda, Building 2"
    pub summary: String,
    pub phone: String,
    pub is_default: bool,
}

impl AddressView {
    pub fn of(a: &SavedAddress) -> Self {
        let mut summary = format!(
            "〒{} {}, {}, {}",
            a.postal_code, a.prefecture, a.city, a.line1
        );
        if let Some(line2) = &a.line2 {
            summary.push_str(", ");
            summary.push_str(line2);
        }
        Self {
            id: a.id.to_string(),
            name: a.name.clone(),
            summary,
            phone: a.phone.clone(),
            is_default: a.is_default,
        }
    }
}

pub struct ItemView {
    pub name: String,
    pub quantity: u32,
    pub unit: String,
    pub total: String,
}

#[derive(Template)]
#[template(path = "consent.html")]
pub struct ConsentPage {
    pub layout: Layout,
    pub consent_id: String,
    pub merchant_name: String,
    pub merchant_domain: String,
    /// Vetted by the issuer: the page shows the trust mark; otherwise a warning.
    pub verified: bool,
    pub order_reference: String,
    /// The order reference in pieces, each ending where it may wrap.
    pub order_parts: Vec<String>,
    pub items: Vec<ItemView>,
    /// "¥12,800"
    pub total: String,
    /// "Pay ¥12,800", before any points are used.
    pub pay_label: String,
    /// "Pay ¥12,800 with a passkey", the one-touch button.
    pub one_touch_label: String,
    pub signed_in: bool,
    /// A signed-out shopper can pay with one touch (no shipping address asked).
    pub one_touch: bool,
    /// The card chosen: one just added on the way from here, else the default.
    pub selected_card: String,
    /// `selected_card` is a card the shopper has just added.
    pub card_added: bool,
    pub cards: Vec<CardView>,
    /// This page's path, URL-encoded, for the sign-in and add-card detours.
    pub next: String,
    pub test_mode: bool,
    pub points_available: i64,
    /// The most points this payment can use.
    pub points_max: i64,
    /// The fewest points a payment may use (0 or 1: any number).
    pub points_min: i64,
    /// Minor units one point is worth.
    pub point_value: i64,
    /// Points the payment earns if paid entirely by card (the script updates it).
    pub earn_preview: i64,
    /// The earn preview's sentence around its number.
    pub earn_before: String,
    pub earn_after: String,
    pub amount_minor: i64,
    pub currency_symbol: String,
    pub minor_digits: u32,
    /// Why the risk limits refuse this payment, in plain words (no pay form then).
    pub limit_refusal: Option<String>,
    /// The merchant asks for a shipping address: the chooser shows `addresses`.
    pub shipping_required: bool,
    pub addresses: Vec<AddressView>,
    /// The card was declined (or the card network did not answer) when the shopper last
    /// approved: what happened, in plain words, and what to do.
    pub declined: Option<DeclinedView>,
}

/// A decline told on the consent page.
pub struct DeclinedView {
    pub title: String,
    pub reason: String,
    pub next: String,
}

pub struct PaymentView {
    pub id: String,
    pub merchant: String,
    /// The order's total: "¥1,800".
    pub amount: String,
    /// What points paid of it, when points were used: "¥64".
    pub points_paid: Option<String>,
    /// What the card paid: the total less the points.
    pub card_paid: String,
    pub card: String,
    pub status: String,
    pub order_reference: String,
    pub when: String,
    pub points_earned: i64,
    pub points_redeemed: i64,
    /// Earned points a refund could not take back (the shopper had spent them).
    pub points_unreversed: i64,
    pub refunds: Vec<String>,
    /// The payment's latest dispute, linked from Activity.
    pub dispute: Option<DisputeLink>,
    /// Whether Activity offers "Report a problem".
    pub can_dispute: bool,
}

pub struct DisputeLink {
    pub id: String,
    /// "Waiting for the shop", "Resolved", …
    pub status: String,
}

#[derive(Template)]
#[template(path = "activity.html")]
pub struct ActivityPage {
    pub layout: Layout,
    pub payments: Vec<PaymentView>,
    /// The "Account security" list.
    pub security: Vec<super::recovery_views::SecurityLine>,
}

pub struct PointsEntryView {
    pub what: String,
    /// Signed change to the available balance.
    pub amount: i64,
    pub merchant: Option<String>,
    pub order_reference: Option<String>,
    pub payment_id: Option<String>,
    pub when: String,
}

#[derive(Template)]
#[template(path = "points.html")]
pub struct PointsPage {
    pub layout: Layout,
    pub available: i64,
    pub held: i64,
    pub expiring_soon: i64,
    pub history: Vec<PointsEntryView>,
}

#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    pub layout: Layout,
    pub status: u16,
    pub title: String,
    pub message: String,
    pub code: String,
    /// The ways on, first the main one: (label, address).
    pub ways: Vec<(String, String)>,
}

/// Renders a page template into a response.
pub fn render(template: &impl Template) -> Result<Response, Error> {
    let html = template.render().map_err(Error::internal)?;
    Ok(Html(html).into_response())
}

/// An error as a page. A console page's error leads back to the console, not the wallet.
pub fn error_page(info: &ErrorInfo, console: bool) -> Response {
    let tr = Tr::current();
    let home = if console {
        (tr.t("errorpage-console"), "/admin".to_string())
    } else {
        (tr.t("errorpage-home"), "/".to_string())
    };
    render_error_page(
        info,
        Layout::new(String::new(), String::new(), None),
        vec![home],
    )
}

/// The error page for `info` in `layout` (which says who is signed in), offering `ways` on.
pub fn render_error_page(
    info: &ErrorInfo,
    mut layout: Layout,
    ways: Vec<(String, String)>,
) -> Response {
    let tr = &layout.tr;
    let title = tr.t_or(
        &format!("errorpage-title-{}", info.code),
        &tr.t_or(
            &format!("errorpage-title-{}", info.status.as_u16()),
            &tr.t("errorpage-title-other"),
        ),
    );
    layout.title = title.clone();
    let page = ErrorPage {
        layout,
        status: info.status.as_u16(),
        title,
        message: info.message.clone(),
        code: info.code.to_string(),
        ways,
    };
    match page.render() {
        Ok(html) => {
            let mut response = (info.status, Html(html)).into_response();
            response.extensions_mut().insert(RenderedErrorPage);
            response
        }
        Err(err) => {
            tracing::error!(error = %err, "rendering the error page failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// Marks a response that is already the error page, so that no outer layer renders it again.
#[derive(Clone, Copy, Debug)]
pub struct RenderedErrorPage;

/// `?next=<here>` for the header's sign-in links, unless `here` is the home or an entry page.
fn entry_query(here: &str) -> String {
    let path = here.split('?').next().unwrap_or("/");
    if matches!(path, "/" | "/signin" | "/signup") {
        return String::new();
    }
    let next: String = url::form_urlencoded::byte_serialize(here.as_bytes()).collect();
    format!("?next={next}")
}

/// Formats a Unix time for display: in the shopper's language and time zone on wallet pages,
/// in English and UTC elsewhere (the console).
pub fn format_time(unix: i64) -> String {
    Tr::current().time(unix)
}
