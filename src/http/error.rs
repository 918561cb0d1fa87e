//! How errors leave the wallet as problem+json (RFC 9457), and how axum's own rejections
//! become our errors. `error_shapes.rs` turns them into HTML pages for browsers.

use axum::extract::{rejection::FormRejection, rejection::JsonRejection};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use saifu_sdk::problem::{Problem, PROBLEM_CONTENT_TYPE};

use crate::error::{Error, Kind};
use crate::i18n::{Locale, Tr};

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
        Kind::Gone => StatusCode::GONE,
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
            message: shoppers_words(&self),
            field: self.field(),
            decline_code: self.decline_code().map(str::to_string),
        };
        problem_response(info)
    }
}

/// The message in the shopper's language on wallet requests: the catalogue's wording of this
/// very error when it names one (`card-refusal-number-length`), else the text of its code
/// (`error-<code>`). English keeps the message as written, which may name details (a number of
/// points, a limit) that a code's general text leaves out; outside the wallet (the API, the
/// console) the language is always English.
pub(super) fn shoppers_words(err: &Error) -> String {
    let message = err.public_message();
    let tr = Tr::current();
    if tr.locale() == Locale::En {
        return message.into_owned();
    }
    let worded = err.wording().and_then(|w| {
        let args: Vec<(&str, &str)> = w.args.iter().map(|(k, v)| (*k, v.as_str())).collect();
        tr.try_args(w.id, args)
    });
    worded.unwrap_or_else(|| tr.t_or(&format!("error-{}", err.code()), &message))
}

pub(super) fn problem_response(info: ErrorInfo) -> Response {
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
