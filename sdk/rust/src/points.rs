//! The points statements API (`/v1/points/statements`) wire types, shared by the wallet and
//! merchants' code: a merchant's monthly statement of the points issued and redeemed at its
//! shop, and what they are worth.

use serde::{Deserialize, Serialize};

use crate::checkout::Amount;

/// `GET /v1/points/statements?month=YYYY-MM`: one UTC calendar month, `[from, to)`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PointsStatement {
    /// Always `points_statement`.
    #[cfg_attr(feature = "openapi", schema(example = "points_statement"))]
    pub object: String,
    /// The merchant's client id.
    pub client_id: String,
    /// `YYYY-MM`.
    #[cfg_attr(
        feature = "openapi",
        schema(example = "2026-11", pattern = r"^[0-9]{4}-[0-9]{2}$")
    )]
    pub month: String,
    /// The month's first instant (RFC 3339, UTC).
    #[cfg_attr(feature = "openapi", schema(format = DateTime, example = "2026-11-01T00:00:00Z"))]
    pub from: String,
    /// The next month's first instant, not included (RFC 3339, UTC).
    #[cfg_attr(feature = "openapi", schema(format = DateTime, example = "2026-12-01T00:00:00Z"))]
    pub to: String,
    /// One line per currency with activity in the month; empty when there was none.
    pub lines: Vec<PointsStatementLine>,
}

impl PointsStatement {
    /// The `object` of a statement.
    pub const OBJECT: &'static str = "points_statement";
}

/// One currency of a statement. Amounts are in that currency, at the point value of each
/// payment's programme version.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PointsStatementLine {
    /// ISO 4217.
    #[cfg_attr(feature = "openapi", schema(example = "JPY", pattern = "^[A-Z]{3}$"))]
    pub currency: String,
    /// Points issued at your shop that your campaigns fund: earned less taken back by refunds.
    pub points_issued: i64,
    /// Points shoppers redeemed at your shop, which the programme reimburses: redeemed less
    /// given back by refunds.
    pub points_redeemed: i64,
    /// What you owe for `points_issued`.
    pub issued_amount: Amount,
    /// What the programme owes you for `points_redeemed`.
    pub redeemed_amount: Amount,
    /// `redeemed_amount − issued_amount`: above zero the programme pays you, below zero you
    /// pay the programme (the amount then starts with `-`).
    #[cfg_attr(feature = "openapi", schema(schema_with = signed_amount))]
    pub net_amount: Amount,
}

/// An `Amount` whose decimal string may start with `-`.
#[cfg(feature = "openapi")]
fn signed_amount() -> utoipa::openapi::schema::Object {
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    ObjectBuilder::new()
        .schema_type(Type::Object)
        .property(
            "currency",
            ObjectBuilder::new()
                .schema_type(Type::String)
                .description(Some("ISO 4217."))
                .pattern(Some("^[A-Z]{3}$")),
        )
        .property(
            "amount",
            ObjectBuilder::new()
                .schema_type(Type::String)
                .description(Some(
                    "Major units, with exactly the currency's minor digits; `-` when negative.",
                ))
                .pattern(Some(r"^-?[0-9]+(\.[0-9]+)?$")),
        )
        .required("currency")
        .required("amount")
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_statement_reads_the_wallets_json() {
        let json = r#"{"object":"points_statement","client_id":"c1","month":"2026-11",
            "from":"2026-11-01T00:00:00Z","to":"2026-12-01T00:00:00Z","lines":[{"currency":"JPY",
            "points_issued":192,"points_redeemed":64,"issued_amount":{"currency":"JPY","amount":"192"},
            "redeemed_amount":{"currency":"JPY","amount":"64"},"net_amount":{"currency":"JPY","amount":"-128"}}]}"#;
        let s: PointsStatement = serde_json::from_str(json).unwrap();
        assert_eq!(s.object, PointsStatement::OBJECT);
        assert_eq!(s.lines[0].points_issued, 192);
        assert_eq!(s.lines[0].net_amount, Amount::new("JPY", "-128"));
        let back: PointsStatement =
            serde_json::from_value(serde_json::to_value(&s).unwrap()).unwrap();
        assert_eq!(back, s);
    }
}
