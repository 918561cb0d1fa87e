//! Why a registration request is refused, as the HTTP layer answers it: RFC 7591's metadata
//! errors, the issuer's switch, the per-address limit and RFC 6750's `invalid_token`.

use crate::error::Error;
use crate::store;

/// Why a registration request is refused, as RFC 7591 §3.2.2 and RFC 6750 name it.
#[derive(Debug)]
pub enum Refusal {
    /// `400`: `invalid_client_metadata`, `invalid_redirect_uri` or `invalid_request`.
    Metadata {
        error: &'static str,
        description: String,
    },
    /// `403`: the issuer switched registration off.
    Disabled,
    /// `429`: too many registrations from this address; try again after this many seconds.
    TooMany { retry_after: i64 },
    /// `401`: a wrong, missing or spent registration access token.
    InvalidToken,
    /// Anything else (a database failure).
    Server(Error),
}

impl Refusal {
    pub fn metadata(error: &'static str, description: impl Into<String>) -> Self {
        Self::Metadata {
            error,
            description: description.into(),
        }
    }
}

impl From<Error> for Refusal {
    fn from(err: Error) -> Self {
        Self::Server(err)
    }
}

impl From<store::Error> for Refusal {
    fn from(err: store::Error) -> Self {
        Self::Server(err.into())
    }
}
