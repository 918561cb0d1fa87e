//! The RFC 6749 error the merchant-facing OAuth endpoints answer with, and how a wallet
//! error becomes one.

use crate::error::Error;

/// An RFC 6749 error for the merchant's server.
#[derive(Debug, PartialEq, Eq)]
pub struct OAuthFailure {
    pub error: &'static str,
    pub description: String,
}

impl OAuthFailure {
    pub fn new(error: &'static str, description: impl Into<String>) -> Self {
        Self {
            error,
            description: description.into(),
        }
    }

    /// `invalid_request`, the answer to a missing or malformed parameter.
    pub fn invalid_request(description: impl Into<String>) -> Self {
        Self::new("invalid_request", description)
    }

    /// `unauthorized_client`: a suspended merchant may neither push nor redeem.
    pub fn suspended() -> Self {
        Self::new("unauthorized_client", "this merchant is suspended")
    }
}

/// OAuth endpoints answer infrastructure failures as `server_error` (details are logged).
impl From<Error> for OAuthFailure {
    fn from(err: Error) -> Self {
        if let Error::Internal(cause) = &err {
            tracing::error!(
                error = format!("{cause:#}"),
                "internal error at an OAuth endpoint"
            );
            return OAuthFailure::new("server_error", "The wallet could not process the request.");
        }
        OAuthFailure::new("invalid_request", err.public_message())
    }
}

impl From<crate::store::Error> for OAuthFailure {
    fn from(err: crate::store::Error) -> Self {
        Error::from(err).into()
    }
}
