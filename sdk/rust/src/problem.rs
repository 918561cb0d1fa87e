//! RFC 9457 problem details, as every Saifu JSON API answers errors.

use serde::{Deserialize, Serialize};

/// Media type of a problem body.
pub const PROBLEM_CONTENT_TYPE: &str = "application/problem+json";

/// An error body: `code` is stable and meant for programs, `detail` for people.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Problem {
    #[serde(rename = "type")]
    pub type_: String,
    pub title: String,
    pub status: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    pub code: String,
    /// The input field the problem concerns, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Why the card processor declined, for card declines (`insufficient_funds`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decline_code: Option<String>,
}

impl Problem {
    /// The `type` URI for a code: stable, and documented in the wallet's README.
    pub fn type_for(code: &str) -> String {
        format!("urn:saifu:problem:{code}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serializes_type_and_omits_empty_fields() {
        let p = Problem {
            type_: Problem::type_for("email_taken"),
            title: "Conflict".into(),
            status: 409,
            detail: None,
            code: "email_taken".into(),
            field: None,
            decline_code: None,
        };
        let json = serde_json::to_value(&p).unwrap();
        assert_eq!(json["type"], "urn:saifu:problem:email_taken");
        assert!(json.get("detail").is_none());
        assert_eq!(serde_json::from_value::<Problem>(json).unwrap(), p);
    }
}
