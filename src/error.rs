//! The one error type of the wallet. Each error carries a kind (which picks the HTTP status) and
//! a stable machine-readable code; the HTTP layer renders it as problem+json or as an HTML page.

use std::borrow::Cow;

use crate::money::AmountTooLarge;
use crate::store::error::Error as StoreError;

/// What went wrong, in terms a caller can act on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// The input is malformed or breaks a rule (400).
    Invalid,
    /// Sign-in is needed (401).
    Unauthenticated,
    /// Signed in, but not allowed, or a request-forgery check failed (403).
    Forbidden,
    NotFound,
    /// The request clashes with the current state (409).
    Conflict,
    /// What the request names existed once and is used up or expired for good (410).
    Gone,
    /// The body is larger than the configured limit (413).
    PayloadTooLarge,
    /// The body's media type is not accepted (415).
    UnsupportedMediaType,
    /// Well-formed but semantically refused (422).
    Unprocessable,
    TooManyRequests,
    /// The card was declined (402).
    PaymentRequired,
    /// A service we depend on (the card processor) failed; retrying is safe (502).
    Upstream,
    /// Our fault. Details are logged, never sent.
    Internal,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{message}")]
    Client {
        kind: Kind,
        code: &'static str,
        message: Cow<'static, str>,
        field: Option<&'static str>,
        /// The processor's reason, when a card was declined.
        decline_code: Option<String>,
        /// The message's id in the wallet's catalogue (`web/i18n`) with its arguments, when
        /// the message is more precise than its code: pages show it in the shopper's language.
        wording: Option<Box<Wording>>,
    },
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// An error's message as the catalogue words it: `card-refusal-number-length` with `brand` =
/// `Visa`. The English entry reads exactly as the error's own message; no argument is a secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Wording {
    pub id: &'static str,
    pub args: Vec<(&'static str, String)>,
}

impl Error {
    pub fn new(kind: Kind, code: &'static str, message: impl Into<Cow<'static, str>>) -> Self {
        Error::Client {
            kind,
            code,
            message: message.into(),
            field: None,
            decline_code: None,
            wording: None,
        }
    }

    /// Names the catalogue's message that words this error (see [`Wording`]).
    pub fn worded(mut self, id: &'static str, args: &[(&'static str, &str)]) -> Self {
        if let Error::Client { wording, .. } = &mut self {
            *wording = Some(Box::new(Wording {
                id,
                args: args.iter().map(|(k, v)| (*k, (*v).to_owned())).collect(),
            }));
        }
        self
    }

    /// The catalogue's message for this error, when it names one.
    pub fn wording(&self) -> Option<&Wording> {
        match self {
            Error::Client { wording, .. } => wording.as_deref(),
            Error::Internal(_) => None,
        }
    }

    /// Attaches the name of the input field the error concerns.
    pub fn on_field(mut self, name: &'static str) -> Self {
        if let Error::Client { field, .. } = &mut self {
            *field = Some(name);
        }
        self
    }

    /// Attaches the processor's decline code.
    pub fn with_decline_code(mut self, decline: impl Into<String>) -> Self {
        if let Error::Client { decline_code, .. } = &mut self {
            *decline_code = Some(decline.into());
        }
        self
    }

    pub fn decline_code(&self) -> Option<&str> {
        match self {
            Error::Client { decline_code, .. } => decline_code.as_deref(),
            Error::Internal(_) => None,
        }
    }

    pub fn invalid(code: &'static str, message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(Kind::Invalid, code, message)
    }

    pub fn conflict(code: &'static str, message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(Kind::Conflict, code, message)
    }

    pub fn forbidden(code: &'static str, message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(Kind::Forbidden, code, message)
    }

    pub fn not_found() -> Self {
        Self::new(Kind::NotFound, "not_found", "There is nothing here.")
    }

    pub fn unauthenticated() -> Self {
        Self::new(
            Kind::Unauthenticated,
            "unauthenticated",
            "Please sign in first.",
        )
    }

    pub fn internal(err: impl Into<anyhow::Error>) -> Self {
        Error::Internal(err.into())
    }

    pub fn kind(&self) -> Kind {
        match self {
            Error::Client { kind, .. } => *kind,
            Error::Internal(_) => Kind::Internal,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            Error::Client { code, .. } => code,
            Error::Internal(_) => "internal_error",
        }
    }

    pub fn field(&self) -> Option<&'static str> {
        match self {
            Error::Client { field, .. } => *field,
            Error::Internal(_) => None,
        }
    }

    /// The text shown to the client: never the internal cause.
    pub fn public_message(&self) -> Cow<'static, str> {
        match self {
            Error::Client { message, .. } => message.clone(),
            Error::Internal(_) => "Something went wrong on our side. Please try again.".into(),
        }
    }
}

/// An amount over the wallet's limit, or one whose arithmetic would overflow: `422
/// amount_too_large`, never a wrapped number.
impl From<AmountTooLarge> for Error {
    fn from(err: AmountTooLarge) -> Self {
        let message = match err.limit {
            Some(limit) => format!(
                "The amount is too large: {} amounts are limited to {}.",
                err.currency.code(),
                limit.to_major_string()
            ),
            None => format!(
                "The amount is too large to process in {}.",
                err.currency.code()
            ),
        };
        Error::new(Kind::Unprocessable, "amount_too_large", message)
    }
}

/// A refusal reaches here only if its service forgot to word it: that is our fault.
impl From<StoreError> for Error {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::NotFound => Error::not_found(),
            other => Error::Internal(other.into()),
        }
    }
}

impl From<sqlx::Error> for Error {
    fn from(err: sqlx::Error) -> Self {
        Error::Internal(err.into())
    }
}

impl From<tower_sessions::session::Error> for Error {
    fn from(err: tower_sessions::session::Error) -> Self {
        Error::Internal(err.into())
    }
}

impl From<serde_json::Error> for Error {
    fn from(err: serde_json::Error) -> Self {
        Error::Internal(err.into())
    }
}
