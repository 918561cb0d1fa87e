//! How errors leave the wallet: problem+json (RFC 9457) for JSON clients, an HTML error page
//! for browsers. Responses that axum or tower produce on their own (404, 405, 413, …) are
//! rewritten into the same shapes, so every error a client sees carries a stable code.

use axum::extract::{rejection::FormRejection, rejection::JsonRejection, Request};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use saifu_sdk::problem::{Problem, PROBLEM_CONTENT_TYPE};

use crate::error::{Error, Kind};

/// What a rendered error said, kept on the response so the page layer can re-render it.
#[derive(Clone, Debug)]
pub struct ErrorInfo {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub field: Option<&'static str>,
    pub decline_code: Option<String>,
}

pub fn status_of(kind: Kind) -> StatusCode {
    match kind {
        Kind::Invalid => StatusCode::BAD_REQUEST,
        Kind::Unauthenticated => StatusCode::UNAUTHORIZED,
        Kind::Forbidden => StatusCode::FORBIDDEN,
        Kind::NotFound => StatusCode::NOT_FOUND,
        Kind::Conflict => StatusCode::CONFLICT,
        Kind::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        Kind::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        Kind::Unprocessable => StatusCode::UNPROCESSABLE_ENTITY,
        Kind::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
        Kind::Upstream => StatusCode::BAD_GATEWAY,
        Kind::PaymentRequired => StatusCode::PAYMENT_REQUIRED,
        Kind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        if let Error::Internal(cause) = &self {
            // Logged once here, with the cause chain; the client gets a generic message.
            tracing::error!(error = format!("{cause:#}"), "internal error");
        }
        let info = ErrorInfo {
            status: status_of(self.kind()),
            code: self.code(),
            message: self.public_message().into_owned(),
            field: self.field(),
            decline_code: self.decline_code().map(str::to_string),
        };
        problem_response(info)
    }
}

fn problem_response(info: ErrorInfo) -> Response {
    let problem = Problem {
        type_: Problem::type_for(info.code),
        title: info
            .status
            .canonical_reason()
            .unwrap_or("Error")
            .to_string(),
        status: info.status.as_u16(),
        detail: Some(info.message.clone()),
        code: info.code.to_string(),
        field: info.field.map(str::to_string),
        decline_code: info.decline_code.clone(),
    };
    let body = serde_json::to_vec(&problem).unwrap_or_default();
    let mut response = (
        info.status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static(PROBLEM_CONTENT_TYPE),
        )],
        body,
    )
        .into_response();
    response.extensions_mut().insert(info);
    response
}

impl From<JsonRejection> for Error {
    fn from(rejection: JsonRejection) -> Self {
        match rejection.status() {
            StatusCode::PAYLOAD_TOO_LARGE => too_large(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE => Error::new(
                Kind::UnsupportedMediaType,
                "unsupported_media_type",
                "Send the body as application/json.",
            ),
            _ => Error::invalid(
                "invalid_json",
                format!("The JSON body is not valid: {}", rejection.body_text()),
            ),
        }
    }
}

impl From<FormRejection> for Error {
    fn from(rejection: FormRejection) -> Self {
        match rejection.status() {
            StatusCode::PAYLOAD_TOO_LARGE => too_large(),
            _ => Error::invalid(
                "invalid_form",
                "The form could not be read. Please reload the page and try again.",
            ),
        }
    }
}

fn too_large() -> Error {
    Error::new(
        Kind::PayloadTooLarge,
        "payload_too_large",
        "The request body is too large.",
    )
}

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
    let response = next.run(request).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
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
                let mut fresh = problem_response(info);
                if let Some(allow) = response.headers().get(header::ALLOW) {
                    fresh.headers_mut().insert(header::ALLOW, allow.clone());
                }
                return fresh;
            }
            info
        }
    };
    if !wants_html {
        return response;
    }
    if info.status == StatusCode::UNAUTHORIZED && is_get {
        let next = path_and_query.unwrap_or_else(|| "/".into());
        let target = format!(
            "/signin?next={}",
            url::form_urlencoded::byte_serialize(next.as_bytes()).collect::<String>()
        );
        return Redirect::to(&target).into_response();
    }
    crate::http::pages::error_page(&info)
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
