//! The store's own error type: a database failure, a row that can't be read back, a row that
//! isn't there, or a refusal the database enforces (a unique or check constraint). It carries
//! no user-facing text: the service that called the store words a refusal for its user.

/// A rule the database refused to break. The calling service says what it means to the user.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Another account has this email address (in any letter case).
    EmailTaken,
    /// This passkey's credential is already registered.
    PasskeyAlreadyRegistered,
    /// The passkey is the account's last one.
    LastPasskey,
    /// The shopper already has a card with this number.
    DuplicateCard,
    /// A merchant with this client id exists.
    ClientIdTaken,
    /// A shopper balance or a lot would go below zero.
    InsufficientPoints,
    /// The shopper is frozen already.
    AlreadyFrozen,
    /// The shopper is not frozen.
    NotFrozen,
    /// The admin invitation was used or expired meanwhile.
    InviteGone,
    /// The change would leave the console without an owner.
    LastOwner,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    /// A stored value that can't be read back (a malformed id, an unbalanced posting).
    #[error("corrupt data: {0}")]
    Corrupt(String),
    /// The row to change or read is not there (or belongs to someone else).
    #[error("not found")]
    NotFound,
    /// The webhook event written with a change could not be rendered.
    #[error("rendering an event: {0:#}")]
    Render(anyhow::Error),
    #[error("refused: {0:?}")]
    Refused(Refusal),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// The refusal, if the store refused.
    pub fn refusal(&self) -> Option<Refusal> {
        match self {
            Error::Refused(refusal) => Some(*refusal),
            _ => None,
        }
    }
}

impl From<crate::points::PointsRefusal> for Error {
    fn from(refusal: crate::points::PointsRefusal) -> Self {
        match refusal {
            crate::points::PointsRefusal::Insufficient => {
                Error::Refused(Refusal::InsufficientPoints)
            }
        }
    }
}
