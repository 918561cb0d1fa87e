//! The last word on every error response: bare responses that axum or tower produce on their
//! own (404, 405, 413, …) become problems with a stable code, and problems become HTML error
//! pages (or, for a page that needs sign-in, a redirect) when a browser asked for HTML.

use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use tower_sessions::Session;

use super::error::{problem_response, ErrorInfo};
use super::pages::{error_page, render_error_page, Layout, RenderedErrorPage};
use super::session::{csrf_token, current_user};
use crate::i18n::Tr;
use crate::AppState;

/// Rewrites bare error responses into problems, and problems into HTML pages (or, for a
/// page that needs sign-in, a redirect to the sign-in page) when a browser asked for HTML.
pub async fn error_shapes(request: Request, next: Next) -> Response {
    let wants_html = request
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"));
    let is_get = request.method() == axum::http::Method::GET;
    let path_and_query = request
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_string());
    let console = path_and_query
        .as_deref()
        .is_some_and(|p| p == "/admin" || p.starts_with("/admin/") || p.starts_with("/admin?"));
    let response = next.run(request).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error())
        || response.extensions().get::<RenderedErrorPage>().is_some()
    {
        return response;
    }
    // A 405 names the methods the address takes, whatever shape its body gets.
    let allow = response.headers().get(header::ALLOW).cloned();
    // A page that renders its own errors (the add-card form, say) and RFC 6749 JSON errors of
    // the OAuth endpoints are left as they are.
    let is_page = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.starts_with("text/html")
                || v.starts_with("application/json")
                || v.starts_with("application/problem+json")
        });
    let info = match response.extensions().get::<ErrorInfo>() {
        Some(info) => info.clone(),
        None if is_page => return response,
        None => {
            let info = bare_status_info(status);
            if !wants_html {
                return with_allow(problem_response(info), allow);
            }
            info
        }
    };
    if !wants_html {
        return response;
    }
    if info.status == StatusCode::UNAUTHORIZED && is_get {
        let next = path_and_query.unwrap_or_else(|| "/".into());
        // The console has its own sign-in.
        let signin =
            if next == "/admin" || next.starts_with("/admin/") || next.starts_with("/admin?") {
                "/admin/signin"
            } else {
                "/signin"
            };
        let target = format!(
            "{signin}?next={}",
            url::form_urlencoded::byte_serialize(next.as_bytes()).collect::<String>()
        );
        return Redirect::to(&target).into_response();
    }
    with_allow(error_page(&info, console), allow)
}

fn with_allow(mut response: Response, allow: Option<header::HeaderValue>) -> Response {
    if let Some(allow) = allow {
        response.headers_mut().insert(header::ALLOW, allow);
    }
    response
}

/// A stable code for responses that tower or axum produced without our error type.
fn bare_status_info(status: StatusCode) -> ErrorInfo {
    let (code, message) = match status {
        StatusCode::NOT_FOUND => ("not_found", "There is nothing here."),
        StatusCode::METHOD_NOT_ALLOWED => (
            "method_not_allowed",
            "This address does not accept that method.",
        ),
        StatusCode::PAYLOAD_TOO_LARGE => ("payload_too_large", "The request body is too large."),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ("unsupported_media_type", "Unsupported media type."),
        StatusCode::REQUEST_TIMEOUT => ("request_timeout", "The request took too long."),
        s if s.is_server_error() => {
            tracing::error!(status = s.as_u16(), "error response without a cause");
            (
                "internal_error",
                "Something went wrong on our side. Please try again.",
            )
        }
        _ => ("bad_request", "The request could not be understood."),
    };
    ErrorInfo {
        status,
        code,
        message: message.to_string(),
        field: None,
        decline_code: None,
    }
}

/// Error pages of the wallet's own pages, rendered where the session and the shopper's
/// language are known: the header shows who is signed in, the words are the shopper's, and
/// a consent that can no longer be used offers the way back to the shop and to the order.
pub async fn wallet_error_pages(
    State(state): State<AppState>,
    session: Session,
    request: Request,
    next: Next,
) -> Response {
    let wants_html = request
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"));
    let is_get = request.method() == axum::http::Method::GET;
    let path = request.uri().path().to_string();
    let response = next.run(request).await;
    let status = response.status();
    if !wants_html || !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let Some(info) = response.extensions().get::<ErrorInfo>().cloned() else {
        return response;
    };
    // Pages that need sign-in redirect to it (done outside, for every page).
    if info.status == StatusCode::UNAUTHORIZED && is_get {
        return response;
    }
    let absolute = state.config.session_absolute_secs as i64;
    let user = current_user(&session, &state.accounts, absolute)
        .await
        .ok()
        .flatten();
    let csrf = csrf_token(&session).await.unwrap_or_default();
    let layout = Layout::new(String::new(), csrf, user.as_ref());
    let tr = Tr::current();
    let mut ways = Vec::new();
    let consent = path
        .strip_prefix("/checkout/")
        .and_then(|rest| rest.split('/').next())
        .filter(|id| !id.is_empty());
    let consent_gone = matches!(info.code, "consent_closed" | "consent_expired");
    if let (Some(id), true) = (consent, consent_gone) {
        match state.checkout.way_back(id).await {
            Ok(Some(back)) => {
                ways.push((
                    tr.args(
                        "errorpage-back-to-shop",
                        [("merchant", back.merchant_name.as_str())],
                    ),
                    back.shop,
                ));
                if back.paid {
                    ways.push((tr.t("errorpage-activity"), "/activity".to_string()));
                }
            }
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "could not find the way back from a consent"),
        }
    }
    ways.push((tr.t("errorpage-home"), "/".to_string()));
    let mut page = render_error_page(&info, layout, ways);
    page.extensions_mut().insert(info);
    if let Some(allow) = response.headers().get(header::ALLOW).cloned() {
        page.headers_mut().insert(header::ALLOW, allow);
    }
    page
}
