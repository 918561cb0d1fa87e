//! The checkout flow's state: pushed authorization requests (`pushed`), consents (`consent`),
//! authorization codes and payment grants (`codes`). Every step that must happen once is a
//! conditional write, and a refusal comes back as an enum, never as text.

pub mod authorizations;
pub mod codes;
pub mod consent;
pub mod pushed;

use sqlx::any::AnyRow;
use sqlx::Row;

use crate::store::error::Result;

/// The parameters a merchant pushed, as validated; shared by requests, consents and codes.
#[derive(Clone, Debug)]
pub struct Pushed {
    pub client_id: String,
    pub redirect_uri: String,
    pub state: String,
    pub code_challenge: String,
    /// Normalized `authorization_details` JSON.
    pub details: String,
}

fn pushed_row(r: &AnyRow) -> Result<Pushed> {
    Ok(Pushed {
        client_id: r.try_get("client_id")?,
        redirect_uri: r.try_get("redirect_uri")?,
        state: r.try_get("state")?,
        code_challenge: r.try_get("code_challenge")?,
        details: r.try_get("details")?,
    })
}
