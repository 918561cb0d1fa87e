//! Receipts: the shopper downloads the receipt of a payment from Activity; anyone checks one on
//! `/receipts/verify` (pasted or read from a file); the merchant fetches the receipt of its own
//! payment at `/v1/payments/{id}/receipt`.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};
use saifu_sdk::problem::Problem;
use saifu_sdk::receipts::{ReceiptClaims, ReceiptResponse};
use serde::Deserialize;
use tower_sessions::Session;

use super::extract::Form;
use super::pages::{format_time, render, Layout};
use super::payments::authenticate;
use super::session::{csrf_token, current_user, CurrentUser};
use crate::accounts::Accounts;
use crate::clock::unix_now;
use crate::config::Config;
use crate::error::Result;
use crate::merchants::Merchant;
use crate::money::{Currency, Money};
use crate::receipts::{Receipts, Verification};
use crate::AppState;

/// The wallet's pages (sessions, CSRF).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/activity/{payment_id}/receipt", get(download))
        .route("/receipts/verify", get(verify_page).post(verify))
}

/// The merchant's API (HTTP Basic).
pub fn api_router(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/v1/payments/{id}/receipt", get(merchant_receipt))
        .route_layer(middleware::from_fn_with_state(state, authenticate))
}

/// The receipt of one of the shopper's payments, as a `.jws` file.
async fn download(
    State(receipts): State<Receipts>,
    CurrentUser(user): CurrentUser,
    Path(payment_id): Path<String>,
) -> Result<Response> {
    let jws = receipts.for_shopper(user.id, &payment_id).await?;
    let name: String = payment_id
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'))
        .collect();
    let disposition = format!("attachment; filename=\"saifu-receipt-{name}.jws\"");
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/jwt"),
            ),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::from_str(&disposition).map_err(crate::error::Error::internal)?,
            ),
        ],
        jws,
    )
        .into_response())
}

#[utoipa::path(
    get,
    path = "/v1/payments/{id}/receipt",
    tag = "payments",
    summary = "The receipt the wallet signed when the shopper approved this payment",
    description = "A compact JWS (ES256, header `typ: saifu-receipt+jwt`) signed with the keys published at `/oauth/jwks`. Its content: the merchant as vetted then, the order, line items, amount, points used and the earn preview, the card's brand and last four, the time, the payment reference (the approval), the grant id and the digest the shopper's passkey signed.",
    security(("merchant" = [])),
    params(
        ("id" = String, Path, description = "The payment id"),
    ),
    responses(
        (status = 200, description = "The receipt", body = ReceiptResponse),
        (status = 401, description = "`invalid_client`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found` (also for another merchant's payment)", body = Problem, content_type = "application/problem+json"),
    ),
)]
async fn merchant_receipt(
    State(receipts): State<Receipts>,
    Extension(merchant): Extension<Merchant>,
    Path(id): Path<String>,
) -> Result<axum::Json<ReceiptResponse>> {
    let receipt = receipts.for_merchant(&merchant.client_id, &id).await?;
    Ok(axum::Json(ReceiptResponse { receipt }))
}

/// A receipt's content as the verify page shows it.
pub struct ReceiptView {
    pub merchant: String,
    pub domain: String,
    pub merchant_verified: bool,
    pub order_reference: String,
    pub items: Vec<(String, u32, String)>,
    pub amount: String,
    pub points_used: i64,
    pub points_earned_estimate: i64,
    pub card: String,
    pub approved_at: String,
    pub payment_reference: String,
    pub grant_id: String,
    pub confirmation: String,
    pub issuer: String,
}

impl ReceiptView {
    fn of(claims: ReceiptClaims) -> Self {
        let shown = |amount: &str| {
            Currency::parse(&claims.amount.currency)
                .and_then(|c| Money::parse_major(c, amount))
                .map_or_else(
                    || format!("{} {amount}", claims.amount.currency),
                    Money::format_display,
                )
        };
        Self {
            amount: shown(&claims.amount.amount),
            items: claims
                .line_items
                .iter()
                .map(|i| (i.name.clone(), i.quantity, shown(&i.unit_amount)))
                .collect(),
            merchant_verified: claims.merchant.status == "verified",
            merchant: claims.merchant.name,
            domain: claims.merchant.domain,
            order_reference: claims.order_reference,
            points_used: claims.points_used,
            points_earned_estimate: claims.points_earned_estimate,
            card: format!("{} •••• {}", claims.card.brand, claims.card.last4),
            approved_at: format_time(claims.iat),
            payment_reference: claims.payment_reference,
            grant_id: claims.grant_id,
            confirmation: claims.confirmation_sha256,
            issuer: claims.iss,
        }
    }
}

#[derive(Template)]
#[template(path = "receipt_verify.html")]
struct VerifyPage {
    layout: Layout,
    /// What was pasted, shown again.
    receipt: String,
    /// `valid`, `signature_invalid`, `unknown_key`, `not_a_receipt`; `None` before a check.
    verdict: Option<&'static str>,
    kid: Option<String>,
    content: Option<ReceiptView>,
    error: Option<&'static str>,
}

async fn page(
    accounts: &Accounts,
    config: &Config,
    session: &Session,
    receipt: String,
    checked: Option<Verification>,
    error: Option<&'static str>,
) -> Result<Response> {
    let user = current_user(session, accounts, config.session_absolute_secs as i64).await?;
    let layout = Layout::new(
        crate::i18n::Tr::current().t("receipts-title"),
        csrf_token(session).await?,
        user.as_ref(),
    );
    let (verdict, kid, content) = match checked {
        Some(v) => (
            Some(v.verdict.as_str()),
            v.kid,
            v.claims.map(ReceiptView::of),
        ),
        None => (None, None, None),
    };
    render(&VerifyPage {
        layout,
        receipt,
        verdict,
        kid,
        content,
        error,
    })
}

async fn verify_page(
    State(accounts): State<Accounts>,
    State(config): State<std::sync::Arc<Config>>,
    session: Session,
) -> Result<Response> {
    page(&accounts, &config, &session, String::new(), None, None).await
}

#[derive(Deserialize)]
struct VerifyForm {
    #[serde(default)]
    receipt: String,
}

async fn verify(
    State(receipts): State<Receipts>,
    State(accounts): State<Accounts>,
    State(config): State<std::sync::Arc<Config>>,
    session: Session,
    Form(form): Form<VerifyForm>,
) -> Result<Response> {
    let text = form.receipt.trim().to_string();
    if text.is_empty() {
        let error = Some("Paste a receipt, or choose a receipt file.");
        return page(&accounts, &config, &session, text, None, error).await;
    }
    let checked = receipts.verify(&text, unix_now()).await?;
    page(&accounts, &config, &session, text, Some(checked), None).await
}
