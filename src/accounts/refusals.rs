//! Why a passkey use, a sign-in or a frozen shopper's payment was refused: the stable codes and
//! messages shoppers (and, for a frozen shopper's grant, merchants) read.

use webauthn_rs::prelude::WebauthnError;

use crate::error::{Error, Kind, Result};
use crate::store::{CounterUpdate, Refusal};

/// A recorded passkey use, or why it was refused.
pub fn counter_outcome(update: CounterUpdate) -> Result<()> {
    match update {
        CounterUpdate::Recorded => Ok(()),
        CounterUpdate::Regressed => Err(possible_clone()),
        CounterUpdate::Gone => Err(unknown_passkey()),
    }
}

pub fn unknown_passkey() -> Error {
    Error::new(
        Kind::Unauthenticated,
        "unknown_passkey",
        "This passkey is not registered with Saifu.",
    )
}

fn possible_clone() -> Error {
    Error::new(
        Kind::Unauthenticated,
        "possible_cloned_authenticator",
        "This passkey's signature counter went backwards, which can mean it was copied. Sign-in was refused; use another passkey.",
    )
}

pub fn too_many_attempts() -> Error {
    Error::new(
        Kind::TooManyRequests,
        "too_many_attempts",
        "Too many failed sign-in attempts. Please wait a few minutes and try again.",
    )
}

/// Maps a WebAuthn verification failure to a stable code. The library's message stays out of
/// the response; it names internals a client can't act on.
pub fn webauthn_error(err: WebauthnError) -> Error {
    tracing::info!(error = %err, "webauthn verification failed");
    let (code, message) = match err {
        WebauthnError::InvalidRPOrigin | WebauthnError::InvalidRPIDHash => (
            "webauthn_wrong_origin",
            "The passkey was used for a different site than this wallet.",
        ),
        WebauthnError::UserNotVerified => (
            "user_verification_required",
            "Your device must verify you (PIN, fingerprint or face) to use a passkey here.",
        ),
        WebauthnError::MismatchedChallenge => (
            "webauthn_challenge_mismatch",
            "The passkey answered a different request. Please try again.",
        ),
        WebauthnError::CredentialPossibleCompromise => return possible_clone(),
        WebauthnError::CredentialAlteredAlgFromRequest
        | WebauthnError::CredentialCrossOrigin
        | WebauthnError::CredentialExcludedFromRequest => (
            "passkey_not_accepted",
            "This passkey can't be registered here. It may already be registered.",
        ),
        _ => (
            "webauthn_failed",
            "The passkey response could not be verified. Please try again.",
        ),
    };
    Error::invalid(code, message)
}

/// Another account already has the address.
pub(super) fn email_taken() -> Error {
    Error::conflict(
        "email_taken",
        "An account with this email address already exists.",
    )
    .on_field("email")
}

/// Words what the store refused for the shopper.
pub(super) fn refused(err: crate::store::Error) -> Error {
    match err.refusal() {
        Some(Refusal::EmailTaken) => email_taken(),
        Some(Refusal::PasskeyAlreadyRegistered) => Error::conflict(
            "passkey_already_registered",
            "This passkey is already registered.",
        ),
        Some(Refusal::LastPasskey) => Error::conflict(
            "last_passkey",
            "This is your only passkey, so it can't be removed: you would be locked out. Add another passkey first.",
        ),
        _ => err.into(),
    }
}

/// A frozen shopper's own attempt (a sign-in, an approval) is refused with this.
pub fn account_frozen() -> Error {
    Error::forbidden(
        "account_frozen",
        "This Saifu account is frozen. Contact your card issuer's support to unfreeze it.",
    )
}

/// A merchant's payment with a frozen shopper's grant is refused with this.
pub fn shopper_frozen() -> Error {
    Error::forbidden(
        "shopper_frozen",
        "The shopper's wallet account is frozen; this payment cannot be made.",
    )
}
